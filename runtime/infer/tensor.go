package infer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Element is the set of Go element types a tensor can hold.
type Element interface {
	bool | uint8 | uint16 | uint32 | uint64 | int8 | int16 | int32 | int64 | Float16 | float32 | float64 | []byte
}

// Tensor is one named input or output tensor. Data holds a typed slice whose
// Go type matches Datatype (see Datatype.GoType): []float32 for FP32,
// [][]byte for BYTES, []Float16 for FP16, and so on.
//
// A model may change a request's input data in place (normalise pixels,
// say) and answer with it: the server decodes each request afresh into
// memory of its own (the binary extension's and gRPC's raw contents alias
// that request's body, which is never reused), and reads nothing of the
// inputs once the model has them; a Preprocess may likewise change the
// request it passes on. Two exceptions. A batch.Batch's Inputs are
// read-only: a batch of one is the request's own tensors, an input that is
// not batched is the first request's tensor shared by the whole batch,
// BYTES elements keep the requests' arrays, and when the batch function
// names bad requests (batch.RequestErrors) the others are merged again
// from their own tensors and rerun, so a change made through any of these
// would be applied twice. And data handed to runtime/onnx is read in
// place, so it must not change while the session runs.
type Tensor struct {
	// Name is the tensor's name, unique among a request's inputs or a
	// response's outputs.
	Name string
	// Datatype is the element type on the wire; it decides Data's Go type.
	Datatype Datatype
	// Shape is the tensor's dimensions; their product is Data's length.
	Shape []int64
	// Parameters are the tensor's own "parameters" as sent, nil when it
	// has none.
	Parameters Parameters
	// Data holds the elements flat, in row-major order, as a typed slice.
	Data any
}

// NewTensor returns a tensor whose datatype follows from T. A []byte element
// type makes a BYTES tensor.
func NewTensor[T Element](name string, shape []int64, data []T) *Tensor {
	return &Tensor{Name: name, Datatype: DatatypeOf[T](), Shape: shape, Data: data}
}

// DatatypeOf returns the datatype whose data is held as []T.
func DatatypeOf[T Element]() Datatype {
	var z T
	switch any(z).(type) {
	case bool:
		return BOOL
	case uint8:
		return UINT8
	case uint16:
		return UINT16
	case uint32:
		return UINT32
	case uint64:
		return UINT64
	case int8:
		return INT8
	case int16:
		return INT16
	case int32:
		return INT32
	case int64:
		return INT64
	case Float16:
		return FP16
	case float32:
		return FP32
	case float64:
		return FP64
	default:
		return BYTES
	}
}

// NewStrings returns a BYTES tensor holding the UTF-8 bytes of each string.
func NewStrings(name string, shape []int64, data []string) *Tensor {
	b := make([][]byte, len(data))
	for i, s := range data {
		b[i] = []byte(s)
	}
	return NewTensor(name, shape, b)
}

// As returns the tensor's data as []T when the datatype matches T, and an
// InvalidInput error naming the tensor otherwise. A nil t, what
// Request.Input returns for a name the request lacks, is an InvalidInput
// error too (a 400, not a panic); InputAs names the missing input.
func As[T Element](t *Tensor) ([]T, error) {
	if t == nil {
		return nil, errNoTensor()
	}
	if d, ok := t.Data.([]T); ok {
		return d, nil
	}
	return nil, wrongDatatype[T]("tensor %q has datatype %s, expected %s", t)
}

// wrongDatatype is As's error for a tensor whose data is not []T. It is in
// the protocol's words (FP32, BYTES), not Go's ([]float32, [][]byte): a
// client reads it, often passed on by a transformer. format takes the
// tensor's name, the datatype it has and the one T holds.
func wrongDatatype[T Element](format string, t *Tensor) error {
	want := DatatypeOf[T]()
	if t.Datatype == want {
		// The datatype is right but the data is not: a model or
		// Preprocess built the tensor by hand. Say what it holds.
		return holdsWrongData("tensor", strconv.Quote(t.Name), t)
	}
	return status.InvalidInputf(format, t.Name, t.Datatype, want)
}

// holdsWrongData is the error for a tensor whose Data is not the Go slice
// its Datatype is held as, naming the datatype the data would have.
func holdsWrongData(kind, name string, t *Tensor) error {
	if d, ok := dataDatatype(t.Data); ok {
		return status.InvalidInputf("%s %s has datatype %s but holds %s data", kind, name, t.Datatype, d)
	}
	return status.InvalidInputf("%s %s has datatype %s but holds %T, which is no datatype's data (see infer.Element)", kind, name, t.Datatype, t.Data)
}

// errNoTensor is the accessors' answer for a nil tensor.
func errNoTensor() error {
	return status.InvalidInput("missing input tensor: the request has no input of the name asked for")
}

