package onnxtest

// ScalarOutput answers a scalar: x FP32 [1] squeezed to "sq" FP32 []
// (rank 0), which ONNX Runtime's Go binding cannot read back.
func ScalarOutput() []byte {
	graph := cat(
		msg(1, str(1, "x"), str(2, "sq"), str(3, "squeeze"), str(4, "Squeeze")),
		str(2, "scalar"),
		valueInfo(11, "x", Float, dim("1")),
		valueInfo(12, "sq", Float),
	)
	return modelProto(graph)
}
