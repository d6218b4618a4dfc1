package infer

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

func parseV1(body string) error {
	return (&Request{Protocol: ProtocolV1, IsJSON: true, Body: []byte(body)}).ParseV1()
}

// A number beyond float64's range is malformed JSON to orjson, so a 400
// when the v1 body is parsed; it used to pass, and the answer then failed
// to encode it: a 500 "errorString : invalid number".
func TestParseV1RefusesNumbersBeyondFloat64(t *testing.T) {
	huge := "1" + strings.Repeat("0", 309)
	cases := []struct{ body, want string }{
		{`{"instances":[1e400]}`, `number 1e400 is beyond the range of a float64 at offset 14`},
		{`{"instances":[[1.5, -1.8e308]]}`, `number -1.8e308 is beyond the range of a float64 at offset 20`},
		{`[2E+309]`, `number 2E+309 is beyond the range of a float64 at offset 1`},
		{`{"instances":[1],"x":` + huge + `}`, `number ` + huge[:32] + `... (310 bytes) is beyond the range of a float64 at offset 21`},
		// A structured CloudEvent is read by orjson too.
		{`{"specversion":"1.0","id":"42","source":"s","type":"t","time":"x","data":{"instances":[-1e400]}}`,
			`number -1e400 is beyond the range of a float64 at offset 87`},
	}
	for _, c := range cases {
		err := parseV1(c.body)
		require.Error(t, err, c.body)
		assert.Equal(t, status.KindInvalidInput, status.KindOf(err), c.body)
		assert.Equal(t, "Unrecognized request format: "+c.want, err.Error(), c.body)
	}

	for _, body := range []string{
		`{"instances":[1.7976931348623157e308, -1.7976931348623157e308, 1e-400, 0e999999]}`,
		`{"instances":[` + huge[:308] + `]}`,
	} {
		assert.NoError(t, parseV1(body), body)
	}

	// A binary-mode CloudEvent's data is read by orjson too (KServe's
	// decode_cloudevent).
	bin := &Request{Protocol: ProtocolV1, IsJSON: true, Body: []byte(`{"instances":[1e400]}`), CloudEvent: &CloudEvent{Binary: true}}
	assert.EqualError(t, bin.ParseV1(), "Unrecognized request format: number 1e400 is beyond the range of a float64 at offset 14")
}

// orjson refuses strings that are not UTF-8, raw or through a lone
// surrogate escape; they used to pass and come back as U+FFFD.
func TestParseV1RefusesInvalidUTF8(t *testing.T) {
	cases := []struct{ body, want string }{
		{"{\"instances\":[\"ab\xfe\"]}", `invalid UTF-8 byte 0xfe in string at offset 17`},
		{"{\"instances\":[\"\\n\xff\"]}", `invalid UTF-8 byte 0xff in string at offset 17`},
		{"{\"inst\xc3\":[1]}", `invalid UTF-8 byte 0xc3 in string at offset 6`},
		{`{"instances":["\ud800"]}`, `lone surrogate \ud800 in string at offset 15`},
		{`{"instances":["x\ud83d\u0041"]}`, `lone surrogate \ud83d in string at offset 16`},
		{`{"instances":["\udc00\ud83d"]}`, `lone surrogate \udc00 in string at offset 15`},
	}
	for _, c := range cases {
		err := parseV1(c.body)
		require.Error(t, err, c.body)
		assert.Equal(t, status.KindInvalidInput, status.KindOf(err), c.body)
		assert.Equal(t, "Unrecognized request format: "+c.want, err.Error(), c.body)
	}
	assert.NoError(t, parseV1(`{"instances":["é\ud83d\ude00\ufffd", "\u00e9"]}`))
}