// InputAs returns the data of the request's input called name as []T: an
// InvalidInput error (a 400) names an input the request lacks, listing
// those it has, or one of another datatype. A v1 request (a :predict body)
// has no named inputs; the error then says so and points its client at v2.
func InputAs[T Element](r *Request, name string) ([]T, error) {
	t := r.Input(name)
	if t == nil {
		if r.Protocol == ProtocolV1 && len(r.Inputs) == 0 && (r.Body != nil || r.Payload != nil) {
			// "the request's inputs are []" would leave a client that sent
			// {"instances": ...} to :predict wondering where its data went.
			return nil, status.InvalidInputf("missing input %q: this is a v1 request, which has no named inputs; the model reads v2 requests (POST /v2/models/%s/infer, or gRPC ModelInfer)", name, r.ModelName)
		}
		names := make([]string, len(r.Inputs))
		for i, in := range r.Inputs {
			names[i] = strconv.Quote(in.Name)
		}
		return nil, status.InvalidInputf("missing input %q: the request's inputs are [%s]", name, strings.Join(names, ", "))
	}
	if d, ok := t.Data.([]T); ok {
		return d, nil
	}
	// Worded as runtime/onnx words its own datatype check, so that a
	// client reads one message whichever model answers.
	return nil, wrongDatatype[T]("input %q has datatype %s, but the model expects %s", t)
}

// InputShaped is InputAs that also checks the input's shape against want
// (see Tensor.CheckShape), so that one call gives a model the data it can
// index: InputShaped[float32](req, "x", -1, 3, 224, 224) answers a 400
// naming "x" for an input that is missing, is not FP32, or is not
// [N, 3, 224, 224].
func InputShaped[T Element](r *Request, name string, want ...int64) ([]T, error) {
	d, err := InputAs[T](r, name)
	if err != nil {
		return nil, err
	}
	if err := r.Input(name).CheckShape(want...); err != nil {
		return nil, err
	}
	return d, nil
}

// CheckShape returns nil when t's shape has want's rank and each dimension
// equals want's, a negative one (-1, as model metadata writes a dynamic
// dimension) matching any size. Otherwise it returns an InvalidInput error
// (a 400) naming the input, the shape it has, the shape expected and the
// rank or the first dimension that differs. The server has already checked
// that a request's data fills its shape (Validate); this checks the shape
// is the one the model can read.
func (t *Tensor) CheckShape(want ...int64) error {
	if t == nil {
		return errNoTensor()
	}
	// Worded as runtime/onnx words its own check, so that a client reads
	// one style whichever model answers.
	if len(t.Shape) != len(want) {
		return status.InvalidInputf("input %q has shape %s (rank %d), but the model expects rank %d: %s", t.Name, FormatShape(t.Shape), len(t.Shape), len(want), FormatShape(want))
	}
	for i, d := range want {
		if d >= 0 && t.Shape[i] != d {
			return status.InvalidInputf("input %q has shape %s, but the model expects %s (dimension %d must be %d)", t.Name, FormatShape(t.Shape), FormatShape(want), i, d)
		}
	}
	return nil
}

// AsFloat32 returns FP32 data.
func (t *Tensor) AsFloat32() ([]float32, error) { return As[float32](t) }

// AsFloat64 returns FP64 data.
func (t *Tensor) AsFloat64() ([]float64, error) { return As[float64](t) }

// AsInt64 returns INT64 data.
func (t *Tensor) AsInt64() ([]int64, error) { return As[int64](t) }

// AsInt32 returns INT32 data.
func (t *Tensor) AsInt32() ([]int32, error) { return As[int32](t) }

// AsBool returns BOOL data.
func (t *Tensor) AsBool() ([]bool, error) { return As[bool](t) }

// AsBytes returns BYTES data, one []byte per element.
func (t *Tensor) AsBytes() ([][]byte, error) { return As[[]byte](t) }

// AsStrings returns BYTES data as strings (KServe's as_string).
func (t *Tensor) AsStrings() ([]string, error) {
	b, err := t.AsBytes()
	if err != nil {
		return nil, err
	}
	s := make([]string, len(b))
	for i, v := range b {
		s[i] = string(v)
	}
	return s, nil
}

// Float64s converts any numeric or BOOL data to float64 (numpy's astype),
// for models that do not care about the wire datatype.
func (t *Tensor) Float64s() ([]float64, error) {
	if t == nil {
		return nil, errNoTensor()
	}
	switch d := t.Data.(type) {
	case []float64:
		return d, nil
	case []float32:
		return convert(d), nil
	case []int64:
		return convert(d), nil
	case []int32:
		return convert(d), nil
	case []int16:
		return convert(d), nil
	case []int8:
		return convert(d), nil
	case []uint64:
		return convert(d), nil
	case []uint32:
		return convert(d), nil
	case []uint16:
		return convert(d), nil
	case []uint8:
		return convert(d), nil
	case []Float16:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v.Float32())
		}
		return out, nil
	case []bool:
		out := make([]float64, len(d))
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
		return out, nil
	}
	return nil, status.InvalidInputf("tensor %q has datatype %s, which is not numeric", t.Name, t.Datatype)
}

func convert[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32](in []T) []float64 {
	out := make([]float64, len(in))
	for i, v := range in {
		out[i] = float64(v)
	}
	return out
}

