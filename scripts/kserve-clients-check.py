#!/usr/bin/env python3
"""Run KServe's own Python clients against KServe's ModelServer and against
ours, and compare what the clients hand back.

scripts/kserve-diff.py and kserve-diff-grpc.py compare bytes on the wire. This
compares what a KServe user's code sees: the objects KServe 0.20's
`InferenceRESTClient` (v1 and v2 protocol, JSON and the binary tensor
extension) and `InferenceGRPCClient` return (InferResponse objects, their
outputs' data lists, raw bytes, numpy arrays with dtype and shape, parameters,
booleans from the health calls) and the exceptions they raise (type and
message, with host:port masked; for gRPC the status code and details). Each
case prints SAME or DIFFERENT; a difference is either one of the KNOWN ones
below (deliberate, with the reason) or UNEXPLAINED, and the exit status is 1
when anything is unexplained.

The same cases also run through a KServe Python *transformer* (a
`kserve.Model` with `--predictor_host`, KServe's own predictor call path:
`InferenceRESTClient` for `--predictor_protocol v1|v2`, `InferenceGRPCClient`
for `grpc-v2`) started once in front of KServe's predictor and once in front
of ours: the common deployment "transformer from KServe's docs + custom
predictor". Then the servers named on the command line are the two
transformers.

A developer tool, not run by CI. The environment is the one
scripts/kserve-diff.py's and kserve-diff-grpc.py's headers describe (KServe
v0.20.0's python/kserve from the Go module cache, Debian trixie's python3-*
packages unpacked with dpkg -x, CPython 3.13 through trixie's loader, small
stand-ins for cloudevents, timing_asgi, grpc_interceptor, kubernetes and
requests; the copy of kserve's grpc_predict_v2_pb2_grpc.py skips the call
grpcio 1.51 lacks, and this script drops the _registered_method argument the
generated stubs pass, which grpcio 1.51's channel does not take). With that as $KPY (a script that runs that python):

  predictors (KServe's passthrough is the model below, as passthrough.py):
    $KPY passthrough.py --model_name=passthrough --http_port=31480 --grpc_port=31481
    (cd examples && go run ./passthrough --model_name=passthrough \\
        --http_port=31490 --grpc_port=31491)
    $KPY scripts/kserve-clients-check.py 127.0.0.1:31480 127.0.0.1:31481 \\
        127.0.0.1:31490 127.0.0.1:31491

  transformers (this file is also the transformer; PROTO is v1, v2 or grpc-v2,
  and the predictor host is the REST port for v1/v2, the gRPC port, 31481 and
  31491, for grpc-v2):
    $KPY scripts/kserve-clients-check.py --transformer --model_name=passthrough \\
        --http_port=31580 --grpc_port=31581 --predictor_host=127.0.0.1:31480 \\
        --predictor_protocol=PROTO
    $KPY scripts/kserve-clients-check.py --transformer --model_name=passthrough \\
        --http_port=31590 --grpc_port=31591 --predictor_host=127.0.0.1:31490 \\
        --predictor_protocol=PROTO
    $KPY scripts/kserve-clients-check.py --via=PROTO 127.0.0.1:31580 \\
        127.0.0.1:31581 127.0.0.1:31590 127.0.0.1:31591

  the other direction, our Go transformer in front of KServe's predictor,
  compared with KServe's transformer in front of it (the first command above):
    gotr --model_name=passthrough --http_port=31690 --grpc_port=31691 \\
        --predictor_host=127.0.0.1:31480 --predictor_protocol=PROTO
    $KPY scripts/kserve-clients-check.py --via=go-PROTO 127.0.0.1:31580 \\
        127.0.0.1:31581 127.0.0.1:31690 127.0.0.1:31691
  where gotr is runtime/forward.Model served as it is, the transformer
  template (templates/transformer) without its Preprocess and Postprocess,
  which change the payload:
      cfg, err := config.NewParser("gotr").Parse(os.Args[1:], os.Getenv)
      ...
      m, err := forward.NewModel(cfg.ModelName, forward.FromConfig(*cfg, os.Getenv))
      ...
      err = runtime.NewServer(*cfg).Run(ctx, m)
  Only the cases of the transformer's protocol are meaningful there (v1:
  rest-v1; v2 and grpc-v2: rest-v2 and grpc): pass them as CASE_PREFIX.

KServe's side of the passthrough model (v1 answers {"predictions": instances},
v2 returns its first input as "output-0"; ours is examples/passthrough):

    import argparse, kserve
    from kserve import Model, ModelServer, InferRequest, InferResponse, InferOutput
    from kserve.errors import InvalidInput
    from kserve.utils.utils import generate_uuid

    class Passthrough(Model):
        def __init__(self, name):
            super().__init__(name)
            self.load()
        async def predict(self, payload, headers=None, response_headers=None):
            if isinstance(payload, InferRequest):
                if not payload.inputs:
                    raise InvalidInput("expected at least one input")
                i = payload.inputs[0]
                out = InferOutput(name="output-0", shape=i.shape, datatype=i.datatype, data=i.data)
                if i._raw_data is not None:
                    out.set_data_from_numpy(i.as_numpy(), binary_data=True)
                return InferResponse(response_id=payload.id or generate_uuid(),
                                     model_name=self.name, infer_outputs=[out],
                                     use_binary_outputs=payload.use_binary_outputs,
                                     requested_outputs=payload.request_outputs)
            if isinstance(payload, bytes):
                return payload
            if not isinstance(payload, dict):
                return {"predictions": None}
            inst = payload.get("instances")
            return {"predictions": payload.get("inputs") if inst is None else inst}

    if __name__ == "__main__":
        args, _ = argparse.ArgumentParser(
            parents=[kserve.model_server.parser]).parse_known_args()
        ModelServer().start([Passthrough(args.model_name)])

Result on 2026-12-03 (after the fix it found: null in FP32/FP64 JSON data
is NaN): 146 cases in each setup, none unexplained:
  - the predictors, straight:                                 135 same, 11 known;
  - through KServe transformers, --predictor_protocol v1:      146 same;
  - through KServe transformers, --predictor_protocol v2:      120 same, 26 known;
  - through KServe transformers, --predictor_protocol grpc-v2: 142 same, 4 known;
  - KServe's transformer against our Go transformer, both in front of KServe's
    predictor, the cases of the transformer's protocol: v1 17 cases, 16 same,
    1 known; v2 129 cases, 57 same, 72 known; grpc-v2 129 cases, 73 same, 56
    known (all 146 cases: none unexplained either). The known ones there are
    where ours does what the client asked or says why (binary answers when
    asked for, the predictor's 4xx passed on, errors naming the predictor, a
    protocol mismatch named) and where KServe's transformer cannot forward (a
    raw v1 body, BYTES contents or raw gRPC inputs to a v2 REST predictor,
    FP16).

The library versions differ from KServe 0.20's pins (grpcio 1.51 against
>= 1.73, protobuf 4.21 against >= 6, starlette 0.46); where a difference
could come from that, KNOWN says so.

Usage: kserve-clients-check.py [-v] [--via=[go-]v1|v2|grpc-v2]
           KSERVE_HTTP KSERVE_GRPC OURS_HTTP OURS_GRPC [CASE_PREFIX...]
       kserve-clients-check.py --transformer [kserve ModelServer flags]
-v prints both sides of every differing case.
"""

