package onnx

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// ErrPoolClosed is returned by Pool.Run after Close.
var ErrPoolClosed = errors.New("onnx: session pool is closed")

// Pool holds replicas of one model, each its own session, so that up to
// len(replicas) requests run at the same time without sharing ONNX Runtime
// state; further requests wait for a free replica (or their ctx).
type Pool struct {
	sessions []*Session
	free     chan *Session
	closed   chan struct{}
	once     sync.Once
}

// NewPool loads replicas sessions of the model at path. When
// opts.IntraOpThreads is 0 each replica gets an equal share of the CPUs this
// process may use (at least one), so replicas do not oversubscribe them.
func (e *Env) NewPool(ctx context.Context, path string, replicas int, opts SessionOptions) (*Pool, error) {
	if replicas < 1 {
		return nil, fmt.Errorf("onnx pool for %s: replicas must be >= 1, got %d", path, replicas)
	}
	if err := e.initFor(ctx); err != nil {
		return nil, err
	}
	g, err := e.readInfo(ctx, path)
	if err != nil {
		return nil, err
	}
	if opts.IntraOpThreads <= 0 {
		opts.IntraOpThreads = max(1, config.AvailableCPUs()/replicas)
	}
	p := &Pool{free: make(chan *Session, replicas), closed: make(chan struct{})}
	for i := range replicas {
		s, err := e.newSession(ctx, g, opts)
		if err != nil {
			for _, s := range p.sessions {
				_ = s.Close()
			}
			return nil, fmt.Errorf("replica %d of %d: %w", i+1, replicas, err)
		}
		p.sessions = append(p.sessions, s)
		p.free <- s
	}
	return p, nil
}

// Replicas is the number of sessions.
func (p *Pool) Replicas() int { return len(p.sessions) }

// Inputs describes the model's inputs.
func (p *Pool) Inputs() []TensorInfo { return p.sessions[0].Inputs() }

// Outputs describes the model's outputs.
func (p *Pool) Outputs() []TensorInfo { return p.sessions[0].Outputs() }

// Provider is the execution provider of the replicas (see Session.Provider).
func (p *Pool) Provider() string { return p.sessions[0].Provider() }

// Session returns replica i, for callers that need its details.
func (p *Pool) Session(i int) *Session { return p.sessions[i] }

// Run runs the model on a free replica (see Session.Run).
func (p *Pool) Run(ctx context.Context, inputs []*infer.Tensor) ([]*infer.Tensor, error) {
	var s *Session
	select {
	case s = <-p.free:
	case <-p.closed:
		return nil, ErrPoolClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { p.free <- s }()
	return s.Run(ctx, inputs)
}

// Close stops new runs, waits for the running ones (or ctx), and releases
// the replicas that are idle; a replica still busy when ctx ends is left to
// the process's exit and reported in the error.
func (p *Pool) Close(ctx context.Context) error {
	p.once.Do(func() { close(p.closed) })
	var errs []error
	for range p.sessions {
		select {
		case s := <-p.free:
			errs = append(errs, s.Close())
		case <-ctx.Done():
			return errors.Join(append(errs, fmt.Errorf("onnx pool close: replicas still running: %w", ctx.Err()))...)
		}
	}
	return errors.Join(errs...)
}
