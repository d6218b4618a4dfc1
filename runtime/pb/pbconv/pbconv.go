// Package pbconv converts between the Open Inference Protocol protobuf
// messages (package pb) and the runtime's transport-independent types
// (package infer). The gRPC server, the gRPC client and transformer
// forwarding all use it, so a tensor crosses the wire the same way in both
// directions. Typed contents are handed over without copying where the Go
// types match (FP32 ↔ fp32_contents, …); raw contents are reinterpreted in
// place where alignment allows.
package pbconv

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Request converts a ModelInferRequest into an infer.Request (protocol
// grpc-v2), with KServe's validation of raw_input_contents.
func Request(m *pb.ModelInferRequest) (*infer.Request, error) {
	raw := m.GetRawInputContents()
	if len(raw) != 0 && len(raw) != len(m.GetInputs()) {
		return nil, status.InvalidInputf("the number of inputs (%d) does not match the expected number of raw input contents (%d) for model '%s'.",
			len(m.GetInputs()), len(raw), m.GetModelName())
	}
	if len(raw) != 0 {
		for _, in := range m.GetInputs() {
			if in.GetContents() != nil {
				return nil, status.InvalidInputf("contents field must not be specified when using raw_input_contents for input '%s' for model '%s'",
					in.GetName(), m.GetModelName())
			}
		}
	}
	params, err := Parameters(m.GetParameters())
	if err != nil {
		return nil, err
	}
	req := &infer.Request{
		Protocol:     infer.ProtocolGRPCV2,
		ID:           m.GetId(),
		ModelName:    m.GetModelName(),
		ModelVersion: m.GetModelVersion(),
		Parameters:   params,
		Inputs:       make([]*infer.Tensor, len(m.GetInputs())),
	}
	for i, in := range m.GetInputs() {
		var r []byte
		if len(raw) != 0 {
			r = raw[i]
		}
		t, err := tensor("input", in.GetName(), in.GetDatatype(), in.GetShape(), in.GetParameters(), in.GetContents(), r, len(raw) != 0)
		if err != nil {
			return nil, err
		}
		req.Inputs[i] = t
	}
	if outs := m.GetOutputs(); len(outs) != 0 {
		req.Outputs = make([]infer.RequestedOutput, len(outs))
		for i, o := range outs {
			p, err := Parameters(o.GetParameters())
			if err != nil {
				return nil, err
			}
			req.Outputs[i] = infer.RequestedOutput{Name: o.GetName(), Parameters: p}
		}
	}
	return req, nil
}

// Response converts a ModelInferResponse into an infer.Response.
func Response(m *pb.ModelInferResponse) (*infer.Response, error) {
	raw := m.GetRawOutputContents()
	if len(raw) != 0 && len(raw) != len(m.GetOutputs()) {
		return nil, status.InvalidInputf("the number of outputs (%d) does not match the number of raw output contents (%d) from model '%s'",
			len(m.GetOutputs()), len(raw), m.GetModelName())
	}
	params, err := Parameters(m.GetParameters())
	if err != nil {
		return nil, err
	}
	resp := &infer.Response{
		ID:           m.GetId(),
		ModelName:    m.GetModelName(),
		ModelVersion: m.GetModelVersion(),
		Parameters:   params,
		Outputs:      make([]*infer.Tensor, len(m.GetOutputs())),
	}
	for i, o := range m.GetOutputs() {
		var r []byte
		if len(raw) != 0 {
			r = raw[i]
		}
		t, err := tensor("output", o.GetName(), o.GetDatatype(), o.GetShape(), o.GetParameters(), o.GetContents(), r, len(raw) != 0)
		if err != nil {
			return nil, err
		}
		if len(raw) != 0 && t.Parameters != nil {
			// The size of the raw chunk (KServe's servers, and ours, send
			// it): a fact of the encoding, not of the tensor, dropped as the
			// REST decoders drop it.
			delete(t.Parameters, "binary_data_size")
			if len(t.Parameters) == 0 {
				t.Parameters = nil
			}
		}
		resp.Outputs[i] = t
	}
	return resp, nil
}

// FromRequest converts an infer.Request into a ModelInferRequest. With raw,
// every input travels in raw_input_contents; without it, inputs use typed
// contents, except that an FP16 input (which has no typed field) makes the
// whole request raw.
func FromRequest(r *infer.Request, raw bool) (*pb.ModelInferRequest, error) {
	params, err := FromParameters(r.Parameters)
	if err != nil {
		return nil, err
	}
	m := &pb.ModelInferRequest{
		ModelName:    UTF8(r.ModelName),
		ModelVersion: UTF8(r.ModelVersion),
		Id:           UTF8(r.ID),
		Parameters:   params,
		Inputs:       make([]*pb.ModelInferRequest_InferInputTensor, len(r.Inputs)),
	}
	raw = raw || hasFP16(r.Inputs)
	if raw {
		m.RawInputContents = make([][]byte, len(r.Inputs))
	}
	for i, t := range r.Inputs {
		if err := t.Validate("input"); err != nil {
			return nil, err
		}
		p, err := FromParameters(t.Parameters)
		if err != nil {
			return nil, err
		}
		in := &pb.ModelInferRequest_InferInputTensor{Name: UTF8(t.Name), Datatype: UTF8(string(t.Datatype)), Shape: t.Shape, Parameters: p}
		if raw {
			if m.RawInputContents[i], err = infer.EncodeRaw(t); err != nil {
				return nil, err
			}
		} else if in.Contents, err = Contents(t); err != nil {
			return nil, err
		}
		m.Inputs[i] = in
	}
	for _, o := range r.Outputs {
		p, err := FromParameters(o.Parameters)
		if err != nil {
			return nil, err
		}
		m.Outputs = append(m.Outputs, &pb.ModelInferRequest_InferRequestedOutputTensor{Name: UTF8(o.Name), Parameters: p})
	}
	return m, nil
}

// FromResponse converts an infer.Response into a ModelInferResponse the way
// KServe's to_grpc does: with raw (the request used raw_input_contents)
// every output goes to raw_output_contents, with its size in the output's
// binary_data_size parameter; otherwise outputs use typed contents unless
// one is FP16, which makes the whole response raw. A model
// output that does not match its datatype or shape is an internal error
// naming the output. Strings that are not UTF-8 (a name, a string
// parameter) have each invalid byte replaced by U+FFFD (UTF8), as REST's
// JSON writes them: protobuf refuses them, and grpc-go would fail the call
// after the handler returned, naming no model.
func FromResponse(r *infer.Response, raw bool) (*pb.ModelInferResponse, error) {
	params, err := FromParameters(r.Parameters)
	if err != nil {
		return nil, internal(r.ModelName, err)
	}
	m := &pb.ModelInferResponse{
		ModelName:    UTF8(r.ModelName),
		ModelVersion: UTF8(r.ModelVersion),
		Id:           UTF8(r.ID),
		Parameters:   params,
		Outputs:      make([]*pb.ModelInferResponse_InferOutputTensor, len(r.Outputs)),
	}
	raw = raw || hasFP16(r.Outputs)
	if raw {
		m.RawOutputContents = make([][]byte, len(r.Outputs))
	}
	for i, t := range r.Outputs {
		if err := t.Validate("output"); err != nil {
			return nil, internal(r.ModelName, err)
		}
		p, err := FromParameters(t.Parameters)
		if err != nil {
			return nil, internal(r.ModelName, err)
		}
		out := &pb.ModelInferResponse_InferOutputTensor{Name: UTF8(t.Name), Datatype: UTF8(string(t.Datatype)), Shape: t.Shape, Parameters: p}
		if raw {
			if m.RawOutputContents[i], err = infer.EncodeRaw(t); err != nil {
				return nil, internal(r.ModelName, err)
			}
			// KServe's to_grpc encodes a raw output with
			// set_data_from_numpy(binary_data=True), which sets the output's
			// binary_data_size parameter: its clients see it on every raw
			// output, as on REST's binary outputs.
			if out.Parameters == nil {
				out.Parameters = make(map[string]*pb.InferParameter, 1)
			}
			out.Parameters["binary_data_size"] = &pb.InferParameter{ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: int64(len(m.RawOutputContents[i]))}}
		} else if out.Contents, err = Contents(t); err != nil {
			return nil, internal(r.ModelName, err)
		}
		m.Outputs[i] = out
	}
	return m, nil
}

