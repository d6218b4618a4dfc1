#!/usr/bin/env bash
# Checks runtime/onnx on a machine with an NVIDIA GPU: the CUDA execution
# provider must load, the models must run on it (ONNX Runtime's own profile
# says which provider ran each node), and the benchmarks report GPU timings
# next to CPU ones.
#
# On a GPU machine with Go and the npm registry:
#   scripts/gpu-check.sh                 setup-onnx.sh --gpu --models, then the tests
#
# For a GPU machine that has neither Go nor a network, and takes at most
# ~64 MiB of files per call (the CUDA provider alone is 230 MB), the files
# travel in parts:
#   scripts/gpu-check.sh pack            here: set-up, build the test binary, and split
#                                        one xz archive into .cache/gpu-carry/part-NN
#   scripts/gpu-check.sh receive         there, once per part carried: keep it in
#                                        $KSERVE_GEN_GPU_DIR (default /tmp/kserve-gen-gpu)
#   scripts/gpu-check.sh run             there: receive, join, verify, install the
#                                        files with setup-onnx.sh --offline (pinned
#                                        sha256), then run the GPU tests and benchmarks
# GPU_CHECK_BENCH=REGEX runs only those benchmarks after the tests, on cuda:0 and
# the CPU, twice, under each GOMAXPROCS in GPU_CHECK_PROCS ("16 2"; default: all
# CPUs), with -benchtime GPU_CHECK_BENCHTIME (default 1s).
# `pack` prints the exact calls. Results go to $OUT when it is set.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CARRY="$ROOT/.cache/gpu-carry"
WORK="${KSERVE_GEN_GPU_DIR:-/tmp/kserve-gen-gpu}"
PART_BYTES=$((58 * 1024 * 1024)) # + the working tree stays under 64 MiB per call
ORT_VERSION=1.29.0

log() { echo "gpu-check: $*"; }
die() {
	echo "gpu-check: error: $*" >&2
	exit 1
}

# cuda_library_path prints the folders holding CUDA 13 / cuDNN 9 libraries:
# pip's nvidia-* wheels (PyTorch images have them), the CUDA toolkit, the driver.
cuda_library_path() {
	local dirs=() py site d
	for py in python3 /opt/torch/.venv/bin/python3; do
		command -v "$py" >/dev/null || continue
		while read -r site; do
			for d in "$site"/nvidia/*/lib "$site"/nvidia/*/lib64; do
				[[ -d $d ]] && dirs+=("$d")
			done
		done < <("$py" -c 'import site; print("\n".join(site.getsitepackages()))' 2>/dev/null || true)
	done
	for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu; do
		[[ -d $d ]] && dirs+=("$d")
	done
	# python3 is often the same interpreter as the venv's: each folder once.
	local IFS=:
	printf '%s\n' "${dirs[@]}" | awk '!seen[$0]++' | paste -sd:
}

