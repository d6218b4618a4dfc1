package infer

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Floats are laid out as KServe's orjson writes them, which is not
// Python's repr (1e-05, 1e+16): the wants beyond the first line are what
// orjson.dumps wrote for the same floats, and 0.00009999999747378752 is in
// KServe 0.20's recorded v2_large answer.
func TestAppendFloatMatchesOrjson(t *testing.T) {
	cases := []struct {
		f    float64
		bits int
		want string
	}{
		{1, 64, "1.0"}, {0, 64, "0.0"}, {-2, 64, "-2.0"}, {0.1, 64, "0.1"}, {1e-5, 64, "0.00001"},
		{1e16, 64, "1e16"}, {1e15, 64, "1000000000000000.0"}, {123.456, 64, "123.456"},
		{14.861763000488281, 64, "14.861763000488281"}, {0.0001, 64, "0.0001"},
		{float64(float32(0.6027)), 32, "0.6027"}, {float64(float32(0.1)), 32, "0.1"},
		{math.NaN(), 64, "null"}, {math.Inf(1), 64, "null"},
		{float64(float32(1e-4)), 64, "0.00009999999747378752"}, {1e21, 64, "1e21"}, {1.5e-7, 64, "1.5e-7"},
		{1.7976931348623157e308, 64, "1.7976931348623157e308"}, {5e-324, 64, "5e-324"},
		{123456789012345680, 64, "1.2345678901234568e17"}, {0.0001234, 64, "0.0001234"},
		{math.Copysign(0, -1), 64, "-0.0"}, {-1.5e-7, 64, "-1.5e-7"}, {1e-320, 64, "1e-320"},
		{9007199254740993, 64, "9007199254740992.0"}, {1e-5, 32, "0.00001"}, {3.4e38, 32, "3.4e38"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, string(AppendFloat(nil, c.f, c.bits)), "%v", c.f)
	}
}

func TestAppendCompactNormalisesFloats(t *testing.T) {
	got, err := AppendCompact(nil, []byte(` [ [1, 2.50, 3e0, -0.0, "a b 1.0"], {"k" : 1E2} ] `))
	require.NoError(t, err)
	assert.Equal(t, `[[1,2.5,3.0,-0.0,"a b 1.0"],{"k":100.0}]`, string(got))
}

// Strings are written as orjson writes the text they stand for: the
// escapes JSON requires stay, the others become the characters.
func TestAppendCompactNormalisesStringEscapes(t *testing.T) {
	got, err := AppendCompact(nil, []byte(`["\u00e9\ud83d\ude00", "\/\"\\\n\u0001", {"\u006b": "plain é"}]`))
	require.NoError(t, err)
	assert.Equal(t, `["é😀","/\"\\\n\u0001",{"k":"plain é"}]`, string(got))

	// A high surrogate without its low half is U+FFFD, and the escape after
	// it still counts (as in encoding/json).
	got, err = AppendCompact(nil, []byte(`"\ud800\u0041\ud83d"`))
	require.NoError(t, err)
	assert.Equal(t, "\"\uFFFDA\uFFFD\"", string(got))
}

func TestDecodeRequestJSON(t *testing.T) {
	req, err := DecodeRequest([]byte(`{"id":"x","parameters":{"a":1,"b":true,"c":"s","d":1.5},
		"inputs":[{"name":"f","shape":[2,2],"datatype":"fp32","data":[[1,2],[3.5,-4e-1]]},
		{"data":["a","\u00e9\n"],"name":"s","shape":[2],"datatype":"BYTES"},
		{"name":"b","shape":[2],"datatype":"BOOL","data":[true,false]},
		{"name":"i","shape":[1],"datatype":"INT8","data":[-5.0]}],
		"outputs":[{"name":"o","parameters":{"binary_data":true}}]}`), nil)
	require.NoError(t, err)
	assert.Equal(t, "x", req.ID)
	assert.Equal(t, Parameters{"a": int64(1), "b": true, "c": "s", "d": 1.5}, req.Parameters)
	assert.Equal(t, FP32, req.Inputs[0].Datatype)
	assert.Equal(t, []float32{1, 2, 3.5, -0.4}, req.Inputs[0].Data)
	assert.Equal(t, [][]byte{[]byte("a"), []byte("é\n")}, req.Inputs[1].Data)
	assert.Equal(t, []bool{true, false}, req.Inputs[2].Data)
	assert.Equal(t, []int8{-5}, req.Inputs[3].Data)
	assert.Equal(t, []RequestedOutput{{Name: "o", Parameters: Parameters{"binary_data": true}}}, req.Outputs)
}

