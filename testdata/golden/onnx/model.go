package main

import (
	"context"
	"slices"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/onnx"
)

// Iris is the iris model: an ONNX file served with ONNX Runtime.
// The embedded onnx.Model loads the file (on the GPU when there is one),
// warms it up, describes its tensors in the v2 metadata and runs Predict
// for v1 ({"instances": rows of the first input}) and v2 requests. Add
// Preprocess or change Postprocess for your model.
//
// model/model.onnx is a sample kserve-gen wrote: a linear classifier over
// 4 features with softmax, input "input" FP32 [batch, 4], output "probs"
// FP32 [batch, 3]. Replace it with your model (or pass --model_dir, or let
// KServe download it from $STORAGE_URI) and keep model_test.go in step.
type Iris struct {
	*onnx.Model
}

// NewIris returns the model serving the .onnx file at path (or the
// folder holding model.onnx), to be loaded by the server.
func NewIris(name, path string, opts ...onnx.Option) *Iris {
	return &Iris{Model: onnx.NewModel(name, path, opts...)}
}

// The server finds Predict (onnx.Model's, or yours), Postprocess and
// OutputsMetadata by their method sets; these lines make a misspelt or
// mistyped one (PostProcess, another parameter list) a compile error
// instead of a step silently skipped.
var (
	_ runtime.Predictor        = (*Iris)(nil)
	_ runtime.Postprocessor    = (*Iris)(nil)
	_ runtime.MetadataProvider = (*Iris)(nil)
)

// Postprocess adds the most likely class to v2 answers: an INT64 output
// "label" with, for each row of "probs", the index of its largest value.
// Answers without an FP32 "probs" of rank 2 (v1, other models) pass
// unchanged.
func (m *Iris) Postprocess(ctx context.Context, resp *infer.Response, h *runtime.Headers) (*infer.Response, error) {
	probs := resp.Output("probs")
	if probs == nil || probs.Datatype != infer.FP32 || len(probs.Shape) != 2 {
		return resp, nil
	}
	data, err := probs.AsFloat32()
	if err != nil {
		return nil, err
	}
	rows, width := int(probs.Shape[0]), int(probs.Shape[1])
	labels := make([]int64, rows)
	for i := range rows {
		row := data[i*width : (i+1)*width]
		for j := range row {
			if row[j] > row[labels[i]] {
				labels[i] = int64(j)
			}
		}
	}
	resp.Outputs = append(resp.Outputs, infer.NewTensor("label", []int64{int64(rows)}, labels))
	return resp, nil
}

// OutputsMetadata is the v2 metadata of the outputs: the model's own, which
// ONNX Runtime reads from the file, and "label" when Postprocess adds it
// (clients and tools read the metadata to know what an answer holds). A
// model served in the sample's place (--model_dir, $STORAGE_URI) without
// its "probs" gets no "label", here as in its answers.
func (m *Iris) OutputsMetadata() []runtime.TensorMetadata {
	outputs := m.Model.OutputsMetadata()
	if !slices.ContainsFunc(outputs, func(o runtime.TensorMetadata) bool {
		return o.Name == "probs" && o.Datatype == infer.FP32 && len(o.Shape) == 2
	}) {
		return outputs
	}
	// Clip: the model's slice is its own, appending must not write into it.
	return append(slices.Clip(outputs), runtime.TensorMetadata{Name: "label", Datatype: infer.INT64, Shape: []int64{-1}})
}
