#!/usr/bin/env python3
"""Send the same gRPC calls to KServe's Python ModelServer and to ours; print what differs.

A developer tool (not run by CI): a differential client for the Open Inference
Protocol over gRPC (`inference.GRPCInferenceService`) and the health/reflection
services. Each case is sent to both servers; the status code, the status
message, the header and trailer metadata and the response message (as
protobuf JSON) are compared. A fresh uuid4 `id` is the same for comparison;
everything else must match. Cases that change state (RepositoryModelUnload,
Load) run last, in the same order on both servers.

Both servers serve a pass-through model named `passthrough` (v2 returns its
first input as `output-0`):

  - ours:   cd examples && go run ./passthrough --model_name=passthrough \
              --http_port=8090 --grpc_port=8091
  - KServe: python3 passthrough.py --model_name=passthrough --http_port=8080 \
              --grpc_port=8081, with examples/passthrough written for KServe
            (the id and raw outputs as KServe's get_predict_response makes them):

      from kserve import Model, ModelServer, InferRequest, InferResponse, InferOutput
      from kserve.errors import InvalidInput
      from kserve.model_server import parser
      from kserve.utils.utils import generate_uuid

      class Passthrough(Model):
          def __init__(self, name):
              super().__init__(name)
              self.ready = True
          async def predict(self, payload, headers=None, response_headers=None):
              if isinstance(payload, InferRequest):
                  if not payload.inputs:
                      raise InvalidInput("expected at least one input")
                  i = payload.inputs[0]
                  out = InferOutput(name="output-0", shape=i.shape, datatype=i.datatype, data=i.data)
                  if i._raw_data is not None:
                      out.set_data_from_numpy(i.as_numpy(), binary_data=True)
                  return InferResponse(response_id=payload.id or generate_uuid(), model_name=self.name,
                                       infer_outputs=[out], use_binary_outputs=payload.use_binary_outputs)
              return {"predictions": payload["instances"]}

      if __name__ == "__main__":
          args, _ = parser.parse_known_args()
          ModelServer().start([Passthrough(args.model_name)])

How KServe was run for the comparison (2026-12-03), nothing installed and no
pip: KServe v0.20.0's python/kserve from the Go module cache
($GOMODCACHE/github.com/kserve/kserve@v0.20.0/python/kserve, copied so that its
generated grpc_predict_v2_pb2_grpc.py could skip the grpcio version warning and
the `add_registered_method_handlers` call grpcio 1.51 lacks); Debian trixie's
python3-grpcio 1.51, python3-protobuf 4.21 (Debian's 3.21 source package),
python3-fastapi, -uvicorn, -starlette, -pydantic, -numpy, -pandas, -orjson,
-prometheus-client, -psutil, -yaml, -tabulate and their dependencies, fetched
with `apt-get download` against a scratch sources list and unpacked with
`dpkg -x` (as scripts/kserve-openapi.py describes, with CPython 3.13 run
through trixie's libc6 loader); small stand-ins, written for the comparison
and kept out of the repository, for the three packages Debian lacks:
grpc-interceptor (AsyncExceptionToStatusInterceptor as in its 0.15 source),
timing-asgi (TimingMiddleware, StarletteScopeToName) and cloudevents (only
imported on these paths), plus empty kubernetes/requests/urllib3 modules that
KServe's client API imports.

This script needs only grpcio and protobuf; it loads the message classes from
KServe's generated grpc_predict_v2_pb2.py (given by path; the default is the
v0.20.0 module in the Go module cache) without importing the kserve package:

  python3 scripts/kserve-diff-grpc.py --kserve localhost:8081 --ours localhost:8091 [-v]

Exit status 1 when any case differs. -v prints every case, not only the
differing ones. --only SUBSTRING runs the matching cases.
"""

import argparse
import glob
import importlib.util
import json
import os
import re
import struct
import sys

import grpc
from google.protobuf import json_format

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SERVICE = "/inference.GRPCInferenceService/"


def default_pb2():
    root = os.environ.get("GOMODCACHE") or os.path.expanduser("~/go/pkg/mod")
    hits = glob.glob(
        os.path.join(root, "github.com/kserve/kserve@v0.20.0/python/kserve/kserve/protocol/grpc/grpc_predict_v2_pb2.py")
    )
    return hits[0] if hits else None


