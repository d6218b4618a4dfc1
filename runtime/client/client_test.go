package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// tensors holds one tensor of every datatype with edge values; jsonSafe
// leaves out what JSON cannot carry (NaN/Inf, non-UTF-8 BYTES, FP16).
func tensors(jsonSafe bool) []*infer.Tensor {
	ts := []*infer.Tensor{
		infer.NewTensor("bool", []int64{3}, []bool{true, false, true}),
		infer.NewTensor("u8", []int64{3}, []uint8{0, 7, 255}),
		infer.NewTensor("u16", []int64{3}, []uint16{0, 7, 65535}),
		infer.NewTensor("u32", []int64{3}, []uint32{0, 7, math.MaxUint32}),
		infer.NewTensor("u64", []int64{3}, []uint64{0, 7, math.MaxUint64}),
		infer.NewTensor("i8", []int64{3}, []int8{-128, 0, 127}),
		infer.NewTensor("i16", []int64{3}, []int16{-32768, 0, 32767}),
		infer.NewTensor("i32", []int64{3}, []int32{math.MinInt32, 0, math.MaxInt32}),
		infer.NewTensor("i64", []int64{3}, []int64{math.MinInt64, 0, math.MaxInt64}),
		infer.NewTensor("fp32", []int64{1, 3}, []float32{-1.5, math.MaxFloat32, math.SmallestNonzeroFloat32}),
		infer.NewTensor("fp64", []int64{3, 1}, []float64{-1.5, math.MaxFloat64, math.SmallestNonzeroFloat64}),
		infer.NewStrings("bytes", []int64{2, 2}, []string{"héllo", "", "{\"a\":1}", "line\nbreak"}),
	}
	if !jsonSafe {
		ts = append(ts,
			infer.NewTensor("fp16", []int64{3}, []infer.Float16{infer.Float16From(-1.5), 0, infer.Float16From(65504)}),
			infer.NewTensor("fp32inf", []int64{2}, []float32{float32(math.Inf(-1)), float32(math.NaN())}),
			infer.NewTensor("binbytes", []int64{2}, [][]byte{{0, 0xff, 0}, {}}),
		)
	}
	return ts
}

// inferer is what both clients offer for one call.
type inferer func(ctx context.Context, req *infer.Request, opts ...client.InferOption) (*infer.Response, error)

func clients(t *testing.T, s *runtimetest.Server) map[string]inferer {
	g, err := client.NewGRPC(s.GRPCAddr)
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	r, err := client.NewREST(client.WithProtocol(client.V2))
	require.NoError(t, err)
	return map[string]inferer{
		"grpc": g.Infer,
		"rest": func(ctx context.Context, req *infer.Request, opts ...client.InferOption) (*infer.Response, error) {
			return r.Infer(ctx, s.URL, req, opts...)
		},
	}
}

func sameData(t *testing.T, want, got *infer.Tensor) {
	t.Helper()
	assert.Equal(t, want.Datatype, got.Datatype)
	assert.Equal(t, want.Shape, got.Shape)
	if f, ok := want.Data.([]float32); ok && math.IsNaN(float64(f[len(f)-1])) {
		g := got.Data.([]float32)
		assert.Equal(t, f[:len(f)-1], g[:len(g)-1])
		assert.True(t, math.IsNaN(float64(g[len(g)-1])))
		return
	}
	assert.Equal(t, want.Data, got.Data)
}

// Every datatype round-trips through both clients and both encodings
// (binary/raw, JSON/typed) against the real server.
func TestRoundTrip_EveryDatatypeBothClients(t *testing.T) {
	s := serve(t, &echo{name: "echo"})
	for name, call := range clients(t, s) {
		for _, json := range []bool{false, true} {
			mode := map[bool]string{false: "binary", true: "json"}[json]
			for _, in := range tensors(json) {
				t.Run(name+"/"+mode+"/"+in.Name, func(t *testing.T) {
					var opts []client.InferOption
					if json {
						opts = append(opts, client.WithJSONData())
					}
					resp, err := call(ctxT(t), &infer.Request{Protocol: infer.ProtocolV2, ModelName: "echo", ID: "id-1", Inputs: []*infer.Tensor{in}}, opts...)
					require.NoError(t, err)
					assert.Equal(t, "echo", resp.ModelName)
					assert.Equal(t, "id-1", resp.ID)
					require.Len(t, resp.Outputs, 1)
					assert.Equal(t, "output-0", resp.Outputs[0].Name)
					sameData(t, in, resp.Outputs[0])
				})
			}
		}
	}
}

