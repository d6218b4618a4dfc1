#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this): set-up, format,
# vet and staticcheck checks, generated-code check, every module's tests with the race
# detector where it matters, and bounded fuzzing of the wire decoders, image decoders and
# model-archive unpacking.
#   FUZZTIME=1000000x FUZZTIME_ARCHIVES=100000x scripts/test.sh   (runs per fuzz target)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# A Docker engine, offline base images and kserve-gen's builder, for the
# image builds of kserve-gen build's tests.
scripts/setup-buildpacks.sh

step() { printf '\n=== %s\n' "$*"; }

step "gofmt"
bad=$(gofmt -l $(git ls-files '*.go' | grep -v '^testdata/golden/') || true)
if [ -n "$bad" ]; then echo "gofmt would change:"; echo "$bad"; exit 1; fi

if [ -x scripts/gen-proto.sh ]; then
	step "generated protobuf code is up to date"
	scripts/gen-proto.sh --check
fi

# bench/fasthttp is a load-test server (scripts/bench-rest.sh FAST=1) in a
# module of its own; vet and staticcheck keep it building.
mods=(runtime . examples bench/fasthttp)
for mod in "${mods[@]}"; do
	step "go vet ($mod)"
	(cd "$mod" && go vet ./...)
done

# Developers run kserve-gen, and their projects with `go run .` and `go test`,
# on macOS and Windows laptops too: the runtime (less the ONNX Runtime
# binding, whose cgo needs that OS's C compiler), the CLI, the examples and
# a generated project (testdata/golden/rest is `kserve-gen new`'s output)
# must build there; vet type-checks their tests too.
for target in darwin/arm64 windows/amd64; do
	step "go build and vet for $target (runtime without onnx, CLI, examples, a generated project)"
	(
		export GOOS=${target%/*} GOARCH=${target#*/}
		(cd runtime && go vet $(go list ./... | grep -v '/onnx'))
		go build ./...
		(cd examples && go vet ./...)
		(cd testdata/golden/rest && go vet ./...)
	)
done

# On Apple Silicon and Graviton, Go fuses a*b+c into one instruction
# (math.Erfinv's polynomial included), which can move a float's last bit;
# the generated projects' tests compare exact answers, so they run on
# linux/arm64 too, under qemu's user-mode emulation. Projects that link ONNX
# Runtime are left out: their cgo needs an arm64 C toolchain and library.
step "generated projects' tests on linux/arm64 (qemu user-mode emulation)"
arm64=$(mktemp -d)
for dir in testdata/golden/*/; do
	grep -qs "kserve-gen/runtime/onnx\"" "$dir"*.go && continue
	name=$(basename "$dir")
	(cd "$dir" && CGO_ENABLED=0 GOARCH=arm64 go test -c -o "$arm64/$name.test" . && printf '%s: ' "$name" && qemu-aarch64 "$arm64/$name.test")
done
rm -rf "$arm64"

# staticcheck finds what vet does not (dead code, deprecated APIs, values
# never used); pinned, built from the module proxy on first use.
staticcheck=honnef.co/go/tools/cmd/staticcheck@v0.8.2
for mod in "${mods[@]}" deploy/validate; do
	step "staticcheck ($mod)"
	(cd "$mod" && go run "$staticcheck" ./...)
done

step "go test (runtime, race detector; Docker builds the modelcar of the oci:// test)"
(cd runtime && KSERVE_GEN_REQUIRE_ONNX=1 KSERVE_GEN_REQUIRE_EMULATORS=1 KSERVE_GEN_REQUIRE_BUILDPACKS=1 go test -race -count=1 ./...)
step "go test (kserve-gen CLI, generator golden projects, image builds, deploy)"
# cmd/kserve-gen builds and tests generated projects and images: about 7
# minutes on two free cores, past go test's default 10-minute limit on a
# loaded host, where it failed with a panic that says nothing of the code.
KSERVE_GEN_REQUIRE_ONNX=1 KSERVE_GEN_REQUIRE_BUILDPACKS=1 go test -count=1 -timeout 30m ./...
step "go test (examples: reference exchanges against examples/passthrough; Docker runs it under a memory limit)"
(cd examples && KSERVE_GEN_REQUIRE_BUILDPACKS=1 go test -count=1 ./...)
if [ -f deploy/validate/go.mod ]; then
	step "go test (deploy/validate: manifests against KServe's v1beta1 API types)"
	(cd deploy/validate && go vet ./... && go test -count=1 ./...)
fi

# A count, not a duration: with a duration, Go 1.26's fuzzing coordinator
# can report its own deadline as a failure ("context deadline exceeded", no
# crasher written; golang/go#75804, fixed in Go 1.27). 300000 runs take
# 10-20 s per target here.
fuzz=${FUZZTIME:-300000x}
step "fuzz the v2 JSON, binary and gRPC decoders, the v1 body parser, the ONNX model reader and the image decoders ($fuzz each)"
(cd runtime && go test -run '^$' -fuzz '^FuzzDecodeRequestJSON$' -fuzztime "$fuzz" ./infer)
(cd runtime && go test -run '^$' -fuzz '^FuzzDecodeBinary$' -fuzztime "$fuzz" ./infer)
(cd runtime && go test -run '^$' -fuzz '^FuzzFastData$' -fuzztime "$fuzz" ./infer)
(cd runtime && go test -run '^$' -fuzz '^FuzzV1Body$' -fuzztime "$fuzz" ./infer)
(cd runtime && go test -run '^$' -fuzz '^FuzzModelInferRequest$' -fuzztime "$fuzz" ./pb/pbconv)
go test -run '^$' -fuzz '^FuzzRead$' -fuzztime "$fuzz" ./onnxinfo
(cd runtime && go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime "$fuzz" ./vision)
# Archive fuzzing writes every case to disk: about 1 000 runs a second here,
# so a tenth of the count (30-50 s per target).
archives=${FUZZTIME_ARCHIVES:-30000x}
step "fuzz tar unpacking and OCI layer application of model downloads ($archives each)"
(cd runtime && go test -run '^$' -fuzz '^FuzzUntar$' -fuzztime "$archives" ./storage)
(cd runtime && go test -run '^$' -fuzz '^FuzzOCILayer$' -fuzztime "$archives" ./storage)
echo
echo "all tests passed"
