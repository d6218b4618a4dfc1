package runtime_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// answerModel answers every request with what answer makes of it: the
// shapes of answer a model can get wrong.
type answerModel struct {
	name   string
	answer func(*infer.Request) (*infer.Response, error)
}

func (m *answerModel) Name() string               { return m.name }
func (m *answerModel) Load(context.Context) error { return nil }
func (m *answerModel) Ready() bool                { return true }
func (m *answerModel) Predict(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	return m.answer(req)
}

// v1ToV2 is a transformer's Preprocess that builds the predictor's v2
// request afresh from v1 instances, as KServe's transformer guide does.
type v1ToV2 struct{ answerModel }

func (m *v1ToV2) Preprocess(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Request, error) {
	return &infer.Request{Protocol: infer.ProtocolV2, Inputs: []*infer.Tensor{
		infer.NewTensor("x", []int64{2, 2}, []float32{1, 2, 3, 4}),
	}}, nil
}

const v2Body = `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`

// A nil tensor in a model's Outputs is a 500 naming the model on every
// transport. It used to panic in the encoders, outside the recovery around
// model code: REST dropped the connection (the client saw EOF), and gRPC
// crashed the whole server.
func TestNilOutputTensorIs500(t *testing.T) {
	m := &answerModel{name: "holes", answer: func(*infer.Request) (*infer.Response, error) {
		return &infer.Response{Outputs: []*infer.Tensor{infer.NewTensor("y", []int64{1}, []float32{1}), nil}}, nil
	}}
	rt := runtimeStartWithGRPC(t, m)
	const want = "model holes returned a nil output tensor (Outputs[1])"
	for _, path := range []string{"/v2/models/holes/infer", "/v1/models/holes:predict"} {
		body := v2Body
		if path[2] == '1' {
			body = `{"instances":[1]}`
		}
		code, _, got := do(t, "POST", rt.URL+path, "application/json", []byte(body))
		assert.Equal(t, 500, code, path)
		assert.Equal(t, `{"error":"`+want+`"}`, got, path)
	}
	c, err := client.NewGRPC(rt.GRPCAddr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Infer(context.Background(), &infer.Request{ModelName: "holes", Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{1}, []float32{1})}})
	require.Error(t, err)
	st, _ := grpcstatus.FromError(err)
	assert.Equal(t, codes.Internal, st.Code())
	assert.Equal(t, want, st.Message())
	// The server is still serving.
	code, _, _ := do(t, "GET", rt.URL+"/v2/health/live", "", nil)
	assert.Equal(t, 200, code)
}

// A v1 body answered to a v2 REST request is a 500 saying so, as over
// gRPC; it used to be a 200 with "outputs": [], the body silently dropped.
func TestV1BodyToV2RequestIs500(t *testing.T) {
	m := &answerModel{name: "v1only", answer: func(*infer.Request) (*infer.Response, error) {
		return &infer.Response{Body: map[string]any{"predictions": []any{1}}}, nil
	}}
	rt := runtimeStartWithGRPC(t, m)
	code, _, got := do(t, "POST", rt.URL+"/v2/models/v1only/infer", "application/json", []byte(v2Body))
	assert.Equal(t, 500, code)
	assert.Equal(t, `{"error":"model v1only returned a v1 response body to a v2 REST request; return tensors (infer.PredictResponse)"}`, got)
}

