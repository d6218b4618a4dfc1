package batch_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// mlp is the synthetic compute-bound model of the benchmarks: a 784-1024-10
// perceptron (ReLU hidden layer) in plain Go. Its batched forward pass
// computes a 4x2 tile of outputs per pass over the weights, so a batch loads
// each weight once per 4 rows instead of once per row; that, and nothing
// else, is what makes a row cheaper in a batch. The kernels are scalar Go
// (mlp_scalar_test.go), or AVX2 FMA through simd/archsimd when built with
// GOEXPERIMENT=simd (mlp_simd_test.go).
type mlp struct {
	w1, b1 []float32 // w1 is [1024][784]: hidden unit j's weights are contiguous
	w2, b2 []float32 // w2 is [10][1024]
}

const mlpIn, mlpHidden, mlpOut = 784, 1024, 10

func newMLP(seed uint64) *mlp {
	r := rand.New(rand.NewPCG(seed, seed+1))
	f := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = r.Float32()*0.1 - 0.05
		}
		return s
	}
	return &mlp{w1: f(mlpHidden * mlpIn), b1: f(mlpHidden), w2: f(mlpOut * mlpHidden), b2: f(mlpOut)}
}

// forward maps rows inputs of 784 values to rows outputs of 10.
func (m *mlp) forward(x []float32, rows int) []float32 {
	h := dense(x, rows, mlpIn, mlpHidden, m.w1, m.b1, true)
	return dense(h, rows, mlpHidden, mlpOut, m.w2, m.b2, false)
}

// dense is y[r][j] = act(b[j] + sum_k x[r][k] * w[j][k]) for x [rows][n],
// w [m][n].
func dense(x []float32, rows, n, m int, w, b []float32, relu bool) []float32 {
	y := make([]float32, rows*m)
	tiled := rows / 4 * 4
	// Weights outside, rows inside: a pair of weight rows stays in L1 while
	// every 4-row tile of the batch uses it, so the batch reads the weights
	// once instead of once per row.
	j := 0
	for ; j+2 <= m; j += 2 {
		w0, w1 := w[j*n:(j+1)*n], w[(j+1)*n:(j+2)*n]
		for r := 0; r < tiled; r += 4 {
			a := tile4x2(x[r*n:(r+1)*n], x[(r+1)*n:(r+2)*n], x[(r+2)*n:(r+3)*n], x[(r+3)*n:(r+4)*n], w0, w1)
			for q := range 4 {
				y[(r+q)*m+j], y[(r+q)*m+j+1] = a[q][0], a[q][1]
			}
		}
	}
	for ; j < m; j++ {
		for r := range tiled {
			y[r*m+j] = dot(x[r*n:(r+1)*n], w[j*n:(j+1)*n])
		}
	}
	r := tiled
	for ; r < rows; r++ {
		xr := x[r*n : (r+1)*n]
		for j := range m {
			y[r*m+j] = dot(xr, w[j*n:(j+1)*n])
		}
	}
	for i := range y {
		v := y[i] + b[i%m]
		if relu && v < 0 {
			v = 0
		}
		y[i] = v
	}
	return y
}

func tile4x2Scalar(x0, x1, x2, x3, w0, w1 []float32) (a [4][2]float32) {
	w1 = w1[:len(w0)]
	x0, x1, x2, x3 = x0[:len(w0)], x1[:len(w0)], x2[:len(w0)], x3[:len(w0)]
	var a00, a01, a10, a11, a20, a21, a30, a31 float32
	for k, v0 := range w0 {
		v1 := w1[k]
		e0, e1, e2, e3 := x0[k], x1[k], x2[k], x3[k]
		a00 += e0 * v0
		a01 += e0 * v1
		a10 += e1 * v0
		a11 += e1 * v1
		a20 += e2 * v0
		a21 += e2 * v1
		a30 += e3 * v0
		a31 += e3 * v1
	}
	return [4][2]float32{{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}}
}

func dotScalar(x, w []float32) float32 {
	w = w[:len(x)]
	var a0, a1, a2, a3 float32
	k := 0
	for ; k+4 <= len(x); k += 4 {
		a0 += x[k] * w[k]
		a1 += x[k+1] * w[k+1]
		a2 += x[k+2] * w[k+2]
		a3 += x[k+3] * w[k+3]
	}
	for ; k < len(x); k++ {
		a0 += x[k] * w[k]
	}
	return a0 + a1 + a2 + a3
}

// The benchmark model must be right: its batched pass equals a naive float64
// reference row by row.
func TestMLP_BatchedForwardMatchesReference(t *testing.T) {
	m := newMLP(7)
	const rows = 7 // a 4-row tile and 3 single rows
	r := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, rows*mlpIn)
	for i := range x {
		x[i] = r.Float32()
	}
	got := m.forward(x, rows)
	for row := range rows {
		h := make([]float64, mlpHidden)
		for j := range h {
			s := float64(m.b1[j])
			for k := range mlpIn {
				s += float64(x[row*mlpIn+k]) * float64(m.w1[j*mlpIn+k])
			}
			h[j] = math.Max(s, 0)
		}
		for o := range mlpOut {
			s := float64(m.b2[o])
			for j := range mlpHidden {
				s += h[j] * float64(m.w2[o*mlpHidden+j])
			}
			require.InDelta(t, s, float64(got[row*mlpOut+o]), 1e-4, "row %d output %d", row, o)
		}
	}
}
