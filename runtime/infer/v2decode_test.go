package infer

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// 2^63 does not fit an INT64, whether written as an integer or as a float;
// float64(math.MaxInt64) is 2^63, so a bound written with it let 2^63
// through, and int64() wrapped it to -2^63. The edges of every width are
// exact, for requests and for DecodeData (which clients use).
func TestIntegerDataEdges(t *testing.T) {
	ok := []struct {
		d    Datatype
		data string
		want any
	}{
		{INT64, `[9223372036854775807, -9223372036854775808, -9.223372036854775808e18, 9.223372036854774784e18]`,
			[]int64{9223372036854775807, -9223372036854775808, -9223372036854775808, 9223372036854774784}},
		{INT32, `[2147483647, -2147483648, 2147483647.0, -2147483648.0]`, []int32{2147483647, -2147483648, 2147483647, -2147483648}},
		{INT16, `[32767, -32768, 32767.0]`, []int16{32767, -32768, 32767}},
		{INT8, `[127, -128, -128.0]`, []int8{127, -128, -128}},
		{UINT64, `[18446744073709551615, 0]`, []uint64{18446744073709551615, 0}},
		{UINT8, `[255]`, []uint8{255}},
	}
	for _, c := range ok {
		got, err := DecodeData("output", "o", c.d, nil, []byte(c.data))
		require.NoError(t, err, c.d)
		assert.Equal(t, c.want, got, c.d)
	}

	bad := []struct {
		d          Datatype
		elem, want string
	}{
		{INT64, `9223372036854775808`, "not an integer as datatype INT64 needs"},
		{INT64, `9.223372036854775807e18`, "not an integer as datatype INT64 needs"},
		{INT64, `9223372036854775808.0`, "not an integer as datatype INT64 needs"},
		{INT64, `-9223372036854775809`, "not an integer as datatype INT64 needs"},
		{INT64, `-9.3e18`, "not an integer as datatype INT64 needs"},
		{INT32, `2147483648.0`, "not an integer in range for 32 bits as datatype INT32 needs"},
		{INT32, `2147483648`, "not an integer in range for 32 bits as datatype INT32 needs"},
		{INT16, `-32769`, "not an integer in range for 16 bits as datatype INT16 needs"},
		{INT8, `128.0`, "not an integer in range for 8 bits as datatype INT8 needs"},
		{UINT64, `18446744073709551616`, "not an unsigned integer in range as datatype UINT64 needs"},
		{UINT8, `256`, "not an unsigned integer in range as datatype UINT8 needs"},
	}
	for _, c := range bad {
		body := `{"inputs":[{"name":"a","shape":[2],"datatype":"` + string(c.d) + `","data":[0,` + c.elem + `]}]}`
		_, err := DecodeRequest([]byte(body), nil)
		require.Error(t, err, body)
		assert.Equal(t, status.KindInvalidInput, status.KindOf(err), body)
		assert.Equal(t, "input a: data element 1 is "+c.elem+", "+c.want, err.Error(), body)

		_, err = DecodeData("output", "o", c.d, []int64{1}, []byte(`[`+c.elem+`]`))
		require.Error(t, err, c.elem)
		assert.Equal(t, "output o: data element 0 is "+c.elem+", "+c.want, err.Error(), c.elem)
	}
}