import asyncio
import logging
import math
import re
import sys

import grpc
import httpx
import numpy as np

from kserve.inference_client import InferenceGRPCClient, InferenceRESTClient, RESTConfig
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.infer_type import (InferInput, InferRequest, InferResponse,
                                        RequestedOutput, to_http_parameters)

# grpcio 1.51 (the Debian one) lacks the _registered_method argument the
# stubs KServe 0.20 generated pass (grpcio >= 1.62); drop it there.
if not hasattr(grpc, "__version__") or tuple(map(int, grpc.__version__.split(".")[:2])) < (1, 62):
    from grpc.aio import _channel as _aio_channel

    def _drop_registered(f):
        def g(self, *a, _registered_method=False, **kw):
            return f(self, *a, **kw)
        return g
    for _m in ("unary_unary", "unary_stream", "stream_unary", "stream_stream"):
        setattr(_aio_channel.Channel, _m, _drop_registered(getattr(_aio_channel.Channel, _m)))

M = "passthrough"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
HOSTPORT = re.compile(r"(localhost|127\.0\.0\.1|\[::1\]):\d+")


# ------------------------------------------------------------ normalization

def params(p):
    if p is None:
        return None
    return dict(sorted(to_http_parameters(p).items()))


def tensor(t):
    """What a client sees of an InferOutput: fields, data, raw, numpy."""
    d = {"name": t.name, "shape": list(t.shape), "datatype": t.datatype,
         "parameters": params(t.parameters), "data": t.data,
         "raw": t._raw_data}
    if isinstance(d["data"], np.ndarray):
        d["data"] = d["data"].tolist()
    try:
        a = t.as_numpy()
        d["numpy"] = (str(a.dtype), list(a.shape), a.tolist())
    except Exception as e:  # noqa: BLE001 -- what the client would get
        d["numpy"] = exc(e)
    return d


def response(r):
    if isinstance(r, InferResponse):
        rid = r.id
        if isinstance(rid, str) and UUID4.match(rid):
            rid = "<uuid4>"
        return {"InferResponse": {
            "id": rid, "model_name": r.model_name, "model_version": r.model_version,
            "parameters": params(r.parameters), "from_grpc": r.from_grpc,
            "outputs": [tensor(o) for o in r.outputs]}}
    if isinstance(r, pb.ModelMetadataResponse):
        return {"ModelMetadataResponse": {
            "name": r.name, "versions": list(r.versions), "platform": r.platform,
            "inputs": [(t.name, t.datatype, list(t.shape)) for t in r.inputs],
            "outputs": [(t.name, t.datatype, list(t.shape)) for t in r.outputs]}}
    return r


# grpcio's own diagnostics in str(AioRpcError): a timestamp and the C core's
# field order, made by the client.
DEBUG_ERROR = re.compile(r'\n\tdebug_error_string = "[^\n]*"')


def exc(e):
    if isinstance(e, grpc.aio.AioRpcError):
        return {"raised": "AioRpcError", "code": e.code().name,
                "details": HOSTPORT.sub("HOST", e.details() or "")}
    if isinstance(e, httpx.HTTPStatusError):
        return {"raised": "HTTPStatusError", "status": e.response.status_code,
                "message": HOSTPORT.sub("HOST", DEBUG_ERROR.sub("", str(e)))}
    return {"raised": type(e).__name__, "message": HOSTPORT.sub("HOST", DEBUG_ERROR.sub("", str(e)))}


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


# ------------------------------------------------------------ the cases

CASES = []  # (name, async fn(side) -> value)


def case(name):
    def add(fn):
        CASES.append((name, fn))
        return fn
    return add


