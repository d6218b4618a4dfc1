package onnx

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/batch"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// servedBatched loads m (an Identity model) behind f's batcher, logging to log.
func servedBatched(t *testing.T, f *Flags, m *onnxgen.Model, log *bytes.Buffer) *batch.Model {
	t.Helper()
	env := needEnv(t)
	served, err := f.Serve(NewModel("m", writeModel(t, "m.onnx", m), WithEnv(env), WithDevice("cpu"), WithThreads(1, 1)))
	require.NoError(t, err)
	bm := served.(*batch.Model)
	ctx := model.ContextWithLogger(t.Context(), slog.New(slog.NewTextHandler(log, nil)))
	require.NoError(t, bm.Load(ctx))
	t.Cleanup(func() { require.NoError(t, bm.Unload(context.Background())) })
	return bm
}

// predictAll sends reqs at once and returns each one's response and error.
func predictAll(t *testing.T, m *batch.Model, reqs ...*infer.Request) ([]*infer.Response, []error) {
	resps, errs := make([]*infer.Response, len(reqs)), make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() { resps[i], errs[i] = m.Predict(t.Context(), r, model.NewHeaders(nil)) })
	}
	wg.Wait()
	return resps, errs
}

func request(inputs ...*infer.Tensor) *infer.Request {
	return &infer.Request{Protocol: infer.ProtocolV2, Inputs: inputs}
}

// TestServe_FixedBatchOfOneIsNotBatched: a model exported with a fixed
// batch of 1 ([1, 3]) served with --max_batch_size 4 answered 400 "has
// shape [2, 3]" to correct requests that happened to arrive together; it
// is served unbatched, with a warning saying why.
func TestServe_FixedBatchOfOneIsNotBatched(t *testing.T) {
	var log bytes.Buffer
	m := servedBatched(t, &Flags{MaxBatchSize: 4, MaxQueueDelay: 200 * time.Millisecond, Replicas: 1},
		identity(onnxgen.Float, onnxgen.Dims(1, 3), onnxgen.Dims(1, 3)), &log)
	assert.Equal(t, 1, m.Batcher().Options().MaxBatchSize)
	assert.Contains(t, log.String(), `level=WARN msg="Model m is served without batching: its input \"x\" has shape [1, 3], a fixed batch dimension 0 of size 1, so no two requests can share a call (max batch size 4 not used)"`)

	reqs := make([]*infer.Request, 4)
	for i := range reqs {
		f := float32(i)
		reqs[i] = request(infer.NewTensor("x", []int64{1, 3}, []float32{f, f + 1, f + 2}))
	}
	resps, errs := predictAll(t, m, reqs...)
	for i := range reqs {
		require.NoError(t, errs[i], "request %d", i)
		assert.Equal(t, infer.NewTensor("y", []int64{1, 3}, reqs[i].Inputs[0].Data.([]float32)), resps[i].Outputs[0], "request %d", i)
	}
}

// TestServe_FixedBatchDimensionCapsTheBatch: with a fixed batch of 2,
// requests are still merged, two rows at a time.
func TestServe_FixedBatchDimensionCapsTheBatch(t *testing.T) {
	var log bytes.Buffer
	m := servedBatched(t, &Flags{MaxBatchSize: 4, MaxQueueDelay: 5 * time.Second, Replicas: 1},
		identity(onnxgen.Float, onnxgen.Dims(2, 1), onnxgen.Dims(2, 1)), &log)
	assert.Equal(t, 2, m.Batcher().Options().MaxBatchSize)
	resps, errs := predictAll(t, m,
		request(infer.NewTensor("x", []int64{1, 1}, []float32{1})),
		request(infer.NewTensor("x", []int64{1, 1}, []float32{2})))
	for i := range 2 {
		require.NoError(t, errs[i], "request %d", i)
		assert.Equal(t, infer.NewTensor("y", []int64{1, 1}, []float32{float32(i + 1)}), resps[i].Outputs[0])
	}
	assert.Equal(t, int64(1), m.Batcher().Stats().Batches, "the two requests made one batch")
}

// TestServe_BatchedRequestsAreCheckedOneByOne: a bad request merged with
// others gets an error about its own tensors (not the merged [3, 4], nor
// the merged element index), and fails alone.
func TestServe_BatchedRequestsAreCheckedOneByOne(t *testing.T) {
	var log bytes.Buffer
	m := servedBatched(t, &Flags{MaxBatchSize: 3, MaxQueueDelay: 5 * time.Second, Replicas: 1},
		identity(onnxgen.Float, onnxgen.Dims(-1, 3), onnxgen.Dims(-1, 3)), &log)
	_, errs := predictAll(t, m,
		request(infer.NewTensor("x", []int64{1, 4}, make([]float32, 4))),
		request(infer.NewTensor("x", []int64{2, 4}, make([]float32, 8))))
	for i, rows := range []int{1, 2} {
		assert.EqualError(t, errs[i], fmt.Sprintf(`input "x" has shape [%d, 4], but the model expects [-1, 3] (dimension 1 must be 3)`, rows))
		assert.Equal(t, status.KindInvalidInput, status.KindOf(errs[i]))
	}
	assert.Equal(t, int64(1), m.Batcher().Stats().Batches, "the two requests made one batch")

	s := servedBatched(t, &Flags{MaxBatchSize: 4, MaxQueueDelay: 5 * time.Second, Replicas: 1},
		identity(onnxgen.String, onnxgen.Dims(-1), onnxgen.Dims(-1)), &log)
	resps, errs := predictAll(t, s,
		request(infer.NewStrings("x", []int64{2}, []string{"a", "b"})),
		request(infer.NewStrings("x", []int64{2}, []string{"c", "d\x00"})))
	require.NoError(t, errs[0])
	assert.Equal(t, infer.NewStrings("y", []int64{2}, []string{"a", "b"}), resps[0].Outputs[0])
	assert.EqualError(t, errs[1], `input "x", element 1: contains a NUL byte, which ONNX Runtime's string tensors cannot hold (onnxruntime_go v1.27.0 passes them as C strings)`)
	assert.Equal(t, int64(2), s.Batcher().Stats().Batches, "one merged batch, then the good request again")
}