// A v1 request that a Preprocess turned into a new v2 request, answered with
// tensors, gets the first output's rows as its predictions, as one whose
// Preprocess kept it v1 does. It used to be a 200 with an empty body: the
// fallback looked at the preprocessed request's protocol.
func TestV1RequestPreprocessedToV2GetsPredictions(t *testing.T) {
	m := &v1ToV2{answerModel{name: "tr", answer: func(req *infer.Request) (*infer.Response, error) {
		x := req.Input("x")
		return &infer.Response{Outputs: []*infer.Tensor{infer.NewTensor("y", x.Shape, x.Data.([]float32))}}, nil
	}}}
	rt := runtimeStartWithGRPC(t, m)
	code, _, got := do(t, "POST", rt.URL+"/v1/models/tr:predict", "application/json", []byte(`{"instances":[[1,2],[3,4]]}`))
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"predictions":[[1.0,2.0],[3.0,4.0]]}`, got)
}

func runtimeStartWithGRPC(t *testing.T, m runtime.Model) *runtimetest.Server {
	t.Helper()
	return runtimetest.Start(t, m, runtimetest.WithLogOutput(io.Discard, io.Discard))
}

// runtime.PredictResponse serves both protocols from one result: a tensor
// is a v1 answer's rows (it used to be the Go struct's fields,
// {"predictions":{"Name":…,"Data":…}}, BYTES as base64), and a []string is
// a v2 BYTES output (it used to be a 500 "unsupported result type").
func TestPredictResponseFromOneResult(t *testing.T) {
	tensor := &answerModel{name: "tensor", answer: func(req *infer.Request) (*infer.Response, error) {
		return runtime.PredictResponse(req, "tensor", infer.NewStrings("label", []int64{2, 1}, []string{"cat", "chat noir"}))
	}}
	strs := &answerModel{name: "strings", answer: func(req *infer.Request) (*infer.Response, error) {
		return runtime.PredictResponse(req, "strings", []string{"cat", "é"})
	}}
	rt := runtimetest.StartModels(t, []runtime.Model{tensor, strs}, runtimetest.WithLogOutput(io.Discard, io.Discard))
	code, _, got := do(t, "POST", rt.URL+"/v1/models/tensor:predict", "application/json", []byte(`{"instances":[1,2]}`))
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"predictions":[["cat"],["chat noir"]]}`, got)
	code, _, got = do(t, "POST", rt.URL+"/v2/models/strings/infer", "application/json", []byte(`{"id":"1",`+v2Body[1:]))
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"model_name":"strings","model_version":null,"id":"1","parameters":null,"outputs":[{"name":"output-0","shape":[2],"datatype":"BYTES","parameters":null,"data":["cat","é"]}]}`, got)
	code, _, got = do(t, "POST", rt.URL+"/v1/models/strings:predict", "application/json", []byte(`{"instances":[1,2]}`))
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"predictions":["cat","é"]}`, got)
}

// Run refuses a nil model, typed or not, with an error naming it, before
// it listens; it used to panic (a nil interface in Run's registration, a
// nil *T in the model's own Name).
func TestRunRefusesNilModels(t *testing.T) {
	var typed *answerModel
	for _, tc := range []struct {
		models []runtime.Model
		want   string
	}{
		{[]runtime.Model{&answerModel{name: "a"}, nil}, "model 2 of 2 passed to Run is nil"},
		{[]runtime.Model{typed}, "model 1 of 1 passed to Run is a nil *runtime_test.answerModel"},
	} {
		srv := runtime.NewServer(defaultConfig(), runtime.WithLogOutput(io.Discard, io.Discard))
		err := srv.Run(context.Background(), tc.models...)
		require.Error(t, err)
		assert.Equal(t, tc.want, err.Error())
	}
}

// A Server runs once: a second Run is an error and leaves the first one
// serving. It used to take over the first Run's listeners, which then
// stopped with "accept tcp …: use of closed network connection".
func TestRunTwiceIsAnError(t *testing.T) {
	rt := runtimetest.Start(t, &answerModel{name: "once"}, runtimetest.WithLogOutput(io.Discard, io.Discard))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := rt.Server.Run(ctx, &answerModel{name: "again"})
	require.Error(t, err)
	assert.Equal(t, "Server.Run called twice: a Server runs once; make another with NewServer", err.Error())
	code, _, _ := do(t, "GET", rt.URL+"/v2/health/live", "", nil)
	assert.Equal(t, 200, code)
	require.NoError(t, rt.Stop())
}

// BYTES that are not UTF-8 in a v1 answer are a 500 saying so, as in a v2
// JSON answer; they used to reach the client as "\ufffd", the bytes lost
// without a word.
func TestV1AnswerWithBytesThatAreNotUTF8(t *testing.T) {
	m := &answerModel{name: "tok", answer: func(req *infer.Request) (*infer.Response, error) {
		return runtime.PredictResponse(req, "tok", infer.NewTensor("y", []int64{2}, [][]byte{[]byte("ok"), {0xff, 'a'}}))
	}}
	rt := runtimetest.Start(t, m, runtimetest.WithLogOutput(io.Discard, io.Discard))
	code, _, got := do(t, "POST", rt.URL+"/v1/models/tok:predict", "application/json", []byte(`{"instances":[1,2]}`))
	assert.Equal(t, 500, code)
	assert.Equal(t, `{"error":"Failed to encode \"b'\\xffa'\" using UTF-8: JSON carries text only; send other bytes as a Raw answer, base64 text, or the v2 binary extension"}`, got)
}

// slowLoader's Load takes a while to return after its context is
// cancelled (it cleans up); Unload records whether Load had returned.
type slowLoader struct {
	answerModel
	started        chan struct{}
	loadReturned   atomic.Bool
	unloadedDuring atomic.Bool // Unload ran while Load had not returned
	unloaded       atomic.Bool
}

func (m *slowLoader) Load(ctx context.Context) error {
	close(m.started)
	<-ctx.Done()
	time.Sleep(300 * time.Millisecond)
	m.loadReturned.Store(true)
	return ctx.Err()
}

func (m *slowLoader) Ready() bool { return m.loadReturned.Load() }

