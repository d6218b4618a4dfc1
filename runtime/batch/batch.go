// Package batch is dynamic batching for the model server: requests that
// arrive while a model is busy are queued, merged along their batch
// dimension into one call of a batch function, and the outputs are split
// back so that every request gets exactly its own rows.
//
// The rules follow Triton's dynamic batcher: a batch is dispatched when it
// reaches the largest preferred batch size (or the max batch size, or the
// next queued request would not fit), or when its oldest request has waited
// MaxQueueDelay; with a zero delay, whatever is queued goes as soon as an
// instance is free. Pre-batched requests count their real rows. Only
// requests with compatible inputs (same names, datatypes and non-batch
// dimensions) share a batch.
//
// Batcher is the generic core over a Func; Model turns a model with a
// PredictBatch method into a runtime model; Pool holds a model's replicas so
// that each model runs in parallel on its own instances.
package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// NotBatched, as an input's or output's batch dimension, marks a tensor that
// has no batch dimension (silero's scalar sample rate). Requests share a
// batch only when such an input holds the same value in each of them; the
// batch function sees it once. Such an output is handed whole to every
// request of the batch.
const NotBatched = -1

// Options configure a Batcher. The zero value of each field but MaxBatchSize
// is a usable default.
type Options struct {
	// Name names the model in error messages.
	Name string
	// MaxBatchSize is the most rows one call of the batch function gets
	// (>= 1). A request with more rows than this is rejected with a 400:
	// the limit usually exists because of memory (a GPU arena, a compiled
	// engine profile), so it is never exceeded, not even by one request.
	MaxBatchSize int
	// MaxQueueDelay is how long the oldest queued request may wait for the
	// batch to fill. Zero dispatches at once whatever is queued when an
	// instance is free, so batches form only from requests that arrived
	// while every instance was busy.
	MaxQueueDelay time.Duration
	// PreferredBatchSizes are row counts the batch function runs best at.
	// A batch is dispatched without waiting as soon as it reaches the
	// largest of them, and a dispatched batch is cut to the largest
	// preferred size it can be cut to (whole requests only); the rest stays
	// queued. Each must be in [1, MaxBatchSize].
	PreferredBatchSizes []int
	// InputBatchDim gives the batch dimension of inputs by name; inputs not
	// listed are batched along dimension 0. NotBatched marks an input
	// without one.
	InputBatchDim map[string]int
	// OutputBatchDim does the same for the outputs the batch function returns.
	OutputBatchDim map[string]int
	// MaxQueueSize bounds the requests waiting to be dispatched; a request
	// beyond it fails at once with 503 (ErrQueueFull). Zero is unbounded.
	MaxQueueSize int
	// Instances is how many batches run at once (default 1): the number of
	// model replicas or sessions the batch function spreads over. A batch is
	// formed only when an instance is free, which is what lets requests
	// accumulate while the model is busy.
	Instances int
}

// Batch is one call of the batch function.
type Batch struct {
	// Inputs are the requests' inputs concatenated along their batch
	// dimensions, in the order of the first request's inputs. The data may
	// be shared with the requests: treat it as read-only.
	Inputs []*infer.Tensor
	// Requests are the merged requests, in arrival order; Rows[i] is the
	// number of rows request i contributes (its rows are the Rows[i] rows
	// after the sum of Rows[:i]).
	Requests []*infer.Request
	Rows     []int
	// Size is the total number of rows, the sum of Rows.
	Size int

	inputDim func(name string) int
}

// InputDim is the batch dimension of the input called name (see
// Options.InputBatchDim): NotBatched for an input without one.
func (b *Batch) InputDim(name string) int {
	if b.inputDim == nil {
		return 0
	}
	return b.inputDim(name)
}