func TestDecodeRequestErrors(t *testing.T) {
	cases := []struct{ body, want string }{
		{`{"inputs":[{"name":"i","shape":[1],"datatype":"INT8","data":[300]}]}`, "input i: data element 0 is 300, not an integer in range for 8 bits as datatype INT8 needs"},
		{`{"inputs":[{"name":"i","shape":[1],"datatype":"FP32","data":["x"]}]}`, `input i: data element 0 is "x", not a number as datatype FP32 needs`},
		{`{"inputs":[{"name":"i","shape":[1],"datatype":"FOO","data":[1]}]}`, "invalid datatype FOO for input i"},
		{`{"inputs":[{"name":"i","shape":[1],"datatype":"BOOL","data":[1]}]}`, "input i: data element 0 is 1, not a boolean as datatype BOOL needs"},
		{`{}`, "Field required: [body InferenceRequest inputs]"},
		{`[]`, "Input should be a valid dictionary or object to extract fields from: [body InferenceRequest]"},
		{`{"inputs":[{"shape":[1],"datatype":"FP32","data":[1]}]}`, "Field required: [body InferenceRequest inputs 0 name]"},
		{`{"inputs":[{"name":"a","shape":["x"],"datatype":"FP32","data":[1]}]}`, "Input should be a valid integer, unable to parse string as an integer: [body InferenceRequest inputs 0 shape 0]"},
		{`{"inputs":[]} x`, "JSON decode error: extra data after JSON value at offset 14"},
		// RequestInput.data is a list for pydantic: no scalar, string, object or null.
		{`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data": 1}]}`, "Input should be a valid list: [body InferenceRequest inputs 0 data]"},
		{`{"inputs":[{"name":"a","shape":[1],"datatype":"BYTES","data":"x"}]}`, "Input should be a valid list: [body InferenceRequest inputs 0 data]"},
		{`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":null}]}`, "Input should be a valid list: [body InferenceRequest inputs 0 data]"},
		{`{"inputs":[{"name":"a","shape":[1],"datatype":"FOO","data":{}}]}`, "Input should be a valid list: [body InferenceRequest inputs 0 data]"},
	}
	for _, c := range cases {
		_, err := DecodeRequest([]byte(c.body), nil)
		require.Error(t, err, c.body)
		assert.Equal(t, c.want, err.Error(), c.body)
	}
}

func TestRawRoundTripEveryDatatype(t *testing.T) {
	for _, data := range []any{
		[]bool{true, false}, []uint8{1, 2}, []uint16{1, 65535}, []uint32{7, 1 << 31}, []uint64{1 << 63},
		[]int8{-1}, []int16{-300}, []int32{-70000}, []int64{-1 << 40}, []Float16{Float16From(0.5)},
		[]float32{1.5, -0}, []float64{math.Pi}, [][]byte{[]byte("x"), {}, []byte("yz")},
	} {
		d := datatypeOfData(data)
		shape := []int64{int64(dataLen(data))}
		raw, err := EncodeRaw(&Tensor{Name: "t", Datatype: d, Shape: shape, Data: data})
		require.NoError(t, err, d)
		got, err := DecodeRaw("input", "t", d, shape, raw)
		require.NoError(t, err, d)
		assert.Equal(t, data, got, d)
	}
	_, err := DecodeRaw("input", "x", FP32, []int64{1}, []byte{1, 2, 3})
	assert.EqualError(t, err, "input 'x' with datatype FP32 and shape [1] needs 4 bytes of raw contents, but 3 were given")
	_, err = DecodeRaw("input", "s", BYTES, []int64{1}, []byte{9, 0, 0, 0, 'a'})
	assert.EqualError(t, err, "input 's': raw BYTES element 0 declares 9 bytes, but only 1 remain")
}

func TestFloat16(t *testing.T) {
	for _, f := range []float32{0, 1, -1, 0.5, 65504, 6.1035156e-05, 5.9604645e-08, float32(math.Inf(1))} {
		assert.Equal(t, f, Float16From(f).Float32(), "%v", f)
	}
	assert.True(t, math.IsNaN(float64(Float16From(float32(math.NaN())).Float32())))
}

