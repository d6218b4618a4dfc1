// Package dataplane is the transport-independent core of the model server:
// the model registry, readiness, the preprocess → predict|explain →
// postprocess pipeline, the concurrency bound, metrics and latency logging.
// The REST and gRPC transports are thin layers over it, so a behaviour fixed
// here is fixed for both.
package dataplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/headerval"
	"github.com/kserve-gen/kserve-gen/runtime/metrics"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Verb is what a request asks of the model.
type Verb int

const (
	// Predict runs preprocess → predict → postprocess.
	Predict Verb = iota
	// Explain runs preprocess → explain → postprocess (v1 :explain).
	Explain
)

// Timings are the per-step durations of one request.
type Timings struct {
	Preprocess, Explain, Predict, Postprocess time.Duration
}

// LatencyFunc receives the timings of every completed request, with the
// request's x-request-id ("" when absent).
type LatencyFunc func(requestID string, t Timings)

// Options configure a Dataplane.
type Options struct {
	// MaxConcurrency bounds model pipeline executions running at once across
	// all transports (--max_asyncio_workers). <= 0 means unbounded.
	MaxConcurrency int
	// MaxQueued bounds the requests waiting for one of those slots
	// (--max_queued_requests): one more is refused at once with
	// status.KindOverloaded. <= 0 means no bound (they wait until their
	// context ends).
	MaxQueued int
	// Metrics receives step histograms and counters; nil disables them.
	Metrics *metrics.Metrics
	// Latency, when set, is called after each request (--enable_latency_logging).
	Latency LatencyFunc
	// ServerName and ServerVersion answer server metadata ("kserve", version).
	ServerName, ServerVersion string
	// Logger is handed to models in the context of Load and Unload
	// (model.Logger); nil leaves their contexts as they are.
	Logger *slog.Logger
}

// Entry is one registered model and the capabilities it has.
type Entry struct {
	Name      string
	Model     model.Model
	predictor model.Predictor
	pre       model.Preprocessor
	post      model.Postprocessor
	explainer model.Explainer
	labels    func(output string) []string // model.Labeler, for infer.Classify
	forwards  bool                         // model.OutputForwarder: infer.ClassifyForwarded
	unbounded bool
	metrics   *metrics.Model
	unloaded  atomic.Bool
	// readyPanic is the message of the panic of the model's last Ready
	// call, when it panicked: the reason notReady gives.
	readyPanic atomic.Pointer[string]
	// reasonPanic is the message of the panic of the model's last
	// NotReadyReason call, when it panicked, so that its stack is logged
	// once (notReadyReason).
	reasonPanic atomic.Pointer[string]
	// wasReady is the readiness ready last saw, everReady whether it ever
	// saw the model ready: a model that stops being ready is logged once,
	// when it happens (noteReadiness), as the probes' 503s are not.
	wasReady, everReady atomic.Bool
	// repo serialises the repository extension's load and unload of this
	// model: a load arriving while an unload still drains (ONNX Runtime
	// waiting for running requests, a batcher emptying its queue) would
	// otherwise find the model still ready, serve it again, and then see
	// the unload finish under it.
	repo sync.Mutex
}

// Dataplane is safe for concurrent use.
type Dataplane struct {
	opts  Options
	jobs  chan *call // to the MaxConcurrency pipeline workers
	quit  chan struct{}
	calls sync.Pool // of *call, so a request allocates none
	// reg is replaced whole by Register (models are never removed; unload is
	// a flag on the Entry), so every request reads it without a lock: an
	// RWMutex's reader count is a cache line all cores write.
	reg     atomic.Pointer[registry]
	regMu   sync.Mutex // serialises Register
	stopped atomic.Bool
	queued  atomic.Int64 // requests waiting for a slot
}

// registry is an immutable snapshot of the registered models.
type registry struct {
	order  []*Entry // registration order
	byName map[string]*Entry
}

// New returns an empty dataplane.
func New(opts Options) *Dataplane {
	d := &Dataplane{opts: opts}
	d.reg.Store(&registry{byName: map[string]*Entry{}})
	if opts.MaxConcurrency > 0 {
		// Long-lived workers: their stacks have grown to what a pipeline
		// needs, where a goroutine per request would start small and copy
		// its stack as it grows.
		d.jobs, d.quit = make(chan *call), make(chan struct{})
		d.calls.New = func() any { return &call{done: make(chan struct{}, 1)} }
		for range opts.MaxConcurrency {
			go d.worker()
		}
	}
	if d.opts.ServerName == "" {
		d.opts.ServerName = "kserve"
	}
	return d
}

