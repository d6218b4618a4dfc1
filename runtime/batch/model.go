package batch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Predictor is a model that predicts a whole batch in one call: the
// counterpart of Func as a method. PredictBatch is called by at most
// Options.Instances goroutines at once.
type Predictor interface {
	model.Model
	PredictBatch(ctx context.Context, b *Batch) ([]*infer.Tensor, error)
}

// Model serves a Predictor with dynamic batching. Requests with tensor
// inputs (v2 REST and gRPC, or v1 requests a Preprocess turned into
// tensors) are batched; their responses carry the request's share of every
// output. A v1 request without tensors goes to the inner model's own
// Predict when it has one. A v1 request that Preprocess gave tensors gets a
// response with Outputs only: the inner Postprocess can turn them into a
// v1 body, else the dataplane answers {"predictions": the first output's
// rows}.
//
// The optional capabilities (Preprocess, Postprocess, Explain, metadata,
// platform, Unload) are the inner model's: each request is pre- and
// post-processed on its own, only prediction is batched. Model implements
// model.Unbounded: its requests wait in the batch queue (bounded by
// MaxQueueSize), not in the server's --max_asyncio_workers slots, which
// would otherwise cap how many requests can meet in a batch.
type Model struct {
	inner Predictor
	opts  Options

	mu sync.Mutex
	b  *Batcher
	// direct is set by Load when the model's fixed batch dimension is 1:
	// requests go to the inner model's Predict, one at a time.
	direct bool
}

// NewModel wraps m (a nil m is an error). opts.Name defaults to m.Name().
// The batcher starts when the model is loaded and stops (draining) when it
// is unloaded.
//
// A model that declares its tensors (model.MetadataProvider) with a fixed
// batch dimension (an ONNX export without dynamic_axes: [1, 3]) cannot run
// merged batches larger than it: Load lowers MaxBatchSize to that size
// (dropping larger PreferredBatchSizes) and logs a warning; when it is 1,
// requests go to the model's own Predict, unbatched, if it has one.
func NewModel(m Predictor, opts Options) (*Model, error) {
	// A constructor's nil result passed on unchecked would panic in Name
	// below, far from the mistake.
	if m == nil {
		return nil, errors.New("batch: nil model")
	}
	if v := reflect.ValueOf(m); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, fmt.Errorf("batch: nil model (%T)", m)
	}
	if opts.Name == "" {
		opts.Name = m.Name()
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Model{inner: m, opts: opts}, nil
}

// Inner returns the wrapped model.
func (m *Model) Inner() Predictor { return m.inner }

// Batcher returns the running batcher (nil before Load), e.g. for Stats.
func (m *Model) Batcher() *Batcher {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b
}

// Name is the inner model's name.
func (m *Model) Name() string { return m.inner.Name() }

