package infer

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// scanner is a small JSON reader over a byte slice, used by the v2 request
// decoder to parse tensor data straight into typed slices.
type scanner struct {
	b     []byte
	pos   int
	depth int // arrays and objects skip is inside
	// depthLimit, when set, replaces maxDepth: orjsonMaxDepth for the
	// readers that stand in for orjson.loads.
	depthLimit int
	// checkUTF8 makes invalid UTF-8 in a string an error rather than
	// bytes that end up as U+FFFD (KServe's v2 bodies go through
	// json.loads, whose UTF-8 decoding refuses them).
	checkUTF8 bool
	// strict reads JSON as orjson.loads does (KServe's v1 bodies): on top
	// of checkUTF8, a number beyond float64's range and a lone surrogate
	// escape ("\ud800") are errors rather than ±Inf and U+FFFD.
	strict bool
	// pyLiterals takes NaN, Infinity and -Infinity as numbers, as Python's
	// json.loads does: FastAPI reads KServe's v2 JSON bodies with it, and
	// Python clients write them (json.dumps(float("nan")) is NaN).
	pyLiterals bool
}

// atNonFinite reports whether NaN, Infinity or -Infinity is next and
// pyLiterals takes it.
func (s *scanner) atNonFinite() bool {
	if !s.pyLiterals {
		return false
	}
	switch s.peek() {
	case 'N', 'I', '-': // the three prefix tests only where one can match
	default:
		return false
	}
	rest := s.b[s.pos:]
	return bytes.HasPrefix(rest, []byte("NaN")) || bytes.HasPrefix(rest, []byte("Infinity")) || bytes.HasPrefix(rest, []byte("-Infinity"))
}

// nonFinite reads NaN, Infinity or -Infinity when atNonFinite, and returns
// its text.
func (s *scanner) nonFinite() ([]byte, bool) {
	if !s.atNonFinite() {
		return nil, false
	}
	start := s.pos
	if !s.literal("NaN") && !s.literal("Infinity") {
		s.literal("-Infinity")
	}
	return s.b[start:s.pos], true
}

// maxDepth bounds how deeply skip follows nested arrays and objects, as
// encoding/json does (its maxNestingDepth). skip recurses: unbounded, a
// 10 MB body of "[" grew one goroutine's stack past Go's 1 GB limit, a
// fatal error that took the whole server down.
const maxDepth = 10000

// orjsonMaxDepth is how deeply orjson.loads, which reads KServe's v1
// bodies and JSON CloudEvent data, lets arrays and objects nest, the
// outermost counting: its yyjson-recursion-limit.patch (orjson 3.9.15 on;
// KServe 0.16 locks 3.10.16) fails a container once container_depth
// reaches YYJSON_READER_CONTAINER_RECURSION_LIMIT, 1024, but yyjson's
// read_root_minify and read_root_pretty enter the root container without
// counting it, so the 1025th level is the first refused (orjson's own
// test_loads_recursion_valid_limit_* refuse 1025 levels).
const orjsonMaxDepth = 1024

// enter counts one more array or object open, or fails naming the limit.
func (s *scanner) enter() error {
	limit := maxDepth
	if s.depthLimit > 0 {
		limit = s.depthLimit
	}
	if s.depth == limit {
		return s.fail(fmt.Sprintf("JSON nested deeper than %d levels", limit))
	}
	s.depth++
	return nil
}

type syntaxError struct {
	msg     string
	pos     int
	badUTF8 bool // invalid UTF-8 in a string (checkUTF8)
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.pos) }

func (s *scanner) fail(msg string) error { return &syntaxError{msg: msg, pos: s.pos} }

// charAt quotes the character that starts at b[pos] for an error message
// as the client wrote it: the whole UTF-8 sequence ('“', a word
// processor's quote, where %q of its first byte reads 'â'), a byte that
// starts no UTF-8 character in hex ('\xe9'), and the byte order mark by
// name, which editors on Windows put before JSON and JSON forbids.
func charAt(b []byte, pos int) string {
	r, size := utf8.DecodeRune(b[pos:])
	switch {
	case r == utf8.RuneError && size <= 1:
		return fmt.Sprintf(`'\x%02x'`, b[pos])
	case r == '\uFEFF':
		return `'\ufeff' (a UTF-8 byte order mark)`
	}
	return strconv.QuoteRune(r)
}

func (s *scanner) ws() {
	// Most JSON a client sends has no space between tokens: one test,
	// inlined into every caller, instead of the loop.
	if s.pos < len(s.b) && s.b[s.pos] > ' ' {
		return
	}
	s.wsLoop()
}