// Register adds m under its own name, or under alias when given (KServe's
// register_model). A model without model.Predictor is registered too, as
// KServe registers a BaseKServeModel that is no InferenceModel (an
// OpenAIModel or a time-series model, served by routes of their own:
// packages openai and timeseries): it is listed,
// loaded and probed like any other, and Infer and ModelMetadata answer for
// it what KServe's dataplane answers (NoInference). The server refuses a
// model that implements none of them before it registers it.
func (d *Dataplane) Register(m model.Model, alias string) error {
	p, _ := m.(model.Predictor)
	name := alias
	if name == "" {
		name = m.Name()
	}
	if name == "" {
		return fmt.Errorf("model %T has an empty name", m)
	}
	e := &Entry{Name: name, Model: m, predictor: p}
	e.pre, _ = m.(model.Preprocessor)
	e.post, _ = m.(model.Postprocessor)
	e.explainer, _ = m.(model.Explainer)
	if l, ok := m.(model.Labeler); ok {
		e.labels = l.Labels
	}
	if u, ok := m.(model.Unbounded); ok {
		e.unbounded = u.Unbounded()
	}
	if f, ok := m.(model.OutputForwarder); ok {
		e.forwards = f.ForwardsOutputs()
	}
	if d.opts.Metrics != nil {
		e.metrics = d.opts.Metrics.ForModel(m.Name())
	}
	d.regMu.Lock()
	defer d.regMu.Unlock()
	old := d.reg.Load()
	if _, dup := old.byName[name]; dup {
		return fmt.Errorf("a model named %q is already registered", name)
	}
	r := &registry{order: append(slices.Clip(old.order), e), byName: maps.Clone(old.byName)}
	r.byName[name] = e
	d.reg.Store(r)
	return nil
}

// Names lists the served model names in registration order, ready or not.
func (d *Dataplane) Names() []string {
	r := d.reg.Load()
	out := make([]string, 0, len(r.order))
	for _, e := range r.order {
		if !e.unloaded.Load() {
			out = append(out, e.Name)
		}
	}
	return out
}

// Lookup returns the served model called name, or ModelNotFound.
func (d *Dataplane) Lookup(name string) (*Entry, error) {
	e := d.reg.Load().byName[name]
	if e == nil || e.unloaded.Load() {
		return nil, status.ModelNotFound(name)
	}
	return e, nil
}

// ModelReady reports a served model's readiness; unknown → ModelNotFound.
func (d *Dataplane) ModelReady(name string) (bool, error) {
	e, err := d.Lookup(name)
	if err != nil {
		return false, err
	}
	return d.ready(e), nil
}

// ModelNotReady is the 503 for a served model found not ready: KServe's
// "Model with name m is not ready.", followed by the model's
// NotReadyReason when it gives one.
func (d *Dataplane) ModelNotReady(name string) error {
	e, err := d.Lookup(name)
	if err != nil {
		return err
	}
	return d.notReady(e)
}

func (d *Dataplane) notReady(e *Entry) *status.Error {
	var reason string
	if p := e.readyPanic.Load(); p != nil {
		reason = *p
	} else if r, ok := e.Model.(model.NotReadyReasoner); ok {
		reason = d.notReadyReason(e, r)
	}
	return status.ModelNotReady(e.Name, reason)
}

// hookPanicked is the error of p, a panic recovered from model e's Ready or
// NotReadyReason (hook), which probes and requests call again and again: it is
// logged, after what, with its stack the first time the hook panics so,
// last holding the message of the hook's last panic (cleared by the caller
// once the hook returns).
func (d *Dataplane) hookPanicked(e *Entry, hook string, last *atomic.Pointer[string], what string, p any) *status.Error {
	pe := status.Panic(hook+" of model "+e.Name, p, debug.Stack())
	if prev := last.Swap(&pe.Message); prev == nil || *prev != pe.Message {
		d.logger().Error(what + pe.Message + status.PanicStack(pe))
	}
	return pe
}

// notReadyReason asks the model's NotReadyReason. One that panics gives
// the panic as the reason, as ready does for Ready, its stack logged when
// it first panics so: a probe still gets the 503 of a model not ready,
// where net/http cut its connection without an answer, and the WARNING
// noteReadiness logs from ready's defer did not panic out of ready.
func (d *Dataplane) notReadyReason(e *Entry, r model.NotReadyReasoner) (reason string) {
	defer func() {
		if p := recover(); p != nil {
			reason = d.hookPanicked(e, "NotReadyReason", &e.reasonPanic, "Model "+e.Name+" is not ready, and its NotReadyReason panicked: ", p).Message
		}
	}()
	reason = r.NotReadyReason()
	if e.reasonPanic.Load() != nil {
		e.reasonPanic.Store(nil)
	}
	return reason
}

