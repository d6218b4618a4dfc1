package onnx

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
)

// referenceMLP computes the MLP in float64, independently of ONNX Runtime.
func referenceMLP(m *onnxgen.MLP, x []float32, batch int) []float64 {
	out := make([]float64, batch*m.Out)
	h := make([]float64, m.Hidden)
	for b := range batch {
		for j := range m.Hidden {
			s := float64(m.B1[j])
			for i := range m.In {
				s += float64(x[b*m.In+i]) * float64(m.W1[i*m.Hidden+j])
			}
			h[j] = math.Max(s, 0)
		}
		row := out[b*m.Out : (b+1)*m.Out]
		for k := range m.Out {
			s := float64(m.B2[k])
			for j := range m.Hidden {
				s += h[j] * float64(m.W2[j*m.Out+k])
			}
			row[k] = s
		}
		if m.Softmax {
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, v)
			}
			var sum float64
			for k, v := range row {
				row[k] = math.Exp(v - mx)
				sum += row[k]
			}
			for k := range row {
				row[k] /= sum
			}
		}
	}
	return out
}

func randomInput(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = r.Float32()*4 - 2
	}
	return x
}

func TestSession_MLPMatchesReference(t *testing.T) {
	env := needEnv(t)
	for _, softmax := range []bool{false, true} {
		mlp := onnxgen.NewMLP(64, 128, 10, softmax, 7)
		path := writeModel(t, "mlp.onnx", mlp.Model())
		s, err := env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })

		assert.Equal(t, []TensorInfo{{Name: "input", Datatype: infer.FP32, Shape: []int64{-1, 64}}}, s.Inputs())
		assert.Equal(t, []TensorInfo{{Name: "probs", Datatype: infer.FP32, Shape: []int64{-1, 10}}}, s.Outputs())
		assert.Equal(t, ProviderCPU, s.Provider())

		for _, batch := range []int{1, 5, 32} {
			x := randomInput(batch*64, uint64(batch))
			out, err := s.Run(context.Background(), []*infer.Tensor{infer.NewTensor("input", []int64{int64(batch), 64}, x)})
			require.NoError(t, err)
			require.Len(t, out, 1)
			assert.Equal(t, "probs", out[0].Name)
			assert.Equal(t, infer.FP32, out[0].Datatype)
			assert.Equal(t, []int64{int64(batch), 10}, out[0].Shape)
			got, err := out[0].AsFloat32()
			require.NoError(t, err)
			want := referenceMLP(mlp, x, batch)
			require.Len(t, got, len(want))
			for i := range want {
				assert.InDelta(t, want[i], float64(got[i]), 1e-4, "softmax=%v batch=%d element %d", softmax, batch, i)
			}
		}
	}
}
