#!/usr/bin/env python3
"""Send the same REST requests to KServe's Python ModelServer and to ours, and
print where the answers differ.

Both servers must serve the passthrough model (v1 answers
{"predictions": instances}, v2 answers its first input as "output-0"): ours
is examples/passthrough, KServe's is the same model written as a kserve.Model
(below). Each case of the corpus is sent as raw bytes over a fresh socket (so
bodies, headers, BOMs and malformed requests go out exactly as written) to
both servers, one after the other, in corpus order: the repository cases at
the end unload and load the model, so the order matters. The answers are
compared on status, content-type, content-length (present or not, and its
value), transfer-encoding, allow, inference-header-content-length and ce-*
headers, and the body: JSON compared as values (the uuid4 "id" KServe makes
up for a request without one is ignored) and, when the values are equal, as
text (key order, number layout, escapes), other bodies byte for byte.

Each difference is sorted into one of the documented, deliberate differences
(see KNOWN below and the README's list) or printed as UNEXPLAINED. The exit
status is 1 when anything is unexplained.

A developer tool, not run by CI. How it was run (2026-12-03), with nothing
installed on the machine and no pip:
  - KServe v0.20.0's python/kserve from the Go module cache
    ($GOMODCACHE/github.com/kserve/kserve@v0.20.0/python/kserve), copied to a
    scratch folder;
  - Debian trixie's python3-fastapi 0.115.11, -starlette 0.46.1, -uvicorn
    0.32.0, -httptools, -uvloop, -pydantic 2.10.6, -pydantic-core, -orjson,
    -numpy 2.2, -pandas 2.2.3, -grpcio 1.51, -protobuf, -httpx,
    -prometheus-client, -psutil, -tabulate, -yaml, -six, -dateutil, -urllib3
    and their dependencies (libhttp-parser2.9, libblas3, liblapack3, libabsl,
    ...), fetched with `apt-get download` against a scratch sources list and
    unpacked with `dpkg -x` into the scratch folder (PYTHONPATH);
  - stand-ins in the scratch folder for what Debian lacks, only what KServe
    imports: cloudevents (CloudEvent, has_binary_headers as cloudevents 1.x:
    all four ce- headers; the corpus sends no CloudEvents), timing_asgi (a
    pass-through middleware), grpc_interceptor, kubernetes and requests
    (imported by KServe's API client, never called), and a kserve
    dist-info (KServe reads its own version from it);
  - grpcio 1.51 lacks Server.add_registered_method_handlers, which the
    generated grpc_predict_v2_pb2_grpc.py calls: that call is skipped in the
    scratch copy (gRPC is not compared here);
  - CPython 3.13.0, run through trixie's libc6 loader (trixie's
    pydantic-core needs glibc 2.38):
      L=<scratch>/usr/lib/x86_64-linux-gnu
      PYTHONPATH=<stand-ins>:<scratch>/usr/lib/python3/dist-packages:<kserve copy> \\
        $L/ld-linux-x86-64.so.2 --library-path $L:$L/blas:$L/lapack:<python3.13>/lib \\
        <python3.13>/bin/python3.13 passthrough.py \\
        --model_name=passthrough --http_port=23180 --grpc_port=23181
    where passthrough.py is:
      import argparse, kserve
      from kserve import Model, ModelServer
      from kserve.errors import InvalidInput
      from kserve.protocol.infer_type import InferRequest
      from kserve.utils.utils import get_predict_response
      class Passthrough(Model):
          def __init__(self, name):
              super().__init__(name)
              self.load()
          async def predict(self, payload, headers=None, response_headers=None):
              if isinstance(payload, InferRequest):
                  if not payload.inputs:
                      raise InvalidInput("expected at least one input")
                  return get_predict_response(
                      payload, payload.inputs[0].as_numpy(), self.name)
              if isinstance(payload, bytes):
                  return payload
              if not isinstance(payload, dict):
                  return {"predictions": None}
              inst = payload.get("instances")
              return {"predictions": payload.get("inputs") if inst is None else inst}
      args, _ = argparse.ArgumentParser(
          parents=[kserve.model_server.parser]).parse_known_args()
      ModelServer().start([Passthrough(args.model_name)])
  - ours: cd examples/passthrough && go run . --model_name=passthrough \\
      --http_port=23280 --grpc_port=23281
  - then: scripts/kserve-diff.py 127.0.0.1:23180 127.0.0.1:23280
    (restart both servers before each run: the corpus unloads the model).

The library versions differ a little from KServe 0.20's pins (starlette >=
1.0.1, grpcio >= 1.73, protobuf >= 6); where a difference could come from that,
the library's source at the pinned version decides, and the recorded
exchanges in shared/reference/kserve-0.20 win over both.

Result on 2026-12-03 (after the fixes it found): 454 cases, 300 the same,
154 deliberately different (README, "Checked against KServe's own server"),
none unexplained.

Usage: kserve-diff.py [-v] KSERVE_HOST:PORT OURS_HOST:PORT [CASE_PREFIX...]
-v prints both answers of every differing case in full.
"""

import http.client
import json
import math
import re
import socket
import struct
import sys

M = "passthrough"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# Response headers a client or proxy reads; date and server are the
# frameworks' own and not compared.
COMPARED = ("content-type", "content-length", "transfer-encoding", "allow",
            "location", "inference-header-content-length")

# ----------------------------------------------------------------- the corpus

CASES = []  # (name, method, path, headers (list of pairs), body bytes)


def case(name, method, path, body=b"", headers=None, ctype=None):
    h = list(headers or [])
    if ctype is not None:
        h.append(("Content-Type", ctype))
    if isinstance(body, str):
        body = body.encode()
    CASES.append((name, method, path, h, body))


def js(obj):
    return json.dumps(obj, separators=(",", ":"))


def v2(inputs, **extra):
    body = {"inputs": inputs}
    body.update(extra)
    return body


def inp(data, datatype="FP32", shape=None, name="input-0", **extra):
    t = {"name": name, "shape": shape if shape is not None else [len(data)],
         "datatype": datatype, "data": data}
    t.update(extra)
    return t


def binary_body(header, *chunks):
    h = js(header).encode()
    return h + b"".join(chunks), len(h)


def bytes_tensor(*items):
    return b"".join(struct.pack("<I", len(s)) + s for s in items)


INFER = f"/v2/models/{M}/infer"
PREDICT = f"/v1/models/{M}:predict"
EXPLAIN = f"/v1/models/{M}:explain"
J = "application/json"