// ServerNotReady is the 503 of /v2/health/ready when Ready is false:
// "Server is not ready.", followed by the first model found not ready and
// its reason, so that a probe's log says what holds the server back.
func (d *Dataplane) ServerNotReady() error {
	if e := d.firstNotReady(); e != nil && !d.stopped.Load() {
		return status.ServerNotReady(d.notReady(e).Message)
	}
	return status.ServerNotReady("")
}

// ready asks the model's Ready. One that panics is not ready, with the
// panic as its reason, logged with its stack when it first panics so (not
// on every probe and request after): a probe then sees the 503 of a model
// not ready, and the panic ends no caller (over gRPC, and in the health
// watcher's poll, it would end the process).
func (d *Dataplane) ready(e *Entry) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			d.hookPanicked(e, "Ready", &e.readyPanic, "Model "+e.Name+" is not ready: its Ready panicked: ", p)
			ok = false
		}
		if ok != e.wasReady.Load() {
			d.noteReadiness(e, ok)
		}
	}()
	ok = e.Model.Ready()
	if e.readyPanic.Load() != nil {
		e.readyPanic.Store(nil)
	}
	return ok
}

// noteReadiness logs a change of a model's readiness after it was first
// ready: a WARNING with the reason when it stops being ready (a
// transformer's predictor gone, a model's own health check failing), an
// INFO line when it is ready again. The 503s that probes get meanwhile are
// not logged (rest's notReadyAnswer), and the way there, loading, is
// logged by the server ("Model m loaded in ...").
func (d *Dataplane) noteReadiness(e *Entry, ok bool) {
	if !e.wasReady.CompareAndSwap(!ok, ok) {
		return // another caller saw the change first and logs it
	}
	switch {
	case ok && e.everReady.Swap(true):
		d.logger().Info(fmt.Sprintf("Model %s is ready again", e.Name))
	case !ok:
		d.logger().Warn(fmt.Sprintf("Model %s is no longer ready: %s", e.Name, d.notReady(e).Message))
	}
}

// firstNotReady is the first served model that is not ready, or nil.
func (d *Dataplane) firstNotReady() *Entry {
	for _, e := range d.reg.Load().order {
		if !e.unloaded.Load() && !d.ready(e) {
			return e
		}
	}
	return nil
}

// Live reports server liveness: true until Stop.
func (d *Dataplane) Live() bool { return !d.stopped.Load() }

// Ready reports server readiness: live, and every served model ready. Unlike
// KServe's Python server (always ready), probes on /v2/health/ready see
// models that are still loading.
func (d *Dataplane) Ready() bool {
	return !d.stopped.Load() && d.firstNotReady() == nil
}

// ServerMetadata is the v2 server metadata.
type ServerMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

// ServerMetadata returns the v2 server metadata.
func (d *Dataplane) ServerMetadata() ServerMetadata {
	return ServerMetadata{Name: d.opts.ServerName, Version: d.opts.ServerVersion, Extensions: []string{"model_repository_extension"}}
}

// ModelMetadata is the v2 model metadata (versions is null, as KServe).
type ModelMetadata struct {
	Name     string                 `json:"name"`
	Versions []string               `json:"versions"`
	Platform string                 `json:"platform"`
	Inputs   []model.TensorMetadata `json:"inputs"`
	Outputs  []model.TensorMetadata `json:"outputs"`
}

// ModelMetadata returns a served model's v2 metadata; a model not ready is
// the 503 of ModelNotReady. KServe's server answers only once its models
// have loaded; ours listens while they load, and a model that has not
// loaded does not know its tensors yet: empty lists would be cached by a
// client as the model's description.
//
// A panic in the model's metadata methods is an error (status.Panic), as in
// its pipeline.
func (d *Dataplane) ModelMetadata(name string) (md ModelMetadata, err error) {
	e, err := d.Lookup(name)
	if err != nil {
		return ModelMetadata{}, err
	}
	if !d.ready(e) {
		return ModelMetadata{}, d.notReady(e)
	}
	if e.predictor == nil {
		return ModelMetadata{}, NoInference(e.Model)
	}
	defer func() {
		if p := recover(); p != nil {
			md, err = ModelMetadata{}, status.Panic("the metadata of model "+e.Name, p, debug.Stack())
		}
	}()
	md = ModelMetadata{Name: name, Inputs: []model.TensorMetadata{}, Outputs: []model.TensorMetadata{}}
	if p, ok := e.Model.(model.MetadataProvider); ok {
		if in := p.InputsMetadata(); in != nil {
			md.Inputs = in
		}
		if out := p.OutputsMetadata(); out != nil {
			md.Outputs = out
		}
	}
	if p, ok := e.Model.(model.PlatformProvider); ok {
		md.Platform = p.Platform()
	}
	return md, nil
}

