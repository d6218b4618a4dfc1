package runtime_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// echoModel returns its first input as output-0 (v2) or its instances (v1);
// special inputs make it fail with each of KServe's error kinds.
type echoModel struct {
	name      string
	ready     atomic.Bool
	loadDelay time.Duration
	block     chan struct{} // when set, Predict waits for it to close
	inFlight  atomic.Int32
}

func (m *echoModel) Name() string { return m.name }
func (m *echoModel) Ready() bool  { return m.ready.Load() }
func (m *echoModel) Load(ctx context.Context) error {
	select {
	case <-time.After(m.loadDelay):
	case <-ctx.Done():
		return ctx.Err()
	}
	m.ready.Store(true)
	return nil
}

var kindErrors = map[string]error{
	"invalid":        status.InvalidInput("bad things"),
	"inference":      status.InferenceError("it broke", "E42"),
	"notimplemented": status.NotImplemented("Could not find predictor_host."),
	"notready":       status.ModelNotReady("echo", "still warming"),
	"unsupported":    status.UnsupportedProtocol("v3"),
	"plain":          errors.New("boom"),
	// A deadline of the model's own (a feature store that did not answer)
	// while the client still waits: the server's error, not a cancel.
	"deadline": fmt.Errorf("feature store: %w", context.DeadlineExceeded),
}

func (m *echoModel) Predict(_ context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	m.inFlight.Add(1)
	defer m.inFlight.Add(-1)
	if m.block != nil {
		<-m.block
	}
	h.Set("Prediction-Time-Latency", "0.5")
	if req.Protocol == infer.ProtocolV1 {
		var body struct {
			Fail string `json:"fail"`
		}
		if req.IsJSON && req.DecodeBody(&body) == nil && body.Fail != "" {
			if body.Fail == "panic" {
				panic("model panicked")
			}
			return nil, kindErrors[body.Fail]
		}
		if !req.IsJSON {
			return &infer.Response{Raw: append([]byte("raw:"), req.Body...), ContentType: "text/plain"}, nil
		}
		return runtime.PredictResponse(req, m.name, req.RawInstances())
	}
	in := req.Inputs[0]
	if in.Name == "fail" {
		s, _ := in.AsStrings()
		return nil, kindErrors[s[0]]
	}
	outs := make([]*infer.Tensor, len(req.Inputs))
	for i, t := range req.Inputs {
		outs[i] = &infer.Tensor{Name: fmt.Sprintf("output-%d", i), Datatype: t.Datatype, Shape: t.Shape, Data: t.Data}
	}
	return &infer.Response{ID: req.ID, ModelName: m.name, Outputs: outs}, nil
}

func (m *echoModel) Explain(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	return &infer.Response{Body: map[string]any{"explanations": []any{1.5}}}, nil
}

func (m *echoModel) InputsMetadata() []runtime.TensorMetadata {
	return []runtime.TensorMetadata{{Name: "input-0", Datatype: infer.FP32, Shape: []int64{-1, 4}}}
}
func (m *echoModel) OutputsMetadata() []runtime.TensorMetadata {
	return []runtime.TensorMetadata{{Name: "output-0", Datatype: infer.FP32, Shape: []int64{-1, 4}}}
}

// plainModel has no optional capabilities.
type plainModel struct{ echoModel }

func (m *plainModel) Explain() {}

type testServer struct {
	url string
	rt  *runtimetest.Server
}

// startServer serves models over REST only, with cfg, returning as soon as
// the server runs (tests wait for readiness with waitReady when they need it).
func startServer(t *testing.T, cfg config.Config, models ...runtime.Model) *testServer {
	t.Helper()
	rt := runtimetest.StartModels(t, models,
		runtimetest.WithoutWait(),
		runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithConfig(func(c *config.Config) {
			*c = cfg
			c.EnableGRPC = false
		}))
	return &testServer{url: rt.URL, rt: rt}
}

func (ts *testServer) waitReady(t *testing.T) {
	t.Helper()
	select {
	case <-ts.rt.Server.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready")
	}
}

func defaultConfig() config.Config {
	cfg := config.Default()
	cfg.EnableLatencyLogging = false
	return cfg
}

