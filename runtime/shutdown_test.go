package runtime_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"

	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// unloadModel reports the context each Unload gets, as it was then.
type unloadModel struct {
	echoModel
	unloads chan unloadCtx
}

type unloadCtx struct {
	err  error         // ctx.Err()
	left time.Duration // until its deadline; 0: none
}

func (m *unloadModel) Unload(ctx context.Context) error {
	u := unloadCtx{err: ctx.Err()}
	if dl, ok := ctx.Deadline(); ok {
		u.left = time.Until(dl)
	}
	m.unloads <- u
	return nil
}

// runServer runs cfg's server for models on local REST and gRPC listeners
// until the returned stop is called; stop returns Run's error.
func runServer(t *testing.T, cfg config.Config, stderr io.Writer, models ...runtime.Model) (rest, grpc string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithGRPCListener(gln), runtime.WithLogOutput(io.Discard, stderr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, models...) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready")
	}
	var stopped bool
	stop = func() error {
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return")
			return nil
		}
	}
	t.Cleanup(func() {
		if !stopped {
			_ = stop()
		}
	})
	return "http://" + ln.Addr().String(), gln.Addr().String(), stop
}

// --grace_period=0 stops an idle server at once and successfully (exit
// status 0); the models' Unload gets a context of its own, not the spent
// grace period's.
func TestShutdown_ZeroGracePeriodIdle(t *testing.T) {
	for range 5 {
		cfg := config.Default()
		cfg.ModelName = "echo"
		cfg.GracePeriod = 0
		m := &unloadModel{echoModel: echoModel{name: "echo"}, unloads: make(chan unloadCtx, 1)}
		var stderr runtimetest.LogBuffer
		_, _, stop := runServer(t, cfg, &stderr, m)
		require.NoError(t, stop(), stderr.String())
		assert.NotContains(t, stderr.String(), "WARNING", "nothing was cut")
		u := <-m.unloads
		assert.NoError(t, u.err, "Unload's context")
		assert.Greater(t, u.left, 4*time.Second, "Unload's context is bounded, with time left")
	}
}

// When the grace period runs out with requests still running, their
// connections are closed with a WARNING in the log format, and Run still
// returns nil: the stop was asked for.
func TestShutdown_GracePeriodOver(t *testing.T) {
	cfg := config.Default()
	cfg.ModelName = "echo"
	cfg.GracePeriod = 300 * time.Millisecond
	m := &unloadModel{echoModel: echoModel{name: "echo", block: make(chan struct{})}, unloads: make(chan unloadCtx, 1)}
	defer close(m.block)
	var stderr runtimetest.LogBuffer
	url, gaddr, stop := runServer(t, cfg, &stderr, m)

	restErr := make(chan error, 1)
	go func() {
		resp, err := http.Post(url+"/v1/models/echo:predict", "application/json", strings.NewReader(`{"instances":[1]}`))
		if err == nil {
			resp.Body.Close()
		}
		restErr <- err
	}()
	gc, err := client.NewGRPC(gaddr)
	require.NoError(t, err)
	defer gc.Close()
	grpcErr := make(chan error, 1)
	go func() {
		_, err := gc.Infer(context.Background(), &infer.Request{ModelName: "echo", Inputs: []*infer.Tensor{{Name: "x", Datatype: infer.FP32, Shape: []int64{1}, Data: []float32{1}}}})
		grpcErr <- err
	}()
	require.Eventually(t, func() bool { return m.inFlight.Load() == 2 }, 5*time.Second, time.Millisecond)

	start := time.Now()
	require.NoError(t, stop(), stderr.String())
	took := time.Since(start)
	assert.GreaterOrEqual(t, took, cfg.GracePeriod)
	assert.Less(t, took, 3*time.Second)
	assert.Error(t, <-restErr, "the REST request's connection is closed")
	assert.Error(t, <-grpcErr, "the gRPC call's connection is closed")
	assert.Regexp(t, `(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ kserve WARNING \[server\.go:shutdown\(\):\d+\] Grace period of 300ms over: closing the HTTP and gRPC connections still open$`, stderr.String())
	assert.NotContains(t, stderr.String(), "context deadline exceeded")
	u := <-m.unloads
	assert.NoError(t, u.err, "Unload's context")
	assert.Greater(t, u.left, 4*time.Second, "Unload's context")
}