func (s *scanner) wsLoop() {
	for s.pos < len(s.b) {
		switch s.b[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos >= len(s.b) {
		return 0
	}
	return s.b[s.pos]
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		if s.pos >= len(s.b) {
			return s.fail("unexpected end of JSON input")
		}
		return s.fail(fmt.Sprintf("expected %q, found %s", c, charAt(s.b, s.pos)))
	}
	s.pos++
	return nil
}

// end reports whether nothing but white space is left. (peek's 0 cannot
// tell: a NUL byte in the text reads as 0 too.)
func (s *scanner) end() bool {
	s.ws()
	return s.pos >= len(s.b)
}

// consume skips c if it is next and reports whether it did.
func (s *scanner) consume(c byte) bool {
	if s.peek() == c {
		s.pos++
		return true
	}
	return false
}

// str reads a JSON string. The result aliases the input when it has no
// escapes.
func (s *scanner) str() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.fail("expected string")
	}
	s.pos++
	start := s.pos
	for s.pos < len(s.b) {
		c := s.b[s.pos]
		if c == '"' {
			out := s.b[start:s.pos]
			s.pos++
			return out, nil
		}
		if c == '\\' {
			return s.strSlow(start)
		}
		if c < 0x20 {
			return nil, s.fail("control character in string")
		}
		if c >= utf8.RuneSelf && s.checkUTF8 {
			n, err := s.utf8Rune()
			if err != nil {
				return nil, err
			}
			s.pos += n
			continue
		}
		s.pos++
	}
	return nil, s.fail("unterminated string")
}

// utf8Rune returns the length of the UTF-8 sequence at s.pos, or the error
// for invalid UTF-8 there.
func (s *scanner) utf8Rune() (int, error) {
	r, n := utf8.DecodeRune(s.b[s.pos:])
	if r == utf8.RuneError && n == 1 {
		return 0, &syntaxError{msg: fmt.Sprintf("invalid UTF-8 byte %#02x in string", s.b[s.pos]), pos: s.pos, badUTF8: true}
	}
	return n, nil
}

