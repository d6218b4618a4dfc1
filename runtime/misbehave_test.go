package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// panicky is a model whose every hook outside the pipeline can panic: Load
// (after the first, start-up one), Unload, Ready and its metadata.
type panicky struct {
	loads        atomic.Int32
	ready        atomic.Bool
	panicReady   atomic.Bool
	panicUnload  atomic.Bool
	panicPredict atomic.Bool
	panicMeta    atomic.Bool
}

func (m *panicky) Name() string { return "panicky" }
func (m *panicky) Load(context.Context) error {
	if m.loads.Add(1) > 1 {
		panic("weights file is corrupt")
	}
	m.ready.Store(true)
	return nil
}
func (m *panicky) Ready() bool {
	if m.panicReady.Load() {
		panic("readiness check exploded")
	}
	return m.ready.Load()
}
func (m *panicky) Unload(context.Context) error {
	if m.panicUnload.Load() {
		panic("unload exploded")
	}
	m.ready.Store(false)
	return nil
}
func (m *panicky) Predict(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	if m.panicPredict.Load() {
		var s []int
		_ = s[len(req.Inputs)+2] // an index out of range, as real model code panics
	}
	return runtime.PredictResponse(req, "panicky", infer.NewTensor("y", []int64{1}, []float32{1}))
}
func (m *panicky) InputsMetadata() []runtime.TensorMetadata {
	if m.panicMeta.Load() {
		panic("metadata exploded")
	}
	return nil
}
func (m *panicky) OutputsMetadata() []runtime.TensorMetadata { return nil }

// startLogged starts m on a test server whose log lines go to the
// returned buffer (those of the logging configuration's own streams are
// discarded).
func startLogged(t *testing.T, m runtime.Model, opts ...runtimetest.Option) (*runtimetest.Server, *runtime.LogBuffer) {
	t.Helper()
	logs := &runtime.LogBuffer{}
	opts = append(opts, runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithServerOptions(runtime.WithLogger(slog.New(slog.NewTextHandler(logs, nil)))))
	return runtimetest.Start(t, m, opts...), logs
}

// assertNotReadyEverywhere checks that every REST readiness and metadata
// path, and a v1 predict, answer the 503 of model name not ready with
// reason (KServe's "Model with name m is not ready. <reason>").
func assertNotReadyEverywhere(t *testing.T, srv *runtimetest.Server, name, reason string) {
	t.Helper()
	for path, want := range map[string]string{
		"/v2/health/ready":              "Server is not ready. " + reason,
		"/v1/models/" + name:            reason,
		"/v2/models/" + name + "/ready": reason,
		"/v2/models/" + name:            reason,
	} {
		st, hdr, body := do(t, "GET", srv.URL+path, "", nil)
		assert.Equal(t, 503, st, path)
		assert.Equal(t, "application/json", hdr.Get("Content-Type"), path)
		assert.Equal(t, `{"error":"`+want+`"}`, body, path)
	}
	st, _, body := do(t, "POST", srv.URL+"/v1/models/"+name+":predict", "application/json", []byte(`{"instances":[1]}`))
	assert.Equal(t, 503, st)
	assert.Equal(t, `{"error":"`+reason+`"}`, body)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func grpcClient(t *testing.T, addr string) pb.GRPCInferenceServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return pb.NewGRPCInferenceServiceClient(conn)
}

func grpcErr(t *testing.T, err error) (codes.Code, string) {
	t.Helper()
	require.Error(t, err)
	s, ok := grpcstatus.FromError(err)
	require.True(t, ok, "not a gRPC status: %v", err)
	return s.Code(), s.Message()
}

// A panic in Load, Unload, Ready or the metadata of a model, hooks the
// transports call outside the predict pipeline, is answered as the error
// it is, over REST and gRPC alike, and the server serves on: grpc-go does
// not recover a handler's panic, so one such panic used to end the process
// (and over REST, net/http cut the connection without an answer).
func TestModelPanicOutsidePipeline_AnsweredAndServerServesOn(t *testing.T) {
	m := &panicky{}
	srv := runtimetest.Start(t, m, runtimetest.WithGRPC(), runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithServerOptions(runtime.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	c := grpcClient(t, srv.GRPCAddr)
	ctx := ctxT(t)

	const loadMsg = "Model with name panicky is not ready. Error type: panic error msg: weights file is corrupt"
	_, err := c.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "panicky"})
	code, msg := grpcErr(t, err)
	assert.Equal(t, codes.Unavailable, code)
	assert.Equal(t, loadMsg, msg)
	st, _, body := do(t, "POST", srv.URL+"/v2/repository/models/panicky/load", "", nil)
	assert.Equal(t, 503, st)
	assert.Equal(t, `{"error":"`+loadMsg+`"}`, body)

	// A Ready that panics is a model not ready, the panic its reason.
	m.panicReady.Store(true)
	mr, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "panicky"})
	require.NoError(t, err)
	assert.False(t, mr.GetReady())
	sr, err := c.ServerReady(ctx, &pb.ServerReadyRequest{})
	require.NoError(t, err)
	assert.False(t, sr.GetReady())
	_, err = c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "panicky"})
	code, msg = grpcErr(t, err)
	assert.Equal(t, codes.Unavailable, code)
	assert.Equal(t, "Model with name panicky is not ready. panic : readiness check exploded", msg)
	m.panicReady.Store(false)

	m.panicUnload.Store(true)
	_, err = c.RepositoryModelUnload(ctx, &pb.RepositoryModelUnloadRequest{ModelName: "panicky"})
	code, msg = grpcErr(t, err)
	assert.Equal(t, codes.Internal, code)
	assert.Equal(t, "panic : unload exploded", msg)
	m.panicUnload.Store(false)

	live, err := c.ServerLive(ctx, &pb.ServerLiveRequest{})
	require.NoError(t, err, "the server is gone")
	assert.True(t, live.GetLive())
	st, _, _ = do(t, "GET", srv.URL+"/v2/health/live", "", nil)
	assert.Equal(t, 200, st)
}

