package onnx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// predictV1 feeds the request's instances to the model's only input (one
// instance per row of the batch dimension) and answers
// {"predictions": first output, one entry per instance}. Inputs a
// Preprocess set on the request (vision.Spec.Apply's image tensor) are fed
// instead of the instances.
func (m *Model) predictV1(ctx context.Context, p *Pool, req *infer.Request) (*infer.Response, error) {
	inputs := req.Inputs
	if len(inputs) == 0 {
		ins := p.Inputs()
		if len(ins) != 1 {
			return nil, status.InvalidInputf("model %s has %d inputs (%s); the v1 protocol feeds only one, use the v2 protocol", m.name, len(ins), describe(ins))
		}
		instances, err := req.Instances()
		if err != nil {
			return nil, err
		}
		t, err := instancesTensor(ins[0], instances)
		if err != nil {
			return nil, err
		}
		inputs = []*infer.Tensor{t}
	}
	outs, err := p.Run(ctx, inputs)
	if errors.Is(err, ErrPoolClosed) {
		return nil, status.ModelNotReady(m.name, "")
	}
	if err != nil {
		return nil, err
	}
	b, err := infer.AppendRows(nil, outs[0])
	if err != nil {
		return nil, err
	}
	return infer.PredictResponse(req, m.name, json.RawMessage(b))
}

// instancesTensor builds the input tensor from v1 instances: the shape is
// [len(instances), dims of one instance...] and must be regular; numbers are
// converted to the input's datatype.
func instancesTensor(info TensorInfo, instances []any) (*infer.Tensor, error) {
	if len(instances) == 0 && len(info.Shape) != 1 {
		// No instance to take the other dimensions from: the shape would be
		// [0], and the rank error about it names a shape the client never sent.
		return nil, status.InvalidInputf("%q is empty: send one instance per row of input %q (%s %s)", "instances", info.Name, info.Datatype, infer.FormatShape(info.Shape))
	}
	shape := []int64{int64(len(instances))}
	if len(instances) > 0 {
		for v := instances[0]; ; {
			l, ok := v.([]any)
			if !ok {
				break
			}
			shape = append(shape, int64(len(l)))
			if len(l) == 0 {
				break
			}
			v = l[0]
		}
	}
	n := infer.ShapeSize(shape)
	data := infer.MakeData(info.Datatype, int(n))
	if data == nil {
		return nil, status.InvalidInputf("input %q has datatype %s, which v1 instances cannot fill", info.Name, info.Datatype)
	}
	f := &filler{name: info.Name, dt: info.Datatype, data: data}
	if err := f.fill(instances, shape, nil); err != nil {
		return nil, err
	}
	return &infer.Tensor{Name: info.Name, Datatype: info.Datatype, Shape: shape, Data: data}, nil
}

type filler struct {
	name string
	dt   infer.Datatype
	data any
	pos  int
}

// fill walks v (a list at depth len(path)) checking it against shape.
func (f *filler) fill(v any, shape []int64, path []int) error {
	depth := len(path)
	if depth == len(shape) {
		return f.set(v, path)
	}
	l, ok := v.([]any)
	if !ok || int64(len(l)) != shape[depth] {
		return status.InvalidInputf("instances%s: expected a list of %d elements (instances must form a regular array of shape %s), got %s", where(path), shape[depth], infer.FormatShape(shape), brief(v))
	}
	for i, e := range l {
		if err := f.fill(e, shape, append(path, i)); err != nil {
			return err
		}
	}
	return nil
}

func (f *filler) set(v any, path []int) error {
	i := f.pos
	f.pos++
	bad := func(err error) error {
		return status.InvalidInputf("instances%s: %s is not a valid %s value for input %q%s", where(path), brief(v), f.dt, f.name, errSuffix(err))
	}
	if d, ok := f.data.([]bool); ok {
		b, ok := v.(bool)
		if !ok {
			return bad(nil)
		}
		d[i] = b
		return nil
	}
	if d, ok := f.data.([][]byte); ok {
		s, ok := v.(string)
		if !ok {
			return bad(nil)
		}
		d[i] = []byte(s)
		return nil
	}
	num, ok := v.(json.Number)
	if !ok {
		return bad(nil)
	}
	s := string(num)
	var err error
	switch d := f.data.(type) {
	case []float32:
		var x float64
		x, err = strconv.ParseFloat(s, 32)
		d[i] = float32(x)
	case []float64:
		d[i], err = strconv.ParseFloat(s, 64)
	case []infer.Float16:
		var x float64
		x, err = strconv.ParseFloat(s, 32)
		d[i] = infer.Float16From(float32(x))
	case []int8:
		err = setInt(d, i, s, 8)
	case []int16:
		err = setInt(d, i, s, 16)
	case []int32:
		err = setInt(d, i, s, 32)
	case []int64:
		err = setInt(d, i, s, 64)
	case []uint8:
		err = setUint(d, i, s, 8)
	case []uint16:
		err = setUint(d, i, s, 16)
	case []uint32:
		err = setUint(d, i, s, 32)
	case []uint64:
		err = setUint(d, i, s, 64)
	}
	if err != nil {
		return bad(err)
	}
	return nil
}

func setInt[T int8 | int16 | int32 | int64](d []T, i int, s string, bits int) error {
	x, err := strconv.ParseInt(s, 10, bits)
	d[i] = T(x)
	return err
}

func setUint[T uint8 | uint16 | uint32 | uint64](d []T, i int, s string, bits int) error {
	x, err := strconv.ParseUint(s, 10, bits)
	d[i] = T(x)
	return err
}

func where(path []int) string {
	b := []byte{}
	for _, i := range path {
		b = fmt.Appendf(b, "[%d]", i)
	}
	return string(b)
}

func brief(v any) string {
	switch x := v.(type) {
	case []any:
		return fmt.Sprintf("a list of %d elements", len(x))
	case map[string]any:
		return "an object"
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprint(v)
}

func errSuffix(err error) string {
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return " (" + ne.Err.Error() + ")"
	}
	return ""
}