func internal(model string, err error) error {
	return &status.Error{Kind: status.KindInternal, Message: fmt.Sprintf("model %s returned an invalid response: %s", model, status.Message(err)), Err: err}
}

func hasFP16(ts []*infer.Tensor) bool {
	for _, t := range ts {
		if t.Datatype == infer.FP16 {
			return true
		}
	}
	return false
}

// tensor decodes one input or output from its typed contents or raw bytes.
func tensor(kind, name, datatype string, shape []int64, params map[string]*pb.InferParameter, c *pb.InferTensorContents, raw []byte, hasRaw bool) (*infer.Tensor, error) {
	// Upper-cased, as REST (and KServe's InferInput) takes "fp32" for FP32.
	d, err := infer.ParseDatatype(datatype)
	if err != nil {
		// The messages of these checks are REST's (infer's JSON decoder), so
		// that a client gets the same error on either transport.
		return nil, status.InvalidInputf("invalid datatype %s for %s %s", strings.ToUpper(datatype), kind, name)
	}
	if infer.ShapeSize(shape) < 0 {
		return nil, infer.InvalidShape(kind, name, shape)
	}
	p, err := Parameters(params)
	if err != nil {
		return nil, err
	}
	t := &infer.Tensor{Name: name, Datatype: d, Shape: shape, Parameters: p}
	if hasRaw {
		t.Data, err = infer.DecodeRaw(kind, name, d, shape, raw)
	} else {
		t.Data, err = fromContents(kind, name, d, c)
	}
	if err != nil {
		return nil, err
	}
	if err := t.Validate(kind); err != nil {
		return nil, err
	}
	return t, nil
}

