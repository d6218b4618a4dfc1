package batch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// schedule is the batcher's one scheduling goroutine: whenever an instance
// is free it looks for a batch that is due, hands it to a worker, and
// otherwise sleeps until a request arrives or leaves, an instance frees up,
// or the oldest request's delay runs out.
func (b *Batcher) schedule() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		if b.ctx.Err() != nil { // checked first: a freed instance must not take new work
			b.abort()
			close(b.work)
			return
		}
		b.mu.Lock()
		var next *running
		wait := time.Duration(-1)
		if b.idle > 0 {
			next, wait = b.pick(time.Now())
			if next != nil {
				b.idle--
			}
		}
		drained := b.closing && len(b.groups) == 0
		b.mu.Unlock()
		if next != nil {
			b.work <- next // never blocks: work has room for every idle instance
			continue
		}
		if drained {
			close(b.work)
			return
		}
		var tick <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-b.wake:
			// Let goroutines that are already runnable (clients answered by
			// the batch that just finished, about to send their next
			// request) reach the queue before the next batch is cut. When
			// batch functions compute in Go on every core, this goroutine
			// and the workers would otherwise hand the processors to each
			// other and batches would stay at one request.
			runtime.Gosched()
		case <-tick:
		case <-b.ctx.Done():
			b.abort()
			close(b.work)
			return
		}
		timer.Stop()
	}
}

// pick returns the batch to run now, or nil and how long until one is due
// (-1: not until something happens). It drops cancelled requests on the way.
// Among the groups with a batch due it serves the one whose head arrived
// first, so no kind of request starves another. Called with b.mu held.
func (b *Batcher) pick(now time.Time) (*running, time.Duration) {
	var best *group
	var bestKey string
	bestN := 0
	wait := time.Duration(-1)
	for key, g := range b.groups {
		g.compact()
		if len(g.items) == 0 {
			delete(b.groups, key)
			continue
		}
		n, rows, full := b.prefix(g.items)
		due := full || rows >= b.trigger || b.closing
		if !due {
			age := now.Sub(g.items[0].enq)
			if age >= b.opts.MaxQueueDelay {
				due = true
			} else if w := b.opts.MaxQueueDelay - age; wait < 0 || w < wait {
				wait = w
			}
		}
		if due && (best == nil || g.items[0].seq < best.items[0].seq) {
			best, bestKey, bestN = g, key, n
		}
	}
	if best == nil {
		return nil, wait
	}
	n := b.cut(best.items[:bestN])
	r := &running{}
	r.ctx, r.cancel = context.WithCancel(b.ctx)
	r.live.Store(1)
	for _, it := range best.items[:n] {
		it.run = r
		r.live.Add(1)
		if it.state.CompareAndSwap(statePending, stateDispatched) {
			r.items = append(r.items, it)
			b.pending--
		} else {
			r.live.Add(-1)
		}
	}
	clear(best.items[:n]) // let the dispatched items be collected
	best.items = best.items[n:]
	if len(best.items) == 0 {
		delete(b.groups, bestKey)
	}
	if len(r.items) == 0 { // every client left between compact and now
		r.cancel()
		return b.pick(now)
	}
	r.release() // drop the guard: from now on only clients hold the batch
	b.stats.Requests += int64(len(r.items))
	return r, 0
}

// compact drops cancelled requests, keeping the order.
func (g *group) compact() {
	kept := g.items[:0]
	for _, it := range g.items {
		if it.state.Load() != stateCancelled {
			kept = append(kept, it)
		}
	}
	clear(g.items[len(kept):])
	g.items = kept
}

// prefix returns how many requests from the head fit in one batch, their
// rows, and whether the batch is full: at MaxBatchSize, or the next request
// does not fit.
func (b *Batcher) prefix(items []*item) (n, rows int, full bool) {
	for _, it := range items {
		if rows+it.rows > b.opts.MaxBatchSize {
			return n, rows, true
		}
		rows += it.rows
		n++
	}
	return n, rows, rows == b.opts.MaxBatchSize
}

// cut shortens a due prefix to the largest preferred batch size it can be
// cut to at a request boundary; without one, the whole prefix goes.
func (b *Batcher) cut(items []*item) int {
	if len(b.preferred) == 0 {
		return len(items)
	}
	best, rows := 0, 0
	for i, it := range items {
		rows += it.rows
		if _, ok := slices.BinarySearch(b.preferred, rows); ok {
			best = i + 1
		}
	}
	if best == 0 {
		return len(items)
	}
	return best
}