// Input returns the merged input called name, or nil.
func (b *Batch) Input(name string) *infer.Tensor {
	for _, t := range b.Inputs {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Func runs one batch and returns its outputs, each with Batch.Size rows
// along its batch dimension (see Options.OutputBatchDim). ctx carries the
// batcher's context; it is cancelled when every client of the batch has
// gone, or when the batcher is stopped.
//
// An error fails every request of the batch, unless it is (or wraps) a
// RequestErrors naming the bad requests: then only those fail and the rest
// are run again as a smaller batch.
type Func func(ctx context.Context, b *Batch) ([]*infer.Tensor, error)

// RequestErrors is the error a Func returns when it can tell which requests
// of the batch are bad: keys index Batch.Requests.
type RequestErrors map[int]error

func (e RequestErrors) Error() string {
	idx := make([]int, 0, len(e))
	for i := range e {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	msg := ""
	for n, i := range idx {
		if n > 0 {
			msg += "; "
		}
		msg += "request " + strconv.Itoa(i) + ": " + e[i].Error()
	}
	return msg
}

// ErrClosed is wrapped by the 503 error of a request made to a closed or
// stopped batcher.
var ErrClosed = errors.New("batcher closed")

// ErrQueueFull is wrapped by the 503 error of a request that finds the queue
// at MaxQueueSize.
var ErrQueueFull = errors.New("batch queue full")

// Stats are a batcher's counters since New.
type Stats struct {
	Queued    int   // requests waiting to be dispatched now
	Requests  int64 // requests dispatched in a batch
	Batches   int64 // calls of the batch function (re-runs included)
	Rows      int64 // rows passed to the batch function
	Cancelled int64 // requests whose client left before dispatch
	Rejected  int64 // requests refused because the queue was full
}

// Batcher queues requests and runs them in batches. It is safe for
// concurrent use.
type Batcher struct {
	fn        Func
	opts      Options
	preferred []int // sorted, unique
	trigger   int   // rows at which a batch goes without waiting

	ctx  context.Context // cancelled by Close's deadline or the caller of New
	stop context.CancelFunc
	wake chan struct{} // buffered 1: "look at the queue again"
	work chan *running
	done chan struct{} // closed when the scheduler and all workers returned

	mu      sync.Mutex
	groups  map[string]*group
	seq     uint64
	pending int // queued requests neither dispatched nor cancelled
	idle    int
	closing bool
	stats   Stats
}

// New starts a batcher that runs fn. ctx is the batcher's lifetime: its
// values reach fn, and when it ends queued requests fail with ErrClosed
// and running batches see it cancelled. Close drains gracefully.
func New(ctx context.Context, fn Func, opts Options) (*Batcher, error) {
	if fn == nil {
		return nil, errors.New("batch: nil batch function")
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Instances == 0 {
		opts.Instances = 1
	}
	b := &Batcher{
		fn:      fn,
		opts:    opts,
		wake:    make(chan struct{}, 1),
		work:    make(chan *running, opts.Instances),
		done:    make(chan struct{}),
		groups:  map[string]*group{},
		idle:    opts.Instances,
		trigger: opts.MaxBatchSize,
	}
	b.preferred = slices.Compact(slices.Sorted(slices.Values(opts.PreferredBatchSizes)))
	if len(b.preferred) > 0 {
		b.trigger = b.preferred[len(b.preferred)-1]
	}
	b.ctx, b.stop = context.WithCancel(ctx)
	var workers sync.WaitGroup
	for range opts.Instances {
		workers.Go(b.worker)
	}
	go func() {
		b.schedule()
		workers.Wait()
		close(b.done)
	}()
	return b, nil
}

func (o Options) validate() error {
	if o.MaxBatchSize < 1 {
		return fmt.Errorf("batch: MaxBatchSize is %d, must be at least 1", o.MaxBatchSize)
	}
	if o.MaxQueueDelay < 0 {
		return fmt.Errorf("batch: MaxQueueDelay is %v, must not be negative", o.MaxQueueDelay)
	}
	for _, p := range o.PreferredBatchSizes {
		if p < 1 || p > o.MaxBatchSize {
			return fmt.Errorf("batch: preferred batch size %d is outside [1, MaxBatchSize %d]", p, o.MaxBatchSize)
		}
	}
	for which, dims := range map[string]map[string]int{"input": o.InputBatchDim, "output": o.OutputBatchDim} {
		for name, d := range dims {
			if d < NotBatched {
				return fmt.Errorf("batch: %s %q has batch dimension %d; use a dimension >= 0 or NotBatched", which, name, d)
			}
		}
	}
	if o.MaxQueueSize < 0 {
		return fmt.Errorf("batch: MaxQueueSize is %d, must not be negative", o.MaxQueueSize)
	}
	if o.Instances < 0 {
		return fmt.Errorf("batch: Instances is %d, must not be negative", o.Instances)
	}
	return nil
}

// Options returns the options the batcher runs with (Instances defaulted).
func (b *Batcher) Options() Options { return b.opts }

// Stats returns a snapshot of the batcher's counters.
func (b *Batcher) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Queued = b.pending
	return s
}

// Item states: a request is pending until the scheduler dispatches it or
// its client cancels; whichever CAS wins decides.
const (
	statePending int32 = iota
	stateDispatched
	stateCancelled
)

type item struct {
	req   *infer.Request
	rows  int
	key   string
	seq   uint64
	enq   time.Time
	state atomic.Int32
	run   *running // set before the state becomes dispatched
	done  chan result
}

type result struct {
	outputs []*infer.Tensor
	err     error
}

type group struct {
	items []*item // FIFO
}

// running is a dispatched batch. live counts the clients still waiting for
// it plus one guard held while it is being formed; at zero nobody wants the
// result any more and ctx is cancelled.
type running struct {
	items  []*item
	ctx    context.Context
	cancel context.CancelFunc
	live   atomic.Int32
}

func (r *running) release() {
	if r.live.Add(-1) == 0 {
		r.cancel()
	}
}

// Do queues req and waits for its share of a batch's outputs. It returns at
// once with ctx's error when ctx ends first: a request still queued leaves
// the queue, one already running is computed with its batch and discarded.
func (b *Batcher) Do(ctx context.Context, req *infer.Request) ([]*infer.Tensor, error) {
	it, err := b.prepare(req)
	if err != nil {
		return nil, err
	}
	if err := b.enqueue(it); err != nil {
		return nil, err
	}
	select {
	case r := <-it.done:
		return r.outputs, r.err
	case <-ctx.Done():
		if it.state.CompareAndSwap(statePending, stateCancelled) {
			b.mu.Lock()
			b.pending--
			b.stats.Cancelled++
			b.mu.Unlock()
			b.signal() // the oldest request may have changed
		} else if r := it.run; r != nil {
			// Dispatched (it.run was written before the state changed):
			// the batch may be cancelled if no one else wants it.
			r.release()
		}
		return nil, ctx.Err()
	}
}

// prepare checks req's inputs and computes its rows and compatibility key.
func (b *Batcher) prepare(req *infer.Request) (*item, error) {
	if len(req.Inputs) == 0 {
		return nil, status.InvalidInputf("%s batches tensor inputs, but the request has none", b.subject())
	}
	order := make([]*infer.Tensor, len(req.Inputs))
	copy(order, req.Inputs)
	sort.Slice(order, func(i, j int) bool { return order[i].Name < order[j].Name })
	rows, rowsFrom := -1, ""
	var key []byte
	for i, t := range order {
		if i > 0 && order[i-1].Name == t.Name {
			return nil, status.InvalidInputf("input %q appears more than once in the request", t.Name)
		}
		if err := t.Validate("input"); err != nil {
			return nil, err
		}
		dim := b.inputDim(t.Name)
		key = append(key, t.Name...)
		key = append(key, 0)
		key = append(key, t.Datatype...)
		key = append(key, 0)
		if dim == NotBatched {
			key = appendShape(key, t.Shape, -1)
			key = appendValue(key, t.Data)
			continue
		}
		if dim >= len(t.Shape) {
			return nil, status.InvalidInputf("input %q has shape %s, which has no batch dimension %d", t.Name, infer.FormatShape(t.Shape), dim)
		}
		r := int(t.Shape[dim])
		switch {
		case r == 0:
			return nil, status.InvalidInputf("input %q has shape %s: its batch dimension %d is empty", t.Name, infer.FormatShape(t.Shape), dim)
		case rows < 0:
			rows, rowsFrom = r, t.Name
		case r != rows:
			return nil, status.InvalidInputf("input %q has %d rows along its batch dimension %d, but input %q has %d", t.Name, r, dim, rowsFrom, rows)
		}
		key = appendShape(key, t.Shape, dim)
	}
	if rows < 0 {
		return nil, status.InvalidInputf("%s: no input of the request has a batch dimension", b.subject())
	}
	if rows > b.opts.MaxBatchSize {
		return nil, status.InvalidInputf("input %q has batch size %d, more than the max batch size %d of %s", rowsFrom, rows, b.opts.MaxBatchSize, b.subject())
	}
	return &item{req: req, rows: rows, key: string(key), done: make(chan result, 1)}, nil
}

// appendShape appends shape with the batch dimension skip left out, so that
// requests differing only in their row counts get the same key.
func appendShape(key []byte, shape []int64, skip int) []byte {
	key = strconv.AppendInt(key, int64(len(shape)), 10)
	for i, d := range shape {
		key = append(key, ',')
		if i == skip {
			key = append(key, '*')
			continue
		}
		key = strconv.AppendInt(key, d, 10)
	}
	return append(key, 0)
}

func (b *Batcher) subject() string {
	if b.opts.Name == "" {
		return "the batched model"
	}
	return "model " + b.opts.Name
}

func (b *Batcher) inputDim(name string) int {
	if d, ok := b.opts.InputBatchDim[name]; ok {
		return d
	}
	return 0
}

func (b *Batcher) outputDim(name string) int {
	if d, ok := b.opts.OutputBatchDim[name]; ok {
		return d
	}
	return 0
}

func (b *Batcher) enqueue(it *item) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing || b.ctx.Err() != nil {
		return &status.Error{Kind: status.KindUnavailable, Message: fmt.Sprintf("%s is shutting down", b.subject()), Err: ErrClosed}
	}
	if b.opts.MaxQueueSize > 0 && b.pending >= b.opts.MaxQueueSize {
		b.stats.Rejected++
		return &status.Error{Kind: status.KindUnavailable, Message: fmt.Sprintf("%s is overloaded: %d requests are queued, the most it queues (max queue size)", b.subject(), b.pending), Err: ErrQueueFull}
	}
	b.seq++
	it.seq = b.seq
	it.enq = time.Now()
	g := b.groups[it.key]
	if g == nil {
		g = &group{}
		b.groups[it.key] = g
	}
	g.items = append(g.items, it)
	b.pending++
	b.signal()
	return nil
}

// signal wakes the scheduler without blocking; one pending wake-up is enough
// because the scheduler looks at the whole queue each time.
func (b *Batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Close stops accepting requests, dispatches everything queued without
// waiting for MaxQueueDelay, and waits for the running batches. When ctx
// ends first, requests still queued fail with ErrClosed, running batches see
// their context cancelled, and Close returns ctx's error without waiting for
// batch functions that ignore their context.
func (b *Batcher) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closing = true
	b.mu.Unlock()
	b.signal()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		b.stop()
		return ctx.Err()
	}
}
