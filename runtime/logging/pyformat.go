package logging

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file implements the subset of Python's printf-style "%" formatting that
// logging format strings use: "%(key)[flags][width][.precision]conversion" and
// "%%". A format string is compiled once into a list of ops; formatting then
// only appends into a caller-owned buffer, so the hot path does not allocate.

// spec is one "%(key)..." directive.
type spec struct {
	key      string
	minus    bool // '-': left-justify
	zero     bool // '0': zero-pad numbers
	plus     bool // '+': always print a sign
	space    bool // ' ': blank before positive numbers
	alt      bool // '#': alternate form
	width    int  // -1: none
	prec     int  // -1: none
	conv     byte // s r a d i u o x X e E f F g G c
	plainStr bool // "%(key)s" with no flags: the common fast case
}

// maxWidth bounds a directive's width and precision, as Go's fmt bounds
// them (1e6). Each log line is padded to its width, or a float written to
// its precision: a configuration with "%(message)1000000000000s" made the
// first line allocate until the kernel killed the server, where Python
// reports a MemoryError for every line and goes on.
const maxWidth = 1_000_000

// number reads the decimal digits of format at i (none: 0), saturating
// past maxWidth so that no run of digits overflows, and returns the index
// after them.
func number(format string, i int) (int, int) {
	n := 0
	for ; i < len(format) && isDigit(format[i]); i++ {
		if n <= maxWidth {
			n = n*10 + int(format[i]-'0')
		}
	}
	return n, i
}

// op is a literal run (key == "") or a directive.
type op struct {
	lit  string
	spec *spec
}