VALUES = {  # datatype: (JSON data, numpy array of the same values)
    "BOOL": ([True, False, True], np.array([True, False, True])),
    "UINT8": ([0, 7, 255], np.array([0, 7, 255], dtype=np.uint8)),
    "UINT16": ([0, 7, 65535], np.array([0, 7, 65535], dtype=np.uint16)),
    "UINT32": ([0, 7, 4294967295], np.array([0, 7, 4294967295], dtype=np.uint32)),
    "UINT64": ([0, 7, 2**64 - 1], np.array([0, 7, 2**64 - 1], dtype=np.uint64)),
    "INT8": ([-128, 0, 127], np.array([-128, 0, 127], dtype=np.int8)),
    "INT16": ([-32768, 0, 32767], np.array([-32768, 0, 32767], dtype=np.int16)),
    "INT32": ([-2**31, 0, 2**31 - 1], np.array([-2**31, 0, 2**31 - 1], dtype=np.int32)),
    "INT64": ([-2**63, 0, 2**63 - 1], np.array([-2**63, 0, 2**63 - 1], dtype=np.int64)),
    "FP16": (None, np.array([0.5, -2.0, 65504.0], dtype=np.float16)),
    "FP32": ([0.6027, -1.5, 3.4e38], np.array([0.6027, -1.5, 3.4e38], dtype=np.float32)),
    "FP64": ([0.1, -1e300, 5e-324], np.array([0.1, -1e300, 5e-324], dtype=np.float64)),
    "BYTES": (["abc", "", "\u00e9\u4e2d"],
              np.array([b"abc", b"", "\u00e9\u4e2d".encode()], dtype=np.object_)),
}


def json_input(dt, name="input-0"):
    data, arr = VALUES[dt]
    return InferInput(name, [len(arr)], dt, data=list(data) if data is not None else [])


def binary_input(dt, name="input-0", shape=None):
    _, arr = VALUES[dt]
    if shape:
        arr = arr.reshape(shape)
    i = InferInput(name, list(arr.shape), dt)
    i.set_data_from_numpy(arr, binary_data=True)
    return i


# --- REST v1 (InferenceRESTClient with RESTConfig(protocol="v1"))

@case("rest-v1 is_server_live")
async def _(s):
    return await s.v1.is_server_live(s.base)


@case("rest-v1 is_model_ready")
async def _(s):
    return await s.v1.is_model_ready(s.base, M)


@case("rest-v1 is_model_ready unknown model")
async def _(s):
    return await s.v1.is_model_ready(s.base, "nope")


@case("rest-v1 is_server_ready (v2 only in the client)")
async def _(s):
    return await s.v1.is_server_ready(s.base)


for _name, _body in [
        ("numbers", {"instances": [[1.0, 2.5, -3.0]]}),
        ("ints", {"instances": [1, 2, 3]}),
        ("strings", {"instances": ["a", "\u00e9"]}),
        ("objects", {"instances": [{"image": {"b64": "aGVsbG8="}}]}),
        ("inputs key", {"inputs": [[1, 2]]}),
        ("floats text", {"instances": [0.1, 1e-7, 1e16, 0.6027]}),
]:
    @case(f"rest-v1 infer {_name}")
    async def _(s, body=_body):
        return await s.v1.infer(s.base, dict(body), model_name=M)


@case("rest-v1 infer with headers and response_headers")
async def _(s):
    rh = {}
    out = await s.v1.infer(s.base, {"instances": [1]}, model_name=M,
                           headers={"x-request-id": "req-1", "authorization": "Bearer t"},
                           response_headers=rh)
    return out, {k: v for k, v in rh.items() if k in ("content-type", "x-request-id")}


@case("rest-v1 infer unknown model")
async def _(s):
    return await s.v1.infer(s.base, {"instances": [1]}, model_name="nope")


@case("rest-v1 infer instances not a list")
async def _(s):
    return await s.v1.infer(s.base, {"instances": "x"}, model_name=M)


@case("rest-v1 infer InferRequest (v2 body on the v1 route)")
async def _(s):
    return await s.v1.infer(s.base, InferRequest(M, [json_input("INT32")], request_id="r1"),
                            model_name=M)


@case("rest-v1 explain (no explainer)")
async def _(s):
    return await s.v1.explain(s.base, M, {"instances": [1]})


@case("rest-v1 explain unknown model")
async def _(s):
    return await s.v1.explain(s.base, "nope", {"instances": [1]})


# --- REST v2 (InferenceRESTClient with RESTConfig(protocol="v2"))

@case("rest-v2 is_server_ready")
async def _(s):
    return await s.v2.is_server_ready(s.base)


@case("rest-v2 is_server_live")
async def _(s):
    return await s.v2.is_server_live(s.base)


@case("rest-v2 is_model_ready")
async def _(s):
    return await s.v2.is_model_ready(s.base, M)


@case("rest-v2 is_model_ready unknown model")
async def _(s):
    return await s.v2.is_model_ready(s.base, "nope")


@case("rest-v2 model metadata (the client's httpx client)")
async def _(s):
    r = await s.v2._client.get(f"{s.base}/v2/models/{M}")
    return r.status_code, r.json()


@case("rest-v2 explain (v1 only in the client)")
async def _(s):
    return await s.v2.explain(s.base, M, {"instances": [1]})


for _dt in VALUES:
    if _dt != "FP16":
        @case(f"rest-v2 infer JSON {_dt}")
        async def _(s, dt=_dt):
            return await s.v2.infer(s.base, InferRequest(M, [json_input(dt)], request_id="r1"),
                                    model_name=M)

        @case(f"rest-v2 infer JSON {_dt} binary_data_output")
        async def _(s, dt=_dt):
            return await s.v2.infer(s.base, InferRequest(
                M, [json_input(dt)], request_id="r1",
                parameters={"binary_data_output": True}), model_name=M)

    @case(f"rest-v2 infer binary {_dt}")
    async def _(s, dt=_dt):
        return await s.v2.infer(s.base, InferRequest(M, [binary_input(dt)], request_id="r1"),
                                model_name=M)

    @case(f"rest-v2 infer binary {_dt} binary_data_output")
    async def _(s, dt=_dt):
        return await s.v2.infer(s.base, InferRequest(
            M, [binary_input(dt)], request_id="r1",
            parameters={"binary_data_output": True}), model_name=M)

    @case(f"rest-v2 infer binary {_dt} requested output binary_data")
    async def _(s, dt=_dt):
        return await s.v2.infer(s.base, InferRequest(
            M, [binary_input(dt)], request_id="r1",
            request_outputs=[RequestedOutput("output-0", {"binary_data": True})]),
            model_name=M)


