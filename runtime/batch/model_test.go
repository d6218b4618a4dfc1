package batch_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/batch"
	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// scaler is a custom model that opts into batching: y = scale * x for
// inputs of shape [batch, n]. Its first batch waits for hold to close, so a
// test can let requests pile up behind it.
type scaler struct {
	name    string
	scale   float32
	loaded  atomic.Bool
	calls   chan *batch.Batch
	hold    chan struct{}
	holding atomic.Bool
}

func newScaler(name string) *scaler {
	s := &scaler{name: name, scale: 3, calls: make(chan *batch.Batch, 100), hold: make(chan struct{})}
	s.holding.Store(true)
	return s
}

func (s *scaler) Name() string                   { return s.name }
func (s *scaler) Load(ctx context.Context) error { s.loaded.Store(true); return nil }
func (s *scaler) Ready() bool                    { return s.loaded.Load() }

func (s *scaler) PredictBatch(ctx context.Context, b *batch.Batch) ([]*infer.Tensor, error) {
	s.calls <- b
	if s.holding.Swap(false) {
		<-s.hold
	}
	x, err := b.Input("x").AsFloat32()
	if err != nil {
		return nil, err
	}
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = s.scale * v
	}
	return []*infer.Tensor{infer.NewTensor("y", b.Input("x").Shape, y)}, nil
}

func (s *scaler) InputsMetadata() []model.TensorMetadata {
	return []model.TensorMetadata{{Name: "x", Datatype: infer.FP32, Shape: []int64{-1, 2}}}
}
func (s *scaler) OutputsMetadata() []model.TensorMetadata {
	return []model.TensorMetadata{{Name: "y", Datatype: infer.FP32, Shape: []int64{-1, 2}}}
}

func v2(id string, x ...float32) *infer.Request {
	return &infer.Request{Protocol: infer.ProtocolV2, ID: id, Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{int64(len(x) / 2), 2}, x)}}
}

type reply struct {
	resp *infer.Response
	err  error
}

func inferAsync(ctx context.Context, dp *dataplane.Dataplane, name string, req *infer.Request) <-chan reply {
	ch := make(chan reply, 1)
	go func() {
		resp, err := dp.Infer(ctx, name, dataplane.Predict, req, model.NewHeaders(nil))
		ch <- reply{resp, err}
	}()
	return ch
}

func wait(t *testing.T, ch <-chan reply) reply {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no reply")
		return reply{}
	}
}

// With --max_asyncio_workers 1 an ordinary model runs one request at a
// time; a batched model is Unbounded, so requests meet in its queue and run
// as one batch.
func TestModel_BatchesRequestsThroughTheDataplane(t *testing.T) {
	s := newScaler("scaler")
	m, err := batch.NewModel(s, batch.Options{MaxBatchSize: 8})
	require.NoError(t, err)
	assert.False(t, m.Ready(), "not ready before Load")
	dp := dataplane.New(dataplane.Options{MaxConcurrency: 1})
	require.NoError(t, dp.Register(m, ""))
	require.NoError(t, m.Load(t.Context()))
	require.True(t, m.Ready())
	ctx := t.Context()

	first := inferAsync(ctx, dp, "scaler", v2("r0", 1, 2))
	<-s.calls
	reqs := []*infer.Request{v2("r1", 1, 2), v2("r2", 3, 4, 5, 6), v2("r3", 7, 8)}
	var replies []<-chan reply
	for i, r := range reqs {
		replies = append(replies, inferAsync(ctx, dp, "scaler", r))
		require.Eventually(t, func() bool { return m.Batcher().Stats().Queued == i+1 }, 10*time.Second, time.Millisecond)
	}
	close(s.hold)
	require.NoError(t, wait(t, first).err)
	bt := <-s.calls
	assert.Equal(t, []int{1, 2, 1}, bt.Rows)

	want := [][]float32{{3, 6}, {9, 12, 15, 18}, {21, 24}}
	for i, ch := range replies {
		r := wait(t, ch)
		require.NoError(t, r.err)
		assert.Equal(t, reqs[i].ID, r.resp.ID)
		assert.Equal(t, "scaler", r.resp.ModelName)
		require.Len(t, r.resp.Outputs, 1)
		assert.Equal(t, "y", r.resp.Outputs[0].Name)
		assert.Equal(t, reqs[i].Inputs[0].Shape, r.resp.Outputs[0].Shape)
		assert.Equal(t, want[i], r.resp.Outputs[0].Data)
	}

	md, err := dp.ModelMetadata("scaler")
	require.NoError(t, err)
	assert.Equal(t, s.InputsMetadata(), md.Inputs)
	assert.Equal(t, s.OutputsMetadata(), md.Outputs)
}