// A model's panic is logged with its stack, as KServe logs an exception
// with its traceback: "panic : index out of range" alone does not say
// where.
func TestModelPanic_LoggedWithStack(t *testing.T) {
	m := &panicky{}
	m.panicPredict.Store(true)
	srv, logs := startLogged(t, m, runtimetest.WithGRPC())
	const want = "panic : runtime error: index out of range [2] with length 0"
	st, _, body := do(t, "POST", srv.URL+"/v1/models/panicky:predict", "application/json", []byte(`{"instances":[1]}`))
	assert.Equal(t, 500, st)
	assert.Equal(t, `{"error":"`+want+`"}`, body)
	_, err := grpcClient(t, srv.GRPCAddr).ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "panicky"})
	code, msg := grpcErr(t, err)
	assert.Equal(t, codes.Internal, code)
	assert.Equal(t, want, msg)

	// Both lines name the model's method and its file.
	lines := logs.String()
	for _, prefix := range []string{`msg="Exception: ` + want, `msg="Internal server error: ` + want + `, grpc_method: /inference.GRPCInferenceService/ModelInfer`} {
		i := bytes.Index([]byte(lines), []byte(prefix))
		if !assert.GreaterOrEqual(t, i, 0, "no line starting %s in\n%s", prefix, lines) {
			continue
		}
		line := lines[i:]
		if j := bytes.IndexByte([]byte(line), '\n'); j >= 0 {
			line = line[:j]
		}
		assert.Contains(t, line, `runtime_test.(*panicky).Predict`)
		assert.Contains(t, line, `misbehave_test.go:`)
	}
}

// sloppy makes the mistakes of a model under development, the one its
// X-Mistake request header (or gRPC metadata) names.
type sloppy struct{}

func (sloppy) Name() string               { return "sloppy" }
func (sloppy) Load(context.Context) error { return nil }
func (sloppy) Ready() bool                { return true }
func (sloppy) Preprocess(_ context.Context, req *infer.Request, h *runtime.Headers) (*infer.Request, error) {
	if h.Get("X-Mistake") == "nil request" {
		return nil, nil
	}
	return req, nil
}
func (sloppy) Predict(_ context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	switch h.Get("X-Mistake") {
	case "nil response":
		return nil, nil
	case "short output":
		return runtime.PredictResponse(req, "sloppy", infer.NewTensor("y", []int64{2, 3}, []float32{1, 2}))
	case "bad header":
		// A value made of request data, say, with control characters.
		h.Set("X-Label", "cat\x00\ndog")
	case "unencodable":
		if req.Protocol == infer.ProtocolV1 {
			return &infer.Response{Body: map[string]any{"predictions": make(chan int)}}, nil
		}
		resp, err := runtime.PredictResponse(req, "sloppy", infer.NewTensor("y", []int64{1}, []float32{1}))
		resp.Parameters = infer.Parameters{"ch": make(chan int)}
		return resp, err
	case "unknown datatype":
		return runtime.PredictResponse(req, "sloppy", &infer.Tensor{Name: "y", Datatype: "FP8", Shape: []int64{1}, Data: []float32{1}})
	}
	return runtime.PredictResponse(req, "sloppy", infer.NewTensor("y", []int64{1}, []float32{1}))
}
func (sloppy) Postprocess(_ context.Context, resp *infer.Response, h *runtime.Headers) (*infer.Response, error) {
	if h.Get("X-Mistake") == "nil postprocess" {
		return nil, nil
	}
	return resp, nil
}

