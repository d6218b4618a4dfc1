package onnx

import (
	"bytes"
	"fmt"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/status"
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
// until the value is destroyed. A rank-0 tensor becomes a scalar (not for
// FP16 and BYTES: see noScalar).
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
		if len(t.Shape) == 0 {
			return nil, errNoScalar(t)
		}
		// The binding has no float16 Go type; hand ONNX Runtime the bytes.
		// It refuses an empty buffer, even for a tensor of no elements;
		// ONNX Runtime only needs the buffer to be large enough, so an
		// empty tensor gets a buffer of one (unread) element.
		b := make([]byte, 2)
		if len(d) > 0 {
			b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(d))), 2*len(d))
		}
		return ort.NewCustomDataTensor(ort.Shape(t.Shape), b, ort.TensorElementDataTypeFloat16)
	case [][]byte:
		if len(t.Shape) == 0 {
			return nil, errNoScalar(t)
		}
		s, err := ort.NewStringTensor(ort.Shape(t.Shape))
		if err != nil {
			return nil, err
		}
		strs := make([]string, len(d))
		for i, v := range d {
			strs[i] = string(v)
		}
		// SetContents passes each string as a C string: a NUL byte would
		// end it early (TensorInfo.check refuses such elements).
		if err := s.SetContents(strs); err != nil {
			_ = s.Destroy()
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("tensor %q holds %T, which ONNX Runtime cannot take", t.Name, t.Data)
}

// noScalar reports whether rank-0 tensors of dt cannot be handed to ONNX
// Runtime: onnxruntime_go v1.27.0 makes scalars of the Go numeric types
// only (NewScalar), and its string and custom-data tensors need at least
// one dimension.
func noScalar(dt infer.Datatype) bool { return dt == infer.FP16 || dt == infer.BYTES }

func errNoScalar(t *infer.Tensor) error {
	return status.InvalidInputf("input %q is a scalar (shape []) of %s, which this runtime cannot pass to ONNX Runtime: onnxruntime_go v1.27.0 makes scalars of numeric types other than FP16 only", t.Name, t.Datatype)
}

// nulElement is the index of the first element of d holding a NUL byte, or -1.
func nulElement(d [][]byte) int {
	for i, e := range d {
		if bytes.IndexByte(e, 0) >= 0 {
			return i
		}
	}
	return -1
}

// errNUL refuses a BYTES element holding a NUL byte: the binding fills
// string tensors from C strings, which end at the first NUL, so the model
// would silently get the element cut short.
func errNUL(input string, element int) error {
	return status.InvalidInputf("input %q, element %d: contains a NUL byte, which ONNX Runtime's string tensors cannot hold (onnxruntime_go v1.27.0 passes them as C strings)", input, element)
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
