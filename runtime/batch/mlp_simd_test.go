//go:build goexperiment.simd && amd64

package batch_test

import "simd/archsimd"

const mlpKernel = "avx2"

var haveFMA = archsimd.X86.AVX2() && archsimd.X86.FMA()

// tile4x2 is tile4x2Scalar with 8 float32 lanes per step; it needs n to be
// a multiple of 8 (784 and 1024 are).
func tile4x2(x0, x1, x2, x3, w0, w1 []float32) [4][2]float32 {
	n := len(w0)
	if !haveFMA || n%8 != 0 {
		return tile4x2Scalar(x0, x1, x2, x3, w0, w1)
	}
	var a00, a01, a10, a11, a20, a21, a30, a31 archsimd.Float32x8
	for k := 0; k < n; k += 8 {
		v0 := archsimd.LoadFloat32x8Slice(w0[k:])
		v1 := archsimd.LoadFloat32x8Slice(w1[k:])
		e := archsimd.LoadFloat32x8Slice(x0[k:])
		a00, a01 = e.MulAdd(v0, a00), e.MulAdd(v1, a01)
		e = archsimd.LoadFloat32x8Slice(x1[k:])
		a10, a11 = e.MulAdd(v0, a10), e.MulAdd(v1, a11)
		e = archsimd.LoadFloat32x8Slice(x2[k:])
		a20, a21 = e.MulAdd(v0, a20), e.MulAdd(v1, a21)
		e = archsimd.LoadFloat32x8Slice(x3[k:])
		a30, a31 = e.MulAdd(v0, a30), e.MulAdd(v1, a31)
	}
	return [4][2]float32{
		{hsum(a00), hsum(a01)}, {hsum(a10), hsum(a11)},
		{hsum(a20), hsum(a21)}, {hsum(a30), hsum(a31)},
	}
}

func dot(x, w []float32) float32 {
	n := len(x)
	if !haveFMA || n%16 != 0 {
		return dotScalar(x, w)
	}
	var a0, a1 archsimd.Float32x8
	for k := 0; k < n; k += 16 {
		a0 = archsimd.LoadFloat32x8Slice(x[k:]).MulAdd(archsimd.LoadFloat32x8Slice(w[k:]), a0)
		a1 = archsimd.LoadFloat32x8Slice(x[k+8:]).MulAdd(archsimd.LoadFloat32x8Slice(w[k+8:]), a1)
	}
	return hsum(a0.Add(a1))
}

func hsum(v archsimd.Float32x8) float32 {
	var s [8]float32
	v.StoreSlice(s[:])
	return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7]
}