func TestModel_V1RequestWithoutTensors(t *testing.T) {
	m, err := batch.NewModel(newScaler("scaler"), batch.Options{MaxBatchSize: 8})
	require.NoError(t, err)
	require.NoError(t, m.Load(t.Context()))
	defer func() { require.NoError(t, m.Unload(t.Context())) }()
	_, err = m.Predict(t.Context(), &infer.Request{Protocol: infer.ProtocolV1, Body: []byte(`{"instances":[[1,2]]}`), IsJSON: true}, model.NewHeaders(nil))
	assert.EqualError(t, err, "model scaler batches tensor inputs: send a v2 inference request, or give the model a Preprocess that turns the v1 payload into tensors")
	assert.Equal(t, 400, status.HTTPCode(err))

	_, err = m.Explain(t.Context(), &infer.Request{}, model.NewHeaders(nil))
	assert.EqualError(t, err, "Could not find explainer_host.")
}

// withV1 also predicts v1 requests one by one.
type withV1 struct{ *scaler }

func (w withV1) Predict(ctx context.Context, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	return infer.PredictResponse(req, w.name, []float32{42})
}

func TestModel_V1RequestGoesToTheInnerPredict(t *testing.T) {
	s := newScaler("scaler")
	m, err := batch.NewModel(withV1{s}, batch.Options{MaxBatchSize: 8})
	require.NoError(t, err)
	require.NoError(t, m.Load(t.Context()))
	defer func() { require.NoError(t, m.Unload(t.Context())) }()
	resp, err := m.Predict(t.Context(), &infer.Request{Protocol: infer.ProtocolV1, Body: []byte(`{"instances":[]}`), IsJSON: true}, model.NewHeaders(nil))
	require.NoError(t, err)
	assert.Equal(t, infer.Predictions{Predictions: []float32{42}}, resp.Body)
	assert.Empty(t, s.calls)
}

// unloading is a model that records its Unload.
type unloading struct {
	*scaler
	unloaded atomic.Int32
}

func (u *unloading) Unload(context.Context) error { u.unloaded.Add(1); return errors.New("disk busy") }

func TestModel_UnloadDrainsAndLoadRestarts(t *testing.T) {
	s := newScaler("scaler")
	close(s.hold)
	u := &unloading{scaler: s}
	m, err := batch.NewModel(u, batch.Options{MaxBatchSize: 8, MaxQueueDelay: time.Hour})
	require.NoError(t, err)
	require.NoError(t, m.Load(t.Context()))
	ch := make(chan reply, 1)
	go func() {
		resp, err := m.Predict(t.Context(), v2("a", 1, 1), model.NewHeaders(nil))
		ch <- reply{resp, err}
	}()
	require.Eventually(t, func() bool { return m.Batcher().Stats().Queued == 1 }, 10*time.Second, time.Millisecond)
	assert.EqualError(t, m.Unload(t.Context()), "disk busy", "the inner model's Unload error comes back")
	r := wait(t, ch)
	require.NoError(t, r.err, "the queued request was answered by the drain")
	assert.Equal(t, []float32{3, 3}, r.resp.Outputs[0].Data)
	assert.Equal(t, int32(1), u.unloaded.Load())
	assert.False(t, m.Ready())

	_, err = m.Predict(t.Context(), v2("b", 1, 1), model.NewHeaders(nil))
	assert.EqualError(t, err, "Model with name scaler is not ready.")

	require.NoError(t, m.Load(t.Context()))
	assert.True(t, m.Ready())
	require.NoError(t, m.Batcher().Close(t.Context()))
}

