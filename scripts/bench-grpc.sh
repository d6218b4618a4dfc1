#!/usr/bin/env bash
# gRPC load test: examples/passthrough against the echo floor (a bare grpc-go
# handler returning the request bytes, runtime/internal/bench/grpcecho),
# driven by ghz (github.com/bojand/ghz, built from its pinned Go module).
#
#   scripts/bench-grpc.sh            # 3 x 20000 small requests at 16 streams, then FP32[1,3,224,224]
#   N=50000 REPS=5 scripts/bench-grpc.sh
#
# For each server it reports server CPU per request (utime+stime from
# /proc/PID/stat over the measured run, after a warm-up), requests/s and
# latency percentiles. With two or more CPUs the server is pinned to CPU 0
# and ghz to the others, so the load generator does not steal the server's
# CPU. The small-request runs repeat REPS times (default 3), alternating the
# servers, and the summary gives medians and the ratios to the echo floor, so
# that other load on the machine hits both alike. Needs go, python3 (to read
# ghz's JSON) and taskset (util-linux).
set -euo pipefail

GHZ_VERSION=v0.93.0
N=${N:-20000}
N_LARGE=${N_LARGE:-500}
REPS=${REPS:-3}
CONC=${CONC:-16}
PORT=${PORT:-19081}
HTTP_PORT=${HTTP_PORT:-19080}

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
bin="$root/.cache/bench"
mkdir -p "$bin"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [[ ! -x "$bin/ghz-$GHZ_VERSION" ]]; then
  GOBIN="$bin" GOFLAGS= go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"
  mv "$bin/ghz" "$bin/ghz-$GHZ_VERSION"
fi
ghz="$bin/ghz-$GHZ_VERSION"

(cd "$root/runtime" && go build -o "$work/grpcecho" ./internal/bench/grpcecho \
  && go run ./internal/bench/mkrequest -kind small -o "$work/small.bin" \
  && go run ./internal/bench/mkrequest -kind fp32-224 -o "$work/fp32-224.bin")
(cd "$root/examples" && go build -o "$work/passthrough" ./passthrough)

cpus=$(nproc)
server_cpu=() ghz_cpu=() ghz_cpus=$cpus
if [[ $cpus -ge 2 ]] && command -v taskset >/dev/null; then
  server_cpu=(taskset -c 0)
  ghz_cpu=(taskset -c "1-$((cpus - 1))")
  ghz_cpus=$((cpus - 1))
fi
tck=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_server() { # name
  case "$1" in
    echo) "${server_cpu[@]}" "$work/grpcecho" -addr "127.0.0.1:$PORT" & ;;
    passthrough) "${server_cpu[@]}" "$work/passthrough" --model_name=passthrough --grpc_port="$PORT" --http_port="$HTTP_PORT" "${@:2}" 2>"$work/server.log" & ;;
    passthrough-nolog) "${server_cpu[@]}" "$work/passthrough" --model_name=passthrough --grpc_port="$PORT" --http_port="$HTTP_PORT" --enable_latency_logging=false 2>"$work/server.log" & ;;
  esac
  server_pid=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return; fi
    sleep 0.05
  done
  echo "bench-grpc: $1 did not start" >&2
  exit 1
}

stop_server() {
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

run_ghz() { # data-file concurrency total
  "${ghz_cpu[@]}" "$ghz" --insecure --cpus="$ghz_cpus" \
    --proto "$root/runtime/proto/grpc_predict_v2.proto" --call inference.GRPCInferenceService.ModelInfer \
    -B "$1" -c "$2" -n "$3" -O json "127.0.0.1:$PORT"
}

measure() { # label server data-file concurrency total
  start_server "$2"
  run_ghz "$3" "$4" $(( $5 / 5 + 10 )) >/dev/null   # warm-up
  local before after
  before=$(cpu_ticks "$server_pid")
  run_ghz "$3" "$4" "$5" >"$work/out.json"
  after=$(cpu_ticks "$server_pid")
  stop_server
  python3 - "$1" "$work/out.json" "$before" "$after" "$tck" "$work/results" "$2" <<'PY'
import json, sys
label, path, before, after, tck = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
results, key = sys.argv[6], sys.argv[7]
r = json.load(open(path))
pct = {d["percentage"]: d["latency"] / 1e6 for d in r.get("latencyDistribution") or []}
ok = r.get("statusCodeDistribution", {}).get("OK", 0)
cpu_us = (after - before) / tck * 1e6 / max(r["count"], 1)
print(f"{label:34s} n={r['count']:6d} ok={ok:6d} rps={r['rps']:8.0f} cpu/req={cpu_us:7.1f}us "
      f"p50={pct.get(50, 0):6.2f}ms p99={pct.get(99, 0):6.2f}ms avg={r['average'] / 1e6:6.2f}ms")
with open(results, "a") as f:
    f.write(f"{key}|{label}|{cpu_us}|{pct.get(99, 0)}\n")
PY
}

echo "server CPU pinned: ${server_cpu[*]:-no}; ghz on ${ghz_cpus} CPU(s); CLK_TCK=$tck"
for rep in $(seq "$REPS"); do
  measure "echo floor, small, c=$CONC" echo "$work/small.bin" "$CONC" "$N"
  measure "passthrough, small, c=$CONC" passthrough "$work/small.bin" "$CONC" "$N"
  measure "passthrough (no latency log), small" passthrough-nolog "$work/small.bin" "$CONC" "$N"
done
measure "echo floor, fp32[1,3,224,224] raw, c=1" echo "$work/fp32-224.bin" 1 "$N_LARGE"
measure "passthrough, fp32[1,3,224,224] raw, c=1" passthrough "$work/fp32-224.bin" 1 "$N_LARGE"

python3 - "$work/results" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1])]
small = [r for r in rows if "small" in r[1]]
def med(key, i):
    return statistics.median(float(r[i]) for r in small if r[0] == key)
floor_cpu, floor_p99 = med("echo", 2), med("echo", 3)
print(f"\nmedians over {len(small) // 3} rounds of small requests:")
for key in ("echo", "passthrough", "passthrough-nolog"):
    cpu, p99 = med(key, 2), med(key, 3)
    print(f"  {key:18s} cpu/req={cpu:6.1f}us ({cpu / floor_cpu:4.2f} x floor)  p99={p99:6.2f}ms ({p99 / floor_p99:4.2f} x floor)")
PY
