#!/usr/bin/env bash
# One-time set-up for a fresh machine, run by scripts/demo.sh and
# scripts/test.sh (safe to run again; everything is skipped when present):
# Debian packages the tests use (wrk, tmux, protoc, qemu-user for the arm64 run), ONNX Runtime 1.29.0 and
# the test models (scripts/setup-onnx.sh), the storage emulators of the
# s3:// and Azure tests (scripts/setup-emulators.sh), and every Go module's
# dependencies in the module cache, so the generated projects build offline.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for tool in wrk:wrk tmux:tmux protoc:protobuf-compiler curl:curl npm:npm qemu-aarch64:qemu-user; do
	command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "setup: installing ${need[*]}"
	SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

scripts/setup-onnx.sh --models
scripts/setup-emulators.sh

for mod in . runtime examples deploy/validate buildpack/lifecycle; do
	[ -f "$mod/go.mod" ] || continue
	echo "setup: go mod download in $mod"
	(cd "$mod" && go mod download)
done
