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

// quick answers at once.
type quick struct{}

func (quick) Name() string               { return "q" }
func (quick) Load(context.Context) error { return nil }
func (quick) Ready() bool                { return true }
func (quick) Predict(context.Context, *infer.Request, *model.Headers) (*infer.Response, error) {
	return &infer.Response{ModelName: "q"}, nil
}

// A slot taken by Acquire (an OpenAI request) is one of the same
// MaxConcurrency slots Infer's calls run in: while it is held, another
// Acquire or a v1/v2 call waits for it (here: until its context, already
// ended, gives up; a free slot is taken without looking at the context);
// once released, the call runs.
func TestAcquire_SharesInfersSlots(t *testing.T) {
	dp := dataplane.New(dataplane.Options{MaxConcurrency: 1, MaxQueued: 1})
	require.NoError(t, dp.Register(quick{}, ""))
	h := model.NewHeaders(http.Header{})
	req := &infer.Request{Protocol: infer.ProtocolV2}

	release, err := dp.Acquire(context.Background(), "q")
	require.NoError(t, err)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = dp.Acquire(cancelled, "q")
	require.ErrorIs(t, err, context.Canceled, "the only slot is held: the second Acquire waited for it")
	_, err = dp.Infer(cancelled, "q", dataplane.Predict, req, h)
	require.ErrorIs(t, err, context.Canceled)

	release()
	release() // a second release is harmless
	resp, err := dp.Infer(context.Background(), "q", dataplane.Predict, req, h)
	require.NoError(t, err)
	assert.Equal(t, "q", resp.ModelName)
	again, err := dp.Acquire(context.Background(), "q")
	require.NoError(t, err, "the slot is free again")
	again()

	_, err = dp.Acquire(context.Background(), "nope")
	assert.Equal(t, status.KindModelNotFound, status.KindOf(err))
	require.NoError(t, dp.Stop(context.Background()))
	_, err = dp.Acquire(context.Background(), "q")
	assert.Equal(t, status.KindServerNotReady, status.KindOf(err))
}

// noPredict is a model served by routes of its own (an OpenAI model).
type noPredict struct{}

func (noPredict) Name() string               { return "chat" }
func (noPredict) Load(context.Context) error { return nil }
func (noPredict) Ready() bool                { return true }

// A model without Predict is registered, listed and probed; inference and
// metadata are KServe's ValueError for a model that is no InferenceModel.
func TestRegister_ModelWithoutPredict(t *testing.T) {
	dp := dataplane.New(dataplane.Options{MaxConcurrency: 1})
	defer dp.Stop(context.Background())
	require.NoError(t, dp.Register(noPredict{}, ""))
	assert.Equal(t, []string{"chat"}, dp.Names())
	ok, err := dp.ModelReady("chat")
	require.NoError(t, err)
	assert.True(t, ok)
	_, err = dp.Infer(context.Background(), "chat", dataplane.Predict, &infer.Request{Protocol: infer.ProtocolV1}, model.NewHeaders(nil))
	assert.Equal(t, status.KindInternal, status.KindOf(err))
	assert.EqualError(t, err, "ValueError : Model of type noPredict does not support inference")
	_, err = dp.ModelMetadata("chat")
	assert.EqualError(t, err, "ValueError : Model of type noPredict does not support inference")
}
