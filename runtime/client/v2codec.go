package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
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
	head, err = json.Marshal(r)
	if err != nil {
		return nil, nil, fmt.Errorf("encode v2 request: %w", err)
	}
	return head, raws, nil
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
		if err := finite(t.Name, d); err != nil {
			return nil, err
		}
	case []float64:
		if err := finite(t.Name, d); err != nil {
			return nil, err
		}
	}
	return t.Data, nil
}

func finite[T float32 | float64](name string, d []T) error {
	for i, v := range d {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("input %s: element %d is %v, which JSON cannot carry; send it binary", name, i, v)
		}
	}
	return nil
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
