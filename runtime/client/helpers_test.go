package client_test

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// echo answers v1 requests with {"predictions": instances} and v2 requests
// with every input as output-<i>. The request parameter "fail" makes it
// return Unavailable while its counter is below the value,
// "upstream_timeout" makes it answer that its upstream did not answer in
// time, "sleep_ms" delays it; the x-echo header comes back as x-echoed.
type echo struct {
	name      string
	loadDelay time.Duration
	ready     atomic.Bool
	calls     atomic.Int64
}

func (m *echo) Name() string { return m.name }
func (m *echo) Load(ctx context.Context) error {
	select {
	case <-time.After(m.loadDelay):
	case <-ctx.Done():
		return ctx.Err()
	}
	m.ready.Store(true)
	return nil
}
func (m *echo) Ready() bool { return m.ready.Load() }
func (m *echo) Predict(_ context.Context, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	n := m.calls.Add(1)
	if v := h.Get("X-Echo"); v != "" {
		h.Set("X-Echoed", v)
	}
	if req.Protocol == infer.ProtocolV1 {
		inst, err := req.Instances()
		if err != nil {
			return nil, err
		}
		return infer.PredictResponse(req, m.name, inst)
	}
	if f, ok := req.Parameters.Int64("fail"); ok && n <= f {
		return nil, status.Unavailable(fmt.Sprintf("call %d fails", n), nil)
	}
	if _, ok := req.Parameters.Bool("upstream_timeout"); ok {
		return nil, status.UpstreamTimeout("predictor p:1 (v2) did not answer within 1s (--predictor_request_timeout_seconds)", nil)
	}
	if ms, ok := req.Parameters.Int64("sleep_ms"); ok {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	resp := &infer.Response{ID: req.ID, ModelName: m.name}
	for i, in := range req.Inputs {
		resp.Outputs = append(resp.Outputs, &infer.Tensor{Name: fmt.Sprintf("output-%d", i), Datatype: in.Datatype, Shape: in.Shape, Data: in.Data})
	}
	return resp, nil
}

// serve runs the real model server (REST and gRPC on loopback) and waits
// until its models have loaded.
func serve(t *testing.T, models ...model.Model) *runtimetest.Server {
	t.Helper()
	return start(t, true, models...)
}

// start starts a server; with wait it returns once the models have loaded.
func start(t *testing.T, wait bool, models ...model.Model) *runtimetest.Server {
	t.Helper()
	opts := []runtimetest.Option{
		runtimetest.WithConfig(func(c *config.Config) { c.GracePeriod = 2 * time.Second }),
		runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithReadyTimeout(10 * time.Second),
	}
	if !wait {
		opts = append(opts, runtimetest.WithoutWait())
	}
	return runtimetest.StartModels(t, models, opts...)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
