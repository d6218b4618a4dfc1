// Package onnxgen writes small ONNX models (the ModelProto protobuf) from Go,
// so tests and benchmarks of runtime/onnx need no model files from outside:
// a graph is described with plain structs and Marshal encodes it with
// protowire, field by field, following onnx.proto (IR version 8).
//
// Only what the runtime's tests need is covered: tensor-typed inputs and
// outputs with fixed or symbolic dimensions, float32 initializers, and
// nodes with int, float and ints attributes.
package onnxgen

import (
	"encoding/binary"
	"math"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// ElemType is onnx.TensorProto.DataType.
type ElemType int32

// The element types of onnx.proto.
const (
	Float   ElemType = 1
	Uint8   ElemType = 2
	Int8    ElemType = 3
	Uint16  ElemType = 4
	Int16   ElemType = 5
	Int32   ElemType = 6
	Int64   ElemType = 7
	String  ElemType = 8
	Bool    ElemType = 9
	Float16 ElemType = 10
	Double  ElemType = 11
	Uint32  ElemType = 12
	Uint64  ElemType = 13
)

// Dim is one dimension of a value's shape: a fixed size, or a symbolic name
// (Param) for a dynamic dimension such as the batch.
type Dim struct {
	Value int64
	Param string
}

// Dims returns fixed dimensions; a negative size becomes a dynamic dimension
// named "batch" for the first and "dN" for the others.
func Dims(sizes ...int64) []Dim {
	d := make([]Dim, len(sizes))
	for i, s := range sizes {
		switch {
		case s >= 0:
			d[i] = Dim{Value: s}
		case i == 0:
			d[i] = Dim{Param: "batch"}
		default:
			d[i] = Dim{Param: "d" + strconv.Itoa(i)}
		}
	}
	return d
}

// ValueInfo is a graph input or output: a tensor of Elem with Shape. A nil
// Shape (as opposed to an empty one, which is a scalar) leaves the shape
// unknown.
type ValueInfo struct {
	Name  string
	Elem  ElemType
	Shape []Dim
	// SeqOfMaps makes the value a sequence of maps from INT64 to Elem
	// (what scikit-learn's ZipMap outputs) instead of a tensor.
	SeqOfMaps bool
}

// Attr is a node attribute; exactly one of Int, Float or Ints is used, as
// chosen by Kind.
type Attr struct {
	Name  string
	Kind  AttrKind
	Int   int64
	Float float32
	Ints  []int64
}

// AttrKind is onnx.AttributeProto.AttributeType.
type AttrKind int32

// The attribute kinds onnxgen writes.
const (
	AttrFloat AttrKind = 1
	AttrInt   AttrKind = 2
	AttrInts  AttrKind = 7
)

// IntAttr returns an INT attribute.
func IntAttr(name string, v int64) Attr { return Attr{Name: name, Kind: AttrInt, Int: v} }

// Node is one operator application.
type Node struct {
	Op     string
	Domain string // "" is ai.onnx; ai.onnx.ml for ZipMap

	Name    string
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

// Initializer is a constant float32 tensor (weights), stored as raw data
// in the model, or in the file Location beside it.
type Initializer struct {
	Name string
	Dims []int64
	Data []float32
	// Location, when set, stores Data outside the model (ONNX external
	// data, as models over 2 GB are saved): the caller writes RawData to
	// that file, relative to the model's folder.
	Location string
}

// RawData is Data as stored: little-endian float32s.
func (t *Initializer) RawData() []byte {
	raw := make([]byte, 4*len(t.Data))
	for i, f := range t.Data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	return raw
}

// Graph is a computation graph.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []Initializer
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Model is an ONNX model: a graph plus the opset it is written against.
type Model struct {
	Graph    Graph
	Opset    int64  // default 13
	MLOpset  int64  // ai.onnx.ml's, imported when not 0
	Producer string // default "kserve-gen onnxgen"
}

// Field numbers from onnx.proto.
const (
	modelIRVersion   = 1
	modelProducer    = 2
	modelGraph       = 7
	modelOpsetImport = 8

	opsetDomain  = 1
	opsetVersion = 2

	graphNode        = 1
	graphName        = 2
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5
	nodeDomain    = 7

	attrName  = 1
	attrF     = 2
	attrI     = 3
	attrInts  = 8
	attrType  = 20
	tensorDim = 1
	tensorDT  = 2
	tensorNm  = 8
	tensorRaw = 9

	tensorExternal = 13
	tensorLocation = 14

	valueName = 1
	valueType = 2

	typeTensor   = 1
	typeSequence = 4
	typeMap      = 5
	seqElemType  = 1
	mapKeyType   = 1
	mapValueType = 2
	ttElemType   = 1
	ttShape      = 2
	shapeDim     = 1
	dimValue     = 1
	dimParam     = 2
	irVersion    = 8
	defaultOpset = 13
)

// Marshal encodes m as an ONNX ModelProto.
func (m *Model) Marshal() []byte {
	opset := m.Opset
	if opset == 0 {
		opset = defaultOpset
	}
	producer := m.Producer
	if producer == "" {
		producer = "kserve-gen onnxgen"
	}
	var b []byte
	b = protowire.AppendTag(b, modelIRVersion, protowire.VarintType)
	b = protowire.AppendVarint(b, irVersion)
	b = appendString(b, modelProducer, producer)
	b = appendMessage(b, modelGraph, m.Graph.marshal())
	var op []byte
	op = protowire.AppendTag(op, opsetVersion, protowire.VarintType)
	op = protowire.AppendVarint(op, uint64(opset))
	b = appendMessage(b, modelOpsetImport, op)
	if m.MLOpset != 0 {
		ml := appendString(nil, opsetDomain, "ai.onnx.ml")
		ml = protowire.AppendTag(ml, opsetVersion, protowire.VarintType)
		ml = protowire.AppendVarint(ml, uint64(m.MLOpset))
		b = appendMessage(b, modelOpsetImport, ml)
	}
	return b
}

func (g *Graph) marshal() []byte {
	var b []byte
	for _, n := range g.Nodes {
		b = appendMessage(b, graphNode, n.Marshal())
	}
	name := g.Name
	if name == "" {
		name = "graph"
	}
	b = appendString(b, graphName, name)
	for _, t := range g.Initializers {
		b = appendMessage(b, graphInitializer, t.marshal())
	}
	for _, v := range g.Inputs {
		b = appendMessage(b, graphInput, v.marshal())
	}
	for _, v := range g.Outputs {
		b = appendMessage(b, graphOutput, v.marshal())
	}
	return b
}

// Marshal encodes n as an ONNX NodeProto (runtime/onnx appends nodes to
// users' models with it).
func (n *Node) Marshal() []byte {
	var b []byte
	for _, in := range n.Inputs {
		b = appendString(b, nodeInput, in)
	}
	for _, out := range n.Outputs {
		b = appendString(b, nodeOutput, out)
	}
	if n.Name != "" {
		b = appendString(b, nodeName, n.Name)
	}
	b = appendString(b, nodeOpType, n.Op)
	for _, a := range n.Attrs {
		b = appendMessage(b, nodeAttribute, a.marshal())
	}
	if n.Domain != "" {
		b = appendString(b, nodeDomain, n.Domain)
	}
	return b
}

func (a *Attr) marshal() []byte {
	b := appendString(nil, attrName, a.Name)
	switch a.Kind {
	case AttrFloat:
		b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.Float))
	case AttrInt:
		b = protowire.AppendTag(b, attrI, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.Int))
	case AttrInts:
		for _, v := range a.Ints {
			b = protowire.AppendTag(b, attrInts, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(v))
		}
	}
	b = protowire.AppendTag(b, attrType, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(a.Kind))
}

