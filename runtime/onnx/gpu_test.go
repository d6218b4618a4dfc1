package onnx

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
)

// expectGPU is set by scripts/gpu-check.sh on a machine with an NVIDIA GPU:
// there the CUDA provider must work, and these tests fail rather than skip.
const expectGPU = "KSERVE_GEN_EXPECT_GPU"

func needGPU(t *testing.T) *Env {
	t.Helper()
	env := needEnv(t)
	if os.Getenv(expectGPU) == "" {
		t.Skipf("SKIPPED: GPU tests run only with %s=1 (scripts/gpu-check.sh sets it on a GPU machine)", expectGPU)
	}
	return env
}

func TestGPU_CUDAProviderRunsTheMLP(t *testing.T) {
	env := needGPU(t)
	mlp := onnxgen.NewMLP(784, 1024, 10, true, 5)
	path := writeModel(t, "mlp784.onnx", mlp.Model())
	prefix := filepath.Join(t.TempDir(), "profile")
	s, err := env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceCUDA}, GPUMemLimit: 1 << 30, ProfilePrefix: prefix})
	require.NoError(t, err, "the CUDA execution provider must load on a GPU machine")
	assert.Equal(t, ProviderCUDA, s.Provider())

	x := randomInput(32*784, 9)
	out, err := s.Run(context.Background(), []*infer.Tensor{infer.NewTensor("input", []int64{32, 784}, x)})
	require.NoError(t, err)
	got, _ := out[0].AsFloat32()
	want := referenceMLP(mlp, x, 32)
	for i := range want {
		// TF32 matrix products on the GPU: ~1e-3 relative error.
		assert.InDelta(t, want[i], float64(got[i]), 2e-3, "element %d", i)
	}
	require.NoError(t, s.Close())
	providers, err := ProfileProviders(prefix)
	require.NoError(t, err)
	t.Logf("kernel runs per execution provider: %v", providers)
	assert.Positive(t, providers[ProviderCUDA], "nodes must run on the CUDA provider")
	assert.GreaterOrEqual(t, providers[ProviderCUDA], providers[ProviderCPU], "most nodes on the GPU")
}

func TestGPU_CLSOnCUDAClassifiesRenderedText(t *testing.T) {
	env := needGPU(t)
	path := modelFile(t, clsFile)
	s, err := env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceAuto}})
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, ProviderCUDA, s.Provider(), "auto picks CUDA when it works")
	var imgs []*image.RGBA
	for _, txt := range []string{"Hello World 2026", "The quick brown fox"} {
		imgs = append(imgs, renderText(txt, false), renderText(txt, true))
	}
	out, err := s.Run(context.Background(), []*infer.Tensor{clsInput(imgs...)})
	require.NoError(t, err)
	p, _ := out[0].AsFloat32()
	for i := range imgs {
		assert.Greater(t, p[2*i+i%2], float32(0.8), "image %d", i)
	}
}

// TestGPU_FP16OutputOnCUDA: a model with an FP16 output (PaddleOCR's
// classifier narrowed to float16, as a float16 conversion for the GPU
// leaves it) runs on the CUDA provider from the rewritten model in memory,
// and answers the CPU's float32 values within float16's precision.
func TestGPU_FP16OutputOnCUDA(t *testing.T) {
	env := needGPU(t)
	path, output := clsFP16(t)
	gpu, err := env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceCUDA}})
	require.NoError(t, err)
	defer gpu.Close()
	assert.Equal(t, ProviderCUDA, gpu.Provider())
	cpu, err := env.NewSession(context.Background(), modelFile(t, clsFile), SessionOptions{Device: Device{Kind: DeviceCPU}})
	require.NoError(t, err)
	defer cpu.Close()

	x := clsInput(renderText("Hello World 2026", false), renderText("Hello World 2026", true))
	got, err := gpu.Run(context.Background(), []*infer.Tensor{x})
	require.NoError(t, err)
	want, err := cpu.Run(context.Background(), []*infer.Tensor{x})
	require.NoError(t, err)
	assert.Equal(t, output, got[0].Name)
	require.Equal(t, infer.FP16, got[0].Datatype)
	w, _ := want[0].AsFloat32()
	for i, h := range got[0].Data.([]infer.Float16) {
		assert.InDelta(t, w[i], h.Float32(), 2e-3, "element %d", i)
	}
}

// TestGPU_ConvAlgoSearch: every cuDNN algorithm search setting runs the
// classifier on CUDA and answers what the CPU answers. Its log shows what
// the first run of each new input shape costs under each setting (the
// exhaustive search times every algorithm then): the figures behind
// --cudnn_conv_algo_search's documentation. A batch size is a new shape,
// so dynamic batching meets several.
func TestGPU_ConvAlgoSearch(t *testing.T) {
	env := needGPU(t)
	ctx := context.Background()
	path := modelFile(t, clsFile)
	cpu, err := env.NewSession(ctx, path, SessionOptions{Device: Device{Kind: DeviceCPU}})
	require.NoError(t, err)
	defer cpu.Close()
	var imgs []*image.RGBA
	for i := range 4 {
		imgs = append(imgs, renderText("Hello World 2026", i%2 == 1))
	}
	for _, search := range []string{"exhaustive", "heuristic", "default"} {
		s, err := env.NewSession(ctx, path, SessionOptions{Device: Device{Kind: DeviceCUDA}, ConvAlgoSearch: search})
		require.NoError(t, err, search)
		assert.Equal(t, ProviderCUDA, s.Provider())
		for _, n := range []int{1, 2, 4} {
			x := []*infer.Tensor{clsInput(imgs[:n]...)}
			t0 := time.Now()
			got, err := s.Run(ctx, x)
			first := time.Since(t0)
			require.NoError(t, err, "%s, batch %d", search, n)
			t0 = time.Now()
			_, err = s.Run(ctx, x)
			second := time.Since(t0)
			require.NoError(t, err)
			want, err := cpu.Run(ctx, x)
			require.NoError(t, err)
			g, _ := got[0].AsFloat32()
			w, _ := want[0].AsFloat32()
			require.Len(t, g, len(w))
			for i := range w {
				assert.InDelta(t, w[i], g[i], 2e-3, "%s, batch %d, element %d", search, n, i)
			}
			t.Logf("%-10s batch %d: first run %v, second %v", search, n, first.Round(time.Microsecond), second.Round(time.Microsecond))
		}
		require.NoError(t, s.Close())
	}
}
