package infer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// This file writes JSON the way KServe's server (orjson) does, so bodies are
// byte-identical: compact, floats always with a fraction or exponent, laid
// out as orjson lays them out (1.0, 0.00001, 1e16, 1.5e-7) and NaN/Inf as
// null; and, for the CloudEvents KServe writes with json.dumps, as Python
// does (AppendDumps: floats as repr, 1e-05, 1e+16).

// AppendFloat appends f as KServe's orjson writes it; bits (32 or 64)
// chooses the shortest digits that round-trip at that precision. orjson
// lays the digits out as the Rust ryu crate does, which is not Python's
// repr: with the decimal point kk digits after the first digit, 0 < kk <= 16
// is positional (1000000000000000.0, 12.34), -5 < kk <= 0 is 0.000ddd
// (0.00009999999747378752, where repr says 9.999999747378752e-05), and
// anything else an exponent without '+' or leading zeros (1e16, 1.5e-7,
// 1.7976931348623157e308). KServe 0.20's recorded v2_large answer has
// 0.00009999999747378752.
func AppendFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if abs := math.Abs(f); abs == 0 || (abs >= 2e-5 && abs < 1e15) {
		// Well inside the positional ranges, where strconv's 'f' text is
		// orjson's (the common case, and the cheaper one).
		n := len(b)
		b = strconv.AppendFloat(b, f, 'f', -1, bits)
		if bytes.IndexByte(b[n:], '.') < 0 {
			b = append(b, '.', '0')
		}
		return b
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, bits) // [-]d[.ddd]e±xx
	if e[0] == '-' {
		b = append(b, '-')
		e = e[1:]
	}
	at := bytes.IndexByte(e, 'e')
	var dbuf [24]byte
	digits := append(dbuf[:0], e[0])
	if at > 2 {
		digits = append(digits, e[2:at]...)
	}
	exp := 0
	for _, c := range e[at+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[at+1] == '-' {
		exp = -exp
	}
	n, kk := len(digits), exp+1
	switch {
	case kk >= n && kk <= 16: // an integer: 1234e7 is 12340000000.0
		b = append(b, digits...)
		for i := n; i < kk; i++ {
			b = append(b, '0')
		}
		return append(b, '.', '0')
	case kk > 0 && kk <= 16: // 1234e-2 is 12.34
		b = append(b, digits[:kk]...)
		b = append(b, '.')
		return append(b, digits[kk:]...)
	case kk > -5 && kk <= 0: // 1234e-6 is 0.001234
		b = append(b, '0', '.')
		for i := kk; i < 0; i++ {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
	b = append(b, digits[0])
	if n > 1 {
		b = append(b, '.')
		b = append(b, digits[1:]...)
	}
	b = append(b, 'e')
	return strconv.AppendInt(b, int64(kk-1), 10)
}

// appendRepr appends f (a finite float64) as Python's repr prints it, as
// json.dumps writes floats.
func appendRepr(b []byte, f float64) []byte {
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		return strconv.AppendFloat(b, f, 'e', -1, 64)
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	for _, c := range b[n:] {
		if c == '.' {
			return b
		}
	}
	return append(b, '.', '0')
}

// AppendString appends s as a JSON string (orjson escapes only what JSON
// requires and keeps non-ASCII as UTF-8).
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = appendEscape(append(b, s[start:i]...), c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendJSON appends v in KServe's JSON style. It handles the types
// encoding/json produces when decoding (map[string]any, []any, float64,
// json.Number, string, bool, nil), typed slices, json.RawMessage (compacted
// and normalised), Predictions, *Tensor (its rows as nested lists, see
// AppendRows), and writes others by encoding/json's rules with its floats
// in KServe's style too.
func AppendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return AppendString(b, x), nil
	case float64:
		return AppendFloat(b, x, 64), nil
	case float32:
		return AppendFloat(b, float64(x), 32), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case json.Number:
		return appendNumber(b, []byte(x))
	case json.RawMessage:
		if len(x) == 0 {
			return append(b, "null"...), nil
		}
		return AppendCompact(b, x)
	case Predictions:
		b = append(b, `{"predictions":`...)
		b, err := AppendJSON(b, x.Predictions)
		return append(b, '}'), err
	case *Predictions:
		return AppendJSON(b, *x)
	case *Tensor:
		// A tensor in a v1 answer is its values as nested lists, as KServe
		// answers a numpy array (tolist), not the struct's fields.
		if x == nil {
			return append(b, "null"...), nil
		}
		if err := checkOutput(x); err != nil {
			return b, err
		}
		return AppendRows(b, x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = AppendJSON(b, x[k]); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = AppendJSON(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case []float64:
		return AppendFloats(b, x, 64), nil
	case []float32:
		return AppendFloats(b, x, 32), nil
	case [][]float64:
		return appendNested(b, x, 64), nil
	case [][]float32:
		return appendNested(b, x, 32), nil
	case []string:
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, s)
		}
		return append(b, ']'), nil
	}
	if d := dataLen(v); d >= 0 {
		return appendData(b, v)
	}
	// Anything else (a struct, a typed map, a slice of maps) by
	// encoding/json's rules, but with its floats as orjson writes them
	// (6.0, not 6; NaN and infinities null): a Python client reads a 6
	// as an int where KServe's server gave it a float.
	j, err := jsonv2.Marshal(v, jsonv1.DefaultOptionsV1(), jsonv2.WithMarshalers(jsonv2.JoinMarshalers(
		jsonv2.MarshalToFunc(func(enc *jsontext.Encoder, f float64) error { return appendPyFloat(enc, f, 64) }),
		jsonv2.MarshalToFunc(func(enc *jsontext.Encoder, f float32) error { return appendPyFloat(enc, float64(f), 32) }),
	)))
	if err != nil {
		// A server error (500) in encoding/json's words, which the
		// transport prefixes with the model's name.
		return b, &status.Error{Kind: status.KindInternal, Message: err.Error(), Err: fmt.Errorf("encode response body: %w", err)}
	}
	return AppendCompact(b, j)
}

// appendPyFloat writes f as AppendFloat does, unless a `json:",string"`
// tag asks for it quoted: encoding/json's own rule then applies.
func appendPyFloat(enc *jsontext.Encoder, f float64, bits int) error {
	if quoted, _ := jsonv2.GetOption(enc.Options(), jsonv2.StringifyNumbers); quoted {
		return errors.ErrUnsupported // the default marshaler
	}
	var buf [32]byte
	return enc.WriteValue(AppendFloat(buf[:0], f, bits))
}

// AppendFloats appends x as a JSON list, each number as AppendFloat writes
// float64(v) at bits: 32 for a float32's shortest text, 64 for the float64
// a float32 widens to, as Python writes numpy's float32s after tolist().
func AppendFloats[T float32 | float64](b []byte, x []T, bits int) []byte {
	b = append(b, '[')
	for i, f := range x {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendFloat(b, float64(f), bits)
	}
	return append(b, ']')
}

func appendNested[T float32 | float64](b []byte, x [][]T, bits int) []byte {
	b = append(b, '[')
	for i, row := range x {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendFloats(b, row, bits)
	}
	return append(b, ']')
}

// AppendCompact appends the JSON text src without insignificant space and
// with every non-integer number rewritten as orjson writes the float it
// parses to (so "1.00" and "1e0" become "1.0", as KServe answers).
func AppendCompact(b []byte, src []byte) ([]byte, error) {
	return appendCompact(b, src, false)
}

// AppendCompactRepr is AppendCompact with floats as Python's repr, as
// Starlette's JSONResponse (json.dumps with compact separators, non-ASCII
// kept) writes FastAPI's own answers: a 422's {"detail": [...]}.
func AppendCompactRepr(b []byte, src []byte) ([]byte, error) {
	return appendCompact(b, src, true)
}

func appendCompact(b []byte, src []byte, repr bool) ([]byte, error) {
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) {
				return b, fmt.Errorf("unterminated string in JSON")
			}
			if bytes.IndexByte(src[i+1:j], '\\') < 0 {
				b = append(b, src[i:j+1]...)
			} else {
				// Escapes are written as orjson writes the string they
				// stand for: "\u00e9" becomes "é", "\/" becomes "/".
				s := &scanner{b: src[i : j+1]}
				str, err := s.str()
				if err != nil {
					return b, err
				}
				b = AppendString(b, string(str))
			}
			i = j + 1
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(src) && isNumByte(src[j]) {
				j++
			}
			var err error
			if b, err = appendNumberAs(b, src[i:j], repr); err != nil {
				return b, err
			}
			i = j
		default:
			b = append(b, c)
			i++
		}
	}
	return b, nil
}

func isNumByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// appendNumber writes an integer token as is and a float token as orjson
// writes it (AppendFloat).
func appendNumber(b, tok []byte) ([]byte, error) {
	return appendNumberAs(b, tok, false)
}

// appendNumberAs is appendNumber, with a float token as Python's repr when
// repr is set (json.dumps).
func appendNumberAs(b, tok []byte, repr bool) ([]byte, error) {
	isFloat := false
	for _, c := range tok {
		if c == '.' || c == 'e' || c == 'E' {
			isFloat = true
			break
		}
	}
	if !isFloat {
		return append(b, tok...), nil
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return b, fmt.Errorf("invalid number %q in JSON", tok)
	}
	if repr {
		return appendRepr(b, f), nil
	}
	return AppendFloat(b, f, 64), nil
}

// AppendDumps appends the JSON text src as Python's json.dumps writes the
// value it parses to: ", " and ": " between items, every character outside
// printable ASCII escaped (ensure_ascii, \u00e9, surrogate pairs above the
// BMP), floats as repr (NaN and Infinity as Python spells them). KServe
// writes CloudEvent responses with the cloudevents library, which uses
// json.dumps rather than orjson.
func AppendDumps(b, src []byte) ([]byte, error) {
	s := &scanner{b: src}
	b, err := s.dumps(b)
	if err == nil && !s.end() {
		err = s.fail("extra data after JSON value")
	}
	return b, err
}

