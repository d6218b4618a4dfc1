package onnx

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of onnx.proto read to tell a scalar from a tensor of unknown
// shape: TypeProto.Tensor.shape and TensorShapeProto.dim.
const (
	tensorTypeShape protowire.Number = 2
	shapeDim        protowire.Number = 1
)

// checkScalars refuses a model that declares what this runtime cannot
// serve: a rank-0 output (onnxruntime_go v1.27.0 fails to read back any
// output without dimensions, so every request would fail), or a rank-0
// FP16 or BYTES input (see noScalar). ONNX Runtime reports a tensor of
// unknown shape as rank 0 too, and such a tensor is served as it comes, so
// the model file is read to tell the two apart: only when ONNX Runtime
// reported a rank-0 tensor the rules are about.
func checkScalars(path string, in, out []TensorInfo) error {
	suspect := false
	for _, t := range in {
		suspect = suspect || (len(t.Shape) == 0 && noScalar(t.Datatype))
	}
	for _, t := range out {
		suspect = suspect || len(t.Shape) == 0
	}
	if !suspect {
		return nil
	}
	inScalar, outScalar, err := declaredScalars(path)
	if err != nil {
		return fmt.Errorf("model %s: read its inputs' and outputs' shapes: %w", path, err)
	}
	for _, t := range in {
		if inScalar[t.Name] && noScalar(t.Datatype) {
			return fmt.Errorf("model %s: input %q is a scalar (shape []) of %s, which this runtime cannot pass to ONNX Runtime (onnxruntime_go v1.27.0 makes scalars of numeric types other than FP16 only); export it with shape [1]", path, t.Name, t.Datatype)
		}
	}
	for _, t := range out {
		if outScalar[t.Name] {
			return fmt.Errorf("model %s: output %q is a scalar (shape []), which this runtime cannot read back from ONNX Runtime (onnxruntime_go v1.27.0 fails on outputs without dimensions, so every request would fail); export it with shape [1]", path, t.Name)
		}
	}
	return nil
}

// declaredScalars returns the graph inputs and outputs of the ONNX model
// file at path that are tensors with a shape of no dimensions; a tensor
// whose shape is left out (unknown) is not one.
func declaredScalars(path string) (in, out map[string]bool, err error) {
	in, out = map[string]bool{}, map[string]bool{}
	err = graphValueInfos(path, true, func(input bool, vi []byte) error {
		name, scalar, err := valueInfoScalar(vi)
		if err != nil || !scalar {
			return err
		}
		if input {
			in[name] = true
		} else {
			out[name] = true
		}
		return nil
	})
	return in, out, err
}

// valueInfoScalar reads a ValueInfoProto's name and whether its type is a
// tensor with a shape of no dimensions.
func valueInfoScalar(vi []byte) (name string, scalar bool, err error) {
	name, shape, ok, err := valueInfoShape(vi)
	if err != nil || !ok {
		return name, false, err
	}
	dims := 0
	err = eachField(shape, func(num protowire.Number, _ protowire.Type, _, _ []byte) error {
		if num == shapeDim {
			dims++
		}
		return nil
	})
	return name, dims == 0, err
}

// valueInfoShape reads a ValueInfoProto's name and, when its type is a
// tensor whose shape is given (ok), that TensorShapeProto's bytes.
func valueInfoShape(vi []byte) (name string, shape []byte, ok bool, err error) {
	err = eachField(vi, func(num protowire.Number, typ protowire.Type, _, val []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case valueInfoName:
			name = string(val)
		case valueInfoType:
			return eachField(val, func(num protowire.Number, typ protowire.Type, _, tensor []byte) error {
				if num != typeTensor || typ != protowire.BytesType {
					return nil
				}
				return eachField(tensor, func(num protowire.Number, typ protowire.Type, _, s []byte) error {
					if num == tensorTypeShape && typ == protowire.BytesType {
						shape, ok = s, true
					}
					return nil
				})
			})
		}
		return nil
	})
	return name, shape, ok, err
}