func (s *scanner) strSlow(start int) ([]byte, error) {
	out := append([]byte(nil), s.b[start:s.pos]...)
	for s.pos < len(s.b) {
		c := s.b[s.pos]
		switch {
		case c == '"':
			s.pos++
			return out, nil
		case c < 0x20:
			return nil, s.fail("control character in string")
		case c >= utf8.RuneSelf && s.checkUTF8:
			n, err := s.utf8Rune()
			if err != nil {
				return nil, err
			}
			out = append(out, s.b[s.pos:s.pos+n]...)
			s.pos += n
			continue
		case c != '\\':
			out = append(out, c)
			s.pos++
			continue
		}
		if s.pos+1 >= len(s.b) {
			break
		}
		e := s.b[s.pos+1]
		s.pos += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			v, ok := s.hex4()
			if !ok {
				return nil, s.fail("invalid \\u escape")
			}
			r := v
			at := s.pos - 6
			if utf16.IsSurrogate(r) {
				r = utf8.RuneError
				// A high surrogate pairs with a following low one; any
				// other escape after it is a character of its own (as in
				// encoding/json and Python).
				if s.pos+1 < len(s.b) && s.b[s.pos] == '\\' && s.b[s.pos+1] == 'u' {
					back := s.pos
					s.pos += 2
					r2, ok := s.hex4()
					if !ok {
						return nil, s.fail("invalid \\u escape")
					}
					if r = utf16.DecodeRune(rune(v), r2); r == utf8.RuneError {
						s.pos = back
					}
				}
				if r == utf8.RuneError && s.strict {
					return nil, &syntaxError{msg: fmt.Sprintf("lone surrogate \\u%04x in string", v), pos: at}
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, s.fail("invalid escape")
		}
	}
	return nil, s.fail("unterminated string")
}

func (s *scanner) hex4() (rune, bool) {
	if s.pos+4 > len(s.b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s.b[s.pos:s.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	s.pos += 4
	return rune(v), true
}

// number returns the next number token.
func (s *scanner) number() ([]byte, error) {
	s.ws()
	start := s.pos
	for s.pos < len(s.b) && isNumByte(s.b[s.pos]) {
		s.pos++
	}
	if s.pos == start {
		if s.pos >= len(s.b) {
			return nil, s.fail("unexpected end of JSON input")
		}
		return nil, s.fail(fmt.Sprintf("invalid character %s looking for a number", charAt(s.b, s.pos)))
	}
	return s.b[start:s.pos], nil
}

func (s *scanner) literal(lit string) bool {
	s.ws()
	if len(s.b)-s.pos >= len(lit) && string(s.b[s.pos:s.pos+len(lit)]) == lit {
		s.pos += len(lit)
		return true
	}
	return false
}

// skip skips one JSON value and returns its text.
func (s *scanner) skip() ([]byte, error) {
	s.ws()
	start := s.pos
	if tok, ok := s.nonFinite(); ok {
		return tok, nil
	}
	switch c := s.peek(); {
	case c == '"':
		if _, err := s.str(); err != nil {
			return nil, err
		}
	case c == '{' || c == '[':
		if err := s.enter(); err != nil {
			return nil, err
		}
		err := s.skipContainer(c)
		s.depth--
		if err != nil {
			return nil, err
		}
	case c == 't':
		if !s.literal("true") {
			return nil, s.fail("invalid literal")
		}
	case c == 'f':
		if !s.literal("false") {
			return nil, s.fail("invalid literal")
		}
	case c == 'n':
		if !s.literal("null") {
			return nil, s.fail("invalid literal")
		}
	case c == '-' || (c >= '0' && c <= '9'):
		tok, err := s.number()
		if err != nil {
			return nil, err
		}
		ok, exp := numberForm(tok)
		if !ok {
			return nil, s.fail(fmt.Sprintf("invalid number %q", tok))
		}
		// Without an exponent, 308 characters hold less than 1e308.
		if s.strict && (exp || len(tok) > 308) && !finiteNumber(tok) {
			return nil, &syntaxError{msg: fmt.Sprintf("number %s is beyond the range of a float64", clip(tok)), pos: start}
		}
	case c == 0 && s.pos >= len(s.b):
		return nil, s.fail("unexpected end of JSON input")
	default:
		return nil, s.fail(fmt.Sprintf("invalid character %s looking for beginning of value", charAt(s.b, s.pos)))
	}
	return s.b[start:s.pos], nil
}

// validNumber checks the JSON number grammar.
func validNumber(t []byte) bool {
	ok, _ := numberForm(t)
	return ok
}

// numberForm checks the JSON number grammar (ok), and says whether t has
// an exponent.
func numberForm(t []byte) (ok, exp bool) {
	i := 0
	if i < len(t) && t[i] == '-' {
		i++
	}
	if i >= len(t) {
		return false, false
	}
	if t[i] == '0' {
		i++
	} else if t[i] >= '1' && t[i] <= '9' {
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
	} else {
		return false, false
	}
	if i < len(t) && t[i] == '.' {
		i++
		d := i
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		if i == d {
			return false, false
		}
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		exp = true
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		d := i
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		if i == d {
			return false, false
		}
	}
	return i == len(t), exp
}

// finiteNumber reports whether the valid number token t is finite as a
// float64 (orjson refuses others: "number is infinity when parsed as
// double").
func finiteNumber(t []byte) bool {
	f, _ := strconv.ParseFloat(bstr(t), 64)
	return !math.IsInf(f, 0)
}

// clip shortens a token quoted in an error message to its first 32 bytes.
func clip(tok []byte) string {
	if len(tok) > 32 {
		return fmt.Sprintf("%s... (%d bytes)", tok[:32], len(tok))
	}
	return string(tok)
}

// bstr views b as a string without copying; the string must not outlive a
// change to b (it is only passed to strconv parsers).
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// skipContainer skips the object or array that opens with c at s.pos.
func (s *scanner) skipContainer(c byte) error {
	s.pos++
	if c == '[' {
		if s.consume(']') {
			return nil
		}
		for {
			if _, err := s.skip(); err != nil {
				return err
			}
			if !s.consume(',') {
				return s.expect(']')
			}
		}
	}
	if s.consume('}') {
		return nil
	}
	for {
		if _, err := s.str(); err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if _, err := s.skip(); err != nil {
			return err
		}
		if !s.consume(',') {
			return s.expect('}')
		}
	}
}

// members reads a JSON object, calling each with every member's key and
// the text of its value (a repeated key is reported each time).
func (s *scanner) members(each func(k, v []byte)) error {
	if s.peek() == '{' {
		// The object counts towards the depth limit, as it does for
		// orjson.
		if err := s.enter(); err != nil {
			return err
		}
		defer func() { s.depth-- }()
	}
	if err := s.expect('{'); err != nil {
		return err
	}
	for !s.consume('}') {
		k, err := s.str()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		v, err := s.skip()
		if err != nil {
			return err
		}
		each(k, v)
		if !s.consume(',') {
			return s.expect('}')
		}
	}
	return nil
}

// ValidJSON reports whether b is one JSON value that orjson.loads accepts:
// UTF-8, no number beyond float64's range, no lone surrogate escape
// (nesting bounded at orjson's 1024 levels).
func ValidJSON(b []byte) bool { return CheckJSON(b) == nil }

// CheckJSON is ValidJSON with the reason b is not valid JSON: what was
// found, and where.
func CheckJSON(b []byte) error {
	s := &scanner{b: b, checkUTF8: true, strict: true, depthLimit: orjsonMaxDepth}
	if _, err := s.skip(); err != nil {
		return err
	}
	if !s.end() {
		return s.fail("extra data after JSON value")
	}
	if !utf8.Valid(b) {
		return errors.New("the data is not valid UTF-8")
	}
	return nil
}