func TestNewModel_ValidatesOptions(t *testing.T) {
	_, err := batch.NewModel(newScaler("s"), batch.Options{})
	assert.EqualError(t, err, "batch: MaxBatchSize is 0, must be at least 1")
}

// A nil model (a constructor's result passed on unchecked) is an error; it
// used to panic in NewModel, calling its Name.
func TestNewModel_RefusesANilModel(t *testing.T) {
	_, err := batch.NewModel(nil, batch.Options{MaxBatchSize: 4})
	assert.EqualError(t, err, "batch: nil model")
	var s *scaler
	_, err = batch.NewModel(s, batch.Options{MaxBatchSize: 4})
	assert.EqualError(t, err, "batch: nil model (*batch_test.scaler)")
}

// preprocessed turns v1 instances into the tensor x, as vision.Spec.Apply
// does with images.
type preprocessed struct{ *scaler }

func (p preprocessed) Preprocess(ctx context.Context, req *infer.Request, h *model.Headers) (*infer.Request, error) {
	var body struct{ Instances [][]float32 }
	if err := req.DecodeBody(&body); err != nil {
		return nil, err
	}
	var x []float32
	for _, row := range body.Instances {
		x = append(x, row...)
	}
	req.Inputs = []*infer.Tensor{infer.NewTensor("x", []int64{int64(len(body.Instances)), 2}, x)}
	return req, nil
}

// TestModel_V1RequestPreprocessedIntoTensors: a v1 request whose
// Preprocess made tensors is batched, and its answer is
// {"predictions": the first output's rows}, as runtime/onnx answers v1 —
// not an empty body.
func TestModel_V1RequestPreprocessedIntoTensors(t *testing.T) {
	s := newScaler("scaler")
	s.holding.Store(false)
	m, err := batch.NewModel(preprocessed{s}, batch.Options{MaxBatchSize: 8})
	require.NoError(t, err)
	dp := dataplane.New(dataplane.Options{})
	require.NoError(t, dp.Register(m, ""))
	require.NoError(t, m.Load(t.Context()))
	defer func() { require.NoError(t, m.Unload(t.Context())) }()
	req := &infer.Request{Protocol: infer.ProtocolV1, Body: []byte(`{"instances":[[1,2],[3,4.5]]}`), IsJSON: true}
	resp, err := dp.Infer(t.Context(), "scaler", dataplane.Predict, req, model.NewHeaders(nil))
	require.NoError(t, err)
	body, err := infer.AppendJSON(nil, resp.Body)
	require.NoError(t, err)
	assert.Equal(t, `{"predictions":[[3.0,6.0],[9.0,13.5]]}`, string(body))
	assert.Equal(t, []int{2}, (<-s.calls).Rows)
}

// fixedBatch is a scaler declaring x with a fixed batch dimension, as ONNX
// exports without dynamic_axes do.
type fixedBatch struct {
	*scaler
	shape []int64
}

func (f *fixedBatch) InputsMetadata() []model.TensorMetadata {
	return []model.TensorMetadata{{Name: "x", Datatype: infer.FP32, Shape: f.shape}}
}

// fixedPredictor also predicts single requests itself.
type fixedPredictor struct {
	*fixedBatch
	predicted atomic.Int32
}

func (f *fixedPredictor) Predict(ctx context.Context, req *infer.Request, _ *model.Headers) (*infer.Response, error) {
	f.predicted.Add(1)
	return &infer.Response{Outputs: []*infer.Tensor{infer.NewTensor("y", req.Inputs[0].Shape, []float32{0, 0})}}, nil
}

