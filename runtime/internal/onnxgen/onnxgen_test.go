package onnxgen

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

// fields decodes one protobuf message level: field number → raw values.
func fields(t *testing.T, b []byte) map[protowire.Number][][]byte {
	t.Helper()
	out := map[protowire.Number][][]byte{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		require.GreaterOrEqual(t, n, 0)
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			var x uint64
			x, n = protowire.ConsumeVarint(b)
			v = protowire.AppendVarint(nil, x)
		case protowire.Fixed32Type:
			_, n = protowire.ConsumeFixed32(b)
			v = b[:4]
		default:
			t.Fatalf("unexpected wire type %v", typ)
		}
		require.GreaterOrEqual(t, n, 0)
		out[num] = append(out[num], v)
		b = b[n:]
	}
	return out
}

func varint(t *testing.T, b []byte) uint64 {
	v, n := protowire.ConsumeVarint(b)
	require.Equal(t, len(b), n)
	return v
}

func TestMarshal_ModelStructure(t *testing.T) {
	m := NewMLP(4, 8, 3, true, 1).Model()
	top := fields(t, m.Marshal())
	assert.Equal(t, uint64(8), varint(t, top[modelIRVersion][0]), "IR version")
	assert.Equal(t, "kserve-gen onnxgen", string(top[modelProducer][0]))
	opset := fields(t, top[modelOpsetImport][0])
	assert.Equal(t, uint64(13), varint(t, opset[opsetVersion][0]))

	g := fields(t, top[modelGraph][0])
	assert.Equal(t, "mlp", string(g[graphName][0]))
	var ops []string
	for _, n := range g[graphNode] {
		ops = append(ops, string(fields(t, n)[nodeOpType][0]))
	}
	assert.Equal(t, []string{"MatMul", "Add", "Relu", "MatMul", "Add", "Softmax"}, ops)
	w1 := fields(t, g[graphInitializer][0])
	assert.Equal(t, "W1", string(w1[tensorNm][0]))
	assert.Len(t, w1[tensorRaw][0], 4*4*8, "float32 raw data")

	// The input's batch dimension is symbolic, the feature dimension fixed.
	in := fields(t, g[graphInput][0])
	assert.Equal(t, "input", string(in[valueName][0]))
	tt := fields(t, fields(t, fields(t, in[valueType][0])[typeTensor][0])[ttShape][0])
	require.Len(t, tt[shapeDim], 2)
	assert.Equal(t, "batch", string(fields(t, tt[shapeDim][0])[dimParam][0]))
	assert.Equal(t, uint64(4), varint(t, fields(t, tt[shapeDim][1])[dimValue][0]))
}

func TestMarshal_ScalarHasAnEmptyShape(t *testing.T) {
	// A scalar must carry an empty shape; without one the rank is unknown.
	scalar := fields(t, fields(t, (&ValueInfo{Name: "k", Elem: Int64, Shape: []Dim{}}).marshal())[valueType][0])
	tensor := fields(t, scalar[typeTensor][0])
	require.Contains(t, tensor, protowire.Number(ttShape))
	assert.Empty(t, tensor[ttShape][0])
	unknown := fields(t, fields(t, fields(t, (&ValueInfo{Name: "u", Elem: Float}).marshal())[valueType][0])[typeTensor][0])
	assert.NotContains(t, unknown, protowire.Number(ttShape))
}

func TestDims(t *testing.T) {
	assert.Equal(t, []Dim{{Param: "batch"}, {Value: 3}, {Param: "d2"}}, Dims(-1, 3, -1))
}

func TestNewMLP_IsDeterministic(t *testing.T) {
	a, b := NewMLP(5, 6, 2, false, 42), NewMLP(5, 6, 2, false, 42)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a.W1, NewMLP(5, 6, 2, false, 43).W1)
	assert.Equal(t, a.Model().Marshal(), b.Model().Marshal())
}