// A model's own mistake is a 500 (INTERNAL) that names the model and the
// mistake in the same words over REST v1, REST v2 and gRPC, and not in the
// generic handler's shape for an error without a kind ("Error : ...") nor
// as an input's fault.
func TestModelMistakes_SameMessageOnEveryTransport(t *testing.T) {
	srv := runtimetest.Start(t, sloppy{}, runtimetest.WithGRPC(), runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithServerOptions(runtime.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	c := grpcClient(t, srv.GRPCAddr)
	cases := []struct{ mistake, want string }{
		{"nil request", "model sloppy: Preprocess returned a nil request"},
		{"nil response", "model sloppy returned a nil response"},
		{"nil postprocess", "model sloppy: Postprocess returned a nil response"},
	}
	const v2 = `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`
	for _, tc := range cases {
		t.Run(tc.mistake, func(t *testing.T) {
			st, _, body := do(t, "POST", srv.URL+"/v1/models/sloppy:predict", "application/json", []byte(`{"instances":[1]}`), "X-Mistake", tc.mistake)
			assert.Equal(t, 500, st)
			assert.Equal(t, `{"error":"`+tc.want+`"}`, body, "v1")
			st, _, body = do(t, "POST", srv.URL+"/v2/models/sloppy/infer", "application/json", []byte(v2), "X-Mistake", tc.mistake)
			assert.Equal(t, 500, st)
			assert.Equal(t, `{"error":"`+tc.want+`"}`, body, "v2")
			ctx := metadata.AppendToOutgoingContext(ctxT(t), "x-mistake", tc.mistake)
			_, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "sloppy", Inputs: []*pb.ModelInferRequest_InferInputTensor{
				{Name: "x", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}})
			code, msg := grpcErr(t, err)
			assert.Equal(t, codes.Internal, code)
			assert.Equal(t, tc.want, msg, "gRPC")
		})
	}
}

// An output that contradicts itself (data of another length than its
// shape, a datatype that does not exist) is the model's fault, and every
// transport says so in the same words: REST used to answer the bare
// "output y: shape [2, 3] expects 6 elements, but 2 were given", the words
// of a 400 for an input, where gRPC named the model.
func TestModelInvalidOutput_SameMessageOnEveryTransport(t *testing.T) {
	srv := runtimetest.Start(t, sloppy{}, runtimetest.WithGRPC(), runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithServerOptions(runtime.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	c := grpcClient(t, srv.GRPCAddr)
	cases := []struct{ mistake, want string }{
		{"short output", `model sloppy returned an invalid response: output y: shape [2, 3] expects 6 elements, but 2 were given`},
		{"unknown datatype", `model sloppy returned an invalid response: invalid datatype "FP8" for output y`},
	}
	const v2 = `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`
	for _, tc := range cases {
		t.Run(tc.mistake, func(t *testing.T) {
			want, err := json.Marshal(map[string]string{"error": tc.want})
			require.NoError(t, err)
			st, _, body := do(t, "POST", srv.URL+"/v1/models/sloppy:predict", "application/json", []byte(`{"instances":[1]}`), "X-Mistake", tc.mistake)
			assert.Equal(t, 500, st)
			assert.Equal(t, string(want), body, "v1")
			st, _, body = do(t, "POST", srv.URL+"/v2/models/sloppy/infer", "application/json", []byte(v2), "X-Mistake", tc.mistake)
			assert.Equal(t, 500, st)
			assert.Equal(t, string(want), body, "v2")
			ctx := metadata.AppendToOutgoingContext(ctxT(t), "x-mistake", tc.mistake)
			_, err = c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "sloppy", Inputs: []*pb.ModelInferRequest_InferInputTensor{
				{Name: "x", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}})
			code, msg := grpcErr(t, err)
			assert.Equal(t, codes.Internal, code)
			assert.Equal(t, tc.want, msg, "gRPC")
		})
	}
}

// A Ready that panics, asked by a probe, is a model not ready with the
// panic as its reason, logged with its stack, where net/http cut the
// connection without an answer; the server serves on, and answers ready
// once Ready does.
func TestModelReadyPanic_NotReady(t *testing.T) {
	m := &panicky{}
	srv, logs := startLogged(t, m)
	m.panicReady.Store(true)
	const reason = "Model with name panicky is not ready. panic : readiness check exploded"
	assertNotReadyEverywhere(t, srv, "panicky", reason)
	assert.Contains(t, logs.String(), `msg="Model panicky is not ready: its Ready panicked: panic : readiness check exploded\npanicked in Ready of model panicky:\ngoroutine `)
	assert.Contains(t, logs.String(), `runtime_test.(*panicky).Ready`)
	// Five calls panicked; the stack is logged once, and the change of
	// readiness once.
	assert.Equal(t, 1, strings.Count(logs.String(), "its Ready panicked"), logs.String())
	assert.Equal(t, 1, strings.Count(logs.String(), `level=WARN msg="Model panicky is no longer ready: `+reason+`"`), logs.String())
	m.panicReady.Store(false)
	st, _, body := do(t, "GET", srv.URL+"/v2/health/ready", "", nil)
	assert.Equal(t, 200, st)
	assert.Equal(t, `{"ready":true}`, body)
	st, _, body = do(t, "GET", srv.URL+"/v1/models/panicky", "", nil)
	assert.Equal(t, 200, st)
	assert.Equal(t, `{"name":"panicky","ready":true}`, body)
	assert.Equal(t, 1, strings.Count(logs.String(), `level=INFO msg="Model panicky is ready again"`), logs.String())
}

// A model that stops being ready after it was (its own health check, a
// transformer's predictor gone) is logged once at WARNING when that is
// seen, and once at INFO when it is ready again; the probes' 503s between
// are not logged (TestProbesWhileLoading_NotLoggedAsErrors), nor is its
// first readiness, which "Model m loaded in ..." says.
func TestModelReadinessChanges_LoggedOnce(t *testing.T) {
	m := &loading{release: make(chan struct{})}
	close(m.release)
	srv, logs := startLogged(t, m)
	st, _, _ := do(t, "GET", srv.URL+"/v2/models/loading/ready", "", nil)
	require.Equal(t, 200, st)
	m.ready.Store(false)
	for range 3 {
		st, _, _ = do(t, "GET", srv.URL+"/v2/health/ready", "", nil)
		assert.Equal(t, 503, st)
	}
	m.ready.Store(true)
	for range 3 {
		st, _, _ = do(t, "GET", srv.URL+"/v2/models/loading/ready", "", nil)
		assert.Equal(t, 200, st)
	}
	out := logs.String()
	assert.Equal(t, 1, strings.Count(out, `level=WARN msg="Model loading is no longer ready: Model with name loading is not ready."`), out)
	assert.Equal(t, 1, strings.Count(out, `level=INFO msg="Model loading is ready again"`), out)
	assert.NotContains(t, out, "level=ERROR")
}

// A panic in a model's metadata is a 500 (gRPC INTERNAL) "panic : <value>",
// logged with its stack, on both transports, where over REST net/http cut
// the connection without an answer.
func TestModelMetadataPanic_Answered500(t *testing.T) {
	m := &panicky{}
	srv, logs := startLogged(t, m, runtimetest.WithGRPC())
	m.panicMeta.Store(true)
	st, hdr, body := do(t, "GET", srv.URL+"/v2/models/panicky", "", nil)
	assert.Equal(t, 500, st)
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	assert.Equal(t, `{"error":"panic : metadata exploded"}`, body)
	_, err := grpcClient(t, srv.GRPCAddr).ModelMetadata(ctxT(t), &pb.ModelMetadataRequest{Name: "panicky"})
	code, msg := grpcErr(t, err)
	assert.Equal(t, codes.Internal, code)
	assert.Equal(t, "panic : metadata exploded", msg)
	assert.Contains(t, logs.String(), `msg="Exception: panic : metadata exploded\npanicked in the metadata of model panicky:\ngoroutine `)
	assert.Contains(t, logs.String(), `runtime_test.(*panicky).InputsMetadata`)
	m.panicMeta.Store(false)
	st, _, _ = do(t, "GET", srv.URL+"/v2/models/panicky", "", nil)
	assert.Equal(t, 200, st)
}

// A panic in Load at start-up stops the server as a Load's error does: Run
// returns it (a main exits 1 after the transports' orderly shutdown), and
// the stack is logged, where the panic ended the process at once (exit 2)
// in the middle of the other models' loads.
func TestLoadPanicAtStart_RunReturnsIt(t *testing.T) {
	m := &panicky{}
	m.loads.Store(1) // its next Load panics
	var logs runtime.LogBuffer
	cfg := config.Default()
	cfg.ModelName = "panicky"
	cfg.EnableGRPC = false
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(io.Discard, io.Discard),
		runtime.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	err = srv.Run(ctxT(t), m)
	require.EqualError(t, err, "load model panicky: panic : weights file is corrupt")
	// The stack alone: the caller reports the error Run returns, and the
	// panic's message would otherwise reach the terminal twice.
	assert.Contains(t, logs.String(), `level=ERROR msg="panicked in Load of model panicky:\ngoroutine `)
	assert.NotContains(t, logs.String(), "weights file is corrupt")
	assert.Contains(t, logs.String(), `runtime_test.(*panicky).Load`)
}

// A response header whose value holds control characters (a NUL, a line
// feed) reaches REST clients with each replaced by a space, as over gRPC:
// net/http wrote the NUL as it was, and clients (curl, Go, a proxy) refused
// the whole response.
func TestModelHeaderWithControlCharacters_Sanitised(t *testing.T) {
	srv := runtimetest.Start(t, sloppy{}, runtimetest.WithGRPC(), runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithServerOptions(runtime.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	st, hdr, body := do(t, "POST", srv.URL+"/v1/models/sloppy:predict", "application/json", []byte(`{"instances":[1]}`), "X-Mistake", "bad header")
	assert.Equal(t, 200, st)
	assert.Equal(t, "cat  dog", hdr.Get("X-Label"))
	assert.Equal(t, `{"predictions":[1.0]}`, body)
	st, hdr, _ = do(t, "POST", srv.URL+"/v2/models/sloppy/infer", "application/json", []byte(`{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`), "X-Mistake", "bad header")
	assert.Equal(t, 200, st)
	assert.Equal(t, "cat  dog", hdr.Get("X-Label"))
	var md metadata.MD
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "x-mistake", "bad header")
	_, err := grpcClient(t, srv.GRPCAddr).ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "sloppy", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "x", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}}, grpc.Header(&md))
	require.NoError(t, err)
	assert.Equal(t, []string{"cat  dog"}, md.Get("x-label"))
}

