#!/usr/bin/env python3
"""Print the /openapi.json that KServe's Python ModelServer publishes.

The output is the reference runtime/rest/testdata/kserve-openapi.json, which
TestOpenAPI_MatchesKServe compares our /openapi.json with.

It builds a FastAPI app exactly as kserve.model_server and
kserve.protocol.rest.server.RESTServer._register_endpoints do, with KServe's
own v1_endpoints.py, v2_endpoints.py and v2_datamodels.py loaded unchanged
from a KServe source tree. What those files import and the document does not
depend on (the dataplane, the model repository extension, the error classes)
is stubbed; only the signatures FastAPI reads are kept: DataPlane.live is
`async def live() -> Dict[str, str]` (a staticmethod) and server.py's
metrics_handler is `async def metrics_handler(request) -> Response`. No
OpenAI or time-series model is registered, so those routers are absent, as
on a server of predictive models.

How the committed reference was produced (2026-12-02):
  - KServe v0.16.0 sources from the Go module cache
    ($GOMODCACHE/github.com/kserve/kserve@v0.16.0/python/kserve), whose
    pyproject requires fastapi>=0.115.3 and pydantic>=2.5;
  - Debian trixie's python3-fastapi 0.115.11-4, python3-pydantic 2.10.6-2,
    python3-pydantic-core 2.27.2-3+b1, python3-starlette 0.46.1 and their
    dependencies (typing-extensions, annotated-types, anyio, sniffio, idna),
    fetched with `apt-get download` against a scratch sources list and
    unpacked with `dpkg -x` into a scratch folder (PYTHONPATH), nothing
    installed;
  - CPython 3.13.0 (pydantic-core is built for 3.13), run through trixie's
    libc6 loader because that pydantic-core needs glibc 2.38:
      L=<dpkg -x of trixie libc6>/usr/lib/x86_64-linux-gnu
      PYTHONPATH=<scratch>/usr/lib/python3/dist-packages \
        $L/ld-linux-x86-64.so.2 --library-path $L:<python3.13>/lib \
        <python3.13>/bin/python3.13 scripts/kserve-openapi.py <kserve src> \
        > runtime/rest/testdata/kserve-openapi.json

With --response-models it prints instead what FastAPI would put under
components/schemas for InferenceResponse (and the ResponseOutput it refers
to) had KServe declared it as the infer route's response_model; KServe
declares response_model=None there, so its document has no such schema. Our
document adds it, and runtime/rest/testdata/kserve-inference-response.json,
made with the same command and --response-models, is what the test checks
the addition against.

Usage: kserve-openapi.py [--response-models] [KSERVE_PYTHON_DIR]
KSERVE_PYTHON_DIR is the folder holding the `kserve` package
(default: the v0.16.0 module in ~/go/pkg/mod).
"""

import enum
import importlib.util
import json
import os
import sys
import types
from typing import Dict

from fastapi import FastAPI, APIRouter, Request, Response
from fastapi.responses import ORJSONResponse

KSERVE_VERSION = "0.16.0"


def stub(name, **attrs):
    mod = types.ModuleType(name)
    mod.__path__ = []  # a package, so submodules resolve
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    return mod


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


class _Error(Exception):
    pass


class DataPlane:
    """The parts of kserve.protocol.dataplane.DataPlane FastAPI looks at."""

    @staticmethod
    async def live() -> Dict[str, str]:
        return {"status": "alive"}


class PredictorProtocol(enum.Enum):
    REST_V1 = "v1"
    REST_V2 = "v2"
    GRPC_V2 = "grpc-v2"


async def metrics_handler(request: Request) -> Response:  # server.py's
    return Response()


def main():
    args = sys.argv[1:]
    response_models = "--response-models" in args
    args = [a for a in args if a != "--response-models"]
    src = args[0] if args else os.path.expanduser(
        "~/go/pkg/mod/github.com/kserve/kserve@v%s/python/kserve" % KSERVE_VERSION
    )
    rest = os.path.join(src, "kserve", "protocol", "rest")

    stub("kserve")
    stub(
        "kserve.errors",
        ModelNotReady=_Error,
        ServerNotLive=_Error,
        ServerNotReady=_Error,
    )
    stub("kserve.constants")
    stub(
        "kserve.constants.constants",
        V1_ROUTE_PREFIX="/v1",
        V2_ROUTE_PREFIX="/v2",
        PredictorProtocol=PredictorProtocol,
    )
    stub("kserve.protocol")
    stub("kserve.protocol.dataplane", DataPlane=DataPlane)
    stub("kserve.protocol.model_repository_extension", ModelRepositoryExtension=object)
    stub("kserve.protocol.rest")
    models = load("kserve.protocol.rest.v2_datamodels", os.path.join(rest, "v2_datamodels.py"))
    v1 = load("kserve.protocol.rest.v1_endpoints", os.path.join(rest, "v1_endpoints.py"))
    v2 = load("kserve.protocol.rest.v2_endpoints", os.path.join(rest, "v2_endpoints.py"))

    if response_models:
        # A throwaway app whose only route declares it, so that FastAPI's
        # own schema generation (not pydantic's raw one) makes the schemas.
        probe = FastAPI()

        async def infer() -> models.InferenceResponse:
            pass

        probe.add_api_route("/", infer, response_model=models.InferenceResponse)
        json.dump(probe.openapi()["components"]["schemas"], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return

    # kserve/model_server.py, with --enable_docs_url (docs_url does not
    # change the document).
    app = FastAPI(
        title="KServe ModelServer",
        version=KSERVE_VERSION,
        docs_url="/docs",
        redoc_url=None,
        default_response_class=ORJSONResponse,
    )
    # kserve/protocol/rest/server.py: RESTServer._register_endpoints.
    dataplane = DataPlane()
    root_router = APIRouter()
    root_router.add_api_route(r"/", dataplane.live)
    root_router.add_api_route(r"/metrics", metrics_handler, methods=["GET"])
    app.include_router(root_router)
    v1.register_v1_endpoints(app, dataplane, None)
    v2.register_v2_endpoints(app, dataplane, None)

    json.dump(app.openapi(), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
