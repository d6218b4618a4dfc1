package runtime_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/forward"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// flakyPredictor answers 503 / UNAVAILABLE while fails is positive, one
// less each call, then echoes its inputs.
type flakyPredictor struct {
	ready atomic.Bool
	fails atomic.Int64
}

func (m *flakyPredictor) Name() string { return "iris" }
func (m *flakyPredictor) Load(context.Context) error {
	m.ready.Store(true)
	return nil
}
func (m *flakyPredictor) Ready() bool { return m.ready.Load() }
func (m *flakyPredictor) Predict(_ context.Context, req *infer.Request, _ *model.Headers) (*infer.Response, error) {
	if m.fails.Add(-1) >= 0 {
		return nil, status.Unavailable("predictor is restarting", nil)
	}
	return &infer.Response{ModelName: "iris", Outputs: []*infer.Tensor{infer.NewTensor("y", []int64{1}, []float32{1})}}, nil
}

// predictorLines is the transformer's kserve_predictor_* samples.
func predictorLines(t *testing.T, ts *runtimetest.Server) string {
	t.Helper()
	resp := ts.Get(t, "/metrics")
	require.Equal(t, http.StatusOK, resp.Code)
	var out []string
	for l := range strings.Lines(resp.Body) {
		if strings.HasPrefix(l, "kserve_predictor_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// A transformer's retries to its predictor, and the calls that failed
// after their last attempt, are in its /metrics by model and predictor
// protocol: a flapping predictor no longer shows only as slower predicts.
func TestPredictorRetriesAndFailuresInMetrics(t *testing.T) {
	const body = `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[0]}]}`
	for _, tc := range []struct {
		proto, code string
		firstFails  int64 // failed attempts of the first call, retried until it succeeds
	}{
		{config.ProtocolV2, "503", 2},
		{config.ProtocolGRPCV2, "Unavailable", 1},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			p := &flakyPredictor{}
			ps := runtimetest.Start(t, p, runtimetest.WithGRPC())
			host := strings.TrimPrefix(ps.URL, "http://")
			if tc.proto == config.ProtocolGRPCV2 {
				host = ps.GRPCAddr
			}
			fm, err := forward.NewModel("iris", forward.Config{Host: host, Protocol: tc.proto, Timeout: 10 * time.Second, Retries: 3})
			require.NoError(t, err)
			ts := runtimetest.Start(t, fm)
			assert.Equal(t, fmt.Sprintf(`kserve_predictor_retries_total{model_name="iris",protocol="%s"} 0
`, tc.proto), predictorLines(t, ts), "the retries' series is there from the start, at 0")

			p.fails.Store(tc.firstFails)
			resp := ts.PostJSON(t, "/v2/models/iris/infer", body)
			require.Equal(t, http.StatusOK, resp.Code, resp.Body)
			p.fails.Store(100) // every attempt fails: 1 + 3 retries
			resp = ts.PostJSON(t, "/v2/models/iris/infer", body)
			require.Equal(t, http.StatusServiceUnavailable, resp.Code, resp.Body)

			assert.Equal(t, fmt.Sprintf(`kserve_predictor_failures_total{code="%s",model_name="iris",protocol="%s"} 1
kserve_predictor_retries_total{model_name="iris",protocol="%s"} %d
`, tc.code, tc.proto, tc.proto, tc.firstFails+3), predictorLines(t, ts))
		})
	}
}

// A predictor nobody answers for is a failure coded "unreachable", and a
// v1 predictor's calls are labelled protocol="v1".
func TestPredictorUnreachableInMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	host := ln.Addr().String()
	require.NoError(t, ln.Close())
	fm, err := forward.NewModel("iris", forward.Config{Host: host, Protocol: config.ProtocolV1, Timeout: 10 * time.Second, Retries: 1})
	require.NoError(t, err)
	ts := runtimetest.Start(t, fm)
	resp := ts.PostJSON(t, "/v1/models/iris:predict", `{"instances":[[1]]}`)
	require.Equal(t, http.StatusServiceUnavailable, resp.Code, resp.Body)
	assert.Equal(t, `kserve_predictor_failures_total{code="unreachable",model_name="iris",protocol="v1"} 1
kserve_predictor_retries_total{model_name="iris",protocol="v1"} 1
`, predictorLines(t, ts))
}

