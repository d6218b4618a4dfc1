package onnx

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

var cpu1 = SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1}

// identity returns a model passing x (elem, shape; nil: unknown) through as y.
func identity(elem onnxgen.ElemType, in, out []onnxgen.Dim) *onnxgen.Model {
	return &onnxgen.Model{Graph: onnxgen.Graph{
		Name:    "identity",
		Nodes:   []onnxgen.Node{{Op: "Identity", Name: "copy", Inputs: []string{"x"}, Outputs: []string{"y"}}},
		Inputs:  []onnxgen.ValueInfo{{Name: "x", Elem: elem, Shape: in}},
		Outputs: []onnxgen.ValueInfo{{Name: "y", Elem: elem, Shape: out}},
	}}
}

// TestSession_StringWithNULIsRefused: the binding fills string tensors from
// C strings, so an element would reach the model cut at its first NUL byte
// (and answer 200); it is refused instead, naming the input and element.
func TestSession_StringWithNULIsRefused(t *testing.T) {
	env := needEnv(t)
	s, err := env.NewSession(context.Background(), writeModel(t, "types.onnx", onnxgen.Types()), cpu1)
	require.NoError(t, err)
	defer s.Close()
	half := infer.NewTensor("half", []int64{1}, []infer.Float16{infer.Float16From(1)})
	for _, text := range [][]string{{"ok", "a\x00b"}, {"ok", "\x00"}, {"ok", "ab\x00"}} {
		_, err = s.Run(context.Background(), []*infer.Tensor{half, infer.NewStrings("text", []int64{2}, text)})
		assert.EqualError(t, err, `input "text", element 1: contains a NUL byte, which ONNX Runtime's string tensors cannot hold (onnxruntime_go v1.27.0 passes them as C strings)`, "%q", text)
		assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
	}
	// Every other byte goes through unchanged.
	all := make([]byte, 255)
	for i := range all {
		all[i] = byte(i + 1)
	}
	out, err := s.Run(context.Background(), []*infer.Tensor{half, {Name: "text", Datatype: infer.BYTES, Shape: []int64{1}, Data: [][]byte{all}}})
	require.NoError(t, err)
	assert.Equal(t, [][]byte{all}, out[1].Data)
}

// TestSession_EmptyFloat16Input: the binding refuses an empty buffer for a
// float16 tensor; an empty FP16 input runs like an empty input of any other
// type.
func TestSession_EmptyFloat16Input(t *testing.T) {
	env := needEnv(t)
	s, err := env.NewSession(context.Background(), writeModel(t, "types.onnx", onnxgen.Types()), cpu1)
	require.NoError(t, err)
	defer s.Close()
	out, err := s.Run(context.Background(), []*infer.Tensor{
		infer.NewTensor("half", []int64{0}, []infer.Float16{}),
		infer.NewStrings("text", []int64{0}, []string{}),
	})
	require.NoError(t, err)
	assert.Equal(t, &infer.Tensor{Name: "single", Datatype: infer.FP32, Shape: []int64{0}, Data: []float32{}}, out[0])
	assert.Equal(t, &infer.Tensor{Name: "same", Datatype: infer.BYTES, Shape: []int64{0}, Data: [][]byte{}}, out[1])
}

