package client_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// DecodeV2Response parses JSON "data" with the server's own parser: nested
// lists flatten row-major, every datatype lands in its typed slice, and a
// bad element is named.
func TestDecodeV2ResponseData(t *testing.T) {
	resp, err := client.DecodeV2Response([]byte(`{"model_name":"m","model_version":null,"id":"1","parameters":null,"outputs":[
		{"name":"f","shape":[2,2],"datatype":"FP32","parameters":null,"data":[[1.5,2],[3,-4e2]]},
		{"name":"u","shape":[3],"datatype":"UINT8","data":[0,7,255]},
		{"name":"b","shape":[2],"datatype":"BOOL","data":[true,false]},
		{"name":"s","shape":[1,2],"datatype":"BYTES","data":[["a\"b","\u00e9"]]},
		{"name":"i","shape":[0],"datatype":"INT64","data":[]}]}`), nil)
	require.NoError(t, err)
	want := []any{
		[]float32{1.5, 2, 3, -400},
		[]uint8{0, 7, 255},
		[]bool{true, false},
		[][]byte{[]byte(`a"b`), []byte("é")},
		[]int64{},
	}
	require.Len(t, resp.Outputs, len(want))
	for i, w := range want {
		assert.Equal(t, w, resp.Outputs[i].Data, resp.Outputs[i].Name)
	}

	for body, msg := range map[string]string{
		`{"outputs":[{"name":"u","shape":[1],"datatype":"UINT8","data":[256]}]}`:    "output u: data element 0 is 256, not an unsigned integer in range as datatype UINT8 needs",
		`{"outputs":[{"name":"f","shape":[2],"datatype":"FP32","data":[1,"x"]}]}`:   `output f: data element 1 is "x", not a number as datatype FP32 needs`,
		`{"outputs":[{"name":"f","shape":[1],"datatype":"FP32"}]}`:                  "output f: 'data' is missing",
		`{"outputs":[{"name":"h","shape":[1],"datatype":"FP16","data":[1]}]}`:       "output h: FP16 data cannot travel as JSON",
		`{"outputs":[{"name":"f","shape":[3],"datatype":"FP32","data":[1,2]}]}`:     "output f: shape [3] expects 3 elements, but 2 were given",
		`{"outputs":[{"name":"b","shape":[1],"datatype":"BOOL","data":[{"a":1}]}]}`: `output b: data element 0 is {"a":1}, not a scalar`,
	} {
		_, err := client.DecodeV2Response([]byte(body), nil)
		if assert.Error(t, err, body) {
			assert.Contains(t, err.Error(), msg, body)
		}
	}
}

// Float data holding NaN or ±Inf is written as Python's json.dumps writes
// it, which KServe's v2 server (json.loads) and ours read back exactly;
// everything else is encoding/json's text, byte for byte.
func TestEncodeV2Request_NonFiniteFloats(t *testing.T) {
	req := &infer.Request{ID: "r<1>", Parameters: infer.Parameters{"scale": 0.5},
		Inputs: []*infer.Tensor{
			infer.NewTensor("a", []int64{4}, []float32{1.5, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}),
			infer.NewTensor("b", []int64{2}, []int32{1, 2}),
			infer.NewTensor("c", []int64{2}, []float64{1e-7, math.Inf(1)}),
		},
		Outputs: []infer.RequestedOutput{{Name: "o"}}}
	head, raws, err := client.EncodeV2Request(req, false)
	require.NoError(t, err)
	assert.Empty(t, raws)
	assert.Equal(t, `{"id":"r\u003c1\u003e","parameters":{"scale":0.5},"inputs":[`+
		`{"name":"a","shape":[4],"datatype":"FP32","data":[1.5,NaN,Infinity,-Infinity]},`+
		`{"name":"b","shape":[2],"datatype":"INT32","data":[1,2]},`+
		`{"name":"c","shape":[2],"datatype":"FP64","data":[1e-7,Infinity]}],`+
		`"outputs":[{"name":"o"}]}`, string(head))

	// Without them, the same request is json.Marshal's.
	req.Inputs[0] = infer.NewTensor("a", []int64{1}, []float32{1.5})
	req.Inputs[2] = infer.NewTensor("c", []int64{1}, []float64{2})
	head, _, err = client.EncodeV2Request(req, false)
	require.NoError(t, err)
	assert.Equal(t, `{"id":"r\u003c1\u003e","parameters":{"scale":0.5},"inputs":[`+
		`{"name":"a","shape":[1],"datatype":"FP32","data":[1.5]},`+
		`{"name":"b","shape":[2],"datatype":"INT32","data":[1,2]},`+
		`{"name":"c","shape":[1],"datatype":"FP64","data":[2]}],`+
		`"outputs":[{"name":"o"}]}`, string(head))
}
