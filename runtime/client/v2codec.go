package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// v2 JSON shapes as a client writes and reads them.
type (
	v2Tensor struct {
		Name       string         `json:"name"`
		Shape      []int64        `json:"shape"`
		Datatype   infer.Datatype `json:"datatype"`
		Parameters pyParams       `json:"parameters,omitempty"`
		Data       any            `json:"data,omitzero"`
	}
	v2Output struct {
		Name       string   `json:"name"`
		Parameters pyParams `json:"parameters,omitempty"`
	}
	v2Request struct {
		ID         string     `json:"id,omitempty"`
		Parameters pyParams   `json:"parameters,omitempty"`
		Inputs     []v2Tensor `json:"inputs"`
		Outputs    []v2Output `json:"outputs,omitempty"`
	}
	v2ResponseTensor struct {
		Name       string          `json:"name"`
		Shape      []int64         `json:"shape"`
		Datatype   infer.Datatype  `json:"datatype"`
		Parameters map[string]any  `json:"parameters"`
		Data       json.RawMessage `json:"data"`
	}
	v2Response struct {
		ModelName    string             `json:"model_name"`
		ModelVersion *string            `json:"model_version"`
		ID           string             `json:"id"`
		Parameters   map[string]any     `json:"parameters"`
		Outputs      []v2ResponseTensor `json:"outputs"`
	}
)

// pyParams are parameters as KServe's server writes them (infer.AppendJSON):
// a float keeps its fraction, 1.0, where encoding/json writes 1, which the
// receiving server reads as the integer 1 — a model behind a REST client
// (a transformer's predictor) would get an int64 for a float parameter
// that gRPC's double_param delivers as float64.
type pyParams infer.Parameters

// MarshalJSON writes p with its keys sorted, floats with a fraction.
func (p pyParams) MarshalJSON() ([]byte, error) {
	return infer.AppendJSON(nil, map[string]any(p))
}

// EncodeV2Request writes req as a v2 InferenceRequest. With binary, every
// input goes in the binary tensor extension (the JSON part declares
// binary_data_size, the raw chunks follow in input order) and outputs are
// requested binary; otherwise inputs are JSON lists, except FP16, which can
// only travel binary. raws is empty when nothing is binary.
func EncodeV2Request(req *infer.Request, binary bool) (head []byte, raws [][]byte, err error) {
	r := v2Request{ID: req.ID, Parameters: pyParams(req.Parameters), Inputs: make([]v2Tensor, len(req.Inputs))}
	for i, t := range req.Inputs {
		if err := t.Validate("input"); err != nil {
			return nil, nil, err
		}
		in := v2Tensor{Name: t.Name, Shape: t.Shape, Datatype: t.Datatype, Parameters: pyParams(t.Parameters)}
		if binary || t.Datatype == infer.FP16 {
			raw, err := infer.EncodeRaw(t)
			if err != nil {
				return nil, nil, err
			}
			in.Parameters = pyParams(with(t.Parameters, "binary_data_size", int64(len(raw))))
			raws = append(raws, raw)
		} else if in.Data, err = jsonData(t); err != nil {
			return nil, nil, err
		}
		r.Inputs[i] = in
	}
	for _, o := range req.Outputs {
		p := o.Parameters
		if _, set := p["binary_data"]; binary && !set {
			p = with(p, "binary_data", true)
		}
		r.Outputs = append(r.Outputs, v2Output{Name: o.Name, Parameters: pyParams(p)})
	}
	if binary && len(req.Outputs) == 0 {
		if _, set := req.Parameters["binary_data_output"]; !set {
			r.Parameters = pyParams(with(req.Parameters, "binary_data_output", true))
		}
	}
	head, err = r.marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("encode v2 request: %w", err)
	}
	return head, raws, nil
}

// marshal is json.Marshal(r), except that float data holding NaN or ±Inf
// is written as pyFloats says, which json.Marshal refuses to write (it
// checks what a MarshalJSON returns).
func (r *v2Request) marshal() ([]byte, error) {
	if !slices.ContainsFunc(r.Inputs, func(in v2Tensor) bool { _, ok := in.Data.(pyTexter); return ok }) {
		return json.Marshal(r)
	}
	// The same fields in the same order as the struct's tags say.
	b := []byte{'{'}
	if r.ID != "" {
		id, err := json.Marshal(r.ID)
		if err != nil {
			return nil, err
		}
		b = append(append(b, `"id":`...), id...)
		b = append(b, ',')
	}
	if len(r.Parameters) > 0 {
		p, err := r.Parameters.MarshalJSON()
		if err != nil {
			return nil, err
		}
		b = append(append(b, `"parameters":`...), p...)
		b = append(b, ',')
	}
	b = append(b, `"inputs":[`...)
	for i, in := range r.Inputs {
		if i > 0 {
			b = append(b, ',')
		}
		var data []byte
		if m, ok := in.Data.(pyTexter); ok {
			data, in.Data = m.pyText(), nil // nil: "data" left out (omitzero), added below
		}
		t, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		if data != nil {
			t = append(append(t[:len(t)-1], `,"data":`...), data...) // "data" is the last field
			t = append(t, '}')
		}
		b = append(b, t...)
	}
	b = append(b, ']')
	if len(r.Outputs) > 0 {
		o, err := json.Marshal(r.Outputs)
		if err != nil {
			return nil, err
		}
		b = append(append(b, `,"outputs":`...), o...)
	}
	return append(b, '}'), nil
}

// with returns a copy of p with key set to v (the caller's map is not changed).
func with(p infer.Parameters, key string, v any) infer.Parameters {
	out := make(infer.Parameters, len(p)+1)
	for k, x := range p {
		out[k] = x
	}
	out[key] = v
	return out
}