// TestSession_ScalarsTheBindingCannotCarryAreRefusedAtLoad: a declared
// rank-0 output fails every request (the binding cannot read it back), and
// a declared rank-0 FP16 or BYTES input cannot be made (it ran as shape
// [1], so the outputs came back with the wrong shape): such models do not
// load, with the tensor named.
func TestSession_ScalarsTheBindingCannotCarryAreRefusedAtLoad(t *testing.T) {
	env := needEnv(t)
	scalar := []onnxgen.Dim{}
	for _, c := range []struct {
		name string
		m    *onnxgen.Model
		want string
	}{
		{"fp32 output", identity(onnxgen.Float, scalar, scalar),
			`output "y" is a scalar (shape []), which this runtime cannot read back from ONNX Runtime (onnxruntime_go v1.27.0 fails on outputs without dimensions, so every request would fail); export it with shape [1]`},
		{"fp16 input", identity(onnxgen.Float16, scalar, onnxgen.Dims(-1)),
			`input "x" is a scalar (shape []) of FP16, which this runtime cannot pass to ONNX Runtime (onnxruntime_go v1.27.0 makes scalars of numeric types other than FP16 only); export it with shape [1]`},
		{"string input", identity(onnxgen.String, scalar, onnxgen.Dims(-1)),
			`input "x" is a scalar (shape []) of BYTES, which this runtime cannot pass to ONNX Runtime (onnxruntime_go v1.27.0 makes scalars of numeric types other than FP16 only); export it with shape [1]`},
	} {
		path := writeModel(t, "scalar.onnx", c.m)
		_, err := env.NewSession(context.Background(), path, cpu1)
		assert.EqualError(t, err, "model "+path+": "+c.want, c.name)
	}
}

// TestSession_UnknownShapesAreNotScalars: ONNX Runtime reports a tensor of
// unknown shape as rank 0, like a scalar; such a model still loads and its
// outputs come back with the shape they have. (Reshape to a shape given at
// run time: not even the rank of y can be inferred.)
func TestSession_UnknownShapesAreNotScalars(t *testing.T) {
	env := needEnv(t)
	m := &onnxgen.Model{Graph: onnxgen.Graph{
		Name:  "reshape",
		Nodes: []onnxgen.Node{{Op: "Reshape", Name: "reshape", Inputs: []string{"x", "shape"}, Outputs: []string{"y"}}},
		Inputs: []onnxgen.ValueInfo{
			{Name: "x", Elem: onnxgen.Float, Shape: onnxgen.Dims(-1)},
			{Name: "shape", Elem: onnxgen.Int64, Shape: onnxgen.Dims(-1)},
		},
		Outputs: []onnxgen.ValueInfo{{Name: "y", Elem: onnxgen.Float}},
	}}
	s, err := env.NewSession(context.Background(), writeModel(t, "unknown.onnx", m), SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1, NoWarmup: true})
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, []TensorInfo{{Name: "y", Datatype: infer.FP32, Shape: []int64{}}}, s.Outputs())
	out, err := s.Run(context.Background(), []*infer.Tensor{
		infer.NewTensor("x", []int64{2}, []float32{1, 2}),
		infer.NewTensor("shape", []int64{2}, []int64{1, 2}),
	})
	require.NoError(t, err)
	assert.Equal(t, infer.NewTensor("y", []int64{1, 2}, []float32{1, 2}), out[0])
}

// TestSession_ScalarFloat16AndStringRequestsAreRefused: an input of unknown
// shape loads, but a rank-0 FP16 or BYTES tensor sent to it is refused
// rather than run as shape [1].
func TestSession_ScalarFloat16AndStringRequestsAreRefused(t *testing.T) {
	env := needEnv(t)
	for _, c := range []struct {
		elem onnxgen.ElemType
		x    *infer.Tensor
	}{
		{onnxgen.Float16, infer.NewTensor("x", []int64{}, []infer.Float16{infer.Float16From(2)})},
		{onnxgen.String, infer.NewStrings("x", []int64{}, []string{"a"})},
	} {
		s, err := env.NewSession(context.Background(), writeModel(t, "unknown.onnx", identity(c.elem, nil, nil)), SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1, NoWarmup: true})
		require.NoError(t, err)
		_, err = s.Run(context.Background(), []*infer.Tensor{c.x})
		assert.EqualError(t, err, `input "x" is a scalar (shape []) of `+string(c.x.Datatype)+`, which this runtime cannot pass to ONNX Runtime: onnxruntime_go v1.27.0 makes scalars of numeric types other than FP16 only`)
		assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
		require.NoError(t, s.Close())
	}
}
