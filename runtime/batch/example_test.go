package batch_test

import (
	"context"
	"fmt"

	"github.com/kserve-gen/kserve-gen/runtime/batch"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// doubler is a custom model that opts into batching by predicting a whole
// batch at once.
type doubler struct{ ready bool }

func (d *doubler) Name() string               { return "doubler" }
func (d *doubler) Load(context.Context) error { d.ready = true; return nil }
func (d *doubler) Ready() bool                { return d.ready }
func (d *doubler) PredictBatch(_ context.Context, b *batch.Batch) ([]*infer.Tensor, error) {
	in := b.Input("x") // nil when the requests have no input "x"
	if in == nil {
		return nil, status.InvalidInput(`expected an FP32 input "x"`) // a 400 to each
	}
	x, err := in.AsFloat32() // a 400 when it is not FP32
	if err != nil {
		return nil, err
	}
	y := make([]float32, len(x)) // the batch's inputs are read-only
	for i, v := range x {
		y[i] = 2 * v
	}
	return []*infer.Tensor{infer.NewTensor("y", in.Shape, y)}, nil
}

func ExampleNewModel() {
	m, err := batch.NewModel(&doubler{}, batch.Options{MaxBatchSize: 16, PreferredBatchSizes: []int{8, 16}})
	if err != nil {
		panic(err)
	}
	// The server calls Load; Predict is what its dataplane calls per request.
	if err := m.Load(context.Background()); err != nil {
		panic(err)
	}
	defer m.Unload(context.Background())
	req := &infer.Request{Protocol: infer.ProtocolV2, ID: "1", Inputs: []*infer.Tensor{
		infer.NewTensor("x", []int64{2, 2}, []float32{1, 2, 3, 4}),
	}}
	resp, err := m.Predict(context.Background(), req, model.NewHeaders(nil))
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.ID, resp.Outputs[0].Name, resp.Outputs[0].Shape, resp.Outputs[0].Data)

	// A request without "x" is batched only with requests like it; the
	// model's InvalidInput answers each of them with a 400.
	other := &infer.Request{Protocol: infer.ProtocolV2, ID: "2", Inputs: []*infer.Tensor{
		infer.NewTensor("z", []int64{1, 2}, []float32{1, 2}),
	}}
	_, err = m.Predict(context.Background(), other, model.NewHeaders(nil))
	fmt.Println(status.HTTPCode(err), err)
	// Output:
	// 1 y [2 2] [2 4 6 8]
	// 400 expected an FP32 input "x"
}
