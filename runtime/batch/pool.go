package batch

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Pool lends out a fixed set of replicas, each to one caller at a time:
// the Go counterpart of Ray Serve's num_replicas. A model with its own pool
// runs as many calls in parallel as it has replicas, whatever other models
// are doing; callers beyond that wait for a replica (or for their context).
// It is safe for concurrent use.
type Pool[R any] struct {
	free chan R
	size int
}

// NewPool returns a pool of the given replicas (at least one).
func NewPool[R any](replicas ...R) (*Pool[R], error) {
	if len(replicas) == 0 {
		return nil, errors.New("batch: a pool needs at least one replica")
	}
	p := &Pool[R]{free: make(chan R, len(replicas)), size: len(replicas)}
	for _, r := range replicas {
		p.free <- r
	}
	return p, nil
}

// Size is the number of replicas.
func (p *Pool[R]) Size() int { return p.size }

// Acquire waits for a free replica; the caller must Release it.
func (p *Pool[R]) Acquire(ctx context.Context) (R, error) {
	select {
	case r := <-p.free:
		return r, nil
	case <-ctx.Done():
		var zero R
		return zero, ctx.Err()
	}
}

// Release returns a replica taken with Acquire.
func (p *Pool[R]) Release(r R) { p.free <- r }

// Do runs fn on a free replica.
func (p *Pool[R]) Do(ctx context.Context, fn func(R) error) error {
	r, err := p.Acquire(ctx)
	if err != nil {
		return err
	}
	defer p.Release(r)
	return fn(r)
}

// Replicas serves a custom model as N independent replicas, each created by
// its own call of a constructor and running one request at a time: for
// models whose state is not safe for concurrent use, or that should each own
// a device (or a share of one). Requests wait for a free replica in the
// model's own queue; Replicas implements model.Unbounded so a slow model's
// waiting requests never take the server's --max_asyncio_workers slots that
// other models need.
//
// Predict and Explain run on a borrowed replica. Preprocess, Postprocess and
// metadata come from replica 0 without borrowing it (as for any model, the
// server may call them concurrently).
type Replicas struct {
	name   string
	n      int
	newOne func(ctx context.Context, i int) (model.Predictor, error)
	mu     sync.Mutex
	all    []model.Predictor
	pool   *Pool[model.Predictor]
}

// NewReplicas returns a model called name served by n replicas; newReplica
// builds replica i (0 <= i < n) when the model is loaded, and may use i to
// pick a device. A replica that implements model.Model is loaded too.
func NewReplicas(name string, n int, newReplica func(ctx context.Context, i int) (model.Predictor, error)) (*Replicas, error) {
	if n < 1 {
		return nil, fmt.Errorf("batch: model %s needs at least one replica, got %d", name, n)
	}
	if newReplica == nil {
		return nil, fmt.Errorf("batch: model %s has no replica constructor", name)
	}
	return &Replicas{name: name, n: n, newOne: newReplica}, nil
}

// Name is the served model name.
func (m *Replicas) Name() string { return m.name }

// Load builds and loads every replica (once).
func (m *Replicas) Load(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pool != nil {
		return nil
	}
	all := make([]model.Predictor, m.n)
	for i := range all {
		r, err := m.newOne(ctx, i)
		if err != nil {
			return fmt.Errorf("model %s: create replica %d: %w", m.name, i, err)
		}
		if mm, ok := r.(model.Model); ok {
			if err := mm.Load(ctx); err != nil {
				return fmt.Errorf("model %s: load replica %d: %w", m.name, i, err)
			}
		}
		all[i] = r
	}
	pool, err := NewPool(all...)
	if err != nil {
		return err
	}
	m.all, m.pool = all, pool
	return nil
}

func (m *Replicas) state() ([]model.Predictor, *Pool[model.Predictor]) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.all, m.pool
}