func (m *slowLoader) Unload(context.Context) error {
	m.unloaded.Store(true)
	m.unloadedDuring.Store(!m.loadReturned.Load())
	return nil
}

// A server stopped while a model loads cancels the Load's context and
// unloads the model only once Load has returned. It used to call Unload at
// once, while Load still ran, and Run returned before Load did.
func TestStopWhileLoadingUnloadsAfterLoadReturns(t *testing.T) {
	m := &slowLoader{answerModel: answerModel{name: "slow"}, started: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg := defaultConfig()
	cfg.EnableGRPC = false
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(io.Discard, io.Discard))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, m) }()
	<-m.started
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	assert.True(t, m.loadReturned.Load(), "Run returned before Load did")
	assert.True(t, m.unloaded.Load(), "not unloaded")
	assert.False(t, m.unloadedDuring.Load(), "unloaded while Load ran")
}

// countingLoader's Load takes a while and records how many run at once.
type countingLoader struct {
	answerModel
	running, most, calls atomic.Int32
	started              chan struct{}
	loaded               atomic.Bool
}

func (m *countingLoader) Load(context.Context) error {
	if m.calls.Add(1) == 1 {
		close(m.started)
	}
	n := m.running.Add(1)
	if n > m.most.Load() {
		m.most.Store(n)
	}
	time.Sleep(300 * time.Millisecond)
	m.running.Add(-1)
	m.loaded.Store(true)
	return nil
}

func (m *countingLoader) Ready() bool { return m.loaded.Load() }

// A repository load request that arrives while the server is still loading
// the model at start-up waits for that Load instead of running a second
// one at the same time (the server listens while its models load). It used
// to run both at once.
func TestRepositoryLoadDuringStartupLoadWaits(t *testing.T) {
	m := &countingLoader{answerModel: answerModel{name: "big"}, started: make(chan struct{})}
	cfg := defaultConfig()
	rt := runtimetest.StartModels(t, []runtime.Model{m}, runtimetest.WithoutWait(),
		runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithConfig(func(c *config.Config) { *c = cfg; c.EnableGRPC = false }))
	<-m.started
	code, _, body := do(t, "POST", rt.URL+"/v2/repository/models/big/load", "application/json", nil)
	assert.Equal(t, 200, code, body)
	assert.Equal(t, int32(2), m.calls.Load())
	assert.Equal(t, int32(1), m.most.Load(), "Loads ran at the same time")
}

// holey's Preprocess leaves a hole in the inputs.
type holey struct{ answerModel }

func (m *holey) Preprocess(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Request, error) {
	req.Inputs = append(req.Inputs, nil)
	return req, nil
}

// A nil tensor in the inputs a Preprocess returns is a 500 naming the model
// and the step; it used to be "panic : runtime error: invalid memory
// address or nil pointer dereference".
func TestPreprocessNilInputIs500NamingIt(t *testing.T) {
	m := &holey{answerModel{name: "holey", answer: func(req *infer.Request) (*infer.Response, error) {
		return runtime.PredictResponse(req, "holey", []float32{1})
	}}}
	rt := runtimetest.Start(t, m, runtimetest.WithLogOutput(io.Discard, io.Discard))
	code, _, got := do(t, "POST", rt.URL+"/v2/models/holey/infer", "application/json", []byte(v2Body))
	assert.Equal(t, 500, code)
	assert.Equal(t, `{"error":"model holey: Preprocess returned a nil input tensor (Inputs[1])"}`, got)
}

// forgetful's Load succeeds but never makes the model ready.
type forgetful struct{ answerModel }

func (m *forgetful) Ready() bool { return false }

// A model whose Load returns nil but which is not ready is served (it may
// turn ready later) with a WARNING saying so; it used to be logged as
// loaded and then fail every probe without a word.
func TestLoadedButNotReadyIsAWarning(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg := defaultConfig()
	cfg.EnableGRPC = false
	var stderr runtimetest.LogBuffer
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(io.Discard, &stderr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, &forgetful{answerModel{name: "lazy"}}) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	code, _, body := do(t, "GET", "http://"+ln.Addr().String()+"/v2/models/lazy/ready", "", nil)
	assert.Equal(t, 503, code, body)
	cancel()
	require.NoError(t, <-done)
	assert.Regexp(t, `(?m) kserve WARNING \[server\.go:\S+\] Model lazy loaded but is not ready: readiness probes and requests get 503 until its Ready reports true$`, stderr.String())
}

// reloader's second Load (a repository load) is slow; Unload records
// whether it ran during that Load.
type reloader struct {
	answerModel
	loads          atomic.Int32
	reloading      chan struct{}
	inLoad         atomic.Bool
	unloadedDuring atomic.Bool
}

