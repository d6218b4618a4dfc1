package onnxtest

import "google.golang.org/protobuf/encoding/protowire"

// ScalarOutput answers a scalar: x FP32 [1] squeezed to "sq" FP32 []
// (rank 0), which ONNX Runtime's Go binding cannot read back.
func ScalarOutput() []byte {
	tensor := func(num protowire.Number, name string, dims ...[]byte) []byte {
		return msg(num, str(1, name), msg(2, msg(1, varint(1, 1), msg(2, dims...))))
	}
	graph := cat(
		msg(1, str(1, "x"), str(2, "sq"), str(3, "squeeze"), str(4, "Squeeze")),
		str(2, "scalar"),
		tensor(11, "x", msg(1, varint(1, 1))),
		tensor(12, "sq"),
	)
	return cat(
		varint(1, 8),
		str(2, "onnxtest"),
		protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), graph),
		msg(8, varint(2, 13)),
	)
}
