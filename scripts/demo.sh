#!/usr/bin/env bash
# The main job, end to end: set up, scaffold a predictor project with
# kserve-gen, test it, serve it, and answer a request.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
repo=$PWD
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

echo "+ go build -o $work/kserve-gen ./cmd/kserve-gen"
go build -o "$work/kserve-gen" ./cmd/kserve-gen
cd "$work"
echo "+ kserve-gen new custom-model --module example.com/custom-model --template rest --yes --runtime-path $repo/runtime"
./kserve-gen new custom-model --module example.com/custom-model --template rest --yes --runtime-path "$repo/runtime"
cd custom-model
echo "+ go test ./..."
go test ./...
if curl -s -o /dev/null localhost:8080/; then
	echo "demo: something already listens on localhost:8080; stop it first" >&2
	exit 1
fi
echo "+ go build -o model . && ./model --model_name=custom-model --http_port=8080 --grpc_port=8081 &"
go build -o model .
./model --model_name=custom-model --http_port=8080 --grpc_port=8081 &
model_pid=$!
trap 'kill $model_pid 2>/dev/null; wait $model_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 200); do curl -sf localhost:8080/v1/models/custom-model >/dev/null && break; sleep 0.05; done
echo '+ curl -H "Content-Type: application/json" localhost:8080/v1/models/custom-model:predict -d @./input.json'
curl -sS -i -H "Content-Type: application/json" localhost:8080/v1/models/custom-model:predict -d @./input.json
echo