// Ready reports every replica loaded and ready.
func (m *Replicas) Ready() bool {
	all, pool := m.state()
	if pool == nil {
		return false
	}
	for _, r := range all {
		if mm, ok := r.(model.Model); ok && !mm.Ready() {
			return false
		}
	}
	return true
}

// Unbounded implements model.Unbounded.
func (m *Replicas) Unbounded() bool { return true }

// Size is the number of replicas.
func (m *Replicas) Size() int { return m.n }

// Predict runs on the first free replica.
func (m *Replicas) Predict(ctx context.Context, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	_, pool := m.state()
	if pool == nil {
		return nil, status.ModelNotReady(m.name, "")
	}
	var resp *infer.Response
	err := pool.Do(ctx, func(r model.Predictor) error {
		var err error
		resp, err = r.Predict(ctx, req, h)
		return err
	})
	return resp, err
}

// Explain runs on the first free replica, when replicas explain.
func (m *Replicas) Explain(ctx context.Context, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	all, pool := m.state()
	if pool == nil {
		return nil, status.ModelNotReady(m.name, "")
	}
	if _, ok := all[0].(model.Explainer); !ok {
		return nil, status.NotImplemented("Could not find explainer_host.")
	}
	var resp *infer.Response
	err := pool.Do(ctx, func(r model.Predictor) error {
		var err error
		resp, err = r.(model.Explainer).Explain(ctx, req, h)
		return err
	})
	return resp, err
}

// Preprocess is replica 0's, if it has one.
func (m *Replicas) Preprocess(ctx context.Context, req *infer.Request, h *model.Headers) (*infer.Request, error) {
	if all, _ := m.state(); len(all) > 0 {
		if p, ok := all[0].(model.Preprocessor); ok {
			return p.Preprocess(ctx, req, h)
		}
	}
	return req, nil
}

// Postprocess is replica 0's, if it has one.
func (m *Replicas) Postprocess(ctx context.Context, resp *infer.Response, h *model.Headers) (*infer.Response, error) {
	if all, _ := m.state(); len(all) > 0 {
		if p, ok := all[0].(model.Postprocessor); ok {
			return p.Postprocess(ctx, resp, h)
		}
	}
	return resp, nil
}

// InputsMetadata is replica 0's, if it describes its tensors.
func (m *Replicas) InputsMetadata() []model.TensorMetadata {
	if all, _ := m.state(); len(all) > 0 {
		if p, ok := all[0].(model.MetadataProvider); ok {
			return p.InputsMetadata()
		}
	}
	return nil
}

// OutputsMetadata is replica 0's, if it describes its tensors.
func (m *Replicas) OutputsMetadata() []model.TensorMetadata {
	if all, _ := m.state(); len(all) > 0 {
		if p, ok := all[0].(model.MetadataProvider); ok {
			return p.OutputsMetadata()
		}
	}
	return nil
}

// Unload waits for every replica to be free (or ctx to end), then unloads
// those that implement model.Unloader. A later Load builds new replicas.
func (m *Replicas) Unload(ctx context.Context) error {
	m.mu.Lock()
	all, pool := m.all, m.pool
	m.all, m.pool = nil, nil
	m.mu.Unlock()
	if pool == nil {
		return nil
	}
	var errs []error
	for range all {
		r, err := pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("model %s: unload: waiting for replicas to finish: %w", m.name, err)
		}
		if u, ok := r.(model.Unloader); ok {
			errs = append(errs, u.Unload(ctx))
		}
	}
	return errors.Join(errs...)
}

var (
	_ model.Predictor     = (*Model)(nil)
	_ model.Unbounded     = (*Model)(nil)
	_ model.Unloader      = (*Model)(nil)
	_ model.Predictor     = (*Replicas)(nil)
	_ model.Unbounded     = (*Replicas)(nil)
	_ model.Preprocessor  = (*Replicas)(nil)
	_ model.Postprocessor = (*Replicas)(nil)
)