// KServe reads a v2 JSON body with json.loads, whose UTF-8 decoding
// refuses invalid bytes: FastAPI's 400 "There was an error parsing the
// body". They used to reach the model, and come back as U+FFFD. A lone
// surrogate escape, which json.loads takes, still passes (as U+FFFD).
func TestDecodeRequestRefusesInvalidUTF8(t *testing.T) {
	cases := []struct{ body, want string }{
		{"{\"inputs\":[{\"name\":\"a\xff\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"x\"]}]}", "invalid UTF-8 byte 0xff in string at offset 21"},
		{"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"\\n\xfe\"]}]}", "invalid UTF-8 byte 0xfe in string at offset 65"},
		{"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"x\"]}],\"outputs\":[{\"name\":\"\xc3\"}]}", "invalid UTF-8 byte 0xc3 in string at offset 89"},
		{"{\"id\":\"\xe2\x82\",\"inputs\":[]}", "invalid UTF-8 byte 0xe2 in string at offset 7"},
	}
	for _, c := range cases {
		_, err := DecodeRequest([]byte(c.body), nil)
		require.Error(t, err, c.body)
		assert.Equal(t, status.KindInvalidInput, status.KindOf(err), c.body)
		assert.Equal(t, "There was an error parsing the body: "+c.want, err.Error(), c.body)
		var se *status.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, "There was an error parsing the body", se.DetailText, "REST answers FastAPI's body")
		// In a binary-extension body FastAPI parsed nothing: KServe's error.
		_, err = DecodeRequest([]byte(c.body), []byte{})
		require.ErrorAs(t, err, &se)
		assert.Empty(t, se.DetailText, c.body)
	}

	req, err := DecodeRequest([]byte(`{"inputs":[{"name":"é","shape":[2],"datatype":"BYTES","data":["\ud800","😀"]}]}`), nil)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("\uFFFD"), []byte("😀")}, req.Inputs[0].Data)

	_, err = DecodeData("output", "o", BYTES, []int64{1}, []byte("[\"\xff\"]"))
	assert.EqualError(t, err, "There was an error parsing the body: invalid UTF-8 byte 0xff in string at offset 2")
}

// FastAPI reads a v2 JSON body with json.loads, which takes NaN, Infinity
// and -Infinity (Python's json.dumps writes them for float("nan") and
// infinities, so Python clients send them for missing features). They used
// to be a 422. A binary-extension header is read with orjson in KServe,
// which refuses them.
func TestDecodeRequestTakesPythonNonFiniteNumbers(t *testing.T) {
	body := `{"parameters":{"p":NaN,"q":-Infinity},"inputs":[` +
		`{"name":"a","shape":[3],"datatype":"FP32","data":[NaN, Infinity, -Infinity]},` +
		`{"name":"b","shape":[1,2],"datatype":"FP64","data":[[-Infinity,NaN]]}],` +
		`"outputs":[{"name":"o","parameters":{"r":Infinity}}]}`
	req, err := DecodeRequest([]byte(body), nil)
	require.NoError(t, err)
	a := req.Inputs[0].Data.([]float32)
	assert.True(t, math.IsNaN(float64(a[0])))
	assert.Equal(t, []float32{float32(math.Inf(1)), float32(math.Inf(-1))}, a[1:])
	b := req.Inputs[1].Data.([]float64)
	assert.True(t, math.IsInf(b[0], -1))
	assert.True(t, math.IsNaN(b[1]))
	assert.True(t, math.IsNaN(req.Parameters["p"].(float64)))
	assert.Equal(t, math.Inf(-1), req.Parameters["q"])
	assert.Equal(t, math.Inf(1), req.Outputs[0].Parameters["r"])

	_, err = DecodeRequest([]byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"INT32","data":[NaN]}]}`), nil)
	assert.EqualError(t, err, "input a: data element 0 is NaN, not an integer as datatype INT32 needs")
	for _, bad := range []string{"Nan", "-Inf", "nan", "+Infinity"} {
		_, err = DecodeRequest([]byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[`+bad+`]}]}`), nil)
		assert.Equal(t, status.KindUnprocessable, status.KindOf(err), bad)
	}
	_, err = DecodeRequest([]byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[NaN]}]}`), []byte{})
	// A binary-extension header is read by KServe's orjson, which refuses
	// NaN: its 400 "Unrecognized request format: ...".
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
	assert.EqualError(t, err, "Unrecognized request format: invalid character 'N' looking for beginning of value at offset 61")
}

// null in FP32/FP64 data is NaN: KServe's numpy reads None in a float
// array as nan, and orjson (KServe's writer, and ours) writes NaN and
// ±Infinity as null, so a float tensor holding them goes out of every
// transformer and predictor as null and must read back. It used to be a
// 400 here ("data element 1 is null, not a number"), which broke KServe's
// own transformer in front of this server, and this server's client
// reading this server's answers. Other datatypes still refuse null.
func TestDecodeDataNullFloatIsNaN(t *testing.T) {
	for _, raw := range [][]byte{nil, {}} { // plain JSON, binary-extension header
		req, err := DecodeRequest([]byte(`{"inputs":[`+
			`{"name":"a","shape":[3],"datatype":"FP32","data":[1.5,null,-2]},`+
			`{"name":"b","shape":[1,2],"datatype":"FP64","data":[[null,0.25]]}]}`), raw)
		require.NoError(t, err)
		a := req.Inputs[0].Data.([]float32)
		assert.Equal(t, float32(1.5), a[0])
		assert.True(t, math.IsNaN(float64(a[1])), "%v", a)
		assert.Equal(t, float32(-2), a[2])
		b := req.Inputs[1].Data.([]float64)
		assert.True(t, math.IsNaN(b[0]), "%v", b)
		assert.Equal(t, 0.25, b[1])
	}
	got, err := DecodeData("output", "o", FP32, []int64{2}, []byte(`[null,3]`))
	require.NoError(t, err)
	assert.True(t, math.IsNaN(float64(got.([]float32)[0])))

	for dt, want := range map[string]string{
		"INT32": "input a: data element 0 is null, not an integer as datatype INT32 needs",
		"UINT8": "input a: data element 0 is null, not an unsigned integer in range as datatype UINT8 needs",
		"BOOL":  "input a: data element 0 is null, not a boolean as datatype BOOL needs",
		"BYTES": "input a: data element 0 is null, not a string as datatype BYTES needs",
	} {
		_, err := DecodeRequest([]byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"`+dt+`","data":[null]}]}`), nil)
		assert.EqualError(t, err, want, dt)
	}
}

