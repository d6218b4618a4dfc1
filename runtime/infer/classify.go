package infer

import (
	"cmp"
	"math"
	"slices"
	"strconv"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// ClassificationParameter is the requested-output parameter of the
// classification extension of the Open Inference Protocol (Triton's):
//
//	"outputs": [{"name": "probs", "parameters": {"classification": 3}}]
//
// answers, instead of the output's values, its 3 largest classes in each
// batch row as BYTES strings "value:index" or, when the model names its
// classes, "value:index:label" — value printed as C's %f (6 decimals) for
// floating-point outputs, as an integer otherwise.
const ClassificationParameter = "classification"

// Classify applies the classification extension to resp: each output the
// request's "outputs" list asks to classify is replaced by its top
// classes. labels, when not nil, names an output's classes by index.
// Outputs the response does not have are left for SelectOutputs to
// report.
func Classify(req *Request, resp *Response, labels func(output string) []string) error {
	return classify(req, resp, labels, false)
}

// ClassifyForwarded is Classify for a response that a model forwarding the
// request, its requested outputs and their parameters included, got from
// another server (a transformer's predictor, model.OutputForwarder). That
// server may answer the extension itself, with its own labels: an output
// it answered as BYTES is its classification and is kept as it is, where
// Classify would refuse to rank strings. A numeric output, from a server
// without the extension (KServe's Python server ignores the parameter), is
// classified here.
func ClassifyForwarded(req *Request, resp *Response, labels func(output string) []string) error {
	return classify(req, resp, labels, true)
}

func classify(req *Request, resp *Response, labels func(output string) []string, keepBytes bool) error {
	// Outputs classified here: an output listed twice is classified once,
	// and SelectOutputs refuses the list, rather than the second copy
	// finding the first one's classes, BYTES that do not rank.
	var done []bool
	for _, o := range req.Outputs {
		v, asked := o.Parameters[ClassificationParameter]
		if !asked {
			continue
		}
		k, ok := o.Parameters.Int64(ClassificationParameter)
		if !ok || k < 1 {
			if str, isString := v.(string); isString {
				return status.InvalidInputf("output '%s': the classification parameter must be a positive integer, got the string %q", o.Name, str)
			}
			return status.InvalidInputf("output '%s': the classification parameter must be a positive integer, got %v", o.Name, v)
		}
		for i, t := range resp.Outputs {
			if t.Name != o.Name || (keepBytes && t.Datatype == BYTES) || done != nil && done[i] {
				continue
			}
			var l []string
			if labels != nil {
				l = labels(o.Name)
			}
			c, err := TopClasses(t, int(k), l)
			if err != nil {
				return err
			}
			resp.Outputs[i] = c
			if done == nil {
				done = make([]bool, len(resp.Outputs))
			}
			done[i] = true
		}
	}
	return nil
}

// TopClasses returns the k largest values of each row of t (the first
// dimension is the batch when t has two or more; a tensor of rank 0 or 1 is
// one row) as a BYTES tensor [rows, k] ([k] for one row without a batch
// dimension) of "value:index[:label]" strings, largest first, ties in index
// order. k larger than a row is the whole row.
func TopClasses(t *Tensor, k int, labels []string) (*Tensor, error) {
	n := int(ShapeSize(t.Shape))
	rows := 1
	if len(t.Shape) >= 2 {
		rows = int(t.Shape[0])
	}
	per := 0
	if rows > 0 {
		per = n / rows
	}
	count := min(k, per)
	var out []string
	switch d := t.Data.(type) {
	case []float32:
		out = top(d, rows, per, count, labels, func(v float32) string { return formatFloat(float64(v), 32) })
	case []float64:
		out = top(d, rows, per, count, labels, func(v float64) string { return formatFloat(v, 64) })
	case []Float16:
		f := make([]float32, len(d))
		for i, h := range d {
			f[i] = h.Float32()
		}
		out = top(f, rows, per, count, labels, func(v float32) string { return formatFloat(float64(v), 32) })
	case []int64:
		out = top(d, rows, per, count, labels, func(v int64) string { return strconv.FormatInt(v, 10) })
	case []int32:
		out = top(d, rows, per, count, labels, func(v int32) string { return strconv.FormatInt(int64(v), 10) })
	case []int16:
		out = top(d, rows, per, count, labels, func(v int16) string { return strconv.FormatInt(int64(v), 10) })
	case []int8:
		out = top(d, rows, per, count, labels, func(v int8) string { return strconv.FormatInt(int64(v), 10) })
	case []uint64:
		out = top(d, rows, per, count, labels, func(v uint64) string { return strconv.FormatUint(v, 10) })
	case []uint32:
		out = top(d, rows, per, count, labels, func(v uint32) string { return strconv.FormatUint(uint64(v), 10) })
	case []uint16:
		out = top(d, rows, per, count, labels, func(v uint16) string { return strconv.FormatUint(uint64(v), 10) })
	case []uint8:
		out = top(d, rows, per, count, labels, func(v uint8) string { return strconv.FormatUint(uint64(v), 10) })
	default:
		return nil, status.InvalidInputf("output '%s' is %s: the classification extension ranks numbers", t.Name, t.Datatype)
	}
	shape := []int64{int64(count)}
	if len(t.Shape) >= 2 {
		shape = []int64{int64(rows), int64(count)}
	}
	return NewStrings(t.Name, shape, out), nil
}

// formatFloat prints v as C's printf("%f") does (Triton's std::to_string):
// 6 decimals, and inf, -inf, nan (-nan with the sign bit set) where Go
// would print +Inf, -Inf and NaN.
func formatFloat(v float64, bits int) string {
	switch {
	case math.IsNaN(v) && math.Signbit(v):
		return "-nan"
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'f', 6, bits)
}

// top ranks each row of data, per values long, and formats its first
// count classes.
func top[T cmp.Ordered](data []T, rows, per, count int, labels []string, format func(T) string) []string {
	out := make([]string, 0, rows*count)
	idx := make([]int, per)
	for r := range rows {
		row := data[r*per : (r+1)*per]
		for i := range idx {
			idx[i] = i
		}
		// Largest first; cmp.Compare orders NaN below every number.
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(row[b], row[a]) })
		for _, c := range idx[:count] {
			s := format(row[c]) + ":" + strconv.Itoa(c)
			if c < len(labels) {
				s += ":" + labels[c]
			}
			out = append(out, s)
		}
	}
	return out
}