func TestResponseJSONOrder(t *testing.T) {
	b, err := AppendResponseJSON(nil, &Response{ID: "1", ModelName: "m", Outputs: []*Tensor{NewTensor("o", []int64{2}, []float64{1, 2.5})}})
	require.NoError(t, err)
	assert.Equal(t, `{"model_name":"m","model_version":null,"id":"1","parameters":null,"outputs":[{"name":"o","shape":[2],"datatype":"FP64","parameters":null,"data":[1.0,2.5]}]}`, string(b))
	_, err = AppendResponseJSON(nil, &Response{Outputs: []*Tensor{NewTensor("o", []int64{3}, []float64{1})}})
	assert.Equal(t, status.KindInferenceError, status.KindOf(err))
}

func largeRequest(tb testing.TB) []byte {
	p := filepath.Join("..", "..", "..", "shared", "reference", "kserve-0.20", "v2_large.json")
	b, err := os.ReadFile(p)
	if err != nil {
		// Same shape, generated: FP32 [1,3,224,224] with 4-digit values.
		var sb strings.Builder
		sb.WriteString(`{"inputs":[{"name":"input-0","shape":[1,3,224,224],"datatype":"FP32","data":[`)
		for i := range 150528 {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("0.")
			sb.WriteString(strings.Repeat(string(rune('1'+i%9)), 4))
		}
		sb.WriteString("]}]}")
		return []byte(sb.String())
	}
	return b
}