// Load loads the inner model and starts the batcher. The batcher outlives
// ctx (a repository load request's context) but keeps its values.
func (m *Model) Load(ctx context.Context) error {
	if err := m.inner.Load(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.b != nil {
		return nil
	}
	opts := m.opts
	log := model.Logger(ctx)
	if n, why := m.fixedBatch(); n < opts.MaxBatchSize {
		opts.MaxBatchSize = max(n, 1)
		opts.PreferredBatchSizes = slices.DeleteFunc(slices.Clone(opts.PreferredBatchSizes), func(p int) bool { return p > opts.MaxBatchSize })
		_, predicts := m.inner.(model.Predictor)
		switch {
		case opts.MaxBatchSize == 1 && predicts:
			log.Warn(fmt.Sprintf("Model %s is served without batching: %s, so no two requests can share a call (max batch size %d not used)", m.inner.Name(), why, m.opts.MaxBatchSize))
		case opts.MaxBatchSize == 1:
			log.Warn(fmt.Sprintf("Model %s runs one request per call: %s, so no two requests can share a call (max batch size %d not used)", m.inner.Name(), why, m.opts.MaxBatchSize))
		default:
			log.Warn(fmt.Sprintf("Model %s batches at most %d rows per call: %s (max batch size %d lowered)", m.inner.Name(), opts.MaxBatchSize, why, m.opts.MaxBatchSize))
		}
		m.direct = opts.MaxBatchSize == 1 && predicts
	}
	b, err := New(context.WithoutCancel(ctx), m.inner.PredictBatch, opts)
	if err != nil {
		return err
	}
	m.b = b
	if !m.direct {
		log.Info(fmt.Sprintf("Model %s batches requests: up to %d rows per call, the oldest waiting at most %s for its batch to fill, %d call(s) at once",
			m.inner.Name(), opts.MaxBatchSize, opts.MaxQueueDelay, max(opts.Instances, 1)))
	}
	return nil
}

// fixedBatch is the smallest fixed size of a batch dimension among the
// inner model's declared inputs and outputs (model.MetadataProvider, after
// its Load) and why, naming the tensor; math.MaxInt when none is fixed. A
// model exported with a fixed batch (ONNX without dynamic_axes: [1, 3])
// fails every merged batch larger than that.
func (m *Model) fixedBatch() (int, string) {
	n, why := math.MaxInt, ""
	p, ok := m.inner.(model.MetadataProvider)
	if !ok {
		return n, why
	}
	for _, side := range []struct {
		kind string
		md   []model.TensorMetadata
		dims map[string]int
	}{{"input", p.InputsMetadata(), m.opts.InputBatchDim}, {"output", p.OutputsMetadata(), m.opts.OutputBatchDim}} {
		for _, t := range side.md {
			d := side.dims[t.Name] // 0 when not listed
			if d == NotBatched || d >= len(t.Shape) || t.Shape[d] < 0 || int(t.Shape[d]) >= n {
				continue
			}
			n = int(t.Shape[d])
			why = fmt.Sprintf("its %s %q has shape %s, a fixed batch dimension %d of size %d", side.kind, t.Name, infer.FormatShape(t.Shape), d, n)
		}
	}
	return n, why
}

// Ready reports the inner model ready and the batcher running.
func (m *Model) Ready() bool { return m.Batcher() != nil && m.inner.Ready() }

// Unbounded implements model.Unbounded.
func (m *Model) Unbounded() bool { return true }

// Predict queues a tensor request for the next batch and waits for its rows.
func (m *Model) Predict(ctx context.Context, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	if len(req.Inputs) == 0 {
		if p, ok := m.inner.(model.Predictor); ok {
			return p.Predict(ctx, req, h)
		}
		return nil, status.InvalidInputf("model %s batches tensor inputs: send a v2 inference request, or give the model a Preprocess that turns the %s payload into tensors", m.Name(), req.Protocol)
	}
	m.mu.Lock()
	b, direct := m.b, m.direct
	m.mu.Unlock()
	if b == nil {
		return nil, status.ModelNotReady(m.Name(), "")
	}
	if direct {
		return m.inner.(model.Predictor).Predict(ctx, req, h)
	}
	outs, err := b.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	return &infer.Response{ID: req.EnsureID(), ModelName: m.Name(), ModelVersion: req.ModelVersion, Outputs: outs}, nil
}

// Unload drains and stops the batcher, then unloads the inner model. A
// later Load starts a new batcher.
func (m *Model) Unload(ctx context.Context) error {
	m.mu.Lock()
	b := m.b
	m.b, m.direct = nil, false
	m.mu.Unlock()
	var errs []error
	if b != nil {
		errs = append(errs, b.Close(ctx))
	}
	if u, ok := m.inner.(model.Unloader); ok {
		errs = append(errs, u.Unload(ctx))
	}
	return errors.Join(errs...)
}

// Preprocess runs the inner model's Preprocess, if any, on each request.
func (m *Model) Preprocess(ctx context.Context, req *infer.Request, h *model.Headers) (*infer.Request, error) {
	if p, ok := m.inner.(model.Preprocessor); ok {
		return p.Preprocess(ctx, req, h)
	}
	return req, nil
}

// Postprocess runs the inner model's Postprocess, if any, on each response.
func (m *Model) Postprocess(ctx context.Context, resp *infer.Response, h *model.Headers) (*infer.Response, error) {
	if p, ok := m.inner.(model.Postprocessor); ok {
		return p.Postprocess(ctx, resp, h)
	}
	return resp, nil
}

// Explain runs the inner model's Explain, unbatched; without one it answers
// as the server does for a model without an explainer.
func (m *Model) Explain(ctx context.Context, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	if e, ok := m.inner.(model.Explainer); ok {
		return e.Explain(ctx, req, h)
	}
	return nil, status.NotImplemented("Could not find explainer_host.")
}

// InputsMetadata is the inner model's, if it describes its tensors.
func (m *Model) InputsMetadata() []model.TensorMetadata {
	if p, ok := m.inner.(model.MetadataProvider); ok {
		return p.InputsMetadata()
	}
	return nil
}

// OutputsMetadata is the inner model's, if it describes its tensors.
func (m *Model) OutputsMetadata() []model.TensorMetadata {
	if p, ok := m.inner.(model.MetadataProvider); ok {
		return p.OutputsMetadata()
	}
	return nil
}

// Platform is the inner model's, if it names one.
func (m *Model) Platform() string {
	if p, ok := m.inner.(model.PlatformProvider); ok {
		return p.Platform()
	}
	return ""
}

// Labels are the inner model's class names, if it has them (the
// classification extension).
func (m *Model) Labels(output string) []string {
	if l, ok := m.inner.(model.Labeler); ok {
		return l.Labels(output)
	}
	return nil
}
