package dataplane_test

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// gated answers once release is closed.
type gated struct {
	started chan struct{}
	release chan struct{}
}

func (gated) Name() string               { return "g" }
func (gated) Load(context.Context) error { return nil }
func (gated) Ready() bool                { return true }
func (g gated) Predict(context.Context, *infer.Request, *model.Headers) (*infer.Response, error) {
	g.started <- struct{}{}
	<-g.release
	return &infer.Response{ModelName: "g"}, nil
}

// Stop lets the call a worker is running finish, refuses new ones, and every
// worker goroutine exits (polled by hand: assert.Eventually's own goroutine
// would be counted): a server stopped and started again in one process
// (tests, embedding) does not leak MaxConcurrency goroutines each time.
func TestStop_RunningCallFinishesAndWorkersExit(t *testing.T) {
	before := runtime.NumGoroutine()
	g := gated{started: make(chan struct{}, 1), release: make(chan struct{})}
	dp := dataplane.New(dataplane.Options{MaxConcurrency: 4})
	require.NoError(t, dp.Register(g, ""))
	h := model.NewHeaders(http.Header{})

	type result struct {
		resp *infer.Response
		err  error
	}
	running := make(chan result, 1)
	go func() {
		resp, err := dp.Infer(context.Background(), "g", dataplane.Predict, &infer.Request{Protocol: infer.ProtocolV2}, h)
		running <- result{resp, err}
	}()
	<-g.started
	require.NoError(t, dp.Stop(context.Background()))

	_, err := dp.Infer(context.Background(), "g", dataplane.Predict, &infer.Request{Protocol: infer.ProtocolV2}, h)
	assert.Equal(t, status.KindServerNotReady, status.KindOf(err), "a call after Stop: %v", err)

	close(g.release)
	r := <-running
	require.NoError(t, r.err)
	assert.Equal(t, "g", r.resp.ModelName)

	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("worker goroutines still running after Stop: %d, before New: %d", n, before)
	}
}
