#!/usr/bin/env bash
# ONNX serving load test at one client: the ready-made onnx.Model serving
# PP-OCR cls (FP32 [1,3,48,192], ≈110 KB per request) against a raw ONNX
# Runtime loop on the same model file, threads and input, each in its own
# process (runtime/internal/bench/onnxbench):
#   - raw:   the binding alone, back to back (runs/s);
#   - floor: a bare net/http handler reading the same body and answering
#            8 bytes — the loopback network cost of one exchange, which no
#            server can avoid: raw/(raw + floor latency) bounds served/raw;
#   - rest:  wrk, one connection, the REST binary extension;
#   - grpc:  one generated Go client calling ModelInfer back to back with
#            raw_input_contents, against a bare grpc-go floor likewise;
#   - rest2, grpc2: the same client keeping two requests in flight, so the
#            exchange overlaps the model run (one session still runs one
#            request at a time).
# Then the MLP 784-1024-10 (≈40 µs a row) the same way at one client, and
# dynamic batching over HTTP: the MLP on two one-thread
# replicas, wrk at 64 connections (one row per request, binary extension),
# without and with --max_batch_size=64.
#   [REPS=3] [THREADS=1] scripts/bench-onnx.sh [seconds per run, default 5]
# Rounds alternate the servers, and medians are the result.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-5}
reps=${REPS:-3}
threads=${THREADS:-1}
model=${CLS_MODEL:-$HOME/.cache/kserve-gen/models/ch_ppocr_mobile_v2.0_cls_infer.onnx}
[[ -f $model ]] || { echo "bench-onnx: $model is missing (scripts/setup-onnx.sh --models)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench-onnx: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
(cd runtime && go build -o "$work/onnxbench" ./internal/bench/onnxbench)
ob="$work/onnxbench"
hl=$("$ob" body -o "$work/cls.body")
"$ob" grpcreq -name cls -o "$work/cls.bin"
cat >"$work/post.lua" <<'LUA'
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = os.getenv("HEADER_LEN")
done = function(summary, latency, requests)
  io.write(string.format("WRK rps=%.1f non2xx=%d\n", summary.requests / (summary.duration / 1e6), summary.errors.status))
end
LUA

"$ob" floor -addr 127.0.0.1:18295 &
"$ob" grpcfloor -addr 127.0.0.1:18296 &
"$ob" serve -model "$model" --model_name=cls --http_port=18290 --grpc_port=18291 --device=cpu \
  --intra_op_threads="$threads" 2>"$work/server.log" >/dev/null &
for _ in $(seq 200); do curl -sf localhost:18290/v2/models/cls/ready >/dev/null && break; sleep 0.05; done

# load URL BODY HEADER_LEN [CONNECTIONS]: 1 s of warm-up, then a measured
# run; prints "WRK rps=… non2xx=…".
load() {
  local conns=${4:-1} threads=1
  [[ $conns -ge 16 ]] && threads=2
  BODY_FILE=$2 HEADER_LEN=$3 wrk -t$threads -c"$conns" -d1s -s "$work/post.lua" "$1" >/dev/null
  BODY_FILE=$2 HEADER_LEN=$3 wrk -t$threads -c"$conns" -d"${secs}s" -s "$work/post.lua" "$1" | grep '^WRK'
}
rest() { # url [connections]: the cls request
  load "$1" "$work/cls.body" "$hl" "${2:-1}"
}
# medians RESULTS: lines "name … rps=X …" -> a JSON object of each name's median rps.
medians() {
  python3 -c 'import json, re, statistics, sys
rows = {}
for line in sys.argv[1].splitlines():
    rows.setdefault(line.split()[0], []).append(float(re.search(r"rps=([\d.]+)", line).group(1)))
print(json.dumps({k: statistics.median(v) for k, v in rows.items()}))' "$1"
}
grpc() { # addr [requests in flight]
  "$ob" grpcload -addr "$1" -req "$work/cls.bin" -seconds "$secs" -inflight "${2:-1}"
}
echo "PP-OCR cls, $threads intra-op thread(s), one client, ${secs}s per run, $reps rounds, $(nproc) cores"
results=$(
  for _ in $(seq "$reps"); do
    echo "raw $("$ob" raw -model "$model" -threads "$threads" -seconds "$secs" 2>/dev/null)"
    echo "floor $(rest http://127.0.0.1:18295/)"
    echo "rest $(rest http://127.0.0.1:18290/v2/models/cls/infer)"
    echo "grpcfloor $(grpc 127.0.0.1:18296)"
    echo "grpc $(grpc 127.0.0.1:18291)"
    echo "rest2 $(rest http://127.0.0.1:18290/v2/models/cls/infer 2)"
    echo "grpc2 $(grpc 127.0.0.1:18291 2)"
  done
)
echo "$results"
python3 - "$(medians "$results")" <<'PY'
import json, sys
m = json.loads(sys.argv[1])
raw_us = 1e6 / m["raw"]
print(f"medians: raw {m['raw']:.0f}/s ({raw_us:.0f} us/run)")
for k, f in (("rest", "floor"), ("grpc", "grpcfloor")):
    floor_us = 1e6 / m[f]
    bound = raw_us / (raw_us + floor_us)
    r = m[k] / m["raw"]
    print(f"{k}: {m[k]:.0f}/s = {r:.3f} x raw (target >= 0.9); network floor {floor_us:.0f} us/exchange, "
          f"so served/raw <= {bound:.3f}: {r / bound:.3f} x that bound, "
          f"{1e6 / m[k] - raw_us - floor_us:.0f} us/request beyond model and floor")
for k, how in (("rest2", "two connections"), ("grpc2", "two streams on one connection")):
    print(f"{k}: one client with two requests in flight ({how}), still one session: "
          f"{m[k]:.0f}/s = {m[k] / m['raw']:.3f} x raw")
PY

"$ob" mlp -o "$work/mlp.onnx"
mhl=$("$ob" body -shape 1,784 -input input -o "$work/mlp.body")
"$ob" serve -model "$work/mlp.onnx" --model_name=mlp --http_port=18292 --enable_grpc=false --device=cpu \
  --replicas=2 --intra_op_threads=1 --enable_latency_logging=false 2>"$work/mlp1.log" >/dev/null &
"$ob" serve -model "$work/mlp.onnx" --model_name=mlp --http_port=18293 --enable_grpc=false --device=cpu \
  --replicas=2 --intra_op_threads=1 --max_batch_size=64 --enable_latency_logging=false 2>"$work/mlp2.log" >/dev/null &
for p in 18292 18293; do
  for _ in $(seq 200); do curl -sf "localhost:$p/v2/models/mlp/ready" >/dev/null && break; sleep 0.05; done
done
echo "MLP 784-1024-10, 1 thread, one client over REST (binary extension)"
results=$(
  for _ in $(seq "$reps"); do
    echo "raw $("$ob" raw -model "$work/mlp.onnx" -shape 1,784 -threads 1 -seconds "$secs" 2>/dev/null)"
    echo "floor $(load http://127.0.0.1:18295/ "$work/mlp.body" "$mhl")"
    echo "rest $(load http://127.0.0.1:18292/v2/models/mlp/infer "$work/mlp.body" "$mhl")"
  done
)
echo "$results"
python3 - "$(medians "$results")" <<'PY'
import json, sys
m = json.loads(sys.argv[1])
raw_us, floor_us, rest_us = 1e6 / m["raw"], 1e6 / m["floor"], 1e6 / m["rest"]
print(f"medians: raw {raw_us:.1f} us/run, served {rest_us:.1f} us/request = {m['rest'] / m['raw']:.3f} x raw; "
      f"network floor {floor_us:.1f} us (bound {raw_us / (raw_us + floor_us):.3f}); "
      f"{rest_us - raw_us - floor_us:.1f} us/request beyond model and floor")
PY
mlp() { # port: 64 connections
  load "http://127.0.0.1:$1/v2/models/mlp/infer" "$work/mlp.body" "$mhl" 64
}
echo "MLP 784-1024-10, 2 replicas x 1 thread, wrk 64 connections over REST"
results=$(
  for _ in $(seq "$reps"); do
    echo "unbatched $(mlp 18292)"
    echo "batched $(mlp 18293)"
  done
)
echo "$results"
python3 - "$(medians "$results")" <<'PY'
import json, sys
m = json.loads(sys.argv[1])
u, b = m["unbatched"], m["batched"]
print(f"medians: unbatched {u:.0f} rows/s, batched {b:.0f} rows/s = {b / u:.2f} x (issue target >= 2 x; "
      f"BenchmarkServedMLPBatching measures the dataplane without HTTP)")
PY
