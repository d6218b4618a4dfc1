package infer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// DecodeRequest parses a v2 InferenceRequest. jsonPart is the JSON text;
// raw holds the binary tensor data that follows it in a binary-extension
// body (nil for plain JSON). Inputs with "parameters": {"binary_data_size": n}
// take their n bytes from raw, in input order, straight into typed slices.
// Schema violations are 422 errors shaped like FastAPI's; bad tensor data is
// a 400 naming the input.
//
// A server knows the model the request is for: DecodeRequestFor names it
// where KServe's messages do.
func DecodeRequest(jsonPart, raw []byte) (*Request, error) {
	return DecodeRequestFor("", jsonPart, raw)
}

// DecodeRequestFor is DecodeRequest for a request to the model called
// model: the request's ModelName is model, and the 400 for an input with
// neither "data" nor binary data ends, as KServe's, with " for model
// '<model>'" (left out when model is "").
//
// A plain JSON body (raw == nil) is read as FastAPI reads it for KServe:
// an empty one is the 422 of a missing body; its encoding is the one
// json.loads detects in bytes (UTF-8, UTF-16 or UTF-32, with or without a
// byte order mark: pyJSONText); and one that is not in that encoding is
// FastAPI's 400 {"detail":"There was an error parsing the body"}
// (Error.DetailText).
func DecodeRequestFor(model string, jsonPart, raw []byte) (*Request, error) {
	if raw == nil {
		if len(jsonPart) == 0 {
			return nil, status.Unprocessable(status.ValidationDetail{Type: "missing", Loc: []any{"body"}, Msg: "Field required", Input: nil})
		}
		var err error
		if jsonPart, err = pyJSONText(jsonPart); err != nil {
			return nil, &status.Error{Kind: status.KindInvalidInput, Message: "There was an error parsing the body: " + err.Error(),
				Err: err, DetailText: "There was an error parsing the body"}
		}
	}
	// Only FastAPI's json.loads takes NaN and Infinity; KServe reads a
	// binary-extension header with orjson, which refuses them.
	s := &scanner{b: jsonPart, checkUTF8: true, pyLiterals: raw == nil}
	req := &Request{Protocol: ProtocolV2, ModelName: model}
	err := decodeRequest(s, req, raw != nil)
	if err == nil && !s.end() {
		err = jsonInvalid(s.fail("extra data after JSON value"))
	}
	if err != nil {
		err = decodeError(err, jsonPart, raw != nil)
		if raw == nil {
			err = asUnionMember(err, jsonPart)
		}
		return nil, err
	}
	if err := attachBinary(req, raw); err != nil {
		return nil, err
	}
	return req, nil
}

// MissingHeaderLength is KServe's 400 for a v2 infer body that is bytes
// (not JSON) without an inference-header-content-length header; its
// message lacks a space after "the", as KServe's does.
func MissingHeaderLength() error {
	return status.InvalidInput("received byte inputs, but the'inference-header-content-length' header is missing.")
}

// utf8BOM is the byte order mark some Windows tools write at the start of
// a UTF-8 file (PowerShell 5's Out-File -Encoding utf8).
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// pyJSONText returns body as UTF-8 text, decoded as Python's json.loads
// decodes bytes (json.detect_encoding, then the "surrogatepass" error
// handler): a UTF-32 or UTF-16 byte order mark says the codec (and is
// dropped), as a UTF-8 one does; without one, the NUL bytes among the first
// four say UTF-16 or UTF-32 and the byte order, as the first characters
// of a JSON text are ASCII; anything else is UTF-8, returned as it is (the
// scanner checks it). Windows tools write UTF-16 (PowerShell 5's Out-File,
// .NET's Encoding.Unicode). A lone surrogate, which surrogatepass lets
// through, becomes U+FFFD, as the escape "\ud800" does; an odd byte,
// a UTF-32 length that is no multiple of 4 or a value beyond U+10FFFF is
// an error, as it is a UnicodeDecodeError in Python.
func pyJSONText(b []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(b, []byte{0, 0, 0xFE, 0xFF}):
		return fromUTF32(b[4:], binary.BigEndian)
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE, 0, 0}):
		return fromUTF32(b[4:], binary.LittleEndian)
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return fromUTF16(b[2:], binary.BigEndian)
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return fromUTF16(b[2:], binary.LittleEndian)
	case bytes.HasPrefix(b, utf8BOM):
		return b[3:], nil
	}
	switch {
	case len(b) >= 4 && b[0] == 0 && b[1] != 0:
		return fromUTF16(b, binary.BigEndian)
	case len(b) >= 4 && b[0] == 0:
		return fromUTF32(b, binary.BigEndian)
	case len(b) >= 4 && b[1] == 0 && (b[2] != 0 || b[3] != 0):
		return fromUTF16(b, binary.LittleEndian)
	case len(b) >= 4 && b[1] == 0:
		return fromUTF32(b, binary.LittleEndian)
	case len(b) == 2 && b[0] == 0:
		return fromUTF16(b, binary.BigEndian)
	case len(b) == 2 && b[1] == 0:
		return fromUTF16(b, binary.LittleEndian)
	}
	return b, nil
}