@case("rest-v2 infer no id (the client makes one up)")
async def _(s):
    return await s.v2.infer(s.base, InferRequest(M, [json_input("FP32")]), model_name=M)


@case("rest-v2 infer binary 2-d FP32 shape [2,3]")
async def _(s):
    i = InferInput("input-0", [2, 3], "FP32")
    i.set_data_from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3) / 7, binary_data=True)
    return await s.v2.infer(s.base, InferRequest(M, [i], request_id="r1",
                                                 parameters={"binary_data_output": True}),
                            model_name=M)


@case("rest-v2 infer binary FP32 NaN and infinities, JSON output")
async def _(s):
    i = InferInput("input-0", [3], "FP32")
    i.set_data_from_numpy(np.array([np.nan, np.inf, -np.inf], dtype=np.float32))
    return await s.v2.infer(s.base, InferRequest(M, [i], request_id="r1"), model_name=M)


@case("rest-v2 infer binary BYTES not UTF-8, JSON output")
async def _(s):
    i = InferInput("input-0", [2], "BYTES")
    i.set_data_from_numpy(np.array([b"\xff\x00", b"ok"], dtype=np.object_))
    return await s.v2.infer(s.base, InferRequest(M, [i], request_id="r1"), model_name=M)


@case("rest-v2 infer binary_data_output with a requested output binary_data false")
async def _(s):
    return await s.v2.infer(s.base, InferRequest(
        M, [binary_input("INT16")], request_id="r1", parameters={"binary_data_output": True},
        request_outputs=[RequestedOutput("output-0", {"binary_data": False})]), model_name=M)


@case("rest-v2 infer two inputs, one binary")
async def _(s):
    return await s.v2.infer(s.base, InferRequest(
        M, [binary_input("INT64"), json_input("BYTES", "input-1")], request_id="r1"),
        model_name=M)


@case("rest-v2 infer parameters of every kind")
async def _(s):
    i = json_input("INT32")
    i.parameters = {"content_type": "np", "n": 3, "b": False}
    return await s.v2.infer(s.base, InferRequest(
        M, [i], request_id="r1", parameters={"s": "x", "i": -5, "t": True}), model_name=M)


@case("rest-v2 infer with headers and response_headers")
async def _(s):
    rh = {}
    out = await s.v2.infer(s.base, InferRequest(M, [binary_input("FP32")], request_id="r1",
                                                parameters={"binary_data_output": True}),
                           model_name=M, headers={"x-request-id": "req-2"}, response_headers=rh)
    return out, {k: v for k, v in rh.items() if k in ("content-type", "x-request-id")}


@case("rest-v2 infer header Content-Type application/json with a binary body")
async def _(s):
    # What KServe's transformer does: its _http_predict passes
    # {"Content-Type": "application/json"}, and infer() adds
    # "content-type: application/octet-stream", so both go out.
    return await s.v2.infer(s.base, InferRequest(M, [binary_input("FP32")], request_id="r1"),
                            model_name=M, headers={"Content-Type": "application/json"})


@case("rest-v2 infer dict body")
async def _(s):
    return await s.v2.infer(s.base, {"inputs": [{"name": "x", "shape": [1], "datatype": "INT32",
                                                 "data": [5]}]}, model_name=M)


@case("rest-v2 infer unknown model")
async def _(s):
    return await s.v2.infer(s.base, InferRequest("nope", [json_input("FP32")], request_id="r1"),
                            model_name="nope")


@case("rest-v2 infer no inputs")
async def _(s):
    return await s.v2.infer(s.base, InferRequest(M, [], request_id="r1"), model_name=M)


@case("rest-v2 infer shape and data disagree")
async def _(s):
    return await s.v2.infer(s.base, InferRequest(
        M, [InferInput("input-0", [3], "FP32", data=[1.0, 2.0])], request_id="r1"), model_name=M)


@case("rest-v2 infer INT32 given 1.5")
async def _(s):
    return await s.v2.infer(s.base, InferRequest(
        M, [InferInput("input-0", [1], "INT32", data=[1.5])], request_id="r1"), model_name=M)


@case("rest-v2 infer unknown datatype")
async def _(s):
    return await s.v2.infer(s.base, InferRequest(
        M, [InferInput("input-0", [1], "FP8", data=[1])], request_id="r1"), model_name=M)


@case("rest-v2 infer requested output unknown")
async def _(s):
    return await s.v2.infer(s.base, InferRequest(
        M, [json_input("FP32")], request_id="r1",
        request_outputs=[RequestedOutput("nope")]), model_name=M)


@case("rest-v2 infer binary FP32 [1000,100] binary_data_output")
async def _(s):
    i = InferInput("input-0", [1000, 100], "FP32")
    i.set_data_from_numpy(np.linspace(-1, 1, 100000, dtype=np.float32).reshape(1000, 100))
    return await s.v2.infer(s.base, InferRequest(M, [i], request_id="r1",
                                                 parameters={"binary_data_output": True}),
                            model_name=M)