func do(t *testing.T, method, url, contentType string, body []byte, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func TestEndpoints(t *testing.T) {
	notReady := &plainModel{echoModel{name: "slow", loadDelay: time.Hour}}
	m := &echoModel{name: "echo"}
	ts := startServer(t, defaultConfig(), m, notReady)
	require.Eventually(t, m.Ready, 5*time.Second, time.Millisecond)
	const json = "application/json"
	cases := []struct {
		name, method, path, ct, body string
		code                         int
		want                         string
	}{
		{"root", "GET", "/", "", "", 200, `{"status":"alive"}`},
		{"v1 models", "GET", "/v1/models", "", "", 200, `{"models":["echo","slow"]}`},
		{"v1 model ready", "GET", "/v1/models/echo", "", "", 200, `{"name":"echo","ready":true}`},
		{"v1 model not ready", "GET", "/v1/models/slow", "", "", 503, `{"error":"Model with name slow is not ready."}`},
		{"v1 model unknown", "GET", "/v1/models/nope", "", "", 404, `{"error":"Model with name nope does not exist."}`},
		{"v1 predict", "POST", "/v1/models/echo:predict", json, `{"instances": [[1, 2.50, 3e0]]}`, 200, `{"predictions":[[1,2.5,3.0]]}`},
		{"v1 predict inputs", "POST", "/v1/models/echo:predict", json, `{"inputs":[1.0]}`, 200, `{"predictions":[1.0]}`},
		// Floats as KServe 0.20's orjson wrote them for the same bodies.
		{"v1 predict float layout", "POST", "/v1/models/echo:predict", json, `{"instances":[1e-5,1e21,1.5e-7,0.0001234,1e16]}`, 200, `{"predictions":[0.00001,1e21,1.5e-7,0.0001234,1e16]}`},
		{"v1 predict json charset", "POST", "/v1/models/echo:predict", "application/json; charset=utf-8", `{"instances":[true]}`, 200, `{"predictions":[true]}`},
		{"v1 predict raw", "POST", "/v1/models/echo:predict", "text/csv", "a,b\n1,2", 200, "raw:a,b\n1,2"},
		{"v1 predict bad json", "POST", "/v1/models/echo:predict", json, `{"instances": [1,}`, 400, `{"error":"Unrecognized request format: invalid character '}' looking for beginning of value at offset 17"}`},
		{"v1 predict instances not list", "POST", "/v1/models/echo:predict", json, `{"instances": 3}`, 400, `{"error":"Expected \"instances\" to be a list"}`},
		{"v1 predict unknown", "POST", "/v1/models/nope:predict", json, `{"instances":[]}`, 404, `{"error":"Model with name nope does not exist."}`},
		{"v1 predict not ready", "POST", "/v1/models/slow:predict", json, `{"instances":[]}`, 503, `{"error":"Model with name slow is not ready."}`},
		{"v1 explain", "POST", "/v1/models/echo:explain", json, `{"instances":[1]}`, 200, `{"explanations":[1.5]}`},
		{"v1 explain not ready", "POST", "/v1/models/slow:explain", json, `{"instances":[1]}`, 503, `{"error":"Model with name slow is not ready."}`},
		{"v1 predict wrong method", "GET", "/v1/models/echo:predict", "", "", 404, `{"error":"Model with name echo:predict does not exist."}`},
		{"v1 model wrong method", "POST", "/v1/models/echo", json, "{}", 405, `{"detail":"Method Not Allowed"}`},
		{"v1 models wrong method", "DELETE", "/v1/models", "", "", 405, `{"detail":"Method Not Allowed"}`},
		{"v2 server", "GET", "/v2", "", "", 200, `{"name":"kserve","version":"0.1.0","extensions":["model_repository_extension"]}`},
		{"v2 live", "GET", "/v2/health/live", "", "", 200, `{"live":true}`},
		{"v2 ready with a loading model", "GET", "/v2/health/ready", "", "", 503, `{"error":"Server is not ready. Model with name slow is not ready."}`},
		{"v2 models", "GET", "/v2/models", "", "", 200, `{"models":["echo","slow"]}`},
		{"v2 metadata", "GET", "/v2/models/echo", "", "", 200, `{"name":"echo","versions":null,"platform":"","inputs":[{"name":"input-0","datatype":"FP32","shape":[-1,4]}],"outputs":[{"name":"output-0","datatype":"FP32","shape":[-1,4]}]}`},
		{"v2 metadata unknown", "GET", "/v2/models/nope", "", "", 404, `{"error":"Model with name nope does not exist."}`},
		{"v2 model ready", "GET", "/v2/models/echo/ready", "", "", 200, `{"name":"echo","ready":true}`},
		{"v2 model not ready", "GET", "/v2/models/slow/ready", "", "", 503, `{"error":"Model with name slow is not ready."}`},
		{"v2 metadata of a model not loaded", "GET", "/v2/models/slow", "", "", 503, `{"error":"Model with name slow is not ready."}`},
		{"v2 model ready unknown", "GET", "/v2/models/nope/ready", "", "", 404, `{"error":"Model with name nope does not exist."}`},
		{"v2 versions", "GET", "/v2/models/echo/versions/1", "", "", 501, `{"error":"Model versioning not supported yet."}`},
		{"v2 versions ready", "GET", "/v2/models/echo/versions/1/ready", "", "", 501, `{"error":"Model versioning not supported yet."}`},
		{"v2 versions infer", "POST", "/v2/models/echo/versions/1/infer", json, "{}", 501, `{"error":"Model versioning not supported yet."}`},
		{"v2 infer wrong method", "GET", "/v2/models/echo/infer", "", "", 405, `{"detail":"Method Not Allowed"}`},
		{"v2 infer", "POST", "/v2/models/echo/infer", json, `{"id":"abc","inputs":[{"name":"x","shape":[2],"datatype":"INT32","data":[1,2]}]}`, 200,
			`{"model_name":"echo","model_version":null,"id":"abc","parameters":null,"outputs":[{"name":"output-0","shape":[2],"datatype":"INT32","parameters":null,"data":[1,2]}]}`},
		{"v2 infer float layout", "POST", "/v2/models/echo/infer", json, `{"id":"1","inputs":[{"name":"a","shape":[3],"datatype":"FP64","data":[1e-5,1e21,1.5e-7]}]}`, 200,
			`{"model_name":"echo","model_version":null,"id":"1","parameters":null,"outputs":[{"name":"output-0","shape":[3],"datatype":"FP64","parameters":null,"data":[0.00001,1e21,1.5e-7]}]}`},
		// pydantic names every missing field of an input, in RequestInput's
		// order, and a JSON body's input needs "data" whatever its
		// parameters say (KServe 0.20's answers).
		{"v2 infer 422 missing fields", "POST", "/v2/models/echo/infer", json, `{"inputs":[{"datatype":"FP32","data":[1]}]}`, 422,
			`{"detail":[{"type":"missing","loc":["body","InferenceRequest","inputs",0,"name"],"msg":"Field required","input":{"datatype":"FP32","data":[1]}},{"type":"missing","loc":["body","InferenceRequest","inputs",0,"shape"],"msg":"Field required","input":{"datatype":"FP32","data":[1]}},{"type":"bytes_type","loc":["body","bytes"],"msg":"Input should be a valid bytes","input":{"inputs":[{"datatype":"FP32","data":[1]}]}}]}`},
		{"v2 infer 422 JSON input with binary_data_size", "POST", "/v2/models/echo/infer", json, `{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}`, 422,
			`{"detail":[{"type":"missing","loc":["body","InferenceRequest","inputs",0,"data"],"msg":"Field required","input":{"name":"a","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}},{"type":"bytes_type","loc":["body","bytes"],"msg":"Input should be a valid bytes","input":{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}}]}`},
		// The 422 echoes the body as json.loads read it: a key given twice
		// at its first place with its last value.
		{"v2 infer 422 duplicate keys", "POST", "/v2/models/echo/infer", json, `{"instances":[1],"id":"x","instances":[2]}`, 422,
			`{"detail":[{"type":"missing","loc":["body","InferenceRequest","inputs"],"msg":"Field required","input":{"instances":[2],"id":"x"}},{"type":"bytes_type","loc":["body","bytes"],"msg":"Input should be a valid bytes","input":{"instances":[2],"id":"x"}}]}`},
		// FastAPI writes its 422 with json.dumps: floats as Python's repr.
		{"v2 infer 422 float echo", "POST", "/v2/models/echo/infer", json, `{"inputs":[{"name":"a","shape":[1,1e20],"datatype":"FP32","data":[1]}]}`, 422,
			`{"detail":[{"type":"int_parsing_size","loc":["body","InferenceRequest","inputs",0,"shape",1],"msg":"Unable to parse input string as an integer, exceeded maximum size","input":1e+20},{"type":"bytes_type","loc":["body","bytes"],"msg":"Input should be a valid bytes","input":{"inputs":[{"name":"a","shape":[1,1e+20],"datatype":"FP32","data":[1]}]}}]}`},
		{"v2 infer shape mismatch", "POST", "/v2/models/echo/infer", json, `{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,2]}]}`, 400, `{"error":"input x: shape [3] expects 3 elements, but 2 were given"}`},
		{"v2 infer negative dimension", "POST", "/v2/models/echo/infer", json, `{"inputs":[{"name":"x","shape":[-1,2],"datatype":"FP32","data":[1,2]}]}`, 400, `{"error":"input x: shape [-1, 2] is invalid: dimensions must be 0 or more and multiply to fewer than 2^60 elements"}`},
		{"v2 infer fp16 json", "POST", "/v2/models/echo/infer", json, `{"inputs":[{"name":"h","shape":[1],"datatype":"FP16","data":[1]}]}`, 400, `{"error":"Sending FP16 data via JSON is not supported. Please use the binary data format for input h"}`},
		{"v2 infer missing data", "POST", "/v2/models/echo/infer", json, `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]}`, 422,
			`{"detail":[{"type":"missing","loc":["body","InferenceRequest","inputs",0,"data"],"msg":"Field required","input":{"name":"x","shape":[1],"datatype":"FP32"}},{"type":"bytes_type","loc":["body","bytes"],"msg":"Input should be a valid bytes","input":{"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]}}]}`},
		{"v2 infer scalar data", "POST", "/v2/models/echo/infer", json, `{"inputs":[{"name":"x","shape":[],"datatype":"FP32","data":1.5}]}`, 422,
			`{"detail":[{"type":"list_type","loc":["body","InferenceRequest","inputs",0,"data"],"msg":"Input should be a valid list","input":1.5},{"type":"bytes_type","loc":["body","bytes"],"msg":"Input should be a valid bytes","input":{"inputs":[{"name":"x","shape":[],"datatype":"FP32","data":1.5}]}}]}`},
		{"v2 infer list parameter", "POST", "/v2/models/echo/infer", json, `{"parameters":{"a":[1]},"inputs":[]}`, 422,
			`{"detail":[{"type":"float_type","loc":["body","InferenceRequest","parameters","a","float"],"msg":"Input should be a valid number","input":[1]},{"type":"int_type","loc":["body","InferenceRequest","parameters","a","int"],"msg":"Input should be a valid integer","input":[1]},{"type":"bool_type","loc":["body","InferenceRequest","parameters","a","bool"],"msg":"Input should be a valid boolean","input":[1]},{"type":"string_type","loc":["body","InferenceRequest","parameters","a","str"],"msg":"Input should be a valid string","input":[1]},{"type":"bytes_type","loc":["body","bytes"],"msg":"Input should be a valid bytes","input":{"parameters":{"a":[1]},"inputs":[]}}]}`},
		{"v2 infer bad json", "POST", "/v2/models/echo/infer", json, `{"inputs":`, 422,
			`{"detail":[{"type":"json_invalid","loc":["body",10],"msg":"JSON decode error","input":{},"ctx":{"error":"unexpected end of JSON input at offset 10"}}]}`},
		// FastAPI reads a JSON body with json.loads before KServe sees it:
		// bytes that are not UTF-8 are its own 400, an empty body a missing
		// one, and a UTF-8 byte order mark is skipped.
		{"v2 infer not UTF-8", "POST", "/v2/models/echo/infer", json, "{\"inputs\":[{\"name\":\"x\xff\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}", 400, `{"detail":"There was an error parsing the body"}`},
		{"v2 infer empty body", "POST", "/v2/models/echo/infer", json, "", 422, `{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}`},
		{"v2 infer byte order mark", "POST", "/v2/models/echo/infer", json, "\ufeff{\"id\":\"b\",\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}", 200,
			`{"model_name":"echo","model_version":null,"id":"b","parameters":null,"outputs":[{"name":"output-0","shape":[1],"datatype":"FP32","parameters":null,"data":[1.0]}]}`},
		{"v2 infer NaN and Infinity", "POST", "/v2/models/echo/infer", json, `{"id":"n","inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[NaN,Infinity,1]}]}`, 200,
			`{"model_name":"echo","model_version":null,"id":"n","parameters":null,"outputs":[{"name":"output-0","shape":[3],"datatype":"FP32","parameters":null,"data":[null,null,1.0]}]}`},
		{"v2 infer unexpected output", "POST", "/v2/models/echo/infer", json, `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"zzz"}]}`, 400, `{"error":"Unexpected inference output 'zzz' for model 'echo'"}`},
		{"v2 infer binary without header", "POST", "/v2/models/echo/infer", "application/octet-stream", "xx", 400, `{"error":"received byte inputs, but the'inference-header-content-length' header is missing."}`},
		{"v2 infer unknown model", "POST", "/v2/models/nope/infer", json, `{"inputs":[]}`, 404, `{"error":"Model with name nope does not exist."}`},
		{"v2 repository unload unknown", "POST", "/v2/repository/models/nope/unload", "", "", 404, `{"error":"Model with name nope does not exist."}`},
		{"v2 repository load unknown", "POST", "/v2/repository/models/nope/load", "", "", 503, `{"error":"Model with name nope is not ready."}`},
		{"v2 repository wrong method", "GET", "/v2/repository/models/echo/load", "", "", 405, `{"detail":"Method Not Allowed"}`},
		{"unknown path", "GET", "/v3/whatever", "", "", 404, `{"detail":"Not Found"}`},
		{"docs off", "GET", "/docs", "", "", 404, `{"detail":"Not Found"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, hdr, body := do(t, c.method, ts.url+c.path, c.ct, []byte(c.body))
			assert.Equal(t, c.code, code)
			assert.Equal(t, c.want, body)
			if strings.HasPrefix(c.want, "{") {
				assert.Equal(t, "application/json", hdr.Get("Content-Type"))
			}
		})
	}
}

// A 405 names the methods the path takes in its Allow header, as
// Starlette's does (RFC 9110 requires it): GET routes also take HEAD here,
// where KServe's name GET alone and refuse HEAD.
func TestMethodNotAllowedNamesAllow(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	cases := []struct{ method, path, allow string }{
		{"POST", "/", "GET, HEAD"},
		{"DELETE", "/v1/models", "GET, HEAD"},
		{"POST", "/v1/models/echo", "GET, HEAD"},
		{"PUT", "/v1/models/echo:predict", "GET, HEAD, POST"},
		{"OPTIONS", "/v1/models/echo:explain", "GET, HEAD, POST"},
		{"POST", "/v2", "GET, HEAD"},
		{"POST", "/v2/health/ready", "GET, HEAD"},
		{"PUT", "/v2/models/echo", "GET, HEAD"},
		{"POST", "/v2/models/echo/ready", "GET, HEAD"},
		{"GET", "/v2/models/echo/infer", "POST"},
		{"HEAD", "/v2/models/echo/infer", "POST"},
		{"POST", "/v2/models/echo/versions/1", "GET, HEAD"},
		{"GET", "/v2/models/echo/versions/1/infer", "POST"},
		{"GET", "/v2/repository/models/echo/load", "POST"},
		{"DELETE", "/metrics", "GET, HEAD"},
		{"POST", "/openapi.json", "GET, HEAD"},
	}
	for _, c := range cases {
		code, hdr, body := do(t, c.method, ts.url+c.path, "", nil)
		assert.Equal(t, 405, code, c.method+" "+c.path)
		assert.Equal(t, c.allow, hdr.Get("Allow"), c.method+" "+c.path)
		if c.method != "HEAD" {
			assert.Equal(t, `{"detail":"Method Not Allowed"}`, body, c.method+" "+c.path)
		}
	}
}

// A v2 body is read as KServe's stack reads it, checked against the
// answers of KServe 0.20's server to the same bytes (scripts/kserve-diff.py):
// FastAPI's json.loads reads a JSON body whole before pydantic looks at
// its members, so a body that is not JSON is a json_invalid 422 even when
// a member before the fault was wrong; null is no body; a JSON string is
// bytes (the infer body is Union[InferenceRequest, bytes]), so KServe's 400
// for bytes without inference-header-content-length. A binary body's JSON
// header is read by KServe's orjson.loads: a header that is not JSON is its
// 400 "Unrecognized request format: ...", not FastAPI's 422 (the text after
// the colon is ours; orjson's reads "unexpected character: line 1 column
// 2 (char 1)"), and FP16 data in it from_bytes' "Receiving FP16 ..." 400.
func TestV2BodyReadWholeAsKServeReadsIt(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	const url = "/v2/models/echo/infer"
	const f32 = "\x00\x00\x80\x3f" // 1.0 as a little-endian float32
	header := `{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}`
	cases := []struct {
		name, ct, body, hlen string
		code                 int
		want                 string
	}{
		{"trailing data after a wrong body", "application/json", `{"instances":[1]} x`, "", 422,
			`{"detail":[{"type":"json_invalid","loc":["body",18],"msg":"JSON decode error","input":{},"ctx":{"error":"extra data after JSON value at offset 18"}}]}`},
		{"syntax error after a wrong member", "application/json", `{"inputs":1,"id":}`, "", 422,
			`{"detail":[{"type":"json_invalid","loc":["body",17],"msg":"JSON decode error","input":{},"ctx":{"error":"invalid character '}' looking for beginning of value at offset 17"}}]}`},
		{"bad data then bad syntax", "application/json", `{"inputs":[{"name":"a","shape":[1],"datatype":"INT8","data":[300]}],}`, "", 422,
			`{"detail":[{"type":"json_invalid","loc":["body",68],"msg":"JSON decode error","input":{},"ctx":{"error":"expected string at offset 68"}}]}`},
		{"null", "application/json", ` null `, "", 422,
			`{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}`},
		{"a JSON string", "application/json", `"s"`, "", 400,
			`{"error":"received byte inputs, but the'inference-header-content-length' header is missing."}`},
		{"binary header not JSON", "application/octet-stream", `{not json}` + f32, "10", 400,
			`{"error":"Unrecognized request format: expected string at offset 1"}`},
		{"binary header cut short", "application/octet-stream", header + f32, "50", 400,
			`{"error":"Unrecognized request format: unterminated string at offset 50"}`},
		{"binary header empty", "application/octet-stream", header + f32, "0", 400,
			`{"error":"Unrecognized request format: unexpected end of JSON input at offset 0"}`},
		{"FP16 data in a binary header", "application/octet-stream", `{"inputs":[{"name":"h","shape":[1],"datatype":"FP16","data":[1]}]}`, "66", 400,
			`{"error":"Receiving FP16 data via JSON is not supported. Please use the binary data format for input h"}`},
		// KServe validates no schema in a binary header: a null
		// binary_data_size is from_bytes' own 400.
		{"binary_data_size null", "application/octet-stream", `{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":null}}]}` + f32, "94", 400,
			`{"error":"'binary_data_size' is not specified for input 'a' for model 'echo'"}`},
		{"binary header with trailing data", "application/octet-stream", `{"x":1} x` + f32, "9", 400,
			`{"error":"Unrecognized request format: extra data after JSON value at offset 8"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.hlen != "" {
				hdr = []string{"Inference-Header-Content-Length", c.hlen}
			}
			code, h, got := do(t, "POST", ts.url+url, c.ct, []byte(c.body), hdr...)
			assert.Equal(t, c.code, code)
			assert.Equal(t, c.want, got)
			assert.Equal(t, "application/json", h.Get("Content-Type"))
		})
	}
}

// FastAPI reads a v2 JSON body with json.loads, which takes bytes in UTF-8,
// UTF-16 or UTF-32, with or without a byte order mark (Python's
// json.detect_encoding): KServe 0.20 answers all six as it answers UTF-8.
// They were a 422 "invalid character 'ÿ'". Bytes those codecs cannot
// decode are FastAPI's 400; a v1 body, read by orjson, stays UTF-8 only.
func TestV2BodyInUTF16AndUTF32(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	const body = `{"id":"u","inputs":[{"name":"x","shape":[2],"datatype":"BYTES","data":["é","😀"]}]}`
	const want = `{"model_name":"echo","model_version":null,"id":"u","parameters":null,"outputs":[{"name":"output-0","shape":[2],"datatype":"BYTES","parameters":null,"data":["é","😀"]}]}`
	u16 := func(order binary.AppendByteOrder, bom bool, s string) []byte {
		var b []byte
		if bom {
			b = order.AppendUint16(b, 0xFEFF)
		}
		for _, u := range utf16.Encode([]rune(s)) {
			b = order.AppendUint16(b, u)
		}
		return b
	}
	u32 := func(order binary.AppendByteOrder, bom bool, s string) []byte {
		var b []byte
		if bom {
			b = order.AppendUint32(b, 0xFEFF)
		}
		for _, r := range s {
			b = order.AppendUint32(b, uint32(r))
		}
		return b
	}
	for name, b := range map[string][]byte{
		"UTF-16LE with BOM": u16(binary.LittleEndian, true, body),
		"UTF-16BE with BOM": u16(binary.BigEndian, true, body),
		"UTF-16LE":          u16(binary.LittleEndian, false, body),
		"UTF-16BE":          u16(binary.BigEndian, false, body),
		"UTF-32LE with BOM": u32(binary.LittleEndian, true, body),
		"UTF-32BE with BOM": u32(binary.BigEndian, true, body),
		"UTF-32LE":          u32(binary.LittleEndian, false, body),
		"UTF-32BE":          u32(binary.BigEndian, false, body),
	} {
		code, _, got := do(t, "POST", ts.url+"/v2/models/echo/infer", "application/json", b)
		assert.Equal(t, 200, code, name)
		assert.Equal(t, want, got, name)
	}

	const parseError = `{"detail":"There was an error parsing the body"}`
	for name, b := range map[string][]byte{
		"UTF-16 with an odd byte":        append(u16(binary.LittleEndian, true, `{"inputs":[]}`), 0),
		"UTF-32 beyond U+10FFFF":         append(u32(binary.LittleEndian, true, `{"inputs":[]}`), 0, 0, 0x11, 0),
		"UTF-32 cut short":               append(u32(binary.BigEndian, false, `{"inputs":[]}`), 0, 0),
		"UTF-16 without BOM, odd length": append(u16(binary.BigEndian, false, `{"inputs":[]}`), '}'),
	} {
		code, _, got := do(t, "POST", ts.url+"/v2/models/echo/infer", "application/json", b)
		assert.Equal(t, 400, code, name)
		assert.Equal(t, parseError, got, name)
	}

	code, _, got := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", u16(binary.LittleEndian, true, `{"instances":[1]}`))
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"Unrecognized request format: invalid character '\\xff' looking for beginning of value at offset 0"}`, got)
}

// A character that cannot be where it is in a JSON body is named as the
// client wrote it: the whole UTF-8 sequence (a word processor's curly
// quote '“', not 'â' for its first byte), a byte that starts no UTF-8
// character in hex, and a UTF-8 byte order mark by name (a v1 body may not
// start with one, as JSON forbids; a v2 body may, TestV2BodyInUTF16AndUTF32).
// Go's %q of the byte made all of them Latin-1 letters that are in no
// body: 'ï' for the byte order mark.
func TestMalformedJSONNamesTheCharacterSent(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	const v1, v2 = "/v1/models/echo:predict", "/v2/models/echo/infer"
	for _, c := range []struct {
		name, path, body string
		code             int
		want             string
	}{
		{"curly quotes", v1, `{"instances":[“a”]}`, 400,
			`{"error":"Unrecognized request format: invalid character '“' looking for beginning of value at offset 14"}`},
		{"byte order mark", v1, "\uFEFF" + `{"instances":[1]}`, 400,
			`{"error":"Unrecognized request format: invalid character '\\ufeff' (a UTF-8 byte order mark) looking for beginning of value at offset 0"}`},
		{"not UTF-8", v1, `{"instances":[` + "\xe9" + `]}`, 400,
			`{"error":"Unrecognized request format: invalid character '\\xe9' looking for beginning of value at offset 14"}`},
		{"curly colon", v1, `{"instances"：[1]}`, 400,
			`{"error":"Unrecognized request format: expected ':', found '：' at offset 12"}`},
		{"v2 curly quotes", v2, `{"inputs":[{"name":"a","shape":[1],"datatype":"BYTES","data":[“a”]}]}`, 422,
			`{"detail":[{"type":"json_invalid","loc":["body",62],"msg":"JSON decode error","input":{},"ctx":{"error":"invalid character '“' looking for beginning of value at offset 62"}}]}`},
	} {
		code, _, got := do(t, "POST", ts.url+c.path, "application/json", []byte(c.body))
		assert.Equal(t, c.code, code, c.name)
		assert.Equal(t, c.want, got, c.name)
	}
}

// A v2 request with "id": null (Optional in KServe's schema) is answered
// with a generated id, as one without an id is.
func TestV2NullID(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	code, _, body := do(t, "POST", ts.url+"/v2/models/echo/infer", "application/json",
		[]byte(`{"id":null,"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1]}]}`))
	assert.Equal(t, 200, code)
	assert.Regexp(t, `^\{"model_name":"echo","model_version":null,"id":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}","parameters":null,"outputs":\[\{"name":"output-0","shape":\[1\],"datatype":"INT32","parameters":null,"data":\[1\]\}\]\}$`, body)
}

// A ready model without Explain answers :explain as KServe's default
// explain does when no explainer is deployed.
func TestExplainWithoutExplainer(t *testing.T) {
	ts := startServer(t, defaultConfig(), &plainModel{echoModel{name: "plain"}})
	ts.waitReady(t)
	code, _, body := do(t, "POST", ts.url+"/v1/models/plain:explain", "application/json", []byte(`{"instances":[1]}`))
	assert.Equal(t, 501, code)
	assert.Equal(t, `{"error":"Could not find explainer_host."}`, body)
	code, _, _ = do(t, "POST", ts.url+"/v1/models/plain:predict", "application/json", []byte(`{"instances":[1]}`))
	assert.Equal(t, 200, code)
}

// TestErrorKinds checks every error row of contract §5 as the model raises it.
func TestErrorKinds(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	cases := []struct {
		fail string
		code int
		want string
	}{
		{"invalid", 400, `{"error":"bad things"}`},
		{"inference", 500, `{"error":"[E42] it broke"}`},
		{"notimplemented", 501, `{"error":"Could not find predictor_host."}`},
		{"notready", 503, `{"error":"Model with name echo is not ready. still warming"}`},
		{"unsupported", 501, `{"error":"Unsupported protocol v3."}`},
		{"plain", 500, `{"error":"Error : boom"}`},
		{"panic", 500, `{"error":"panic : model panicked"}`},
		{"deadline", 500, `{"error":"deadlineExceededError : feature store: context deadline exceeded"}`},
	}
	for _, c := range cases {
		t.Run(c.fail, func(t *testing.T) {
			code, _, body := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(`{"fail":"`+c.fail+`"}`))
			assert.Equal(t, c.code, code)
			assert.Equal(t, c.want, body)
			// v2 reports the same kind the same way.
			v2 := `{"inputs":[{"name":"fail","shape":[1],"datatype":"BYTES","data":["` + c.fail + `"]}]}`
			if c.fail != "panic" {
				code, _, body = do(t, "POST", ts.url+"/v2/models/echo/infer", "application/json", []byte(v2))
				assert.Equal(t, c.code, code)
				assert.Equal(t, c.want, body)
			}
		})
	}
	// The server still serves after all of that.
	code, _, _ := do(t, "GET", ts.url+"/v2/health/live", "", nil)
	assert.Equal(t, 200, code)
}

func TestResponseHeadersAndRepository(t *testing.T) {
	m := &echoModel{name: "echo"}
	ts := startServer(t, defaultConfig(), m)
	ts.waitReady(t)
	code, hdr, _ := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(`{"instances":[1]}`))
	assert.Equal(t, 200, code)
	assert.Equal(t, "0.5", hdr.Get("Prediction-Time-Latency"))

	code, _, body := do(t, "POST", ts.url+"/v2/repository/models/echo/unload", "", nil)
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"name":"echo","unload":true}`, body)
	code, _, body = do(t, "GET", ts.url+"/v2/models/echo/ready", "", nil)
	assert.Equal(t, 404, code)
	assert.Equal(t, `{"error":"Model with name echo does not exist."}`, body)
	code, _, body = do(t, "POST", ts.url+"/v2/repository/models/echo/load", "", nil)
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"name":"echo","load":true}`, body)
	code, _, _ = do(t, "GET", ts.url+"/v2/models/echo/ready", "", nil)
	assert.Equal(t, 200, code)
}

