package main

import (
	"context"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/onnx"
	"github.com/kserve-gen/kserve-gen/runtime/vision"
)

// Pool is the pool model: an ONNX file served with ONNX Runtime.
// The embedded onnx.Model loads the file (on the GPU when there is one),
// warms it up, describes its tensors in the v2 metadata and runs Predict
// for v1 ({"instances": rows of the first input}) and v2 requests. Add
// Preprocess or change Postprocess for your model.
//
// model/model.onnx is pool.onnx (written by onnxtest):
//   - input "pixels" FP32 [batch,3,8,8]
//   - output "pooled" FP32 [batch,3,1,1]
type Pool struct {
	*onnx.Model
}

// NewPool returns the model serving the .onnx file at path (or the
// folder holding model.onnx), to be loaded by the server.
func NewPool(name, path string, opts ...onnx.Option) *Pool {
	return &Pool{Model: onnx.NewModel(name, path, opts...)}
}

// The server finds Predict (onnx.Model's, or yours), Preprocess and
// Postprocess by their method sets; these lines make a misspelt or
// mistyped one (PostProcess, another parameter list) a compile error
// instead of a step silently skipped.
var (
	_ runtime.Predictor     = (*Pool)(nil)
	_ runtime.Preprocessor  = (*Pool)(nil)
	_ runtime.Postprocessor = (*Pool)(nil)
)

// imageSpec makes input "pixels" (FP32 NCHW, 8×8) from images, as
// kserve-gen new --image imagenet chose: runtime/vision's ImageNet preset, used by
// torchvision, timm, the ONNX model zoo's classifiers. Change it to your model's own
// preprocessing: vision.Spec's fields are each step.
var imageSpec = func() vision.Spec {
	s := vision.ImageNet
	s.Layout, s.Height, s.Width = vision.NCHW, 8, 8
	return s
}()

// Preprocess turns the images of a request into input "pixels": v1
// {"instances": [{"image": {"b64": "..."}}, ...]} as in KServe's custom
// predictor guide, or over v2 (REST or gRPC) a BYTES input "pixels" of
// encoded images (PNG, JPEG, GIF, BMP or WebP; base64 in JSON). A request
// that sends "pixels" as a tensor passes unchanged.
func (m *Pool) Preprocess(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Request, error) {
	return imageSpec.Apply(req, "pixels")
}

// Postprocess receives ONNX Runtime's outputs before they are sent: turn
// scores into labels, drop or rename outputs here. It passes them as
// they are.
func (m *Pool) Postprocess(ctx context.Context, resp *infer.Response, h *runtime.Headers) (*infer.Response, error) {
	return resp, nil
}