func (m *reloader) Load(context.Context) error {
	if m.loads.Add(1) == 2 {
		m.inLoad.Store(true)
		close(m.reloading)
		time.Sleep(500 * time.Millisecond)
		m.inLoad.Store(false)
	}
	return nil
}

func (m *reloader) Unload(context.Context) error {
	m.unloadedDuring.Store(m.inLoad.Load())
	return nil
}

// A server stopped while a repository load request still runs the model's
// Load (its connection closed when the grace period ended) unloads the
// model once that Load has returned; it used to unload it during the Load.
func TestStopDuringARepositoryLoadUnloadsAfterIt(t *testing.T) {
	m := &reloader{answerModel: answerModel{name: "re"}, reloading: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg := defaultConfig()
	cfg.EnableGRPC = false
	cfg.GracePeriod = 0
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(io.Discard, io.Discard))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, m) }()
	<-srv.Ready()
	go http.Post("http://"+ln.Addr().String()+"/v2/repository/models/re/load", "application/json", nil) //nolint:errcheck // its connection is cut
	<-m.reloading
	cancel()
	require.NoError(t, <-done)
	assert.False(t, m.unloadedDuring.Load(), "unloaded during the repository Load")
}

// A model's shape check (infer.InputShaped) reaches the client as KServe's
// 400, {"error": reason}, over REST, and as INVALID_ARGUMENT with the same
// reason over gRPC, naming the input and both shapes.
func TestInputShapedIs400NamingTheInput(t *testing.T) {
	m := &answerModel{name: "img", answer: func(req *infer.Request) (*infer.Response, error) {
		x, err := infer.InputShaped[float32](req, "x", -1, 3)
		if err != nil {
			return nil, err
		}
		return &infer.Response{Outputs: []*infer.Tensor{infer.NewTensor("y", req.Input("x").Shape, x)}}, nil
	}}
	rt := runtimeStartWithGRPC(t, m)
	const want = `input "x" has shape [1] (rank 1), but the model expects rank 2: [-1, 3]`
	code, _, got := do(t, "POST", rt.URL+"/v2/models/img/infer", "application/json", []byte(v2Body))
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"input \"x\" has shape [1] (rank 1), but the model expects rank 2: [-1, 3]"}`, got)
	code, _, got = do(t, "POST", rt.URL+"/v2/models/img/infer", "application/json",
		[]byte(`{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]}]}`))
	assert.Equal(t, 200, code, got)

	c, err := client.NewGRPC(rt.GRPCAddr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Infer(context.Background(), &infer.Request{ModelName: "img", Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{1}, []float32{1})}})
	require.Error(t, err)
	st, _ := grpcstatus.FromError(err)
	assert.Equal(t, codes.InvalidArgument, st.Code())
	assert.Equal(t, want, st.Message())
}

// A model may change its request's input data in place and answer with it
// (infer.Tensor documents why that is safe outside batch): the answer is
// the changed data, whether the input arrived as JSON, as the binary
// extension's raw bytes (which alias the request body) or over gRPC.
func TestModelMayChangeItsInputsInPlace(t *testing.T) {
	m := &answerModel{name: "double", answer: func(req *infer.Request) (*infer.Response, error) {
		x, err := infer.InputShaped[float32](req, "x", -1)
		if err != nil {
			return nil, err
		}
		for i := range x {
			x[i] *= 2
		}
		return &infer.Response{Outputs: []*infer.Tensor{infer.NewTensor("y", req.Input("x").Shape, x)}}, nil
	}}
	rt := runtimeStartWithGRPC(t, m)
	const want = `{"model_name":"double","model_version":null,"id":"1","parameters":null,"outputs":[{"name":"y","shape":[2],"datatype":"FP32","parameters":null,"data":[3.0,-4.0]}]}`
	code, _, got := do(t, "POST", rt.URL+"/v2/models/double/infer", "application/json",
		[]byte(`{"id":"1","inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1.5,-2]}]}`))
	assert.Equal(t, 200, code)
	assert.Equal(t, want, got)

	header := `{"id":"1","inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}`
	body := append([]byte(header), 0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0) // 1.5, -2 little-endian
	code, _, got = do(t, "POST", rt.URL+"/v2/models/double/infer", "application/octet-stream", body,
		"Inference-Header-Content-Length", strconv.Itoa(len(header)))
	assert.Equal(t, 200, code)
	assert.Equal(t, want, got)

	c, err := client.NewGRPC(rt.GRPCAddr)
	require.NoError(t, err)
	defer c.Close()
	resp, err := c.Infer(context.Background(), &infer.Request{ModelName: "double", Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{2}, []float32{1.5, -2})}})
	require.NoError(t, err)
	require.Len(t, resp.Outputs, 1)
	assert.Equal(t, []float32{3, -4}, resp.Outputs[0].Data)
}