// "id" is Optional[str] in KServe's schema: null is no id (it used to be a
// 422 string_type); anything else but a string still is one.
func TestDecodeRequestNullID(t *testing.T) {
	req, err := DecodeRequest([]byte(`{"id":null,"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}`), nil)
	require.NoError(t, err)
	assert.Equal(t, "", req.ID)
	req, err = DecodeRequest([]byte(`{"id":"x","id":null,"inputs":[]}`), nil)
	require.NoError(t, err)
	assert.Equal(t, "", req.ID, "the last value wins")
	_, err = DecodeRequest([]byte(`{"id":5,"inputs":[]}`), nil)
	var se *status.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "string_type", se.Detail[0].Type)
}

// A key that comes twice keeps its last value, as in the dict json.loads
// builds: "inputs" and "outputs" used to be merged, and an error in an
// earlier value used to win over a later value that replaces it.
func TestDecodeRequestDuplicateKeysKeepTheLast(t *testing.T) {
	const a = `[{"name":"a","shape":[1],"datatype":"INT32","data":[2]}]`
	req, err := DecodeRequest([]byte(`{"inputs":[{"name":"b","shape":[2],"datatype":"FP32","data":[1]}],"inputs":`+a+`}`), nil)
	require.NoError(t, err)
	require.Len(t, req.Inputs, 1)
	assert.Equal(t, "a", req.Inputs[0].Name)
	assert.Equal(t, []int32{2}, req.Inputs[0].Data)

	req, err = DecodeRequest([]byte(`{"inputs":`+a+`,"outputs":[{"name":"zzz"}],"outputs":[{"name":"output-0"}]}`), nil)
	require.NoError(t, err)
	assert.Equal(t, []RequestedOutput{{Name: "output-0"}}, req.Outputs)

	for _, body := range []string{
		`{"inputs":[{"name":"b","shape":[1],"datatype":"FP32","data":["x"]}],"inputs":` + a + `}`,
		`{"inputs":[{"name":"b","shape":[1],"datatype":"FP32"}],"inputs":` + a + `}`,
		`{"inputs":5,"id":7,"parameters":[1],"outputs":{},"inputs":` + a + `,"id":"x","parameters":null,"outputs":null}`,
		`{"outputs":[{"name":"a"}],"outputs":null,"inputs":` + a + `,"id":"x"}`,
	} {
		req, err := DecodeRequest([]byte(body), nil)
		require.NoError(t, err, body)
		require.Len(t, req.Inputs, 1, body)
		assert.Equal(t, "a", req.Inputs[0].Name, body)
		assert.Nil(t, req.Outputs, body)
		assert.Nil(t, req.Parameters, body)
	}

	cases := []struct{ body, want string }{
		{`{"inputs":` + a + `,"inputs":5}`, "Input should be a valid list: [body InferenceRequest inputs]"},
		{`{"id":"x","inputs":` + a + `,"id":7}`, "Input should be a valid string: [body InferenceRequest id]"},
		{`{"inputs":` + a + `,"outputs":[],"outputs":[{}]}`, "Field required: [body InferenceRequest outputs 0 name]"},
		// The first error in field order (id, parameters, inputs, outputs).
		{`{"outputs":[{}],"inputs":5,"id":7}`, "Input should be a valid string: [body InferenceRequest id]"},
		// JSON that does not parse cannot wait for a later value.
		{`{"inputs":[{"name":}],"inputs":` + a + `}`, `JSON decode error: invalid character '}' looking for beginning of value at offset 19`},
	}
	for _, c := range cases {
		_, err := DecodeRequest([]byte(c.body), nil)
		require.Error(t, err, c.body)
		assert.Equal(t, c.want, err.Error(), c.body)
	}
}

