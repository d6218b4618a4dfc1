package infer

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// SelectOutputs applies the request's "outputs" list to resp: only the
// listed outputs are returned, in the listed order; a name the model did not
// produce is KServe's 400 "Unexpected inference output".
//
// A name listed twice is a 400 as well. KServe answers each copy again,
// so a client multiplied an answer's size by the length of a list it
// writes in a few bytes an entry: one output of 1 MB asked for 60 000
// times is a 60 GB answer, which this server would build in memory.
func SelectOutputs(req *Request, resp *Response, modelName string) error {
	if len(req.Outputs) == 0 {
		return nil
	}
	sel := make([]*Tensor, 0, len(req.Outputs))
	for i, o := range req.Outputs {
		t := resp.Output(o.Name)
		if t == nil {
			return status.InvalidInputf("Unexpected inference output '%s' for model '%s'", o.Name, modelName)
		}
		// sel holds distinct outputs of the model, so this scan is
		// bounded by the model's outputs, not by the list's length.
		for j, prev := range sel {
			if prev == t {
				return status.InvalidInputf(`"outputs" asks for output '%s' twice (outputs[%d] and outputs[%d]) for model '%s'`, o.Name, j, i, modelName)
			}
		}
		sel = append(sel, t)
	}
	resp.Outputs = sel
	return nil
}

// BinaryOutputs decides, per output, whether it goes out in the binary
// extension: with an "outputs" list only each output's own binary_data
// counts (KServe's rule), otherwise the request's binary_data_output.
func BinaryOutputs(req *Request, resp *Response) []bool {
	out := make([]bool, len(resp.Outputs))
	if len(req.Outputs) > 0 {
		for i, t := range resp.Outputs {
			for _, o := range req.Outputs {
				if o.Name == t.Name {
					out[i] = o.BinaryData()
				}
			}
		}
		return out
	}
	all := req.UseBinaryOutputs()
	for i := range out {
		out[i] = all
	}
	return out
}