// pushbackPredictor is a gRPC predictor (grpc-go's server on loopback, not
// kserve-gen's, to choose the trailer) whose first ModelInfer answers
// UNAVAILABLE "predictor is overloaded" with grpc-retry-pushback-ms set
// to pushback (each value an entry); later ones answer y=[1]. It records
// when each call arrived.
type pushbackPredictor struct {
	pb.UnimplementedGRPCInferenceServiceServer
	pushback []string

	mu    sync.Mutex
	calls []time.Time
}

func (p *pushbackPredictor) ModelInfer(ctx context.Context, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	p.mu.Lock()
	p.calls = append(p.calls, time.Now())
	n := len(p.calls)
	p.mu.Unlock()
	if n == 1 {
		if err := grpc.SetTrailer(ctx, metadata.MD{"grpc-retry-pushback-ms": p.pushback}); err != nil {
			return nil, err
		}
		return nil, grpcstatus.Error(codes.Unavailable, "predictor is overloaded")
	}
	return &pb.ModelInferResponse{ModelName: req.GetModelName(), Outputs: []*pb.ModelInferResponse_InferOutputTensor{{
		Name: "y", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}},
	}}}, nil
}

// arrivals is when each call arrived, in order.
func (p *pushbackPredictor) arrivals() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// transformerFor serves a transformer for model iris in front of the gRPC
// predictor p, with 3 retries; host is the predictor's.
func transformerFor(t *testing.T, p pb.GRPCInferenceServiceServer) (ts *runtimetest.Server, host string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	pb.RegisterGRPCInferenceServiceServer(srv, p)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	fm, err := forward.NewModel("iris", forward.Config{Host: ln.Addr().String(), Protocol: config.ProtocolGRPCV2, Timeout: 10 * time.Second, Retries: 3})
	require.NoError(t, err)
	return runtimetest.Start(t, fm), ln.Addr().String()
}

// A gRPC predictor's grpc-retry-pushback-ms is the wait before the
// transformer's retry (gRPC's retry design, A6), in place of its own
// 100 ms backoff: an overloaded predictor asking for 300 ms gets them.
func TestPredictorPushbackIsTheWaitBeforeTheRetry(t *testing.T) {
	const pushback = 300 * time.Millisecond
	p := &pushbackPredictor{pushback: []string{strconv.Itoa(int(pushback.Milliseconds()))}}
	ts, _ := transformerFor(t, p)
	resp := ts.PostJSON(t, "/v2/models/iris/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[0]}]}`)
	require.Equal(t, http.StatusOK, resp.Code, resp.Body)
	assert.Contains(t, resp.Body, `"outputs":[{"name":"y","shape":[1],"datatype":"FP32","parameters":null,"data":[1.0]}]`)

	calls := p.arrivals()
	require.Len(t, calls, 2, "the first attempt and one retry")
	assert.GreaterOrEqual(t, calls[1].Sub(calls[0]), pushback, "the retry waited the predictor's pushback")
	assert.Equal(t, `kserve_predictor_retries_total{model_name="iris",protocol="grpc-v2"} 1
`, predictorLines(t, ts))
}

// A pushback that is negative, not a number, or given twice is the
// predictor asking not to be retried (A6; grpc-go's retry policy stops
// there too): the first UNAVAILABLE is the answer, a 503 naming the
// predictor, counted as one failure and no retry.
func TestPredictorPushbackRefusingRetries(t *testing.T) {
	for name, pushback := range map[string][]string{"negative": {"-1"}, "not a number": {"soon"}, "twice": {"300", "300"}} {
		t.Run(name, func(t *testing.T) {
			p := &pushbackPredictor{pushback: pushback}
			ts, host := transformerFor(t, p)
			resp := ts.PostJSON(t, "/v2/models/iris/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[0]}]}`)
			assert.Equal(t, http.StatusServiceUnavailable, resp.Code)
			assert.Equal(t, `{"error":"predictor `+host+` (grpc-v2) is unavailable: predictor is overloaded"}`, resp.Body)
			assert.Len(t, p.arrivals(), 1, "no retry")
			assert.Equal(t, `kserve_predictor_failures_total{code="Unavailable",model_name="iris",protocol="grpc-v2"} 1
kserve_predictor_retries_total{model_name="iris",protocol="grpc-v2"} 0
`, predictorLines(t, ts))
		})
	}
}
