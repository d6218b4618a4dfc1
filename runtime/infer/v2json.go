package infer

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// appendData appends typed tensor data as a flat JSON list.
func appendData(b []byte, data any) ([]byte, error) {
	b = append(b, '[')
	switch d := data.(type) {
	case []float32:
		for i, v := range d {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendFloat(b, float64(v), 32)
		}
	case []float64:
		for i, v := range d {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendFloat(b, v, 64)
		}
	case []int64:
		b = appendInts(b, d)
	case []int32:
		b = appendInts(b, d)
	case []int16:
		b = appendInts(b, d)
	case []int8:
		b = appendInts(b, d)
	case []uint64:
		b = appendUints(b, d)
	case []uint32:
		b = appendUints(b, d)
	case []uint16:
		b = appendUints(b, d)
	case []uint8:
		b = appendUints(b, d)
	case []bool:
		for i, v := range d {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendBool(b, v)
		}
	case [][]byte:
		for i, v := range d {
			if i > 0 {
				b = append(b, ',')
			}
			// A v2 output was checked with its name (checkUTF8); this
			// catches the rest, a v1 answer's BYTES, which would otherwise
			// reach the client with U+FFFD in place of the bytes.
			if !utf8.Valid(v) {
				return b, status.InferenceError(fmt.Sprintf(`Failed to encode "%s" using UTF-8: JSON carries text only; send other bytes as a Raw answer, base64 text, or the v2 binary extension`, pyBytesRepr(v, 64)), "")
			}
			b = AppendString(b, string(v))
		}
	case []Float16:
		for i, v := range d {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendFloat(b, float64(v.Float32()), 32)
		}
	}
	return append(b, ']'), nil
}

func appendInts[T int8 | int16 | int32 | int64](b []byte, d []T) []byte {
	for i, v := range d {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return b
}

func appendUints[T uint8 | uint16 | uint32 | uint64](b []byte, d []T) []byte {
	for i, v := range d {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return b
}

// appendParameters appends a parameters object, or null when empty.
func appendParameters(b []byte, p Parameters) ([]byte, error) {
	if len(p) == 0 {
		return append(b, "null"...), nil
	}
	m := make(map[string]any, len(p))
	for k, v := range p {
		m[k] = v
	}
	return AppendJSON(b, m)
}

func appendShape(b []byte, shape []int64) []byte {
	b = append(b, '[')
	for i, d := range shape {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, d, 10)
	}
	return append(b, ']')
}

func appendNullableString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return AppendString(b, s)
}
