package grpcserver_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/grpcserver"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/metrics"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// passthrough returns every input as an output named output-<i>, like the
// KServe pass-through model of the reference exchanges. It echoes the
// x-echo request header as the x-echoed response header.
type passthrough struct {
	name  string
	ready atomic.Bool
}

func newPassthrough(name string) *passthrough {
	m := &passthrough{name: name}
	m.ready.Store(true)
	return m
}

func (m *passthrough) Name() string                 { return m.name }
func (m *passthrough) Load(context.Context) error   { m.ready.Store(true); return nil }
func (m *passthrough) Ready() bool                  { return m.ready.Load() }
func (m *passthrough) Unload(context.Context) error { m.ready.Store(false); return nil }
func (m *passthrough) Predict(_ context.Context, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	if v := h.Get("X-Echo"); v != "" {
		h.Set("X-Echoed", v)
	}
	resp := &infer.Response{ID: req.EnsureID(), ModelName: m.name, Parameters: req.Parameters}
	for i, in := range req.Inputs {
		resp.Outputs = append(resp.Outputs, &infer.Tensor{
			Name: fmt.Sprintf("output-%d", i), Datatype: in.Datatype, Shape: in.Shape, Parameters: in.Parameters, Data: in.Data,
		})
	}
	return resp, nil
}
func (m *passthrough) InputsMetadata() []model.TensorMetadata {
	return []model.TensorMetadata{{Name: "input-0", Datatype: infer.FP32, Shape: []int64{-1, 4}}}
}
func (m *passthrough) OutputsMetadata() []model.TensorMetadata {
	return []model.TensorMetadata{{Name: "output-0", Datatype: infer.FP32, Shape: []int64{-1, 4}}}
}
func (m *passthrough) Platform() string { return "go" }

// failing returns the error its "kind" request parameter names.
type failing struct{}

func (failing) Name() string               { return "failing" }
func (failing) Load(context.Context) error { return nil }
func (failing) Ready() bool                { return true }
func (failing) Predict(_ context.Context, req *infer.Request, _ *model.Headers) (*infer.Response, error) {
	kind, _ := req.Parameters.String("kind")
	switch kind {
	case "invalid":
		return nil, status.InvalidInput("pixel values must be in [0, 1]")
	case "inference":
		return nil, status.InferenceError("CUDA out of memory", "507")
	case "notimplemented":
		return nil, status.NotImplemented("Could not find predictor_host.")
	case "notready":
		return nil, status.ModelNotReady("failing", "still warming up")
	case "unavailable":
		return nil, status.Unavailable("predictor 10.0.0.1:8080 is unreachable", nil)
	case "plain":
		return nil, fmt.Errorf("disk on fire")
	case "notutf8":
		// A message echoing bytes that are not UTF-8 (a BYTES element, a
		// file's contents).
		return nil, status.InvalidInput("bad bytes: " + strings.Repeat("\xff", 3000))
	case "panic":
		panic("boom")
	case "v1body":
		return &infer.Response{Body: map[string]any{"predictions": []int{1}}}, nil
	case "badoutput":
		return &infer.Response{Outputs: []*infer.Tensor{{Name: "o", Datatype: infer.FP32, Shape: []int64{3}, Data: []float32{1}}}}, nil
	case "upstreamtimeout":
		return nil, status.UpstreamTimeout("predictor 10.0.0.1:8081 (grpc-v2) did not answer within 1s (--predictor_request_timeout_seconds)", context.DeadlineExceeded)
	case "owndeadline":
		// The model's own deadline (not the call's) passed.
		return nil, fmt.Errorf("lookup in the feature store: %w", context.DeadlineExceeded)
	case "slow":
		time.Sleep(300 * time.Millisecond)
		return infer.PredictResponse(req, "failing", []float32{1})
	}
	return infer.PredictResponse(req, "failing", []float32{1})
}

type fixture struct {
	dp     *dataplane.Dataplane
	srv    *grpcserver.Server
	conn   *grpc.ClientConn
	client pb.GRPCInferenceServiceClient
	addr   string
	served chan error
}

// start serves models over a real loopback gRPC listener.
func start(t *testing.T, opts grpcserver.Options, models ...model.Model) *fixture {
	t.Helper()
	return startDP(t, dataplane.New(dataplane.Options{MaxConcurrency: 8, ServerVersion: "0.1.0"}), opts, models...)
}

// startDP is start over a dataplane of the test's (one with metrics).
func startDP(t *testing.T, dp *dataplane.Dataplane, opts grpcserver.Options, models ...model.Model) *fixture {
	t.Helper()
	for _, m := range models {
		require.NoError(t, dp.Register(m, ""))
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpcserver.New(dp, opts)
	f := &fixture{dp: dp, srv: srv, addr: lis.Addr().String(), served: make(chan error, 1)}
	go func() { f.served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	require.NoError(t, err)
	f.conn, f.client = conn, pb.NewGRPCInferenceServiceClient(conn)
	t.Cleanup(func() {
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return f
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sample is the value of the metric family name's sample whose labels
// include want (a counter's value, a histogram's sample count); -1 when
// there is none.
func sample(t *testing.T, m *metrics.Metrics, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			if h := s.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return s.GetCounter().GetValue()
		}
	}
	return -1
}
