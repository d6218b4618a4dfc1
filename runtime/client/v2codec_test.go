package client_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/client"
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