@case("rest-v2 infer is_graph_endpoint (answer as a dict)")
async def _(s):
    return await s.v2.infer(f"{s.base}/v2/models/{M}/infer",
                            InferRequest(M, [json_input("INT64")], request_id="r1"),
                            is_graph_endpoint=True)


@case("rest-v1 infer raw bytes body")
async def _(s):
    return await s.v1.infer(s.base, b"[1,2]", model_name=M,
                            headers={"content-type": "application/octet-stream"})


# --- gRPC (InferenceGRPCClient, and its stub for what the client lacks)

@case("grpc is_server_live")
async def _(s):
    return await s.g.is_server_live()


@case("grpc is_server_ready")
async def _(s):
    return await s.g.is_server_ready()


@case("grpc is_model_ready")
async def _(s):
    return await s.g.is_model_ready(M)


@case("grpc is_model_ready unknown model")
async def _(s):
    return await s.g.is_model_ready("nope")


@case("grpc ModelMetadata (the client's stub)")
async def _(s):
    return await s.g._client_stub.ModelMetadata(pb.ModelMetadataRequest(name=M), timeout=10)


@case("grpc ModelMetadata unknown model")
async def _(s):
    return await s.g._client_stub.ModelMetadata(pb.ModelMetadataRequest(name="nope"), timeout=10)


for _dt in VALUES:
    if _dt != "FP16":
        @case(f"grpc infer contents {_dt}")
        async def _(s, dt=_dt):
            return await s.g.infer(InferRequest(M, [json_input(dt)], request_id="r1"))

    @case(f"grpc infer raw {_dt}")
    async def _(s, dt=_dt):
        i = InferInput("input-0", [3], dt, data=VALUES[dt][1])  # numpy: to_grpc sends raw
        return await s.g.infer(InferRequest(M, [i], request_id="r1"))


@case("grpc infer contents FP16 (no contents field in the protocol)")
async def _(s):
    return await s.g.infer(InferRequest(M, [InferInput("input-0", [1], "FP16", data=[1.0])],
                                        request_id="r1"))


@case("grpc infer raw 2-d FP32 shape [2,3]")
async def _(s):
    i = InferInput("input-0", [2, 3], "FP32", data=np.arange(6, dtype=np.float32).reshape(2, 3))
    return await s.g.infer(InferRequest(M, [i], request_id="r1"))


@case("grpc infer raw FP32 [1000,100]")
async def _(s):
    i = InferInput("input-0", [1000, 100], "FP32",
                   data=np.linspace(-1, 1, 100000, dtype=np.float32).reshape(1000, 100))
    return await s.g.infer(InferRequest(M, [i], request_id="r1"))


@case("grpc infer no id")
async def _(s):
    return await s.g.infer(InferRequest(M, [json_input("FP32")]))


@case("grpc infer parameters of every kind, with metadata")
async def _(s):
    i = json_input("INT64")
    i.parameters = {"content_type": "np", "n": 3, "b": False}
    return await s.g.infer(InferRequest(M, [i], request_id="r1",
                                        parameters={"s": "x", "i": -5, "t": True}),
                           headers=(("x-request-id", "req-3"),))


@case("grpc infer two inputs raw")
async def _(s):
    return await s.g.infer(InferRequest(M, [
        InferInput("input-0", [3], "INT8", data=VALUES["INT8"][1]),
        InferInput("input-1", [3], "BYTES", data=VALUES["BYTES"][1])], request_id="r1"))


@case("grpc infer unknown model")
async def _(s):
    return await s.g.infer(InferRequest("nope", [json_input("FP32")], request_id="r1"))


@case("grpc infer no inputs")
async def _(s):
    return await s.g.infer(InferRequest(M, [], request_id="r1"))


@case("grpc infer shape and contents disagree")
async def _(s):
    return await s.g.infer(InferRequest(
        M, [InferInput("input-0", [3], "FP32", data=[1.0, 2.0])], request_id="r1"))


@case("grpc infer raw size and shape disagree")
async def _(s):
    i = InferInput("input-0", [4], "FP32", data=np.array([1.0, 2.0], dtype=np.float32))
    i._shape = [4]
    return await s.g.infer(InferRequest(M, [i], request_id="r1"))


@case("grpc infer requested output unknown")
async def _(s):
    return await s.g.infer(InferRequest(M, [json_input("FP32")], request_id="r1",
                                        request_outputs=[RequestedOutput("nope")]))


# ------------------------------------------------------------ known differences

def walk(v, path=()):
    """Yield (path, leaf) pairs of a normalized value."""
    if isinstance(v, dict):
        for k, x in v.items():
            yield from walk(x, path + (k,))
    elif isinstance(v, (list, tuple)):
        for n, x in enumerate(v):
            yield from walk(x, path + (n,))
    else:
        yield path, v


def fp32_text(k, o):
    """Equal once FP32 floats in `data` lists are read as float32."""
    def f32(v):
        if isinstance(v, dict) and v.get("datatype") == "FP32" and isinstance(v.get("data"), list):
            v = dict(v, data=[float(np.float32(x)) if isinstance(x, float) else x
                              for x in v["data"]])
        if isinstance(v, dict):
            return {a: f32(b) for a, b in v.items()}
        if isinstance(v, (list, tuple)):
            return [f32(x) for x in v]
        return v
    return not same(k, o) and same(f32(k), f32(o))


def raised(v, kind, status=None):
    return (isinstance(v, dict) and v.get("raised") == kind
            and (status is None or v.get("status", v.get("code")) == status))