// StartModel runs the Load of a registered model at start-up, one at a
// time with the repository extension's loads and unloads of that model:
// the server listens while its models load, and a load request arriving
// meanwhile must not run the model's Load a second time concurrently.
func (d *Dataplane) StartModel(ctx context.Context, name string) error {
	e := d.reg.Load().byName[name]
	if e == nil {
		return status.ModelNotFound(name)
	}
	e.repo.Lock()
	defer e.repo.Unlock()
	err := guard("Load of model "+e.Name, func() error { return e.Model.Load(ctx) })
	if stack := status.PanicStack(err); stack != "" {
		// The error stops the server and its caller reports it; the
		// stack, in no other line, is logged alone, as Python prints a
		// traceback above the exception's message.
		d.logger().Error(strings.TrimPrefix(stack, "\n"))
	}
	return err
}

// LoadModel is the repository extension's load: it (re)loads a registered
// model and requires it to be ready afterwards. It waits for a load or
// unload of the same model still running.
func (d *Dataplane) LoadModel(ctx context.Context, name string) error {
	e := d.reg.Load().byName[name]
	if e == nil {
		return status.ModelNotReady(name, "")
	}
	e.repo.Lock()
	defer e.repo.Unlock()
	if err := guard("Load of model "+e.Name, func() error { return e.Model.Load(d.modelContext(ctx)) }); err != nil {
		// KServe's "Error type: <class 'RuntimeError'>" names the
		// exception's class; the error's type reads as in a 500's
		// "<Type> : <message>" ("OpError", "Error" for errors.New's), not
		// as Go's %T ("*errors.errorString"). A Go panic has no type to
		// name.
		typ, msg := status.TypeName(err), err.Error()
		var se *status.Error
		if errors.As(err, &se) && se.Stack != nil {
			typ, msg = "panic", strings.TrimPrefix(se.Message, "panic : ")
		}
		nr := status.ModelNotReady(name, fmt.Sprintf("Error type: %s error msg: %s", typ, msg))
		nr.Err = err
		if se != nil {
			nr.Stack = se.Stack
		}
		return nr
	}
	if !d.ready(e) {
		return d.notReady(e)
	}
	e.unloaded.Store(false)
	return nil
}

// UnloadModel is the repository extension's unload: the model stops being
// served (404 afterwards) and its Unload runs; a later load brings it back.
// Loads and unloads of one model run one at a time, in arrival order.
func (d *Dataplane) UnloadModel(ctx context.Context, name string) error {
	e := d.reg.Load().byName[name]
	if e == nil {
		return status.ModelNotFound(name)
	}
	e.repo.Lock()
	defer e.repo.Unlock()
	if e.unloaded.Load() {
		return status.ModelNotFound(name)
	}
	e.unloaded.Store(true)
	if u, ok := e.Model.(model.Unloader); ok {
		if err := guard("Unload of model "+e.Name, func() error { return u.Unload(d.modelContext(ctx)) }); err != nil {
			return fmt.Errorf("unload model %s: %w", name, err)
		}
	}
	return nil
}

// guard runs fn, a model's Load or Unload, turning its panic into an error
// (status.Panic) that subject ("Load of model m") names in its log line: the gRPC transport does not recover a handler's panic, so
// a model's would otherwise end the process, every other model with it.
// The error's message is read here too: a typed nil (a nil *MyErr returned
// as error) panics in its Error method, and is a panic of the model's like
// any other, not one of the transport that writes the answer.
func guard(subject string, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = status.Panic(subject, p, debug.Stack())
		}
	}()
	if err = fn(); err != nil {
		_ = err.Error()
	}
	return err
}

// Stop marks the server not live and not ready and unloads every model.
func (d *Dataplane) Stop(ctx context.Context) error {
	if !d.stopped.Swap(true) && d.quit != nil {
		close(d.quit)
		// Each worker exits once the call it is running returns; nobody
		// waits for that, as nobody waits for a model whose caller has gone.
		go func() {
			for range d.opts.MaxConcurrency {
				d.jobs <- nil
			}
		}()
	}
	var first error
	for _, e := range d.reg.Load().order {
		u, ok := e.Model.(model.Unloader)
		if !ok {
			continue
		}
		// A repository load or unload of the model still running (its
		// request outlived the drain) returns first, within ctx.
		unlock := lockWithin(ctx, &e.repo)
		if !e.unloaded.Swap(true) {
			if err := guard("Unload of model "+e.Name, func() error { return u.Unload(d.modelContext(ctx)) }); err != nil {
				err = fmt.Errorf("unload model %s: %w", e.Name, err)
				if stack := status.PanicStack(err); stack != "" {
					// Run returns the error and its caller reports it;
					// the stack, in no other line, is logged alone.
					d.logger().Error(strings.TrimPrefix(stack, "\n"))
				}
				if first == nil {
					first = err
				}
			}
		}
		unlock()
	}
	return first
}