// Contract §10: in a binary-extension request an input with neither
// "data" nor binary_data_size is KServe's 400 (from_bytes), which names the
// model (it was the schema's 422). A JSON body's input without "data" is
// the schema's 422 even when it declares binary_data_size: KServe 0.20's
// server answers so (pydantic requires the field before KServe reads the
// parameters); it was a 400.
func TestDecodeRequestForNamesTheModelWhenDataIsMissing(t *testing.T) {
	const want = "'data' field is missing for input 'a' for model 'passthrough'"
	_, err := DecodeRequestFor("passthrough", []byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32"}]}`), []byte{})
	require.Error(t, err)
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
	assert.Equal(t, want, err.Error())

	_, err = DecodeRequestFor("passthrough", []byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}`), nil)
	require.Error(t, err)
	assert.Equal(t, status.KindUnprocessable, status.KindOf(err))
	assert.Equal(t, "Field required: [body InferenceRequest inputs 0 data]", err.Error())

	// Without a model name the message ends at the input.
	_, err = DecodeRequest([]byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32"}]}`), []byte{})
	assert.EqualError(t, err, "'data' field is missing for input 'a'")

	// Plain JSON without "data" fails the schema, as in FastAPI.
	_, err = DecodeRequestFor("passthrough", []byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32"}]}`), nil)
	require.Error(t, err)
	assert.Equal(t, status.KindUnprocessable, status.KindOf(err))
	assert.Equal(t, "Field required: [body InferenceRequest inputs 0 data]", err.Error())

	req, err := DecodeRequestFor("passthrough", []byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}`), []byte{0, 0, 128, 63})
	require.NoError(t, err)
	assert.Equal(t, "passthrough", req.ModelName)
	assert.Equal(t, []float32{1}, req.Inputs[0].Data)
}

// A shape dimension is pydantic's lax int of what json.loads gives: 2.0
// is 2; 2.5 is int_from_float. Integral floats were refused as
// int_parsing ("unable to parse string"). The 422 echoes the number as
// sent, not rounded through float64.
func TestDecodeShapeTakesIntegralFloats(t *testing.T) {
	req, err := DecodeRequest([]byte(`{"inputs":[{"name":"a","shape":[2.0,1e0,-0.0,1.5e1],"datatype":"FP32","data":[]}]}`), nil)
	require.NoError(t, err)
	assert.Equal(t, []int64{2, 1, 0, 15}, req.Inputs[0].Shape)

	const fraction = `"msg":"Input should be a valid integer, got a number with a fractional part"`
	const size = `"msg":"Unable to parse input string as an integer, exceeded maximum size"`
	cases := []struct{ dim, want string }{
		{`2.5`, `"type":"int_from_float","loc":["body","InferenceRequest","inputs",0,"shape",1],` + fraction + `,"input":2.5`},
		{`2.50`, `"type":"int_from_float","loc":["body","InferenceRequest","inputs",0,"shape",1],` + fraction + `,"input":2.5`},
		{`1e400`, `"type":"finite_number","loc":["body","InferenceRequest","inputs",0,"shape",1],"msg":"Input should be a finite number","input":"1e400"`},
		{`99999999999999999999`, `"type":"int_parsing_size","loc":["body","InferenceRequest","inputs",0,"shape",1],` + size + `,"input":99999999999999999999`},
		{`1e20`, `"type":"int_parsing_size","loc":["body","InferenceRequest","inputs",0,"shape",1],` + size + `,"input":1e+20`},
		{`-9.223372036854775808e18`, `"type":"int_parsing_size","loc":["body","InferenceRequest","inputs",0,"shape",1],` + size + `,"input":-9.223372036854776e+18`},
	}
	for _, c := range cases {
		body := `{"inputs":[{"name":"a","shape":[1,` + c.dim + `],"datatype":"FP32","data":[1]}]}`
		_, err := DecodeRequest([]byte(body), nil)
		require.Error(t, err, body)
		var se *status.Error
		require.ErrorAs(t, err, &se, body)
		assert.Equal(t, status.KindUnprocessable, se.Kind, body)
		// As the REST handler writes a 422: json.dumps's float repr.
		j, jerr := json.Marshal(se.Detail)
		require.NoError(t, jerr)
		got, jerr := AppendCompactRepr(nil, j)
		require.NoError(t, jerr)
		// The bytes member of KServe's Union[InferenceRequest, bytes] body
		// fails too, and says so after the InferenceRequest's error.
		assert.True(t, strings.HasPrefix(string(got), `[{`+c.want+`},{"type":"bytes_type","loc":["body","bytes"],"msg":"Input should be a valid bytes","input":`), "%s: %s", body, got)
	}

	_, err = DecodeRequest([]byte(`{"inputs":[{"name":"a","shape":[1.2.3],"datatype":"FP32","data":[1]}]}`), nil)
	assert.EqualError(t, err, `JSON decode error: invalid number "1.2.3" at offset 37`)
}

// A shape entry that is not a JSON number is read as pydantic 2's lax int
// reads it for KServe's List[int]: a string holding a decimal integer
// (white space around it, single underscores between digits, a fraction
// of zeros) and true/false are taken; other strings are int_parsing
// (they were int_type, and numeric strings were refused), null and
// containers int_type. The pairs were checked against pydantic 2.10.
func TestDecodeShapeLaxStrings(t *testing.T) {
	taken := []struct {
		dim  string
		want int64
	}{
		{`"1"`, 1}, {`" 2 "`, 2}, {`"1_0"`, 10}, {`"1.0"`, 1}, {`"1.00"`, 1}, {`"+1"`, 1}, {`"-0"`, 0},
		{`"01"`, 1}, {`"0_1"`, 1}, {`"1_000.000"`, 1000}, {`"  -3.000 "`, -3}, {`"\t4\n"`, 4},
		{`"\u00a01\u3000"`, 1}, {`"\u00851"`, 1}, {`"+0.0"`, 0}, {`"9223372036854775807"`, math.MaxInt64},
		{`"-9223372036854775808"`, math.MinInt64}, {`true`, 1}, {`false`, 0},
	}
	for _, c := range taken {
		body := `{"inputs":[{"name":"a","shape":[` + c.dim + `],"datatype":"FP32","data":[]}]}`
		req, err := DecodeRequest([]byte(body), nil)
		if assert.NoError(t, err, body) {
			assert.Equal(t, []int64{c.want}, req.Inputs[0].Shape, body)
		}
	}
	const parsing = `"type":"int_parsing","loc":["body","InferenceRequest","inputs",0,"shape",1],"msg":"Input should be a valid integer, unable to parse string as an integer","input":`
	const size = `"type":"int_parsing_size","loc":["body","InferenceRequest","inputs",0,"shape",1],"msg":"Unable to parse input string as an integer, exceeded maximum size","input":`
	const typ = `"type":"int_type","loc":["body","InferenceRequest","inputs",0,"shape",1],"msg":"Input should be a valid integer","input":`
	refused := []struct{ dim, want string }{
		{`"x"`, parsing + `"x"`}, {`""`, parsing + `""`}, {`" "`, parsing + `" "`}, {`"1."`, parsing + `"1."`},
		{`"1.5"`, parsing + `"1.5"`}, {`".0"`, parsing + `".0"`}, {`"1e3"`, parsing + `"1e3"`}, {`"0x10"`, parsing + `"0x10"`},
		{`"1__0"`, parsing + `"1__0"`}, {`"_1"`, parsing + `"_1"`}, {`"1_"`, parsing + `"1_"`}, {`"1.0_0"`, parsing + `"1.0_0"`},
		{`"+-1"`, parsing + `"+-1"`}, {`"- 1"`, parsing + `"- 1"`}, {`"true"`, parsing + `"true"`}, {`"inf"`, parsing + `"inf"`},
		{`"\u001c1"`, parsing + `"\u001c1"`}, {`"\u0661"`, parsing + `"١"`}, {`"1.0.0"`, parsing + `"1.0.0"`},
		{`"9223372036854775808"`, size + `"9223372036854775808"`},
		{`null`, typ + `null`}, {`[1]`, typ + `[1]`}, {`{}`, typ + `{}`},
	}
	for _, c := range refused {
		body := `{"inputs":[{"name":"a","shape":[1,` + c.dim + `],"datatype":"FP32","data":[1]}]}`
		_, err := DecodeRequest([]byte(body), nil)
		var se *status.Error
		require.ErrorAs(t, err, &se, body)
		j, jerr := json.Marshal(se.Detail)
		require.NoError(t, jerr)
		assert.True(t, strings.HasPrefix(string(j), `[{`+c.want+`},{"type":"bytes_type"`), "%s: %s", body, j)
	}
}

// A parameters object is read as json.loads reads it: a key given twice
// keeps its last value, at the place where the key first came. A bad
// value followed by a good one is no error (it was a 422), and the 422
// names the bad values json.loads keeps, in the dict's order.
func TestDecodeParametersDuplicateKeys(t *testing.T) {
	const input = `"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1],"parameters":{"x":null,"y":2,"x":3}}]`
	req, err := DecodeRequest([]byte(`{"parameters":{"a":[1],"a":1},`+input+`}`), nil)
	require.NoError(t, err)
	assert.Equal(t, Parameters{"a": int64(1)}, req.Parameters)
	assert.Equal(t, Parameters{"x": int64(3), "y": int64(2)}, req.Inputs[0].Parameters)

	_, err = DecodeRequest([]byte(`{"parameters":{"a":1,"b":null,"a":[],"c":1.5,"b":"x","d":{}},`+input+`}`), nil)
	var se *status.Error
	require.ErrorAs(t, err, &se)
	var locs []string
	for _, d := range se.Detail {
		locs = append(locs, fmt.Sprintln(d.Loc...))
	}
	assert.Equal(t, []string{
		"body InferenceRequest parameters a float\n", "body InferenceRequest parameters a int\n",
		"body InferenceRequest parameters a bool\n", "body InferenceRequest parameters a str\n",
		"body InferenceRequest parameters d float\n", "body InferenceRequest parameters d int\n",
		"body InferenceRequest parameters d bool\n", "body InferenceRequest parameters d str\n",
		"body bytes\n",
	}, locs)
}

// json.loads decodes a UTF-16 or UTF-32 body with "surrogatepass": a lone
// surrogate goes through (as U+FFFD here, as the escape "\ud800" does);
// bytes the codec cannot decode are FastAPI's 400, saying what was wrong.
func TestDecodeRequestInUTF16AndUTF32(t *testing.T) {
	le16 := func(units ...uint16) []byte {
		var b []byte
		for _, u := range units {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
		return b
	}
	ascii := func(s string) []uint16 {
		u := make([]uint16, len(s))
		for i := range s {
			u[i] = uint16(s[i])
		}
		return u
	}
	body := append(append(ascii(`{"inputs":[{"name":"a","shape":[1],"datatype":"BYTES","data":["`), 0xD800), ascii(`"]}]}`)...)
	req, err := DecodeRequest(append([]byte{0xFF, 0xFE}, le16(body...)...), nil)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("\uFFFD")}, req.Inputs[0].Data)

	for b, want := range map[string]string{
		string(append(le16(ascii(`{"inputs":[]}`)...), 0)): "the UTF-16 body has an odd number of bytes (27)",
		"\xff\xfe\x00\x00{\x00\x00\x00\x00\x00\x11\x00":    "UTF-32 value 0x110000 at byte 4 is beyond U+10FFFF",
		"\x00\x00\x00{\x00\x00\x00}\x00":                   "the UTF-32 body's length (9 bytes) is not a multiple of 4",
	} {
		_, err := DecodeRequest([]byte(b), nil)
		assert.EqualError(t, err, "There was an error parsing the body: "+want)
		var se *status.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, "There was an error parsing the body", se.DetailText)
	}
}
