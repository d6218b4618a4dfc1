package onnx

import (
	"fmt"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
)

// Field numbers of onnx.proto read to rewrite a model (ModelProto.graph,
// GraphProto.node/initializer/input/output, NodeProto, ValueInfoProto,
// TypeProto, TypeProto.Tensor, TensorProto); the Cast nodes themselves are
// written by onnxgen.
const (
	modelGraph       protowire.Number = 7
	graphNode        protowire.Number = 1
	graphInitializer protowire.Number = 5
	graphInput       protowire.Number = 11
	graphOutput      protowire.Number = 12
	nodeInput        protowire.Number = 1
	nodeOutput       protowire.Number = 2
	valueInfoName    protowire.Number = 1
	valueInfoType    protowire.Number = 2
	typeTensor       protowire.Number = 1
	tensorTypeElem   protowire.Number = 1
	tensorProtoName  protowire.Number = 8

	castLabel = "kserve-gen"
)

// elemName names the element types castOutputs is used with, for names and
// messages.
func elemName(e onnxgen.ElemType) string {
	switch e {
	case onnxgen.Float:
		return "fp32"
	case onnxgen.Float16:
		return "fp16"
	}
	return strconv.Itoa(int(e))
}

// widenOutputs rewrites an ONNX model so that each named float16 graph
// output comes back as float32: a Cast node is appended for it and the graph
// output is renamed to the Cast's result. It returns the rewritten model and,
// for each name, the output name to ask ONNX Runtime for.
//
// Why: onnxruntime_go v1.27.0 copies one byte per element of a float16
// output and then fails, so float16 outputs cannot be read through it. A
// float32 holds every float16 value exactly, so narrowing the result back
// (infer.Float16From) gives the model's own bits, and clients still see the
// FP16 output the model declares. Everything else in the model — weights,
// external data references, metadata — is copied byte for byte.
func widenOutputs(model []byte, outputs []string) ([]byte, map[string]string, error) {
	return castOutputs(model, outputs, onnxgen.Float16, onnxgen.Float)
}