def ours_400(o):
    """Our 400 / INVALID_ARGUMENT for the data, or, through a KServe
    transformer, its 500 that carries our predictor's 400."""
    return (raised(o, "HTTPStatusError", 400) or raised(o, "AioRpcError", "INVALID_ARGUMENT")
            or raised(o, "HTTPStatusError", 500) and (
                o["message"].startswith("HTTPStatusError : input ")
                and "'400 Bad Request' for url" in o["message"]
                or "StatusCode.INVALID_ARGUMENT" in o["message"]
                and 'details = "input ' in o["message"]))


def ours_checks_data(k, o):
    """KServe passes the data to the model unchecked (or fails with a Python
    exception: a 500, or uvicorn's "Exception in ASGI application" and the
    connection closed without an answer); ours is a 400 / INVALID_ARGUMENT
    naming the input."""
    return ours_400(o) and (isinstance(k, dict) and "InferResponse" in k
                            or raised(k, "HTTPStatusError", 500) and "Error : " in k["message"]
                            or raised(k, "ReadError") or raised(k, "RemoteProtocolError"))


def clearer_message(k, o):
    """Same exception and status, our message names the datatype and input
    where KServe's says "invalid datatype in the input"."""
    return (raised(k, "HTTPStatusError") and raised(o, "HTTPStatusError", k["status"])
            and "invalid datatype in the input" in k["message"]
            and re.sub(r"invalid datatype \w+ for input [\w-]+", "invalid datatype in the input",
                       o["message"]) == k["message"])


def message_extends(k, o):
    """Same exception and status; our message is KServe's with where the
    fault is added (an output's name and element)."""
    def core(m):
        return re.sub(r", '\d{3} [^']*' for url '[^']*'$", "", m)
    return (raised(k, "HTTPStatusError") and raised(o, "HTTPStatusError", k["status"])
            and core(o["message"]).startswith(core(k["message"]))
            and core(o["message"]) != core(k["message"]))


def octet_stream(k, o):
    """The answer is the same; the response headers differ only in ours
    having content-type: application/octet-stream on a binary answer."""
    return (isinstance(k, tuple) and isinstance(o, tuple) and same(k[0], o[0])
            and "content-type" not in k[1]
            and o[1].get("content-type") == "application/octet-stream"
            and same({a: b for a, b in k[1].items() if a != "content-type"},
                     {a: b for a, b in o[1].items() if a != "content-type"}))


def binary_whatever_type(k, o):
    """KServe's FastAPI reads a body as JSON when the first content-type says
    so (400 There was an error parsing the body), even with
    inference-header-content-length; ours reads it as the binary extension."""
    return (raised(k, "HTTPStatusError", 400) and "error parsing the body" in k["message"]
            and isinstance(o, dict) and "InferResponse" in o)


def grpc_outputs_selected(k, o):
    """KServe's to_grpc ignores the request's outputs; ours selects them as
    REST does, so an unknown one is INVALID_ARGUMENT."""
    return (isinstance(k, dict) and "InferResponse" in k
            and (raised(o, "AioRpcError", "INVALID_ARGUMENT")
                 and o["details"].startswith("Unexpected inference output")
                 or raised(o, "HTTPStatusError", 500)
                 and "StatusCode.INVALID_ARGUMENT" in o["message"]
                 and 'details = "Unexpected inference output' in o["message"]))


def grpc_transformer_hides(k, o):
    """KServe's gRPC server answers any exception but its own kinds with
    INTERNAL "Internal server error": a grpc-v2 transformer gets our
    predictor's INVALID_ARGUMENT (the data checked, or an unknown output
    selected) and passes on only that."""
    return isinstance(k, dict) and "InferResponse" in k and o == {
        "raised": "AioRpcError", "code": "INTERNAL", "details": "Internal server error"}


def reason_phrase(k, o):
    """The same but for the 422's reason phrase in an error message:
    uvicorn takes it from Python's http.HTTPStatus, which says "Unprocessable
    Content" from Python 3.13 (RFC 9110) and "Unprocessable Entity" before;
    KServe 0.20 runs on Python 3.10 to 3.12 (its images: 3.11), so this is
    the Python 3.13 of this environment, and ours (Go's phrase) is KServe's."""
    def fix(v):
        if isinstance(v, str):
            return v.replace("422 Unprocessable Content", "422 Unprocessable Entity")
        if isinstance(v, dict):
            return {a: fix(b) for a, b in v.items()}
        if isinstance(v, (list, tuple)):
            return [fix(x) for x in v]
        return v
    return not same(k, o) and same(fix(k), fix(o))


def two_content_types(k, o):
    """Through KServe's transformer with --predictor_protocol v2, a raw gRPC
    request goes to the predictor as the binary extension with two
    Content-Type headers, application/json first (_http_predict's default
    and infer()'s own): KServe's predictor 400s it ("There was an error
    parsing the body"; the transformer's gRPC answer is INTERNAL), ours
    reads it by inference-header-content-length and answers."""
    return raised(k, "AioRpcError", "INTERNAL") and isinstance(o, dict) and "InferResponse" in o


