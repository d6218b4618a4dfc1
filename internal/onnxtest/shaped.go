package onnxtest

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
		shape = append(shape, dim(d))
	}
	graph := cat(
		msg(1, str(1, "x"), str(2, "y"), str(3, "copy"), str(4, "Identity")),
		str(2, "shaped"),
		valueInfo(11, "x", elem, shape...),
		valueInfo(12, "y", elem, shape...),
	)
	return modelProto(graph)
}