func logTo(t *testing.T, buf *bytes.Buffer) context.Context {
	return model.ContextWithLogger(t.Context(), slog.New(slog.NewTextHandler(buf, nil)))
}

// TestModel_FixedBatchDimensionCapsTheBatch: a model whose x is [4, 2]
// fails any merged batch of more than 4 rows, so Load lowers the max batch
// size (and the preferred sizes) to 4 and says why.
func TestModel_FixedBatchDimensionCapsTheBatch(t *testing.T) {
	s := newScaler("fixed")
	s.holding.Store(false)
	m, err := batch.NewModel(&fixedBatch{s, []int64{4, 2}}, batch.Options{MaxBatchSize: 8, PreferredBatchSizes: []int{2, 8}})
	require.NoError(t, err)
	var log bytes.Buffer
	require.NoError(t, m.Load(logTo(t, &log)))
	t.Cleanup(func() { _ = m.Unload(context.Background()) })
	opts := m.Batcher().Options()
	assert.Equal(t, 4, opts.MaxBatchSize)
	assert.Equal(t, []int{2}, opts.PreferredBatchSizes)
	assert.Contains(t, log.String(), `level=WARN msg="Model fixed batches at most 4 rows per call: its input \"x\" has shape [4, 2], a fixed batch dimension 0 of size 4 (max batch size 8 lowered)"`)
	assert.Contains(t, log.String(), `msg="Model fixed batches requests: up to 4 rows per call`)
}

// TestModel_FixedBatchOfOneIsNotBatched: with x [1, 2] no two requests can
// share a call: requests go to the model's own Predict when it has one,
// else through a batcher of one row.
func TestModel_FixedBatchOfOneIsNotBatched(t *testing.T) {
	s := newScaler("one")
	s.holding.Store(false)
	p := &fixedPredictor{fixedBatch: &fixedBatch{s, []int64{1, 2}}}
	m, err := batch.NewModel(p, batch.Options{MaxBatchSize: 8, MaxQueueDelay: time.Second})
	require.NoError(t, err)
	var log bytes.Buffer
	require.NoError(t, m.Load(logTo(t, &log)))
	t.Cleanup(func() { _ = m.Unload(context.Background()) })
	assert.Equal(t, 1, m.Batcher().Options().MaxBatchSize)
	assert.Contains(t, log.String(), `level=WARN msg="Model one is served without batching: its input \"x\" has shape [1, 2], a fixed batch dimension 0 of size 1, so no two requests can share a call (max batch size 8 not used)"`)
	assert.NotContains(t, log.String(), "batches requests")
	_, err = m.Predict(t.Context(), v2("a", 1, 2), model.NewHeaders(nil))
	require.NoError(t, err)
	assert.Equal(t, int32(1), p.predicted.Load())
	assert.Empty(t, s.calls)

	// Without a Predict of its own: one request per call, at once (no
	// waiting for MaxQueueDelay to fill a batch that cannot grow).
	s2 := newScaler("one")
	s2.holding.Store(false)
	m2, err := batch.NewModel(&fixedBatch{s2, []int64{1, 2}}, batch.Options{MaxBatchSize: 8, MaxQueueDelay: time.Minute})
	require.NoError(t, err)
	log.Reset()
	require.NoError(t, m2.Load(logTo(t, &log)))
	t.Cleanup(func() { _ = m2.Unload(context.Background()) })
	assert.Contains(t, log.String(), `level=WARN msg="Model one runs one request per call: its input \"x\" has shape [1, 2], a fixed batch dimension 0 of size 1, so no two requests can share a call (max batch size 8 not used)"`)
	resp, err := m2.Predict(t.Context(), v2("b", 1, 2), model.NewHeaders(nil))
	require.NoError(t, err)
	assert.Equal(t, []float32{3, 6}, resp.Outputs[0].Data)
}