// loading is a model whose Load waits for release: the server listens
// meanwhile, and probes ask.
type loading struct {
	release chan struct{}
	ready   atomic.Bool
}

func (m *loading) Name() string { return "loading" }
func (m *loading) Load(ctx context.Context) error {
	select {
	case <-m.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	m.ready.Store(true)
	return nil
}
func (m *loading) Ready() bool { return m.ready.Load() }
func (m *loading) Predict(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	return runtime.PredictResponse(req, "loading", req.RawInstances())
}

// While a model loads, the probes kserve-gen deploy sets (startup and
// readiness on /v2/models/{name}/ready, every 5 s for up to 10 minutes)
// get their 503 without an ERROR line each: a normal start-up is not a
// failure to alert on. A request for the model is one, and is logged.
func TestProbesWhileLoading_NotLoggedAsErrors(t *testing.T) {
	m := &loading{release: make(chan struct{})}
	srv, logs := startLogged(t, m, runtimetest.WithoutWait())
	defer close(m.release)
	require.Eventually(t, func() bool {
		resp, err := http.Get(srv.URL + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, 5*time.Second, 5*time.Millisecond)
	for path, want := range map[string]string{
		"/v2/models/loading/ready": "Model with name loading is not ready.",
		"/v1/models/loading":       "Model with name loading is not ready.",
		"/v2/models/loading":       "Model with name loading is not ready.",
		"/v2/health/ready":         "Server is not ready. Model with name loading is not ready.",
	} {
		for _, method := range []string{"GET", "HEAD"} {
			st, _, body := do(t, method, srv.URL+path, "", nil)
			assert.Equal(t, 503, st, method+" "+path)
			if method == "GET" {
				assert.Equal(t, `{"error":"`+want+`"}`, body, path)
			}
		}
	}
	assert.NotContains(t, logs.String(), "level=ERROR")
	st, _, _ := do(t, "POST", srv.URL+"/v1/models/loading:predict", "application/json", []byte(`{"instances":[1]}`))
	assert.Equal(t, 503, st)
	assert.Contains(t, logs.String(), `level=ERROR msg="Exception: Model with name loading is not ready."`)
}

// A Ready that panics right after Load, at start-up, is a model loaded but
// not ready, as later: the server starts and serves, where the panic ended
// the process.
func TestReadyPanicAtStart_ServedNotReady(t *testing.T) {
	m := &panicky{}
	m.panicReady.Store(true)
	srv, logs := startLogged(t, m)
	st, _, body := do(t, "GET", srv.URL+"/v2/models/panicky/ready", "", nil)
	assert.Equal(t, 503, st)
	assert.Equal(t, `{"error":"Model with name panicky is not ready. panic : readiness check exploded"}`, body)
	assert.Contains(t, logs.String(), `level=WARN msg="Model panicky loaded but is not ready`)
	m.panicReady.Store(false)
	st, _, _ = do(t, "GET", srv.URL+"/v2/models/panicky/ready", "", nil)
	assert.Equal(t, 200, st)
}

// An answer the JSON encoder cannot write (a channel among its values) is
// named as the model's invalid response over REST, as gRPC names it, and
// not in the generic handler's shape for an error without a kind
// ("Error : encode response body: ...").
func TestModelUnencodableResponse_NamesTheModel(t *testing.T) {
	srv := runtimetest.Start(t, sloppy{}, runtimetest.WithGRPC(), runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithServerOptions(runtime.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	const want = `{"error":"model sloppy returned an invalid response: json: unsupported type: chan int"}`
	st, _, body := do(t, "POST", srv.URL+"/v1/models/sloppy:predict", "application/json", []byte(`{"instances":[1]}`), "X-Mistake", "unencodable")
	assert.Equal(t, 500, st)
	assert.Equal(t, want, body, "v1")
	for _, req := range []string{
		`{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`,
		`{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"parameters":{"binary_data_output":true}}`,
	} {
		st, _, body = do(t, "POST", srv.URL+"/v2/models/sloppy/infer", "application/json", []byte(req), "X-Mistake", "unencodable")
		assert.Equal(t, 500, st)
		assert.Equal(t, want, body, req)
	}
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "x-mistake", "unencodable")
	_, err := grpcClient(t, srv.GRPCAddr).ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "sloppy", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "x", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}})
	code, msg := grpcErr(t, err)
	assert.Equal(t, codes.Internal, code)
	assert.Equal(t, "model sloppy returned an invalid response: parameter 'ch' has type chan int; gRPC parameters are bool, int64, uint64, double or string", msg)
}

// A panic in Unload at shutdown is an error Run returns, as an Unload's
// error is, with the stack logged: the other models are still unloaded.
func TestUnloadPanicAtShutdown_RunReturnsIt(t *testing.T) {
	m := &panicky{}
	m.panicUnload.Store(true)
	var logs runtime.LogBuffer
	cfg := config.Default()
	cfg.ModelName = "panicky"
	cfg.EnableGRPC = false
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(io.Discard, io.Discard),
		runtime.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, m) }()
	select {
	case <-srv.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("not ready")
	}
	cancel()
	require.EqualError(t, <-done, "unload model panicky: panic : unload exploded")
	assert.Contains(t, logs.String(), `level=ERROR msg="panicked in Unload of model panicky:\ngoroutine `)
	assert.NotContains(t, logs.String(), "unload exploded")
	assert.Contains(t, logs.String(), `runtime_test.(*panicky).Unload`)
}