// BenchmarkV2LargeJSON is decode + encode of FP32[1,3,224,224] as JSON
// (KServe ≈310 ms; target ≤ 30 ms).
func BenchmarkV2LargeJSON(b *testing.B) {
	body := largeRequest(b)
	var out []byte
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req, err := DecodeRequest(body, nil)
		if err != nil {
			b.Fatal(err)
		}
		resp := &Response{ID: "x", ModelName: "m", Outputs: []*Tensor{{Name: "output-0", Datatype: FP32, Shape: req.Inputs[0].Shape, Data: req.Inputs[0].Data}}}
		if out, err = AppendResponseJSON(out[:0], resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkV2LargeBinary is the same tensor through the binary extension
// (target ≤ 3 ms).
func BenchmarkV2LargeBinary(b *testing.B) {
	data := make([]float32, 150528)
	for i := range data {
		data[i] = float32(i) / 7
	}
	raw, _ := EncodeRaw(NewTensor("input-0", []int64{1, 3, 224, 224}, data))
	head := []byte(`{"inputs":[{"name":"input-0","shape":[1,3,224,224],"datatype":"FP32","parameters":{"binary_data_size":602112}}],"parameters":{"binary_data_output":true}}`)
	var out []byte
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		req, err := DecodeRequest(head, raw)
		if err != nil {
			b.Fatal(err)
		}
		resp := &Response{ID: "x", ModelName: "m", Outputs: []*Tensor{{Name: "output-0", Datatype: FP32, Shape: req.Inputs[0].Shape, Data: req.Inputs[0].Data}}}
		var raws [][]byte
		if out, raws, err = AppendResponseBinary(out[:0], resp, []bool{true}); err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		buf.Grow(len(out) + len(raws[0]))
		buf.Write(out)
		buf.Write(raws[0])
	}
}

func BenchmarkV2SmallJSON(b *testing.B) {
	body := []byte(`{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP32","data":[1.0,2.0,3.0,4.0]}]}`)
	var out []byte
	for b.Loop() {
		req, _ := DecodeRequest(body, nil)
		resp := &Response{ID: "45aaf0c2-52c3-4055-bb68-f7fc79039d9f", ModelName: "m", Outputs: []*Tensor{{Name: "output-0", Datatype: FP32, Shape: req.Inputs[0].Shape, Data: req.Inputs[0].Data}}}
		out, _ = AppendResponseJSON(out[:0], resp)
	}
}

// FuzzDecodeRequestJSON: no input makes the v2 JSON decoder panic, and what
// it accepts encodes back to JSON that encoding/json accepts.
func FuzzDecodeRequestJSON(f *testing.F) {
	f.Add([]byte(`{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP32","data":[1.0,2.0,3.0,4.0]}]}`))
	f.Add([]byte(`{"id":"a","parameters":{"x":1},"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","data":["\u00e9"]}],"outputs":[{"name":"o"}]}`))
	f.Add([]byte(`{"inputs":[{"name":"b","shape":[2,1],"datatype":"BOOL","data":[[true],[false]]}]}`))
	f.Add([]byte(`{"parameters":{"p":NaN},"inputs":[{"name":"f","shape":[3],"datatype":"FP64","data":[NaN,Infinity,-Infinity]}]}`))
	// UTF-16LE with a byte order mark, and UTF-32BE without: json.loads
	// reads both.
	f.Add([]byte("\xff\xfe{\x00\"\x00i\x00d\x00\"\x00:\x00\"\x00\xe9\x00\"\x00}\x00"))
	f.Add([]byte("\x00\x00\x00{\x00\x00\x00}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body, nil)
		if err != nil {
			if status.KindOf(err) == status.KindInternal {
				t.Fatalf("error without a kind: %v", err)
			}
			return
		}
		resp := &Response{ID: req.ID, ModelName: "m"}
		for _, in := range req.Inputs {
			if in.Validate("input") == nil && in.Datatype != FP16 {
				resp.Outputs = append(resp.Outputs, in)
			}
		}
		out, err := AppendResponseJSON(nil, resp)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
	})
}

// FuzzDecodeBinary: the binary extension decoder never panics on any split
// of header and raw bytes.
func FuzzDecodeBinary(f *testing.F) {
	f.Add([]byte(`{"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}`), []byte("12345678"))
	f.Add([]byte(`{"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":5}}]}`), []byte{1, 0, 0, 0, 'x'})
	f.Add([]byte(`{"inputs":[{"name":"h","shape":[1],"datatype":"FP16","parameters":{"binary_data_size":2}}]}`), []byte{0, 60})
	f.Fuzz(func(t *testing.T, head, raw []byte) {
		req, err := DecodeRequest(head, raw)
		if err != nil {
			if status.KindOf(err) == status.KindInternal {
				t.Fatalf("error without a kind: %v", err)
			}
			return
		}
		resp := &Response{ID: req.ID, ModelName: "m"}
		for _, in := range req.Inputs {
			if in.Validate("input") == nil {
				resp.Outputs = append(resp.Outputs, in)
			}
		}
		bin := make([]bool, len(resp.Outputs))
		for i := range bin {
			bin[i] = true
		}
		if _, _, err := AppendResponseBinary(nil, resp, bin); err != nil {
			t.Fatalf("encode: %v", err)
		}
	})
}

func TestDecodeRequestDatatypeForms(t *testing.T) {
	req, err := DecodeRequest([]byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"int64","data":[7]}]}`), nil)
	require.NoError(t, err)
	assert.Equal(t, INT64, req.Inputs[0].Datatype)
	_, err = DecodeRequest([]byte(`{"inputs":[{"name":"a","shape":[1],"datatype":5,"data":[7]}]}`), nil)
	assert.EqualError(t, err, "Input should be a valid string: [body InferenceRequest inputs 0 datatype]")
}

// nested returns depth arrays around one element, as JSON.
func nested(depth int) []byte {
	return []byte(strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth))
}

// JSON nested past its limit is an error naming the limit, not a
// recursion that ends in a fatal stack overflow: a 10 MB body of "[" once
// took the whole server down. A v1 body (and CheckJSON) nests as deeply as
// orjson lets it, the outer object counting; the rest maxDepth.
func TestNestingDepthIsBounded(t *testing.T) {
	// orjson accepts 1024 levels (its test_loads_recursion_valid_limit_*
	// refuse 1025): yyjson reads the root container without counting it.
	ok := &Request{Protocol: ProtocolV1, IsJSON: true, Body: append(append([]byte(`{"instances":`), nested(1023)...), '}')}
	require.NoError(t, ok.ParseV1(), "a v1 body may nest 1024 levels, the outer object counting")
	assert.NoError(t, CheckJSON(nested(1024)))

	tooDeep := &Request{Protocol: ProtocolV1, IsJSON: true, Body: append(append([]byte(`{"instances":`), nested(1024)...), '}')}
	err := tooDeep.ParseV1()
	require.Error(t, err)
	assert.Equal(t, "Unrecognized request format: JSON nested deeper than 1024 levels at offset 1036", err.Error())
	assert.EqualError(t, CheckJSON(nested(1025)), "JSON nested deeper than 1024 levels at offset 1024")

	for _, body := range [][]byte{
		nested(5_000_000),
		append(append([]byte(`{"instances":[1],"x":`), bytes.Repeat([]byte(`{"a":`), 2_000_000)...), '1'),
	} {
		err := (&Request{Protocol: ProtocolV1, IsJSON: true, Body: body}).ParseV1()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "JSON nested deeper than 1024 levels")
	}

	// A v2 body is read as json.loads reads it; its limit is maxDepth.
	_, err = DecodeRequest(append(append([]byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":`), nested(5_000_000)...), []byte(`}]}`)...), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "JSON nested deeper than 10000 levels")
}