// AppendResponseJSON appends resp as KServe's InferenceResponse JSON, keys
// in KServe's order with explicit nulls:
// {"model_name","model_version","id","parameters","outputs":[{"name","shape","datatype","parameters","data"}]}.
// FP16 outputs cannot go out as JSON (400), nor BYTES elements that are not
// UTF-8 (KServe's InferenceError, 500).
func AppendResponseJSON(b []byte, resp *Response) ([]byte, error) {
	for _, t := range resp.Outputs {
		if err := checkOutput(t); err != nil {
			return b, err
		}
		if t.Datatype == FP16 {
			return b, status.InvalidInputf("Sending FP16 data via JSON is not supported. Please use the binary data format for output %s", t.Name)
		}
		if err := checkUTF8(t); err != nil {
			return b, err
		}
	}
	b = append(b, `{"model_name":`...)
	b = AppendString(b, resp.ModelName)
	b = append(b, `,"model_version":`...)
	b = appendNullableString(b, resp.ModelVersion)
	b = append(b, `,"id":`...)
	b = AppendString(b, resp.ID)
	b = append(b, `,"parameters":`...)
	var err error
	if b, err = appendParameters(b, resp.Parameters); err != nil {
		return b, err
	}
	b = append(b, `,"outputs":[`...)
	for i, t := range resp.Outputs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOutputHead(b, t)
		b = append(b, `,"parameters":`...)
		if b, err = appendParameters(b, t.Parameters); err != nil {
			return b, err
		}
		b = append(b, `,"data":`...)
		if b, err = appendData(b, t.Data); err != nil {
			return b, err
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

func checkOutput(t *Tensor) error {
	if err := t.Validate("output"); err != nil {
		return status.InferenceError(err.Error(), "")
	}
	return nil
}

// checkUTF8 refuses a BYTES output whose elements are not all UTF-8, which
// a JSON string cannot carry: KServe's set_data_from_numpy raises this
// InferenceError rather than alter the bytes. The message adds which output
// and element, and quotes the element as Python's repr of bytes.
func checkUTF8(t *Tensor) error {
	d, ok := t.Data.([][]byte)
	if !ok {
		return nil
	}
	for i, e := range d {
		if !utf8.Valid(e) {
			return status.InferenceError(fmt.Sprintf(`Failed to encode "%s" using UTF-8. Please use binary_data=True, if you want to pass a byte array. (output '%s', element %d)`, pyBytesRepr(e, 64), t.Name, i), "")
		}
	}
	return nil
}

// pyBytesRepr writes b as Python's repr(bytes) does (b'\xff\n', or b"it's"
// when b holds ' and not "), cut after max bytes with "...".
func pyBytesRepr(b []byte, max int) string {
	cut := len(b) > max
	if cut {
		b = b[:max]
	}
	q := byte('\'')
	if bytes.IndexByte(b, '\'') >= 0 && bytes.IndexByte(b, '"') < 0 {
		q = '"'
	}
	out := []byte{'b', q}
	for _, c := range b {
		switch {
		case c == q || c == '\\':
			out = append(out, '\\', c)
		case c == '\t':
			out = append(out, '\\', 't')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c < 0x20 || c >= 0x7f:
			out = fmt.Appendf(out, "\\x%02x", c)
		default:
			out = append(out, c)
		}
	}
	out = append(out, q)
	if cut {
		out = append(out, "..."...)
	}
	return string(out)
}

// AppendResponseBinary appends the JSON header of a binary-extension
// response (KServe's to_rest order: id, model_name, model_version, outputs,
// then parameters only when set) and returns the raw chunks to send after it,
// in output order. binary[i] says whether output i goes out as raw bytes;
// FP16 outputs always do.
func AppendResponseBinary(b []byte, resp *Response, binary []bool) ([]byte, [][]byte, error) {
	var raws [][]byte
	b = append(b, `{"id":`...)
	b = AppendString(b, resp.ID)
	b = append(b, `,"model_name":`...)
	b = AppendString(b, resp.ModelName)
	b = append(b, `,"model_version":`...)
	b = appendNullableString(b, resp.ModelVersion)
	b = append(b, `,"outputs":[`...)
	var err error
	for i, t := range resp.Outputs {
		if err := checkOutput(t); err != nil {
			return b, nil, err
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOutputHead(b, t)
		if binary[i] || t.Datatype == FP16 {
			raw, err := EncodeRaw(t)
			if err != nil {
				return b, nil, err
			}
			raws = append(raws, raw)
			params := Parameters{}
			for k, v := range t.Parameters {
				params[k] = v
			}
			params["binary_data_size"] = int64(len(raw))
			b = append(b, `,"parameters":`...)
			if b, err = appendParameters(b, params); err != nil {
				return b, nil, err
			}
		} else {
			if err := checkUTF8(t); err != nil {
				return b, nil, err
			}
			if len(t.Parameters) > 0 {
				b = append(b, `,"parameters":`...)
				if b, err = appendParameters(b, t.Parameters); err != nil {
					return b, nil, err
				}
			}
			b = append(b, `,"data":`...)
			if b, err = appendData(b, t.Data); err != nil {
				return b, nil, err
			}
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if len(resp.Parameters) > 0 {
		b = append(b, `,"parameters":`...)
		if b, err = appendParameters(b, resp.Parameters); err != nil {
			return b, nil, err
		}
	}
	return append(b, '}'), raws, nil
}

// appendOutputHead opens an output object: {"name":..,"shape":..,"datatype":..
func appendOutputHead(b []byte, t *Tensor) []byte {
	b = append(b, `{"name":`...)
	b = AppendString(b, t.Name)
	b = append(b, `,"shape":`...)
	b = appendShape(b, t.Shape)
	b = append(b, `,"datatype":`...)
	return AppendString(b, string(t.Datatype))
}
