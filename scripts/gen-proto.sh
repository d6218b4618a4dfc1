#!/usr/bin/env bash
# Generates the Go code of the Open Inference Protocol gRPC API
# (runtime/proto/*.proto → runtime/pb) with protoc and the pinned Go plugins.
#
#   scripts/gen-proto.sh          regenerate runtime/pb
#   scripts/gen-proto.sh --check  fail when regenerating would change runtime/pb (CI)
#
# Needs protoc (Debian: apt-get install protobuf-compiler). The plugins are
# built from their pinned Go modules into .cache/protoc-plugins (git-ignored).
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.12     # google.golang.org/protobuf, same as runtime/go.mod
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2  # google.golang.org/grpc/cmd/protoc-gen-go-grpc

root=$(cd "$(dirname "$0")/.." && pwd)
check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

if ! command -v protoc >/dev/null; then
  echo "gen-proto: protoc not found; install it with: apt-get install -y protobuf-compiler" >&2
  exit 1
fi

bin="$root/.cache/protoc-plugins"
mkdir -p "$bin"
if [[ ! -x "$bin/protoc-gen-go-$PROTOC_GEN_GO_VERSION" ]]; then
  GOBIN="$bin" GOFLAGS= go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
  mv "$bin/protoc-gen-go" "$bin/protoc-gen-go-$PROTOC_GEN_GO_VERSION"
fi
if [[ ! -x "$bin/protoc-gen-go-grpc-$PROTOC_GEN_GO_GRPC_VERSION" ]]; then
  GOBIN="$bin" GOFLAGS= go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
  mv "$bin/protoc-gen-go-grpc" "$bin/protoc-gen-go-grpc-$PROTOC_GEN_GO_GRPC_VERSION"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
protoc \
  --plugin=protoc-gen-go="$bin/protoc-gen-go-$PROTOC_GEN_GO_VERSION" \
  --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc-$PROTOC_GEN_GO_GRPC_VERSION" \
  -I "$root/runtime/proto" \
  --go_out="$out" --go_opt=paths=source_relative \
  --go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
  "$root"/runtime/proto/*.proto

# The generated headers name the protoc version; normalise it so that the
# check does not depend on which protoc release a machine has.
for f in "$out"/*.go; do
  sed -i -E 's|^(//[[:space:]]+protoc[[:space:]]+)v.*$|\1(see scripts/gen-proto.sh)|' "$f"
done

if $check; then
  status=0
  for f in "$out"/*.go; do
    name=$(basename "$f")
    if ! diff -u "$root/runtime/pb/$name" "$f"; then
      status=1
    fi
  done
  for f in "$root"/runtime/pb/*.pb.go; do
    [[ -e "$out/$(basename "$f")" ]] || { echo "gen-proto: stale file $f" >&2; status=1; }
  done
  if [[ $status -ne 0 ]]; then
    echo "gen-proto: runtime/pb is out of date; run scripts/gen-proto.sh" >&2
  fi
  exit $status
fi

rm -f "$root"/runtime/pb/*.pb.go
cp "$out"/*.go "$root/runtime/pb/"
