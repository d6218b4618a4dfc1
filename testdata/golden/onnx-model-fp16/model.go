package main

import (
	"context"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/onnx"
)

// Half is the half model: an ONNX file served with ONNX Runtime.
// The embedded onnx.Model loads the file (on the GPU when there is one),
// warms it up, describes its tensors in the v2 metadata and runs Predict
// for v1 ({"instances": rows of the first input}) and v2 requests. Add
// Preprocess or change Postprocess for your model.
//
// model/model.onnx is half.onnx (written by kserve-gen):
//   - input "half" FP16 [batch,4]
//   - input "flag" BOOL [batch,1]
//   - output "single" FP32 [batch,4]
//   - output "twice" FP16 [batch,4]
//   - output "negated" BOOL [batch,1]
type Half struct {
	*onnx.Model
}

// NewHalf returns the model serving the .onnx file at path (or the
// folder holding model.onnx), to be loaded by the server.
// Loading runs ONNX Runtime once on zeros of input.bin's shapes, so
// the first request does not pay for allocating (and, on a GPU, choosing
// kernels) for them; a sample the model cannot take stops the load.
func NewHalf(name, path string, opts ...onnx.Option) *Half {
	warmup := onnx.Zeros([]onnx.TensorInfo{
		{Name: "half", Datatype: infer.FP16, Shape: []int64{2, 4}},
		{Name: "flag", Datatype: infer.BOOL, Shape: []int64{2, 1}},
	}, 1)
	opts = append([]onnx.Option{onnx.WithWarmup(warmup...)}, opts...)
	return &Half{Model: onnx.NewModel(name, path, opts...)}
}

// The server finds Predict (onnx.Model's, or yours) and Postprocess by
// their method sets; these lines make a misspelt or mistyped one
// (PostProcess, another parameter list) a compile error instead of a step
// silently skipped.
var (
	_ runtime.Predictor     = (*Half)(nil)
	_ runtime.Postprocessor = (*Half)(nil)
)

// Postprocess receives ONNX Runtime's outputs before they are sent: turn
// scores into labels, drop or rename outputs here. It passes them as
// they are.
func (m *Half) Postprocess(ctx context.Context, resp *infer.Response, h *runtime.Headers) (*infer.Response, error) {
	return resp, nil
}