// lockWithin locks mu, or gives up when ctx ends first: the caller then
// goes on unlocked (a Load that ignores its context must not hold the
// process past its termination grace period), and mu is released as soon
// as it is acquired.
func lockWithin(ctx context.Context, mu *sync.Mutex) (unlock func()) {
	if mu.TryLock() {
		return mu.Unlock
	}
	locked := make(chan struct{})
	go func() {
		mu.Lock()
		close(locked)
	}()
	select {
	case <-locked:
		return mu.Unlock
	case <-ctx.Done():
		go func() {
			<-locked
			mu.Unlock()
		}()
		return func() {}
	}
}

// Infer runs the pipeline for a served, ready model. The pipeline runs on its
// own goroutine, holding one of MaxConcurrency slots; when ctx ends first
// (client gone, deadline) Infer returns ctx's error at once and the slot is
// released when the model call returns.
func (d *Dataplane) Infer(ctx context.Context, name string, verb Verb, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	if d.stopped.Load() {
		// Without this a call arriving after Stop could still reach a free
		// worker by the fast path below and run a model being unloaded.
		return nil, status.ServerNotReady("")
	}
	e, err := d.Lookup(name)
	if err != nil {
		return nil, err
	}
	if !d.ready(e) {
		return nil, d.notReady(e)
	}
	if e.predictor == nil {
		return nil, NoInference(e.Model)
	}
	if verb == Explain && e.explainer == nil {
		return nil, status.NotImplemented("Could not find explainer_host.")
	}
	if e.metrics != nil {
		e.metrics.InFlight.Inc()
	}
	if d.jobs == nil || e.unbounded {
		if e.metrics != nil {
			defer e.metrics.InFlight.Dec()
		}
		return d.run(ctx, e, verb, req, h)
	}
	// From here the in-flight gauge is decremented by the worker once the
	// model call returns, or below if the call never reaches one: a call
	// whose client has gone still holds its slot until the model returns,
	// and the gauge (which autoscalers read) must keep counting it.
	c := d.calls.Get().(*call)
	c.ctx, c.e, c.verb, c.req, c.h = ctx, e, verb, req, h
	if err := d.submit(ctx, e, c); err != nil {
		d.putCall(c)
		return nil, err
	}
	select {
	case <-c.done:
		resp, err := c.resp, c.err
		d.putCall(c)
		return resp, err
	case <-ctx.Done():
		// The worker still owns c; it is left to the garbage collector.
		return nil, ctx.Err()
	}
}

// NoInference is the answer to a v1, v2 or gRPC inference or metadata
// request for a model without Predict (an OpenAI or time-series model): KServe's
// dataplane raises ValueError("Model of type T does not support
// inference") for a model that is no InferenceModel (dataplane.py infer
// and model_metadata), which its generic handler answers as a 500
// "ValueError : <message>". T is the model's Go type, without package
// and pointer.
func NoInference(m model.Model) error {
	t := reflect.TypeOf(m)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return status.Newf(status.KindInternal, "ValueError : Model of type %s does not support inference", t.Name())
}

// Acquire takes one of the MaxConcurrency slots for model work that Infer
// does not run (package openai's requests), waiting for it as Infer's calls
// do: refused at once past MaxQueued (status.KindOverloaded), given up when
// ctx ends (its error), or when the server stops. The slot is held, and the
// model counted in flight, until release is called; release may be called
// more than once. An Unbounded model, or a dataplane without a bound,
// takes no slot.
func (d *Dataplane) Acquire(ctx context.Context, name string) (release func(), err error) {
	if d.stopped.Load() {
		return nil, status.ServerNotReady("")
	}
	e, err := d.Lookup(name)
	if err != nil {
		return nil, err
	}
	if e.metrics != nil {
		e.metrics.InFlight.Inc()
	}
	var once sync.Once
	if d.jobs == nil || e.unbounded {
		return func() { once.Do(e.notInFlight) }, nil
	}
	// A worker that receives a call with hold set waits on it: the slot
	// is the worker, as for Infer's calls.
	c := &call{hold: make(chan struct{})}
	release = func() {
		once.Do(func() {
			close(c.hold)
			e.notInFlight()
		})
	}
	if err := d.submit(ctx, e, c); err != nil {
		return nil, err
	}
	return release, nil
}

