package batch_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/batch"
	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
)

func TestPool_LendsEachReplicaToOneCallerAtATime(t *testing.T) {
	p, err := batch.NewPool("a", "b")
	require.NoError(t, err)
	assert.Equal(t, 2, p.Size())
	r1, err := p.Acquire(t.Context())
	require.NoError(t, err)
	r2, err := p.Acquire(t.Context())
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"a", "b"}, []string{r1, r2})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = p.Acquire(ctx)
	assert.ErrorIs(t, err, context.Canceled, "no replica is free: the caller's context decides")

	got := make(chan string, 1)
	go func() {
		_ = p.Do(t.Context(), func(r string) error { got <- r; return nil })
	}()
	p.Release(r2)
	assert.Equal(t, r2, <-got)

	_, err = batch.NewPool[string]()
	assert.EqualError(t, err, "batch: a pool needs at least one replica")
}

// replica is one instance of a custom model that is not safe for concurrent
// use: it counts how many calls run on it at once.
type replica struct {
	index   int
	gate    <-chan struct{}
	started chan<- int
	running atomic.Int32
	overlap atomic.Bool
	loaded  atomic.Bool
	freed   atomic.Bool
}

func (r *replica) Name() string                 { return fmt.Sprintf("replica-%d", r.index) }
func (r *replica) Load(context.Context) error   { r.loaded.Store(true); return nil }
func (r *replica) Ready() bool                  { return r.loaded.Load() }
func (r *replica) Unload(context.Context) error { r.freed.Store(true); return nil }

func (r *replica) Predict(ctx context.Context, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	if r.running.Add(1) > 1 {
		r.overlap.Store(true)
	}
	defer r.running.Add(-1)
	if r.started != nil {
		r.started <- r.index
	}
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return infer.PredictResponse(req, "m", []int64{int64(r.index)})
}

func newReplicas(t *testing.T, name string, n int, gate <-chan struct{}, started chan<- int) (*batch.Replicas, []*replica) {
	t.Helper()
	var mu sync.Mutex
	made := make([]*replica, n)
	m, err := batch.NewReplicas(name, n, func(_ context.Context, i int) (model.Predictor, error) {
		mu.Lock()
		defer mu.Unlock()
		made[i] = &replica{index: i, gate: gate, started: started}
		return made[i], nil
	})
	require.NoError(t, err)
	return m, made
}

func TestReplicas_RunOneRequestPerReplicaAndQueueTheRest(t *testing.T) {
	gate := make(chan struct{})
	started := make(chan int, 10)
	m, made := newReplicas(t, "m", 3, gate, started)
	assert.False(t, m.Ready())
	require.NoError(t, m.Load(t.Context()))
	require.True(t, m.Ready())
	for i, r := range made {
		assert.Equal(t, i, r.index)
		assert.True(t, r.loaded.Load(), "replica %d loaded", i)
	}
	dp := dataplane.New(dataplane.Options{MaxConcurrency: 1})
	require.NoError(t, dp.Register(m, ""))
	var replies []<-chan reply
	for i := range 7 {
		replies = append(replies, inferAsync(t.Context(), dp, "m", &infer.Request{Protocol: infer.ProtocolV2, ID: fmt.Sprint(i)}))
	}
	// Three run at once although --max_asyncio_workers is 1: the model is
	// Unbounded and bounded by its own replicas instead.
	seen := map[int]bool{}
	for range 3 {
		seen[<-started] = true
	}
	assert.Equal(t, map[int]bool{0: true, 1: true, 2: true}, seen)
	assert.Empty(t, started, "the fourth request waits for a free replica")
	close(gate)
	for _, ch := range replies {
		require.NoError(t, wait(t, ch).err)
	}
	for _, r := range made {
		assert.False(t, r.overlap.Load(), "replica %d ran two requests at once", r.index)
	}
	require.NoError(t, m.Unload(t.Context()))
	for _, r := range made {
		assert.True(t, r.freed.Load())
	}
	assert.False(t, m.Ready())
}

// The seed's parallel inference: a slow model never blocks another, even
// when the slow one has more requests waiting than the server has
// --max_asyncio_workers.
func TestReplicas_SlowModelDoesNotBlockAnother(t *testing.T) {
	gate := make(chan struct{})
	defer close(gate)
	started := make(chan int, 100)
	slow, _ := newReplicas(t, "slow", 2, gate, started)
	fast, _ := newReplicas(t, "fast", 1, nil, nil)
	dp := dataplane.New(dataplane.Options{MaxConcurrency: 2})
	for _, m := range []*batch.Replicas{slow, fast} {
		require.NoError(t, m.Load(t.Context()))
		require.NoError(t, dp.Register(m, ""))
	}
	for range 10 {
		inferAsync(t.Context(), dp, "slow", &infer.Request{Protocol: infer.ProtocolV2})
	}
	<-started
	<-started
	r := wait(t, inferAsync(t.Context(), dp, "fast", &infer.Request{Protocol: infer.ProtocolV2, ID: "f"}))
	require.NoError(t, r.err)
	assert.Equal(t, "f", r.resp.ID)
}

// The premise of the test above: two plain (bounded) models share the
// server's slots, and a slow one starves the other.
func TestPlainModels_SlowModelTakesEverySlot(t *testing.T) {
	gate := make(chan struct{})
	defer close(gate)
	started := make(chan int, 100)
	slow := &replica{index: 0, gate: gate, started: started}
	fast := &replica{index: 1}
	dp := dataplane.New(dataplane.Options{MaxConcurrency: 2})
	require.NoError(t, dp.Register(plain{slow, "slow"}, ""))
	require.NoError(t, dp.Register(plain{fast, "fast"}, ""))
	require.NoError(t, slow.Load(t.Context()))
	require.NoError(t, fast.Load(t.Context()))
	for range 2 {
		inferAsync(t.Context(), dp, "slow", &infer.Request{Protocol: infer.ProtocolV2})
	}
	<-started
	<-started
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	r := wait(t, inferAsync(ctx, dp, "fast", &infer.Request{Protocol: infer.ProtocolV2}))
	assert.True(t, errors.Is(r.err, context.DeadlineExceeded), "got %v", r.err)
}

type plain struct {
	*replica
	name string
}

func (p plain) Name() string { return p.name }

func TestNewReplicas_Invalid(t *testing.T) {
	_, err := batch.NewReplicas("m", 0, func(context.Context, int) (model.Predictor, error) { return nil, nil })
	assert.EqualError(t, err, "batch: model m needs at least one replica, got 0")
	_, err = batch.NewReplicas("m", 1, nil)
	assert.EqualError(t, err, "batch: model m has no replica constructor")
	m, err := batch.NewReplicas("m", 2, func(_ context.Context, i int) (model.Predictor, error) {
		if i == 1 {
			return nil, errors.New("no GPU 1")
		}
		return &replica{}, nil
	})
	require.NoError(t, err)
	assert.EqualError(t, m.Load(t.Context()), "model m: create replica 1: no GPU 1")
	assert.False(t, m.Ready())
}