def build_corpus():
    gets = ["/", "/v1/models", f"/v1/models/{M}", "/v1/models/nope", "/v2",
            "/v2/health/live", "/v2/health/ready", "/v2/models", f"/v2/models/{M}",
            "/v2/models/nope", f"/v2/models/{M}/ready", "/v2/models/nope/ready",
            f"/v2/models/{M}/versions/1", f"/v2/models/{M}/versions/1/ready",
            "/v2/models/nope/versions/1", "/v2/models/nope/versions/1/ready",
            f"/v2/models/{M}/versions/", f"/v2/models/{M}?model_version=1",
            "/docs", "/redoc", "/docs/oauth2-redirect", "/nope", "/v1", "/v1/",
            "/v2/health", "/v2/models/", f"/v2/models/{M}/", "/v1/models/",
            f"/v1/models/{M}/", "/v2/health/live/", "/v2/health/ready/", "/v2/",
            f"/v2/models/{M}/ready/", f"/v1/models/{M}:predict", f"/v2/models/{M}/infer",
            "/v2/repository/models/passthrough/load", "/v2/repository/index",
            "//v2/health/live", "/v2//health/live", "/V2/health/live", "/v2/health/live?x=1",
            "/v2/models/%70assthrough", f"/v2/models/{M}%2Fready", "/v1/models/a%20b",
            "/v2/models/" + "x" * 300, "/v1/models/%C3%A9", "/v2/health/live#frag"]
    for p in gets:
        case("get " + p, "GET", p)
    for p in ["/", "/v2/health/live", f"/v2/models/{M}", f"/v1/models/{M}", "/v2", "/openapi.json", "/nope"]:
        for meth in ("HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "POST"):
            case(f"{meth.lower()} {p}", meth, p)
    for p in (PREDICT, EXPLAIN, INFER, f"/v2/models/{M}/versions/1/infer"):
        for meth in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE"):
            case(f"{meth.lower()} {p}", meth, p)
    case("post trailing-slash infer", "POST", INFER + "/", js(v2([inp([1.0])])), ctype=J)
    case("post trailing-slash predict", "POST", PREDICT + "/", '{"instances":[1]}', ctype=J)
    case("post v1 unknown model", "POST", "/v1/models/nope:predict", '{"instances":[1]}', ctype=J)
    case("post v1 unknown verb", "POST", f"/v1/models/{M}:classify", '{"instances":[1]}', ctype=J)
    case("post v1 no verb", "POST", f"/v1/models/{M}", '{"instances":[1]}', ctype=J)
    case("post v2 unknown model", "POST", "/v2/models/nope/infer", js(v2([inp([1.0])])), ctype=J)
    case("post v2 versions infer", "POST", f"/v2/models/{M}/versions/1/infer", js(v2([inp([1.0])])), ctype=J)
    case("post v2 versions empty infer", "POST", f"/v2/models/{M}/versions//infer", js(v2([inp([1.0])])), ctype=J)
    case("post v2 model_version query", "POST", INFER + "?model_version=2", js(v2([inp([1.0])])), ctype=J)
    case("post v2 empty model_version query", "POST", INFER + "?model_version=", js(v2([inp([1.0])])), ctype=J)

    # v1 bodies
    v1ok = {
        "numbers": {"instances": [[1.0, 2.0, 3.0, 4.0]]},
        "ints": {"instances": [1, 2, 3]},
        "strings": {"instances": ["a", "b"]},
        "objects": {"instances": [{"image": {"b64": "aGVsbG8="}}]},
        "nested": {"instances": [[[1, [2, [3]]]]]},
        "empty list": {"instances": []},
        "nulls": {"instances": [None, True, False]},
        "inputs key": {"inputs": [[1, 2]]},
        "both keys": {"instances": [1], "inputs": [2]},
        "extra keys": {"instances": [1], "parameters": {"a": 1}, "signature_name": "x"},
        "no instances": {"foo": 1},
        "empty object": {},
        "unicode": {"instances": ["héllo", "日本", "😀", "\u0000", "\u2028"]},
        "big ints": {"instances": [9007199254740993, 123456789012345678901234567890, -2**63, 2**64]},
        "floats": {"instances": [0.1, 1e-320, 1.7976931348623157e308, -0.0, 1e21, 1.5e-7]},
        "instances not list": {"instances": 1},
        "instances string": {"instances": "abc"},
        "instances object": {"instances": {"a": 1}},
        "instances null": {"instances": None},
        "inputs not list": {"inputs": 1},
    }
    for name, body in v1ok.items():
        case("v1 " + name, "POST", PREDICT, js(body), ctype=J)
    case("v1 explain", "POST", EXPLAIN, '{"instances":[1]}', ctype=J)
    raw = [
        ("bad json", "{"), ("trailing garbage", '{"instances":[1]} x'), ("empty body", ""),
        ("json array", "[1,2]"), ("json number", "42"), ("json string", '"s"'),
        ("json null", "null"), ("json true", "true"), ("bom", "\ufeff" + '{"instances":[1]}'),
        ("nan", '{"instances":[NaN]}'), ("infinity", '{"instances":[Infinity,-Infinity]}'),
        ("huge exponent", '{"instances":[1e400]}'), ("huge int", '{"instances":[' + "9" * 400 + "]}"),
        ("duplicate keys", '{"instances":[1],"instances":[2]}'), ("single quotes", "{'instances':[1]}"),
        ("trailing comma", '{"instances":[1,]}'), ("comment", '{"instances":[1]} // c'),
        ("whitespace", ' \n\t{"instances":[1]}\n '), ("only whitespace", "  \n"),
        ("lone surrogate", '{"instances":["\\ud800"]}'), ("control char", '{"instances":["a\tb"]}'),
        ("leading zero", '{"instances":[01]}'), ("hex", '{"instances":[0x10]}'),
        ("deep nesting", "[" * 300 + "]" * 300),
    ]
    for name, body in raw:
        case("v1 " + name, "POST", PREDICT, body, ctype=J)
    case("v1 invalid utf8", "POST", PREDICT, b'{"instances":["\xff\xfe"]}', ctype=J)
    case("v1 utf16", "POST", PREDICT, '{"instances":[1]}'.encode("utf-16"), ctype=J)
    for ct in [None, "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain",
               "application/octet-stream", "application/ld+json", "application/x-www-form-urlencoded",
               "image/png", "", "application/json ", "multipart/form-data; boundary=x"]:
        case(f"v1 content-type {ct!r}", "POST", PREDICT, '{"instances":[1]}', ctype=ct)
    case("v1 octet bad json", "POST", PREDICT, b"\x00\x01\x02", ctype="application/octet-stream")
    case("v1 text bad json", "POST", PREDICT, b"\x00\x01\x02", ctype="text/plain")
    case("v1 explain raw", "POST", EXPLAIN, "a,b", ctype="text/csv")
    case("v1 explain bad json", "POST", EXPLAIN, "{", ctype=J)
    case("v1 explain unknown model", "POST", "/v1/models/nope:explain", '{"instances":[1]}', ctype=J)
    case("v1 request id", "POST", PREDICT, '{"instances":[1]}', ctype=J, headers=[("x-request-id", "abc")])

    # v2 valid bodies, every datatype
    samples = {
        "BOOL": [True, False, True],
        "UINT8": [0, 1, 255], "UINT16": [0, 65535, 7], "UINT32": [0, 4294967295, 7],
        "UINT64": [0, 18446744073709551615, 7], "INT8": [-128, 0, 127],
        "INT16": [-32768, 1, 32767], "INT32": [-2147483648, 1, 2147483647],
        "INT64": [-9223372036854775808, 1, 9223372036854775807],
        "FP32": [1.0, 2.5, -3.25], "FP64": [0.1, 1e-300, 1.7976931348623157e308],
        "BYTES": ["a", "héllo", ""],
    }
    for dt, data in samples.items():
        case(f"v2 {dt}", "POST", INFER, js(v2([inp(data, dt)], id="1")), ctype=J)
        case(f"v2 {dt} nested 3x1", "POST", INFER, js(v2([inp([[x] for x in data], dt, [3, 1])], id="1")), ctype=J)
    case("v2 FP32 inexact", "POST", INFER, js(v2([inp([0.1, 0.6027, 3.4e38], "FP32")], id="1")), ctype=J)
    case("v2 FP32 ints", "POST", INFER, js(v2([inp([1, 2], "FP32")], id="1")), ctype=J)
    case("v2 FP64 ints", "POST", INFER, js(v2([inp([1, 2], "FP64")], id="1")), ctype=J)
    case("v2 FP16 json", "POST", INFER, js(v2([inp([1.0], "FP16")], id="1")), ctype=J)
    case("v2 lower datatype", "POST", INFER, js(v2([inp([1.0], "fp32")], id="1")), ctype=J)
    case("v2 unknown datatype", "POST", INFER, js(v2([inp([1.0], "FLOAT")], id="1")), ctype=J)
    case("v2 empty datatype", "POST", INFER, js(v2([inp([1.0], "")], id="1")), ctype=J)
    case("v2 shape 2x3", "POST", INFER, js(v2([inp([1, 2, 3, 4, 5, 6], "INT32", [2, 3])], id="1")), ctype=J)
    case("v2 nested 2x3", "POST", INFER, js(v2([inp([[1, 2, 3], [4, 5, 6]], "INT32", [2, 3])], id="1")), ctype=J)
    case("v2 shape []", "POST", INFER, js(v2([inp([7], "INT32", [])], id="1")), ctype=J)
    case("v2 shape [0]", "POST", INFER, js(v2([inp([], "INT32", [0])], id="1")), ctype=J)
    case("v2 shape [2,0]", "POST", INFER, js(v2([inp([], "INT32", [2, 0])], id="1")), ctype=J)
    case("v2 scalar data", "POST", INFER, js(v2([inp(7, "INT32", [1])], id="1")), ctype=J)
    case("v2 shape mismatch", "POST", INFER, js(v2([inp([1, 2, 3], "INT32", [2])], id="1")), ctype=J)
    case("v2 shape mismatch nested", "POST", INFER, js(v2([inp([[1, 2], [3]], "INT32", [2, 2])], id="1")), ctype=J)
    case("v2 negative shape", "POST", INFER, js(v2([inp([1], "INT32", [-1])], id="1")), ctype=J)
    case("v2 shape floats", "POST", INFER, js(v2([inp([1], "INT32", [1.0])], id="1")), ctype=J)
    case("v2 shape 1.5", "POST", INFER, js(v2([inp([1], "INT32", [1.5])], id="1")), ctype=J)
    case("v2 shape strings", "POST", INFER, js(v2([inp([1], "INT32", ["1"])], id="1")), ctype=J)
    case("v2 shape bool", "POST", INFER, js(v2([inp([1], "INT32", [True])], id="1")), ctype=J)
    for dim in [" 1 ", "1.0", "1.00", "+1", "01", "1_0", "1.", "1.5", ".0", "1e0", "x", "", "1__0", "_1", "0x1",
                "\u00a01", "9223372036854775808"]:
        case(f"v2 shape string {dim!r}", "POST", INFER, js(v2([inp([1], "INT32", [dim])], id="1")), ctype=J)
    case("v2 shape false", "POST", INFER, js(v2([inp([], "INT32", [False])], id="1")), ctype=J)
    case("v2 shape not list", "POST", INFER, js(v2([inp([1], "INT32", 1)], id="1")), ctype=J)
    case("v2 shape null", "POST", INFER, js(v2([inp([1], "INT32", None)], id="1")), ctype=J)
    case("v2 shape huge", "POST", INFER, js(v2([inp([1], "INT32", [2**70])], id="1")), ctype=J)
    case("v2 string in FP32", "POST", INFER, js(v2([inp(["a"], "FP32")], id="1")), ctype=J)
    case("v2 numeric string in FP32", "POST", INFER, js(v2([inp(["1.5"], "FP32")], id="1")), ctype=J)
    case("v2 float in INT32", "POST", INFER, js(v2([inp([1.5], "INT32")], id="1")), ctype=J)
    case("v2 whole float in INT32", "POST", INFER, js(v2([inp([2.0], "INT32")], id="1")), ctype=J)
    case("v2 bool in INT32", "POST", INFER, js(v2([inp([True], "INT32")], id="1")), ctype=J)
    case("v2 int in BOOL", "POST", INFER, js(v2([inp([1, 0], "BOOL")], id="1")), ctype=J)
    case("v2 string in BOOL", "POST", INFER, js(v2([inp(["true"], "BOOL")], id="1")), ctype=J)
    case("v2 null in FP32", "POST", INFER, js(v2([inp([None], "FP32")], id="1")), ctype=J)
    case("v2 null in BYTES", "POST", INFER, js(v2([inp([None], "BYTES")], id="1")), ctype=J)
    case("v2 number in BYTES", "POST", INFER, js(v2([inp([1], "BYTES")], id="1")), ctype=J)
    case("v2 object in data", "POST", INFER, js(v2([inp([{"a": 1}], "FP32")], id="1")), ctype=J)
    case("v2 UINT8 overflow", "POST", INFER, js(v2([inp([256], "UINT8")], id="1")), ctype=J)
    case("v2 UINT8 negative", "POST", INFER, js(v2([inp([-1], "UINT8")], id="1")), ctype=J)
    case("v2 INT8 overflow", "POST", INFER, js(v2([inp([128], "INT8")], id="1")), ctype=J)
    case("v2 INT32 overflow", "POST", INFER, js(v2([inp([2**31], "INT32")], id="1")), ctype=J)
    case("v2 INT64 overflow", "POST", INFER, js(v2([inp([2**63], "INT64")], id="1")), ctype=J)
    case("v2 UINT64 overflow", "POST", INFER, js(v2([inp([2**64], "UINT64")], id="1")), ctype=J)
    case("v2 FP32 overflow", "POST", INFER, js(v2([inp([1e39], "FP32")], id="1")), ctype=J)
    case("v2 FP64 huge literal", "POST", INFER, '{"id":"1","inputs":[{"name":"a","shape":[1],"datatype":"FP64","data":[1e400]}]}', ctype=J)
    case("v2 NaN", "POST", INFER, '{"id":"1","inputs":[{"name":"a","shape":[3],"datatype":"FP64","data":[NaN,Infinity,-Infinity]}]}', ctype=J)
    case("v2 NaN FP32", "POST", INFER, '{"id":"1","inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[NaN]}]}', ctype=J)
    case("v2 big int literal", "POST", INFER, '{"id":"1","inputs":[{"name":"a","shape":[1],"datatype":"INT64","data":[' + "9" * 30 + "]}]}", ctype=J)
    case("v2 two inputs", "POST", INFER, js(v2([inp([1.0]), inp([2], "INT32", name="b")], id="1")), ctype=J)
    case("v2 duplicate input names", "POST", INFER, js(v2([inp([1.0]), inp([2.0])], id="1")), ctype=J)
    case("v2 no id", "POST", INFER, js(v2([inp([1.0])])), ctype=J)
    case("v2 empty id", "POST", INFER, js(v2([inp([1.0])], id="")), ctype=J)
    case("v2 unicode id", "POST", INFER, js(v2([inp([1.0])], id="é😀")), ctype=J)
    case("v2 numeric id", "POST", INFER, js(v2([inp([1.0])], id=5)), ctype=J)
    case("v2 null id", "POST", INFER, js(v2([inp([1.0])], id=None)), ctype=J)
    case("v2 object id", "POST", INFER, js(v2([inp([1.0])], id={"a": 1})), ctype=J)
    case("v2 model_name in body", "POST", INFER, js(v2([inp([1.0])], id="1", model_name="other")), ctype=J)
    case("v2 model_version in body", "POST", INFER, js(v2([inp([1.0])], id="1", model_version="3")), ctype=J)
    case("v2 unknown field", "POST", INFER, js(v2([inp([1.0])], id="1", foo=1)), ctype=J)
    case("v2 input unknown field", "POST", INFER, js(v2([inp([1.0], foo=1)], id="1")), ctype=J)
    for pv in ({"a": 1}, {"a": "s"}, {"a": True}, {"a": 1.5}, {"a": None}, {"a": [1]}, {"a": {"b": 1}},
               {}, None, [], "x", {"binary_data_output": True}, {"binary_data_output": "true"},
               {"binary_data_output": "false"}, {"binary_data_output": ""}, {"binary_data_output": 1},
               {"binary_data_output": 0}, {"binary_data_output": 0.0}, {"a": 2**70}):
        case(f"v2 parameters {js(pv)}", "POST", INFER, js(v2([inp([1.0])], id="1", parameters=pv)), ctype=J)
        case(f"v2 input parameters {js(pv)}", "POST", INFER, js(v2([inp([1.0], parameters=pv)], id="1")), ctype=J)
    for outs in ([{"name": "output-0"}], [{"name": "nope"}], [], [{"name": "output-0"}, {"name": "output-0"}],
                 [{"name": "output-0", "parameters": {"binary_data": True}}],
                 [{"name": "output-0", "parameters": {"binary_data": False}}],
                 [{"name": "output-0", "parameters": {"binary_data": "yes"}}],
                 [{"name": "output-0", "parameters": {"binary_data": 0}}],
                 [{"name": "output-0", "parameters": {"classification": 1}}],
                 [{}], [{"name": 1}], "output-0", [None], None, {"name": "output-0"},
                 [{"name": "output-0", "parameters": [1]}], [{"name": "output-0", "foo": 1}]):
        case(f"v2 outputs {js(outs)}", "POST", INFER, js(v2([inp([1.0])], id="1", outputs=outs)), ctype=J)
    case("v2 binary_data_output param", "POST", INFER,
         js(v2([inp([1.0, 2.0])], id="1", parameters={"binary_data_output": True})), ctype=J)
    case("v2 binary_data_output BYTES", "POST", INFER,
         js(v2([inp(["ab", "c"], "BYTES")], id="1", parameters={"binary_data_output": True})), ctype=J)
    case("v2 binary_data_output BOOL", "POST", INFER,
         js(v2([inp([True, False], "BOOL")], id="1", parameters={"binary_data_output": True})), ctype=J)
    for dt in ("INT8", "UINT64", "FP64"):
        case(f"v2 binary_data_output {dt}", "POST", INFER,
             js(v2([inp(samples[dt], dt)], id="1", parameters={"binary_data_output": True})), ctype=J)

    # v2 malformed
    bad = {
        "no inputs": {"id": "1"}, "inputs null": {"inputs": None}, "inputs empty": {"inputs": []},
        "inputs object": {"inputs": {"name": "a"}}, "inputs string": {"inputs": "x"},
        "input not object": {"inputs": [1]}, "input null": {"inputs": [None]},
        "input missing name": {"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]},
        "input missing shape": {"inputs": [{"name": "a", "datatype": "FP32", "data": [1]}]},
        "input missing datatype": {"inputs": [{"name": "a", "shape": [1], "data": [1]}]},
        "input missing data": {"inputs": [{"name": "a", "shape": [1], "datatype": "FP32"}]},
        "input data null": {"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": None}]},
        "input data object": {"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": {"x": 1}}]},
        "input data string": {"inputs": [{"name": "a", "shape": [1], "datatype": "BYTES", "data": "abc"}]},
        "input name number": {"inputs": [{"name": 1, "shape": [1], "datatype": "FP32", "data": [1]}]},
        "input name null": {"inputs": [{"name": None, "shape": [1], "datatype": "FP32", "data": [1]}]},
        "input datatype number": {"inputs": [{"name": "a", "shape": [1], "datatype": 1, "data": [1]}]},
        "input empty object": {"inputs": [{}]},
        "input missing two": {"inputs": [{"datatype": "FP32", "data": [1]}]},
        "two inputs missing fields": {"inputs": [{"datatype": "FP32", "data": [1]}, {}]},
        "two inputs broken": {"inputs": [{"name": 1, "shape": ["x"], "datatype": "FP32", "data": [1]},
                                         {"name": "b", "shape": [1], "datatype": 2, "data": 1}]},
        "input every field broken": {"inputs": [{"data": None, "parameters": {"a": [1], "b": None},
                                                 "datatype": 1, "shape": ["x", None, 1.5], "name": []}]},
        "input broken and missing": {"inputs": [{"shape": ["x"], "parameters": {"a": {}}}]},
        "input 400 then input 422": {"inputs": [inp(["x"], "INT32"), {"name": "b", "shape": [1], "datatype": "FP32"}]},
        "input 400 then input 400": {"inputs": [inp(["x"], "INT32"), inp([1.5], "INT32", name="b")]},
        "inputs not object then broken": {"inputs": [5, {"name": "b", "shape": [1], "datatype": "FP32"}]},
        "parameters and inputs broken": {"id": 1, "parameters": [1], "inputs": 1},
        "parameters values broken": {"parameters": {"a": None, "b": 1, "c": []}, "inputs": [inp([1.0])]},
        "outputs broken": {"inputs": [inp([1.0])], "outputs": [{"parameters": {"a": []}}, {"name": 2}, 5, {}]},
        "outputs broken after inputs": {"outputs": [{"name": None}], "inputs": [{"name": "a"}], "id": []},
        "no inputs outputs broken": {"outputs": 1},
        "input size without data": {"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "parameters": {"binary_data_size": 4}}]},
        "id list": {"id": [1], "inputs": [inp([1.0])]},
        "top level list": [inp([1.0])],
    }
    for name, body in bad.items():
        case("v2 " + name, "POST", INFER, js(body), ctype=J)
    for name, body in raw:
        if name in ("nan", "infinity", "huge exponent", "huge int"):
            continue
        case("v2 raw " + name, "POST", INFER, body, ctype=J)
    case("v2 bom", "POST", INFER, "\ufeff" + js(v2([inp([1.0])], id="1")), ctype=J)
    # json.loads reads bytes in UTF-16 and UTF-32 too (json.detect_encoding).
    for enc in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
        body = json.dumps(v2([inp(["é😀"], "BYTES")], id="1"), separators=(",", ":"), ensure_ascii=False)
        case("v2 " + enc, "POST", INFER, body.encode(enc), ctype=J)
    case("v2 utf-16 odd byte", "POST", INFER, js(v2([inp([1.0])], id="1")).encode("utf-16") + b"\0", ctype=J)
    case("v2 utf-32 beyond U+10FFFF", "POST", INFER, '{"id":"1"}'.encode("utf-32") + b"\0\0\x11\0", ctype=J)
    case("v2 invalid utf8", "POST", INFER, b'{"id":"\xff","inputs":[]}', ctype=J)
    case("v2 invalid utf8 in data", "POST", INFER, b'{"id":"1","inputs":[{"name":"a","shape":[1],"datatype":"BYTES","data":["\xff"]}]}', ctype=J)
    case("v2 duplicate keys", "POST", INFER, '{"id":"1","id":"2","inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}', ctype=J)
    case("v2 duplicate parameter key, bad then good", "POST", INFER, '{"id":"1","parameters":{"a":[1],"a":1},"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1],"parameters":{"x":{},"x":"y"}}]}', ctype=J)
    case("v2 duplicate parameter key, good then bad", "POST", INFER, '{"id":"1","parameters":{"a":1,"b":null,"a":[],"b":"x","d":{}},"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}', ctype=J)
    case("v2 duplicate inputs key", "POST", INFER, '{"inputs":[],"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}],"id":"1"}', ctype=J)
    case("v2 unicode escapes", "POST", INFER, '{"id":"\\u00e9","inputs":[{"name":"\\ud83d\\ude00","shape":[1],"datatype":"BYTES","data":["\\u0000"]}]}', ctype=J)
    case("v2 deep data nesting", "POST", INFER, '{"id":"1","inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":' + "[" * 50 + "1" + "]" * 50 + "}]}", ctype=J)
    good = js(v2([inp([1.0, 2.0])], id="1"))
    for ct in [None, "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain", "application/ld+json",
               "application/x-www-form-urlencoded", "", "application/vnd.api+json", "text/json",
               "multipart/form-data; boundary=x", "application/json;charset=latin-1"]:
        case(f"v2 content-type {ct!r}", "POST", INFER, good, ctype=ct)
    case("v2 octet json no header", "POST", INFER, good, ctype="application/octet-stream")
    case("v2 request id header", "POST", INFER, good, ctype=J, headers=[("x-request-id", "abc")])

    # the binary tensor extension
    def binreq(name, header, chunks, ctype="application/octet-stream", hlen_delta=0, hlen=None):
        body, n = binary_body(header, *chunks)
        hv = str(n + hlen_delta) if hlen is None else hlen
        case("bin " + name, "POST", INFER, body, ctype=ctype,
             headers=[("Inference-Header-Content-Length", hv)] if hv != "" else [])

    f32 = struct.pack("<3f", 1.0, 2.5, -3.25)
    binhdr = {"id": "1", "inputs": [{"name": "a", "shape": [3], "datatype": "FP32", "parameters": {"binary_data_size": 12}}]}
    binreq("fp32", binhdr, [f32])
    binreq("fp32 binary out", dict(binhdr, parameters={"binary_data_output": True}), [f32])
    binreq("fp32 json out requested", dict(binhdr, outputs=[{"name": "output-0", "parameters": {"binary_data": False}}]), [f32])
    binreq("fp32 bin out requested", dict(binhdr, outputs=[{"name": "output-0", "parameters": {"binary_data": True}}]), [f32])
    binreq("fp32 no id", {"inputs": binhdr["inputs"]}, [f32])
    binreq("fp16", {"id": "1", "inputs": [{"name": "a", "shape": [2], "datatype": "FP16", "parameters": {"binary_data_size": 4}}]},
           [struct.pack("<2e", 1.0, -2.0)])
    binreq("fp16 bin out", {"id": "1", "parameters": {"binary_data_output": True}, "inputs": [{"name": "a", "shape": [2], "datatype": "FP16", "parameters": {"binary_data_size": 4}}]},
           [struct.pack("<2e", 1.0, -2.0)])
    for dt, fmt in (("INT8", "<3b"), ("UINT8", "<3B"), ("INT16", "<3h"), ("UINT16", "<3H"), ("INT32", "<3i"),
                    ("UINT32", "<3I"), ("INT64", "<3q"), ("UINT64", "<3Q"), ("FP64", "<3d")):
        raw_ = struct.pack(fmt, *samples[dt])
        binreq(dt, {"id": "1", "inputs": [{"name": "a", "shape": [3], "datatype": dt, "parameters": {"binary_data_size": len(raw_)}}]}, [raw_])
    binreq("BOOL", {"id": "1", "inputs": [{"name": "a", "shape": [3], "datatype": "BOOL", "parameters": {"binary_data_size": 3}}]}, [b"\x01\x00\x01"])
    bt = bytes_tensor(b"ab", b"", "é".encode())
    binreq("BYTES", {"id": "1", "inputs": [{"name": "a", "shape": [3], "datatype": "BYTES", "parameters": {"binary_data_size": len(bt)}}]}, [bt])
    binreq("BYTES bin out", {"id": "1", "parameters": {"binary_data_output": True}, "inputs": [{"name": "a", "shape": [3], "datatype": "BYTES", "parameters": {"binary_data_size": len(bt)}}]}, [bt])
    binreq("BYTES non-utf8", {"id": "1", "inputs": [{"name": "a", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 6}}]}, [bytes_tensor(b"\xff\xfe")])
    binreq("two inputs", {"id": "1", "inputs": [
        {"name": "a", "shape": [3], "datatype": "FP32", "parameters": {"binary_data_size": 12}},
        {"name": "b", "shape": [1], "datatype": "INT32", "data": [5]}]}, [f32])
    binreq("mixed json first", {"id": "1", "inputs": [
        {"name": "b", "shape": [1], "datatype": "INT32", "data": [5]},
        {"name": "a", "shape": [3], "datatype": "FP32", "parameters": {"binary_data_size": 12}}]}, [f32])
    binreq("no binary inputs", {"id": "1", "inputs": [inp([1.0])]}, [])
    binreq("FP16 json data", {"id": "1", "inputs": [{"name": "a", "shape": [1], "datatype": "FP16", "data": [1.0]}]}, [])
    binreq("requested unknown output", dict(binhdr, outputs=[{"name": "nope"}]), [f32])
    binreq("size null", {"id": "1", "inputs": [{"name": "a", "shape": [3], "datatype": "FP32", "parameters": {"binary_data_size": None}}]}, [f32])
    binreq("no data no size", {"id": "1", "inputs": [{"name": "a", "shape": [3], "datatype": "FP32"}]}, [f32])
    binreq("inputs not list", {"id": "1", "inputs": 5}, [f32])
    binreq("NaN in header", {"id": "1", "inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [float("nan")]}]}, [])
    binreq("missing header", binhdr, [f32], hlen="")
    binreq("header too long", binhdr, [f32], hlen_delta=100)
    binreq("header too short", binhdr, [f32], hlen_delta=-5)
    binreq("header zero", binhdr, [f32], hlen="0")
    binreq("header negative", binhdr, [f32], hlen="-1")
    binreq("header not number", binhdr, [f32], hlen="abc")
    binreq("header float", binhdr, [f32], hlen="12.0")
    binreq("header spaces", binhdr, [f32], hlen_delta=0, hlen=None)
    binreq("size too big", {"id": "1", "inputs": [{"name": "a", "shape": [3], "datatype": "FP32", "parameters": {"binary_data_size": 16}}]}, [f32])
    binreq("size too small", {"id": "1", "inputs": [{"name": "a", "shape": [3], "datatype": "FP32", "parameters": {"binary_data_size": 8}}]}, [f32])
    binreq("trailing bytes", binhdr, [f32, b"xx"])
    binreq("size negative", {"id": "1", "inputs": [{"name": "a", "shape": [3], "datatype": "FP32", "parameters": {"binary_data_size": -1}}]}, [f32])
    binreq("size string", {"id": "1", "inputs": [{"name": "a", "shape": [3], "datatype": "FP32", "parameters": {"binary_data_size": "12"}}]}, [f32])
    binreq("size float", {"id": "1", "inputs": [{"name": "a", "shape": [3], "datatype": "FP32", "parameters": {"binary_data_size": 12.0}}]}, [f32])
    binreq("shape mismatch", {"id": "1", "inputs": [{"name": "a", "shape": [4], "datatype": "FP32", "parameters": {"binary_data_size": 12}}]}, [f32])
    binreq("size with data", {"id": "1", "inputs": [{"name": "a", "shape": [3], "datatype": "FP32", "data": [1, 2, 3], "parameters": {"binary_data_size": 12}}]}, [f32])
    binreq("bad json header", {"x": 1}, [f32], hlen=None)
    case("bin header garbage", "POST", INFER, b"{not json}" + f32, ctype="application/octet-stream",
         headers=[("Inference-Header-Content-Length", "10")])
    binreq("json content-type", binhdr, [f32], ctype=J)
    binreq("no content-type", binhdr, [f32], ctype=None)
    binreq("text content-type", binhdr, [f32], ctype="text/plain")
    binreq("BYTES truncated", {"id": "1", "inputs": [{"name": "a", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 6}}]}, [struct.pack("<I", 10) + b"ab"])
    binreq("FP32 odd size", {"id": "1", "inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "parameters": {"binary_data_size": 3}}]}, [b"abc"])

    # request framing a proxy may produce
    case("v2 expect 100-continue", "POST", INFER, good, ctype=J, headers=[("Expect", "100-continue")])
    case("v2 chunked", "POST", INFER, good, ctype=J, headers=[("Transfer-Encoding", "chunked")])
    case("v1 accept xml", "POST", PREDICT, '{"instances":[1]}', ctype=J, headers=[("Accept", "application/xml")])
    case("v1 gzip body unsupported", "POST", PREDICT, '{"instances":[1]}', ctype=J, headers=[("Content-Encoding", "gzip")])
    case("get with body", "GET", "/v2/health/live", '{"a":1}', ctype=J)

    # the model repository extension, last: it changes the server's state
    case("repo load unknown", "POST", "/v2/repository/models/nope/load")
    case("repo unload unknown", "POST", "/v2/repository/models/nope/unload")
    case("repo get load", "GET", f"/v2/repository/models/{M}/load")
    case("repo load trailing slash", "POST", f"/v2/repository/models/{M}/load/")
    case("repo load with body", "POST", f"/v2/repository/models/{M}/load", '{"a":1}', ctype=J)
    case("repo load", "POST", f"/v2/repository/models/{M}/load")
    case("repo load again", "POST", f"/v2/repository/models/{M}/load")
    case("repo load query", "POST", f"/v2/repository/models/{M}/load?x=1")
    case("repo load unknown verb", "POST", f"/v2/repository/models/{M}/reload")
    case("repo index", "POST", "/v2/repository/index")
    case("repo unload", "POST", f"/v2/repository/models/{M}/unload")
    for p in ("/v1/models", f"/v1/models/{M}", "/v2/models", f"/v2/models/{M}", f"/v2/models/{M}/ready", "/v2/health/ready"):
        case("after unload get " + p, "GET", p)
    case("after unload infer", "POST", INFER, good, ctype=J)
    case("after unload predict", "POST", PREDICT, '{"instances":[1]}', ctype=J)
    case("repo unload again", "POST", f"/v2/repository/models/{M}/unload")
    case("repo load after unload", "POST", f"/v2/repository/models/{M}/load")


# --------------------------------------------------------------- the exchange

class Answer:
    def __init__(self, status=None, headers=None, body=b"", error=None, addr=""):
        self.status, self.headers, self.body, self.error = status, headers or {}, body, error
        self.addr = addr


def send(addr, method, path, headers, body):
    host, port = addr.rsplit(":", 1)
    chunked = any(k.lower() == "transfer-encoding" for k, _ in headers)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {addr}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if chunked:
        payload = (b"%x\r\n" % len(body) + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
    else:
        payload = body
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
    try:
        sock = socket.create_connection((host, int(port)), timeout=10)
    except OSError as e:
        return Answer(error=f"connect: {e}")
    try:
        sock.sendall(data)
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        while resp.status == 100:  # Expect: 100-continue, answered before the final status
            resp = http.client.HTTPResponse(sock, method=method)
            resp.begin()
        hdrs = {}
        for k, v in resp.getheaders():
            hdrs.setdefault(k.lower(), []).append(v)
        body = resp.read()
        return Answer(resp.status, {k: ", ".join(v) for k, v in hdrs.items()}, body, addr=addr)
    except (OSError, http.client.HTTPException) as e:
        return Answer(error=f"{type(e).__name__}: {e}")
    finally:
        sock.close()


def split_binary(ans):
    """(JSON part, binary tail) of a binary-extension answer, else (body, b"")."""
    n = ans.headers.get("inference-header-content-length")
    if n is not None and n.isdigit():
        return ans.body[: int(n)], ans.body[int(n):]
    return ans.body, b""


def parse(b):
    try:
        return json.loads(b), True
    except (ValueError, UnicodeDecodeError):
        return b, False


def drop_uuid_ids(a, b, sent_id):
    """Forget both ids when the request had none and KServe made one up."""
    if isinstance(a, dict) and isinstance(b, dict) and not sent_id:
        if UUID4.match(str(a.get("id", ""))) and UUID4.match(str(b.get("id", ""))):
            a = dict(a, id="<uuid>")
            b = dict(b, id="<uuid>")
    return a, b


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def same_float32(a, b):
    """True when a and b differ only in how float32 values are written."""
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        try:
            return a == b or (f32(a) == f32(float(b)))
        except (OverflowError, struct.error):
            return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_float32(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_float32(a[k], b[k]) for k in a)
    return a == b


def compare(name, method, path, headers, body, k, o):
    """The differences between KServe's answer k and ours o, as (aspect, kserve, ours)."""
    diffs = []
    if k.error or o.error:
        if (k.error is None) != (o.error is None) or k.status != o.status:
            diffs.append(("exchange", k.error or k.status, o.error or o.status))
        return diffs
    if k.status != o.status:
        diffs.append(("status", k.status, o.status))
    for h in COMPARED:
        kv, ov = k.headers.get(h), o.headers.get(h)
        if h == "location":
            # Absolute redirects name the server they came from.
            kv = kv and kv.replace(k.addr, "HOST")
            ov = ov and ov.replace(o.addr, "HOST")
        if h == "content-length" and kv is not None and ov is not None:
            # The value follows from the body; a different body is reported there.
            if (int(kv) == len(k.body)) and (int(ov) == len(o.body)):
                continue
        if h == "inference-header-content-length" and kv is not None and ov is not None:
            continue  # compared through the split bodies
        if kv != ov:
            diffs.append(("header " + h, kv, ov))
    kj, kb = split_binary(k)
    oj, ob = split_binary(o)
    kp, kok = parse(kj)
    op, ook = parse(oj)
    if kok and ook:
        sent_id = False
        try:
            sent = json.loads(body[: int(dict((a.lower(), v) for a, v in headers).get("inference-header-content-length", len(body)))])
            sent_id = isinstance(sent, dict) and bool(sent.get("id"))
        except (ValueError, UnicodeDecodeError):
            pass
        kp2, op2 = drop_uuid_ids(kp, op, sent_id)
        if kp2 != op2:
            diffs.append(("json", kp2, op2))
        elif kp2 is kp and kj != oj:
            # Equal values written differently: key order, escapes, spacing.
            diffs.append(("json text", kj, oj))
    elif kj != oj:
        diffs.append(("body", kj, oj))
    if kb != ob:
        diffs.append(("binary tail", kb, ob))
    return diffs


# ------------------------------------------------------- known, deliberate ones

PY_EXCEPTION = re.compile(r"^[A-Za-z_.]+ : ")


def only(diffs, *aspects):
    return {d[0] for d in diffs} <= set(aspects)


def pair(diffs, aspect):
    for d in diffs:
        if d[0] == aspect:
            return d[1], d[2]
    return None, None


def error_text(v):
    return v.get("error") if isinstance(v, dict) and isinstance(v.get("error"), str) else None


def first_detail(v):
    if isinstance(v, dict) and isinstance(v.get("detail"), list) and v["detail"]:
        return v["detail"][0]
    return None


# Each rule: (name, where it is documented, test(case, diffs, kserve, ours)).
# The rules are tried in order; the first that explains all of a case's
# differences names it.
def known_rules():
    def fp32(c, d, k, o):
        return "json" in {x[0] for x in d} and only(d, "json", "header content-length") and same_float32(*pair(d, "json"))

    def head(c, d, k, o):
        return c[1] == "HEAD" and k.status == 405 and o.status in (200, 404, 503)

    def allow(c, d, k, o):
        kv, ov = pair(d, "header allow")
        # Starlette joins a Python set: its order changes with the hash seed.
        return only(d, "header allow", "status") and kv is not None and ov is not None and \
            set(kv.split(", ")) <= set(ov.split(", "))

    def binary_answer(c, d, k, o):
        return o.headers.get("content-type") == "application/octet-stream" and \
            "inference-header-content-length" in o.headers and \
            only(d, "header content-type", "header content-length", "header transfer-encoding") or \
            (only(d, "header content-type", "header content-length", "header transfer-encoding", "json") and
             o.headers.get("content-type") == "application/octet-stream" and same_float32(*pair(d, "json")))

    def version(c, d, k, o):
        kp, op = pair(d, "json")
        return c[2] == "/v2" and only(d, "json") and dict(kp, version=None) == dict(op, version=None)

    def raw_content_type(c, d, k, o):
        # examples/passthrough answers a raw body with the request's content
        # type; KServe's Response(bytes) has none.
        kv, ov = pair(d, "header content-type")
        return only(d, "header content-type") and kv is None and ov == dict(c[3]).get("Content-Type")

    def media_type(c, d, k, o):
        ct = dict(c[3]).get("Content-Type")
        return c[2].endswith(":predict") and ct is not None and ct != "application/json" and \
            ct.split(";")[0].strip().lower() in ("application/json", "") and o.status == 200

    def json_syntax_text(c, d, k, o):
        kp, op = pair(d, "json")
        if not only(d, "json", "header content-length"):
            return False
        ke, oe = error_text(kp), error_text(op)
        if ke and oe:
            p = "Unrecognized request format: "
            return ke.startswith(p) and oe.startswith(p)
        kd, od = first_detail(kp), first_detail(op)
        return bool(kd and od and kd.get("type") == od.get("type") == "json_invalid" and len(kp["detail"]) == len(op["detail"]))

    def python_exception(c, d, k, o):
        kp, op = pair(d, "json")
        return k.status == 500 and o.status in (200, 400, 422) and PY_EXCEPTION.match(error_text(kp) or "") is not None

    def openapi(c, d, k, o):
        return c[2] == "/openapi.json" and only(d, "header content-length", "json")

    def inputs_list(c, d, k, o):
        _, op = pair(d, "json")
        return c[2].endswith(":predict") and k.status == 200 and o.status == 400 and \
            error_text(op) == 'Expected "inputs" to be a list'

    def fragment(c, d, k, o):
        return "#" in c[2]

    def strict_data(c, d, k, o):
        _, op = pair(d, "json")
        oe = error_text(op) or ""
        return k.status == 200 and o.status == 400 and (
            " as datatype " in oe or "binary_data_size" in oe or "binary data has" in oe or
            "shape [-" in oe)

    def classification(c, d, k, o):
        return '"classification"' in c[4].decode("utf-8", "replace") and only(d, "json")

    def binary_any_type(c, d, k, o):
        h = {a.lower(): v for a, v in c[3]}
        return "inference-header-content-length" in h and k.status == 400 and o.status == 200 and \
            (first_detail(pair(d, "json")[0]) is None) and "There was an error parsing the body" in k.body.decode("utf-8", "replace")

    def reload(c, d, k, o):
        return c[0] == "repo load after unload" and k.status == 503 and o.status == 200

    def clearer_message(c, d, k, o):
        kp, op = pair(d, "json")
        ke, oe = error_text(kp), error_text(op)
        return only(d, "json", "header content-length") and k.status == o.status and ke and oe and (
            oe.startswith(ke) or ke == "invalid datatype None in the input" or
            ke.startswith("Unrecognized request format: ") and oe.startswith("invalid inference-header-content-length"))

    return [
        ("FP32 written as the shortest float32 text", "README", fp32),
        ("HEAD answered on GET routes", "README", head),
        ("Allow names every method of the path (HEAD, and POST beside GET on :predict)", "README", allow),
        ("binary answer with content-type and content-length, not chunked", "README", binary_answer),
        ("/v2 version is this server's", "docs", version),
        ("raw v1 answer: the passthrough model echoes the request content type", "examples/passthrough", raw_content_type),
        ("v1 JSON by media type (case, parameters, empty header)", "README, docs/v1.md", media_type),
        ("JSON syntax error text (orjson's / json.loads' words and offsets)", "docs/v1.md", json_syntax_text),
        ("KServe fails with a Python exception (500), ours a 400/422 naming the fault", "docs", python_exception),
        ("tensor data and binary sizes checked, not coerced or ignored", "docs", strict_data),
        ("classification extension", "README", classification),
        ("inference-header-content-length makes a body binary whatever its content type", "docs", binary_any_type),
        ("load after unload loads the model again", "docs", reload),
        ("an error's message says more (what and where)", "docs", clearer_message),
        ("/openapi.json is ours (runtime/rest/openapi_test.go lists the differences)", "README", openapi),
        ("v1 \"inputs\" must be a list, as \"instances\" must", "docs/v1.md", inputs_list),
        ("a #fragment in the request target is part of the path (RFC 9112 has none; no client sends one)", "docs", fragment),
    ]


def classify(case_, diffs, k, o):
    """The documented reason for a case's differences, or None."""
    for name, where, test in known_rules():
        if test(case_, diffs, k, o):
            return f"{name} ({where})"
    return None


def show(v, limit=300):
    s = v if isinstance(v, str) else (v.decode("utf-8", "backslashreplace") if isinstance(v, bytes) else json.dumps(v, ensure_ascii=False))
    return s if len(s) <= limit else s[:limit] + f"... ({len(s)} chars)"


def main():
    args = sys.argv[1:]
    verbose = "-v" in args
    args = [a for a in args if a != "-v"]
    if len(args) < 2:
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        sys.exit(2)
    kserve, ours, prefixes = args[0], args[1], args[2:]
    build_corpus()
    unexplained, known, same = [], {}, 0
    for name, method, path, headers, body in CASES:
        if prefixes and not any(name.startswith(p) for p in prefixes):
            continue
        k = send(kserve, method, path, headers, body)
        o = send(ours, method, path, headers, body)
        diffs = compare(name, method, path, headers, body, k, o)
        if not diffs:
            same += 1
            continue
        why = classify((name, method, path, headers, body), diffs, k, o)
        if why:
            known.setdefault(why, []).append(name)
            if not verbose:
                continue
        else:
            unexplained.append(name)
        print(f"{'KNOWN ' + why if why else 'UNEXPLAINED'}: {name} ({method} {path})")
        for aspect, kv, ov in diffs:
            print(f"    {aspect}:\n      kserve: {show(kv)}\n      ours:   {show(ov)}")
    print(f"\n{same} cases the same, {sum(map(len, known.values()))} deliberately different, {len(unexplained)} unexplained")
    for why, names in sorted(known.items()):
        print(f"  {why}: {len(names)} ({', '.join(names[:4])}{', ...' if len(names) > 4 else ''})")
    sys.exit(1 if unexplained else 0)


if __name__ == "__main__":
    main()
