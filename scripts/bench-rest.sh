#!/usr/bin/env bash
# REST load test: server CPU per request and latency of examples/passthrough
# (v1 and v2 small bodies, full path: routing, decode, model, encode,
# metrics, latency log) against the echo floor (a bare net/http handler
# echoing the body), measured in the same run with wrk at 16 connections.
# CPU is utime+stime of the server process from /proc/PID/stat.
#   [REPS=3] [PIN=1] [AA=1] scripts/bench-rest.sh [seconds per run, default 10]
# PIN=1 (two or more CPUs, taskset) pins both servers to CPU 0 and wrk to the
# others, as scripts/bench-grpc.sh does: the load generator then no longer
# competes with the server for a core, and each server runs as in a one-CPU
# pod (Go sizes GOMAXPROCS from the affinity mask).
# Each round runs every server once; medians over the rounds are the result,
# so load from elsewhere hits the server and the floor alike.
# AA=1 also measures the floor a second time in each round (after the v2
# server) and prints floor/floor ratios: the noise of the method on this
# machine, against which the server/floor ratios can be read.
# WORK=3us also runs a floor that burns that much user CPU per request (a
# calibrated loop) and prints what it measures as against the plain floor:
# how much this harness magnifies a known added cost (a slower server leaves
# the load generator asleep more often, and waking it costs the server's
# write more kernel time), against which the server's own excess can be read.
# FAST=1 also runs bench/fasthttp (its own module): an echo server and the
# passthrough's v2 route served by fasthttp instead of net/http, with the
# runtime's decoder, dataplane, encoder, metrics and log lines; it prints
# both against the net/http floor. What the transport costs, measured.
# PT_ARGS adds flags to the passthrough's command line, PT_ENV variables to
# its environment (PT_ENV='GOGC=200 GOMAXPROCS=1').
# Both servers run with GODEBUG=gctrace=1, so each run also prints requests
# per garbage collection: a library that keeps more of the heap live (its
# package-level tables) leaves less room under Go's 4 MiB minimum goal and
# shows here as more frequent collections before it shows in the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=16
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
bin=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$bin"' EXIT
(cd runtime && go build -o "$bin/httpecho" ./internal/bench/httpecho)
(cd examples && go build -o "$bin/passthrough" ./passthrough)
(cd runtime && go build -o "$bin/startup" ./internal/bench/startup)
if [[ ${FAST:-0} == 1 ]]; then (cd bench/fasthttp && go build -o "$bin/fasthttp" .); fi
echo "== start to ready and idle RSS (target <= 50 ms, <= 30 MB)"
"$bin/startup" -url http://127.0.0.1:18097/v2/health/ready -- "$bin/passthrough" --model_name=passthrough --http_port=18097 --grpc_port=18096 2>/dev/null
printf '%s' '{"instances":[[1.0,2.0,3.0,4.0]]}' >"$bin/v1.json"
printf '%s' '{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP32","data":[1.0,2.0,3.0,4.0]}]}' >"$bin/v2.json"
clk=$(getconf CLK_TCK)
server_cpu=() wrk_cpu=()
if [[ ${PIN:-0} == 1 && $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then
  server_cpu=(taskset -c 0) wrk_cpu=(taskset -c "1-$(($(nproc) - 1))")
fi

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# gc_since LOG OFFSET: garbage collections the server whose stderr is LOG
# logged after byte OFFSET (its latency lines share the file, so reading it
# whole after every run would read every earlier round again)
gc_since() { tail -c +"$(($2 + 1))" "$1" | grep -c '^gc ' || true; }

# run NAME PID LOG URL BODY: one wrk run, prints "NAME us_cpu_per_req p50 p99
# rps requests_per_gc"
run() {
  local name=$1 pid=$2 log=$3 url=$4 body=$5
  BODY_FILE=$body "${wrk_cpu[@]}" wrk -t2 -c$conns -d1s -s scripts/wrk-post.lua "$url" >/dev/null  # warm-up
  local t0 off; t0=$(cpu_ticks "$pid") off=$(stat -c %s "$log")
  local out; out=$(BODY_FILE=$body "${wrk_cpu[@]}" wrk -t2 -c$conns -d${secs}s -s scripts/wrk-post.lua "$url" | grep WRKJSON | sed 's/WRKJSON //')
  local t1; t1=$(cpu_ticks "$pid")
  python3 - "$name" "$t0" "$t1" "$clk" "$out" "$(gc_since "$log" "$off")" <<'PY'
import json, sys
name, t0, t1, clk, out, gcs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5]), int(sys.argv[6])
cpu_us = (t1 - t0) / clk * 1e6 / max(out["requests"], 1)
bad = out["non2xx"] + out["errors"]
print(f'{name:10s} cpu_us={cpu_us:6.1f} p50_us={out["p50_us"]:5d} p99_us={out["p99_us"]:6d} rps={out["rps"]:9.1f} failed={bad} '
      f'req_per_gc={out["requests"] / max(gcs, 1):6.0f}')
PY
}