func (t *Initializer) marshal() []byte {
	var b []byte
	for _, d := range t.Dims {
		b = protowire.AppendTag(b, tensorDim, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, tensorDT, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(Float))
	b = appendString(b, tensorNm, t.Name)
	if t.Location == "" {
		return appendMessage(b, tensorRaw, t.RawData())
	}
	for _, kv := range [][2]string{{"location", t.Location}, {"offset", "0"}, {"length", strconv.Itoa(4 * len(t.Data))}} {
		b = appendMessage(b, tensorExternal, appendString(appendString(nil, 1, kv[0]), 2, kv[1]))
	}
	b = protowire.AppendTag(b, tensorLocation, protowire.VarintType)
	return protowire.AppendVarint(b, 1) // EXTERNAL
}

func (v *ValueInfo) marshal() []byte {
	if v.SeqOfMaps {
		value := appendMessage(nil, typeTensor, protowire.AppendVarint(protowire.AppendTag(nil, ttElemType, protowire.VarintType), uint64(v.Elem)))
		m := protowire.AppendVarint(protowire.AppendTag(nil, mapKeyType, protowire.VarintType), uint64(Int64))
		m = appendMessage(m, mapValueType, value)
		seq := appendMessage(nil, seqElemType, appendMessage(nil, typeMap, m))
		return appendMessage(appendString(nil, valueName, v.Name), valueType, appendMessage(nil, typeSequence, seq))
	}
	var tt []byte
	tt = protowire.AppendTag(tt, ttElemType, protowire.VarintType)
	tt = protowire.AppendVarint(tt, uint64(v.Elem))
	if v.Shape != nil {
		var shape []byte
		for _, d := range v.Shape {
			var dim []byte
			if d.Param != "" {
				dim = appendString(dim, dimParam, d.Param)
			} else {
				dim = protowire.AppendTag(dim, dimValue, protowire.VarintType)
				dim = protowire.AppendVarint(dim, uint64(d.Value))
			}
			shape = appendMessage(shape, shapeDim, dim)
		}
		// An empty TensorShapeProto (a scalar) must still be present.
		tt = appendMessage(tt, ttShape, shape)
	}
	typ := appendMessage(nil, typeTensor, tt)
	b := appendString(nil, valueName, v.Name)
	return appendMessage(b, valueType, typ)
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}
