// Package infer holds the Open Inference Protocol (v2) data model shared by
// every transport: typed tensors, requests and responses, and their codecs
// (JSON, the binary tensor data extension, KServe v1 payloads).
//
// Tensor data is always kept as a typed Go slice (Datatype.GoType), decoded
// once from the wire and never round-tripped through generic lists.
package infer

import (
	"fmt"
	"math"
)

// Datatype is an Open Inference Protocol tensor datatype name.
type Datatype string

// The datatypes KServe supports (contract §10). There is no BF16.
const (
	BOOL   Datatype = "BOOL"
	UINT8  Datatype = "UINT8"
	UINT16 Datatype = "UINT16"
	UINT32 Datatype = "UINT32"
	UINT64 Datatype = "UINT64"
	INT8   Datatype = "INT8"
	INT16  Datatype = "INT16"
	INT32  Datatype = "INT32"
	INT64  Datatype = "INT64"
	FP16   Datatype = "FP16"
	FP32   Datatype = "FP32"
	FP64   Datatype = "FP64"
	BYTES  Datatype = "BYTES"
)

// Datatypes lists every supported datatype, in protocol order.
var Datatypes = []Datatype{BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES}

// ParseDatatype returns the datatype named s (upper-cased, as KServe does on
// construction) or an error.
func ParseDatatype(s string) (Datatype, error) {
	d := Datatype(upper(s))
	if d.Size() == 0 && d != BYTES {
		return "", fmt.Errorf("invalid datatype %q", s)
	}
	return d, nil
}

func upper(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'a' && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// Size is the byte size of one element in the binary encoding; 0 for BYTES
// (variable length) and for unknown datatypes.
func (d Datatype) Size() int {
	switch d {
	case BOOL, UINT8, INT8:
		return 1
	case UINT16, INT16, FP16:
		return 2
	case UINT32, INT32, FP32:
		return 4
	case UINT64, INT64, FP64:
		return 8
	}
	return 0
}

// Valid reports whether d is a supported datatype.
func (d Datatype) Valid() bool { return d == BOOL || d == BYTES || d.Size() != 0 }

// GoType names the Go slice type that holds tensor data of this datatype.
func (d Datatype) GoType() string {
	switch d {
	case BOOL:
		return "[]bool"
	case UINT8:
		return "[]uint8"
	case UINT16:
		return "[]uint16"
	case UINT32:
		return "[]uint32"
	case UINT64:
		return "[]uint64"
	case INT8:
		return "[]int8"
	case INT16:
		return "[]int16"
	case INT32:
		return "[]int32"
	case INT64:
		return "[]int64"
	case FP16:
		return "[]infer.Float16"
	case FP32:
		return "[]float32"
	case FP64:
		return "[]float64"
	case BYTES:
		return "[][]byte"
	}
	return "unknown"
}

// Float16 is an IEEE 754 half-precision value, kept as its bit pattern.
type Float16 uint16

// Float32 converts h to float32 exactly.
func (h Float16) Float32() float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		frac &= 0x3ff
		return math.Float32frombits(sign | e<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// Float16From converts f to the nearest half-precision value (round to
// nearest even), saturating to ±Inf.
func Float16From(f float32) Float16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	frac := b & 0x7fffff
	if exp == 0xff {
		if frac != 0 {
			return Float16(sign | 0x7e00)
		}
		return Float16(sign | 0x7c00)
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return Float16(sign | 0x7c00)
	}
	if e <= 0 {
		if e < -10 {
			return Float16(sign)
		}
		frac |= 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		v := frac >> shift
		rem := frac & (1<<shift - 1)
		if rem > half || (rem == half && v&1 == 1) {
			v++
		}
		return Float16(sign | uint16(v))
	}
	v := uint32(e)<<10 | frac>>13
	rem := frac & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && v&1 == 1) {
		v++
	}
	return Float16(sign | uint16(v))
}