func (s *scanner) dumps(b []byte) ([]byte, error) {
	switch c := s.peek(); {
	case c == '"':
		str, err := s.str()
		if err != nil {
			return b, err
		}
		return appendASCIIString(b, str), nil
	case c == '[' || c == '{':
		if err := s.enter(); err != nil {
			return b, err
		}
		s.pos++
		end := byte(']')
		if c == '{' {
			end = '}'
		}
		b = append(b, c)
		for first := true; !s.consume(end); first = false {
			if !first {
				if err := s.expect(','); err != nil {
					return b, err
				}
				b = append(b, ',', ' ')
			}
			if c == '{' {
				k, err := s.str()
				if err != nil {
					return b, err
				}
				b = appendASCIIString(b, k)
				if err := s.expect(':'); err != nil {
					return b, err
				}
				b = append(b, ':', ' ')
			}
			var err error
			if b, err = s.dumps(b); err != nil {
				return b, err
			}
		}
		s.depth--
		return append(b, end), nil
	case c == '-' || (c >= '0' && c <= '9'):
		tok, err := s.number()
		if err != nil {
			return b, err
		}
		if !validNumber(tok) {
			return b, s.fail(fmt.Sprintf("invalid number %q", tok))
		}
		// Out-of-range floats parse to ±Inf (with ErrRange), as in Python.
		if f, _ := strconv.ParseFloat(string(tok), 64); math.IsInf(f, 0) && bytes.ContainsAny(tok, ".eE") {
			if f < 0 {
				return append(b, "-Infinity"...), nil
			}
			return append(b, "Infinity"...), nil
		}
		return appendNumberAs(b, tok, true)
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if s.literal(lit) {
			return append(b, lit...), nil
		}
	}
	if s.pos >= len(s.b) {
		return b, s.fail("unexpected end of JSON input")
	}
	return b, s.fail(fmt.Sprintf("invalid character %s looking for a value", charAt(s.b, s.pos)))
}

// appendASCIIString is Python's py_encode_basestring_ascii.
func appendASCIIString(b, s []byte) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= 0x20 && c < 0x7f && c != '"' && c != '\\':
			b = append(b, c)
			i++
		case c < utf8.RuneSelf:
			b = appendEscape(b, c)
			i++
		default:
			r, n := utf8.DecodeRune(s[i:])
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				b = appendU(appendU(b, r1), r2)
			} else {
				b = appendU(b, r)
			}
			i += n
		}
	}
	return append(b, '"')
}

// appendEscape appends the JSON escape of an ASCII byte that cannot appear
// raw in a string; orjson and json.dumps write the same ones.
func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	}
	return appendU(b, rune(c))
}

// appendU appends \uXXXX (lower-case hex, as Python and orjson write it).
func appendU(b []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	return append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
}