// bigHeader sets a response header X-Big of the size its X-Size request
// header asks for, after waiting for release when X-Wait is set.
type bigHeader struct{ release chan struct{} }

func (*bigHeader) Name() string               { return "big" }
func (*bigHeader) Load(context.Context) error { return nil }
func (*bigHeader) Ready() bool                { return true }
func (m *bigHeader) Predict(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	if h.Get("X-Wait") != "" {
		select {
		case <-m.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if n, _ := strconv.Atoi(h.Get("X-Size")); n > 0 {
		h.Set("X-Big", strings.Repeat("a", n))
	}
	return runtime.PredictResponse(req, "big", infer.NewTensor("y", []int64{1}, []float32{1}))
}

// A response header too large for clients to take (20 MB of it) fails the
// request that set it, with a message naming the model and the header, over
// gRPC and REST alike. grpc-go's client refused the header list as an HPACK
// COMPRESSION_ERROR and closed the whole connection, failing every other call
// on it; Go's REST client gave up on the response ("server response headers
// exceeded 10485760 bytes"), curl at 100 KB.
func TestModelHugeResponseHeader_FailsOnlyItsCall(t *testing.T) {
	m := &bigHeader{release: make(chan struct{})}
	srv := runtimetest.Start(t, m, runtimetest.WithGRPC(), runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithServerOptions(runtime.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	const size = 20 << 20
	const want = "model big returned an invalid response: its response headers take 20971557 bytes as HTTP/2 counts them (each name and value plus 32), over the 1048576 a response may carry; X-Big takes 20971557 of them"
	c := grpcClient(t, srv.GRPCAddr)
	infer1 := func(ctx context.Context) error {
		_, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "big", Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: "x", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}})
		return err
	}
	// A call in flight on the same connection when the huge header goes out.
	waiting := make(chan error, 1)
	go func() { waiting <- infer1(metadata.AppendToOutgoingContext(ctxT(t), "x-wait", "1")) }()
	require.Eventually(t, func() bool { return srvInFlight(t, srv.URL, "big") }, 5*time.Second, 5*time.Millisecond)

	err := infer1(metadata.AppendToOutgoingContext(ctxT(t), "x-size", strconv.Itoa(size)))
	code, msg := grpcErr(t, err)
	assert.Equal(t, codes.Internal, code)
	assert.Equal(t, want, msg)
	close(m.release)
	assert.NoError(t, <-waiting, "the call in flight on the same connection")
	// One just under the limit goes out whole.
	var md metadata.MD
	_, err = c.ModelInfer(metadata.AppendToOutgoingContext(ctxT(t), "x-size", strconv.Itoa(1<<20-37)), &pb.ModelInferRequest{ModelName: "big", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "x", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}}, grpc.Header(&md))
	require.NoError(t, err)
	assert.Len(t, md.Get("x-big"), 1)

	st, _, body := do(t, "POST", srv.URL+"/v1/models/big:predict", "application/json", []byte(`{"instances":[1]}`), "X-Size", strconv.Itoa(size))
	assert.Equal(t, 500, st)
	assert.Equal(t, `{"error":"`+want+`"}`, body, "v1")
	st, _, body = do(t, "POST", srv.URL+"/v2/models/big/infer", "application/json", []byte(`{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`), "X-Size", strconv.Itoa(size))
	assert.Equal(t, 500, st)
	assert.Equal(t, `{"error":"`+want+`"}`, body, "v2")
}

