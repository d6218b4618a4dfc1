// Package onnxinfo reads what a code generator needs from an ONNX model file
// — its inputs and outputs (names, types, shapes), the opsets it needs and
// the external data files it refers to — in pure Go, without ONNX Runtime.
//
// The file (the ModelProto protobuf of onnx.proto) is read as a stream,
// field by field with protowire's wire format: weights are skipped, not
// held, so a 2 GB model costs a few kilobytes of memory to describe.
package onnxinfo

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode"
)

// Model is the description of one ONNX model file.
type Model struct {
	// IRVersion is the ONNX IR version the file is written in.
	IRVersion int64
	// Producer and ProducerVersion name the tool that wrote the file
	// ("pytorch" "2.5.0", "skl2onnx", "tf2onnx"...).
	Producer, ProducerVersion string
	// Opsets maps each operator-set domain to its version; the default
	// domain (ai.onnx) is "".
	Opsets map[string]int64
	// Graph is the main graph's name.
	Graph string
	// Inputs are the values a caller feeds: the graph's inputs less those
	// an initializer gives a default to (older exporters list every
	// weight as an input too).
	Inputs []Value
	// Outputs are the graph's outputs.
	Outputs []Value
	// ExternalData lists the files, relative to the model file's folder,
	// that hold weights stored outside it (models over 2 GB, or exported
	// with save_as_external_data), each once, in the order first met.
	ExternalData []string
}

// Value is one graph input or output.
type Value struct {
	Name string
	// Kind is what the value is: a tensor, or a sequence, map, optional or
	// sparse tensor (which the Open Inference Protocol cannot carry).
	Kind Kind
	// Elem is a tensor's element type (0 when unknown or not a tensor).
	Elem ElemType
	// Shape is a tensor's shape; nil with HasShape false when the model
	// leaves the rank unknown. An empty, known shape is a scalar.
	Shape    []Dim
	HasShape bool
}

// Dim is one dimension of a shape: a fixed Size, or, when Size is -1, a
// dynamic one, with the symbolic name Param the model gives it ("batch",
// "sequence"; empty when unnamed).
type Dim struct {
	Size  int64
	Param string
}

// Dynamic reports whether the dimension's size is chosen by the caller.
func (d Dim) Dynamic() bool { return d.Size < 0 }

// Dims returns the sizes, -1 for each dynamic dimension (the form ONNX
// Runtime and the Open Inference Protocol's metadata use).
func (v Value) Dims() []int64 {
	if !v.HasShape {
		return nil
	}
	out := make([]int64, len(v.Shape))
	for i, d := range v.Shape {
		out[i] = d.Size
	}
	return out
}

// String describes the value as "name FP32 [batch,3,224,224]", or with the
// ONNX type name for what the protocol has no name for. A name holding a
// control character (a line break, a terminal escape) is quoted: the
// description goes to terminals and into generated code's comments.
func (v Value) String() string {
	var b strings.Builder
	b.WriteString(display(v.Name))
	b.WriteByte(' ')
	switch {
	case v.Kind != KindTensor:
		b.WriteString(v.Kind.String())
		return b.String()
	case v.Elem == 0:
		b.WriteString("tensor of unknown type")
	default:
		if dt, ok := v.Elem.Datatype(); ok {
			b.WriteString(dt)
		} else {
			b.WriteString(v.Elem.String())
		}
	}
	b.WriteByte(' ')
	b.WriteString(v.ShapeString())
	return b.String()
}

// ShapeString is the shape as String shows it: "[batch,3,224,224]" (? for
// an unnamed dynamic dimension), or "(rank unknown)".
func (v Value) ShapeString() string {
	if !v.HasShape {
		return "(rank unknown)"
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range v.Shape {
		if i > 0 {
			b.WriteByte(',')
		}
		switch {
		case !d.Dynamic():
			b.WriteString(strconv.FormatInt(d.Size, 10))
		case d.Param != "":
			b.WriteString(display(d.Param))
		default:
			b.WriteByte('?')
		}
	}
	b.WriteByte(']')
	return b.String()
}

// display is s, or s quoted when it holds a control character.
func display(s string) string {
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return strconv.Quote(s)
		}
	}
	return s
}