// DecodeBody on a v2 request says that it reads v1 bodies; it used to say
// the body had content type "", not JSON, of a request sent as JSON.
func TestDecodeBodyOnAV2Request(t *testing.T) {
	req, err := DecodeRequest([]byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"BYTES","data":["x y"]}]}`), nil)
	require.NoError(t, err)
	var v map[string]any
	err = req.DecodeBody(&v)
	require.Error(t, err)
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
	assert.Equal(t, "DecodeBody reads v1 request bodies; this is a v2 request, whose typed inputs are in req.Inputs", err.Error())

	err = (&Request{Protocol: ProtocolGRPCV2}).DecodeBody(&v)
	assert.EqualError(t, err, "DecodeBody reads v1 request bodies; this is a grpc-v2 request, whose typed inputs are in req.Inputs")

	// The client, who reads the 400 too, hears where v1 requests go.
	err = (&Request{Protocol: ProtocolGRPCV2, ModelName: "m"}).DecodeBody(&v)
	assert.EqualError(t, err, "DecodeBody reads v1 request bodies; this is a grpc-v2 request, whose typed inputs are in req.Inputs: the model reads v1 requests (POST /v1/models/m:predict)")
	_, err = (&Request{Protocol: ProtocolV2, ModelName: "m"}).Instances()
	assert.EqualError(t, err, "Instances reads v1 request bodies; this is a v2 request, whose typed inputs are in req.Inputs: the model reads v1 requests (POST /v1/models/m:predict)")

	// A payload a preprocess step made is decoded whatever the protocol.
	require.NoError(t, (&Request{Protocol: ProtocolV2, Payload: map[string]any{"k": 1}}).DecodeBody(&v))
	assert.Equal(t, map[string]any{"k": float64(1)}, v)

	err = (&Request{Protocol: ProtocolV1, ContentType: "text/csv", Body: []byte("1,2")}).DecodeBody(&v)
	assert.EqualError(t, err, `request body has content type "text/csv", not JSON`)
}

// Instances on a v2 request says, as DecodeBody does, that it reads v1
// bodies; it used to answer `Expected "instances" or "inputs" in the
// request body`, which blames a client that sent a well-formed v2 request.
func TestInstancesOnAV2Request(t *testing.T) {
	req, err := DecodeRequest([]byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}`), nil)
	require.NoError(t, err)
	_, err = req.Instances()
	require.Error(t, err)
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
	assert.Equal(t, "Instances reads v1 request bodies; this is a v2 request, whose typed inputs are in req.Inputs", err.Error())

	// A payload a preprocess step made is read whatever the protocol.
	l, err := (&Request{Protocol: ProtocolGRPCV2, Payload: map[string]any{"instances": []any{1.0}}}).Instances()
	require.NoError(t, err)
	assert.Equal(t, []any{1.0}, l)
}

// A Payload a Preprocess set is what RawInstances and Instances read, as
// DecodeBody does, whatever its type. RawInstances used to return nil (or
// the original body's instances, once parsed) and Instances refused any
// Payload but a map[string]any.
func TestInstancesOfAPayload(t *testing.T) {
	req := &Request{Protocol: ProtocolV1, IsJSON: true, Body: []byte(`{"instances":[1,2]}`)}
	assert.Equal(t, `[1,2]`, string(req.RawInstances()))
	type body struct {
		Instances [][]float32 `json:"instances"`
	}
	req.Payload = body{Instances: [][]float32{{7, 8}}}
	assert.Equal(t, `[[7,8]]`, string(req.RawInstances()))
	l, err := req.Instances()
	require.NoError(t, err)
	assert.Equal(t, []any{[]any{json.Number("7"), json.Number("8")}}, l)

	req.Payload = map[string]any{"inputs": []any{"a"}}
	assert.Equal(t, `["a"]`, string(req.RawInstances()))
	l, err = req.Instances()
	require.NoError(t, err)
	assert.Equal(t, []any{"a"}, l)

	req.Payload = map[string]any{"other": 1}
	assert.Nil(t, req.RawInstances())
	_, err = req.Instances()
	assert.EqualError(t, err, `Expected "instances" or "inputs" in the request body`)
}

// Instances of a body that is not JSON says so, as DecodeBody does; it used
// to answer `Expected "instances" or "inputs" in the request body` to a
// client that sent a CSV file.
func TestInstancesOfANonJSONBody(t *testing.T) {
	_, err := (&Request{Protocol: ProtocolV1, ContentType: "text/csv", Body: []byte("1,2")}).Instances()
	assert.EqualError(t, err, `request body has content type "text/csv", not JSON`)
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
}

// PredictResponse names an unnamed result tensor output-0 in the response
// without changing the caller's tensor: a model may answer every request
// with one shared tensor. It used to rename the caller's, a data race
// between concurrent requests.
func TestPredictResponseLeavesTheResultTensorAlone(t *testing.T) {
	shared := NewTensor("", []int64{1}, []float32{1})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			resp, err := PredictResponse(&Request{Protocol: ProtocolV2, ID: "1"}, "m", shared)
			assert.NoError(t, err)
			assert.Equal(t, "output-0", resp.Outputs[0].Name)
		})
	}
	wg.Wait()
	assert.Equal(t, "", shared.Name)
}

// A body whose values do not fit the model's type is a 400 that says, in
// JSON's terms, which member holds what where what was expected, not
// encoding/json's "cannot unmarshal string into Go struct field
// Req.instances of type float64", which speaks of Go types the client
// never sees.
func TestDecodeBody_MismatchInJSONTerms(t *testing.T) {
	type req struct {
		Instances [][]float64 `json:"instances"`
		Meta      struct {
			N    int    `json:"n"`
			Size uint   `json:"size"`
			Tags []bool `json:"tags"`
		} `json:"meta"`
	}
	for body, want := range map[string]string{
		`{"instances":[[1,"x"]]}`:       `"instances" holds a string (ending at byte 20) where a number is expected`,
		`{"instances":{"a":1}}`:         `"instances" holds an object (ending at byte 14) where an array is expected`,
		`{"meta":{"n":1.5}}`:            `"meta.n" holds the number 1.5 (ending at byte 16) where a whole number is expected`,
		`{"meta":{"size":-1}}`:          `"meta.size" holds the number -1 (ending at byte 18) where a non-negative whole number is expected`,
		`{"meta":{"tags":[true,"no"]}}`: `"meta.tags" holds a string (ending at byte 26) where a boolean is expected`,
		`[1,2]`:                         `the body holds an array (ending at byte 1) where an object is expected`,
	} {
		r := &Request{Protocol: ProtocolV1, IsJSON: true, Body: []byte(body)}
		var v req
		err := r.DecodeBody(&v)
		require.Error(t, err, body)
		assert.Equal(t, "Unrecognized request format: "+want, err.Error(), body)
		assert.Equal(t, status.KindInvalidInput, status.KindOf(err), body)
	}
}