// srvInFlight reports whether /metrics shows a request of model in flight.
func srvInFlight(t *testing.T, url, model string) bool {
	t.Helper()
	_, _, body := do(t, "GET", url+"/metrics", "", nil)
	return strings.Contains(body, `kserve_requests_in_flight{model_name="`+model+`"} 1`)
}

// shapeErr is a model's own error type, with a pointer receiver.
type shapeErr struct{ want int }

func (e *shapeErr) Error() string { return "want " + strconv.Itoa(e.want) + " inputs" }

// nilErr returns a nil *shapeErr as its error: a non-nil error whose
// Error() panics, Go's typed-nil mistake, met only when the transport
// writes the error's message, after the pipeline has returned.
type nilErr struct{}

func (nilErr) Name() string               { return "nilerr" }
func (nilErr) Load(context.Context) error { return nil }
func (nilErr) Ready() bool                { return true }
func (nilErr) Predict(context.Context, *infer.Request, *runtime.Headers) (*infer.Response, error) {
	var err *shapeErr
	return nil, err
}

// metricLine returns the sample of /metrics that starts with prefix, "" when
// there is none.
func metricLine(t *testing.T, url, prefix string) string {
	t.Helper()
	_, _, body := do(t, "GET", url+"/metrics", "", nil)
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, prefix+" ") {
			return line
		}
	}
	return ""
}

// A panic of a ModelInfer call outside the pipeline (the model's error
// whose Error() panics, met when the error is written) is counted on
// /metrics as the INTERNAL failure it is answered with: the gRPC
// interceptor recovered it, but the request and its error went uncounted.
func TestModelInferPanicOutsidePipeline_Counted(t *testing.T) {
	srv, logs := startLogged(t, nilErr{}, runtimetest.WithGRPC())
	const reqs = `kserve_requests_total{model_name="nilerr",protocol="grpc-v2",verb="predict"}`
	const errs = `kserve_request_errors_total{code="Internal",model_name="nilerr",protocol="grpc-v2"}`
	assert.Equal(t, reqs+" 0", metricLine(t, srv.URL, reqs))
	assert.Empty(t, metricLine(t, srv.URL, errs))
	c := grpcClient(t, srv.GRPCAddr)
	for range 2 {
		_, err := c.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "nilerr", Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: "x", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}})
		code, msg := grpcErr(t, err)
		assert.Equal(t, codes.Internal, code)
		assert.Equal(t, "panic : runtime error: invalid memory address or nil pointer dereference", msg)
	}
	assert.Equal(t, reqs+" 2", metricLine(t, srv.URL, reqs))
	assert.Equal(t, errs+" 2", metricLine(t, srv.URL, errs))
	assert.Contains(t, logs.String(), `runtime_test.(*shapeErr).Error`)
}

// unreasonable is a model whose NotReadyReason panics while it is not
// ready.
type unreasonable struct {
	down  atomic.Bool
	hosts map[string]string // never made, as real model code panics
}

func (*unreasonable) Name() string               { return "unreasonable" }
func (*unreasonable) Load(context.Context) error { return nil }
func (m *unreasonable) Ready() bool              { return !m.down.Load() }
func (m *unreasonable) NotReadyReason() string {
	m.hosts["predictor"] = "down"
	return ""
}
func (*unreasonable) Predict(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	return runtime.PredictResponse(req, "unreasonable", infer.NewTensor("y", []int64{1}, []float32{1}))
}

// A NotReadyReason that panics gives the panic as the reason, as a Ready
// that panics does, over REST and gRPC, with its stack logged once: over
// REST net/http cut the probe's connection without an answer, and over
// gRPC the call failed INTERNAL, uncounted.
func TestModelNotReadyReasonPanic_IsTheReason(t *testing.T) {
	m := &unreasonable{}
	srv, logs := startLogged(t, m, runtimetest.WithGRPC())
	m.down.Store(true)
	const reason = "Model with name unreasonable is not ready. panic : assignment to entry in nil map"
	assertNotReadyEverywhere(t, srv, "unreasonable", reason)

	c := grpcClient(t, srv.GRPCAddr)
	_, err := c.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "unreasonable", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "x", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}})
	code, msg := grpcErr(t, err)
	assert.Equal(t, codes.Unavailable, code)
	assert.Equal(t, reason, msg)
	_, err = c.ModelMetadata(ctxT(t), &pb.ModelMetadataRequest{Name: "unreasonable"})
	code, msg = grpcErr(t, err)
	assert.Equal(t, codes.Unavailable, code)
	assert.Equal(t, reason, msg)
	mr, err := c.ModelReady(ctxT(t), &pb.ModelReadyRequest{Name: "unreasonable"})
	require.NoError(t, err)
	assert.False(t, mr.GetReady())
	const errs = `kserve_request_errors_total{code="Unavailable",model_name="unreasonable",protocol="grpc-v2"}`
	assert.Equal(t, errs+" 1", metricLine(t, srv.URL, errs))

	// The change of readiness is logged once with the reason, the panic's
	// stack once, however many calls asked.
	out := logs.String()
	assert.Equal(t, 1, strings.Count(out, `level=WARN msg="Model unreasonable is no longer ready: `+reason+`"`), out)
	assert.Equal(t, 1, strings.Count(out, `msg="Model unreasonable is not ready, and its NotReadyReason panicked: panic : assignment to entry in nil map\npanicked in NotReadyReason of model unreasonable:\ngoroutine `), out)
	assert.Contains(t, out, `runtime_test.(*unreasonable).NotReadyReason`)
	live, err := c.ServerLive(ctxT(t), &pb.ServerLiveRequest{})
	require.NoError(t, err)
	assert.True(t, live.GetLive())
}