func TestMetricsAndDocs(t *testing.T) {
	cfg := defaultConfig()
	cfg.EnableDocsURL = true
	ts := startServer(t, cfg, &echoModel{name: "echo"})
	ts.waitReady(t)
	do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(`{"instances":[1]}`))
	_, _, body := do(t, "GET", ts.url+"/metrics", "", nil)
	for _, name := range []string{"request_preprocess_seconds", "request_predict_seconds", "request_explain_seconds", "request_postprocess_seconds"} {
		assert.Contains(t, body, "# TYPE "+name+" histogram")
	}
	assert.Contains(t, body, `request_predict_seconds_bucket{model_name="echo",le="0.005"} 1`)
	assert.Contains(t, body, `request_predict_seconds_count{model_name="echo"} 1`)
	assert.Contains(t, body, `kserve_requests_total{model_name="echo",protocol="v1",verb="predict"} 1`)
	assert.Contains(t, body, `kserve_requests_in_flight{model_name="echo"} 0`)
	code, hdr, body := do(t, "GET", ts.url+"/docs", "", nil)
	assert.Equal(t, 200, code)
	assert.Contains(t, hdr.Get("Content-Type"), "text/html")
	assert.Contains(t, body, "/openapi.json")
	// Swagger UI's OAuth2 redirect page at FastAPI's path.
	code, hdr, body = do(t, "GET", ts.url+"/docs/oauth2-redirect", "", nil)
	assert.Equal(t, 200, code)
	assert.Contains(t, hdr.Get("Content-Type"), "text/html")
	assert.Contains(t, body, "oauth2")
	// Unknown pages under /docs/ and wrong methods answer as every other
	// path does (the asset server's own 404 is plain text).
	for _, c := range []struct {
		method, path string
		code         int
		want         string
	}{
		{"GET", "/docs/nope.js", 404, `{"detail":"Not Found"}`},
		{"POST", "/docs", 405, `{"detail":"Method Not Allowed"}`},
		{"DELETE", "/metrics", 405, `{"detail":"Method Not Allowed"}`},
	} {
		code, hdr, body := do(t, c.method, ts.url+c.path, "", nil)
		assert.Equal(t, c.code, code, c.path)
		assert.Equal(t, c.want, body, c.path)
		assert.Equal(t, "application/json", hdr.Get("Content-Type"), c.path)
	}
	code, _, body = do(t, "GET", ts.url+"/openapi.json", "", nil)
	assert.Equal(t, 200, code)
	assert.Contains(t, body, `"/v2/models/{model_name}/infer"`)
	assert.Contains(t, body, `"application/cloudevents+json"`)
	assert.True(t, json.Valid([]byte(body)))
}