GODEBUG=gctrace=1 "${server_cpu[@]}" "$bin/httpecho" -addr 127.0.0.1:18090 2>"$bin/echo.log" & echo_pid=$!
if [[ -n ${WORK:-} ]]; then
  GODEBUG=gctrace=1 "${server_cpu[@]}" "$bin/httpecho" -addr 127.0.0.1:18089 -work "$WORK" 2>"$bin/work.log" & work_pid=$!
fi
if [[ ${FAST:-0} == 1 ]]; then
  GODEBUG=gctrace=1 "${server_cpu[@]}" "$bin/fasthttp" -mode echo -addr 127.0.0.1:18092 2>"$bin/fast-echo.log" & fast_echo_pid=$!
  GODEBUG=gctrace=1 "${server_cpu[@]}" "$bin/fasthttp" -mode v2 -addr 127.0.0.1:18093 >/dev/null 2>"$bin/fast-v2.log" & fast_v2_pid=$!
fi
# env, not a bare expansion: a variable assignment only takes effect when
# the shell sees it literally.
# shellcheck disable=SC2086 # PT_ENV and PT_ARGS are word lists
env GODEBUG=gctrace=1 ${PT_ENV:-} "${server_cpu[@]}" "$bin/passthrough" --model_name=passthrough --http_port=18091 --enable_grpc=false ${PT_ARGS:-} >"$bin/server.out" 2>"$bin/server.log" & pt_pid=$!
for _ in $(seq 100); do curl -sf localhost:18091/v2/health/ready >/dev/null && curl -sf -o /dev/null -d '{}' localhost:18090/ && { [[ -z ${WORK:-} ]] || curl -sf -o /dev/null -d '{}' localhost:18089/; } && { [[ ${FAST:-0} != 1 ]] || { curl -sf -o /dev/null -d '{}' localhost:18092/ && curl -s -o /dev/null localhost:18093/; }; } && break; sleep 0.05; done
# A server that could not bind (a port still held by an earlier run) has
# exited: stop here rather than measure whatever holds the port.
for p in "$echo_pid" "$pt_pid" ${work_pid:-} ${fast_echo_pid:-} ${fast_v2_pid:-}; do
  kill -0 "$p" 2>/dev/null || { echo "bench-rest: a server exited at start (its port, 18089-18093, in use?):" >&2; grep -hv '^gc ' "$bin"/*.log | tail -3 >&2; exit 1; }
done

reps=${REPS:-3}
echo "wrk: $conns connections, ${secs}s per run, $reps rounds alternating the servers, $(nproc) cores, servers pinned: ${server_cpu[*]:-no}"
results=$(
  for _ in $(seq "$reps"); do
    run echo-v1 "$echo_pid" "$bin/echo.log" http://127.0.0.1:18090/ "$bin/v1.json"
    run v1 "$pt_pid" "$bin/server.log" http://127.0.0.1:18091/v1/models/passthrough:predict "$bin/v1.json"
    run echo-v2 "$echo_pid" "$bin/echo.log" http://127.0.0.1:18090/ "$bin/v2.json"
    run v2 "$pt_pid" "$bin/server.log" http://127.0.0.1:18091/v2/models/passthrough/infer "$bin/v2.json"
    if [[ -n ${WORK:-} ]]; then run echo-work "$work_pid" "$bin/work.log" http://127.0.0.1:18089/ "$bin/v2.json"; fi
    if [[ ${FAST:-0} == 1 ]]; then
      run fast-echo "$fast_echo_pid" "$bin/fast-echo.log" http://127.0.0.1:18092/ "$bin/v2.json"
      run fast-v2 "$fast_v2_pid" "$bin/fast-v2.log" http://127.0.0.1:18093/v2/models/passthrough/infer "$bin/v2.json"
    fi
    if [[ ${AA:-0} == 1 ]]; then run echo-again "$echo_pid" "$bin/echo.log" http://127.0.0.1:18090/ "$bin/v2.json"; fi
  done
)
echo "$results"
python3 - "$results" "${WORK:-}" <<'PY'
import random, re, statistics, sys
rows = {}
for line in sys.argv[1].splitlines():
    name = line.split()[0]
    rows.setdefault(name, []).append({k: float(v) for k, v in re.findall(r'(\w+)=\s*([\d.]+)', line)})
med = lambda name, key: statistics.median(r[key] for r in rows[name])
print("medians:")
for p in ("v1", "v2"):
    s_cpu, f_cpu = med(p, "cpu_us"), med("echo-" + p, "cpu_us")
    s_p99, f_p99 = med(p, "p99_us"), med("echo-" + p, "p99_us")
    print(f'{p}: cpu {s_cpu:.1f} us vs floor {f_cpu:.1f} us = {s_cpu / f_cpu:.2f}x (target <= 1.3), '
          f'p99 {s_p99 / 1000:.2f} ms vs {f_p99 / 1000:.2f} ms = {s_p99 / f_p99:.2f}x (target <= 1.5)')
    # The ratio moves with the host's floor; the path's own cost over it
    # moves less (it is mostly user-space work), so both are printed.
    over = [a["cpu_us"] - b["cpu_us"] for a, b in zip(rows[p], rows["echo-" + p])]
    print(f'{p}: over the floor {statistics.median(over):.1f} us per request (per-round median; '
          f'the target allows {0.3 * f_cpu:.1f} us on this floor)')
print("requests per garbage collection (medians; more is fewer collections): " +
      ", ".join(f'{p} {med(p, "req_per_gc"):.0f}' for p in ("v1", "echo-v1", "v2", "echo-v2")))
# Each round measures the server right after its floor, so the ratio within
# a round cancels most of the machine's drift; the median of those is the
# steadier estimate.
# A percentile bootstrap of the median says how far the rounds' scatter
# alone could move it (fixed seed: the same rounds print the same interval).
rng = random.Random(1)
def interval(r, n=2000):
    meds = sorted(statistics.median(rng.choices(r, k=len(r))) for _ in range(n))
    return meds[int(0.05 * n)], meds[int(0.95 * n) - 1]
print("per-round ratios (server / floor of the same round):")
for p in ("v1", "v2"):
    r = [a["cpu_us"] / b["cpu_us"] for a, b in zip(rows[p], rows["echo-" + p])]
    lo, hi = interval(r)
    print(f'{p}: cpu {" ".join(f"{x:.2f}" for x in r)}; median {statistics.median(r):.2f}x (90% bootstrap interval {lo:.2f}-{hi:.2f})')
if "echo-again" in rows:
    r = [a["cpu_us"] / b["cpu_us"] for a, b in zip(rows["echo-again"], rows["echo-v2"])]
    lo, hi = interval(r)
    print(f'floor against itself (A/A): cpu {" ".join(f"{x:.2f}" for x in r)}; median {statistics.median(r):.2f}x (90% bootstrap interval {lo:.2f}-{hi:.2f})')
for name, what in (("fast-echo", "fasthttp echo"), ("fast-v2", "fasthttp v2 passthrough")):
    if name in rows:
        r = [a["cpu_us"] / b["cpu_us"] for a, b in zip(rows[name], rows["echo-v2"])]
        lo, hi = interval(r)
        print(f'{what} against the net/http floor: cpu {" ".join(f"{x:.2f}" for x in r)}; median {statistics.median(r):.2f}x '
              f'(90% bootstrap interval {lo:.2f}-{hi:.2f}); {med(name, "cpu_us"):.1f} us per request, p99 {med(name, "p99_us") / 1000:.2f} ms')
if "echo-work" in rows:
    r = [a["cpu_us"] / b["cpu_us"] for a, b in zip(rows["echo-work"], rows["echo-v2"])]
    d = [a["cpu_us"] - b["cpu_us"] for a, b in zip(rows["echo-work"], rows["echo-v2"])]
    lo, hi = interval(r)
    m = re.fullmatch(r'([\d.]+)(us|µs)', sys.argv[2])
    per = f' ({statistics.median(d) / float(m[1]):.2f} us per us of work)' if m else ''
    print(f'floor + {sys.argv[2]} of work: cpu {" ".join(f"{x:.2f}" for x in r)}; median {statistics.median(r):.2f}x '
          f'(90% bootstrap interval {lo:.2f}-{hi:.2f}); measured {statistics.median(d):.1f} us more{per}')
PY
RSS=$(awk '/VmRSS/{print $2}' /proc/$pt_pid/status)
echo "passthrough RSS after load: ${RSS} kB"