// jsonData returns t's data in a form encoding/json writes as the v2 "data"
// list: []uint8 as numbers (not base64), BYTES as strings.
func jsonData(t *infer.Tensor) (any, error) {
	switch d := t.Data.(type) {
	case []uint8:
		out := make([]uint16, len(d))
		for i, v := range d {
			out[i] = uint16(v)
		}
		return out, nil
	case [][]byte:
		out := make([]string, len(d))
		for i, v := range d {
			if !utf8.Valid(v) {
				return nil, fmt.Errorf("input %s: BYTES element %d is not valid UTF-8, which JSON cannot carry; send it binary", t.Name, i)
			}
			out[i] = string(v)
		}
		return out, nil
	case []float32:
		if !allFinite(d) {
			return pyFloats[float32]{d, 32}, nil
		}
	case []float64:
		if !allFinite(d) {
			return pyFloats[float64]{d, 64}, nil
		}
	}
	return t.Data, nil
}

func allFinite[T float32 | float64](d []T) bool {
	for _, v := range d {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

// pyFloats writes a float list holding NaN or ±Inf as Python's json.dumps
// does (NaN, Infinity, -Infinity), which JSON proper cannot carry and
// encoding/json refuses. KServe's v2 REST server reads bodies with Python's
// json.loads, which takes them, and so does the kserve-gen server: the
// values arrive as they were, where orjson's null (KServe's Python client)
// turns every one of them into NaN.
type pyFloats[T float32 | float64] struct {
	d    []T
	bits int
}

// pyTexter is data that v2Request.marshal writes itself (pyFloats).
type pyTexter interface{ pyText() []byte }

// pyText is the list's text. Not MarshalJSON: encoding/json would check
// it and refuse NaN (v2Request.marshal writes it).
func (f pyFloats[T]) pyText() []byte {
	b := make([]byte, 0, 2+len(f.d)*8)
	b = append(b, '[')
	for i, v := range f.d {
		if i > 0 {
			b = append(b, ',')
		}
		switch x := float64(v); {
		case math.IsNaN(x):
			b = append(b, "NaN"...)
		case math.IsInf(x, 1):
			b = append(b, "Infinity"...)
		case math.IsInf(x, -1):
			b = append(b, "-Infinity"...)
		default:
			b = infer.AppendFloat(b, x, f.bits)
		}
	}
	return append(b, ']')
}

// DecodeV2Response reads a v2 InferenceResponse: the JSON part and, for the
// binary extension, the raw bytes after it (outputs that declare
// binary_data_size take their chunk in order). Tensor data lands in typed
// slices; nested "data" lists are flattened.
func DecodeV2Response(jsonPart, raw []byte) (*infer.Response, error) {
	var r v2Response
	d := json.NewDecoder(bytes.NewReader(jsonPart))
	d.UseNumber()
	if err := d.Decode(&r); err != nil {
		return nil, fmt.Errorf("decode v2 response: %w", err)
	}
	out := &infer.Response{ID: r.ID, ModelName: r.ModelName, Parameters: params(r.Parameters), Outputs: make([]*infer.Tensor, len(r.Outputs))}
	if r.ModelVersion != nil {
		out.ModelVersion = *r.ModelVersion
	}
	off := 0
	for i, o := range r.Outputs {
		if !o.Datatype.Valid() {
			return nil, fmt.Errorf("output %s: invalid datatype %q", o.Name, o.Datatype)
		}
		t := &infer.Tensor{Name: o.Name, Shape: o.Shape, Datatype: o.Datatype, Parameters: params(o.Parameters)}
		if size, ok := t.Parameters.Int64("binary_data_size"); ok {
			if size < 0 || int64(len(raw)-off) < size {
				return nil, fmt.Errorf("output %s: binary_data_size %d, but %d bytes of binary data remain", o.Name, size, len(raw)-off)
			}
			data, err := infer.DecodeRaw("output", o.Name, o.Datatype, o.Shape, raw[off:off+int(size)])
			if err != nil {
				return nil, err
			}
			off += int(size)
			t.Data = data
			delete(t.Parameters, "binary_data_size")
			if len(t.Parameters) == 0 {
				t.Parameters = nil
			}
		} else {
			data, err := decodeData(o.Name, o.Datatype, o.Shape, o.Data)
			if err != nil {
				return nil, err
			}
			t.Data = data
		}
		if err := t.Validate("output"); err != nil {
			return nil, err
		}
		out.Outputs[i] = t
	}
	return out, nil
}

// params converts decoded JSON parameters: integral numbers become int64
// (uint64 above MaxInt64), others float64.
func params(m map[string]any) infer.Parameters {
	if len(m) == 0 {
		return nil
	}
	p := make(infer.Parameters, len(m))
	for k, v := range m {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				v = i
			} else if u, err := strconv.ParseUint(n.String(), 10, 64); err == nil {
				v = u // above MaxInt64: a uint64, as gRPC's uint64_param, not a rounded float
			} else if f, err := n.Float64(); err == nil {
				v = f
			}
		}
		p[k] = v
	}
	return p
}

// decodeData decodes a v2 "data" list (nested lists flattened) into the
// typed slice of the output's datatype, with the server's own parser.
func decodeData(name string, d infer.Datatype, shape []int64, raw json.RawMessage) (any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("output %s: 'data' is missing", name)
	}
	if d == infer.FP16 {
		return nil, fmt.Errorf("output %s: FP16 data cannot travel as JSON", name)
	}
	return infer.DecodeData("output", name, d, shape, raw)
}