// abort fails every queued request: the batcher's context ended.
func (b *Batcher) abort() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closing = true
	err := &status.Error{Kind: status.KindUnavailable, Message: fmt.Sprintf("%s is shutting down", b.subject()), Err: errors.Join(ErrClosed, context.Cause(b.ctx))}
	for key, g := range b.groups {
		for _, it := range g.items {
			if it.state.CompareAndSwap(statePending, stateDispatched) {
				b.pending--
				it.done <- result{err: err}
			}
		}
		delete(b.groups, key)
	}
}

func (b *Batcher) worker() {
	for r := range b.work {
		b.execute(r)
		r.cancel()
		b.mu.Lock()
		b.idle++
		b.mu.Unlock()
		b.signal()
	}
}

// execute runs one dispatched batch and answers each of its requests once.
// When the batch function names bad requests, those are answered with their
// errors and the others run again; each round removes at least one request,
// so this ends.
func (b *Batcher) execute(r *running) {
	items := r.items
	for len(items) > 0 {
		bt := merge(items, b.inputDim)
		b.mu.Lock()
		b.stats.Batches++
		b.stats.Rows += int64(bt.Size)
		b.mu.Unlock()
		outs, err := b.call(r.ctx, bt)
		var bad RequestErrors
		if errors.As(err, &bad) && validIndexes(bad, len(items)) {
			kept := items[:0:0]
			for i, it := range items {
				if e, ok := bad[i]; ok {
					it.done <- result{err: e}
				} else {
					kept = append(kept, it)
				}
			}
			items = kept
			continue
		}
		if err == nil {
			var parts [][]*infer.Tensor
			if parts, err = b.split(outs, bt); err == nil {
				for i, it := range items {
					it.done <- result{outputs: parts[i]}
				}
				return
			}
		}
		for _, it := range items {
			it.done <- result{err: err}
		}
		return
	}
}

func validIndexes(bad RequestErrors, n int) bool {
	if len(bad) == 0 {
		return false
	}
	for i, e := range bad {
		if i < 0 || i >= n || e == nil {
			return false
		}
	}
	return true
}

// call runs the batch function, turning a panic into an error for the
// batch's requests so that no model code takes the server down.
func (b *Batcher) call(ctx context.Context, bt *Batch) (outs []*infer.Tensor, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = status.Panic("batch function of "+b.subject(), p, debug.Stack())
		}
	}()
	return b.fn(ctx, bt)
}

// merge builds the batch of items. A batch of one passes the request's
// tensors through untouched.
func merge(items []*item, dimOf func(string) int) *Batch {
	bt := &Batch{Requests: make([]*infer.Request, len(items)), Rows: make([]int, len(items)), inputDim: dimOf}
	for i, it := range items {
		bt.Requests[i] = it.req
		bt.Rows[i] = it.rows
		bt.Size += it.rows
	}
	first := items[0].req
	if len(items) == 1 {
		bt.Inputs = first.Inputs
		return bt
	}
	bt.Inputs = make([]*infer.Tensor, len(first.Inputs))
	parts := make([]*infer.Tensor, len(items))
	for j, t := range first.Inputs {
		dim := dimOf(t.Name)
		if dim == NotBatched {
			bt.Inputs[j] = t // equal in every request: the key holds its value
			continue
		}
		for i, it := range items {
			parts[i] = it.req.Input(t.Name)
		}
		bt.Inputs[j] = concatTensors(parts, dim)
	}
	return bt
}

// split checks the batch function's outputs and cuts them into each
// request's rows.
func (b *Batcher) split(outs []*infer.Tensor, bt *Batch) ([][]*infer.Tensor, error) {
	parts := make([][]*infer.Tensor, len(bt.Rows))
	for i := range parts {
		parts[i] = make([]*infer.Tensor, len(outs))
	}
	for j, t := range outs {
		if t == nil {
			return nil, b.outputError("returned a nil output %d", j)
		}
		if err := t.Validate("output"); err != nil {
			return nil, b.outputError("returned an invalid output: %v", err)
		}
		dim := b.outputDim(t.Name)
		if dim == NotBatched {
			for i := range parts {
				c := *t
				parts[i][j] = &c
			}
			continue
		}
		if dim >= len(t.Shape) || t.Shape[dim] != int64(bt.Size) {
			return nil, b.outputError("returned output %q with shape %s for a batch of %d rows: its dimension %d must be the batch size", t.Name, infer.FormatShape(t.Shape), bt.Size, dim)
		}
		if len(bt.Rows) == 1 {
			parts[0][j] = t
			continue
		}
		for i, p := range splitTensor(t, dim, bt.Rows) {
			parts[i][j] = p
		}
	}
	return parts, nil
}

func (b *Batcher) outputError(format string, args ...any) error {
	msg := fmt.Sprintf("batch function of %s ", b.subject()) + fmt.Sprintf(format, args...)
	return &status.Error{Kind: status.KindInternal, Message: msg}
}