def binary_honoured(k, o):
    """The same tensors; ours answers in the binary extension the client
    asked for (binary_data_output, an output's binary_data), so the client's
    output parameters are {} (binary_data_size, dropped as it reads it) and
    the content type application/octet-stream; KServe's transformer answers
    JSON whatever the client asked (the InferResponse its client parsed has
    use_binary_outputs unset)."""
    def norm(v):
        if isinstance(v, tuple):
            return norm(v[0])
        if isinstance(v, dict):
            return {a: ({} if a == "parameters" and b is None and "datatype" in v else norm(b))
                    for a, b in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v
    return not same(k, o) and same(norm(k), norm(o))


def protocol_mismatch(k, o):
    """A request of the other protocol than the predictor's (v2 tensors for
    a v1 predictor, a v1 payload for a v2 one): ours is a 400 /
    INVALID_ARGUMENT saying so (or naming what is wrong in the body first);
    KServe's transformer sends it on and fails on the answer (500
    ValidationError, gRPC INTERNAL), refuses it ("Invalid input format"),
    or, for a v2 JSON body sent to a v1 route, forwards it as it is."""
    text = o.get("message") or o.get("details") if isinstance(o, dict) else ""
    ours = (raised(o, "HTTPStatusError", 400) or raised(o, "AioRpcError", "INVALID_ARGUMENT"))
    return ours and (
        ("needs a v1 payload, but the request" in text or "needs v2 tensors, but the request" in text)
        and isinstance(k, dict)
        or raised(k, "HTTPStatusError", 400) and k["message"].startswith("Invalid input format"))


def predictor_error_passed_on(k, o):
    """The predictor's 4xx: ours passes it on with its status and names
    the predictor (runtime/forward: every predictor error names it), or
    answers it itself (our transformer decodes and checks the request as
    any of our servers does); KServe's transformer answers any predictor
    error with 500 (REST) or INTERNAL (gRPC)."""
    text = o.get("message") or o.get("details") if isinstance(o, dict) else None
    return (bool(text) and (raised(o, "HTTPStatusError", 400)
                            or raised(o, "AioRpcError", "INVALID_ARGUMENT"))
            and (raised(k, "HTTPStatusError", 500) or raised(k, "AioRpcError", "INTERNAL")
                 or isinstance(k, dict) and "InferResponse" in k
                 and ("Unexpected inference output" in text or "input input-0:" in text)
                 or raised(k, "HTTPStatusError", 400) and "invalid input datatype" in k["message"]
                 and "invalid datatype FP8" in text))


def names_predictor(k, o):
    """The same error; ours names the predictor it came from (runtime/forward:
    "predictor HOST (PROTOCOL): ...")."""
    def strip(v):
        if isinstance(v, dict):
            return {a: re.sub(r"predictor HOST \([\w-]+\): ", "", b) if isinstance(b, str) else b
                    for a, b in v.items()}
        return v
    return not same(k, o) and same(strip(k), strip(o))


def kserve_transformer_fails(k, o):
    """KServe's transformer fails where ours forwards: a v1 body that is not
    JSON (RuntimeError: Attempted to send an sync request with an
    AsyncClient), BYTES contents over v2 REST (orjson cannot write bytes:
    INTERNAL), raw gRPC inputs over v2 REST (two Content-Type headers, see
    two_content_types: INTERNAL), FP16 at all (over v2 REST it forwards JSON, which FP16 may not
    be: 400 for the input; over gRPC to_grpc has no FP16 contents: 400
    invalid input datatype). Ours forwards FP16 binary, and where the
    client asked for JSON answers the 400 KServe's server has for an FP16
    output as JSON."""
    fp16 = raised(k, "HTTPStatusError", 400) and (
        "invalid input datatype" in k["message"]
        or "Sending FP16 data via JSON is not supported" in k["message"]
        and "for input input-0" in k["message"])
    return ((raised(k, "HTTPStatusError", 500) and "Attempted to send an sync request" in k["message"]
             or raised(k, "AioRpcError", "INTERNAL") or fp16)
            and isinstance(o, dict) and ("InferResponse" in o or "predictions" in o)
            or fp16 and raised(o, "HTTPStatusError", 400)
            and "Sending FP16 data via JSON is not supported" in o["message"]
            and "for output output-0" in o["message"])


def model_version_empty(k, o):
    """KServe's transformer passes on the gRPC answer's unset model_version
    as "" (protobuf's default); ours as null."""
    return (isinstance(k, dict) and isinstance(o, dict) and k.get("model_version") == ""
            and o.get("model_version") is None
            and same(dict(k, model_version=None), o))


KNOWN = [
    # (case-name prefixes or None for any, the modes it applies to or None
    # for all: "predictor" or the transformer's --predictor_protocol,
    # predicate(kserve, ours), reason)
    (None, None, reason_phrase,
     "the 422's reason phrase: Python 3.13's (this environment) in KServe's, Python 3.12's "
     "and Go's in ours (KServe 0.20 needs Python < 3.13)"),
    (("grpc infer raw", "grpc infer two inputs raw"), ("v2",), two_content_types,
     "KServe's transformer sends the binary extension with two Content-Type headers, "
     "application/json first: KServe's predictor 400s it, ours reads it (README)"),
    (None, ("go-v2", "go-grpc-v2"), binary_honoured,
     "our transformer answers in the binary extension the client asked for; KServe's "
     "transformer answers JSON (the client reads both the same but for the empty "
     "parameters the binary read leaves)"),
    (None, ("go-v1", "go-v2", "go-grpc-v2"), protocol_mismatch,
     "a request of the other protocol than the predictor's is a 400 saying so "
     "(runtime/forward); KServe's transformer sends it on and fails, or refuses it"),
    (None, ("go-v1", "go-v2", "go-grpc-v2"), predictor_error_passed_on,
     "the predictor's 4xx passes on with its status, naming the predictor, or our "
     "transformer answers it itself (runtime/forward); KServe's is a 500 / INTERNAL"),
    (None, ("go-v1", "go-v2", "go-grpc-v2"), names_predictor,
     "our transformer's error names the predictor it came from (runtime/forward)"),
    (None, ("go-v1", "go-v2", "go-grpc-v2"), kserve_transformer_fails,
     "KServe's transformer fails to forward it (raw v1 body, BYTES contents or raw gRPC "
     "inputs to v2 REST, FP16); ours forwards it"),
    (("rest-v2 infer is_graph_endpoint",), ("go-grpc-v2",), model_version_empty,
     "KServe's transformer writes the gRPC answer's unset model_version as \"\", ours as null"),
    (None, None, fp32_text,
     "FP32 data in JSON is written as the shortest text that reads back as the same float32 "
     "(0.6027), KServe's as the float64 widening (0.6026999950408936): the client's data "
     "list holds different Python floats, as_numpy() the same float32 array (README)"),
    (("rest-v2 infer shape and data disagree", "rest-v2 infer INT32 given 1.5",
      "grpc infer shape and contents disagree"), None, ours_checks_data,
     "tensor data is checked against shape and datatype (400 / INVALID_ARGUMENT naming the "
     "input), KServe passes it to the model unchecked (README, docs/grpc.md)"),
    (("rest-v2 infer unknown datatype",), None, clearer_message,
     "the 400's message names the datatype and the input (README)"),
    (None, None, message_extends,
     "the error's message is KServe's with where the fault is (README)"),
    (("rest-v2 infer with headers",), None, octet_stream,
     "a binary answer carries content-type: application/octet-stream (README); KServe's "
     "client reads inference-header-content-length, not the content type"),
    (("rest-v2 infer header Content-Type application/json",), None, binary_whatever_type,
     "inference-header-content-length makes a body binary whatever its content type "
     "(README); KServe's FastAPI 400s the binary body its own transformer sends"),
    (("grpc infer shape and contents disagree", "grpc infer requested output unknown"),
     ("grpc-v2",), grpc_transformer_hides,
     "tensor data checked and outputs selected on gRPC too (docs/grpc.md); KServe's "
     "transformer answers its predictor's INVALID_ARGUMENT with INTERNAL"),
    (("grpc infer requested output unknown", "rest-v2 infer requested output unknown"), None,
     grpc_outputs_selected,
     "gRPC selects the request's outputs as REST does (docs/grpc.md)"),
]


def known(name, via, k, o):
    for prefixes, modes, pred, reason in KNOWN:
        if prefixes is not None and not name.startswith(prefixes):
            continue
        if modes is not None and (via or "predictor") not in modes:
            continue
        if pred(k, o):
            return reason
    return None


# ------------------------------------------------------------ running

class Side:
    def __init__(self, http, grpc_addr):
        self.base = f"http://{http}"
        # A connection per call: uvicorn closes a connection after a 500 of
        # an exception that escaped the app ("Exception in ASGI
        # application", which KServe's transformer has for some answers of
        # its predictor), and whether the next call on a kept-alive
        # connection sees that close first (httpx.ReadError) is timing.
        def config(protocol):
            return RESTConfig(protocol=protocol, timeout=30, transport=httpx.AsyncHTTPTransport(
                limits=httpx.Limits(max_keepalive_connections=0)))
        self.v1 = InferenceRESTClient(config("v1"))
        self.v2 = InferenceRESTClient(config("v2"))
        self.g = InferenceGRPCClient(grpc_addr, timeout=30, retries=0)

    async def close(self):
        await self.v1.close()
        await self.v2.close()
        await self.g.close()


async def run_case(fn, side):
    try:
        v = await fn(side)
    except Exception as e:  # noqa: BLE001 -- the exception is the result
        return exc(e)
    if isinstance(v, tuple):
        return tuple(response(x) for x in v)
    return response(v)


async def main(argv):
    verbose = "-v" in argv
    argv = [a for a in argv if a != "-v"]
    via = None
    for a in list(argv):
        if a.startswith("--via="):
            via = a.split("=", 1)[1]
            argv.remove(a)
    if len(argv) < 4:
        print(__doc__)
        return 2
    kh, kg, oh, og, *prefixes = argv
    # KServe's clients log every failed call with its traceback; the
    # exception is what is compared.
    logging.getLogger("kserve").setLevel(logging.CRITICAL)
    ks, os_ = Side(kh, kg), Side(oh, og)
    counts = {"SAME": 0, "KNOWN": 0, "UNEXPLAINED": 0}
    for name, fn in CASES:
        if prefixes and not name.startswith(tuple(prefixes)):
            continue
        k = await run_case(fn, ks)
        o = await run_case(fn, os_)
        label = f"[via transformer {via}] {name}" if via else name
        if same(k, o):
            counts["SAME"] += 1
            print(f"SAME       {label}")
            continue
        why = known(name, via, k, o)
        if why:
            counts["KNOWN"] += 1
            print(f"DIFFERENT  {label}  (known: {why[:70]}...)")
        else:
            counts["UNEXPLAINED"] += 1
            print(f"DIFFERENT  {label}  UNEXPLAINED")
        if verbose or not why:
            print(f"   kserve: {k!r}\n   ours:   {o!r}")
    await ks.close()
    await os_.close()
    print(f"{sum(counts.values())} cases: {counts['SAME']} same, {counts['KNOWN']} known "
          f"differences, {counts['UNEXPLAINED']} unexplained")
    return 1 if counts["UNEXPLAINED"] else 0


# ------------------------------------------------------------ the transformer

def transformer():
    """A KServe transformer as KServe's docs write one: a kserve.Model whose
    predict is KServe's own (the call to --predictor_host), here with no pre-
    or postprocessing so that what comes back is the predictor's answer as
    KServe's client parsed it."""
    import argparse

    import kserve

    class Transformer(kserve.Model):
        def __init__(self, name):
            super().__init__(name)
            self.ready = True

    p = argparse.ArgumentParser(parents=[kserve.model_server.parser])
    p.add_argument("--transformer", action="store_true")
    args, _ = p.parse_known_args()
    kserve.ModelServer().start([Transformer(args.model_name)])


if __name__ == "__main__":
    if "--transformer" in sys.argv:
        transformer()
    else:
        sys.exit(asyncio.run(main(sys.argv[1:])))