// TestTrailingSlashRedirects: a known path with a "/" added is answered
// as FastAPI does (Starlette's redirect_slashes): 307 to the path without
// it, the query kept; clients follow it with the method and body.
func TestTrailingSlashRedirects(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	host := strings.TrimPrefix(ts.url, "http://")
	for _, c := range []struct{ method, path, location, forwardedProto string }{
		{"GET", "/v2/", "http://" + host + "/v2", ""},
		{"GET", "/v2/health/ready/", "http://" + host + "/v2/health/ready", ""},
		{"GET", "/v2/models/echo/?x=1", "http://" + host + "/v2/models/echo?x=1", ""},
		{"POST", "/v2/models/echo/infer/", "http://" + host + "/v2/models/echo/infer", ""},
		{"POST", "/v1/models/echo:predict/", "http://" + host + "/v1/models/echo:predict", ""},
		{"GET", "/v2/models/nope/ready/", "http://" + host + "/v2/models/nope/ready", ""}, // any name, as a route pattern
		{"GET", "/metrics/", "http://" + host + "/metrics", ""},
		// A proxy on the loopback interface that terminated TLS (Knative's
		// queue-proxy behind an https ingress) keeps the client on https,
		// as uvicorn's trusted proxy headers do.
		{"POST", "/v1/models/echo:predict/", "https://" + host + "/v1/models/echo:predict", "https"},
		{"GET", "/v2/", "http://" + host + "/v2", "gopher"},
	} {
		req, err := http.NewRequest(c.method, ts.url+c.path, nil)
		require.NoError(t, err)
		if c.forwardedProto != "" {
			req.Header.Set("X-Forwarded-Proto", c.forwardedProto)
		}
		resp, err := noFollow.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode, c.path)
		assert.Equal(t, c.location, resp.Header.Get("Location"), c.path)
	}
	for _, p := range []string{"/v3/", "/v2/models/echo/nope/", "/v2/models//", "/docs/"} {
		code, _, body := do(t, "GET", ts.url+p, "", nil)
		assert.Equal(t, 404, code, p)
		assert.Equal(t, `{"detail":"Not Found"}`, body, p)
	}
	// Followed, with the body.
	code, _, body := do(t, "POST", ts.url+"/v2/models/echo/infer/", "application/json",
		[]byte(`{"id":"a","inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[7]}]}`))
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"model_name":"echo","model_version":null,"id":"a","parameters":null,"outputs":[{"name":"output-0","shape":[1],"datatype":"INT32","parameters":null,"data":[7]}]}`, body)
}

func TestOversizedBody(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxRequestBodySize = 1024
	ts := startServer(t, cfg, &echoModel{name: "echo"})
	ts.waitReady(t)
	big := []byte(`{"instances":[` + strings.Repeat("1,", 1000) + `1]}`)
	code, _, body := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", big)
	assert.Equal(t, 413, code)
	assert.Equal(t, `{"error":"Request body too large: the limit is 1024 bytes (--max_request_body_size)."}`, body)
	// Chunked (no Content-Length) bodies are cut off at the limit too.
	req, _ := http.NewRequest("POST", ts.url+"/v2/models/echo/infer", io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 413, resp.StatusCode)
	assert.Equal(t, `{"error":"Request body too large: the limit is 1024 bytes (--max_request_body_size)."}`, string(b))
	code, _, _ = do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(`{"instances":[1]}`))
	assert.Equal(t, 200, code)
}

// TestDeeplyNestedJSON: a body nesting millions of arrays (10 MB, well under
// the body limit) is a clear error on either protocol, and the server keeps
// serving; unbounded, the decoder's recursion overflowed the goroutine
// stack, a fatal error for the whole process.
func TestDeeplyNestedJSON(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	const depth = 5_000_000
	deep := strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)

	code, _, body := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(`{"instances":`+deep+`}`))
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"Unrecognized request format: JSON nested deeper than 1024 levels at offset 1036"}`, body)

	code, _, body = do(t, "POST", ts.url+"/v2/models/echo/infer", "application/json",
		[]byte(`{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":`+deep+`}]}`))
	assert.Equal(t, 422, code)
	assert.Equal(t, `{"detail":[{"type":"json_invalid","loc":["body",10060],"msg":"JSON decode error","input":{},"ctx":{"error":"JSON nested deeper than 10000 levels at offset 10060"}}]}`, body)

	code, _, body = do(t, "GET", ts.url+"/v2/health/live", "", nil)
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"live":true}`, body)
}

// TestHeaderAndKeepAliveTimeouts: a client that sends its headers too
// slowly, or stays idle on a keep-alive connection, is disconnected; one that
// waits longer than the header timeout between requests, but less than the
// keep-alive timeout, is served.
func TestHeaderAndKeepAliveTimeouts(t *testing.T) {
	cfg := defaultConfig()
	cfg.ReadHeaderTimeout = 200 * time.Millisecond
	cfg.TimeoutKeepAlive = 1
	ts := startServer(t, cfg, &echoModel{name: "echo"})
	ts.waitReady(t)
	addr := strings.TrimPrefix(ts.url, "http://")
	const live = "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"

	// closedAfter reads until the server closes c and returns when it did.
	closedAfter := func(t *testing.T, c net.Conn, br *bufio.Reader) time.Time {
		t.Helper()
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, err := br.ReadByte()
		require.True(t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "want the server to close, got %v", err)
		return time.Now()
	}
	readLive := func(t *testing.T, br *bufio.Reader) {
		t.Helper()
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, `{"live":true}`, string(b))
	}

	t.Run("slow headers", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		start := time.Now()
		_, err = io.WriteString(c, "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n") // never finished
		require.NoError(t, err)
		assert.GreaterOrEqual(t, closedAfter(t, c, bufio.NewReader(c)).Sub(start), cfg.ReadHeaderTimeout)
	})
	// A body whose client goes silent is given up after the header
	// timeout of silence (uvicorn, and net/http alone, waited for ever,
	// holding the connection and its goroutine); one sent slowly, a part
	// within each timeout, is read whole.
	// A chunk-size line of 4095 bytes leaves net/http's reader one free
	// byte to fill: a one-byte read, which must not be taken for the
	// background read that waits for ever.
	for name, sent := range map[string]string{
		"stalled body":       "POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"inputs\"",
		"stalled chunk line": "POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("a", 4093),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer c.Close()
			_, err = io.WriteString(c, sent)
			require.NoError(t, err)
			br := bufio.NewReader(c)
			require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err, "want an answer once the body stalls")
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, 400, resp.StatusCode)
			assert.Equal(t, `{"error":"could not read the request body: the client sent nothing of it for longer than --read_header_timeout"}`, string(b))
			closedAfter(t, c, br)
		})
	}
	t.Run("slow body", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		body := `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`
		_, err = fmt.Fprintf(c, "POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		require.NoError(t, err)
		for i := 0; i < len(body); i += 20 {
			time.Sleep(cfg.ReadHeaderTimeout / 2)
			_, err = io.WriteString(c, body[i:min(i+20, len(body))])
			require.NoError(t, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		br := bufio.NewReader(c)
		_, err = io.WriteString(c, live)
		require.NoError(t, err)
		readLive(t, br)
		// Idle past the header timeout: the header clock starts with the
		// next request's first bytes, so this one is served.
		time.Sleep(2 * cfg.ReadHeaderTimeout)
		_, err = io.WriteString(c, live)
		require.NoError(t, err)
		readLive(t, br)
		answered := time.Now()
		assert.GreaterOrEqual(t, closedAfter(t, c, br).Sub(answered), time.Duration(cfg.TimeoutKeepAlive)*time.Second)
	})
}

// TestLongPredictOutlastsTheBodyTimeout: the body timeout is for a client
// silent while sending its body; a model taking longer than it, with the
// client waiting in silence, is answered.
func TestLongPredictOutlastsTheBodyTimeout(t *testing.T) {
	cfg := defaultConfig()
	cfg.ReadHeaderTimeout = 100 * time.Millisecond
	m := &echoModel{name: "echo", block: make(chan struct{})}
	ts := startServer(t, cfg, m)
	ts.waitReady(t)
	time.AfterFunc(10*cfg.ReadHeaderTimeout, func() { close(m.block) })
	code, _, body := do(t, "POST", ts.url+"/v2/models/echo/infer", "application/json", []byte(`{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`))
	assert.Equal(t, 200, code, body)
}

// TestHijackedConnectionHasNoBodyTimeout: a handler of the server's
// (runtime.WithHandler) that takes the connection over (a WebSocket, say)
// reads it with its own deadlines, or none: the body timeout is net/http's
// request's, not the connection's for ever after.
func TestHijackedConnectionHasNoBodyTimeout(t *testing.T) {
	cfg := defaultConfig()
	cfg.ReadHeaderTimeout = 100 * time.Millisecond
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer c.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		line, err := brw.ReadString('\n') // after a silence longer than the body timeout
		if err != nil {
			line = "error: " + err.Error() + "\n"
		}
		_, _ = brw.WriteString(line)
		_ = brw.Flush()
	})
	rt := runtimetest.StartModels(t, []runtime.Model{&echoModel{name: "echo"}},
		runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithConfig(func(c *config.Config) { *c = cfg; c.EnableGRPC = false }),
		runtimetest.WithServerOptions(runtime.WithHandler("GET /echo", echo)))
	c, err := net.Dial("tcp", strings.TrimPrefix(rt.URL, "http://"))
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	assert.Equal(t, 101, resp.StatusCode)
	time.Sleep(10 * cfg.ReadHeaderTimeout)
	_, err = io.WriteString(c, "hello\n")
	require.NoError(t, err)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "hello\n", line)
}

// TestKeepAliveZeroClosesAfterEachResponse: --timeout-keep-alive=0 is
// uvicorn's "close a connection as soon as its response is sent", not Go's
// IdleTimeout 0, which kept idle connections open for ever.
func TestKeepAliveZeroClosesAfterEachResponse(t *testing.T) {
	cfg := defaultConfig()
	cfg.TimeoutKeepAlive = 0
	ts := startServer(t, cfg, &echoModel{name: "echo"})
	ts.waitReady(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, `{"live":true}`, string(b))
	assert.True(t, resp.Close, "Connection: close tells the client not to reuse the connection")
	require.NoError(t, c.SetReadDeadline(time.Now().Add(3*time.Second)))
	_, err = br.ReadByte()
	assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "want the server to close the connection, got %v", err)
}

// TestLivenessUnderSlowPredicts is KServe's #3950: with 64 predicts stuck in
// the model, liveness and readiness still answer at once.
func TestLivenessUnderSlowPredicts(t *testing.T) {
	m := &echoModel{name: "echo", block: make(chan struct{})}
	cfg := defaultConfig()
	cfg.MaxAsyncioWorkers = 64
	ts := startServer(t, cfg, m)
	ts.waitReady(t)
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(ts.url+"/v1/models/echo:predict", "application/json", strings.NewReader(`{"instances":[1]}`))
			if err == nil {
				if resp.StatusCode == 200 {
					ok.Add(1)
				}
				resp.Body.Close()
			}
		}()
	}
	require.Eventually(t, func() bool { return m.inFlight.Load() == 64 }, 10*time.Second, time.Millisecond)
	for _, p := range []string{"/v2/health/live", "/v2/health/ready", "/v1/models/echo", "/"} {
		code, _, _ := do(t, "GET", ts.url+p, "", nil)
		assert.Equal(t, 200, code, p)
	}
	close(m.block)
	wg.Wait()
	assert.Equal(t, int32(64), ok.Load())
}

// TestMaxAsyncioWorkersBoundsModelCalls: requests beyond the bound wait for a slot.
func TestMaxAsyncioWorkersBoundsModelCalls(t *testing.T) {
	m := &echoModel{name: "echo", block: make(chan struct{})}
	cfg := defaultConfig()
	cfg.MaxAsyncioWorkers = 3
	ts := startServer(t, cfg, m)
	ts.waitReady(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(ts.url+"/v1/models/echo:predict", "application/json", strings.NewReader(`{"instances":[1]}`))
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	require.Eventually(t, func() bool { return m.inFlight.Load() == 3 }, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, int32(3), m.inFlight.Load())
	close(m.block)
	wg.Wait()
}

func TestReadinessFollowsModelLoad(t *testing.T) {
	m := &echoModel{name: "echo", loadDelay: 200 * time.Millisecond}
	ts := startServer(t, defaultConfig(), m)
	require.Eventually(t, func() bool {
		code, _, _ := do(t, "GET", ts.url+"/v2/health/live", "", nil)
		return code == 200
	}, 5*time.Second, time.Millisecond)
	code, _, _ := do(t, "GET", ts.url+"/v2/health/ready", "", nil)
	assert.Equal(t, 503, code, "ready before the model loaded")
	ts.waitReady(t)
	code, _, _ = do(t, "GET", ts.url+"/v2/health/ready", "", nil)
	assert.Equal(t, 200, code)
}

func TestGracefulShutdownDrainsInFlight(t *testing.T) {
	m := &echoModel{name: "echo", block: make(chan struct{})}
	ts := startServer(t, defaultConfig(), m)
	ts.waitReady(t)
	result := make(chan int, 1)
	go func() {
		resp, err := http.Post(ts.url+"/v1/models/echo:predict", "application/json", strings.NewReader(`{"instances":[7]}`))
		if err != nil {
			result <- -1
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	require.Eventually(t, func() bool { return m.inFlight.Load() == 1 }, 5*time.Second, time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- ts.rt.Stop() }() // what SIGTERM does through SignalContext
	time.Sleep(50 * time.Millisecond)
	_, err := http.Get(ts.url + "/v2/health/live")
	assert.Error(t, err, "new connections are refused while draining")
	close(m.block)
	assert.Equal(t, 200, <-result)
	assert.NoError(t, <-stopped)
}

// TestBinaryExtension sends every datatype through the binary extension and
// asks for binary outputs back, checking bytes both ways.
func TestBinaryExtension(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	tensors := []*infer.Tensor{
		infer.NewTensor("b", []int64{3}, []bool{true, false, true}),
		infer.NewTensor("u8", []int64{2}, []uint8{0, 255}),
		infer.NewTensor("u16", []int64{2}, []uint16{1, 65535}),
		infer.NewTensor("u32", []int64{2}, []uint32{1, 1 << 31}),
		infer.NewTensor("u64", []int64{2}, []uint64{1, 1 << 63}),
		infer.NewTensor("i8", []int64{2}, []int8{-128, 127}),
		infer.NewTensor("i16", []int64{2}, []int16{-32768, 7}),
		infer.NewTensor("i32", []int64{2}, []int32{-1, 1 << 30}),
		infer.NewTensor("i64", []int64{2}, []int64{-1, 1 << 62}),
		infer.NewTensor("f16", []int64{2}, []infer.Float16{infer.Float16From(1.5), infer.Float16From(-2)}),
		infer.NewTensor("f32", []int64{2, 2}, []float32{1.5, -2, 3.25, 0}),
		infer.NewTensor("f64", []int64{1}, []float64{3.141592653589793}),
		infer.NewTensor("s", []int64{2}, [][]byte{[]byte("héllo"), {0, 1, 2}}),
	}
	for _, in := range tensors {
		t.Run(string(in.Datatype), func(t *testing.T) {
			raw, err := infer.EncodeRaw(in)
			require.NoError(t, err)
			head := fmt.Sprintf(`{"inputs":[{"name":%q,"shape":%s,"datatype":%q,"parameters":{"binary_data_size":%d}}],"parameters":{"binary_data_output":true}}`,
				in.Name, strings.ReplaceAll(infer.FormatShape(in.Shape), " ", ""), in.Datatype, len(raw))
			body := append([]byte(head), raw...)
			code, hdr, resp := do(t, "POST", ts.url+"/v2/models/echo/infer", "application/octet-stream", body,
				"Inference-Header-Content-Length", fmt.Sprint(len(head)), "X-Request-Id", "r1")
			require.Equal(t, 200, code, resp)
			assert.Equal(t, "application/octet-stream", hdr.Get("Content-Type"))
			assert.Equal(t, fmt.Sprint(len(resp)), hdr.Get("Content-Length"))
			var hl int
			fmt.Sscan(hdr.Get("Inference-Header-Content-Length"), &hl)
			require.Positive(t, hl)
			assert.Contains(t, resp[:hl], fmt.Sprintf(`"parameters":{"binary_data_size":%d}`, len(raw)))
			assert.True(t, strings.HasPrefix(resp[:hl], `{"id":`), resp[:hl])
			assert.Equal(t, raw, []byte(resp[hl:]))
		})
	}
}

func TestBinaryMixedOutputsAndRequestedOutputs(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	raw := make([]byte, 8)
	binary.LittleEndian.PutUint32(raw, 0x3fc00000)     // 1.5
	binary.LittleEndian.PutUint32(raw[4:], 0xc0000000) // -2
	head := `{"id":"q","inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},{"name":"b","shape":[1],"datatype":"INT64","data":[5]}],` +
		`"outputs":[{"name":"output-1"},{"name":"output-0","parameters":{"binary_data":true}}]}`
	code, hdr, resp := do(t, "POST", ts.url+"/v2/models/echo/infer", "application/octet-stream", append([]byte(head), raw...),
		"Inference-Header-Content-Length", fmt.Sprint(len(head)))
	require.Equal(t, 200, code, resp)
	var hl int
	fmt.Sscan(hdr.Get("Inference-Header-Content-Length"), &hl)
	assert.Equal(t, `{"id":"q","model_name":"echo","model_version":null,"outputs":[{"name":"output-1","shape":[1],"datatype":"INT64","data":[5]},{"name":"output-0","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}`, resp[:hl])
	assert.Equal(t, raw, []byte(resp[hl:]))

	// Binary input, JSON output.
	head = `{"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}`
	code, hdr, resp = do(t, "POST", ts.url+"/v2/models/echo/infer", "application/octet-stream", append([]byte(head), raw...),
		"Inference-Header-Content-Length", fmt.Sprint(len(head)))
	require.Equal(t, 200, code)
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	assert.Contains(t, resp, `"data":[1.5,-2.0]}]}`)

	// A binary size that does not match the shape.
	head = `{"inputs":[{"name":"a","shape":[3],"datatype":"FP32","parameters":{"binary_data_size":8}}]}`
	code, _, resp = do(t, "POST", ts.url+"/v2/models/echo/infer", "application/octet-stream", append([]byte(head), raw...),
		"Inference-Header-Content-Length", fmt.Sprint(len(head)))
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"input 'a' with datatype FP32 and shape [3] needs 12 bytes of raw contents, but 8 were given"}`, resp)

	// An input with neither data nor binary_data_size: contract §10's 400,
	// naming the model.
	head = `{"inputs":[{"name":"a","shape":[2],"datatype":"FP32"}]}`
	code, _, resp = do(t, "POST", ts.url+"/v2/models/echo/infer", "application/octet-stream", append([]byte(head), raw...),
		"Inference-Header-Content-Length", fmt.Sprint(len(head)))
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"'data' field is missing for input 'a' for model 'echo'"}`, resp)

	// Binary data no input takes: too much of it, and an input that has
	// "data" as well as a binary_data_size, whose data is read and its
	// binary part not (KServe's from_bytes reads "data" first). The
	// message named no input and said the inputs declared 0 bytes, when
	// the input had declared 8.
	for _, c := range []struct{ head, want string }{
		{`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}`,
			`{"error":"binary data has 8 bytes, but the inputs declare 4 (binary_data_size)"}`},
		{`{"inputs":[{"name":"a","shape":[2],"datatype":"FP32","data":[1,2],"parameters":{"binary_data_size":8}}]}`,
			`{"error":"binary data has 8 bytes, but the inputs declare 0 (binary_data_size): input a has \"data\" as well as a binary_data_size, and its \"data\" is read; send one of the two"}`},
	} {
		code, _, resp = do(t, "POST", ts.url+"/v2/models/echo/infer", "application/octet-stream", append([]byte(c.head), raw...),
			"Inference-Header-Content-Length", fmt.Sprint(len(c.head)))
		assert.Equal(t, 400, code, c.head)
		assert.Equal(t, c.want, resp, c.head)
	}
}