// castOutputs appends a Cast from element type from to to for each named
// graph output and makes its result the graph output in its place (see
// widenOutputs).
func castOutputs(model []byte, outputs []string, from, to onnxgen.ElemType) ([]byte, map[string]string, error) {
	want := make(map[string]bool, len(outputs))
	for _, o := range outputs {
		want[o] = true
	}
	var graph []byte
	graphs := 0
	err := eachField(model, func(num protowire.Number, typ protowire.Type, _, val []byte) error {
		if num == modelGraph && typ == protowire.BytesType {
			graph = val
			graphs++
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read model: %w", err)
	}
	if graphs != 1 {
		return nil, nil, fmt.Errorf("read model: %d graphs, want 1", graphs)
	}
	used, found, err := graphNames(graph, want)
	if err != nil {
		return nil, nil, fmt.Errorf("read graph: %w", err)
	}
	renamed := make(map[string]string, len(outputs))
	for _, o := range outputs {
		if !found[o] {
			return nil, nil, fmt.Errorf("graph output %q not found", o)
		}
		label := "." + castLabel + "." + elemName(to)
		name := o + label
		for i := 1; used[name]; i++ {
			name = o + label + strconv.Itoa(i)
		}
		used[name] = true
		renamed[o] = name
	}

	g, err := rewriteFields(graph, graphOutput, func(val []byte) ([]byte, error) {
		name, err := valueInfoNameOf(val)
		if err != nil {
			return nil, err
		}
		if _, ok := renamed[name]; !ok {
			return nil, nil
		}
		vi, err := castValueInfo(val, renamed[name], from, to)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", name, err)
		}
		return vi, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("rewrite graph: %w", err)
	}
	// Nodes may come after the outputs: the protobuf merges repeated
	// fields in order, so these end the node list, after every producer.
	for _, o := range outputs {
		cast := onnxgen.Node{Op: "Cast", Name: castLabel + " " + o, Inputs: []string{o}, Outputs: []string{renamed[o]},
			Attrs: []onnxgen.Attr{onnxgen.IntAttr("to", int64(to))}}
		g = appendMessage(g, graphNode, cast.Marshal())
	}

	out, err := rewriteFields(model, modelGraph, func([]byte) ([]byte, error) { return g, nil })
	if err != nil {
		return nil, nil, err
	}
	return out, renamed, nil
}

// graphNames returns every value name the graph's nodes, initializers and
// inputs use (a new name must not collide with one), and which of want are
// graph outputs.
func graphNames(graph []byte, want map[string]bool) (used, found map[string]bool, err error) {
	used, found = map[string]bool{}, map[string]bool{}
	err = eachField(graph, func(num protowire.Number, typ protowire.Type, _, val []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case graphNode:
			return eachField(val, func(num protowire.Number, typ protowire.Type, _, val []byte) error {
				if (num == nodeInput || num == nodeOutput) && typ == protowire.BytesType {
					used[string(val)] = true
				}
				return nil
			})
		case graphInitializer:
			return eachField(val, func(num protowire.Number, typ protowire.Type, _, val []byte) error {
				if num == tensorProtoName && typ == protowire.BytesType {
					used[string(val)] = true
				}
				return nil
			})
		case graphInput, graphOutput:
			name, err := valueInfoNameOf(val)
			if err != nil {
				return err
			}
			used[name] = true
			if num == graphOutput && want[name] {
				found[name] = true
			}
		}
		return nil
	})
	return used, found, err
}

func valueInfoNameOf(vi []byte) (string, error) {
	var name string
	err := eachField(vi, func(num protowire.Number, typ protowire.Type, _, val []byte) error {
		if num == valueInfoName && typ == protowire.BytesType {
			name = string(val)
		}
		return nil
	})
	return name, err
}

// castValueInfo renames a ValueInfoProto and turns its tensor element type
// from from into to, keeping its shape and everything else.
func castValueInfo(vi []byte, name string, from, to onnxgen.ElemType) ([]byte, error) {
	var out []byte
	err := eachField(vi, func(num protowire.Number, typ protowire.Type, raw, val []byte) error {
		switch {
		case num == valueInfoName && typ == protowire.BytesType:
			out = appendString(out, valueInfoName, name)
		case num == valueInfoType && typ == protowire.BytesType:
			t, err := rewriteFields(val, typeTensor, func(tensor []byte) ([]byte, error) {
				var tt []byte
				err := eachField(tensor, func(num protowire.Number, typ protowire.Type, raw, _ []byte) error {
					if num == tensorTypeElem && typ == protowire.VarintType {
						v, _ := protowire.ConsumeVarint(raw[protowire.SizeTag(num):])
						if v != uint64(from) {
							return fmt.Errorf("element type %d is not %s", v, elemName(from))
						}
						tt = protowire.AppendTag(tt, tensorTypeElem, protowire.VarintType)
						tt = protowire.AppendVarint(tt, uint64(to))
						return nil
					}
					tt = append(tt, raw...)
					return nil
				})
				return tt, err
			})
			if err != nil {
				return err
			}
			out = appendMessage(out, valueInfoType, t)
		default:
			out = append(out, raw...)
		}
		return nil
	})
	return out, err
}

// rewriteFields copies msg with each length-delimited field num replaced
// by f of its contents; f returns nil to keep a field as it is.
func rewriteFields(msg []byte, num protowire.Number, f func([]byte) ([]byte, error)) ([]byte, error) {
	out := make([]byte, 0, len(msg)+64)
	err := eachField(msg, func(n protowire.Number, typ protowire.Type, raw, val []byte) error {
		if n != num || typ != protowire.BytesType {
			out = append(out, raw...)
			return nil
		}
		v, err := f(val)
		if err != nil {
			return err
		}
		if v == nil {
			out = append(out, raw...)
			return nil
		}
		out = appendMessage(out, num, v)
		return nil
	})
	return out, err
}

// eachField calls f for each field of a protobuf message with its number,
// wire type, whole encoding (tag included) and, for a length-delimited
// field, its contents.
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, raw, val []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return protowire.ParseError(m)
		}
		var val []byte
		if typ == protowire.BytesType {
			val, _ = protowire.ConsumeBytes(b[n:])
		}
		if err := f(num, typ, b[:n+m], val); err != nil {
			return err
		}
		b = b[n+m:]
	}
	return nil
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), msg)
}