// compilePercent parses a Python %-style format that uses mapping keys.
func compilePercent(format string) ([]op, error) {
	var ops []op
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			ops = append(ops, op{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(format); {
		c := format[i]
		if c != '%' {
			lit.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(format) && format[i+1] == '%' {
			lit.WriteByte('%')
			i += 2
			continue
		}
		start := i
		i++
		if i >= len(format) || format[i] != '(' {
			return nil, fmt.Errorf("format %q: directive at offset %d has no %%(name) key", format, start)
		}
		// Python allows nested parentheses in keys ("%({a(b)}i)s" is legal).
		depth := 1
		j := i + 1
		for ; j < len(format) && depth > 0; j++ {
			switch format[j] {
			case '(':
				depth++
			case ')':
				depth--
			}
		}
		if depth != 0 {
			return nil, fmt.Errorf("format %q: unterminated %%( at offset %d", format, start)
		}
		s := &spec{key: format[i+1 : j-1], width: -1, prec: -1}
		i = j
	flags:
		for ; i < len(format); i++ {
			switch format[i] {
			case '-':
				s.minus = true
			case '0':
				s.zero = true
			case '+':
				s.plus = true
			case ' ':
				s.space = true
			case '#':
				s.alt = true
			default:
				break flags
			}
		}
		if i < len(format) && format[i] == '*' {
			return nil, fmt.Errorf("format %q: '*' width needs positional arguments, not allowed with %%(name)", format)
		}
		if w := i; i < len(format) && isDigit(format[i]) {
			if s.width, i = number(format, i); s.width > maxWidth {
				return nil, fmt.Errorf("format %q: width %s at offset %d is larger than %d", format, format[w:i], start, maxWidth)
			}
		}
		if i < len(format) && format[i] == '.' {
			dot := i
			if s.prec, i = number(format, i+1); s.prec > maxWidth {
				return nil, fmt.Errorf("format %q: precision %s at offset %d is larger than %d", format, format[dot+1:i], start, maxWidth)
			}
		}
		// Length modifiers are accepted and ignored by Python.
		for i < len(format) && (format[i] == 'h' || format[i] == 'l' || format[i] == 'L') {
			i++
		}
		if i >= len(format) {
			return nil, fmt.Errorf("format %q: incomplete directive at offset %d", format, start)
		}
		s.conv = format[i]
		if !strings.ContainsRune("sradiuoxXeEfFgGc", rune(s.conv)) {
			return nil, fmt.Errorf("format %q: unsupported conversion %q at offset %d", format, s.conv, i)
		}
		i++
		s.plainStr = s.conv == 's' && s.width < 0 && s.prec < 0
		flush()
		ops = append(ops, op{spec: s})
	}
	flush()
	return ops, nil
}

// formatKeys returns the mapping keys a format string uses, in order.
func formatKeys(ops []op) []string {
	var keys []string
	for _, o := range ops {
		if o.spec != nil {
			keys = append(keys, o.spec.key)
		}
	}
	return keys
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// valKind tags a Python value: str, int or float.
type valKind uint8

const (
	kindStr valKind = iota
	kindInt
	kindFloat
)

// value is a Python value without boxing: b (or s) for str, i for int, f for float.
type value struct {
	kind valKind
	s    string
	b    []byte
	i    int64
	f    float64
}

func strVal(s string) value    { return value{kind: kindStr, s: s} }
func bytesVal(b []byte) value  { return value{kind: kindStr, b: b} }
func intVal(i int64) value     { return value{kind: kindInt, i: i} }
func floatVal(f float64) value { return value{kind: kindFloat, f: f} }

// appendStr appends the str() of v.
func (v value) appendStr(dst []byte) []byte {
	switch v.kind {
	case kindInt:
		return strconv.AppendInt(dst, v.i, 10)
	case kindFloat:
		return appendPyFloat(dst, v.f)
	}
	if v.b != nil {
		return append(dst, v.b...)
	}
	return append(dst, v.s...)
}

// appendSpec formats v as Python's "%" operator would for spec s.
func appendSpec(dst []byte, s *spec, v value) []byte {
	if s.plainStr {
		return v.appendStr(dst)
	}
	start := len(dst)
	numeric := false
	switch s.conv {
	case 's':
		dst = v.appendStr(dst)
		if s.prec >= 0 {
			dst = truncateRunes(dst, start, s.prec)
		}
	case 'r', 'a':
		dst = appendRepr(dst, v, s.conv == 'a')
		if s.prec >= 0 {
			dst = truncateRunes(dst, start, s.prec)
		}
	case 'c':
		if v.kind == kindInt {
			dst = utf8.AppendRune(dst, rune(v.i))
		} else {
			dst = v.appendStr(dst)
		}
	case 'd', 'i', 'u', 'o', 'x', 'X':
		if v.kind == kindStr {
			// Python raises TypeError here; printing the text is more useful in a log.
			dst = v.appendStr(dst)
			break
		}
		numeric = true
		n := v.i
		if v.kind == kindFloat {
			n = int64(v.f) // Python int() truncates toward zero
		}
		dst = appendSign(dst, n < 0, s)
		u := uint64(n)
		if n < 0 {
			u = uint64(-n)
		}
		base := 10
		switch s.conv {
		case 'o':
			base = 8
			if s.alt {
				dst = append(dst, "0o"...)
			}
		case 'x':
			base = 16
			if s.alt {
				dst = append(dst, "0x"...)
			}
		case 'X':
			base = 16
			if s.alt {
				dst = append(dst, "0X"...)
			}
		}
		digitsAt := len(dst)
		dst = strconv.AppendUint(dst, u, base)
		if s.conv == 'X' {
			upper(dst[digitsAt:])
		}
		if s.prec > 0 && len(dst)-digitsAt < s.prec {
			dst = insertPad(dst, digitsAt, s.prec-(len(dst)-digitsAt), '0')
		}
	case 'e', 'E', 'f', 'F', 'g', 'G':
		if v.kind == kindStr {
			dst = v.appendStr(dst)
			break
		}
		numeric = true
		f := v.f
		if v.kind == kindInt {
			f = float64(v.i)
		}
		dst = appendSign(dst, math.Signbit(f) && !math.IsNaN(f), s)
		dst = appendPrintfFloat(dst, math.Abs(f), s)
	}
	return pad(dst, start, s, numeric)
}

func appendSign(dst []byte, neg bool, s *spec) []byte {
	switch {
	case neg:
		return append(dst, '-')
	case s.plus:
		return append(dst, '+')
	case s.space:
		return append(dst, ' ')
	}
	return dst
}

func appendPrintfFloat(dst []byte, f float64, s *spec) []byte {
	if math.IsInf(f, 0) {
		if s.conv >= 'A' && s.conv <= 'Z' {
			return append(dst, "INF"...)
		}
		return append(dst, "inf"...)
	}
	if math.IsNaN(f) {
		if s.conv >= 'A' && s.conv <= 'Z' {
			return append(dst, "NAN"...)
		}
		return append(dst, "nan"...)
	}
	prec := s.prec
	if prec < 0 {
		prec = 6
	}
	switch s.conv {
	case 'f', 'F':
		return strconv.AppendFloat(dst, f, 'f', prec, 64)
	case 'e', 'E':
		return strconv.AppendFloat(dst, f, byte(s.conv), prec, 64)
	default: // g, G: C semantics, precision 0 means 1
		if prec == 0 {
			prec = 1
		}
		fmtc := byte('g')
		if s.conv == 'G' {
			fmtc = 'G'
		}
		return strconv.AppendFloat(dst, f, fmtc, prec, 64)
	}
}

// pad applies width: spaces on the left, on the right with '-', or zeros
// after the sign for numbers with '0'.
func pad(dst []byte, start int, s *spec, numeric bool) []byte {
	if s.width < 0 {
		return dst
	}
	n := utf8.RuneCount(dst[start:])
	if n >= s.width {
		return dst
	}
	fill := s.width - n
	switch {
	case s.minus:
		for ; fill > 0; fill-- {
			dst = append(dst, ' ')
		}
		return dst
	case s.zero && numeric:
		at := start
		if at < len(dst) && (dst[at] == '-' || dst[at] == '+' || dst[at] == ' ') {
			at++
		}
		if s.alt && at+1 < len(dst) && dst[at] == '0' && (dst[at+1] == 'x' || dst[at+1] == 'X' || dst[at+1] == 'o') {
			at += 2
		}
		return insertPad(dst, at, fill, '0')
	default:
		return insertPad(dst, start, fill, ' ')
	}
}

func insertPad(dst []byte, at, n int, c byte) []byte {
	for i := 0; i < n; i++ {
		dst = append(dst, 0)
	}
	copy(dst[at+n:], dst[at:len(dst)-n])
	for i := 0; i < n; i++ {
		dst[at+i] = c
	}
	return dst
}

func truncateRunes(dst []byte, start, n int) []byte {
	i := start
	for k := 0; k < n && i < len(dst); k++ {
		_, size := utf8.DecodeRune(dst[i:])
		i += size
	}
	return dst[:i]
}

func upper(b []byte) {
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
}

// appendPyFloat appends repr(f) as Python 3 prints a float: the shortest
// round-tripping digits, fixed notation for 1e-4 <= |f| < 1e16 (always with a
// fractional part, "12.0"), scientific otherwise ("1e-05", "1.5e+16").
func appendPyFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	a := math.Abs(f)
	if a >= 1e-4 && a < 1e16 {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
		for _, c := range dst[start:] {
			if c == '.' {
				return dst
			}
		}
		return append(dst, ".0"...)
	}
	return strconv.AppendFloat(dst, f, 'e', -1, 64)
}

// appendRepr appends Python's repr() of v; asciiOnly is ascii().
func appendRepr(dst []byte, v value, asciiOnly bool) []byte {
	if v.kind != kindStr {
		return v.appendStr(dst)
	}
	s := v.s
	if v.b != nil {
		s = string(v.b)
	}
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	dst = append(dst, q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\n':
			dst = append(dst, `\n`...)
		case r == '\r':
			dst = append(dst, `\r`...)
		case r == '\t':
			dst = append(dst, `\t`...)
		case r < 0x20 || r == 0x7f:
			dst = append(dst, `\x`...)
			dst = appendHex(dst, uint64(r), 2)
		case asciiOnly && r > 0x7f:
			switch {
			case r <= 0xff:
				dst = append(dst, `\x`...)
				dst = appendHex(dst, uint64(r), 2)
			case r <= 0xffff:
				dst = append(dst, `\u`...)
				dst = appendHex(dst, uint64(r), 4)
			default:
				dst = append(dst, `\U`...)
				dst = appendHex(dst, uint64(r), 8)
			}
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return append(dst, q)
}

func appendHex(dst []byte, u uint64, width int) []byte {
	const hexdigits = "0123456789abcdef"
	for i := width - 1; i >= 0; i-- {
		dst = append(dst, hexdigits[(u>>(4*uint(i)))&0xf])
	}
	return dst
}