// A model's error whose Error() panics (nilErr's typed nil) is answered over
// REST as gRPC answers it: 500 "panic : <value>", its stack logged once per
// request, counted on /metrics. net/http recovered the panic of writing the
// error itself: it cut the connection without an answer, uncounted.
func TestModelErrorPanic_RESTAnswers500(t *testing.T) {
	srv, logs := startLogged(t, nilErr{})
	const want = `{"error":"panic : runtime error: invalid memory address or nil pointer dereference"}`
	for _, tc := range []struct{ protocol, path, body string }{
		{"v1", "/v1/models/nilerr:predict", `{"instances":[1]}`},
		{"v2", "/v2/models/nilerr/infer", `{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}`},
	} {
		reqs := `kserve_requests_total{model_name="nilerr",protocol="` + tc.protocol + `",verb="predict"}`
		errs := `kserve_request_errors_total{code="500",model_name="nilerr",protocol="` + tc.protocol + `"}`
		assert.Equal(t, reqs+" 0", metricLine(t, srv.URL, reqs))
		for range 2 {
			st, hdr, body := do(t, "POST", srv.URL+tc.path, "application/json", []byte(tc.body))
			assert.Equal(t, 500, st, tc.path)
			assert.Equal(t, "application/json", hdr.Get("Content-Type"), tc.path)
			assert.Equal(t, want, body, tc.path)
		}
		assert.Equal(t, reqs+" 2", metricLine(t, srv.URL, reqs))
		assert.Equal(t, errs+" 2", metricLine(t, srv.URL, errs))
	}
	// Logged as any other panic, with its stack, once per request.
	out := logs.String()
	assert.Equal(t, 4, strings.Count(out, `level=ERROR msg="Exception: panic : runtime error: invalid memory address or nil pointer dereference\npanicked in an error's Error method:\ngoroutine `), out)
	assert.Equal(t, 4, strings.Count(out, "runtime_test.(*shapeErr).Error"), out)
	assert.NotContains(t, out, "http: panic serving")
}

// latin1 answers with strings in Latin-1, not UTF-8: an output name,
// string parameters of the answer and of the output, its platform and
// tensor names in its metadata.
type latin1 struct{}

func (latin1) Name() string               { return "latin1" }
func (latin1) Load(context.Context) error { return nil }
func (latin1) Ready() bool                { return true }
func (latin1) Platform() string           { return "caf\xe9" }
func (latin1) InputsMetadata() []runtime.TensorMetadata {
	return []runtime.TensorMetadata{{Name: "x\xff", Datatype: infer.FP32, Shape: []int64{1}}}
}
func (latin1) OutputsMetadata() []runtime.TensorMetadata {
	return []runtime.TensorMetadata{{Name: "y\xff", Datatype: infer.FP32, Shape: []int64{1}}}
}
func (latin1) Predict(context.Context, *infer.Request, *runtime.Headers) (*infer.Response, error) {
	y := infer.NewTensor("y\xff", []int64{1}, []float32{1})
	y.Parameters = infer.Parameters{"note": "caf\xe9"}
	return &infer.Response{Outputs: []*infer.Tensor{y}, Parameters: infer.Parameters{"k\xe9\xe9": "ok"}}, nil
}

// An answer whose strings are not UTF-8 reaches a gRPC client with each
// invalid byte as U+FFFD, as REST's JSON writes it, and is counted as the
// success it is: grpc-go refused to marshal it after the handler returned
// (INTERNAL "grpc: error while marshaling: string field contains invalid
// UTF-8", naming no model), and /metrics counted it as a success with a
// response size.
func TestModelAnswerNotUTF8_GRPCReplacesInvalidBytes(t *testing.T) {
	srv := runtimetest.Start(t, latin1{}, runtimetest.WithGRPC(), runtimetest.WithLogOutput(io.Discard, io.Discard))
	c := grpcClient(t, srv.GRPCAddr)
	resp, err := c.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "latin1", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "x", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}})
	require.NoError(t, err)
	require.Len(t, resp.GetOutputs(), 1)
	assert.Equal(t, "y\uFFFD", resp.GetOutputs()[0].GetName())
	assert.Equal(t, "caf\uFFFD", resp.GetOutputs()[0].GetParameters()["note"].GetStringParam())
	assert.Equal(t, []float32{1}, resp.GetOutputs()[0].GetContents().GetFp32Contents())
	assert.Equal(t, "ok", resp.GetParameters()["k\uFFFD\uFFFD"].GetStringParam())
	const reqs = `kserve_requests_total{model_name="latin1",protocol="grpc-v2",verb="predict"}`
	assert.Equal(t, reqs+" 1", metricLine(t, srv.URL, reqs))
	assert.Empty(t, metricLine(t, srv.URL, `kserve_request_errors_total{code="Internal",model_name="latin1",protocol="grpc-v2"}`))

	md, err := c.ModelMetadata(ctxT(t), &pb.ModelMetadataRequest{Name: "latin1"})
	require.NoError(t, err)
	assert.Equal(t, "caf\uFFFD", md.GetPlatform())
	assert.Equal(t, "x\uFFFD", md.GetInputs()[0].GetName())
	assert.Equal(t, "y\uFFFD", md.GetOutputs()[0].GetName())

	// REST's JSON writes the same bytes the same way.
	st, _, body := do(t, "POST", srv.URL+"/v2/models/latin1/infer", "application/json",
		[]byte(`{"id":"1","inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}`))
	assert.Equal(t, 200, st)
	assert.Equal(t, `{"model_name":"latin1","model_version":null,"id":"1","parameters":{"k\ufffd\ufffd":"ok"},"outputs":[{"name":"y\ufffd","shape":[1],"datatype":"FP32","parameters":{"note":"caf\ufffd"},"data":[1.0]}]}`, body)
}

// rawCodec sends a []byte as the message itself, bytes protobuf would
// refuse to marshal, as a client in another language can send them.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)   { return v.([]byte), nil }
func (rawCodec) Unmarshal(b []byte, v any) error { return proto.Unmarshal(b, v.(proto.Message)) }
func (rawCodec) Name() string                    { return "proto" }

