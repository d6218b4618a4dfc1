package generator

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of onnx.proto (ModelProto and the messages it holds).
const (
	modelIRVersion, modelProducer, modelGraph, modelOpset = 1, 2, 7, 8
	opsetVersion                                          = 2
	graphNode, graphName, graphInit, graphIn, graphOut    = 1, 2, 5, 11, 12
	nodeIn, nodeOut, nodeName, nodeOp, nodeAttr           = 1, 2, 3, 4, 5
	tensorDims, tensorType, tensorName, tensorRaw         = 1, 2, 8, 9
	valueName, valueType                                  = 1, 2
	typeTensor, ttElem, ttShape, shapeDim                 = 1, 1, 2, 1
	dimValue, dimParam                                    = 1, 2
	onnxFloat, onnxBool, onnxFloat16                      = 1, 9, 10
	irVersion, opset                                      = 8, 13
)

// SampleLabels names the sample model's three classes (the iris species),
// written as model/labels.txt for the classification extension.
const SampleLabels = "setosa\nversicolor\nvirginica\n"

// SampleONNXModel returns the sample model the onnx template ships as
// model/model.onnx, so the project serves and tests before the user brings
// a real model: a linear classifier over 4 features (the shape of the iris
// data set), probs = softmax(input·W + B), with input "input" FP32
// [batch, 4] and output "probs" FP32 [batch, 3]. It is written field by
// field with protowire, so no ONNX tooling is needed. The generated
// model_test.go holds the same weights for its reference computation.
func SampleONNXModel() []byte {
	w := []float32{ // 4×3, row-major
		0.4, 0.1, -0.5,
		1.0, -0.3, -0.7,
		-1.2, 0.2, 1.0,
		-1.0, -0.2, 1.2,
	}
	b := []float32{0.5, 1.0, -1.5}
	var g []byte
	g = appendNode(g, "MatMul", "matmul", []string{"input", "W"}, "logits_nobias")
	g = appendNode(g, "Add", "bias", []string{"logits_nobias", "B"}, "logits")
	g = appendNode(g, "Softmax", "softmax", []string{"logits"}, "probs")
	g = protowire.AppendTag(g, graphName, protowire.BytesType)
	g = protowire.AppendString(g, "sample-classifier")
	g = appendMessage(g, graphInit, initializer("W", []int64{4, 3}, w))
	g = appendMessage(g, graphInit, initializer("B", []int64{3}, b))
	g = appendMessage(g, graphIn, valueInfo("input", onnxFloat, "batch", 4))
	g = appendMessage(g, graphOut, valueInfo("probs", onnxFloat, "batch", 3))
	return modelProto(g)
}

// modelProto wraps a GraphProto into a ModelProto of IR version 8, opset 13.
func modelProto(g []byte) []byte {
	var m []byte
	m = protowire.AppendTag(m, modelIRVersion, protowire.VarintType)
	m = protowire.AppendVarint(m, irVersion)
	m = protowire.AppendTag(m, modelProducer, protowire.BytesType)
	m = protowire.AppendString(m, "kserve-gen")
	m = appendMessage(m, modelGraph, g)
	var op []byte
	op = protowire.AppendTag(op, opsetVersion, protowire.VarintType)
	op = protowire.AppendVarint(op, opset)
	return appendMessage(m, modelOpset, op)
}

func appendMessage(b []byte, field protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

// appendNode appends a NodeProto; attrs are AttributeProto messages.
func appendNode(b []byte, op, name string, inputs []string, output string, attrs ...[]byte) []byte {
	var n []byte
	for _, in := range inputs {
		n = protowire.AppendTag(n, nodeIn, protowire.BytesType)
		n = protowire.AppendString(n, in)
	}
	n = protowire.AppendTag(n, nodeOut, protowire.BytesType)
	n = protowire.AppendString(n, output)
	n = protowire.AppendTag(n, nodeName, protowire.BytesType)
	n = protowire.AppendString(n, name)
	n = protowire.AppendTag(n, nodeOp, protowire.BytesType)
	n = protowire.AppendString(n, op)
	for _, a := range attrs {
		n = appendMessage(n, nodeAttr, a)
	}
	return appendMessage(b, graphNode, n)
}

func initializer(name string, dims []int64, data []float32) []byte {
	var t []byte
	for _, d := range dims {
		t = protowire.AppendTag(t, tensorDims, protowire.VarintType)
		t = protowire.AppendVarint(t, uint64(d))
	}
	t = protowire.AppendTag(t, tensorType, protowire.VarintType)
	t = protowire.AppendVarint(t, onnxFloat)
	t = protowire.AppendTag(t, tensorName, protowire.BytesType)
	t = protowire.AppendString(t, name)
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	t = protowire.AppendTag(t, tensorRaw, protowire.BytesType)
	return protowire.AppendBytes(t, raw)
}

// valueInfo describes a tensor of element type elem and shape
// [batchParam, width].
func valueInfo(name string, elem uint64, batchParam string, width int64) []byte {
	var batch, feat, shape, tt, typ, v []byte
	batch = protowire.AppendTag(batch, dimParam, protowire.BytesType)
	batch = protowire.AppendString(batch, batchParam)
	feat = protowire.AppendTag(feat, dimValue, protowire.VarintType)
	feat = protowire.AppendVarint(feat, uint64(width))
	shape = appendMessage(shape, shapeDim, batch)
	shape = appendMessage(shape, shapeDim, feat)
	tt = protowire.AppendTag(tt, ttElem, protowire.VarintType)
	tt = protowire.AppendVarint(tt, elem)
	tt = appendMessage(tt, ttShape, shape)
	typ = appendMessage(typ, typeTensor, tt)
	v = protowire.AppendTag(v, valueName, protowire.BytesType)
	v = protowire.AppendString(v, name)
	return appendMessage(v, valueType, typ)
}