// A JSON body that breaks KServe's schema in several places is one 422
// naming every broken field, as FastAPI answers from pydantic's errors: of
// every input, the top-level parameters and the outputs, in the order of
// the model's fields (not of the keys); an input's data that is not of its
// datatype (a 400) waits for the schema, so another input's 422 wins. Only
// the first was named before. The answers are KServe 0.20's, byte for byte.
func TestV2SchemaErrorsNameEveryField(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	cases := []struct{ name, body, want string }{
		{"two inputs, each broken",
			`{"inputs":[{"name":1,"shape":["x"],"datatype":"FP32","data":[1]},{"name":"b","shape":[1],"datatype":2,"data":1}]}`,
			`{"detail":[{"type":"string_type","loc":["body","InferenceRequest","inputs",0,"name"],"msg":"Input should be a valid string","input":1},{"type":"int_parsing","loc":["body","InferenceRequest","inputs",0,"shape",0],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"},{"type":"string_type","loc":["body","InferenceRequest","inputs",1,"datatype"],"msg":"Input should be a valid string","input":2},{"type":"list_type","loc":["body","InferenceRequest","inputs",1,"data"],"msg":"Input should be a valid list","input":1},{"type":"bytes_type","loc":["body","bytes"],"msg":"Input should be a valid bytes","input":{"inputs":[{"name":1,"shape":["x"],"datatype":"FP32","data":[1]},{"name":"b","shape":[1],"datatype":2,"data":1}]}}]}`},
		{"every field of an input broken, keys in reverse order",
			`{"inputs":[{"data":null,"parameters":{"a":[1],"b":null},"datatype":1,"shape":["x",null,1.5],"name":[]}]}`,
			`{"detail":[{"type":"string_type","loc":["body","InferenceRequest","inputs",0,"name"],"msg":"Input should be a valid string","input":[]},{"type":"int_parsing","loc":["body","InferenceRequest","inputs",0,"shape",0],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"},{"type":"int_type","loc":["body","InferenceRequest","inputs",0,"shape",1],"msg":"Input should be a valid integer","input":null},{"type":"int_from_float","loc":["body","InferenceRequest","inputs",0,"shape",2],"msg":"Input should be a valid integer, got a number with a fractional part","input":1.5},{"type":"string_type","loc":["body","InferenceRequest","inputs",0,"datatype"],"msg":"Input should be a valid string","input":1},{"type":"float_type","loc":["body","InferenceRequest","inputs",0,"parameters","a","float"],"msg":"Input should be a valid number","input":[1]},{"type":"int_type","loc":["body","InferenceRequest","inputs",0,"parameters","a","int"],"msg":"Input should be a valid integer","input":[1]},{"type":"bool_type","loc":["body","InferenceRequest","inputs",0,"parameters","a","bool"],"msg":"Input should be a valid boolean","input":[1]},{"type":"string_type","loc":["body","InferenceRequest","inputs",0,"parameters","a","str"],"msg":"Input should be a valid string","input":[1]},{"type":"float_type","loc":["body","InferenceRequest","inputs",0,"parameters","b","float"],"msg":"Input should be a valid number","input":null},{"type":"int_type","loc":["body","InferenceRequest","inputs",0,"parameters","b","int"],"msg":"Input should be a valid integer","input":null},{"type":"bool_type","loc":["body","InferenceRequest","inputs",0,"parameters","b","bool"],"msg":"Input should be a valid boolean","input":null},{"type":"string_type","loc":["body","InferenceRequest","inputs",0,"parameters","b","str"],"msg":"Input should be a valid string","input":null},{"type":"list_type","loc":["body","InferenceRequest","inputs",0,"data"],"msg":"Input should be a valid list","input":null},{"type":"bytes_type","loc":["body","bytes"],"msg":"Input should be a valid bytes","input":{"inputs":[{"data":null,"parameters":{"a":[1],"b":null},"datatype":1,"shape":["x",null,1.5],"name":[]}]}}]}`},
		{"an input's 400 (bad data) before another's 422",
			`{"inputs":[{"name":"a","shape":[1],"datatype":"INT32","data":["x"]},{"name":"b","shape":[1],"datatype":"FP32"}]}`,
			`{"detail":[{"type":"missing","loc":["body","InferenceRequest","inputs",1,"data"],"msg":"Field required","input":{"name":"b","shape":[1],"datatype":"FP32"}},{"type":"bytes_type","loc":["body","bytes"],"msg":"Input should be a valid bytes","input":{"inputs":[{"name":"a","shape":[1],"datatype":"INT32","data":["x"]},{"name":"b","shape":[1],"datatype":"FP32"}]}}]}`},
		{"id, parameters, inputs and outputs broken together",
			`{"id":1,"parameters":[1],"inputs":1,"outputs":[{"parameters":{"a":[]}},{"name":2},5,{}]}`,
			`{"detail":[{"type":"string_type","loc":["body","InferenceRequest","id"],"msg":"Input should be a valid string","input":1},{"type":"dict_type","loc":["body","InferenceRequest","parameters"],"msg":"Input should be a valid dictionary","input":[1]},{"type":"list_type","loc":["body","InferenceRequest","inputs"],"msg":"Input should be a valid list","input":1},{"type":"missing","loc":["body","InferenceRequest","outputs",0,"name"],"msg":"Field required","input":{"parameters":{"a":[]}}},{"type":"float_type","loc":["body","InferenceRequest","outputs",0,"parameters","a","float"],"msg":"Input should be a valid number","input":[]},{"type":"int_type","loc":["body","InferenceRequest","outputs",0,"parameters","a","int"],"msg":"Input should be a valid integer","input":[]},{"type":"bool_type","loc":["body","InferenceRequest","outputs",0,"parameters","a","bool"],"msg":"Input should be a valid boolean","input":[]},{"type":"string_type","loc":["body","InferenceRequest","outputs",0,"parameters","a","str"],"msg":"Input should be a valid string","input":[]},{"type":"string_type","loc":["body","InferenceRequest","outputs",1,"name"],"msg":"Input should be a valid string","input":2},{"type":"model_attributes_type","loc":["body","InferenceRequest","outputs",2],"msg":"Input should be a valid dictionary or object to extract fields from","input":5},{"type":"missing","loc":["body","InferenceRequest","outputs",3,"name"],"msg":"Field required","input":{}},{"type":"bytes_type","loc":["body","bytes"],"msg":"Input should be a valid bytes","input":{"id":1,"parameters":[1],"inputs":1,"outputs":[{"parameters":{"a":[]}},{"name":2},5,{}]}}]}`},
		{"inputs missing, outputs broken",
			`{"outputs":1}`,
			`{"detail":[{"type":"missing","loc":["body","InferenceRequest","inputs"],"msg":"Field required","input":{"outputs":1}},{"type":"list_type","loc":["body","InferenceRequest","outputs"],"msg":"Input should be a valid list","input":1},{"type":"bytes_type","loc":["body","bytes"],"msg":"Input should be a valid bytes","input":{"outputs":1}}]}`},
	}
	for _, c := range cases {
		code, _, resp := do(t, "POST", ts.url+"/v2/models/echo/infer", "application/json", []byte(c.body))
		assert.Equal(t, 422, code, c.name)
		assert.Equal(t, c.want, resp, c.name)
	}
}