// A request whose string field is not UTF-8 is refused by grpc-go before
// the server's code runs: INTERNAL, in grpc-go's words, naming no field.
// The server's codec still sees it fail, and counts it for the model its
// model_name names (grpcserver's own test checks the log line).
func TestRequestNotUTF8_GRPCRefusedByGRPCGo(t *testing.T) {
	srv := runtimetest.Start(t, latin1{}, runtimetest.WithGRPC(), runtimetest.WithLogOutput(io.Discard, io.Discard))
	conn, err := grpc.NewClient(srv.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	b, err := proto.Marshal(&pb.ModelInferRequest{ModelName: "latin1", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "x", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}})
	require.NoError(t, err)
	b = protowire.AppendString(protowire.AppendTag(b, 3, protowire.BytesType), "caf\xe9") // id
	err = conn.Invoke(ctxT(t), "/inference.GRPCInferenceService/ModelInfer", b, &pb.ModelInferResponse{}, grpc.ForceCodec(rawCodec{}))
	code, msg := grpcErr(t, err)
	assert.Equal(t, codes.Internal, code)
	assert.Equal(t, "grpc: failed to unmarshal the received message: string field contains invalid UTF-8", msg)
	const reqs = `kserve_requests_total{model_name="latin1",protocol="grpc-v2",verb="predict"}`
	assert.Equal(t, reqs+" 1", metricLine(t, srv.URL, reqs))
	const errs = `kserve_request_errors_total{code="Internal",model_name="latin1",protocol="grpc-v2"}`
	assert.Equal(t, errs+" 1", metricLine(t, srv.URL, errs))
}

// nilLoadErr loads once, then its Load returns a nil *shapeErr as error,
// as does its Unload.
type nilLoadErr struct{ loads atomic.Int32 }

func (*nilLoadErr) Name() string { return "nilload" }
func (m *nilLoadErr) Load(context.Context) error {
	if m.loads.Add(1) == 1 {
		return nil
	}
	var err *shapeErr
	return err
}
func (*nilLoadErr) Ready() bool { return true }
func (*nilLoadErr) Predict(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	return runtime.PredictResponse(req, "nilload", infer.NewTensor("y", []int64{1}, []float32{1}))
}

// A repository load whose Load returns an error whose Error() panics is
// answered as a Load that panicked, over REST and gRPC alike, its stack
// logged: REST's connection was cut without an answer, and gRPC's
// interceptor answered INTERNAL.
func TestModelLoadErrorPanic_AnsweredAsPanic(t *testing.T) {
	srv, logs := startLogged(t, &nilLoadErr{}, runtimetest.WithGRPC())
	const want = "Model with name nilload is not ready. Error type: panic error msg: runtime error: invalid memory address or nil pointer dereference"
	st, _, body := do(t, "POST", srv.URL+"/v2/repository/models/nilload/load", "", nil)
	assert.Equal(t, 503, st)
	assert.Equal(t, `{"error":"`+want+`"}`, body)
	_, err := grpcClient(t, srv.GRPCAddr).RepositoryModelLoad(ctxT(t), &pb.RepositoryModelLoadRequest{ModelName: "nilload"})
	code, msg := grpcErr(t, err)
	assert.Equal(t, codes.Unavailable, code)
	assert.Equal(t, want, msg)
	assert.Contains(t, logs.String(), "runtime_test.(*shapeErr).Error")
}

// reloadFails loads at start-up, then its Load returns err.
type reloadFails struct {
	loads atomic.Int32
	err   error
}

func (*reloadFails) Name() string { return "reload" }
func (m *reloadFails) Load(context.Context) error {
	if m.loads.Add(1) == 1 {
		return nil
	}
	return m.err
}
func (*reloadFails) Ready() bool { return true }
func (*reloadFails) Predict(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	return runtime.PredictResponse(req, "reload", infer.NewTensor("y", []int64{1}, []float32{1}))
}

// A repository load whose Load fails names the error's type as a 500 does
// (status.Message's "<Type> : …"), where KServe's "Error type: <class
// 'RuntimeError'>" names the exception's class, over REST and gRPC alike:
// Go's %T read "*errors.errorString", "*fmt.wrapError", which tell a
// client nothing.
func TestRepositoryLoadError_NamesTheErrorsType(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{errors.New("weights missing"), "Model with name reload is not ready. Error type: Error error msg: weights missing"},
		{fmt.Errorf("read weights: %w", &fs.PathError{Op: "open", Path: "w.bin", Err: fs.ErrNotExist}),
			"Model with name reload is not ready. Error type: PathError error msg: read weights: open w.bin: file does not exist"},
		// A kinded error reads as the class KServe raises for its kind,
		// not as Go's *status.Error.
		{fmt.Errorf("config: %w", runtime.InvalidInput("max_length must be positive")),
			"Model with name reload is not ready. Error type: InvalidInput error msg: config: max_length must be positive"},
		{runtime.NotImplemented("no GPU build"),
			"Model with name reload is not ready. Error type: NotImplementedError error msg: no GPU build"},
	} {
		srv := runtimetest.Start(t, &reloadFails{err: c.err}, runtimetest.WithGRPC(), runtimetest.WithLogOutput(io.Discard, io.Discard),
			runtimetest.WithServerOptions(runtime.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
		st, _, body := do(t, "POST", srv.URL+"/v2/repository/models/reload/load", "", nil)
		assert.Equal(t, 503, st)
		assert.Equal(t, `{"error":"`+c.want+`"}`, body)
		_, err := grpcClient(t, srv.GRPCAddr).RepositoryModelLoad(ctxT(t), &pb.RepositoryModelLoadRequest{ModelName: "reload"})
		code, msg := grpcErr(t, err)
		assert.Equal(t, codes.Unavailable, code)
		assert.Equal(t, c.want, msg)
	}
}