// fromContents takes the typed contents field that matches d. Fields whose
// Go type matches the datatype are used as they are; INT8/16 and UINT8/16
// are narrowed with a range check.
func fromContents(kind, name string, d infer.Datatype, c *pb.InferTensorContents) (any, error) {
	var data any
	switch d {
	case infer.BOOL:
		data = nonNil(c.GetBoolContents())
	case infer.INT8:
		return narrow[int8](kind, name, d, c.GetIntContents(), math.MinInt8, math.MaxInt8)
	case infer.INT16:
		return narrow[int16](kind, name, d, c.GetIntContents(), math.MinInt16, math.MaxInt16)
	case infer.INT32:
		data = nonNil(c.GetIntContents())
	case infer.INT64:
		data = nonNil(c.GetInt64Contents())
	case infer.UINT8:
		return narrow[uint8](kind, name, d, c.GetUintContents(), 0, math.MaxUint8)
	case infer.UINT16:
		return narrow[uint16](kind, name, d, c.GetUintContents(), 0, math.MaxUint16)
	case infer.UINT32:
		data = nonNil(c.GetUintContents())
	case infer.UINT64:
		data = nonNil(c.GetUint64Contents())
	case infer.FP32:
		data = nonNil(c.GetFp32Contents())
	case infer.FP64:
		data = nonNil(c.GetFp64Contents())
	case infer.BYTES:
		data = nonNil(c.GetBytesContents())
	case infer.FP16:
		return nil, status.InvalidInputf("%s '%s' has datatype FP16, which has no typed contents field: send FP16 data in raw contents", kind, name)
	}
	if lenOf(data) == 0 {
		if f := filledField(c); f != "" && f != contentsField(d) {
			return nil, status.InvalidInputf("%s '%s' has datatype %s, so its data belongs in %s, not %s", kind, name, d, contentsField(d), f)
		}
	}
	return data, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func lenOf(data any) int {
	return (&infer.Tensor{Data: data}).Len()
}

func narrow[T int8 | int16 | uint8 | uint16, W int32 | uint32](kind, name string, d infer.Datatype, in []W, lo, hi int64) (any, error) {
	out := make([]T, len(in))
	for i, v := range in {
		if int64(v) < lo || int64(v) > hi {
			// REST's message for the same value in a JSON "data" list.
			want := "an unsigned integer in range"
			if lo < 0 {
				want = fmt.Sprintf("an integer in range for %d bits", d.Size()*8)
			}
			return nil, status.InvalidInputf("%s %s: data element %d is %d, not %s as datatype %s needs", kind, name, i, v, want, d)
		}
		out[i] = T(v)
	}
	return out, nil
}

// contentsField names the InferTensorContents field that carries d.
func contentsField(d infer.Datatype) string {
	switch d {
	case infer.BOOL:
		return "bool_contents"
	case infer.INT8, infer.INT16, infer.INT32:
		return "int_contents"
	case infer.INT64:
		return "int64_contents"
	case infer.UINT8, infer.UINT16, infer.UINT32:
		return "uint_contents"
	case infer.UINT64:
		return "uint64_contents"
	case infer.FP32:
		return "fp32_contents"
	case infer.FP64:
		return "fp64_contents"
	case infer.BYTES:
		return "bytes_contents"
	}
	return "raw contents"
}

func filledField(c *pb.InferTensorContents) string {
	switch {
	case len(c.GetBoolContents()) > 0:
		return "bool_contents"
	case len(c.GetIntContents()) > 0:
		return "int_contents"
	case len(c.GetInt64Contents()) > 0:
		return "int64_contents"
	case len(c.GetUintContents()) > 0:
		return "uint_contents"
	case len(c.GetUint64Contents()) > 0:
		return "uint64_contents"
	case len(c.GetFp32Contents()) > 0:
		return "fp32_contents"
	case len(c.GetFp64Contents()) > 0:
		return "fp64_contents"
	case len(c.GetBytesContents()) > 0:
		return "bytes_contents"
	}
	return ""
}

// Contents returns t's data as typed contents. Slices whose Go type matches
// a contents field are shared, not copied. FP16 has no typed field.
func Contents(t *infer.Tensor) (*pb.InferTensorContents, error) {
	switch d := t.Data.(type) {
	case []bool:
		return &pb.InferTensorContents{BoolContents: d}, nil
	case []int8:
		return &pb.InferTensorContents{IntContents: widen[int32](d)}, nil
	case []int16:
		return &pb.InferTensorContents{IntContents: widen[int32](d)}, nil
	case []int32:
		return &pb.InferTensorContents{IntContents: d}, nil
	case []int64:
		return &pb.InferTensorContents{Int64Contents: d}, nil
	case []uint8:
		return &pb.InferTensorContents{UintContents: widen[uint32](d)}, nil
	case []uint16:
		return &pb.InferTensorContents{UintContents: widen[uint32](d)}, nil
	case []uint32:
		return &pb.InferTensorContents{UintContents: d}, nil
	case []uint64:
		return &pb.InferTensorContents{Uint64Contents: d}, nil
	case []float32:
		return &pb.InferTensorContents{Fp32Contents: d}, nil
	case []float64:
		return &pb.InferTensorContents{Fp64Contents: d}, nil
	case [][]byte:
		return &pb.InferTensorContents{BytesContents: d}, nil
	case []infer.Float16:
		return nil, fmt.Errorf("tensor %q: FP16 has no typed contents field; it must travel in raw contents", t.Name)
	}
	return nil, fmt.Errorf("tensor %q: unsupported data type %T", t.Name, t.Data)
}

func widen[W int32 | uint32, T int8 | int16 | uint8 | uint16](in []T) []W {
	out := make([]W, len(in))
	for i, v := range in {
		out[i] = W(v)
	}
	return out
}

// Parameters converts protobuf parameters to infer.Parameters: bool, int64,
// string and double keep their type; a uint64 becomes int64 when it fits,
// else stays uint64 (a float64 would round it). A parameter with no value set is an error naming it.
func Parameters(m map[string]*pb.InferParameter) (infer.Parameters, error) {
	if len(m) == 0 {
		return nil, nil
	}
	p := make(infer.Parameters, len(m))
	for k, v := range m {
		switch c := v.GetParameterChoice().(type) {
		case *pb.InferParameter_BoolParam:
			p[k] = c.BoolParam
		case *pb.InferParameter_Int64Param:
			p[k] = c.Int64Param
		case *pb.InferParameter_StringParam:
			p[k] = c.StringParam
		case *pb.InferParameter_DoubleParam:
			p[k] = c.DoubleParam
		case *pb.InferParameter_Uint64Param:
			if c.Uint64Param <= math.MaxInt64 {
				p[k] = int64(c.Uint64Param)
			} else {
				p[k] = c.Uint64Param
			}
		default:
			return nil, status.InvalidInputf("parameter '%s' has no value", k)
		}
	}
	return p, nil
}

// FromParameters converts infer.Parameters to protobuf parameters. Unlike
// KServe (which rejects floats), float values use Triton's double_param.
func FromParameters(p infer.Parameters) (map[string]*pb.InferParameter, error) {
	if len(p) == 0 {
		return nil, nil
	}
	m := make(map[string]*pb.InferParameter, len(p))
	for k, v := range p {
		var ip pb.InferParameter
		switch x := v.(type) {
		case bool:
			ip.ParameterChoice = &pb.InferParameter_BoolParam{BoolParam: x}
		case string:
			ip.ParameterChoice = &pb.InferParameter_StringParam{StringParam: UTF8(x)}
		case int64:
			ip.ParameterChoice = &pb.InferParameter_Int64Param{Int64Param: x}
		case int:
			ip.ParameterChoice = &pb.InferParameter_Int64Param{Int64Param: int64(x)}
		// Every Go integer type, as REST writes any of them as a JSON number.
		case int32:
			ip.ParameterChoice = &pb.InferParameter_Int64Param{Int64Param: int64(x)}
		case int16:
			ip.ParameterChoice = &pb.InferParameter_Int64Param{Int64Param: int64(x)}
		case int8:
			ip.ParameterChoice = &pb.InferParameter_Int64Param{Int64Param: int64(x)}
		case uint32:
			ip.ParameterChoice = &pb.InferParameter_Int64Param{Int64Param: int64(x)}
		case uint16:
			ip.ParameterChoice = &pb.InferParameter_Int64Param{Int64Param: int64(x)}
		case uint8:
			ip.ParameterChoice = &pb.InferParameter_Int64Param{Int64Param: int64(x)}
		case uint:
			ip.ParameterChoice = &pb.InferParameter_Uint64Param{Uint64Param: uint64(x)}
		case uint64:
			ip.ParameterChoice = &pb.InferParameter_Uint64Param{Uint64Param: x}
		case float64:
			ip.ParameterChoice = &pb.InferParameter_DoubleParam{DoubleParam: x}
		case float32:
			ip.ParameterChoice = &pb.InferParameter_DoubleParam{DoubleParam: float64(x)}
		case json.Number:
			if i, err := x.Int64(); err == nil {
				ip.ParameterChoice = &pb.InferParameter_Int64Param{Int64Param: i}
			} else if f, err := x.Float64(); err == nil {
				ip.ParameterChoice = &pb.InferParameter_DoubleParam{DoubleParam: f}
			} else {
				return nil, status.InvalidInputf("parameter '%s': invalid number %q", k, x)
			}
		default:
			return nil, status.InvalidInputf("parameter '%s' has type %T; gRPC parameters are bool, int64, uint64, double or string", k, v)
		}
		m[UTF8(k)] = &ip
	}
	return m, nil
}

// UTF8 returns s with each byte that is not part of valid UTF-8 replaced by
// U+FFFD, as REST's JSON encoder writes it (one per byte, as encoding/json,
// not one per run as strings.ToValidUTF8). A protobuf string must be UTF-8:
// grpc-go refuses to marshal a message holding another. A valid s, nearly
// every one, is returned as it is, without allocating.
func UTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}