// A shape that describes no element count (a negative dimension, or a
// product that overflows to a small number) is the shape's error, never a
// comparison with "-1 elements" or a wrapped count that happens to match.
func TestValidateInvalidShape(t *testing.T) {
	for _, shape := range [][]int64{{-1, 2}, {4294967296, 4294967296}, {2097152, 2097152, 4194304}} {
		err := (&Tensor{Name: "a", Datatype: FP32, Shape: shape, Data: []float32{}}).Validate("input")
		require.Error(t, err)
		assert.Equal(t, "input a: shape "+FormatShape(shape)+" is invalid: dimensions must be 0 or more and multiply to fewer than 2^60 elements", err.Error())
	}
	require.NoError(t, (&Tensor{Name: "a", Datatype: FP32, Shape: []int64{0, 4}, Data: []float32{}}).Validate("input"))
}

// A NUL byte is not the end of the text: after a JSON value it is extra
// data, where a value should be it is an invalid character. (peek returns 0
// for both, and "0\x00\xb7" once passed as one JSON value.)
func TestNULByteIsNotTheEnd(t *testing.T) {
	err := (&Request{Protocol: ProtocolV1, IsJSON: true, Body: []byte("{\"instances\":[1]}\x00")}).ParseV1()
	assert.EqualError(t, err, "Unrecognized request format: extra data after JSON value at offset 17")
	err = (&Request{Protocol: ProtocolV1, IsJSON: true, Body: []byte("0 \x00\xb7")}).ParseV1()
	assert.EqualError(t, err, "Unrecognized request format: extra data after JSON value at offset 2")
	err = (&Request{Protocol: ProtocolV1, IsJSON: true, Body: []byte("[\x00]")}).ParseV1()
	assert.EqualError(t, err, `Unrecognized request format: invalid character '\x00' looking for beginning of value at offset 1`)

	assert.False(t, ValidJSON([]byte("0\x00")))
	assert.True(t, ValidJSON([]byte("0 \n")))

	_, err = DecodeRequest([]byte("{\"inputs\":[]}\x00"), nil)
	assert.EqualError(t, err, "JSON decode error: extra data after JSON value at offset 13")

	_, err = AppendDumps(nil, []byte("[1]\x00"))
	assert.EqualError(t, err, "extra data after JSON value at offset 3")
}

// A shape of many dimensions is cut in messages: its first eight, its last
// two and how many it has, not a 400 of megabytes echoing it whole.
func TestLongShapeIsCutInMessages(t *testing.T) {
	dims := strings.TrimSuffix(strings.Repeat("1,", 100000), ",")
	req, err := DecodeRequest([]byte(`{"inputs":[{"name":"a","shape":[`+dims+`,7],"datatype":"FP32","data":[1,2]}]}`), nil)
	require.NoError(t, err)
	err = req.Inputs[0].Validate("input")
	require.Error(t, err)
	assert.Equal(t, "input a: shape [1, 1, 1, 1, 1, 1, 1, 1, …, 1, 7] (100001 dimensions) expects 7 elements, but 2 were given", err.Error())
	assert.Equal(t, "[1, 3, 224, 224]", FormatShape([]int64{1, 3, 224, 224}))
	assert.Equal(t, "[]", FormatShape(nil))
	shape := make([]int64, maxShownDims)
	assert.Equal(t, "["+strings.TrimSuffix(strings.Repeat("0, ", maxShownDims), ", ")+"]", FormatShape(shape))
	shape = append(shape, 5)
	assert.Equal(t, "[0, 0, 0, 0, 0, 0, 0, 0, …, 0, 5] (33 dimensions)", FormatShape(shape))
}

// The count mismatch reads as English for one element too.
func TestElementCountMessageSingular(t *testing.T) {
	err := NewTensor("a", []int64{1}, []float32{1, 2}).Validate("input")
	assert.EqualError(t, err, "input a: shape [1] expects 1 element, but 2 were given")
	err = NewTensor("a", []int64{2}, []float32{1}).Validate("input")
	assert.EqualError(t, err, "input a: shape [2] expects 2 elements, but 1 was given")
}