// AcquireKind is Acquire for a route that serves one kind of model (the
// OpenAI routes, the time-series routes): the model called name, when kind
// reports that it is one and it is ready, with a slot taken for it.
// KServe's per-kind registries hold only their kind, so any other model is
// ModelNotFound (404); a model of the kind that is not ready is
// ModelNotReady (503), as the v1 and v2 routes answer it (KServe's would
// call load() inside the request; here loading is the server's).
func (d *Dataplane) AcquireKind(ctx context.Context, name string, kind func(model.Model) bool) (m model.Model, release func(), err error) {
	e, err := d.Lookup(name)
	if err != nil {
		return nil, nil, err
	}
	if !kind(e.Model) {
		return nil, nil, status.ModelNotFound(name)
	}
	if !d.ready(e) {
		return nil, nil, d.notReady(e)
	}
	release, err = d.Acquire(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	return e.Model, release, nil
}

// submit hands c, a call of model e, to a worker, waiting for one as the
// slots allow: refused at once past MaxQueued (status.KindOverloaded),
// given up when ctx ends (its error) or when the server stops. The wait is
// observed in e's queue histogram. On an error no worker has c, and e no
// longer counts it in flight.
func (d *Dataplane) submit(ctx context.Context, e *Entry, c *call) error {
	// A free worker usually waits: a non-blocking send is far cheaper than
	// the three-way select needed when all of them are busy.
	select {
	case d.jobs <- c:
		if e.metrics != nil {
			e.metrics.Queue.Observe(0) // no wait, and no clock read for it
		}
		return nil
	default:
	}
	if n := d.queued.Add(1); d.opts.MaxQueued > 0 && n > int64(d.opts.MaxQueued) {
		d.queued.Add(-1)
		e.notInFlight()
		return d.overloaded()
	}
	defer d.queued.Add(-1)
	start := time.Now()
	select {
	case d.jobs <- c: // a worker became free
		if e.metrics != nil {
			e.metrics.Queue.Observe(time.Since(start).Seconds())
		}
		return nil
	case <-ctx.Done():
		e.notInFlight()
		return ctx.Err()
	case <-d.quit:
		e.notInFlight()
		return status.ServerNotReady("")
	}
}

// overloaded is the error of a request refused past MaxQueued.
func (d *Dataplane) overloaded() error {
	return status.Newf(status.KindOverloaded,
		"Server overloaded: %s already %s for %s (--max_queued_requests, --max_asyncio_workers); retry later.",
		count(d.opts.MaxQueued, "request", "requests"), plural(d.opts.MaxQueued, "waits", "wait"),
		plural(d.opts.MaxConcurrency, "the model's one slot", fmt.Sprintf("one of the %d model slots", d.opts.MaxConcurrency)))
}

// Record counts a finished inference request in the model's metrics: the
// request (by protocol and verb), its size in bytes and the response's
// (negative: not known), and code, the status code of a failure (an HTTP
// code, or a gRPC code name; "" for a success). Transports call it once per
// request, failures before the model is called included, so that errors
// and requests are counted alike. A name that is not served is not
// recorded, so clients naming arbitrary models cannot grow the label set.
func (d *Dataplane) Record(name string, p infer.Protocol, verb Verb, in, out int, code string) {
	e := d.reg.Load().byName[name]
	if e == nil || e.metrics == nil {
		return
	}
	e.metrics.Exchange(int(p), verb == Explain, in, out, code)
}

// RecordUnnamed records a failed request whose model name could not be
// read (a gRPC message grpc-go refused before the server saw it) under
// model_name="" (metrics.Metrics.Unnamed); in and code are as Record's.
func (d *Dataplane) RecordUnnamed(p infer.Protocol, verb Verb, in int, code string) {
	if d.opts.Metrics != nil {
		d.opts.Metrics.Unnamed(int(p), verb == Explain, in, code)
	}
}

// logger is where the dataplane logs what no transport answers.
func (d *Dataplane) logger() *slog.Logger {
	if d.opts.Logger == nil {
		return slog.Default()
	}
	return d.opts.Logger
}

// modelContext is ctx carrying the logger models should use.
func (d *Dataplane) modelContext(ctx context.Context) context.Context {
	if d.opts.Logger == nil {
		return ctx
	}
	return model.ContextWithLogger(ctx, d.opts.Logger)
}

// putCall recycles a call whose worker has finished with it.
func (d *Dataplane) putCall(c *call) {
	*c = call{done: c.done}
	d.calls.Put(c)
}

// call is one pipeline execution handed to a worker; the worker is busy
// (one of MaxConcurrency) until the model returns, even when the caller has
// gone.
type call struct {
	ctx  context.Context
	e    *Entry
	verb Verb
	req  *infer.Request
	h    *model.Headers
	resp *infer.Response
	err  error
	done chan struct{} // buffered (1): the worker never waits for the caller
	// hold, set by Acquire (and nothing else), keeps the worker until it
	// is closed: a slot held for work the caller runs itself.
	hold chan struct{}
}

// worker runs pipelines until it receives nil (Stop sends one per worker).
// A plain receive, not a select with d.quit: the select's extra channel cost
// ≈60 ns on every request.
func (d *Dataplane) worker() {
	for c := <-d.jobs; c != nil; c = <-d.jobs {
		if c.hold != nil {
			<-c.hold
			continue
		}
		c.resp, c.err = d.run(c.ctx, c.e, c.verb, c.req, c.h)
		c.e.notInFlight() // before done: the caller may recycle c
		c.done <- struct{}{}
	}
}

// notInFlight ends a request's count in the in-flight gauge.
func (e *Entry) notInFlight() {
	if e.metrics != nil {
		e.metrics.InFlight.Dec()
	}
}

// run executes the pipeline, turning a panic in model code into an error so
// that nothing a model does crashes the server.
func (d *Dataplane) run(ctx context.Context, e *Entry, verb Verb, req *infer.Request, h *model.Headers) (resp *infer.Response, err error) {
	// step is the model method running, which the panic's log line names
	// (status.PanicStack): "" while the pipeline checks what it returned.
	step := ""
	defer func() {
		if r := recover(); r != nil {
			subject := "model " + e.Name
			if step != "" {
				subject = step + " of " + subject
			}
			err = status.Panic(subject, r, debug.Stack())
		}
	}()
	var t Timings
	// The protocol the request arrived on decides how the answer goes out:
	// a Preprocess may hand Predict a request of another protocol (a
	// transformer builds its predictor's v2 request from v1 instances).
	arrived := req.Protocol
	if e.pre != nil {
		start := time.Now()
		step = "Preprocess"
		req, err = e.pre.Preprocess(ctx, req, h)
		step = ""
		t.Preprocess = d.observe(e, stepPre, start)
		if err != nil {
			return nil, err
		}
		if req == nil {
			return nil, mistake("model %s: Preprocess returned a nil request", e.Name)
		}
		for i, in := range req.Inputs {
			if in == nil {
				return nil, mistake("model %s: Preprocess returned a nil input tensor (Inputs[%d])", e.Name, i)
			}
		}
	}
	if err := validate(req); err != nil {
		return nil, err
	}
	start := time.Now()
	if verb == Explain {
		step = "Explain"
		resp, err = e.explainer.Explain(ctx, req, h)
		t.Explain = d.observe(e, stepExplain, start)
	} else {
		step = "Predict"
		resp, err = e.predictor.Predict(ctx, req, h)
		t.Predict = d.observe(e, stepPredict, start)
	}
	step = ""
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, mistake("model %s returned a nil response", e.Name)
	}
	if e.post != nil {
		start := time.Now()
		step = "Postprocess"
		resp, err = e.post.Postprocess(ctx, resp, h)
		step = ""
		t.Postprocess = d.observe(e, stepPost, start)
		if err != nil {
			return nil, err
		}
		if resp == nil {
			return nil, mistake("model %s: Postprocess returned a nil response", e.Name)
		}
	}
	// A nil tensor would panic in the transports' encoders, which run
	// outside the recovery above (over gRPC that ends the process).
	for i, o := range resp.Outputs {
		if o == nil {
			return nil, mistake("model %s returned a nil output tensor (Outputs[%d])", e.Name, i)
		}
		if err := checkOutput(e, o); err != nil {
			return nil, err
		}
	}
	if p, ok := resp.Body.(infer.Predictions); ok {
		// A v1 answer of infer.PredictResponse with a tensor.
		if t, ok := p.Predictions.(*infer.Tensor); ok && t != nil {
			if err := checkOutput(e, t); err != nil {
				return nil, err
			}
		}
	}
	if arrived != infer.ProtocolV1 && len(resp.Outputs) == 0 && (resp.Body != nil || resp.Raw != nil) {
		// Only v1 sends a body; a v2 answer without outputs would drop it.
		return nil, mistake("model %s returned a v1 response body to a %s request; return tensors (infer.PredictResponse)", e.Name, transportName(arrived))
	}
	if h != nil && len(h.Response) != 0 {
		if err := checkHeaders(e, h.Response); err != nil {
			return nil, err
		}
	}
	if len(req.Outputs) > 0 { // the classification extension, for both transports
		classify := infer.Classify
		if e.forwards {
			classify = infer.ClassifyForwarded
		}
		if err := classify(req, resp, e.labels); err != nil {
			return nil, err
		}
	}
	if arrived == infer.ProtocolV1 && resp.Body == nil && resp.Raw == nil && resp.Stream == nil && len(resp.Outputs) > 0 {
		// A v1 request answered with tensors only (a batch.Model batches
		// the tensors a Preprocess made of v1 instances): the predictions
		// are the first output's rows, as runtime/onnx answers v1, rather
		// than an empty body.
		rows, err := infer.AppendRows(nil, resp.Outputs[0])
		if err != nil {
			return nil, fmt.Errorf("model %s: v1 predictions from output %s: %w", e.Name, resp.Outputs[0].Name, err)
		}
		resp.Body = infer.Predictions{Predictions: json.RawMessage(rows)}
	}
	if resp.Stream != nil && arrived != infer.ProtocolV1 {
		for range resp.Stream {
			break // the iterator's own clean-up runs (a forwarded stream's connection)
		}
		return nil, mistake("model %s returned a streamed answer, which only v1 :predict and :explain send (this request is %s)", e.Name, arrived)
	}
	if d.opts.Latency != nil {
		d.opts.Latency(model.HeaderValue(h.Request, "X-Request-Id"), t)
	}
	return resp, nil
}

