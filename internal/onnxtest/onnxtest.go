// Package onnxtest writes small ONNX models for the tests of several
// packages, field by field with protowire (onnx.proto's numbers), so no
// model file from outside is needed.
package onnxtest

import (
	"encoding/binary"
	"math"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// ExternalData is y = x·W with x FP32 [batch, 2] and W the 2×2 matrix
// [[1, 2], [3, 4]], stored outside the model in the file location
// (relative to the model's folder), as torch.onnx.export does for models
// over 2 GB. It returns the model and the weights file's bytes.
func ExternalData(location string) (model, weights []byte) {
	for _, v := range []float32{1, 2, 3, 4} {
		weights = binary.LittleEndian.AppendUint32(weights, math.Float32bits(v))
	}
	w := cat(
		varint(1, 2), varint(1, 2), // dims
		varint(2, 1), // data_type FLOAT
		str(8, "W"),  // name
		msg(13, str(1, "location"), str(2, location)),
		msg(13, str(1, "offset"), str(2, "0")),
		msg(13, str(1, "length"), str(2, strconv.Itoa(len(weights)))),
		varint(14, 1), // data_location EXTERNAL
	)
	graph := cat(
		msg(1, str(1, "x"), str(1, "W"), str(2, "y"), str(3, "matmul"), str(4, "MatMul")),
		str(2, "external"),
		protowire.AppendBytes(protowire.AppendTag(nil, 5, protowire.BytesType), w),
		tensor(11, "x"),
		tensor(12, "y"),
	)
	return modelProto(graph), weights
}

// tensor is a ValueInfoProto of an FP32 tensor [batch, 2] in field num.
func tensor(num protowire.Number, name string) []byte {
	return valueInfo(num, name, Float, dim("batch"), dim("2"))
}

func str(num protowire.Number, s string) []byte {
	return protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), s)
}

func varint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func msg(num protowire.Number, fields ...[]byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), cat(fields...))
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// modelProto is a ModelProto of IR version 8 around graph, importing
// opset 13 of the default domain and the opsets given
// (OperatorSetIdProtos).
func modelProto(graph []byte, opsets ...[]byte) []byte {
	return cat(
		varint(1, 8), // ir_version
		str(2, "onnxtest"),
		protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), graph),
		msg(8, varint(2, 13)), // opset 13
		cat(opsets...),
	)
}

// dim is a TensorShapeProto dimension: a size ("3") or a name ("batch").
func dim(d string) []byte {
	if n, err := strconv.ParseUint(d, 10, 64); err == nil {
		return msg(1, varint(1, n))
	}
	return msg(1, str(2, d))
}

// valueInfo is a ValueInfoProto in field num: a tensor of element type
// elem (onnx.proto's TensorProto.DataType) and the given dimensions.
func valueInfo(num protowire.Number, name string, elem uint64, dims ...[]byte) []byte {
	return msg(num, str(1, name), msg(2, msg(1, varint(1, elem), msg(2, dims...))))
}

// ZipMap is what scikit-learn classifiers export by default (skl2onnx's
// zipmap): "scores" = x (FP32 [batch, 3]) and "probabilities", the same
// scores as a sequence of maps from class label (10, 20, 30) to score,
// which the Open Inference Protocol cannot carry.
func ZipMap() []byte {
	labels := cat(str(1, "classlabels_int64s"), varint(8, 10), varint(8, 20), varint(8, 30), varint(20, 7)) // INTS
	seqOfMaps := msg(2, msg(4, msg(1, msg(5, varint(1, 7), msg(2, msg(1, varint(1, 1)))))))                 // sequence(map(int64, tensor(float)))
	x := msg(2, msg(1, varint(1, 1), msg(2, msg(1, str(2, "batch")), msg(1, varint(1, 3)))))                // tensor(float) [batch, 3]
	graph := cat(
		msg(1, str(1, "x"), str(2, "scores"), str(3, "copy"), str(4, "Identity")),
		msg(1, str(1, "x"), str(2, "probabilities"), str(3, "zipmap"), str(4, "ZipMap"), msg(5, labels), str(7, "ai.onnx.ml")),
		str(2, "zipmap"),
		msg(11, str(1, "x"), x),
		msg(12, str(1, "scores"), x),
		msg(12, str(1, "probabilities"), seqOfMaps),
	)
	return modelProto(graph, msg(8, str(1, "ai.onnx.ml"), varint(2, 1)))
}

// Image takes images: pixels FP32 [batch, 3, height, width] (NCHW), each
// of height and width a size ("8") or a dimension name ("height"); it
// answers each channel's mean, pooled FP32 [batch, 3, 1, 1]
// (GlobalAveragePool).
func Image(height, width string) []byte { return ImageNamed("pixels", height, width) }

// ImageNamed is Image with the input named input.
func ImageNamed(input, height, width string) []byte {
	graph := cat(
		msg(1, str(1, input), str(2, "pooled"), str(3, "pool"), str(4, "GlobalAveragePool")),
		str(2, "image"),
		valueInfo(11, input, Float, dim("batch"), dim("3"), dim(height), dim(width)),
		valueInfo(12, "pooled", Float, dim("batch"), dim("3"), dim("1"), dim("1")),
	)
	return modelProto(graph)
}