// JSON has no NaN or infinities: orjson, KServe's writer and ours, writes
// them as null, and KServe's numpy reads null in a float tensor as NaN, so
// KServe's transformer forwards a NaN it was sent as null. Both used to fail
// here: the server answered such a request with a 400 "data element 1 is
// null, not a number as datatype FP32 needs", and this client could not
// read the server's own JSON answer for a tensor holding NaN (the same
// message, for the output). Now null reads as NaN on both sides.
func TestRoundTrip_JSONNullIsNaN(t *testing.T) {
	s := serve(t, &echo{name: "echo"})

	// What KServe's InferenceRESTClient (orjson) sends for [1.5, nan, inf].
	body := `{"id":"n","inputs":[{"name":"a","shape":[3],"datatype":"FP32","data":[1.5,null,null]},` +
		`{"name":"b","shape":[1],"datatype":"FP64","data":[null]}]}`
	hr, err := http.Post(s.URL+"/v2/models/echo/infer", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	got, err := io.ReadAll(hr.Body)
	hr.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, hr.StatusCode, "%s", got)
	assert.Equal(t, `{"model_name":"echo","model_version":null,"id":"n","parameters":null,"outputs":[`+
		`{"name":"output-0","shape":[3],"datatype":"FP32","parameters":null,"data":[1.5,null,null]},`+
		`{"name":"output-1","shape":[1],"datatype":"FP64","parameters":null,"data":[null]}]}`, string(got))

	// This client reading a JSON answer with NaN (binary in, JSON out).
	r, err := client.NewREST(client.WithProtocol(client.V2))
	require.NoError(t, err)
	in := infer.NewTensor("a", []int64{4}, []float32{1.5, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))})
	resp, err := r.Infer(ctxT(t), s.URL, &infer.Request{Protocol: infer.ProtocolV2, ModelName: "echo",
		Inputs: []*infer.Tensor{in}, Parameters: infer.Parameters{"binary_data_output": false}})
	require.NoError(t, err)
	require.Len(t, resp.Outputs, 1)
	f32 := resp.Outputs[0].Data.([]float32)
	require.Len(t, f32, 4)
	assert.Equal(t, float32(1.5), f32[0])
	for i, f := range f32[1:] {
		assert.True(t, math.IsNaN(float64(f)), "element %d: %v (orjson's null keeps only NaN)", i+1, f)
	}
}

