package batch

import (
	"encoding/binary"
	"fmt"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// geometry describes a tensor as [outer, rows, inner] around its batch
// dimension: outer is the product of the dimensions before it, inner the
// product of those after it. Row r of the tensor is, for each outer index o,
// the inner elements starting at (o*rows + r) * inner.
type geometry struct {
	outer, rows, inner int
}

func geometryOf(shape []int64, dim int) geometry {
	g := geometry{outer: 1, rows: int(shape[dim]), inner: 1}
	for _, d := range shape[:dim] {
		g.outer *= int(d)
	}
	for _, d := range shape[dim+1:] {
		g.inner *= int(d)
	}
	return g
}

// concatTensors joins parts along dim. The parts have been checked to share
// name, datatype, rank and every dimension but dim, so the type assertions
// in concatData cannot fail.
func concatTensors(parts []*infer.Tensor, dim int) *infer.Tensor {
	first := parts[0]
	datas := make([]any, len(parts))
	rows := make([]int, len(parts))
	total := 0
	for i, p := range parts {
		datas[i] = p.Data
		rows[i] = int(p.Shape[dim])
		total += rows[i]
	}
	g := geometryOf(first.Shape, dim)
	shape := append([]int64(nil), first.Shape...)
	shape[dim] = int64(total)
	return &infer.Tensor{
		Name:     first.Name,
		Datatype: first.Datatype,
		Shape:    shape,
		Data:     concatData(datas, g.outer, g.inner, rows, total),
	}
}

func concatData(parts []any, outer, inner int, rows []int, total int) any {
	switch parts[0].(type) {
	case []bool:
		return concatT[bool](parts, outer, inner, rows, total)
	case []uint8:
		return concatT[uint8](parts, outer, inner, rows, total)
	case []uint16:
		return concatT[uint16](parts, outer, inner, rows, total)
	case []uint32:
		return concatT[uint32](parts, outer, inner, rows, total)
	case []uint64:
		return concatT[uint64](parts, outer, inner, rows, total)
	case []int8:
		return concatT[int8](parts, outer, inner, rows, total)
	case []int16:
		return concatT[int16](parts, outer, inner, rows, total)
	case []int32:
		return concatT[int32](parts, outer, inner, rows, total)
	case []int64:
		return concatT[int64](parts, outer, inner, rows, total)
	case []infer.Float16:
		return concatT[infer.Float16](parts, outer, inner, rows, total)
	case []float32:
		return concatT[float32](parts, outer, inner, rows, total)
	case []float64:
		return concatT[float64](parts, outer, inner, rows, total)
	case [][]byte:
		// BYTES elements are slices themselves; the merged tensor shares
		// their backing arrays, which the model must treat as read-only.
		return concatT[[]byte](parts, outer, inner, rows, total)
	}
	panic(fmt.Sprintf("batch: unsupported tensor data %T", parts[0]))
}

func concatT[T any](parts []any, outer, inner int, rows []int, total int) []T {
	out := make([]T, 0, outer*total*inner)
	for o := range outer {
		for i, p := range parts {
			block := rows[i] * inner
			out = append(out, p.([]T)[o*block:(o+1)*block]...)
		}
	}
	return out
}

// splitTensor cuts t along dim into one tensor per entry of rows. Along
// dimension 0 the parts are views of t's data (capacity-limited, so an
// append by one request never writes into another's rows); along any other
// dimension they are copies.
func splitTensor(t *infer.Tensor, dim int, rows []int) []*infer.Tensor {
	g := geometryOf(t.Shape, dim)
	datas := splitData(t.Data, g, rows)
	out := make([]*infer.Tensor, len(rows))
	for i, r := range rows {
		shape := append([]int64(nil), t.Shape...)
		shape[dim] = int64(r)
		out[i] = &infer.Tensor{Name: t.Name, Datatype: t.Datatype, Shape: shape, Parameters: t.Parameters, Data: datas[i]}
	}
	return out
}

func splitData(data any, g geometry, rows []int) []any {
	switch d := data.(type) {
	case []bool:
		return splitT(d, g, rows)
	case []uint8:
		return splitT(d, g, rows)
	case []uint16:
		return splitT(d, g, rows)
	case []uint32:
		return splitT(d, g, rows)
	case []uint64:
		return splitT(d, g, rows)
	case []int8:
		return splitT(d, g, rows)
	case []int16:
		return splitT(d, g, rows)
	case []int32:
		return splitT(d, g, rows)
	case []int64:
		return splitT(d, g, rows)
	case []infer.Float16:
		return splitT(d, g, rows)
	case []float32:
		return splitT(d, g, rows)
	case []float64:
		return splitT(d, g, rows)
	case [][]byte:
		return splitT(d, g, rows)
	}
	panic(fmt.Sprintf("batch: unsupported tensor data %T", data))
}

func splitT[T any](data []T, g geometry, rows []int) []any {
	out := make([]any, len(rows))
	start := 0 // first row of the current part
	for i, r := range rows {
		if g.outer == 1 {
			lo, hi := start*g.inner, (start+r)*g.inner
			out[i] = data[lo:hi:hi]
		} else {
			part := make([]T, 0, g.outer*r*g.inner)
			for o := range g.outer {
				base := (o*g.rows + start) * g.inner
				part = append(part, data[base:base+r*g.inner]...)
			}
			out[i] = part
		}
		start += r
	}
	return out
}

// appendValue appends an unambiguous encoding of a tensor's data to key, so
// that requests whose unbatched inputs hold different values never share a
// batch.
func appendValue(key []byte, data any) []byte {
	if b, ok := data.([][]byte); ok {
		key = binary.AppendUvarint(key, uint64(len(b)))
		for _, e := range b {
			key = binary.AppendUvarint(key, uint64(len(e)))
			key = append(key, e...)
		}
		return key
	}
	// Every other element type has a fixed size (Float16 is a uint16), which
	// binary.Append encodes; the shape is already part of the key.
	out, err := binary.Append(key, binary.LittleEndian, data)
	if err != nil {
		panic(fmt.Sprintf("batch: encode %T: %v", data, err))
	}
	return out
}
