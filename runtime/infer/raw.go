package infer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// The raw tensor encoding (raw_input_contents / raw_output_contents, and the
// REST binary extension) is little-endian, row-major; BOOL is one byte per
// element; BYTES is, per element, a 4-byte little-endian length and the bytes.

// fixed is the set of fixed-size element types with a raw byte layout equal
// to their in-memory layout on a little-endian machine.
type fixed interface {
	uint8 | uint16 | uint32 | uint64 | int8 | int16 | int32 | int64 | Float16 | float32 | float64
}

// nativeLittleEndian reports whether this machine stores integers
// little-endian, so raw bytes and Go slices share a layout.
func nativeLittleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// DecodeRaw turns the raw bytes of a tensor into its typed slice (see
// Datatype.GoType). kind and name say which tensor it is in errors
// ("input"/"output"). Numeric data is not copied when raw is suitably
// aligned (the protobuf runtime allocates every bytes field separately, so
// it is); otherwise it is copied once. BYTES elements alias raw.
func DecodeRaw(kind, name string, d Datatype, shape []int64, raw []byte) (any, error) {
	n, ok := elements(shape)
	if !ok {
		return nil, InvalidShape(kind, name, shape)
	}
	if d == BYTES {
		return decodeBytes(kind, name, shape, n, raw)
	}
	size := d.Size()
	if size == 0 {
		return nil, status.InvalidInputf("invalid datatype %s for %s %s", d, kind, name)
	}
	if int64(len(raw)) != n*int64(size) {
		return nil, status.InvalidInputf("%s '%s' with datatype %s and shape %s needs %d bytes of raw contents, but %d were given",
			kind, name, d, FormatShape(shape), n*int64(size), len(raw))
	}
	switch d {
	case BOOL:
		out := make([]bool, n)
		for i, b := range raw {
			out[i] = b != 0
		}
		return out, nil
	case UINT8:
		return raw, nil
	case INT8:
		return view[int8](raw), nil
	case UINT16:
		return view[uint16](raw), nil
	case INT16:
		return view[int16](raw), nil
	case FP16:
		return view[Float16](raw), nil
	case UINT32:
		return view[uint32](raw), nil
	case INT32:
		return view[int32](raw), nil
	case FP32:
		return view[float32](raw), nil
	case UINT64:
		return view[uint64](raw), nil
	case INT64:
		return view[int64](raw), nil
	case FP64:
		return view[float64](raw), nil
	}
	return nil, status.InvalidInputf("invalid datatype %s for %s %s", d, kind, name)
}

// elements is the element count of shape, false when a dimension is
// negative or the product overflows (a hostile shape must not size an
// allocation or wrap around to match the data).
func elements(shape []int64) (int64, bool) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 || d != 0 && n > math.MaxInt64/8/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// view reinterprets b as []T without copying when the machine is
// little-endian and b is aligned for T; otherwise it decodes a copy.
func view[T fixed](b []byte) []T {
	var z T
	size := int(unsafe.Sizeof(z))
	n := len(b) / size
	if n == 0 {
		return []T{}
	}
	if nativeLittleEndian() {
		if uintptr(unsafe.Pointer(&b[0]))%uintptr(unsafe.Alignof(z)) == 0 {
			return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
		}
		out := make([]T, n)
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), len(b)), b)
		return out
	}
	out := make([]T, n)
	// binary.Read cannot fail here: the length matches and T is fixed-size.
	_ = binary.Read(bytes.NewReader(b), binary.LittleEndian, out)
	return out
}

func decodeBytes(kind, name string, shape []int64, n int64, raw []byte) (any, error) {
	// Every element takes at least 4 bytes: the shape cannot make us
	// reserve more than the data can fill.
	out := make([][]byte, 0, min(n, int64(len(raw)/4)))
	for off := 0; off < len(raw); {
		if len(raw)-off < 4 {
			return nil, status.InvalidInputf("%s '%s': raw BYTES contents end inside the 4-byte length of element %d", kind, name, len(out))
		}
		l := int(binary.LittleEndian.Uint32(raw[off:]))
		off += 4
		if l > len(raw)-off {
			return nil, status.InvalidInputf("%s '%s': raw BYTES element %d declares %d bytes, but only %d remain", kind, name, len(out), l, len(raw)-off)
		}
		out = append(out, raw[off:off+l:off+l])
		off += l
	}
	if int64(len(out)) != n {
		return nil, status.InvalidInputf("%s '%s' with datatype BYTES and shape %s needs %d elements, but its raw contents hold %d",
			kind, name, FormatShape(shape), n, len(out))
	}
	return out, nil
}

// EncodeRaw returns the raw bytes of t's data. Numeric data is not copied on
// a little-endian machine: the result aliases t.Data.
func EncodeRaw(t *Tensor) ([]byte, error) {
	switch d := t.Data.(type) {
	case []bool:
		out := make([]byte, len(d))
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
		return out, nil
	case []uint8:
		return d, nil
	case []int8:
		return bytesOf(d), nil
	case []uint16:
		return bytesOf(d), nil
	case []int16:
		return bytesOf(d), nil
	case []Float16:
		return bytesOf(d), nil
	case []uint32:
		return bytesOf(d), nil
	case []int32:
		return bytesOf(d), nil
	case []float32:
		return bytesOf(d), nil
	case []uint64:
		return bytesOf(d), nil
	case []int64:
		return bytesOf(d), nil
	case []float64:
		return bytesOf(d), nil
	case [][]byte:
		size := 0
		for _, e := range d {
			size += 4 + len(e)
		}
		out := make([]byte, 0, size)
		for _, e := range d {
			out = binary.LittleEndian.AppendUint32(out, uint32(len(e)))
			out = append(out, e...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("tensor %q: unsupported data type %T", t.Name, t.Data)
}

func bytesOf[T fixed](d []T) []byte {
	if len(d) == 0 {
		return []byte{}
	}
	if nativeLittleEndian() {
		var z T
		return unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), len(d)*int(unsafe.Sizeof(z)))
	}
	out, _ := binary.Append(nil, binary.LittleEndian, d)
	return out
}