// checkOutput refuses an output tensor that contradicts itself (data of
// another length than its shape, an unknown datatype), here, once, rather
// than in each transport's encoder in its own words: REST's read as an
// input's 400 ("output y: shape [2, 3] expects 6 elements, ..."), where
// gRPC named the model.
func checkOutput(e *Entry, t *infer.Tensor) error {
	if err := t.Validate("output"); err != nil {
		return &status.Error{Kind: status.KindInternal, Message: fmt.Sprintf("model %s returned an invalid response: %s", e.Name, status.Message(err)), Err: err}
	}
	return nil
}

// MaxResponseHeaderBytes bounds the response headers a model sets, counted
// as HTTP/2 counts a header list (name, value and 32 bytes a field). It is
// net/http's bound on the headers it receives (http.DefaultMaxHeaderBytes),
// well under where clients give up on an answer: Go's REST client at 10 MiB,
// and grpc-go's at 16 MiB, which it takes for an HPACK COMPRESSION_ERROR and
// closes the whole connection, failing every other call on it.
const MaxResponseHeaderBytes = 1 << 20

// checkHeaders refuses response headers over MaxResponseHeaderBytes with the
// 500 (INTERNAL) of a model's invalid response, naming the largest header.
// The request fails rather than going out without the header: a header the
// model set carries part of its answer (a label, a routing hint), and a
// client would act on what is left unaware; the model's author sees the
// failure in the first test, where a dropped header would be found late.
func checkHeaders(e *Entry, h http.Header) error {
	total, largestKey, largest := headerval.Sizes(h)
	if total <= MaxResponseHeaderBytes {
		return nil
	}
	return mistake("model %s returned an invalid response: its response headers take %d bytes as HTTP/2 counts them (each name and value plus 32), over the %d a response may carry; %s takes %d of them",
		e.Name, total, MaxResponseHeaderBytes, largestKey, largest)
}