// NaN and ±Inf sent as JSON reach the model as they were (Python's
// json.dumps spelling, which the server reads as KServe's json.loads does),
// and come back exactly in a binary answer.
func TestRoundTrip_JSONNonFiniteFloats(t *testing.T) {
	s := serve(t, &echo{name: "echo"})
	r, err := client.NewREST(client.WithProtocol(client.V2))
	require.NoError(t, err)
	f32 := []float32{1.5, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	f64 := []float64{math.Inf(-1), -0.25}
	resp, err := r.Infer(ctxT(t), s.URL, &infer.Request{Protocol: infer.ProtocolV2, ModelName: "echo",
		Inputs:     []*infer.Tensor{infer.NewTensor("a", []int64{4}, f32), infer.NewTensor("b", []int64{2}, f64)},
		Parameters: infer.Parameters{"binary_data_output": true}}, client.WithJSONData())
	require.NoError(t, err)
	require.Len(t, resp.Outputs, 2)
	got32 := resp.Outputs[0].Data.([]float32)
	require.Len(t, got32, 4)
	assert.Equal(t, f32[0], got32[0])
	assert.True(t, math.IsNaN(float64(got32[1])), "%v", got32[1])
	assert.Equal(t, f32[2:], got32[2:])
	assert.Equal(t, f64, resp.Outputs[1].Data)
}

func TestRoundTrip_AllInputsInOneRequest(t *testing.T) {
	s := serve(t, &echo{name: "echo"})
	for name, call := range clients(t, s) {
		t.Run(name, func(t *testing.T) {
			in := tensors(false)
			resp, err := call(ctxT(t), &infer.Request{Protocol: infer.ProtocolV2, ModelName: "echo", Inputs: in})
			require.NoError(t, err)
			require.Len(t, resp.Outputs, len(in))
			for i := range in {
				sameData(t, in[i], resp.Outputs[i])
			}
		})
	}
}

func TestREST_V1(t *testing.T) {
	s := serve(t, &echo{name: "echo"})
	c, err := client.NewREST()
	require.NoError(t, err)
	resp, err := c.Infer(ctxT(t), s.URL, &infer.Request{ModelName: "echo", IsJSON: true, Body: []byte(`{"instances":[[1,2],[3,4]]}`)})
	require.NoError(t, err)
	assert.JSONEq(t, `{"predictions":[[1,2],[3,4]]}`, string(resp.Body.(json.RawMessage)))

	resp, err = c.Infer(ctxT(t), s.URL+"/", &infer.Request{ModelName: "echo", Payload: map[string]any{"instances": []string{"a"}}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"predictions":["a"]}`, string(resp.Body.(json.RawMessage)))

	_, err = c.Infer(ctxT(t), s.URL, &infer.Request{ModelName: "echo", IsJSON: true, Body: []byte(`{"instances":1}`)})
	require.Error(t, err)
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
	assert.Equal(t, `Expected "instances" to be a list`, err.Error())
	var he *client.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusBadRequest, he.StatusCode)
	assert.Equal(t, `Expected "instances" to be a list, '400 Bad Request' for url '`+s.URL+`/v1/models/echo:predict'`, he.Error())
}

func TestErrorsKeepKindAndMessage(t *testing.T) {
	s := serve(t, &echo{name: "echo"})
	for name, call := range clients(t, s) {
		t.Run(name, func(t *testing.T) {
			_, err := call(ctxT(t), &infer.Request{Protocol: infer.ProtocolV2, ModelName: "nope", Inputs: tensors(true)[:1]})
			require.Error(t, err)
			assert.Equal(t, status.KindModelNotFound, status.KindOf(err))
			assert.Equal(t, "Model with name nope does not exist.", status.Message(err))
		})
	}
	// The gRPC status is still there for callers that want it.
	g, err := client.NewGRPC(s.GRPCAddr)
	require.NoError(t, err)
	defer g.Close()
	_, err = g.Infer(ctxT(t), &infer.Request{ModelName: "nope", Inputs: tensors(true)[:1]})
	st, ok := grpcstatus.FromError(err)
	require.True(t, ok)
	assert.Equal(t, "NotFound", st.Code().String())
}

// A server saying that its upstream did not answer in time (504,
// DEADLINE_EXCEEDED) is an upstream timeout with the server's message, not
// a deadline of the caller's.
func TestServerReportedTimeout(t *testing.T) {
	s := serve(t, &echo{name: "echo"})
	for name, call := range clients(t, s) {
		t.Run(name, func(t *testing.T) {
			_, err := call(ctxT(t), &infer.Request{ModelName: "echo", Parameters: infer.Parameters{"upstream_timeout": true}, Inputs: tensors(true)[:1]})
			require.Error(t, err)
			assert.Equal(t, status.KindUpstreamTimeout, status.KindOf(err))
			assert.Equal(t, "predictor p:1 (v2) did not answer within 1s (--predictor_request_timeout_seconds)", status.Message(err))
			assert.False(t, errors.Is(err, context.DeadlineExceeded), "no deadline of ours passed")
		})
	}
}

func TestHeadersBothWays(t *testing.T) {
	s := serve(t, &echo{name: "echo"})
	for name, call := range clients(t, s) {
		t.Run(name, func(t *testing.T) {
			var got http.Header
			_, err := call(ctxT(t), &infer.Request{ModelName: "echo", Inputs: tensors(true)[:1]},
				client.WithHeaders(http.Header{"X-Echo": {"hi"}}), client.CaptureResponseHeaders(&got))
			require.NoError(t, err)
			assert.Equal(t, "hi", got.Get("X-Echoed"))
		})
	}
}

func TestReadinessHelpers(t *testing.T) {
	slow := &echo{name: "slow", loadDelay: 300 * time.Millisecond}
	s := start(t, false, &echo{name: "echo"}, slow) // readiness is what is tested
	ctx := ctxT(t)

	g, err := client.NewGRPC(s.GRPCAddr)
	require.NoError(t, err)
	defer g.Close()
	v2, err := client.NewREST(client.WithProtocol(client.V2))
	require.NoError(t, err)
	v1, err := client.NewREST()
	require.NoError(t, err)

	require.NoError(t, g.WaitForModelReady(ctx, "echo", 10*time.Millisecond))
	// The slow model is still loading: not ready, not an error.
	ready, err := v2.IsModelReady(ctx, s.URL, "slow")
	require.NoError(t, err)
	assert.False(t, ready)
	ready, err = v1.IsModelReady(ctx, s.URL, "slow")
	require.NoError(t, err)
	assert.False(t, ready)
	ready, err = g.IsModelReady(ctx, "slow")
	require.NoError(t, err)
	assert.False(t, ready)

	require.NoError(t, v2.WaitForModelReady(ctx, s.URL, "slow", 10*time.Millisecond))
	for _, c := range []*client.RESTClient{v1, v2} {
		ready, err = c.IsModelReady(ctx, s.URL, "slow")
		require.NoError(t, err)
		assert.True(t, ready)
		live, err := c.IsServerLive(ctx, s.URL)
		require.NoError(t, err)
		assert.True(t, live)
	}
	ready, err = v2.IsServerReady(ctx, s.URL)
	require.NoError(t, err)
	assert.True(t, ready)
	_, err = v1.IsServerReady(ctx, s.URL)
	assert.EqualError(t, err, "Unsupported protocol v1.")

	live, err := g.IsServerLive(ctx)
	require.NoError(t, err)
	assert.True(t, live)
	ready, err = g.IsServerReady(ctx)
	require.NoError(t, err)
	assert.True(t, ready)

	_, err = v2.IsModelReady(ctx, s.URL, "nope")
	assert.Equal(t, status.KindModelNotFound, status.KindOf(err))
	_, err = g.IsModelReady(ctx, "nope")
	assert.Equal(t, status.KindModelNotFound, status.KindOf(err))

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	err = g.WaitForModelReady(short, "nope", 10*time.Millisecond)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "Model with name nope does not exist.")
}

func TestREST_BaseURLChecks(t *testing.T) {
	c, err := client.NewREST(client.WithProtocol(client.V2))
	require.NoError(t, err)
	for _, base := range []string{"localhost:8080", "ftp://host/", "/v2", "http://"} {
		_, err := c.Infer(context.Background(), base, &infer.Request{ModelName: "m"})
		assert.EqualError(t, err, `invalid base URL "`+base+`": want an absolute http:// or https:// URL`)
	}
	_, err = client.NewREST(client.WithProtocol("v3"))
	assert.EqualError(t, err, `unsupported REST protocol "v3": want v1 or v2`)
}

// flaky is a real HTTP server that answers 503 to the first n requests.
func flaky(t *testing.T, n int64) (string, *atomic.Int64) {
	var calls atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= n {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":"Model with name m is not ready."}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"predictions":[1]}`))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String(), &calls
}

func TestREST_RetriesOn503(t *testing.T) {
	base, calls := flaky(t, 2)
	c, err := client.NewREST(client.WithRESTRetries(2))
	require.NoError(t, err)
	resp, err := c.Infer(ctxT(t), base, &infer.Request{ModelName: "m", IsJSON: true, Body: []byte(`{"instances":[1]}`)})
	require.NoError(t, err)
	assert.JSONEq(t, `{"predictions":[1]}`, string(resp.Body.(json.RawMessage)))
	assert.Equal(t, int64(3), calls.Load())

	base, calls = flaky(t, 5)
	c, err = client.NewREST(client.WithRESTRetries(1))
	require.NoError(t, err)
	_, err = c.Infer(ctxT(t), base, &infer.Request{ModelName: "m", IsJSON: true, Body: []byte(`{"instances":[1]}`)})
	assert.Equal(t, status.KindUnavailable, status.KindOf(err))
	assert.Equal(t, "Model with name m is not ready. (2 attempts)", status.Message(err), "the last answer's message, and how many calls were made")
	assert.Equal(t, int64(2), calls.Load(), "one try and one retry")
}

// A 503 with Retry-After (what an overloaded kserve-gen server sends) is
// retried after the wait it asks for, not the shorter backoff; the HTTP
// date form works too.
func TestREST_RetryAfter(t *testing.T) {
	for name, value := range map[string]func() string{
		"seconds": func() string { return "1" },
		"date":    func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) },
	} {
		t.Run(name, func(t *testing.T) {
			var calls, first, waited atomic.Int64 // the race detector does not see the sockets order them
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if calls.Add(1) == 1 {
					first.Store(time.Now().UnixNano())
					w.Header().Set("Retry-After", value())
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = w.Write([]byte(`{"error":"Server overloaded"}`))
					return
				}
				waited.Store(time.Now().UnixNano() - first.Load())
				_, _ = w.Write([]byte(`{"predictions":[1]}`))
			}))
			t.Cleanup(srv.Close)
			c, err := client.NewREST(client.WithRESTRetries(1))
			require.NoError(t, err)
			_, err = c.Infer(ctxT(t), srv.URL, &infer.Request{ModelName: "m", IsJSON: true, Body: []byte(`{"instances":[1]}`)})
			require.NoError(t, err)
			assert.Equal(t, int64(2), calls.Load())
			// The backoff alone would be 100 ms; an HTTP date has one-second
			// resolution, so its wait is at least one second.
			assert.GreaterOrEqual(t, time.Duration(waited.Load()), 900*time.Millisecond)
		})
	}
}