def load_pb2(path):
    spec = importlib.util.spec_from_file_location("grpc_predict_v2_pb2", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Result:
    def __init__(self, code, details, headers, trailers, body):
        self.code, self.details, self.headers, self.trailers, self.body = code, details, headers, trailers, body

    def view(self):
        return {
            "code": self.code,
            "details": self.details,
            "headers": self.headers,
            "trailers": self.trailers,
            "body": self.body,
        }


def metadata(md):
    # grpc adds no volatile metadata of its own on either side; keep it all, sorted
    return sorted((k, v if isinstance(v, str) else repr(v)) for k, v in (md or ()))


def normalise(body):
    if isinstance(body, dict):
        return {k: ("<uuid4>" if k == "id" and isinstance(v, str) and UUID.match(v) else normalise(v)) for k, v in body.items()}
    if isinstance(body, list):
        return [normalise(v) for v in body]
    return body


def call(channel, method, req, resp_cls, md, timeout=10):
    if method.endswith("/ServerReflectionInfo"):
        # a bidirectional stream: one request, the service names back
        fn = channel.stream_stream(method, request_serializer=lambda b: b, response_deserializer=lambda b: b)
        try:
            it = fn(iter([req]), metadata=md, timeout=timeout)
            body = [r.hex() for r in it]
            return Result("OK", "", metadata(it.initial_metadata()), metadata(it.trailing_metadata()), body)
        except grpc.RpcError as e:
            return Result(e.code().name, e.details(), metadata(e.initial_metadata()), metadata(e.trailing_metadata()), None)
    fn = channel.unary_unary(method, request_serializer=lambda m: m.SerializeToString() if hasattr(m, "SerializeToString") else m,
                             response_deserializer=resp_cls.FromString if resp_cls else None)
    try:
        resp, c = fn.with_call(req, metadata=md, timeout=timeout)
        body = json_format.MessageToDict(resp, preserving_proto_field_name=True) if resp_cls else resp.hex()
        return Result("OK", "", metadata(c.initial_metadata()), metadata(c.trailing_metadata()), normalise(body))
    except grpc.RpcError as e:
        return Result(e.code().name, e.details(), metadata(e.initial_metadata()), metadata(e.trailing_metadata()), None)


def cases(pb):
    """(name, method, request, response class, metadata) in the order they run."""
    out = []

    def add(name, rpc, req, resp, md=()):
        out.append((name, rpc if rpc.startswith("/") else SERVICE + rpc, req, resp, list(md)))

    add("ServerLive", "ServerLive", pb.ServerLiveRequest(), pb.ServerLiveResponse)
    add("ServerReady", "ServerReady", pb.ServerReadyRequest(), pb.ServerReadyResponse)
    add("ServerMetadata", "ServerMetadata", pb.ServerMetadataRequest(), pb.ServerMetadataResponse)
    add("ModelReady", "ModelReady", pb.ModelReadyRequest(name="passthrough"), pb.ModelReadyResponse)
    add("ModelReady version", "ModelReady", pb.ModelReadyRequest(name="passthrough", version="1"), pb.ModelReadyResponse)
    add("ModelReady unknown", "ModelReady", pb.ModelReadyRequest(name="nope"), pb.ModelReadyResponse)
    add("ModelReady empty", "ModelReady", pb.ModelReadyRequest(), pb.ModelReadyResponse)
    add("ModelMetadata", "ModelMetadata", pb.ModelMetadataRequest(name="passthrough"), pb.ModelMetadataResponse)
    add("ModelMetadata unknown", "ModelMetadata", pb.ModelMetadataRequest(name="nope"), pb.ModelMetadataResponse)
    add("ModelMetadata version", "ModelMetadata", pb.ModelMetadataRequest(name="passthrough", version="2"), pb.ModelMetadataResponse)

    T = pb.ModelInferRequest.InferInputTensor
    C = pb.InferTensorContents

    def infer(name, inputs, raw=None, md=(), **kw):
        req = pb.ModelInferRequest(model_name=kw.pop("model_name", "passthrough"), inputs=inputs, **kw)
        if raw is not None:
            req.raw_input_contents.extend(raw)
        add("ModelInfer " + name, "ModelInfer", req, pb.ModelInferResponse, md)

    typed = [
        ("BOOL", C(bool_contents=[True, False])),
        ("UINT8", C(uint_contents=[0, 255])),
        ("UINT16", C(uint_contents=[0, 65535])),
        ("UINT32", C(uint_contents=[0, 4294967295])),
        ("UINT64", C(uint64_contents=[0, 18446744073709551615])),
        ("INT8", C(int_contents=[-128, 127])),
        ("INT16", C(int_contents=[-32768, 32767])),
        ("INT32", C(int_contents=[-2147483648, 2147483647])),
        ("INT64", C(int64_contents=[-9223372036854775808, 9223372036854775807])),
        ("FP32", C(fp32_contents=[1.5, -0.25])),
        ("FP64", C(fp64_contents=[1.5, 1e300])),
        ("BYTES", C(bytes_contents=[b"ab", b"\xff\x00"])),
    ]
    for dt, c in typed:
        infer("typed " + dt, [T(name="input-0", datatype=dt, shape=[2], contents=c)])
    infer("typed FP16 (no typed field)", [T(name="input-0", datatype="FP16", shape=[2], contents=C(fp32_contents=[1, 2]))])
    infer("typed FP32 in int_contents", [T(name="input-0", datatype="FP32", shape=[2], contents=C(int_contents=[1, 2]))])
    infer("typed INT8 out of range", [T(name="input-0", datatype="INT8", shape=[2], contents=C(int_contents=[1, 300]))])
    infer("typed UINT8 out of range", [T(name="input-0", datatype="UINT8", shape=[1], contents=C(uint_contents=[256]))])
    infer("typed no contents", [T(name="input-0", datatype="FP32", shape=[0])])
    infer("typed empty contents shape 2", [T(name="input-0", datatype="FP32", shape=[2])])
    infer("typed shape mismatch", [T(name="input-0", datatype="FP32", shape=[2, 2], contents=C(fp32_contents=[1, 2, 3]))])
    infer("typed negative shape", [T(name="input-0", datatype="FP32", shape=[-1], contents=C(fp32_contents=[1]))])
    infer("typed 2-D", [T(name="input-0", datatype="INT32", shape=[2, 2], contents=C(int_contents=[1, 2, 3, 4]))])
    infer("lowercase datatype", [T(name="input-0", datatype="fp32", shape=[1], contents=C(fp32_contents=[1]))])
    infer("unknown datatype", [T(name="input-0", datatype="FLOAT", shape=[1], contents=C(fp32_contents=[1]))])
    infer("empty datatype", [T(name="input-0", shape=[1], contents=C(fp32_contents=[1]))])
    infer("no inputs", [])
    infer("two inputs", [T(name="a", datatype="FP32", shape=[1], contents=C(fp32_contents=[1])),
                         T(name="b", datatype="INT64", shape=[1], contents=C(int64_contents=[2]))])

    raw = {
        "BOOL": (b"\x01\x00", 2), "UINT8": (b"\x00\xff", 2), "UINT16": (struct.pack("<2H", 0, 65535), 2),
        "UINT32": (struct.pack("<2I", 0, 4294967295), 2), "UINT64": (struct.pack("<2Q", 0, 2**64 - 1), 2),
        "INT8": (struct.pack("<2b", -128, 127), 2), "INT16": (struct.pack("<2h", -1, 1), 2),
        "INT32": (struct.pack("<2i", -1, 1), 2), "INT64": (struct.pack("<2q", -1, 1), 2),
        "FP16": (struct.pack("<2e", 1.5, -2), 2), "FP32": (struct.pack("<2f", 1.5, -2), 2),
        "FP64": (struct.pack("<2d", 1.5, -2), 2), "BYTES": (struct.pack("<I", 2) + b"ab" + struct.pack("<I", 0), 2),
    }
    for dt, (b, n) in raw.items():
        infer("raw " + dt, [T(name="input-0", datatype=dt, shape=[n])], raw=[b])
    infer("raw FP32 short", [T(name="input-0", datatype="FP32", shape=[2])], raw=[b"\x00\x00\x80?\x00"])
    infer("raw FP32 long", [T(name="input-0", datatype="FP32", shape=[1])], raw=[struct.pack("<2f", 1, 2)])
    infer("raw BYTES truncated", [T(name="input-0", datatype="BYTES", shape=[1])], raw=[struct.pack("<I", 9) + b"ab"])
    infer("raw count mismatch", [T(name="a", datatype="FP32", shape=[1]), T(name="b", datatype="FP32", shape=[1])],
          raw=[struct.pack("<f", 1)])
    infer("raw and contents", [T(name="input-0", datatype="FP32", shape=[1], contents=C(fp32_contents=[1]))],
          raw=[struct.pack("<f", 1)])
    infer("raw empty buffer shape 0", [T(name="input-0", datatype="FP32", shape=[0])], raw=[b""])

    one = [T(name="input-0", datatype="FP32", shape=[1, 2], contents=C(fp32_contents=[1, 2]))]
    infer("unknown model", one, model_name="nope")
    infer("empty model name", one, model_name="")
    infer("model_version", one, model_version="1")
    infer("id", one, id="my-id-1")
    infer("x-request-id metadata", one, md=[("x-request-id", "rid-7")])
    infer("custom metadata", one, md=[("foo", "bar"), ("bin-bin", b"\x00\x01")])
    P = pb.InferParameter
    infer("request parameters", one, parameters={"b": P(bool_param=True), "i": P(int64_param=-3), "s": P(string_param="x")})
    infer("input parameters", [T(name="input-0", datatype="FP32", shape=[1], contents=C(fp32_contents=[1]),
                                 parameters={"b": P(bool_param=False), "i": P(int64_param=7), "s": P(string_param="")})])
    infer("empty parameter", one, parameters={"e": P()})
    infer("binary_data_output parameter", one, parameters={"binary_data_output": P(bool_param=True)})
    O = pb.ModelInferRequest.InferRequestedOutputTensor
    infer("requested output", one, outputs=[O(name="output-0")])
    infer("requested output with parameters", one, outputs=[O(name="output-0", parameters={"binary_data": P(bool_param=True)})])
    infer("requested unknown output", one, outputs=[O(name="x")])
    infer("requested output twice", one, outputs=[O(name="output-0"), O(name="output-0")])
    infer("oversized (9 MiB raw)", [T(name="input-0", datatype="UINT8", shape=[9 << 20])], raw=[b"\x00" * (9 << 20)])
    infer("7 MiB raw", [T(name="input-0", datatype="UINT8", shape=[7 << 20])], raw=[b"\x00" * (7 << 20)])

    add("unknown method", "Nope", pb.ServerLiveRequest(), pb.ServerLiveResponse)
    add("health Check", "/grpc.health.v1.Health/Check", b"", None)
    # ServerReflectionRequest{list_services: ""} (field 7), and HealthCheckRequest{} above
    add("reflection list", "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", b"\x3a\x00", None)

    add("RepositoryModelLoad unknown", "RepositoryModelLoad", pb.RepositoryModelLoadRequest(model_name="nope"), pb.RepositoryModelLoadResponse)
    add("RepositoryModelUnload unknown", "RepositoryModelUnload", pb.RepositoryModelUnloadRequest(model_name="nope"), pb.RepositoryModelUnloadResponse)
    add("RepositoryModelLoad loaded", "RepositoryModelLoad", pb.RepositoryModelLoadRequest(model_name="passthrough"), pb.RepositoryModelLoadResponse)
    add("RepositoryModelUnload", "RepositoryModelUnload", pb.RepositoryModelUnloadRequest(model_name="passthrough"), pb.RepositoryModelUnloadResponse)
    add("ModelReady after unload", "ModelReady", pb.ModelReadyRequest(name="passthrough"), pb.ModelReadyResponse)
    add("ServerReady after unload", "ServerReady", pb.ServerReadyRequest(), pb.ServerReadyResponse)
    add("ModelMetadata after unload", "ModelMetadata", pb.ModelMetadataRequest(name="passthrough"), pb.ModelMetadataResponse)
    infer("after unload", one)
    add("RepositoryModelUnload again", "RepositoryModelUnload", pb.RepositoryModelUnloadRequest(model_name="passthrough"), pb.RepositoryModelUnloadResponse)
    add("RepositoryModelLoad after unload", "RepositoryModelLoad", pb.RepositoryModelLoadRequest(model_name="passthrough"), pb.RepositoryModelLoadResponse)
    add("ModelReady after load", "ModelReady", pb.ModelReadyRequest(name="passthrough"), pb.ModelReadyResponse)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kserve", required=True, help="host:port of KServe's gRPC server")
    ap.add_argument("--ours", required=True, help="host:port of ours")
    ap.add_argument("--pb2", default=default_pb2(), help="path of KServe's grpc_predict_v2_pb2.py")
    ap.add_argument("--only", default="", help="run only cases whose name contains this")
    ap.add_argument("-v", action="store_true", help="print every case")
    a = ap.parse_args()
    if not a.pb2:
        sys.exit("no --pb2 and no KServe v0.20.0 in the Go module cache")
    pb = load_pb2(a.pb2)
    opts = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    chans = {k: grpc.insecure_channel(v, options=opts) for k, v in (("kserve", a.kserve), ("ours", a.ours))}
    differ = 0
    for name, method, req, resp, md in cases(pb):
        if a.only not in name:
            continue
        r = {k: call(ch, method, req, resp, md).view() for k, ch in chans.items()}
        same = r["kserve"] == r["ours"]
        differ += not same
        if not same or a.v:
            print(("SAME " if same else "DIFF ") + name)
            for field in ("code", "details", "headers", "trailers", "body"):
                k, o = r["kserve"][field], r["ours"][field]
                if k == o:
                    if a.v:
                        print(f"   {field:8} both:   {json.dumps(k)[:400]}")
                    continue
                print(f"   {field:8} kserve: {json.dumps(k)[:400]}")
                print(f"   {field:8} ours:   {json.dumps(o)[:400]}")
    print(f"{differ} case(s) differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