func fromUTF16(b []byte, order binary.ByteOrder) ([]byte, error) {
	if len(b)%2 != 0 {
		return nil, fmt.Errorf("the UTF-16 body has an odd number of bytes (%d)", len(b))
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = order.Uint16(b[2*i:])
	}
	// utf16.Decode turns a lone surrogate into U+FFFD.
	out := make([]byte, 0, len(b))
	for _, r := range utf16.Decode(units) {
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}

func fromUTF32(b []byte, order binary.ByteOrder) ([]byte, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("the UTF-32 body's length (%d bytes) is not a multiple of 4", len(b))
	}
	out := make([]byte, 0, len(b)/2)
	for i := 0; i < len(b); i += 4 {
		c := order.Uint32(b[i:])
		if c > unicode.MaxRune {
			return nil, fmt.Errorf("UTF-32 value %#x at byte %d is beyond U+10FFFF", c, i)
		}
		// AppendRune writes a surrogate as U+FFFD.
		out = utf8.AppendRune(out, rune(c))
	}
	return out, nil
}

// decodeRequest reads the request object; binary says the body is a
// binary-extension one.
func decodeRequest(s *scanner, req *Request, binary bool) error {
	start := s.pos
	if s.peek() != '{' {
		val, err := s.skip()
		if err != nil {
			return jsonInvalid(err)
		}
		if !binary && s.end() {
			switch {
			case string(val) == "null":
				// FastAPI takes a body json.loads reads as None for no
				// body at all.
				return status.Unprocessable(status.ValidationDetail{Type: "missing", Loc: []any{"body"}, Msg: "Field required", Input: nil})
			case val[0] == '"':
				// KServe's infer body is Union[InferenceRequest, bytes],
				// and pydantic takes a str for bytes: KServe then has
				// bytes without the header that says where their JSON
				// part ends.
				return MissingHeaderLength()
			}
		}
		return wrongType("model_attributes_type", "Input should be a valid dictionary or object to extract fields from", val)
	}
	s.pos++
	seenInputs := false
	// A key may come more than once; json.loads keeps the last value, so
	// the errors of a member's value wait for the end of the object, and a
	// later member with the same key replaces them with its own.
	var errID, errParams, errInputs, errOutputs error
	for !s.consume('}') {
		key, err := s.str()
		if err != nil {
			return jsonInvalid(err)
		}
		if err := s.expect(':'); err != nil {
			return jsonInvalid(err)
		}
		at := s.pos
		switch string(key) {
		case "id":
			// Optional[str] in KServe's schema: null is no id, as an
			// absent one is (the response gets a generated one).
			req.ID, errID = "", nil
			if !s.literal("null") {
				req.ID, errID = stringField(s, "id")
			}
			if err := s.resume(at, errID); err != nil {
				return err
			}
		case "model_name", "model_version":
			// Ignored: the path names the model (as KServe).
			if _, err := s.skip(); err != nil {
				return jsonInvalid(err)
			}
		case "parameters":
			req.Parameters, errParams = decodeParameters(s, binary, "parameters")
			if err := s.resume(at, errParams); err != nil {
				return err
			}
		case "inputs":
			seenInputs = true
			req.Inputs = nil
			errInputs = decodeInputs(s, req, binary)
			if err := s.resume(at, errInputs); err != nil {
				return err
			}
		case "outputs":
			req.Outputs = nil
			errOutputs = decodeOutputs(s, req, binary)
			if err := s.resume(at, errOutputs); err != nil {
				return err
			}
		default:
			if _, err := s.skip(); err != nil {
				return jsonInvalid(err)
			}
		}
		if !s.consume(',') {
			if err := s.expect('}'); err != nil {
				return jsonInvalid(err)
			}
			break
		}
	}
	if !seenInputs {
		errInputs = missing(s.b[start:s.pos], "inputs")
	}
	if errID == nil && errParams == nil && errInputs == nil && errOutputs == nil {
		return nil
	}
	// A binary header's first error is its answer; a JSON body's 422
	// names them all (each value's errors are in, none stopped the scan).
	c := schemaErrors{first: binary}
	for _, err := range [...]error{errID, errParams, errInputs, errOutputs} {
		if err := c.add(err); err != nil {
			return err
		}
	}
	return c.err()
}

// resume carries on after err, the error of the member value that starts
// at offset at: JSON that does not parse ends the decoding (returned as
// is); for any other error the value is skipped, its error left for the
// caller to report unless a later member replaces the value.
func (s *scanner) resume(at int, err error) error {
	if err == nil {
		return nil
	}
	var se *syntaxError // escapes: declared past the nil check, so no allocation without an error
	if errors.As(err, &se) {
		return err
	}
	s.pos = at
	if _, err := s.skip(); err != nil {
		return jsonInvalid(err)
	}
	return nil
}

