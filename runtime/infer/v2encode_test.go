package infer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// A BYTES output that is not UTF-8 cannot go out as a JSON string: KServe
// raises InferenceError (500) naming the element as Python's repr; the
// bytes were silently turned into U+FFFD. The binary extension keeps them.
func TestNonUTF8BytesOutputIsAnInferenceError(t *testing.T) {
	out := &Tensor{Name: "o", Datatype: BYTES, Shape: []int64{4}, Data: [][]byte{[]byte("ab"), {}, {0xff, 0xfe}, []byte("z")}}
	resp := &Response{ID: "1", ModelName: "m", Outputs: []*Tensor{out}}
	const want = `Failed to encode "b'\xff\xfe'" using UTF-8. Please use binary_data=True, if you want to pass a byte array. (output 'o', element 2)`

	_, err := AppendResponseJSON(nil, resp)
	require.Error(t, err)
	assert.Equal(t, status.KindInferenceError, status.KindOf(err))
	assert.Equal(t, want, err.Error())

	_, _, err = AppendResponseBinary(nil, resp, []bool{false})
	require.Error(t, err)
	assert.Equal(t, status.KindInferenceError, status.KindOf(err))
	assert.Equal(t, want, err.Error())

	head, raws, err := AppendResponseBinary(nil, resp, []bool{true})
	require.NoError(t, err)
	assert.Equal(t, `{"id":"1","model_name":"m","model_version":null,"outputs":[{"name":"o","shape":[4],"datatype":"BYTES","parameters":{"binary_data_size":21}}]}`, string(head))
	assert.Equal(t, [][]byte{{2, 0, 0, 0, 'a', 'b', 0, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xfe, 1, 0, 0, 0, 'z'}}, raws)

	// UTF-8 text, multi-byte included, still goes out as JSON.
	out.Data = [][]byte{[]byte("é😀"), []byte("a\"b")}
	out.Shape = []int64{2}
	b, err := AppendResponseJSON(nil, resp)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"data":["é😀","a\"b"]`)
}

func TestPyBytesRepr(t *testing.T) {
	cases := []struct{ in, want string }{
		{"\xff\xfe", `b'\xff\xfe'`},
		{"it's", `b"it's"`},
		{`'"`, `b'\'"'`},
		{"a\\b\t\n\r\x00\x7f\xc3\xa9", `b'a\\b\t\n\r\x00\x7f\xc3\xa9'`},
		{"", `b''`},
		{strings.Repeat("\xff", 65), `b'` + strings.Repeat(`\xff`, 64) + `'...`},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, pyBytesRepr([]byte(c.in), 64), "%q", c.in)
	}
}
