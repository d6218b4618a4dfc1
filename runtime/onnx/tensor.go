package onnx

import (
	"fmt"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// datatypeOf maps an ONNX element type to its Open Inference Protocol
// datatype; ok is false for types the protocol has no name for (bfloat16,
// complex, float8, int4...).
func datatypeOf(t ort.TensorElementDataType) (infer.Datatype, bool) {
	switch t {
	case ort.TensorElementDataTypeFloat:
		return infer.FP32, true
	case ort.TensorElementDataTypeDouble:
		return infer.FP64, true
	case ort.TensorElementDataTypeFloat16:
		return infer.FP16, true
	case ort.TensorElementDataTypeUint8:
		return infer.UINT8, true
	case ort.TensorElementDataTypeUint16:
		return infer.UINT16, true
	case ort.TensorElementDataTypeUint32:
		return infer.UINT32, true
	case ort.TensorElementDataTypeUint64:
		return infer.UINT64, true
	case ort.TensorElementDataTypeInt8:
		return infer.INT8, true
	case ort.TensorElementDataTypeInt16:
		return infer.INT16, true
	case ort.TensorElementDataTypeInt32:
		return infer.INT32, true
	case ort.TensorElementDataTypeInt64:
		return infer.INT64, true
	case ort.TensorElementDataTypeBool:
		return infer.BOOL, true
	case ort.TensorElementDataTypeString:
		return infer.BYTES, true
	}
	return "", false
}

// toValue wraps t's data as an ONNX Runtime value. Numeric and BOOL data are
// not copied: ONNX Runtime reads the Go slice in place, so t must not change
// until the value is destroyed. A rank-0 tensor becomes a scalar.
func toValue(t *infer.Tensor) (ort.Value, error) {
	switch d := t.Data.(type) {
	case []float32:
		return wrap(t.Shape, d)
	case []float64:
		return wrap(t.Shape, d)
	case []int64:
		return wrap(t.Shape, d)
	case []int32:
		return wrap(t.Shape, d)
	case []int16:
		return wrap(t.Shape, d)
	case []int8:
		return wrap(t.Shape, d)
	case []uint64:
		return wrap(t.Shape, d)
	case []uint32:
		return wrap(t.Shape, d)
	case []uint16:
		return wrap(t.Shape, d)
	case []uint8:
		return wrap(t.Shape, d)
	case []bool:
		return wrap(t.Shape, d)
	case []infer.Float16:
		// The binding has no float16 Go type; hand ONNX Runtime the bytes.
		var b []byte
		if len(d) > 0 {
			b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(d))), 2*len(d))
		}
		return ort.NewCustomDataTensor(shapeOf(t.Shape), b, ort.TensorElementDataTypeFloat16)
	case [][]byte:
		s, err := ort.NewStringTensor(shapeOf(t.Shape))
		if err != nil {
			return nil, err
		}
		strs := make([]string, len(d))
		for i, v := range d {
			strs[i] = string(v)
		}
		if err := s.SetContents(strs); err != nil {
			_ = s.Destroy()
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("tensor %q holds %T, which ONNX Runtime cannot take", t.Name, t.Data)
}

// shapeOf is the binding's shape; rank 0 is passed as [1] only for string
// and float16 tensors, which the binding cannot create as scalars.
func shapeOf(s []int64) ort.Shape {
	if len(s) == 0 {
		return ort.Shape{1}
	}
	return ort.Shape(s)
}

func wrap[T ort.TensorData](shape []int64, d []T) (ort.Value, error) {
	if len(shape) == 0 {
		// Rank 0 needs a scalar value: NewTensor rejects an empty shape.
		return ort.NewScalar(d[0])
	}
	return ort.NewTensor(ort.Shape(shape), d)
}

// fromValue copies an output value into a new infer tensor. The binding has
// already copied ONNX Runtime's output buffer into a Go slice, which is
// taken over here, so the value can be destroyed right after.
func fromValue(name string, v ort.Value) (*infer.Tensor, error) {
	shape := []int64(v.GetShape().Clone())
	t := &infer.Tensor{Name: name, Shape: shape}
	switch x := v.(type) {
	case *ort.Tensor[float32]:
		t.Datatype, t.Data = infer.FP32, x.GetData()
	case *ort.Tensor[float64]:
		t.Datatype, t.Data = infer.FP64, x.GetData()
	case *ort.Tensor[int64]:
		t.Datatype, t.Data = infer.INT64, x.GetData()
	case *ort.Tensor[int32]:
		t.Datatype, t.Data = infer.INT32, x.GetData()
	case *ort.Tensor[int16]:
		t.Datatype, t.Data = infer.INT16, x.GetData()
	case *ort.Tensor[int8]:
		t.Datatype, t.Data = infer.INT8, x.GetData()
	case *ort.Tensor[uint64]:
		t.Datatype, t.Data = infer.UINT64, x.GetData()
	case *ort.Tensor[uint32]:
		t.Datatype, t.Data = infer.UINT32, x.GetData()
	case *ort.Tensor[uint16]:
		t.Datatype, t.Data = infer.UINT16, x.GetData()
	case *ort.Tensor[uint8]:
		t.Datatype, t.Data = infer.UINT8, x.GetData()
	case *ort.Tensor[bool]:
		t.Datatype, t.Data = infer.BOOL, x.GetData()
	case *ort.StringTensor:
		s, err := x.GetContents()
		if err != nil {
			return nil, fmt.Errorf("output %q: read strings: %w", name, err)
		}
		b := make([][]byte, len(s))
		for i, v := range s {
			b[i] = []byte(v)
		}
		t.Datatype, t.Data = infer.BYTES, b
	default:
		// onnxruntime_go v1.27.0 copies only one byte per element of a
		// float16 output and fails; sessions ask for FP16 outputs as
		// float32 instead (see widenOutputs), so this is not reached.
		return nil, fmt.Errorf("output %q has element type %v, which this runtime cannot return", name, ort.TensorElementDataType(v.DataType()))
	}
	return t, nil
}

// narrowed converts an FP32 tensor read for an FP16 output back to FP16.
// The values came from float16, so the conversion is exact.
func narrowed(t *infer.Tensor) *infer.Tensor {
	f, ok := t.Data.([]float32)
	if !ok {
		return t
	}
	h := make([]infer.Float16, len(f))
	for i, x := range f {
		h[i] = infer.Float16From(x)
	}
	t.Datatype, t.Data = infer.FP16, h
	return t
}