// Kind is the kind of an ONNX value (onnx.TypeProto's value case).
type Kind int

// The kinds of onnx.TypeProto.
const (
	KindUnknown Kind = iota // no type given
	KindTensor
	KindSequence
	KindMap
	KindOptional
	KindSparseTensor
)

func (k Kind) String() string {
	switch k {
	case KindTensor:
		return "tensor"
	case KindSequence:
		return "sequence"
	case KindMap:
		return "map"
	case KindOptional:
		return "optional"
	case KindSparseTensor:
		return "sparse tensor"
	}
	return "value of unknown type"
}

// ElemType is onnx.TensorProto.DataType.
type ElemType int32

// The element types of onnx.proto (IR version 11).
const (
	Float      ElemType = 1
	Uint8      ElemType = 2
	Int8       ElemType = 3
	Uint16     ElemType = 4
	Int16      ElemType = 5
	Int32      ElemType = 6
	Int64      ElemType = 7
	String     ElemType = 8
	Bool       ElemType = 9
	Float16    ElemType = 10
	Double     ElemType = 11
	Uint32     ElemType = 12
	Uint64     ElemType = 13
	Complex64  ElemType = 14
	Complex128 ElemType = 15
	BFloat16   ElemType = 16
)

var elemNames = map[ElemType]string{
	Float: "FLOAT", Uint8: "UINT8", Int8: "INT8", Uint16: "UINT16", Int16: "INT16",
	Int32: "INT32", Int64: "INT64", String: "STRING", Bool: "BOOL", Float16: "FLOAT16",
	Double: "DOUBLE", Uint32: "UINT32", Uint64: "UINT64", Complex64: "COMPLEX64",
	Complex128: "COMPLEX128", BFloat16: "BFLOAT16", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ",
	19: "FLOAT8E5M2", 20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1",
}

// String is the onnx.proto name of the type (FLOAT, INT64...).
func (e ElemType) String() string {
	if n, ok := elemNames[e]; ok {
		return n
	}
	return fmt.Sprintf("element type %d", int32(e))
}

var datatypes = map[ElemType]string{
	Float: "FP32", Uint8: "UINT8", Int8: "INT8", Uint16: "UINT16", Int16: "INT16",
	Int32: "INT32", Int64: "INT64", String: "BYTES", Bool: "BOOL", Float16: "FP16",
	Double: "FP64", Uint32: "UINT32", Uint64: "UINT64",
}

// Datatype is the Open Inference Protocol datatype of the element type;
// ok is false for the types the protocol has no name for (complex,
// bfloat16, the float8 and 4-bit types).
func (e ElemType) Datatype() (string, bool) {
	dt, ok := datatypes[e]
	return dt, ok
}

// Servable reports why the value cannot travel in an Open Inference
// Protocol tensor, or nil when it can.
func (v Value) Servable() error {
	switch {
	case v.Kind != KindTensor:
		return fmt.Errorf("%q is a %s, not a tensor", v.Name, v.Kind)
	case v.Elem == 0:
		return fmt.Errorf("%q is a tensor of unknown element type", v.Name)
	}
	if _, ok := v.Elem.Datatype(); !ok {
		return fmt.Errorf("%q has element type %s, which the Open Inference Protocol has no datatype for", v.Name, v.Elem)
	}
	return nil
}

// checkLocation refuses an external data location that would leave the
// model's folder: a generator copies these files, and a model file must
// not make it copy /etc/passwd into a project.
func checkLocation(loc string) error {
	if loc == "" {
		return fmt.Errorf("external data with an empty location")
	}
	// Windows exporters may write backslashes.
	clean := path.Clean(strings.ReplaceAll(loc, `\`, "/"))
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || clean == "." {
		return fmt.Errorf("external data location %q is outside the model's folder", loc)
	}
	return nil
}
