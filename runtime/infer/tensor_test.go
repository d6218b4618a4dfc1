package infer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

func TestTensor_TypedAccessors(t *testing.T) {
	f64 := NewTensor("x", []int64{2}, []float64{1.5, -2})
	got, err := f64.AsFloat64()
	require.NoError(t, err)
	assert.Equal(t, []float64{1.5, -2}, got)
	i64, err := NewTensor("i", []int64{2}, []int64{3, -4}).AsInt64()
	require.NoError(t, err)
	assert.Equal(t, []int64{3, -4}, i64)
	i32, err := NewTensor("i", []int64{1}, []int32{7}).AsInt32()
	require.NoError(t, err)
	assert.Equal(t, []int32{7}, i32)
	b, err := NewTensor("b", []int64{2}, []bool{true, false}).AsBool()
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false}, b)
	s, err := NewStrings("s", []int64{2}, []string{"a", "β"}).AsStrings()
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "β"}, s)

	// The wrong accessor is a client error naming the tensor and both types.
	_, err = f64.AsFloat32()
	assert.EqualError(t, err, `tensor "x" has datatype FP64 ([]float64), not []float32`)
	assert.Equal(t, 400, status.HTTPCode(err))
	_, err = f64.AsStrings()
	assert.EqualError(t, err, `tensor "x" has datatype FP64 ([]float64), not [][]byte`)
}

func TestTensor_Float64sConvertsEveryNumericType(t *testing.T) {
	for _, tensor := range []*Tensor{
		NewTensor("a", []int64{3}, []float32{1, -2, 0.5}),
		NewTensor("a", []int64{3}, []float64{1, -2, 0.5}),
		NewTensor("a", []int64{3}, []Float16{Float16From(1), Float16From(-2), Float16From(0.5)}),
	} {
		got, err := tensor.Float64s()
		require.NoError(t, err, tensor.Datatype)
		assert.Equal(t, []float64{1, -2, 0.5}, got, tensor.Datatype)
	}
	for _, tensor := range []*Tensor{
		NewTensor("a", []int64{2}, []int8{1, 2}), NewTensor("a", []int64{2}, []int16{1, 2}),
		NewTensor("a", []int64{2}, []int32{1, 2}), NewTensor("a", []int64{2}, []int64{1, 2}),
		NewTensor("a", []int64{2}, []uint8{1, 2}), NewTensor("a", []int64{2}, []uint16{1, 2}),
		NewTensor("a", []int64{2}, []uint32{1, 2}), NewTensor("a", []int64{2}, []uint64{1, 2}),
		NewTensor("a", []int64{2}, []bool{true, true}),
	} {
		got, err := tensor.Float64s()
		require.NoError(t, err, tensor.Datatype)
		want := []float64{1, 2}
		if tensor.Datatype == BOOL {
			want = []float64{1, 1}
		}
		assert.Equal(t, want, got, tensor.Datatype)
	}
	_, err := NewStrings("words", []int64{1}, []string{"x"}).Float64s()
	assert.EqualError(t, err, `tensor "words" has datatype BYTES, which is not numeric`)
}

// A name the request lacks is a 400 naming it, not a nil-pointer panic
// (a 500) in the accessor.
func TestInputAs_MissingInputIsInvalidInput(t *testing.T) {
	req := &Request{Inputs: []*Tensor{NewTensor("a", []int64{1}, []float32{1}), NewTensor("b", []int64{1}, []int64{2})}}
	got, err := InputAs[float32](req, "a")
	require.NoError(t, err)
	assert.Equal(t, []float32{1}, got)
	_, err = InputAs[float32](req, "x")
	assert.EqualError(t, err, `missing input "x": the request's inputs are ["a", "b"]`)
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
	_, err = InputAs[float32](req, "b")
	assert.EqualError(t, err, `tensor "b" has datatype INT64 ([]int64), not []float32`)

	_, err = req.Input("x").AsFloat32()
	assert.EqualError(t, err, "missing input tensor: the request has no input of the name asked for")
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
	_, err = req.Input("x").Float64s()
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
	_, err = req.Input("x").AsStrings()
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
}
