package infer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Protocol is the data-plane protocol a request arrived on.
type Protocol int

const (
	// ProtocolV1 is KServe's v1 REST protocol (:predict, :explain).
	ProtocolV1 Protocol = iota
	// ProtocolV2 is the Open Inference Protocol over REST.
	ProtocolV2
	// ProtocolGRPCV2 is the Open Inference Protocol over gRPC.
	ProtocolGRPCV2
)

// String names the protocol as KServe's configuration does: "v1", "v2",
// "grpc-v2".
func (p Protocol) String() string {
	switch p {
	case ProtocolV1:
		return "v1"
	case ProtocolV2:
		return "v2"
	case ProtocolGRPCV2:
		return "grpc-v2"
	}
	return fmt.Sprintf("Protocol(%d)", int(p))
}

// Parameters are OIP parameters: values are bool, int64, float64 or string
// (uint64 for an integer above MaxInt64, over REST and gRPC alike).
type Parameters map[string]any

// Bool returns the boolean parameter key, and whether it was present as a bool.
func (p Parameters) Bool(key string) (v, ok bool) {
	v, ok = p[key].(bool)
	return v, ok
}

// Truthy reports whether parameter key is present and true as Python
// tests a value: true, a number other than zero, a string other than "".
// KServe tests binary_data_output and binary_data so ("if not
// binary_data"), and clients written against it send "true" as well as
// true; the string "false" is truthy too, as there.
func (p Parameters) Truthy(key string) bool {
	switch v := p[key].(type) {
	case bool:
		return v
	case int64:
		return v != 0
	case uint64:
		return v != 0
	case float64:
		return v != 0 // NaN is truthy in Python, and NaN != 0
	case string:
		return v != ""
	}
	return false
}

// String returns the string parameter key.
func (p Parameters) String(key string) (string, bool) {
	v, ok := p[key].(string)
	return v, ok
}

// Int64 returns the integer parameter key (a float without a fraction,
// 3.0, counts).
func (p Parameters) Int64(key string) (int64, bool) {
	switch v := p[key].(type) {
	case int64:
		return v, true
	case float64:
		if v == float64(int64(v)) {
			return int64(v), true
		}
	}
	return 0, false
}

// Float64 returns the numeric parameter key as a float64, whichever way
// the number came: JSON decodes "temperature": 1 as int64 and 0.7 as
// float64, gRPC sends int64_param or double_param, so a type assertion to
// float64 alone misses half of them.
func (p Parameters) Float64(key string) (float64, bool) {
	switch v := p[key].(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case uint64: // a gRPC uint64_param beyond int64
		return float64(v), true
	}
	return 0, false
}

// RequestedOutput is one entry of a v2 request's "outputs" list.
type RequestedOutput struct {
	// Name is the output the client wants; the server answers only the
	// listed outputs, in this order (SelectOutputs).
	Name string
	// Parameters are the output's own parameters: binary_data, and
	// classification (ClassificationParameter).
	Parameters Parameters
}

// BinaryData reports the output's binary_data parameter (binary extension)
// as KServe reads it: any truthy value (see Parameters.Truthy).
func (o RequestedOutput) BinaryData() bool {
	return o.Parameters.Truthy("binary_data")
}

// Request is one inference request as the model sees it, whatever transport
// it came from. v2 requests (REST or gRPC) carry typed Inputs; v1 requests
// carry their body (JSON or raw bytes) and never typed inputs.
type Request struct {
	// Protocol is the protocol the request arrived on; the answer goes out
	// in it, whatever a Preprocess turns the request into.
	Protocol Protocol
	// ID is the v2 request's "id" (gRPC's id), "" when the client sent
	// none; EnsureID sets one.
	ID string
	// ModelName is the model the request is for, from its URL or gRPC
	// model_name.
	ModelName string
	// ModelVersion is the model version the request named (gRPC's
	// model_version), "" when none.
	ModelVersion string
	// Parameters are the v2 request's "parameters" (see Parameters for
	// their Go types).
	Parameters Parameters
	// Inputs are a v2 request's tensors, in the order sent; Input and
	// InputAs find one by name. v1 requests have none. The model may change
	// their data in place (see Tensor for the exceptions).
	Inputs []*Tensor
	// Outputs is a v2 request's "outputs" list, nil when it has none (then
	// every output the model produces is answered).
	Outputs []RequestedOutput

	// Body is the v1 request body: JSON when IsJSON, otherwise the raw bytes
	// of a non-JSON content type, handed over untouched. For a request that
	// arrived as a CloudEvent it is the event's data.
	Body []byte
	// IsJSON reports whether Body is JSON, which DecodeBody and Instances
	// need.
	IsJSON bool
	// ContentType is the v1 request's Content-Type header, as sent.
	ContentType string
	// Payload is a v1 payload a preprocess step produced in place of Body:
	// any value encoding/json can marshal. When set it wins over Body.
	Payload any
	// CloudEvent is the envelope of a v1 request sent as a CloudEvent (the
	// binary mode's ce-* headers, or a JSON body with KServe's six structured
	// members), else nil. Body then holds the event's data.
	CloudEvent *CloudEvent

	instances  json.RawMessage // "instances" or "inputs" of a v1 JSON object body
	instKey    string
	bodyParsed bool
	parseErr   error

	inputs [1]*Tensor // backs Inputs for the common single-input request
}

