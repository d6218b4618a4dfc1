// Package pydantic reads request bodies and writes answers as KServe's
// FastAPI routes do with pydantic models: FastAPI's 422 bodies for what
// validation refuses, members a model does not declare kept (pydantic's
// extra="allow"), JSON without HTML escaping. Packages openai and
// timeseries share it.
package pydantic

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// DecodeWithExtra decodes b into v (a struct pointer whose type has no
// UnmarshalJSON of its own) and puts the object's members that no field
// of v names into *extra (nil when there are none).
func DecodeWithExtra(b []byte, v any, extra *map[string]json.RawMessage) error {
	if err := json.Unmarshal(b, v); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	known := JSONNames(reflect.TypeOf(v).Elem())
	*extra = nil
	for k, raw := range all {
		if !slices.Contains(known, k) {
			if *extra == nil {
				*extra = map[string]json.RawMessage{}
			}
			(*extra)[k] = raw
		}
	}
	return nil
}

// EncodeWithExtra encodes v (a struct) followed by extra's members, in
// the order of their names.
func EncodeWithExtra(v any, extra map[string]json.RawMessage) ([]byte, error) {
	b, err := Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	b = b[:len(b)-1]
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if len(b) > 1 {
			b = append(b, ',')
		}
		kb, _ := Marshal(k)
		b = append(append(append(b, kb...), ':'), extra[k]...)
	}
	return append(b, '}'), nil
}

// JSONNames lists the JSON member names of struct type t's fields.
func JSONNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// DecodeRequest reads body into v as FastAPI validates a pydantic body,
// answering what it refuses with FastAPI's 422 (status.KindUnprocessable,
// whose details the REST transport writes as {"detail": [...]}): no body,
// a body that is not JSON or not an object (Object), a required field
// missing, a field of the wrong type. required are the fields the request
// model declares without a default.
func DecodeRequest(body []byte, v any, required ...string) error {
	fields, err := Object(body)
	if err != nil {
		return err
	}
	var details []status.ValidationDetail
	for _, f := range required {
		if _, ok := fields[f]; !ok {
			details = append(details, Missing(fields, "body", f))
		}
	}
	if len(details) > 0 {
		return status.Unprocessable(details...)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return TypeError(err, fields)
	}
	return nil
}

// Object reads body as the JSON object a pydantic request model is read
// from, with FastAPI's 422 for no body, a body that is not JSON, and one
// that is not an object.
func Object(body []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, status.Unprocessable(status.ValidationDetail{Type: "missing", Loc: []any{"body"}, Msg: "Field required", Input: nil})
	}
	var obj any
	if err := json.Unmarshal(body, &obj); err != nil {
		var off int64
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = se.Offset
		}
		return nil, &status.Error{Kind: status.KindUnprocessable, Message: "JSON decode error: " + err.Error(), Err: err,
			Detail: []status.ValidationDetail{{Type: "json_invalid", Loc: []any{"body", off}, Msg: "JSON decode error", Input: map[string]any{}, Ctx: map[string]any{"error": err.Error()}}}}
	}
	fields, ok := obj.(map[string]any)
	if !ok {
		return nil, status.Unprocessable(status.ValidationDetail{Type: "model_attributes_type", Loc: []any{"body"}, Msg: "Input should be a valid dictionary or object to extract fields from", Input: obj})
	}
	return fields, nil
}

// Missing is pydantic's error for a required field missing from obj, at
// loc (the object's path, then the field's name).
func Missing(obj any, loc ...any) status.ValidationDetail {
	return status.ValidationDetail{Type: "missing", Loc: loc, Msg: "Field required", Input: obj}
}

// TypeError is pydantic's 422 for a field json.Unmarshal could not read
// into its Go type: the type pydantic names for that type, at the field's
// path, with the value sent when it is a top-level field.
func TypeError(err error, fields map[string]any) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return &status.Error{Kind: status.KindUnprocessable, Message: err.Error(), Err: err,
			Detail: []status.ValidationDetail{{Type: "value_error", Loc: []any{"body"}, Msg: "Value error, " + err.Error(), Input: fields}}}
	}
	loc := []any{"body"}
	var input any
	if te.Field != "" {
		for p := range strings.SplitSeq(te.Field, ".") {
			loc = append(loc, p)
		}
		if !strings.Contains(te.Field, ".") {
			input = fields[te.Field]
		}
	}
	typ, msg := "string_type", "Input should be a valid string"
	if te.Type != nil {
		k := te.Type.Kind()
		if k == reflect.Pointer {
			k = te.Type.Elem().Kind()
		}
		switch k {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			typ, msg = "int_type", "Input should be a valid integer"
		case reflect.Float32, reflect.Float64:
			typ, msg = "float_type", "Input should be a valid number"
		case reflect.Bool:
			typ, msg = "bool_type", "Input should be a valid boolean"
		case reflect.Slice, reflect.Array:
			typ, msg = "list_type", "Input should be a valid list"
		case reflect.Map, reflect.Struct:
			typ, msg = "dict_type", "Input should be a valid dictionary"
		}
	}
	d := status.ValidationDetail{Type: typ, Loc: loc, Msg: msg, Input: input}
	out := status.Unprocessable(d)
	out.Err = err
	return out
}

// Marshal is json.Marshal without its HTML escaping. KServe (orjson) and
// vLLM (pydantic) write <, > and & as they are; json.Marshal writes
// \u003c, \u003e and \u0026, which reads the same to a JSON parser but not
// to anyone looking at a stream or matching a reasoning model's <think>
// tags in its raw events. The answers' MarshalJSON methods use it too:
// encoding/json copies a Marshaler's output as it is, escaped or not.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