// fatal is err if it ends the decoding of the value it is about: JSON that
// does not parse, or any error where first is set (a binary header, whose
// first error is the answer); nil for a schema error that the 422 will
// name beside the others.
func fatal(err error, first bool) error {
	if err == nil {
		return nil
	}
	var se *syntaxError // escapes: declared past the nil check, so no allocation without an error
	if first || errors.As(err, &se) {
		return err
	}
	return nil
}

func stringField(s *scanner, loc ...any) (string, error) {
	if s.peek() != '"' {
		val, err := s.skip()
		if err != nil {
			return "", jsonInvalid(err)
		}
		return "", wrongType("string_type", "Input should be a valid string", val, loc...)
	}
	v, err := s.str()
	if err != nil {
		return "", jsonInvalid(err)
	}
	return string(v), nil
}

// decodeParameters reads {str: bool|int|float|str}; KServe's schema rejects
// other values with a 422, naming every such value (only the first where
// first is set: a binary header).
func decodeParameters(s *scanner, first bool, loc ...any) (Parameters, error) {
	if s.literal("null") {
		return nil, nil
	}
	if s.peek() != '{' {
		val, err := s.skip()
		if err != nil {
			return nil, jsonInvalid(err)
		}
		return nil, wrongType("dict_type", "Input should be a valid dictionary", val, loc...)
	}
	start := s.pos
	s.pos++
	p := Parameters{}
	sawBad := false
	for !s.consume('}') {
		k, err := s.str()
		if err != nil {
			return nil, jsonInvalid(err)
		}
		if err := s.expect(':'); err != nil {
			return nil, jsonInvalid(err)
		}
		key := string(k)
		switch c := s.peek(); {
		case s.atNonFinite():
			tok, _ := s.nonFinite()
			p[key], _ = strconv.ParseFloat(bstr(tok), 64) // a float, as json.loads makes it
		case c == '"':
			v, err := s.str()
			if err != nil {
				return nil, jsonInvalid(err)
			}
			p[key] = string(v)
		case c == 't' || c == 'f':
			val, err := s.skip()
			if err != nil {
				return nil, jsonInvalid(err)
			}
			p[key] = val[0] == 't'
		case c == '-' || (c >= '0' && c <= '9'):
			tok, err := s.number()
			if err != nil || !validNumber(tok) {
				return nil, jsonInvalid(s.fail("invalid number"))
			}
			if i, err := strconv.ParseInt(bstr(tok), 10, 64); err == nil {
				p[key] = i
			} else if u, err := strconv.ParseUint(bstr(tok), 10, 64); err == nil {
				// Above MaxInt64: Python keeps the exact int, and gRPC's
				// uint64_param the exact uint64; a float64 would round it.
				p[key] = u
			} else {
				f, _ := strconv.ParseFloat(bstr(tok), 64)
				p[key] = f
			}
		default:
			val, err := s.skip()
			if err != nil {
				return nil, jsonInvalid(err)
			}
			if first {
				return nil, notParameter(val, append(loc, key)...)
			}
			sawBad = true
		}
		if !s.consume(',') {
			if err := s.expect('}'); err != nil {
				return nil, jsonInvalid(err)
			}
			break
		}
	}
	if sawBad {
		if err := badParameters(s.b[start:s.pos], loc); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func decodeInputs(s *scanner, req *Request, binary bool) error {
	if s.peek() != '[' {
		val, err := s.skip()
		if err != nil {
			return jsonInvalid(err)
		}
		return wrongType("list_type", "Input should be a valid list", val, "inputs")
	}
	s.pos++
	c := schemaErrors{first: binary}
	for i := 0; !s.consume(']'); i++ {
		at := s.pos
		t, err := decodeInput(s, i, binary, req.ModelName)
		if err != nil {
			if err := c.add(err); err != nil {
				return err
			}
			// On to the next input: pydantic reports the schema errors
			// of them all, and one of them is a 422 ahead of this 400.
			if err := s.resume(at, err); err != nil {
				return err
			}
		} else {
			if req.Inputs == nil {
				req.Inputs = req.inputs[:0:1]
			}
			req.Inputs = append(req.Inputs, t)
		}
		if !s.consume(',') {
			if err := s.expect(']'); err != nil {
				return jsonInvalid(err)
			}
			break
		}
	}
	return c.err()
}

// decodeInput reads one input object. Its data may come before its datatype
// and shape, so the data text is kept and parsed once the object is read.
// In a binary-extension request (binary) an input with neither "data" nor
// binary_data_size is KServe's 400 (from_bytes), not the schema's 422.
func decodeInput(s *scanner, i int, binary bool, model string) (*Tensor, error) {
	start := s.pos
	if s.peek() != '{' {
		val, err := s.skip()
		if err != nil {
			return nil, jsonInvalid(err)
		}
		return nil, wrongType("model_attributes_type", "Input should be a valid dictionary or object to extract fields from", val, "inputs", i)
	}
	s.pos++
	// One allocation for the tensor and a shape of up to four dimensions.
	tb := &struct {
		t     Tensor
		shape [4]int64
	}{}
	t := &tb.t
	var data []byte
	var haveName, haveShape, haveType, sizeUnset bool
	var parsedAs Datatype // the datatype data was parsed as while read, if it was
	// The schema errors of name, shape, datatype and parameters: pydantic
	// reports them all, in RequestInput's order whatever the order of the
	// keys; a key given twice has its last value's (json.loads keeps that
	// value). A binary header's first error is its answer.
	var fieldErr [4]error
	for !s.consume('}') {
		key, err := s.str()
		if err != nil {
			return nil, jsonInvalid(err)
		}
		if err := s.expect(':'); err != nil {
			return nil, jsonInvalid(err)
		}
		switch string(key) {
		case "name":
			haveName = true
			t.Name, fieldErr[0] = stringField(s, "inputs", i, "name")
			if err := fatal(fieldErr[0], binary); err != nil {
				return nil, err
			}
		case "datatype":
			haveType = true
			t.Datatype, fieldErr[2] = datatypeField(s, i)
			if err := fatal(fieldErr[2], binary); err != nil {
				return nil, err
			}
		case "shape":
			haveShape = true
			t.Shape, fieldErr[1] = decodeShape(s, i, tb.shape[:0], binary)
			if err := fatal(fieldErr[1], binary); err != nil {
				return nil, err
			}
		case "parameters":
			at := s.pos
			t.Parameters, fieldErr[3] = decodeParameters(s, binary, "inputs", i, "parameters")
			if fieldErr[3] != nil && binary && nullSize(s, at) {
				// KServe reads a binary header with orjson alone, no
				// schema: "binary_data_size": null is its own 400 below.
				t.Parameters, sizeUnset, fieldErr[3] = nil, true, nil
			}
			if err := fatal(fieldErr[3], binary); err != nil {
				return nil, err
			}
		case "data":
			parsedAs = ""
			if haveType && t.Datatype.numeric() && s.peek() == '[' {
				// The usual order (name, shape, datatype, data): parse the
				// list as it is read, instead of skipping it and reading it
				// again below. Anything the fast reader does not take
				// (a string, a literal, an exponent in strict mode, bad
				// JSON) is read again the usual way, so errors and results
				// are the same either way.
				at := s.pos
				if d, n, ok := fastData(s, t); ok {
					data, t.Data, parsedAs = s.b[at:at+n], d, t.Datatype
					s.pos = at + n
					break
				}
			}
			if data, err = s.skip(); err != nil {
				return nil, jsonInvalid(err)
			}
		default:
			if _, err := s.skip(); err != nil {
				return nil, jsonInvalid(err)
			}
		}
		if !s.consume(',') {
			if err := s.expect('}'); err != nil {
				return nil, jsonInvalid(err)
			}
			break
		}
	}
	// A JSON body's RequestInput requires "data" whatever its parameters
	// say (pydantic checks the schema before KServe looks at
	// binary_data_size); a binary header's inputs go without it.
	noData := !binary && data == nil
	// RequestInput.data is a List: pydantic refuses a scalar, a string, an
	// object or null before KServe reads the datatype.
	dataNotList := !binary && data != nil && data[0] != '['
	if !haveName || !haveShape || !haveType || noData || dataNotList || fieldErr[0] != nil || fieldErr[1] != nil || fieldErr[2] != nil || fieldErr[3] != nil {
		miss := [5]bool{!haveName, !haveShape, !haveType, false, noData}
		return nil, inputSchemaError(i, s.b[start:s.pos], &miss, &fieldErr, dataNotList, data)
	}
	if !t.Datatype.Valid() {
		return nil, status.InvalidInputf("invalid datatype %s for input %s", t.Datatype, t.Name)
	}
	if data == nil {
		if sizeUnset {
			return nil, status.InvalidInputf("'binary_data_size' is not specified for input '%s' for model '%s'", t.Name, model)
		}
		if _, ok := t.Parameters["binary_data_size"]; ok {
			return t, nil // filled from the binary part
		}
		return nil, dataMissing(t.Name, model) // a binary header's input (a JSON one is the 422 above)
	}
	if t.Datatype == FP16 {
		// KServe's two readers word it differently: from_inference_request
		// (a JSON body) says "Sending", from_bytes (a binary body's
		// header) "Receiving".
		verb := "Sending"
		if binary {
			verb = "Receiving"
		}
		return nil, status.InvalidInputf("%s FP16 data via JSON is not supported. Please use the binary data format for input %s", verb, t.Name)
	}
	if parsedAs == t.Datatype {
		return t, nil // parsed as read, and no later "datatype" changed it
	}
	var err error
	if t.Data, err = parseData("input", data, t, false); err != nil { // skip checked the UTF-8
		return nil, err
	}
	return t, nil
}

// nullSize reports whether the parameters object at s.b[at:] holds
// "binary_data_size": null (the last of the key, as orjson keeps it), and
// if so moves s past the object.
func nullSize(s *scanner, at int) bool {
	ps := &scanner{b: s.b, pos: at, checkUTF8: true}
	obj, err := ps.skip()
	if err != nil {
		return false
	}
	var p map[string]json.RawMessage
	if json.Unmarshal(obj, &p) != nil || string(p["binary_data_size"]) != "null" {
		return false
	}
	s.pos = ps.pos
	return true
}

// datatypeField reads a datatype name; the known names map to the
// constants without allocating.
func datatypeField(s *scanner, i int) (Datatype, error) {
	if s.peek() != '"' {
		dt, err := stringField(s, "inputs", i, "datatype") // the 422 for a non-string
		return Datatype(dt), err
	}
	start := s.pos
	v, err := s.str()
	if err != nil {
		return "", jsonInvalid(err)
	}
	for _, d := range Datatypes {
		if string(v) == string(d) {
			return d, nil
		}
	}
	s.pos = start
	dt, err := stringField(s, "inputs", i, "datatype")
	return Datatype(upper(dt)), err
}

// decodeShape appends the dimensions to shape. Every entry that is no
// integer is named in the 422 (only the first where first is set).
func decodeShape(s *scanner, i int, shape []int64, first bool) ([]int64, error) {
	if s.peek() != '[' {
		val, err := s.skip()
		if err != nil {
			return nil, jsonInvalid(err)
		}
		return nil, wrongType("list_type", "Input should be a valid list", val, "inputs", i, "shape")
	}
	s.pos++
	var details []status.ValidationDetail
	for j := 0; !s.consume(']'); j++ {
		if c := s.peek(); c == '-' || (c >= '0' && c <= '9') {
			tok, err := s.number()
			if err != nil {
				return nil, jsonInvalid(err)
			}
			if !validNumber(tok) {
				return nil, jsonInvalid(s.fail(fmt.Sprintf("invalid number %q", tok)))
			}
			d, bad := shapeDim(tok)
			if bad == nil {
				shape = append(shape, d)
			} else if details = append(details, detail(bad.typ, bad.msg, tok, "inputs", i, "shape", j)); first {
				break
			}
		} else {
			elem, err := s.skip()
			if err != nil {
				return nil, jsonInvalid(err)
			}
			d, bad := laxDim(elem)
			if bad == nil {
				shape = append(shape, d)
			} else if details = append(details, detail(bad.typ, bad.msg, elem, "inputs", i, "shape", j)); first {
				break
			}
		}
		if !s.consume(',') {
			if err := s.expect(']'); err != nil {
				return nil, jsonInvalid(err)
			}
			break
		}
	}
	if details != nil {
		return nil, status.Unprocessable(details...)
	}
	return shape, nil
}

// dimError is a pydantic int validation error: its type and message.
type dimError struct{ typ, msg string }

var (
	dimNotInt     = &dimError{"int_type", "Input should be a valid integer"}
	dimUnparsable = &dimError{"int_parsing", "Input should be a valid integer, unable to parse string as an integer"}
	dimTooBig     = &dimError{"int_parsing_size", "Unable to parse input string as an integer, exceeded maximum size"}
	dimInfinite   = &dimError{"finite_number", "Input should be a finite number"}
	dimFractional = &dimError{"int_from_float", "Input should be a valid integer, got a number with a fractional part"}
)

// laxDim reads a shape dimension that is not a JSON number, as pydantic's
// lax int does (KServe's RequestInput.shape is List[int]): true and false
// are 1 and 0, a string is parsed by strDim, anything else (null, a list,
// an object) is int_type. elem is the value's JSON text.
func laxDim(elem []byte) (int64, *dimError) {
	switch {
	case string(elem) == "true":
		return 1, nil
	case string(elem) == "false":
		return 0, nil
	case elem[0] == '"':
		v, err := (&scanner{b: elem}).str()
		if err != nil {
			return 0, dimUnparsable // not reached: skip read the string
		}
		return strDim(v)
	}
	return 0, dimNotInt
}

// strDim parses a string shape dimension as pydantic-core's lax str-to-int
// does: surrounding Unicode white space is dropped; the rest is an
// optional sign and decimal digits, single underscores allowed between
// digits (Python's int()), and may end in a fraction of zeros only ("3.0",
// "3.000"; not "3." nor ".0"). Anything else is int_parsing ("1e3",
// "0x10", "1.5"). A value past int64 is refused with pydantic's words for
// a string too long to parse, as a JSON integer past int64 is (pydantic
// takes integers of any size; no shape needs one). Not followed: what
// pydantic-core takes after leading zeros ("0-1" is -1, "0-_1" too).
func strDim(v []byte) (int64, *dimError) {
	v = bytes.TrimSpace(v) // unicode.IsSpace: the White_Space property, as Rust's str::trim
	if dot := bytes.IndexByte(v, '.'); dot >= 0 {
		frac := v[dot+1:]
		if len(frac) == 0 || len(bytes.Trim(frac, "0")) != 0 {
			return 0, dimUnparsable
		}
		v = v[:dot]
	}
	neg := false
	if len(v) > 0 && (v[0] == '+' || v[0] == '-') {
		neg = v[0] == '-'
		v = v[1:]
	}
	if len(v) == 0 {
		return 0, dimUnparsable
	}
	var u uint64 // the magnitude; past 2^63 it is too big either way
	for k, c := range v {
		if c == '_' {
			if k == 0 || k == len(v)-1 || v[k-1] == '_' {
				return 0, dimUnparsable
			}
			continue
		}
		if c < '0' || c > '9' {
			return 0, dimUnparsable
		}
		if u > (1<<63)/10 {
			return 0, dimTooBig
		}
		u = u*10 + uint64(c-'0')
		if u > 1<<63 {
			return 0, dimTooBig
		}
	}
	switch {
	case neg:
		return -int64(u), nil // u == 2^63 wraps to MinInt64, which it is
	case u == 1<<63:
		return 0, dimTooBig
	}
	return int64(u), nil
}

// shapeDim reads a valid number token as a shape dimension, as pydantic's
// lax int does the number json.loads gives: an integer, or a float with no
// fractional part
// (2.0, 1e3) strictly inside int64's range (pydantic-core's float_as_int).
// pydantic takes integers of any size; a dimension past int64 is refused
// with its words for a float that is.
func shapeDim(tok []byte) (int64, *dimError) {
	d, err := strconv.ParseInt(bstr(tok), 10, 64)
	if err == nil {
		return d, nil
	}
	if isRange(err) {
		return 0, dimTooBig // an integer token past int64
	}
	f, _ := strconv.ParseFloat(bstr(tok), 64) // ±Inf beyond float64, as json.loads
	switch {
	case math.IsInf(f, 0):
		return 0, dimInfinite
	case f != math.Trunc(f):
		return 0, dimFractional
	case f <= math.MinInt64 || f >= -math.MinInt64:
		return 0, dimTooBig
	}
	return int64(f), nil
}

// parseData reads a (possibly nested) JSON list of scalars into the typed
// slice for t's datatype; checkUTF8 refuses strings that are not UTF-8.
func parseData(kind string, text []byte, t *Tensor, checkUTF8 bool) (any, error) {
	// NaN and Infinity reach here only where the request's reader took
	// them (skip); a client reads them from servers that write them.
	return (&dataParser{s: scanner{b: text, checkUTF8: checkUTF8, pyLiterals: true}, t: t, kind: kind}).parse()
}

// errNotFast stops fastData's reader at what only the full reader takes.
var errNotFast = errors.New("not a plain list of numbers")

// fastData parses the input data list at s.pos as parseData would parse the
// text skip returns for it, and how many bytes it took, when the list holds
// only numbers and brackets that skip takes as they are. ok is false
// for anything else: the caller then skips and parses the usual way.
func fastData(s *scanner, t *Tensor) (data any, n int, ok bool) {
	p := &dataParser{s: scanner{b: s.b[s.pos:], pyLiterals: s.pyLiterals}, t: t, kind: "input", fast: true, strict: s.strict}
	d, err := p.parse()
	if err != nil {
		return nil, 0, false
	}
	return d, p.s.pos, true
}

// numeric reports whether d's JSON data is a list of numbers only.
func (d Datatype) numeric() bool {
	switch d {
	case FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64:
		return true
	}
	return false
}

func (p *dataParser) parse() (any, error) {
	t, text := p.t, p.s.b
	n := ShapeSize(t.Shape)
	if n < 0 || n > int64(len(text)) {
		n = 0 // never trust the shape for the allocation size
	}
	switch t.Datatype {
	case FP32:
		out := make([]float32, 0, n)
		err := p.walk(func(tok []byte, str bool) error {
			f, err := p.float(tok, str, 32)
			out = append(out, float32(f))
			return err
		})
		return out, err
	case FP64:
		out := make([]float64, 0, n)
		err := p.walk(func(tok []byte, str bool) error {
			f, err := p.float(tok, str, 64)
			out = append(out, f)
			return err
		})
		return out, err
	case INT8:
		return parseInts[int8](p, n, 8)
	case INT16:
		return parseInts[int16](p, n, 16)
	case INT32:
		return parseInts[int32](p, n, 32)
	case INT64:
		return parseInts[int64](p, n, 64)
	case UINT8:
		return parseUints[uint8](p, n, 8)
	case UINT16:
		return parseUints[uint16](p, n, 16)
	case UINT32:
		return parseUints[uint32](p, n, 32)
	case UINT64:
		return parseUints[uint64](p, n, 64)
	case BOOL:
		out := make([]bool, 0, n)
		err := p.walk(func(tok []byte, str bool) error {
			switch {
			case !str && string(tok) == "true":
				out = append(out, true)
			case !str && string(tok) == "false":
				out = append(out, false)
			default:
				return p.bad(tok, "a boolean")
			}
			return nil
		})
		return out, err
	case BYTES:
		out := make([][]byte, 0, n)
		err := p.walk(func(tok []byte, str bool) error {
			if !str {
				return p.bad(tok, "a string")
			}
			out = append(out, tok)
			return nil
		})
		return out, err
	}
	return nil, status.InvalidInputf("invalid datatype %s for %s %s", t.Datatype, p.kind, t.Name)
}

// DecodeData parses a v2 JSON "data" value — a list, nested or flat, or a
// bare scalar — into the typed slice of d (see Datatype.GoType), as the
// server does for request inputs; clients use it for response outputs.
// Strings that are not UTF-8 are refused.
// kind and name say which tensor it is in errors ("input"/"output").
// BYTES elements alias text.
func DecodeData(kind, name string, d Datatype, shape []int64, text []byte) (any, error) {
	return parseData(kind, text, &Tensor{Name: name, Datatype: d, Shape: shape}, true)
}

type dataParser struct {
	s     scanner
	t     *Tensor
	kind  string // "input" or "output", for errors
	count int
	// fast makes walk stop with errNotFast at anything but a number skip
	// takes as it is (see fastData); strict is the request reader's.
	fast, strict bool
}

func (p *dataParser) bad(tok []byte, want string) error {
	return status.InvalidInputf("%s %s: data element %d is %s, not %s as datatype %s needs", p.kind, p.t.Name, p.count, string(tok), want, p.t.Datatype)
}

func (p *dataParser) float(tok []byte, str bool, bits int) (float64, error) {
	if str {
		return 0, p.bad(strconv.AppendQuote(nil, string(tok)), "a number")
	}
	f, err := strconv.ParseFloat(bstr(tok), bits)
	if err != nil && !isRange(err) {
		if string(tok) == "null" {
			// orjson (KServe's writer, and ours) writes NaN and ±Infinity
			// as null, and KServe's numpy reads None in a float array as
			// nan: a float tensor holding NaN comes out of KServe's
			// transformer, and out of this server, as null, and must read
			// back. (Tested only once ParseFloat has refused the token, so
			// numbers pay nothing for it.)
			return math.NaN(), nil
		}
		return 0, p.bad(tok, "a number")
	}
	return f, nil
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// walk calls fn for every scalar of a nested list, in row-major order.
func (p *dataParser) walk(fn func(tok []byte, str bool) error) error {
	s := &p.s
	var rec func(depth int) error
	rec = func(depth int) error {
		if depth > 64 {
			return status.InvalidInputf("%s %s: data nested too deeply", p.kind, p.t.Name)
		}
		switch c := s.peek(); {
		case c == '[':
			s.pos++
			if s.consume(']') {
				return nil
			}
			for {
				if err := rec(depth + 1); err != nil {
					return err
				}
				if s.consume(',') {
					continue
				}
				if err := s.expect(']'); err != nil {
					return jsonInvalid(err)
				}
				return nil
			}
		case p.fast && c != '-' && (c < '0' || c > '9'):
			return errNotFast // a string, a literal, NaN, an object, bad JSON
		case c == '"':
			v, err := s.str()
			if err != nil {
				return jsonInvalid(err)
			}
			err = fn(v, true)
			p.count++
			return err
		case c == 't' || c == 'f' || c == 'n':
			v, err := s.skip()
			if err != nil {
				return jsonInvalid(err)
			}
			err = fn(v, false)
			p.count++
			return err
		case c == '{':
			v, _ := s.skip()
			return p.bad(v, "a scalar")
		case s.atNonFinite():
			v, _ := s.nonFinite()
			err := fn(v, false)
			p.count++
			return err
		default:
			tok, err := s.number()
			if err != nil {
				return jsonInvalid(err)
			}
			if p.fast {
				// What skip would refuse, or check further, the full
				// reader reads.
				if ok, exp := numberForm(tok); !ok || (p.strict && (exp || len(tok) > 308)) {
					return errNotFast
				}
			}
			err = fn(tok, false)
			p.count++
			return err
		}
	}
	if s.peek() != '[' {
		// A bare scalar is one element (pydantic accepts it as data).
		return rec(0)
	}
	return rec(0)
}

func parseInts[T int8 | int16 | int32 | int64](p *dataParser, n int64, bits int) ([]T, error) {
	out := make([]T, 0, n)
	err := p.walk(func(tok []byte, str bool) error {
		if str {
			return p.bad(strconv.AppendQuote(nil, string(tok)), "an integer")
		}
		v, err := strconv.ParseInt(bstr(tok), 10, bits)
		if err != nil && bits == 64 && isRange(err) {
			// An integer written out beyond int64 must not go through
			// float64, which rounds -9223372036854775809 to -2^63.
			return p.bad(tok, "an integer")
		}
		if err != nil {
			// numpy accepts integral floats such as 1.0. The upper bound is
			// 2^63 itself, excluded: float64(math.MaxInt64) rounds up to
			// 2^63, which int64() would wrap to -2^63.
			f, ferr := strconv.ParseFloat(bstr(tok), 64)
			if ferr != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= -math.MinInt64 {
				return p.bad(tok, "an integer")
			}
			v = int64(f)
			if bits < 64 && (v < -(1<<(bits-1)) || v >= 1<<(bits-1)) {
				return p.bad(tok, fmt.Sprintf("an integer in range for %d bits", bits))
			}
		}
		out = append(out, T(v))
		return nil
	})
	return out, err
}

func parseUints[T uint8 | uint16 | uint32 | uint64](p *dataParser, n int64, bits int) ([]T, error) {
	out := make([]T, 0, n)
	err := p.walk(func(tok []byte, str bool) error {
		if str {
			return p.bad(strconv.AppendQuote(nil, string(tok)), "an unsigned integer")
		}
		v, err := strconv.ParseUint(bstr(tok), 10, bits)
		if err != nil {
			return p.bad(tok, "an unsigned integer in range")
		}
		out = append(out, T(v))
		return nil
	})
	return out, err
}

// decodeOutputs reads the requested outputs; a 422 names every broken
// field of every output (only the first where first is set).
func decodeOutputs(s *scanner, req *Request, first bool) error {
	val, err := s.skip()
	if err != nil {
		return jsonInvalid(err)
	}
	ss := &scanner{b: val, pyLiterals: s.pyLiterals}
	if ss.literal("null") {
		return nil
	}
	if ss.peek() != '[' {
		return wrongType("list_type", "Input should be a valid list", val, "outputs")
	}
	ss.pos++
	c := schemaErrors{first: first}
	for i := 0; !ss.consume(']'); i++ {
		start := ss.pos
		if ss.peek() != '{' {
			v, _ := ss.skip()
			if err := c.add(wrongType("model_attributes_type", "Input should be a valid dictionary or object to extract fields from", v, "outputs", i)); err != nil {
				return err
			}
			if !ss.consume(',') {
				break // the value was skipped whole: the list ends here
			}
			continue
		}
		ss.pos++
		var o RequestedOutput
		haveName := false
		var errName, errParams error // pydantic's order: name, parameters
		for !ss.consume('}') {
			k, err := ss.str()
			if err != nil {
				return jsonInvalid(err)
			}
			if err := ss.expect(':'); err != nil {
				return jsonInvalid(err)
			}
			switch string(k) {
			case "name":
				haveName = true
				o.Name, errName = stringField(ss, "outputs", i, "name")
				if err := fatal(errName, first); err != nil {
					return err
				}
			case "parameters":
				o.Parameters, errParams = decodeParameters(ss, first, "outputs", i, "parameters")
				if err := fatal(errParams, first); err != nil {
					return err
				}
			default:
				if _, err := ss.skip(); err != nil {
					return jsonInvalid(err)
				}
			}
			if !ss.consume(',') {
				if err := ss.expect('}'); err != nil {
					return jsonInvalid(err)
				}
				break
			}
		}
		if !haveName {
			errName = missing(ss.b[start:ss.pos], "outputs", i, "name")
		}
		if errName != nil || errParams != nil {
			for _, err := range [...]error{errName, errParams} {
				if err := c.add(err); err != nil {
					return err
				}
			}
		}
		req.Outputs = append(req.Outputs, o)
		if !ss.consume(',') {
			if err := ss.expect(']'); err != nil {
				return jsonInvalid(err)
			}
			break
		}
	}
	return c.err()
}

// attachBinary fills inputs that declare binary_data_size from raw, in order.
func attachBinary(req *Request, raw []byte) error {
	off := 0
	both := "" // the first input with "data" and a binary_data_size
	for _, t := range req.Inputs {
		if t.Data != nil {
			if _, ok := t.Parameters["binary_data_size"]; ok && both == "" {
				both = t.Name
			}
			continue
		}
		size, ok := t.Parameters.Int64("binary_data_size")
		if !ok || size < 0 {
			return status.InvalidInputf("input %s: binary_data_size must be a non-negative integer", t.Name)
		}
		if raw == nil {
			return dataMissing(t.Name, req.ModelName)
		}
		if int64(len(raw)-off) < size {
			return status.InvalidInputf("input %s: binary_data_size is %d but only %d bytes of binary data remain", t.Name, size, len(raw)-off)
		}
		chunk := raw[off : off+int(size)]
		off += int(size)
		data, err := DecodeRaw("input", t.Name, t.Datatype, t.Shape, chunk)
		if err != nil {
			return err
		}
		t.Data = data
		delete(t.Parameters, "binary_data_size")
		if len(t.Parameters) == 0 {
			t.Parameters = nil
		}
	}
	if off != len(raw) && raw != nil {
		msg := fmt.Sprintf("binary data has %d bytes, but the inputs declare %d (binary_data_size)", len(raw), off)
		if both != "" {
			// Its binary_data_size is what the client counted on; KServe's
			// from_bytes reads "data" first and skips it.
			msg += fmt.Sprintf(`: input %s has "data" as well as a binary_data_size, and its "data" is read; send one of the two`, both)
		}
		return status.InvalidInput(msg)
	}
	return nil
}