// binary_data_output and an output's binary_data are read as KServe reads
// them, Python truth ("if not binary_data"): a client that sends the
// string "true" gets binary outputs, as from KServe ("false" too); an
// empty string or a zero is JSON. Only the JSON true was binary before.
func TestBinaryOutputsTakeTruthyValues(t *testing.T) {
	ts := startServer(t, defaultConfig(), &echoModel{name: "echo"})
	ts.waitReady(t)
	const input = `"inputs":[{"name":"a","shape":[1],"datatype":"INT32","data":[7]}]`
	const binHead = `{"id":"q","model_name":"echo","model_version":null,"outputs":[{"name":"output-0","shape":[1],"datatype":"INT32","parameters":{"binary_data_size":4}}]}`
	cases := []struct {
		extra  string
		binary bool
	}{
		{`"parameters":{"binary_data_output":"true"}`, true},
		{`"parameters":{"binary_data_output":"false"}`, true},
		{`"parameters":{"binary_data_output":1}`, true},
		{`"parameters":{"binary_data_output":0.5}`, true},
		{`"parameters":{"binary_data_output":""}`, false},
		{`"parameters":{"binary_data_output":0}`, false},
		{`"parameters":{"binary_data_output":0.0}`, false},
		{`"parameters":{"binary_data_output":false}`, false},
		{`"outputs":[{"name":"output-0","parameters":{"binary_data":"yes"}}]`, true},
		{`"outputs":[{"name":"output-0","parameters":{"binary_data":0}}]`, false},
	}
	for _, c := range cases {
		body := `{"id":"q",` + input + `,` + c.extra + `}`
		code, hdr, resp := do(t, "POST", ts.url+"/v2/models/echo/infer", "application/json", []byte(body))
		require.Equal(t, 200, code, body)
		if !c.binary {
			assert.Equal(t, "application/json", hdr.Get("Content-Type"), body)
			assert.Equal(t, `{"model_name":"echo","model_version":null,"id":"q","parameters":null,"outputs":[{"name":"output-0","shape":[1],"datatype":"INT32","parameters":null,"data":[7]}]}`, resp, body)
			continue
		}
		assert.Equal(t, "application/octet-stream", hdr.Get("Content-Type"), body)
		assert.Equal(t, fmt.Sprint(len(binHead)), hdr.Get("Inference-Header-Content-Length"), body)
		assert.Equal(t, binHead+"\x07\x00\x00\x00", resp, body)
	}
}