func TestREST_RetriesConnectionErrors(t *testing.T) {
	// A port nobody listens on yet; the server appears after the first tries.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	c, err := client.NewREST(client.WithRESTRetries(0))
	require.NoError(t, err)
	_, err = c.Infer(ctxT(t), "http://"+addr, &infer.Request{ModelName: "m", IsJSON: true, Body: []byte(`{}`)})
	assert.Equal(t, status.KindUnavailable, status.KindOf(err))
	assert.Regexp(t, `^could not reach http://`+addr+`/v1/models/m:predict: dial tcp `+addr+`: connect: connection refused$`, status.Message(err))

	go func() {
		time.Sleep(250 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"predictions":[]}`))
		})}
		t.Cleanup(func() { srv.Close() })
		_ = srv.Serve(ln)
	}()
	c, err = client.NewREST(client.WithRESTRetries(5))
	require.NoError(t, err)
	resp, err := c.Infer(ctxT(t), "http://"+addr, &infer.Request{ModelName: "m", IsJSON: true, Body: []byte(`{}`)})
	require.NoError(t, err)
	assert.JSONEq(t, `{"predictions":[]}`, string(resp.Body.(json.RawMessage)))
}

func TestGRPC_RetriesUnavailable(t *testing.T) {
	m := &echo{name: "echo"}
	s := serve(t, m)
	req := func() *infer.Request {
		return &infer.Request{ModelName: "echo", Parameters: infer.Parameters{"fail": int64(2)}, Inputs: tensors(true)[:1]}
	}
	g, err := client.NewGRPC(s.GRPCAddr, client.WithGRPCRetries(3))
	require.NoError(t, err)
	defer g.Close()
	require.NoError(t, g.WaitForModelReady(ctxT(t), "echo", 10*time.Millisecond))
	_, err = g.Infer(ctxT(t), req())
	require.NoError(t, err)
	assert.Equal(t, int64(3), m.calls.Load(), "two UNAVAILABLE answers retried")

	m.calls.Store(0)
	g0, err := client.NewGRPC(s.GRPCAddr, client.WithGRPCRetries(0))
	require.NoError(t, err)
	defer g0.Close()
	_, err = g0.Infer(ctxT(t), req())
	assert.Equal(t, status.KindUnavailable, status.KindOf(err))
	assert.Equal(t, "call 1 fails", status.Message(err))
	assert.Equal(t, int64(1), m.calls.Load())
}

// A call that ends because a context did is a status.Error whose message
// names the call, its target and what ended it; it still wraps the
// context's error.
func TestTimeouts(t *testing.T) {
	s := serve(t, &echo{name: "echo"})
	req := &infer.Request{ModelName: "echo", Parameters: infer.Parameters{"sleep_ms": int64(2000)}, Inputs: tensors(true)[:1]}
	target := map[string]string{"grpc": "ModelInfer to " + s.GRPCAddr, "rest": "POST " + s.URL + "/v2/models/echo/infer"}
	for name, call := range clients(t, s) {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := call(ctxT(t), req, client.WithCallTimeout(50*time.Millisecond))
			require.Error(t, err)
			assert.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
			assert.Less(t, time.Since(start), 1500*time.Millisecond, "the call gave up at its timeout, not when the model finished")
			assert.Equal(t, status.KindUpstreamTimeout, status.KindOf(err))
			assert.Equal(t, target[name]+": no answer within 50ms", status.Message(err))

			// The caller's deadline, not the client's timeout.
			ctx, cancel := context.WithTimeout(ctxT(t), 50*time.Millisecond)
			defer cancel()
			_, err = call(ctx, req)
			assert.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
			assert.Equal(t, status.KindUpstreamTimeout, status.KindOf(err))
			assert.Equal(t, target[name]+": no answer before the caller's deadline", status.Message(err))

			// The caller gave up.
			ctx, cancel = context.WithCancel(ctxT(t))
			time.AfterFunc(50*time.Millisecond, cancel)
			_, err = call(ctx, req)
			assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
			assert.Equal(t, target[name]+": cancelled", status.Message(err))
		})
	}
}

// paramEcho records the parameters it gets (request, first input, first
// requested output) and answers them as the response's and its output's.
type paramEcho struct {
	mu  sync.Mutex
	got []infer.Parameters
}

func (m *paramEcho) Name() string               { return "params" }
func (m *paramEcho) Load(context.Context) error { return nil }
func (m *paramEcho) Ready() bool                { return true }
func (m *paramEcho) Predict(_ context.Context, req *infer.Request, _ *model.Headers) (*infer.Response, error) {
	m.mu.Lock()
	m.got = []infer.Parameters{req.Parameters, req.Inputs[0].Parameters, req.Outputs[0].Parameters}
	m.mu.Unlock()
	out := *req.Inputs[0]
	out.Name = req.Outputs[0].Name
	return &infer.Response{Parameters: req.Parameters, Outputs: []*infer.Tensor{&out}}, nil
}

// Parameters keep their types through both clients and both encodings, as
// far as the model and back: a float that happens to be whole (a
// temperature of 1.0) reaches the model as float64, not as the integer 1
// that encoding/json's "1" decodes to, and an integer above MaxInt64 stays
// a uint64 (gRPC's uint64_param) instead of being rounded to a float.
func TestParametersKeepTheirTypes(t *testing.T) {
	m := &paramEcho{}
	s := serve(t, m)
	sent := infer.Parameters{"temperature": 1.0, "scale": -2.5e20, "top_k": int64(3), "stream": false, "user": "u", "seed": uint64(math.MaxUint64)}
	for name, call := range clients(t, s) {
		for _, json := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/json=%v", name, json), func(t *testing.T) {
				var opts []client.InferOption
				if json {
					opts = append(opts, client.WithJSONData())
				}
				in := infer.NewTensor("x", []int64{1}, []float32{1})
				in.Parameters = infer.Parameters{"weight": 2.0}
				resp, err := call(ctxT(t), &infer.Request{ModelName: "params", Parameters: sent, Inputs: []*infer.Tensor{in},
					Outputs: []infer.RequestedOutput{{Name: "y", Parameters: infer.Parameters{"threshold": 0.0}}}}, opts...)
				require.NoError(t, err)
				m.mu.Lock()
				got := m.got
				m.mu.Unlock()
				require.Len(t, got, 3)
				for k, v := range sent {
					assert.Equal(t, v, got[0][k], "request parameter %s", k)
					assert.Equal(t, v, resp.Parameters[k], "response parameter %s", k)
				}
				assert.Equal(t, 2.0, got[1]["weight"])
				assert.Equal(t, 0.0, got[2]["threshold"])
				require.Len(t, resp.Outputs, 1)
				assert.Equal(t, 2.0, resp.Outputs[0].Parameters["weight"])
			})
		}
	}
}