// mistake is the 500 (gRPC INTERNAL) for a model's answer that breaks the
// Model contract, its message as written: an error without a kind would
// read "Error : ...", the generic handler's shape for an exception, where
// this is the runtime's own finding.
func mistake(format string, args ...any) *status.Error {
	msg := fmt.Sprintf(format, args...)
	return &status.Error{Kind: status.KindInternal, Message: msg, Err: errors.New(msg)}
}

type step int

const (
	stepPre step = iota
	stepPredict
	stepExplain
	stepPost
)

func (d *Dataplane) observe(e *Entry, s step, start time.Time) time.Duration {
	dur := time.Since(start)
	if e.metrics != nil {
		switch s {
		case stepPre:
			e.metrics.Preprocess.Observe(dur.Seconds())
		case stepPredict:
			e.metrics.Predict.Observe(dur.Seconds())
		case stepExplain:
			e.metrics.Explain.Observe(dur.Seconds())
		case stepPost:
			e.metrics.Postprocess.Observe(dur.Seconds())
		}
	}
	return dur
}

// validate is KServe's validate(): v1 "instances" must be a list; v2 inputs
// must match their shapes.
// transportName names a v2 protocol as the model's author knows it.
func transportName(p infer.Protocol) string {
	switch p {
	case infer.ProtocolV2:
		return "v2 REST"
	case infer.ProtocolGRPCV2:
		return "gRPC v2"
	}
	return p.String()
}

func validate(req *infer.Request) error {
	if req.Protocol == infer.ProtocolV1 {
		return req.ParseV1()
	}
	for _, in := range req.Inputs {
		if err := in.Validate("input"); err != nil {
			return err
		}
	}
	return nil
}

// count is n with the noun in its number ("1 request", "2 requests").
func count(n int, one, many string) string { return strconv.Itoa(n) + " " + plural(n, one, many) }

// plural is one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
