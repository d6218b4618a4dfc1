package generator

import "google.golang.org/protobuf/encoding/protowire"

// ScorerONNXModel is a two-input model for the golden project of a user's
// model: sum = features + bias and above = features > bias, with
// features FP32 [batch, 4] and bias FP32 [batch, 1] (broadcast).
func ScorerONNXModel() []byte {
	var g []byte
	g = appendNode(g, "Add", "add", []string{"features", "bias"}, "sum")
	g = appendNode(g, "Greater", "greater", []string{"features", "bias"}, "above")
	g = protowire.AppendTag(g, graphName, protowire.BytesType)
	g = protowire.AppendString(g, "scorer")
	g = appendMessage(g, graphIn, valueInfo("features", onnxFloat, "batch", 4))
	g = appendMessage(g, graphIn, valueInfo("bias", onnxFloat, "batch", 1))
	g = appendMessage(g, graphOut, valueInfo("sum", onnxFloat, "batch", 4))
	g = appendMessage(g, graphOut, valueInfo("above", onnxBool, "batch", 4))
	return modelProto(g)
}

// HalfONNXModel is a model with an FP16 input and an FP16 output, which
// the protocol's JSON cannot carry: single = half cast to FP32 ([batch,
// 4]), twice = half + half (FP16 [batch, 4]) and negated = not flag (BOOL
// [batch, 1]).
func HalfONNXModel() []byte {
	var g []byte
	g = appendNode(g, "Cast", "widen", []string{"half"}, "single", castTo(onnxFloat))
	g = appendNode(g, "Add", "add", []string{"half", "half"}, "twice")
	g = appendNode(g, "Not", "not", []string{"flag"}, "negated")
	g = protowire.AppendTag(g, graphName, protowire.BytesType)
	g = protowire.AppendString(g, "half")
	g = appendMessage(g, graphIn, valueInfo("half", onnxFloat16, "batch", 4))
	g = appendMessage(g, graphIn, valueInfo("flag", onnxBool, "batch", 1))
	g = appendMessage(g, graphOut, valueInfo("single", onnxFloat, "batch", 4))
	g = appendMessage(g, graphOut, valueInfo("twice", onnxFloat16, "batch", 4))
	g = appendMessage(g, graphOut, valueInfo("negated", onnxBool, "batch", 1))
	return modelProto(g)
}

// castTo is Cast's "to" attribute (an AttributeProto of type INT).
func castTo(elem uint64) []byte {
	var a []byte
	a = protowire.AppendTag(a, 1, protowire.BytesType) // name
	a = protowire.AppendString(a, "to")
	a = protowire.AppendTag(a, 3, protowire.VarintType) // i
	a = protowire.AppendVarint(a, elem)
	a = protowire.AppendTag(a, 20, protowire.VarintType) // type: INT
	return protowire.AppendVarint(a, 2)
}

// HalfOutputONNXModel is a model converted to float16 inside with float32
// inputs: half = x cast to FP16 ([batch, 4]) and x itself as copy (FP32).
// Its FP16 output cannot go out as the protocol's JSON.
func HalfOutputONNXModel() []byte {
	var g []byte
	g = appendNode(g, "Cast", "narrow", []string{"x"}, "half", castTo(onnxFloat16))
	g = appendNode(g, "Identity", "copy", []string{"x"}, "copy")
	g = protowire.AppendTag(g, graphName, protowire.BytesType)
	g = protowire.AppendString(g, "half-out")
	g = appendMessage(g, graphIn, valueInfo("x", onnxFloat, "batch", 4))
	g = appendMessage(g, graphOut, valueInfo("half", onnxFloat16, "batch", 4))
	g = appendMessage(g, graphOut, valueInfo("copy", onnxFloat, "batch", 4))
	return modelProto(g)
}

// UnknownRankONNXModel has an output whose rank the model does not give
// (y = Identity(x), x FP32 [batch, 3]), or, with input set, an input of
// unknown rank too.
func UnknownRankONNXModel(input bool) []byte {
	noShape := func(name string) []byte {
		var tt, typ, v []byte
		tt = protowire.AppendTag(tt, ttElem, protowire.VarintType)
		tt = protowire.AppendVarint(tt, onnxFloat)
		typ = appendMessage(typ, typeTensor, tt)
		v = protowire.AppendTag(v, valueName, protowire.BytesType)
		v = protowire.AppendString(v, name)
		return appendMessage(v, valueType, typ)
	}
	var g []byte
	g = appendNode(g, "Identity", "copy", []string{"x"}, "y")
	if input {
		g = appendMessage(g, graphIn, noShape("x"))
	} else {
		g = appendMessage(g, graphIn, valueInfo("x", onnxFloat, "batch", 3))
	}
	g = appendMessage(g, graphOut, noShape("y"))
	return modelProto(g)
}

// QuotedOutputONNXModel copies input "x" FP32 [batch,4] to an output whose
// name holds a quote and a backslash, characters JSON must escape.
func QuotedOutputONNXModel() []byte {
	const out = `scores"\v2`
	var g []byte
	g = appendNode(g, "Identity", "copy", []string{"x"}, out)
	g = appendMessage(g, graphIn, valueInfo("x", onnxFloat, "batch", 4))
	g = appendMessage(g, graphOut, valueInfo(out, onnxFloat, "batch", 4))
	return modelProto(g)
}

// InjectionONNXModel is the sample classifier with a producer, an input
// name and a batch dimension name that each end a line and go on with Go
// code: what a hostile model file could try on a generated project.
func InjectionONNXModel() []byte {
	const code = "\nfunc init() { panic(\"injected\") }\n//"
	var g []byte
	g = appendNode(g, "Identity", "copy", []string{"x" + code}, "y")
	g = appendMessage(g, graphIn, valueInfo("x"+code, onnxFloat, "batch"+code, 4))
	g = appendMessage(g, graphOut, valueInfo("y", onnxFloat, "batch"+code, 4))
	var m []byte
	m = protowire.AppendTag(m, modelIRVersion, protowire.VarintType)
	m = protowire.AppendVarint(m, irVersion)
	m = protowire.AppendTag(m, modelProducer, protowire.BytesType)
	m = protowire.AppendString(m, "evil"+code)
	m = appendMessage(m, modelGraph, g)
	var op []byte
	op = protowire.AppendTag(op, opsetVersion, protowire.VarintType)
	op = protowire.AppendVarint(op, opset)
	return appendMessage(m, modelOpset, op)
}
