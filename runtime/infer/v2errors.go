package infer

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// The v2 decoder's errors, worded as KServe's stack words them: FastAPI's
// 422 with pydantic's validation details (all of a body's, gathered by
// schemaErrors), json.loads' syntax errors, KServe's own 400s.

// decodeError is the error KServe answers for a body decodeRequest
// refused with err. json.loads (FastAPI, for a JSON body) and orjson.loads
// (KServe's InferRequest.from_bytes, for a binary body's JSON header) read
// the whole document before anything looks at its members, so a document
// that is not JSON is that error, even when a member before the fault was
// wrong already. A JSON body's syntax error is FastAPI's 422 json_invalid
// (its 400 for bytes that are not UTF-8); a binary header's is KServe's
// 400 "Unrecognized request format: ...", as on v1.
func decodeError(err error, doc []byte, binary bool) error {
	var syn *syntaxError
	if !errors.As(err, &syn) {
		whole := &scanner{b: doc, checkUTF8: true, pyLiterals: !binary}
		_, serr := whole.skip()
		if serr == nil && !whole.end() {
			serr = whole.fail("extra data after JSON value")
		}
		if serr == nil {
			return err
		}
		syn, _ = serr.(*syntaxError)
		if syn == nil {
			return err
		}
		err = jsonInvalid(syn)
	}
	if binary {
		return unrecognized(syn)
	}
	var se *status.Error
	if errors.As(err, &se) && syn.badUTF8 {
		se.DetailText = "There was an error parsing the body"
	}
	return err
}

// jsonInvalid is FastAPI's 422 for a body json.loads refuses, or its 400
// for one that is not UTF-8 ("There was an error parsing the body", to
// which the message adds what and where).
func jsonInvalid(err error) error {
	pos := 0
	if se, ok := err.(*syntaxError); ok {
		if se.badUTF8 {
			return &status.Error{Kind: status.KindInvalidInput, Message: "There was an error parsing the body: " + err.Error(), Err: err}
		}
		pos = se.pos
	}
	return &status.Error{Kind: status.KindUnprocessable, Message: "JSON decode error: " + err.Error(), Err: err,
		Detail: []status.ValidationDetail{{Type: "json_invalid", Loc: []any{"body", pos}, Msg: "JSON decode error", Input: map[string]any{}, Ctx: map[string]any{"error": err.Error()}}}}
}

// notParameter is pydantic's answer for a parameter value that is none of
// KServe's InferParameter, Union[StrictFloat, StrictInt, StrictBool, str]:
// one error per member of the union, each located under the member's name.
func notParameter(val []byte, loc ...any) error {
	in := rawValue(val)
	at := func(member string) []any { return append(append([]any{"body"}, loc...), member) }
	return status.Unprocessable(
		status.ValidationDetail{Type: "float_type", Loc: at("float"), Msg: "Input should be a valid number", Input: in},
		status.ValidationDetail{Type: "int_type", Loc: at("int"), Msg: "Input should be a valid integer", Input: in},
		status.ValidationDetail{Type: "bool_type", Loc: at("bool"), Msg: "Input should be a valid boolean", Input: in},
		status.ValidationDetail{Type: "string_type", Loc: at("str"), Msg: "Input should be a valid string", Input: in},
	)
}

// asUnionMember locates a JSON body's schema errors as pydantic does for
// KServe's infer body, Union[InferenceRequest, bytes]: when the body is
// neither, each error of the InferenceRequest member is under
// "InferenceRequest", and the bytes member's own error follows, echoing
// the whole body. A missing body and one that is not JSON fail before the
// union is tried, and stay as they are.
func asUnionMember(err error, body []byte) error {
	var se *status.Error
	if !errors.As(err, &se) || se.Kind != status.KindUnprocessable || len(se.Detail) == 0 {
		return err
	}
	d := se.Detail[0]
	if d.Type == "json_invalid" || (d.Type == "missing" && len(d.Loc) == 1) {
		return err
	}
	details := make([]status.ValidationDetail, 0, len(se.Detail)+1)
	for _, d := range se.Detail {
		d.Loc = append([]any{"body", "InferenceRequest"}, d.Loc[1:]...)
		details = append(details, d)
	}
	details = append(details, status.ValidationDetail{Type: "bytes_type", Loc: []any{"body", "bytes"}, Msg: "Input should be a valid bytes", Input: rawValue(body)})
	out := status.Unprocessable(details...)
	out.Err = se.Err
	return out
}

func missing(obj []byte, loc ...any) error {
	return status.Unprocessable(status.ValidationDetail{Type: "missing", Loc: append([]any{"body"}, loc...), Msg: "Field required", Input: rawValue(obj)})
}

func wrongType(typ, msg string, val []byte, loc ...any) error {
	return status.Unprocessable(detail(typ, msg, val, loc...))
}

func detail(typ, msg string, val []byte, loc ...any) status.ValidationDetail {
	return status.ValidationDetail{Type: typ, Loc: append([]any{"body"}, loc...), Msg: msg, Input: rawValue(val)}
}

// schemaErrors gathers a JSON body's schema errors as pydantic reports
// them for KServe's InferenceRequest: it validates the whole model, so a
// 422 lists every broken field of every input and output, in the order of
// the model's fields (the caller adds them in that order). What KServe
// checks only once the schema holds (a datatype it does not know, data that
// is not of the datatype: a 400) counts only when there is no 422, and
// then the first of it, as KServe reads the inputs in order.
//
// A binary-extension header is read by orjson alone, without the schema:
// there the first error ends the decoding (first set), as before.
type schemaErrors struct {
	details []status.ValidationDetail
	other   error // the first error that is not the schema's
	first   bool  // stop at the first error of any kind
}

