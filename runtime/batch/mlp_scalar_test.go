//go:build !(goexperiment.simd && amd64)

package batch_test

const mlpKernel = "scalar"

func tile4x2(x0, x1, x2, x3, w0, w1 []float32) [4][2]float32 {
	return tile4x2Scalar(x0, x1, x2, x3, w0, w1)
}

func dot(x, w []float32) float32 { return dotScalar(x, w) }