# run_checks CACHE TESTCMD...: environment for the GPU, then the tests.
run_checks() {
	local cache=$1
	shift
	export KSERVE_GEN_CACHE=$cache KSERVE_GEN_EXPECT_GPU=1
	local cudapath
	cudapath=$(cuda_library_path)
	export LD_LIBRARY_PATH="${cudapath}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	local out=${OUT:-$WORK/out}
	mkdir -p "$out"
	{
		echo "== nvidia-smi"
		nvidia-smi || echo "nvidia-smi failed"
		echo "== LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
		echo "== libraries the CUDA provider cannot find (should be none):"
		ldd "$cache/onnxruntime/$ORT_VERSION/libonnxruntime_providers_cuda.so" | grep 'not found' || echo "(none)"
		local lib d found
		for lib in libcudnn.so.9 libnvrtc.so.13 libcufft.so.12 libcurand.so.10; do # some are dlopened later
			found=""
			for d in ${LD_LIBRARY_PATH//:/ }; do
				[[ -e $d/$lib ]] && found=$d/$lib && break
			done
			echo "$lib: ${found:-NOT FOUND on LD_LIBRARY_PATH}"
		done
	} 2>&1 | tee "$out/gpu-env.txt"
	set +e
	"$@" -test.run 'TestGPU|TestDevice|TestSession_MLP|TestCLS|TestSilero|TestModel_Serves' -test.v 2>&1 | tee "$out/gpu-tests.txt"
	local rc=${PIPESTATUS[0]}
	{
		if [[ -n ${GPU_CHECK_BENCH:-} ]]; then
			# Only the benchmarks asked for, on each device, under each
			# GOMAXPROCS of GPU_CHECK_PROCS (default: the machine's CPUs).
			local procs
			for procs in ${GPU_CHECK_PROCS:-$(nproc)}; do
				for dev in cuda:0 cpu; do
					echo "== $GPU_CHECK_BENCH on $dev, GOMAXPROCS=$procs, 1 intra-op thread, two runs"
					GOMAXPROCS=$procs ONNX_BENCH_DEVICE=$dev "$@" -test.run '^$' -test.bench "$GPU_CHECK_BENCH" -test.benchtime "${GPU_CHECK_BENCHTIME:-1s}" -test.count 2
				done
			done
		else
			for dev in cuda:0 cpu; do
				for threads in 1 16; do
					[[ $dev == cuda:0 && $threads == 16 ]] && continue
					echo "== benchmarks on $dev, $threads intra-op thread(s)"
					ONNX_BENCH_DEVICE=$dev ONNX_BENCH_THREADS=$threads "$@" -test.run '^$' -test.bench '^Benchmark(CLS|CLSBatch|MLP784)$' -test.benchtime 1s
				done
			done
			# The served/raw ratio at one client against its floor (three
			# runs), and dynamic batching, on each device.
			for dev in cuda:0 cpu; do
				echo "== served PP-OCR cls at one client on $dev, 1 intra-op thread, three runs"
				ONNX_BENCH_DEVICE=$dev "$@" -test.run '^$' -test.bench '^BenchmarkServedCLS$' -test.benchtime 1s -test.count 3
				echo "== dynamic batching on $dev: the MLP, 64 callers on the dataplane, 2 replicas; PP-OCR cls, 32 REST clients, 1 replica"
				ONNX_BENCH_DEVICE=$dev "$@" -test.run '^$' -test.bench 'ServedMLPBatching' -test.benchtime 50000x -test.v
				ONNX_BENCH_DEVICE=$dev "$@" -test.run '^$' -test.bench 'ServedCLSBatching' -test.benchtime 5x
			done
		fi
	} 2>&1 | tee "$out/gpu-bench.txt"
	set -e
	log "tests exit status $rc; results in $out (gpu-env.txt, gpu-tests.txt, gpu-bench.txt)"
	return "$rc"
}

cmd_local() {
	command -v nvidia-smi >/dev/null || die "no nvidia-smi: this is not a machine with an NVIDIA GPU"
	"$ROOT/scripts/setup-onnx.sh" --gpu --models
	local cache="${KSERVE_GEN_CACHE:-$HOME/.cache/kserve-gen}"
	mkdir -p "$WORK"
	(cd "$ROOT/runtime" && go test -c -o "$WORK/onnx.test" ./onnx)
	run_checks "$cache" "$WORK/onnx.test"
}

cmd_pack() {
	"$ROOT/scripts/setup-onnx.sh" --gpu --models
	local cache="${KSERVE_GEN_CACHE:-$HOME/.cache/kserve-gen}"
	local stage
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' RETURN
	# The libraries and models are pinned, so their archive is made once and
	# kept (compressing the CUDA provider takes minutes); the test binary is
	# rebuilt every time. xz streams and tar archives both concatenate.
	local static="$ROOT/.cache/gpu-static-$ORT_VERSION.tar.xz" f
	if [[ ! -f $static ]]; then
		mkdir -p "$stage/cache/onnxruntime/$ORT_VERSION" "$stage/cache/models"
		for f in libonnxruntime.so.$ORT_VERSION libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
			cp "$cache/onnxruntime/$ORT_VERSION/$f" "$stage/cache/onnxruntime/$ORT_VERSION/$f"
		done
		for f in ch_ppocr_mobile_v2.0_cls_infer.onnx silero_vad.onnx; do
			cp "$cache/models/$f" "$stage/cache/models/$f"
		done
		log "compressing the libraries (xz; the CUDA provider shrinks only to ~165 MB, this takes minutes)"
		tar -C "$stage" -cf - cache | xz -T0 -6 >"$static.tmp"
		mv "$static.tmp" "$static"
	fi
	log "building the runtime/onnx test binary"
	(cd "$ROOT/runtime" && CGO_ENABLED=1 go test -c -o "$stage/onnx.test" ./onnx)
	tar -C "$stage" -cf - onnx.test | xz -T0 -6 >"$stage/test.tar.xz"
	rm -rf "$CARRY"
	mkdir -p "$CARRY"
	cat "$static" "$stage/test.tar.xz" >"$CARRY/bundle.tar.xz"
	# As few parts as fit: each call carries one part plus the working tree.
	local total max n size
	total=$(stat -c %s "$CARRY/bundle.tar.xz")
	max=$((${GPU_CARRY_MAX_MIB:-61} * 1024 * 1024))
	n=$(((total + max - 1) / max))
	size=$(((total + n - 1) / n))
	(cd "$CARRY" && split -b "$size" -d -a 2 bundle.tar.xz part- && rm bundle.tar.xz)
	local sum parts
	sum=$(cat "$CARRY"/part-* | sha256sum | cut -d' ' -f1)
	parts=$(cd "$CARRY" && ls part-* | tr '\n' ' ')
	printf 'sha256 %s\nparts %s\n' "$sum" "$parts" >"$CARRY/MANIFEST"
	log "wrote $n part(s) of at most $size bytes to $CARRY (if a call is refused as too large, run again with GPU_CARRY_MAX_MIB=50):"
	ls -l "$CARRY"
	local list=($parts) last=$((${#list[@]} - 1)) i
	echo
	echo "Device calls, each started within 30 s of the last reply (the machine must stay warm):"
	for i in "${!list[@]}"; do
		local carry="\".cache/gpu-carry/${list[$i]}\""
		((i == 0)) && carry="$carry, \".cache/gpu-carry/MANIFEST\""
		if ((i < last)); then
			echo "  run(carry=[$carry], command=\"scripts/gpu-check.sh receive\")"
		else
			echo "  run(carry=[$carry], command=\"scripts/gpu-check.sh run\", timeout_s=600)"
		fi
	done
}

cmd_receive() {
	mkdir -p "$WORK/parts"
	local p
	for p in "$CARRY"/part-* "$CARRY"/MANIFEST; do
		[[ -f $p ]] || continue
		cp "$p" "$WORK/parts/"
		log "kept $(basename "$p") ($(stat -c %s "$p") bytes) in $WORK/parts"
	done
	[[ -f $WORK/parts/MANIFEST ]] || die "no MANIFEST yet: carry .cache/gpu-carry/MANIFEST with the first part"
	local have=0 missing=()
	for p in $(grep '^parts' "$WORK/parts/MANIFEST" | cut -d' ' -f2-); do
		if [[ -f $WORK/parts/$p ]]; then
			have=$((have + 1))
		else
			missing+=("$p")
		fi
	done
	log "have $have part(s); missing: ${missing[*]:-none}"
	((${#missing[@]} == 0))
}

cmd_run() {
	cmd_receive || die "parts missing (the machine went back between calls? start again with part-00)"
	local sum
	sum=$(grep '^sha256' "$WORK/parts/MANIFEST" | cut -d' ' -f2)
	log "joining and verifying the archive"
	local p bundle="$WORK/bundle.tar.xz"
	: >"$bundle"
	for p in $(grep '^parts' "$WORK/parts/MANIFEST" | cut -d' ' -f2-); do
		cat "$WORK/parts/$p" >>"$bundle"
	done
	local got
	got=$(sha256sum "$bundle" | cut -d' ' -f1)
	[[ $got == "$sum" ]] || die "archive sha256 is $got, expected $sum"
	if command -v xz >/dev/null; then
		xz -dc "$bundle" | tar -C "$WORK" --ignore-zeros -xf -
	else
		python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$bundle" | tar -C "$WORK" --ignore-zeros -xf -
	fi
	# The real set-up script checks every file against its pinned sha256.
	KSERVE_GEN_CACHE="$WORK/cache" "$ROOT/scripts/setup-onnx.sh" --gpu --offline
	run_checks "$WORK/cache" "$WORK/onnx.test"
}

case "${1:-local}" in
local) cmd_local ;;
pack) cmd_pack ;;
receive) cmd_receive ;;
run) cmd_run ;;
-h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" ;;
*) die "unknown command $1 (expected local, pack, receive, run)" ;;
esac
