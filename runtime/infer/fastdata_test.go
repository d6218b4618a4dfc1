package infer

import (
	"math"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The list a request's input data is parsed from as it is read (fastData)
// must come out as the full reader's: skip, then parseData. Where fastData
// takes a text, skip must take the same bytes and parseData give the same
// values; everything else goes the full way anyway.
func FuzzFastData(f *testing.F) {
	for _, s := range []string{
		`[1.0,2.0,3.0,4.0]`, `[[1,2],[3,4]]`, `[]`, `[[],[1]]`, `[1e39,-1e400,1E-5]`, `[-0,0.5,-Infinity]`,
		`[1,]`, `[01,2]`, `[1.5]`, `[9223372036854775808]`, `[-1,"a",true,null,NaN]`, `[[[[1]]]] , "x"`,
		`[1 , 2 ]`, `[1-2]`, `[+1]`, `[.5]`, `[1.]`, `[{"a":1}]`, `[1e5]`,
	} {
		for d := range 10 {
			f.Add([]byte(s), uint8(d), d%2 == 0, d%3 == 0)
		}
	}
	types := []Datatype{FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64}
	f.Fuzz(func(t *testing.T, text []byte, d uint8, pyLiterals, strict bool) {
		if len(text) == 0 || text[0] != '[' {
			return // fastData is called at a list only
		}
		tensor := &Tensor{Name: "x", Datatype: types[int(d)%len(types)], Shape: []int64{2, 2}}
		fast, n, ok := fastData(&scanner{b: text, pyLiterals: pyLiterals, strict: strict, checkUTF8: true}, tensor)
		if !ok {
			return
		}
		s := &scanner{b: text, pyLiterals: pyLiterals, strict: strict, checkUTF8: true}
		val, err := s.skip()
		require.NoError(t, err, "fastData took %q, skip refuses it", text)
		require.Equal(t, n, s.pos, "fastData and skip end the value at different bytes")
		full, err := parseData("input", val, tensor, false)
		require.NoError(t, err)
		if !reflect.DeepEqual(fast, full) && !sameBits(fast, full) {
			t.Fatalf("%s %q: fastData %v, full reader %v", tensor.Datatype, text, fast, full)
		}
	})
}

// sameBits compares float slices bit for bit (NaN is not equal to itself).
func sameBits(a, b any) bool {
	switch a := a.(type) {
	case []float32:
		b := b.([]float32)
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				return false
			}
		}
		return true
	case []float64:
		b := b.([]float64)
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// The data parsed as it is read belongs to the datatype in force then; a
// later "datatype" (json.loads keeps the last) or a second "data" must win,
// as when the data comes first and is parsed at the end.
func TestDecodeRequest_DataParsedAsRead(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       any
	}{
		{"usual order", `{"inputs":[{"name":"a","shape":[2],"datatype":"INT32","data":[1,2]}]}`, []int32{1, 2}},
		{"datatype changed after data", `{"inputs":[{"name":"a","shape":[2],"datatype":"FP32","data":[1,2],"datatype":"INT32"}]}`, []int32{1, 2}},
		{"second data read the full way", `{"inputs":[{"name":"a","shape":[2],"datatype":"INT32","data":[1,2],"data":[[3],[4]]}]}`, []int32{3, 4}},
		{"second data read as read", `{"inputs":[{"name":"a","shape":[2],"datatype":"INT32","data":["x"],"data":[5,6]}]}`, []int32{5, 6}},
		{"data first", `{"inputs":[{"data":[7,8],"name":"a","shape":[2],"datatype":"INT32"}]}`, []int32{7, 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := DecodeRequest([]byte(tc.body), nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, req.Inputs[0].Data)
		})
	}
}
