package infer

// AppendRows appends t's data as nested JSON lists, one entry per row of
// its first dimension: a v1 answer's predictions (one per instance). BYTES
// elements are strings (an element that is not UTF-8 is an InferenceError,
// as in a v2 JSON answer); a scalar is a one-element list.
func AppendRows(b []byte, t *Tensor) ([]byte, error) {
	if len(t.Shape) == 0 {
		return AppendJSON(b, sliceData(t.Data, 0, 1))
	}
	return rowsOf(b, t.Data, t.Shape, 0)
}

func rowsOf(b []byte, data any, shape []int64, off int) ([]byte, error) {
	if len(shape) == 1 {
		return AppendJSON(b, sliceData(data, off, off+int(shape[0])))
	}
	stride := int(ShapeSize(shape[1:]))
	b = append(b, '[')
	for i := range int(shape[0]) {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = rowsOf(b, data, shape[1:], off+i*stride); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

func sliceData(data any, lo, hi int) any {
	switch d := data.(type) {
	case []float32:
		return d[lo:hi]
	case []float64:
		return d[lo:hi]
	case []Float16:
		return d[lo:hi]
	case []int8:
		return d[lo:hi]
	case []int16:
		return d[lo:hi]
	case []int32:
		return d[lo:hi]
	case []int64:
		return d[lo:hi]
	case []uint8:
		return d[lo:hi]
	case []uint16:
		return d[lo:hi]
	case []uint32:
		return d[lo:hi]
	case []uint64:
		return d[lo:hi]
	case []bool:
		return d[lo:hi]
	case [][]byte:
		return d[lo:hi] // appended as strings, refused when not UTF-8
	}
	return nil
}
