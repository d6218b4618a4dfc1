package main

import (
	"context"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/onnx"
)

// Scorer is the scorer model: an ONNX file served with ONNX Runtime.
// The embedded onnx.Model loads the file (on the GPU when there is one),
// warms it up, describes its tensors in the v2 metadata and runs Predict
// for v1 ({"instances": rows of the first input}) and v2 requests. Add
// Preprocess or change Postprocess for your model.
//
// model/model.onnx is scorer.onnx (written by kserve-gen):
//   - input "features" FP32 [batch,4]
//   - input "bias" FP32 [batch,1]
//   - output "sum" FP32 [batch,4]
//   - output "above" BOOL [batch,4]
type Scorer struct {
	*onnx.Model
}

// NewScorer returns the model serving the .onnx file at path (or the
// folder holding model.onnx), to be loaded by the server.
func NewScorer(name, path string, opts ...onnx.Option) *Scorer {
	return &Scorer{Model: onnx.NewModel(name, path, opts...)}
}

// The server finds Predict (onnx.Model's, or yours) and Postprocess by
// their method sets; these lines make a misspelt or mistyped one
// (PostProcess, another parameter list) a compile error instead of a step
// silently skipped.
var (
	_ runtime.Predictor     = (*Scorer)(nil)
	_ runtime.Postprocessor = (*Scorer)(nil)
)

// Postprocess receives ONNX Runtime's outputs before they are sent: turn
// scores into labels, drop or rename outputs here. It passes them as
// they are.
func (m *Scorer) Postprocess(ctx context.Context, resp *infer.Response, h *runtime.Headers) (*infer.Response, error) {
	return resp, nil
}
