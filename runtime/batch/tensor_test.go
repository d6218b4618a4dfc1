package batch

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// seq returns n values of every datatype, distinct per position, so a
// misplaced element is visible.
func seqData(d infer.Datatype, from, n int) any {
	out := infer.MakeData(d, n)
	for i := range n {
		v := from + i
		switch s := out.(type) {
		case []bool:
			s[i] = v%3 == 0
		case []uint8:
			s[i] = uint8(v)
		case []uint16:
			s[i] = uint16(v)
		case []uint32:
			s[i] = uint32(v)
		case []uint64:
			s[i] = uint64(v)
		case []int8:
			s[i] = int8(v)
		case []int16:
			s[i] = int16(v)
		case []int32:
			s[i] = int32(v)
		case []int64:
			s[i] = int64(v)
		case []infer.Float16:
			s[i] = infer.Float16From(float32(v))
		case []float32:
			s[i] = float32(v)
		case []float64:
			s[i] = float64(v)
		case [][]byte:
			s[i] = []byte{'e', byte('0' + v%10), byte(v)}
		}
	}
	return out
}

func TestConcatSplit_EveryDatatypeAlongDim0(t *testing.T) {
	for _, d := range infer.Datatypes {
		t.Run(string(d), func(t *testing.T) {
			// Requests of 1, 3 and 2 rows of 2 elements each.
			a := &infer.Tensor{Name: "x", Datatype: d, Shape: []int64{1, 2}, Data: seqData(d, 0, 2)}
			b := &infer.Tensor{Name: "x", Datatype: d, Shape: []int64{3, 2}, Data: seqData(d, 2, 6)}
			c := &infer.Tensor{Name: "x", Datatype: d, Shape: []int64{2, 2}, Data: seqData(d, 8, 4)}
			merged := concatTensors([]*infer.Tensor{a, b, c}, 0)
			require.NoError(t, merged.Validate("input"))
			assert.Equal(t, []int64{6, 2}, merged.Shape)
			assert.Equal(t, seqData(d, 0, 12), merged.Data)

			parts := splitTensor(merged, 0, []int{1, 3, 2})
			require.Len(t, parts, 3)
			for i, want := range []*infer.Tensor{a, b, c} {
				assert.Equal(t, want.Shape, parts[i].Shape)
				assert.Equal(t, want.Data, parts[i].Data)
				assert.Equal(t, d, parts[i].Datatype)
			}
		})
	}
}

func TestSplit_Dim0PartsCannotGrowIntoTheirNeighbours(t *testing.T) {
	merged := infer.NewTensor("y", []int64{4}, []float32{1, 2, 3, 4})
	parts := splitTensor(merged, 0, []int{2, 2})
	first := parts[0].Data.([]float32)
	_ = append(first, 99) // must reallocate, not overwrite row 2
	assert.Equal(t, []float32{3, 4}, parts[1].Data)
}

// Silero's state tensors are [2, batch, 64]: batch is dimension 1, so each
// request's rows are interleaved blocks of the merged tensor.
func TestConcatSplit_AlongDim1(t *testing.T) {
	// a: [2, 1, 3], b: [2, 2, 3]
	a := infer.NewTensor("h", []int64{2, 1, 3}, []float32{
		1, 2, 3,
		4, 5, 6,
	})
	b := infer.NewTensor("h", []int64{2, 2, 3}, []float32{
		10, 11, 12, 13, 14, 15,
		16, 17, 18, 19, 20, 21,
	})
	merged := concatTensors([]*infer.Tensor{a, b}, 1)
	assert.Equal(t, []int64{2, 3, 3}, merged.Shape)
	assert.Equal(t, []float32{
		1, 2, 3, 10, 11, 12, 13, 14, 15,
		4, 5, 6, 16, 17, 18, 19, 20, 21,
	}, merged.Data)

	parts := splitTensor(merged, 1, []int{1, 2})
	assert.Equal(t, a.Shape, parts[0].Shape)
	assert.Equal(t, a.Data, parts[0].Data)
	assert.Equal(t, b.Shape, parts[1].Shape)
	assert.Equal(t, b.Data, parts[1].Data)
}

func TestConcat_BytesAlongLastDim(t *testing.T) {
	a := infer.NewStrings("s", []int64{2, 1}, []string{"a", "b"})
	b := infer.NewStrings("s", []int64{2, 2}, []string{"c", "d", "e", "f"})
	merged := concatTensors([]*infer.Tensor{a, b}, 1)
	got, err := merged.AsStrings()
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "c", "d", "b", "e", "f"}, got)
	assert.Equal(t, []int64{2, 3}, merged.Shape)
}

func TestAppendValue_DistinguishesValuesAndByteBoundaries(t *testing.T) {
	key := func(data any) string { return string(appendValue(nil, data)) }
	assert.Equal(t, key([]int64{16000}), key([]int64{16000}))
	assert.NotEqual(t, key([]int64{16000}), key([]int64{8000}))
	assert.NotEqual(t, key([][]byte{[]byte("ab"), []byte("c")}), key([][]byte{[]byte("a"), []byte("bc")}))
	assert.NotEqual(t, key([]infer.Float16{infer.Float16From(1)}), key([]infer.Float16{infer.Float16From(2)}))
	assert.NotEqual(t, key([]bool{true}), key([]bool{false}))
}