func TestMiddlewareUnknownArgsAndStorageURI(t *testing.T) {
	p := config.NewParser("t")
	dir := t.TempDir()
	cfg, err := p.Parse([]string{"--model_name=echo", "--not_a_kserve_flag", "x", "--enable_grpc", "False"},
		func(k string) string {
			if k == "STORAGE_URI" {
				return "file://" + dir
			}
			return ""
		})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var stderr runtimetest.LogBuffer
	cors := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", "*")
			next.ServeHTTP(w, r)
		})
	}
	srv := runtime.NewServer(*cfg, runtime.WithHTTPListener(ln), runtime.WithMiddleware(cors), runtime.WithLogOutput(io.Discard, &stderr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, &echoModel{name: "echo"}) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	code, hdr, _ := do(t, "GET", "http://"+ln.Addr().String()+"/v2/health/ready", "", nil)
	assert.Equal(t, 200, code)
	assert.Equal(t, "*", hdr.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, dir, srv.ModelDir())
	cancel()
	require.NoError(t, <-done)
	assert.Contains(t, stderr.String(), "ignoring unknown arguments: --not_a_kserve_flag x")
	assert.Equal(t, 1, strings.Count(stderr.String(), "ignoring unknown arguments"))
}

// loggingModel logs from Load and Unload through runtime.Logger.
type loggingModel struct{ echoModel }