// add records err. It returns the error to stop decoding with: JSON that
// does not parse (json.loads fails before any validation), or any error
// when c.first is set; nil when decoding goes on.
func (c *schemaErrors) add(err error) error {
	if err == nil {
		return nil
	}
	var syn *syntaxError
	if c.first || errors.As(err, &syn) {
		return err
	}
	var se *status.Error
	if errors.As(err, &se) && se.Kind == status.KindUnprocessable {
		c.details = append(c.details, se.Detail...)
	} else if c.other == nil {
		c.other = err
	}
	return nil
}

// err is the 422 of every detail gathered, or else the first other error.
func (c *schemaErrors) err() error {
	if len(c.details) > 0 {
		return status.Unprocessable(c.details...)
	}
	return c.other
}

// rawValue is the JSON text b as the value a 422 echoes; numbers keep
// their text (as json.Number), so 99999999999999999999 is not echoed
// rounded through float64. Text holding a number beyond float64, which
// could not be written back, is echoed as a string.
func rawValue(b []byte) any {
	if _, err := (&scanner{b: b, strict: true}).skip(); err != nil {
		return string(b)
	}
	// The value as json.loads makes it: an object's members in the order
	// they came (a map would sort them), a key given twice at its first
	// place with its last value (a Python dict), numbers as written.
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	out, err := appendLoaded(nil, d)
	if err != nil {
		return string(b)
	}
	return json.RawMessage(out)
}

// appendLoaded appends the next JSON value of d, compacted, with each
// object's duplicate keys folded as json.loads folds them.
func appendLoaded(b []byte, d *json.Decoder) ([]byte, error) {
	tok, err := d.Token()
	if err != nil {
		return b, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			b = append(b, '[')
			for i := 0; d.More(); i++ {
				if i > 0 {
					b = append(b, ',')
				}
				if b, err = appendLoaded(b, d); err != nil {
					return b, err
				}
			}
			_, err = d.Token()
			return append(b, ']'), err
		}
		var keys []string
		vals := map[string][]byte{}
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return b, err
			}
			k, _ := kt.(string)
			v, err := appendLoaded(nil, d)
			if err != nil {
				return b, err
			}
			if _, seen := vals[k]; !seen {
				keys = append(keys, k)
			}
			vals[k] = v
		}
		if _, err := d.Token(); err != nil {
			return b, err
		}
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, k)
			b = append(append(b, ':'), vals[k]...)
		}
		return append(b, '}'), nil
	case string:
		return AppendString(b, t), nil
	case json.Number:
		return append(b, t...), nil
	case bool:
		return strconv.AppendBool(b, t), nil
	default:
		return append(b, "null"...), nil
	}
}

// badParameters is the 422 for the parameters object obj (valid JSON),
// nil if every value json.loads keeps is a parameter: a key given twice
// has its last value, at the place where the key first came (a Python
// dict), so a bad value followed by a good one is no error. It names each
// bad value, in that order.
func badParameters(obj []byte, loc []any) error {
	ps := &scanner{b: obj, pos: 1, pyLiterals: true} // NaN passed the reader that took obj
	var keys []string
	last := map[string][]byte{}
	for !ps.consume('}') {
		k, _ := ps.str()
		_ = ps.expect(':')
		v, _ := ps.skip()
		if _, seen := last[string(k)]; !seen {
			keys = append(keys, string(k))
		}
		last[string(k)] = v
		if !ps.consume(',') {
			break
		}
	}
	var details []status.ValidationDetail
	for _, k := range keys {
		switch v := last[k]; {
		case len(v) > 0 && (v[0] == '[' || v[0] == '{' || v[0] == 'n'):
			details = append(details, notParameter(v, append(loc[:len(loc):len(loc)], k)...).(*status.Error).Detail...)
		}
	}
	if details == nil {
		return nil
	}
	return status.Unprocessable(details...)
}

// inputSchemaError is the 422 for input i, the object obj: pydantic names
// every missing (miss) or broken (fieldErr, dataNotList) field, in
// RequestInput's order: name, shape, datatype, parameters, data. A
// function of its own, so that decodeInput's stack frame stays as small as
// its valid path needs (decodeInput runs for every input of every request).
func inputSchemaError(i int, obj []byte, miss *[5]bool, fieldErr *[4]error, dataNotList bool, data []byte) error {
	var details []status.ValidationDetail
	var in any // the input object, echoed by a missing field's error
	for k, name := range [...]string{"name", "shape", "datatype", "parameters", "data"} {
		var se *status.Error
		switch {
		case miss[k]:
			if in == nil {
				in = rawValue(obj)
			}
			details = append(details, status.ValidationDetail{Type: "missing", Loc: []any{"body", "inputs", i, name}, Msg: "Field required", Input: in})
		case k < len(fieldErr) && errors.As(fieldErr[k], &se):
			details = append(details, se.Detail...)
		case k == 4 && dataNotList:
			details = append(details, detail("list_type", "Input should be a valid list", data, "inputs", i, "data"))
		}
	}
	return status.Unprocessable(details...)
}

// dataMissing is KServe's 400 for an input without data, JSON or binary.
func dataMissing(input, model string) error {
	if model == "" {
		return status.InvalidInputf("'data' field is missing for input '%s'", input)
	}
	return status.InvalidInputf("'data' field is missing for input '%s' for model '%s'", input, model)
}