// Len is the number of elements in Data.
func (t *Tensor) Len() int { return dataLen(t.Data) }

func dataLen(data any) int {
	switch d := data.(type) {
	case []bool:
		return len(d)
	case []uint8:
		return len(d)
	case []uint16:
		return len(d)
	case []uint32:
		return len(d)
	case []uint64:
		return len(d)
	case []int8:
		return len(d)
	case []int16:
		return len(d)
	case []int32:
		return len(d)
	case []int64:
		return len(d)
	case []Float16:
		return len(d)
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case [][]byte:
		return len(d)
	}
	return -1
}

// ShapeSize is the number of elements a shape describes, or -1 when a
// dimension is negative or the count would overflow.
func ShapeSize(shape []int64) int64 {
	n, ok := elements(shape)
	if !ok {
		return -1
	}
	return n
}

// InvalidShape is the error for a shape with a negative dimension or too
// many elements, the same over REST (JSON or binary) and gRPC. kind is
// "input" or "output".
func InvalidShape(kind, name string, shape []int64) error {
	return status.InvalidInputf("%s %s: shape %s is invalid: dimensions must be 0 or more and multiply to fewer than 2^60 elements", kind, name, FormatShape(shape))
}

// Validate checks that the datatype is supported, Data's Go type matches it
// and the element count matches the shape. kind names the tensor in
// messages ("input" or "output").
func (t *Tensor) Validate(kind string) error {
	if !t.Datatype.Valid() {
		return status.InvalidInputf("invalid datatype %q for %s %s", string(t.Datatype), kind, t.Name)
	}
	n := dataLen(t.Data)
	if n < 0 || !matchesType(t.Datatype, t.Data) {
		return holdsWrongData(kind, t.Name, t)
	}
	want := ShapeSize(t.Shape)
	if want < 0 {
		// Not "expects -1 elements": a negative dimension or an overflowing
		// product is the shape's fault, whatever the data.
		return InvalidShape(kind, t.Name, t.Shape)
	}
	if want != int64(n) {
		return status.InvalidInputf("%s %s: shape %s expects %s, but %s", kind, t.Name, FormatShape(t.Shape),
			plural(want, "element", "elements"), plural(int64(n), "was given", "were given"))
	}
	return nil
}

func matchesType(d Datatype, data any) bool {
	got, ok := dataDatatype(data)
	return ok && got == d
}

// dataDatatype returns the datatype whose data is held as data's Go type.
func dataDatatype(data any) (Datatype, bool) {
	switch data.(type) {
	case []bool:
		return BOOL, true
	case []uint8:
		return UINT8, true
	case []uint16:
		return UINT16, true
	case []uint32:
		return UINT32, true
	case []uint64:
		return UINT64, true
	case []int8:
		return INT8, true
	case []int16:
		return INT16, true
	case []int32:
		return INT32, true
	case []int64:
		return INT64, true
	case []Float16:
		return FP16, true
	case []float32:
		return FP32, true
	case []float64:
		return FP64, true
	case [][]byte:
		return BYTES, true
	}
	return "", false
}

// FormatShape prints a shape like Python prints a list: [1, 3, 224, 224].
// A shape of more than maxShownDims dimensions shows its first and last
// few and how many it has ([1, 1, 1, 1, 1, 1, 1, 1, …, 1, 1] (100000
// dimensions)): it is quoted in error messages, and a request's shape of a
// million dimensions would otherwise come back in a 400 of megabytes, and
// be logged whole wherever the error is.
func FormatShape(shape []int64) string {
	if len(shape) > maxShownDims {
		head, tail := appendDims([]byte{'['}, shape[:8]), appendDims(nil, shape[len(shape)-2:])
		return fmt.Sprintf("%s, …, %s] (%d dimensions)", head, tail, len(shape))
	}
	return string(append(appendDims([]byte{'['}, shape), ']'))
}

// plural is n with one or many, as n is 1 or not ("1 element", "2
// elements").
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}

// appendDims appends dims to b, separated by ", ".
func appendDims(b []byte, dims []int64) []byte {
	for i, d := range dims {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, d, 10)
	}
	return b
}

// maxShownDims is the most dimensions FormatShape prints in full: far more
// than any model's tensors have (ONNX Runtime and TensorRT allow 8 to 64).
const maxShownDims = 32

// MakeData allocates a zeroed typed slice of n elements for datatype d.
func MakeData(d Datatype, n int) any {
	switch d {
	case BOOL:
		return make([]bool, n)
	case UINT8:
		return make([]uint8, n)
	case UINT16:
		return make([]uint16, n)
	case UINT32:
		return make([]uint32, n)
	case UINT64:
		return make([]uint64, n)
	case INT8:
		return make([]int8, n)
	case INT16:
		return make([]int16, n)
	case INT32:
		return make([]int32, n)
	case INT64:
		return make([]int64, n)
	case FP16:
		return make([]Float16, n)
	case FP32:
		return make([]float32, n)
	case FP64:
		return make([]float64, n)
	case BYTES:
		return make([][]byte, n)
	}
	return nil
}