func (m *loggingModel) Load(ctx context.Context) error {
	runtime.Logger(ctx).Info("weights of " + m.name + " loaded")
	return m.echoModel.Load(ctx)
}

func (m *loggingModel) Unload(ctx context.Context) error {
	runtime.Logger(ctx).Warn("weights of " + m.name + " released")
	return nil
}

func (m *loggingModel) Predict(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	runtime.Logger(ctx).Info("predict on " + m.name)
	return m.echoModel.Predict(ctx, req, h)
}

// A model's own log lines go through the server's configured "kserve"
// logger (KServe's format on stderr here): in Load, in Predict over REST
// and gRPC, and in Unload called by a repository unload or at shutdown.
func TestModelLogsThroughServerLogging(t *testing.T) {
	cfg := config.Default()
	cfg.ModelName = "logging"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var stderr runtimetest.LogBuffer
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithGRPCListener(gln), runtime.WithLogOutput(io.Discard, &stderr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- srv.Run(ctx, &loggingModel{echoModel{name: "logging"}}, &loggingModel{echoModel{name: "other"}})
	}()
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	code, _, _ := do(t, "POST", "http://"+ln.Addr().String()+"/v1/models/other:predict", "application/json", []byte(`{"instances":[1]}`))
	assert.Equal(t, 200, code)
	gc, err := client.NewGRPC(gln.Addr().String())
	require.NoError(t, err)
	defer gc.Close()
	_, err = gc.Infer(context.Background(), &infer.Request{ModelName: "other", Inputs: []*infer.Tensor{{Name: "x", Datatype: infer.FP32, Shape: []int64{1}, Data: []float32{1}}}})
	require.NoError(t, err)
	code, _, _ = do(t, "POST", "http://"+ln.Addr().String()+"/v2/repository/models/logging/unload", "", nil)
	assert.Equal(t, 200, code)
	cancel()
	require.NoError(t, <-done)
	line := func(level, msg string) string {
		return `(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ kserve ` + level + ` \[server_test\.go:\w+\(\):\d+\] ` + msg + `$`
	}
	assert.Len(t, regexp.MustCompile(line("INFO", "predict on other")).FindAllString(stderr.String(), -1), 2, "REST and gRPC")
	for _, name := range []string{"logging", "other"} {
		assert.Regexp(t, line("INFO", "weights of "+name+" loaded"), stderr.String())
		// logging: by the repository unload; other: at shutdown.
		assert.Regexp(t, line("WARNING", "weights of "+name+" released"), stderr.String())
	}
}

// TestClientGoneIs499: a client that gives up is counted as nginx's 499
// (client closed request), not as a server error; a context error while
// the client still waits is a 500 (TestErrorKinds, "deadline").
func TestClientGoneIs499(t *testing.T) {
	m := &echoModel{name: "echo", block: make(chan struct{})}
	ts := startServer(t, defaultConfig(), m)
	ts.waitReady(t)
	defer close(m.block)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", ts.url+"/v1/models/echo:predict", strings.NewReader(`{"instances":[1]}`))
	require.NoError(t, err)
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Eventually(t, func() bool {
		_, _, body := do(t, "GET", ts.url+"/metrics", "", nil)
		return strings.Contains(body, `kserve_request_errors_total{code="499",model_name="echo",protocol="v1"} 1`)
	}, 5*time.Second, 10*time.Millisecond)
}

// A client that closes its connection before its declared body has all
// arrived (it timed out or gave up mid-upload) is counted as a 499, as a
// client gone while its request runs is: it was a 400, so clients timing
// out during uploads showed in /metrics and the access log as bad requests.
func TestClientGoneMidBodyIs499(t *testing.T) {
	m := &echoModel{name: "echo"}
	ts := startServer(t, defaultConfig(), m)
	ts.waitReady(t)
	for _, proto := range []string{"v1", "v2"} {
		path := "/v1/models/echo:predict"
		if proto == "v2" {
			path = "/v2/models/echo/infer"
		}
		c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
		require.NoError(t, err)
		_, err = fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"instances\":[1,", path)
		require.NoError(t, err)
		require.NoError(t, c.Close())
		want := fmt.Sprintf(`kserve_request_errors_total{code="499",model_name="echo",protocol="%s"} 1`, proto)
		require.Eventually(t, func() bool {
			_, _, body := do(t, "GET", ts.url+"/metrics", "", nil)
			return strings.Contains(body, want)
		}, 5*time.Second, 10*time.Millisecond, "want %s", want)
	}
	_, _, body := do(t, "GET", ts.url+"/metrics", "", nil)
	assert.NotContains(t, body, `code="400"`)
}

// drainingModel is loaded once (Load of a loaded model does nothing, as
// onnx.Model's) and its Unload waits for release, as an unload draining
// running requests or a batcher does.
type drainingModel struct {
	echoModel
	unloading chan struct{}
	release   chan struct{}
}

func (m *drainingModel) Load(context.Context) error {
	m.ready.Store(true)
	return nil
}

func (m *drainingModel) Unload(context.Context) error {
	m.unloading <- struct{}{}
	<-m.release
	m.ready.Store(false)
	return nil
}

// A load that arrives while an unload of the same model is still draining
// runs after it, so the model ends loaded and ready. Run alongside, the
// load found the model still ready, served it again, and then the unload
// finished: listed but not ready (503 on every request, the server not
// ready) although both calls had answered 200.
func TestRepositoryLoadWaitsForAnUnloadInProgress(t *testing.T) {
	m := &drainingModel{echoModel: echoModel{name: "m"}, unloading: make(chan struct{}, 1), release: make(chan struct{})}
	ts := startServer(t, defaultConfig(), m)
	ts.waitReady(t)

	type answer struct {
		code int
		body string
	}
	post := func(action string, to chan<- answer) {
		code, _, body := do(t, "POST", ts.url+"/v2/repository/models/m/"+action, "", nil)
		to <- answer{code, body}
	}
	unloaded, loaded := make(chan answer, 1), make(chan answer, 1)
	go post("unload", unloaded)
	<-m.unloading
	go post("load", loaded)
	time.Sleep(100 * time.Millisecond) // the load reaches the server
	close(m.release)
	assert.Equal(t, answer{200, `{"name":"m","unload":true}`}, <-unloaded)
	assert.Equal(t, answer{200, `{"name":"m","load":true}`}, <-loaded)

	code, _, body := do(t, "GET", ts.url+"/v2/models/m/ready", "", nil)
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"name":"m","ready":true}`, body)
	code, _, body = do(t, "GET", ts.url+"/v2/health/ready", "", nil)
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"ready":true}`, body)
}

// The in-flight gauge counts a request whose client has gone for as long
// as its model call still holds a slot: a model that does not stop on
// cancellation keeps the server as busy as before, and an autoscaler
// reading the gauge must see it (it read 0 while every slot was taken).
func TestInFlightCountsTheModelCallAfterTheClientLeft(t *testing.T) {
	m := &echoModel{name: "echo", block: make(chan struct{})}
	ts := startServer(t, defaultConfig(), m)
	ts.waitReady(t)
	inFlight := func() string {
		_, _, body := do(t, "GET", ts.url+"/metrics", "", nil)
		for line := range strings.SplitSeq(body, "\n") {
			if strings.HasPrefix(line, "kserve_requests_in_flight{") {
				return line
			}
		}
		return ""
	}

	c := &http.Client{Timeout: 200 * time.Millisecond}
	_, err := c.Post(ts.url+"/v1/models/echo:predict", "application/json", strings.NewReader(`{"instances":[1]}`))
	require.Error(t, err)
	require.Equal(t, int32(1), m.inFlight.Load(), "the model call still runs")
	assert.Equal(t, `kserve_requests_in_flight{model_name="echo"} 1`, inFlight())

	close(m.block)
	require.Eventually(t, func() bool { return m.inFlight.Load() == 0 }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return inFlight() == `kserve_requests_in_flight{model_name="echo"} 0` },
		5*time.Second, 5*time.Millisecond, "%s", inFlight())
}

// A connection to the gRPC port that never sends the HTTP/2 preface is
// closed after --read_header_timeout, as a REST one that sends no headers,
// not after grpc-go's 120 s; a real client is not affected.
func TestGRPCSilentConnectionIsClosed(t *testing.T) {
	m := &echoModel{name: "echo"}
	rt := runtimetest.StartModels(t, []runtime.Model{m},
		runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithConfig(func(c *config.Config) { c.ReadHeaderTimeout = time.Second }))
	silent, err := net.Dial("tcp", rt.GRPCAddr)
	require.NoError(t, err)
	defer silent.Close()
	require.NoError(t, silent.SetReadDeadline(time.Now().Add(30*time.Second)))
	start := time.Now()
	// The server writes its SETTINGS frame first; read until it closes.
	_, err = io.Copy(io.Discard, silent)
	require.NoError(t, err, "the server did not close the silent connection within 30 s")
	t.Logf("closed after %s", time.Since(start))

	gc, err := client.NewGRPC(rt.GRPCAddr)
	require.NoError(t, err)
	defer gc.Close()
	ready, err := gc.IsModelReady(context.Background(), "echo")
	require.NoError(t, err)
	assert.True(t, ready)
}