// Input returns the input tensor called name, or nil.
func (r *Request) Input(name string) *Tensor {
	for _, t := range r.Inputs {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// EnsureID sets a uuid4 id when the request has none (KServe's to_rest).
func (r *Request) EnsureID() string {
	if r.ID == "" {
		r.ID = NewID()
	}
	return r.ID
}

// NewID returns a random (version 4) UUID string, as KServe's generate_uuid.
// The bits come from math/rand/v2's global source: the runtime's per-thread
// ChaCha8 generator, seeded from the OS, unpredictable and lock-free. An id
// only correlates log lines and responses, so it does not need crypto/rand,
// whose DRBG cost a fifth of a microsecond per request here.
func NewID() string {
	var id uuid.UUID
	binary.LittleEndian.PutUint64(id[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(id[8:], rand.Uint64())
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id.String()
}

// UseBinaryOutputs reports the request-level binary_data_output parameter
// as KServe reads it: any truthy value (see Parameters.Truthy).
func (r *Request) UseBinaryOutputs() bool {
	return r.Parameters.Truthy("binary_data_output")
}

// ParseV1 checks a v1 JSON body: malformed JSON (as orjson reads it: a
// number beyond float64, invalid UTF-8 or a lone surrogate escape is
// malformed too) is the 400 "Unrecognized request format: ..." error; an "instances" (or, for v1 dicts, "inputs")
// member that is not a list is the 400 KServe's validate() gives.
func (r *Request) ParseV1() error {
	if !r.IsJSON || r.Payload != nil {
		return nil
	}
	if !r.bodyParsed {
		r.bodyParsed = true
		r.parseErr = r.parseV1()
	}
	return r.parseErr
}

func (r *Request) parseV1() error {
	// KServe reads v1 bodies with orjson, which refuses numbers beyond
	// float64, invalid UTF-8 and lone surrogates; a binary-mode
	// CloudEvent's data too (decode_cloudevent), which is JSON only when
	// orjson reads it.
	s := &scanner{b: r.Body, checkUTF8: true, strict: true, depthLimit: orjsonMaxDepth}
	if s.peek() != '{' {
		if _, err := s.skip(); err != nil {
			return unrecognized(err)
		}
		if !s.end() {
			return unrecognized(s.fail("extra data after JSON value"))
		}
		return nil
	}
	var instances, inputs []byte
	ce := 0 // structured CloudEvent members seen
	err := s.members(func(k, v []byte) {
		switch string(k) {
		case "instances":
			instances = v
		case "inputs":
			inputs = v
		default:
			ce |= structuredBit(k)
		}
	})
	if err != nil {
		return unrecognized(err)
	}
	if !s.end() {
		return unrecognized(s.fail("extra data after JSON value"))
	}
	if ce == allStructuredKeys && r.CloudEvent == nil {
		// A structured CloudEvent: the model gets its data (KServe's
		// decode_cloudevent), checked as a body of its own.
		if err := r.unwrapStructured(); err != nil {
			return err
		}
		return r.parseV1()
	}
	switch {
	case instances != nil:
		r.instances, r.instKey = instances, "instances"
	case inputs != nil:
		r.instances, r.instKey = inputs, "inputs"
	}
	if r.instances != nil && (len(r.instances) == 0 || r.instances[0] != '[') {
		return status.InvalidInputf("Expected %q to be a list", r.instKey)
	}
	return nil
}

func unrecognized(err error) error {
	return &status.Error{Kind: status.KindInvalidInput, Message: "Unrecognized request format: " + err.Error(), Err: err}
}

// RawInstances returns the JSON text of the body's "instances" list (or
// "inputs"), or nil when the body has neither (and for a v2 request, which
// has no body). It avoids decoding the values for models that only pass
// them on. When a Preprocess set Payload, the list is the Payload's, as
// for Instances and DecodeBody.
func (r *Request) RawInstances() json.RawMessage {
	if r.Payload != nil {
		return payloadInstances(r.Payload)
	}
	_ = r.ParseV1()
	return r.instances
}

// payloadInstances is the JSON text of a Payload's "instances" (or
// "inputs") list: the Payload marshalled as DecodeBody marshals it, then
// read as a body.
func payloadInstances(p any) json.RawMessage {
	b, err := json.Marshal(p)
	if err != nil {
		return nil
	}
	body := Request{Protocol: ProtocolV1, IsJSON: true, Body: b}
	if body.ParseV1() != nil {
		return nil
	}
	return body.instances
}

// Instances decodes the body's "instances" (or "inputs") list, or the
// preprocessed Payload's. Numbers are json.Number so no precision is lost.
// A v2 request has no body: its typed inputs are in Inputs.
func (r *Request) Instances() ([]any, error) {
	if r.Payload == nil && r.Protocol != ProtocolV1 {
		return nil, notV1("Instances", r)
	}
	if r.Payload == nil && !r.IsJSON {
		return nil, status.InvalidInputf("request body has content type %q, not JSON", r.ContentType)
	}
	if err := r.ParseV1(); err != nil {
		return nil, err
	}
	if p, ok := r.Payload.(map[string]any); ok {
		for _, k := range []string{"instances", "inputs"} {
			if l, ok := p[k].([]any); ok {
				return l, nil
			}
		}
	}
	raw := r.RawInstances() // a Payload of another type: as marshalled
	if raw == nil {
		return nil, status.InvalidInput(`Expected "instances" or "inputs" in the request body`)
	}
	var out []any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		return nil, unrecognized(err)
	}
	return out, nil
}

// notV1 is the 400 of a v1 reader (Instances, DecodeBody) called on a v2
// request. It speaks to both readers of the message: the model's author,
// who may have meant req.Inputs, and the client, who sent a v2 request to a
// model that reads v1 ones and is told where those go.
func notV1(reader string, r *Request) error {
	msg := fmt.Sprintf("%s reads v1 request bodies; this is a %s request, whose typed inputs are in req.Inputs", reader, r.Protocol)
	if r.ModelName != "" {
		msg += fmt.Sprintf(": the model reads v1 requests (POST /v1/models/%s:predict)", r.ModelName)
	}
	return status.InvalidInput(msg)
}

// DecodeBody unmarshals the v1 JSON body (or the preprocessed Payload) into v.
// A v2 request has no body to decode: its typed inputs are in Inputs.
// A body that is not JSON, or does not fit v, is already the 400 its client
// should get (KServe's "Unrecognized request format: …"): return it as it
// is. A Payload that does not fit v is the model's own mistake, a 500.
func (r *Request) DecodeBody(v any) error {
	if r.Payload == nil && r.Protocol != ProtocolV1 {
		return notV1("DecodeBody", r)
	}
	if r.Payload != nil {
		b, err := json.Marshal(r.Payload)
		if err != nil {
			return fmt.Errorf("encode payload: %w", err)
		}
		return json.Unmarshal(b, v)
	}
	if !r.IsJSON {
		return status.InvalidInputf("request body has content type %q, not JSON", r.ContentType)
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return &status.Error{Kind: status.KindInvalidInput, Message: "Unrecognized request format: " + mismatch(ute), Err: err}
		}
		return unrecognized(err)
	}
	return nil
}

// mismatch says in JSON's terms, for the client, where a body holds a
// value of the wrong kind for the model's type: encoding/json's own words
// ("cannot unmarshal string into Go struct field Req.instances of type
// float64") speak of Go types the client never sees.
func mismatch(e *json.UnmarshalTypeError) string {
	where := "the body"
	if e.Field != "" {
		where = strconv.Quote(e.Field)
	}
	value := e.Value
	switch {
	case strings.HasPrefix(value, "number "):
		value = "the " + value
	case value == "bool":
		value = "a boolean"
	case value == "array", value == "object":
		value = "an " + value
	default:
		value = "a " + value
	}
	return fmt.Sprintf("%s holds %s (ending at byte %d) where %s is expected", where, value, e.Offset, jsonKind(e.Type))
}

// jsonKind names the JSON value a Go type takes.
func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a non-negative whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a value of another kind"
}

// Response is one inference response. v2 responses carry typed Outputs; v1
// responses carry Body (any JSON-marshalable value; json.RawMessage is
// written as given, compacted), Raw bytes with ContentType, or a Stream.
//
// The protocol the request arrived on decides, not what a Preprocess made
// of it: a v1 request answered with Outputs only gets {"predictions": the
// first output's rows}, and a v2 request answered with a Body or Raw (no
// Outputs) is a 500 naming the model. A nil tensor in Outputs is a 500 too.
type Response struct {
	// ID is the v2 response's "id"; the server sets the request's (or a
	// new uuid4) when it is "".
	ID string
	// ModelName is the v2 response's "model_name"; the server sets the
	// model's name when it is "".
	ModelName string
	// ModelVersion is the v2 response's "model_version" ("" is null).
	ModelVersion string
	// Parameters are the v2 response's "parameters" (nil is null).
	Parameters Parameters
	// Outputs are a v2 response's tensors (for a v1 request, the first
	// one's rows are the predictions).
	Outputs []*Tensor

	// Body is a v1 response's JSON body: any value encoding/json can
	// marshal (Predictions for {"predictions": ...}). It is written as
	// AppendJSON writes it, floats as KServe's orjson writes a Python
	// float (6.0, not 6, which a Python client would read as an int),
	// structs and other types by encoding/json's rules (field tags,
	// MarshalJSON). Map keys come out sorted, where a Python dict keeps
	// its insertion order.
	Body any
	// Raw is a v1 response's body sent as it is, with ContentType.
	Raw []byte
	// ContentType is the Content-Type of Raw or Stream.
	ContentType string

	// Stream, when set, is a v1 response sent while it is produced, as
	// KServe streams a model's async iterator: status 200 and the headers
	// go out first, then each chunk, flushed (chunked transfer encoding),
	// with ContentType when set (e.g. "text/event-stream") and none
	// otherwise, as KServe. The server stops pulling chunks when the client
	// goes away (the request's context ends too). An error after the first
	// chunk can no longer change the status: it is logged and the
	// connection is cut, so the client sees a truncated response rather
	// than a complete one. The iteration runs on the connection's
	// goroutine, outside the --max_asyncio_workers bound of Predict.
	Stream iter.Seq2[[]byte, error]
}

// Output returns the output tensor called name, or nil.
func (r *Response) Output(name string) *Tensor {
	for _, t := range r.Outputs {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// PredictResponse is KServe's get_predict_response. For a v1 request it
// returns {"predictions": result}, a *Tensor written as its rows (nested
// lists, as numpy's tolist), other values as JSON: the Response's Body is
// Predictions{Predictions: result}, where a Postprocess finds result as it
// was given (resp.Body.(infer.Predictions)). For a v2 request result
// must be a *Tensor (output-0 when unnamed, without changing the caller's
// tensor), a slice of an Element type ([]float32, []int64, [][]byte, …) or
// a []string (BYTES), which becomes output "output-0" with shape [len] (use
// a *Tensor to set another shape); other types ([]int, [][]float32, []any)
// are an error. The response id is the request id (a new uuid4 when
// absent).
func PredictResponse(req *Request, modelName string, result any) (*Response, error) {
	if req.Protocol == ProtocolV1 {
		return &Response{ModelName: modelName, Body: Predictions{Predictions: result}}, nil
	}
	var t *Tensor
	switch v := result.(type) {
	case *Tensor:
		if v == nil {
			return nil, errors.New("PredictResponse: nil *Tensor result")
		}
		t = v
	case []string:
		t = NewStrings("", []int64{int64(len(v))}, v)
	default:
		n := dataLen(result)
		if n < 0 {
			return nil, fmt.Errorf("PredictResponse: unsupported result type %T: a v2 result is a *Tensor, a slice of an infer.Element type or a []string", result)
		}
		t = &Tensor{Datatype: datatypeOfData(result), Shape: []int64{int64(n)}, Data: result}
	}
	if t.Name == "" {
		// A copy: the model may answer every request with one tensor.
		named := *t
		named.Name = "output-0"
		t = &named
	}
	// One allocation for the response and its one-element output list.
	rb := &struct {
		r   Response
		out [1]*Tensor
	}{}
	rb.out[0] = t
	// No model_version: as KServe's get_predict_response, which does not
	// serve versions, a request's model_version is not echoed back as if
	// that version had answered.
	rb.r = Response{ID: req.EnsureID(), ModelName: modelName, Outputs: rb.out[:]}
	return &rb.r, nil
}

// Predictions is the conventional v1 response body {"predictions": ...}.
type Predictions struct {
	// Predictions is one entry per instance of the request.
	Predictions any `json:"predictions"`
}

func datatypeOfData(data any) Datatype {
	for _, d := range Datatypes {
		if matchesType(d, data) {
			return d
		}
	}
	return ""
}
