package onnx

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
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

// TestGPU_ModelServesOnCUDA: the ready-made model on the CUDA provider,
// behind the dynamic batcher, answers over v2 REST (eight concurrent
// one-row requests, merged into batches and split back), v1 and gRPC what
// the reference MLP computes, within TF32's precision.
func TestGPU_ModelServesOnCUDA(t *testing.T) {
	env := needGPU(t)
	testModelServesOn(t, env, "cuda", 2e-3)
}

// The same on the CPU, where CI runs it: the reference within float32's
// rounding.
func TestModel_ServesBatchedOverEveryProtocol(t *testing.T) {
	testModelServesOn(t, needEnv(t), "cpu", 1e-5)
}

// testModelServesOn serves an MLP on device behind the batcher and checks
// every protocol's answers against the reference within tol.
func testModelServesOn(t *testing.T, env *Env, device string, tol float64) {
	mlp := onnxgen.NewMLP(4, 8, 3, true, 11)
	path := writeModel(t, "mlp.onnx", mlp.Model())
	om := NewModel("mlp", path, WithEnv(env), WithDevice(device), WithConvAlgoSearch("heuristic"))
	m, err := (&Flags{Device: device, Replicas: 1, ConvAlgoSearch: "heuristic", MaxBatchSize: 4}).Serve(om)
	require.NoError(t, err)
	srv := serve(t, m)
	wantProvider := ProviderCPU
	if device != "cpu" {
		wantProvider = ProviderCUDA
	}
	assert.Equal(t, wantProvider, om.Provider())
	near := func(want, got []float64, what string) {
		t.Helper()
		require.Len(t, got, len(want), what)
		for i := range want {
			assert.InDelta(t, want[i], got[i], tol, "%s, element %d", what, i)
		}
	}

	rows := make([][]float32, 8)
	for i := range rows {
		rows[i] = randomInput(4, uint64(i+1))
	}
	var wg sync.WaitGroup
	for i, x := range rows {
		wg.Go(func() {
			in, _ := json.Marshal(x)
			code, body := httpDo(t, "POST", srv.url+"/v2/models/mlp/infer",
				fmt.Sprintf(`{"inputs":[{"name":"input","datatype":"FP32","shape":[1,4],"data":%s}]}`, in))
			if !assert.Equal(t, 200, code, body) {
				return
			}
			var v2 struct {
				Outputs []struct {
					Shape []int64   `json:"shape"`
					Data  []float64 `json:"data"`
				} `json:"outputs"`
			}
			if assert.NoError(t, json.Unmarshal([]byte(body), &v2)) && assert.Len(t, v2.Outputs, 1) {
				assert.Equal(t, []int64{1, 3}, v2.Outputs[0].Shape)
				near(referenceMLP(mlp, x, 1), v2.Outputs[0].Data, fmt.Sprintf("v2 row %d", i))
			}
		})
	}
	wg.Wait()

	x := append(slices.Clone(rows[0]), rows[1]...)
	want := referenceMLP(mlp, x, 2)
	code, body := httpDo(t, "POST", srv.url+"/v1/models/mlp:predict", `{"instances":`+mustJSON(t, [][]float32{rows[0], rows[1]})+`}`)
	require.Equal(t, 200, code, body)
	var v1 struct {
		Predictions [][]float64 `json:"predictions"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &v1))
	require.Len(t, v1.Predictions, 2)
	near(want, append(v1.Predictions[0], v1.Predictions[1]...), "v1")

	raw, err := infer.EncodeRaw(infer.NewTensor("input", []int64{2, 4}, x))
	require.NoError(t, err)
	resp, err := srv.grpc.ModelInfer(context.Background(), &pb.ModelInferRequest{
		ModelName:        "mlp",
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{2, 4}}},
		RawInputContents: [][]byte{raw},
	})
	require.NoError(t, err)
	require.Len(t, resp.RawOutputContents, 1)
	out, err := infer.DecodeRaw("output", "probs", infer.FP32, []int64{2, 3}, resp.RawOutputContents[0])
	require.NoError(t, err)
	var got []float64
	for _, f := range out.([]float32) {
		got = append(got, float64(f))
	}
	near(want, got, "gRPC")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
