package onnxtest

import (
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// ONNX element types (onnx.proto's TensorProto.DataType) for Shaped.
const (
	Float = 1
	Int64 = 7
)

// Shaped copies input "x" to output "y" (Identity), both of element type
// elem and the shape dims, each a size ("3") or a dimension name
// ("batch"): a model whose output has the shape of a detector's map, a
// sequence or a classifier's scores, as a test needs.
func Shaped(elem uint64, dims ...string) []byte {
	var shape [][]byte
	for _, d := range dims {
		if n, err := strconv.ParseUint(d, 10, 64); err == nil {
			shape = append(shape, msg(1, varint(1, n)))
		} else {
			shape = append(shape, msg(1, str(2, d)))
		}
	}
	tensor := func(num protowire.Number, name string) []byte {
		return msg(num, str(1, name), msg(2, msg(1, varint(1, elem), msg(2, shape...))))
	}
	graph := cat(
		msg(1, str(1, "x"), str(2, "y"), str(3, "copy"), str(4, "Identity")),
		str(2, "shaped"),
		tensor(11, "x"),
		tensor(12, "y"),
	)
	return cat(
		varint(1, 8),
		str(2, "onnxtest"),
		protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), graph),
		msg(8, varint(2, 13)),
	)
}
