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
	assert.EqualError(t, err, `tensor "x" has datatype FP64, expected FP32`)
	assert.Equal(t, 400, status.HTTPCode(err))
	_, err = f64.AsStrings()
	assert.EqualError(t, err, `tensor "x" has datatype FP64, expected BYTES`)
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
	assert.EqualError(t, err, `input "b" has datatype INT64, but the model expects FP32`)

	_, err = req.Input("x").AsFloat32()
	assert.EqualError(t, err, "missing input tensor: the request has no input of the name asked for")
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
	_, err = req.Input("x").Float64s()
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
	_, err = req.Input("x").AsStrings()
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
}

// A v1 body sent to a model that reads v2 inputs is told that v1 has no
// named inputs and where v2 requests go, not that its inputs are [].
func TestInputAs_V1RequestNamesTheV2Route(t *testing.T) {
	want := `missing input "x": this is a v1 request, which has no named inputs; the model reads v2 requests (POST /v2/models/multi/infer, or gRPC ModelInfer)`
	for _, req := range []*Request{
		{Protocol: ProtocolV1, ModelName: "multi", IsJSON: true, Body: []byte(`{"instances":[[1,2]]}`)},
		{Protocol: ProtocolV1, ModelName: "multi", ContentType: "text/csv", Body: []byte("1,2")},
		{Protocol: ProtocolV1, ModelName: "multi", Payload: map[string]any{"instances": []int{1}}}, // a Preprocess's
	} {
		_, err := InputShaped[float32](req, "x", -1, 2)
		assert.EqualError(t, err, want)
		assert.Equal(t, 400, status.HTTPCode(err))
	}
	// A request built by hand with neither body nor inputs (a unit test's)
	// is not taken for a v1 body.
	_, err := InputAs[float32](&Request{}, "x")
	assert.EqualError(t, err, `missing input "x": the request's inputs are []`)
}

func TestTensor_CheckShape(t *testing.T) {
	img := NewTensor("x", []int64{2, 3, 4, 4}, make([]float32, 96))
	for _, want := range [][]int64{{2, 3, 4, 4}, {-1, 3, 4, 4}, {-1, -1, -1, -1}} {
		assert.NoError(t, img.CheckShape(want...), "want %v", want)
	}
	for _, tc := range []struct {
		tensor *Tensor
		want   []int64
		msg    string
	}{
		{img, []int64{-1, 3, 224, 224}, `input "x" has shape [2, 3, 4, 4], but the model expects [-1, 3, 224, 224] (dimension 2 must be 224)`},
		{img, []int64{-1, 4, 4, 3}, `input "x" has shape [2, 3, 4, 4], but the model expects [-1, 4, 4, 3] (dimension 1 must be 4)`},
		{img, []int64{-1, 48}, `input "x" has shape [2, 3, 4, 4] (rank 4), but the model expects rank 2: [-1, 48]`}, // same count, another rank
		{img, nil, `input "x" has shape [2, 3, 4, 4] (rank 4), but the model expects rank 0: []`},
		{NewTensor("s", nil, []float32{1}), []int64{-1}, `input "s" has shape [] (rank 0), but the model expects rank 1: [-1]`}, // a scalar is not a 1-d tensor
		{nil, []int64{-1}, "missing input tensor: the request has no input of the name asked for"},
	} {
		err := tc.tensor.CheckShape(tc.want...)
		require.Error(t, err, "want %v", tc.want)
		assert.Equal(t, 400, status.HTTPCode(err))
		assert.Equal(t, tc.msg, err.Error())
	}
}

func TestInputShaped(t *testing.T) {
	req, err := DecodeRequest([]byte(`{"inputs":[
		{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]},
		{"name":"ids","shape":[2],"datatype":"INT64","data":[7,8]}]}`), nil)
	require.NoError(t, err)

	x, err := InputShaped[float32](req, "x", -1, 3)
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2, 3, 4, 5, 6}, x)

	for _, tc := range []struct {
		name string
		want []int64
		msg  string
	}{
		{"x", []int64{-1, 4}, `input "x" has shape [2, 3], but the model expects [-1, 4] (dimension 1 must be 4)`},
		{"x", []int64{6}, `input "x" has shape [2, 3] (rank 2), but the model expects rank 1: [6]`},
		{"y", []int64{-1, 3}, `missing input "y": the request's inputs are ["x", "ids"]`},
	} {
		_, err := InputShaped[float32](req, tc.name, tc.want...)
		require.Error(t, err)
		assert.Equal(t, 400, status.HTTPCode(err))
		assert.Equal(t, tc.msg, err.Error())
	}
	// The datatype is checked first: a client that sent INT64 hears that,
	// whatever the shape.
	_, err = InputShaped[float32](req, "ids", -1, 3)
	assert.EqualError(t, err, `input "ids" has datatype INT64, but the model expects FP32`)
}

// A tensor built by hand whose data is not its datatype's says what it
// holds in datatype names (or Go's, for data no datatype is held as),
// rather than "has datatype FP32, expected FP32".
func TestAs_DataNotOfItsDatatype(t *testing.T) {
	mislabelled := &Tensor{Name: "x", Datatype: FP32, Shape: []int64{1}, Data: []int64{1}}
	_, err := mislabelled.AsFloat32()
	assert.EqualError(t, err, `tensor "x" has datatype FP32 but holds INT64 data`)
	_, err = InputAs[float32](&Request{Inputs: []*Tensor{mislabelled}}, "x")
	assert.EqualError(t, err, `tensor "x" has datatype FP32 but holds INT64 data`)
	assert.EqualError(t, mislabelled.Validate("output"), `output x has datatype FP32 but holds INT64 data`)

	foreign := &Tensor{Name: "x", Datatype: FP32, Shape: []int64{1}, Data: []int{1}}
	_, err = foreign.AsFloat32()
	assert.EqualError(t, err, `tensor "x" has datatype FP32 but holds []int, which is no datatype's data (see infer.Element)`)
}
