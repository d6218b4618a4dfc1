package onnx

import (
	"context"
	ort "github.com/yalue/onnxruntime_go"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
	"github.com/kserve-gen/kserve-gen/runtime/status"
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

func TestSession_ScalarInputAndBoolOutput(t *testing.T) {
	env := needEnv(t)
	path := writeModel(t, "scale.onnx", onnxgen.Scale(3))
	s, err := env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1})
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, []TensorInfo{
		{Name: "x", Datatype: infer.FP32, Shape: []int64{-1, 3}},
		{Name: "k", Datatype: infer.INT64, Shape: []int64{}},
	}, s.Inputs())
	assert.Equal(t, []TensorInfo{
		{Name: "y", Datatype: infer.FP32, Shape: []int64{-1, 3}},
		{Name: "positive", Datatype: infer.BOOL, Shape: []int64{-1, 3}},
	}, s.Outputs())

	// Inputs in another order than the model's: matched by name.
	out, err := s.Run(context.Background(), []*infer.Tensor{
		infer.NewTensor("k", []int64{}, []int64{-2}),
		infer.NewTensor("x", []int64{2, 3}, []float32{1, -2, 0.5, 0, 3, -4}),
	})
	require.NoError(t, err)
	assert.Equal(t, &infer.Tensor{Name: "y", Datatype: infer.FP32, Shape: []int64{2, 3}, Data: []float32{-2, 4, -1, 0, -6, 8}}, out[0])
	assert.Equal(t, &infer.Tensor{Name: "positive", Datatype: infer.BOOL, Shape: []int64{2, 3}, Data: []bool{false, true, false, false, false, true}}, out[1])
}

func TestSession_RejectsBadInputsByName(t *testing.T) {
	env := needEnv(t)
	path := writeModel(t, "scale.onnx", onnxgen.Scale(3))
	s, err := env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1})
	require.NoError(t, err)
	defer s.Close()
	x := infer.NewTensor("x", []int64{1, 3}, []float32{1, 2, 3})
	k := infer.NewTensor("k", []int64{}, []int64{2})
	models := "the model's inputs are x (FP32 [-1, 3]), k (INT64 [])"
	for _, tc := range []struct {
		name   string
		inputs []*infer.Tensor
		want   string
	}{
		{"missing", []*infer.Tensor{x}, `missing input "k": ` + models},
		{"unexpected", []*infer.Tensor{x, k, infer.NewTensor("z", []int64{1}, []float32{1})}, `unexpected input "z": ` + models},
		{"twice", []*infer.Tensor{x, x, k}, `input "x" given twice`},
		{"datatype", []*infer.Tensor{infer.NewTensor("x", []int64{1, 3}, []float64{1, 2, 3}), k}, `input "x" has datatype FP64, but the model expects FP32`},
		{"rank", []*infer.Tensor{infer.NewTensor("x", []int64{3}, []float32{1, 2, 3}), k}, `input "x" has shape [3] (rank 1), but the model expects rank 2: [-1, 3]`},
		{"fixed dim", []*infer.Tensor{infer.NewTensor("x", []int64{3, 1}, []float32{1, 2, 3}), k}, `input "x" has shape [3, 1], but the model expects [-1, 3] (dimension 1 must be 3)`},
		{"element count", []*infer.Tensor{infer.NewTensor("x", []int64{2, 3}, []float32{1, 2, 3}), k}, `input x: shape [2, 3] expects 6 elements, but 3 were given`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Run(context.Background(), tc.inputs)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.Equal(t, status.KindInvalidInput, status.KindOf(err))
		})
	}
}

func TestSession_CancelledContextStopsRunAndSessionRecovers(t *testing.T) {
	env := needEnv(t)
	mlp := onnxgen.NewMLP(64, 128, 10, true, 3)
	s, err := env.NewSession(context.Background(), writeModel(t, "mlp.onnx", mlp.Model()), SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1})
	require.NoError(t, err)
	defer s.Close()
	in := []*infer.Tensor{infer.NewTensor("input", []int64{1, 64}, randomInput(64, 1))}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Run(ctx, in)
	require.ErrorIs(t, err, context.Canceled)

	// Cancelled while running: 64 chained 512x512 MatMuls on 512 rows take
	// seconds; ONNX Runtime's terminate flag stops the run between nodes.
	slow, err := env.NewSession(context.Background(), writeModel(t, "chain.onnx", onnxgen.Chain(64, 512)), SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1, NoWarmup: true})
	require.NoError(t, err)
	defer slow.Close()
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = slow.Run(ctx, []*infer.Tensor{infer.NewTensor("x", []int64{512, 512}, make([]float32, 512*512))})
	require.ErrorIs(t, err, context.Canceled)

	// The run options that carried the terminate flag are reused, reset.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	for range 3 {
		out, err := s.Run(ctx2, in)
		require.NoError(t, err)
		assert.Equal(t, []int64{1, 10}, out[0].Shape)
	}
}

func TestSession_WarmupSampleMustRun(t *testing.T) {
	env := needEnv(t)
	path := writeModel(t, "scale.onnx", onnxgen.Scale(3))
	_, err := env.NewSession(context.Background(), path, SessionOptions{
		Device: Device{Kind: DeviceCPU},
		Warmup: []*infer.Tensor{infer.NewTensor("x", []int64{1, 3}, []float32{1, 2, 3})},
	})
	require.Error(t, err)
	assert.Equal(t, "warm-up of "+path+`: missing input "k": the model's inputs are x (FP32 [-1, 3]), k (INT64 [])`, err.Error())
}

// A cuDNN search setting the CUDA provider would refuse is an error of the
// session, on any device: checked by the provider instead, it would read as
// CUDA being unavailable and quietly move an auto model to the CPU.
func TestSession_ConvAlgoSearchIsChecked(t *testing.T) {
	env := needEnv(t)
	path := writeModel(t, "mlp.onnx", onnxgen.NewMLP(8, 16, 4, true, 1).Model())
	for _, d := range []DeviceKind{DeviceAuto, DeviceCPU} {
		_, err := env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: d}, ConvAlgoSearch: "fastest"})
		assert.EqualError(t, err, `invalid cuDNN convolution algorithm search "fastest": expected exhaustive, heuristic or default`, "device %v", d)
	}
	for _, v := range []string{"", "exhaustive", "HEURISTIC", "Default"} {
		s, err := env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceCPU}, ConvAlgoSearch: v})
		require.NoError(t, err, "%q", v)
		require.NoError(t, s.Close())
	}
}

func TestParseConvAlgoSearch(t *testing.T) {
	for in, want := range map[string]string{"": "", "exhaustive": "EXHAUSTIVE", "Heuristic": "HEURISTIC", "DEFAULT": "DEFAULT"} {
		got, err := ParseConvAlgoSearch(in)
		require.NoError(t, err)
		assert.Equal(t, want, got, "%q", in)
	}
	_, err := ParseConvAlgoSearch("heuristics")
	assert.EqualError(t, err, `invalid cuDNN convolution algorithm search "heuristics": expected exhaustive, heuristic or default`)
}

func TestSession_ProfileShowsCPUProvider(t *testing.T) {
	env := needEnv(t)
	mlp := onnxgen.NewMLP(8, 16, 4, true, 1)
	prefix := filepath.Join(t.TempDir(), "profile")
	s, err := env.NewSession(context.Background(), writeModel(t, "mlp.onnx", mlp.Model()), SessionOptions{Device: Device{Kind: DeviceCPU}, ProfilePrefix: prefix})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	providers, err := ProfileProviders(prefix)
	require.NoError(t, err)
	// ONNX Runtime 1.29 fuses MatMul+Add twice (6 nodes → 3 kernels); the
	// warm-up is the only run.
	assert.Equal(t, map[string]int{"CPUExecutionProvider": 3}, providers)
}

func TestZeros(t *testing.T) {
	z := Zeros([]TensorInfo{
		{Name: "a", Datatype: infer.FP32, Shape: []int64{-1, 3}},
		{Name: "b", Datatype: infer.INT64, Shape: []int64{}},
		{Name: "c", Datatype: infer.BYTES, Shape: []int64{2}},
	}, 2)
	assert.Equal(t, []*infer.Tensor{
		{Name: "a", Datatype: infer.FP32, Shape: []int64{2, 3}, Data: make([]float32, 6)},
		{Name: "b", Datatype: infer.INT64, Shape: []int64{}, Data: []int64{0}},
		{Name: "c", Datatype: infer.BYTES, Shape: []int64{2}, Data: [][]byte{{}, {}}},
	}, z)
}

func TestSession_Float16AndStringInputs(t *testing.T) {
	env := needEnv(t)
	s, err := env.NewSession(context.Background(), writeModel(t, "types.onnx", onnxgen.Types()), SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1})
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, []TensorInfo{{Name: "half", Datatype: infer.FP16, Shape: []int64{-1}}, {Name: "text", Datatype: infer.BYTES, Shape: []int64{-1}}}, s.Inputs())
	half := []infer.Float16{infer.Float16From(1.5), infer.Float16From(-2), infer.Float16From(65504)}
	out, err := s.Run(context.Background(), []*infer.Tensor{
		infer.NewTensor("half", []int64{3}, half),
		// Both inputs' dimension is named "batch" (onnxgen.Dims): one size.
		infer.NewStrings("text", []int64{3}, []string{"héllo", "", "x"}),
	})
	require.NoError(t, err)
	assert.Equal(t, &infer.Tensor{Name: "single", Datatype: infer.FP32, Shape: []int64{3}, Data: []float32{1.5, -2, 65504}}, out[0])
	assert.Equal(t, &infer.Tensor{Name: "same", Datatype: infer.BYTES, Shape: []int64{3}, Data: [][]byte{[]byte("héllo"), []byte(""), []byte("x")}}, out[1])
}

// TestSession_Float16OutputsAreServed: the binding cannot read a float16
// output (it copies one byte per element, then fails), so the session asks
// for it through a Cast to float32 added to the model in memory and narrows
// the result back: every bit pattern comes back as the model produced it,
// subnormals, infinities and negative zero included, and the output is
// still declared FP16. The Cast's result must not take a name the model
// already uses.
func TestSession_Float16OutputsAreServed(t *testing.T) {
	env := needEnv(t)
	taken := "copy.kserve-gen.fp32"
	m := &onnxgen.Model{Graph: onnxgen.Graph{
		Name: "half-out",
		Nodes: []onnxgen.Node{
			{Op: "Identity", Name: "copy", Inputs: []string{"half"}, Outputs: []string{"copy"}},
			{Op: "Cast", Name: "widen", Inputs: []string{"half"}, Outputs: []string{taken}, Attrs: []onnxgen.Attr{onnxgen.IntAttr("to", int64(onnxgen.Float))}},
		},
		Inputs: []onnxgen.ValueInfo{{Name: "half", Elem: onnxgen.Float16, Shape: onnxgen.Dims(-1)}},
		Outputs: []onnxgen.ValueInfo{
			{Name: "copy", Elem: onnxgen.Float16, Shape: onnxgen.Dims(-1)},
			{Name: taken, Elem: onnxgen.Float, Shape: onnxgen.Dims(-1)},
		},
	}}
	path := writeModel(t, "half-out.onnx", m)
	s, err := env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1})
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, []TensorInfo{
		{Name: "copy", Datatype: infer.FP16, Shape: []int64{-1}},
		{Name: taken, Datatype: infer.FP32, Shape: []int64{-1}},
	}, s.Outputs())

	// zero, -0, the smallest and largest subnormals, 1, ±65504, ±Inf, NaN, 1/3
	bits := []infer.Float16{0x0000, 0x8000, 0x0001, 0x03ff, 0x3c00, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0x3555}
	out, err := s.Run(context.Background(), []*infer.Tensor{infer.NewTensor("half", []int64{int64(len(bits))}, bits)})
	require.NoError(t, err)
	require.Len(t, out, 2)
	assert.Equal(t, infer.NewTensor("copy", []int64{int64(len(bits))}, bits), out[0])
	wide := out[1].Data.([]float32)
	for i, h := range bits {
		if h == 0x7e00 {
			assert.True(t, math.IsNaN(float64(wide[i])))
			continue
		}
		assert.Equal(t, math.Float32bits(h.Float32()), math.Float32bits(wide[i]), "element %d", i)
	}
}

// TestSession_Float16OutputWithExternalData: the rewritten model is loaded
// from memory, so ONNX Runtime must still find weights stored beside the
// model file.
func TestSession_Float16OutputWithExternalData(t *testing.T) {
	env := needEnv(t)
	w := onnxgen.Initializer{Name: "W", Dims: []int64{2, 2}, Data: []float32{1, 2, 3, 4}, Location: "weights.bin"}
	m := &onnxgen.Model{Graph: onnxgen.Graph{
		Name: "external-half",
		Nodes: []onnxgen.Node{
			{Op: "MatMul", Name: "matmul", Inputs: []string{"x", "W"}, Outputs: []string{"y32"}},
			{Op: "Cast", Name: "narrow", Inputs: []string{"y32"}, Outputs: []string{"y"}, Attrs: []onnxgen.Attr{onnxgen.IntAttr("to", int64(onnxgen.Float16))}},
		},
		Initializers: []onnxgen.Initializer{w},
		Inputs:       []onnxgen.ValueInfo{{Name: "x", Elem: onnxgen.Float, Shape: onnxgen.Dims(-1, 2)}},
		Outputs:      []onnxgen.ValueInfo{{Name: "y", Elem: onnxgen.Float16, Shape: onnxgen.Dims(-1, 2)}},
	}}
	path := writeModel(t, "model.onnx", m)
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(path), w.Location), w.RawData(), 0o644))
	s, err := env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1})
	require.NoError(t, err)
	defer s.Close()
	out, err := s.Run(context.Background(), []*infer.Tensor{infer.NewTensor("x", []int64{2, 2}, []float32{1, 1, 0.5, -1})})
	require.NoError(t, err)
	assert.Equal(t, []*infer.Tensor{infer.NewTensor("y", []int64{2, 2}, []infer.Float16{infer.Float16From(4), infer.Float16From(6), infer.Float16From(-2.5), infer.Float16From(-3)})}, out)
}

func TestWidenOutputs_Errors(t *testing.T) {
	model := (&onnxgen.Model{Graph: onnxgen.Graph{
		Nodes:   []onnxgen.Node{{Op: "Identity", Inputs: []string{"x"}, Outputs: []string{"y"}}},
		Inputs:  []onnxgen.ValueInfo{{Name: "x", Elem: onnxgen.Float16, Shape: onnxgen.Dims(2)}},
		Outputs: []onnxgen.ValueInfo{{Name: "y", Elem: onnxgen.Float16, Shape: onnxgen.Dims(2)}},
	}}).Marshal()
	_, _, err := widenOutputs(model, []string{"z"})
	assert.EqualError(t, err, `graph output "z" not found`)
	_, _, err = widenOutputs(model[:len(model)-3], []string{"y"})
	assert.EqualError(t, err, "read model: unexpected EOF")
	_, _, err = widenOutputs([]byte{}, []string{"y"})
	assert.EqualError(t, err, "read model: 0 graphs, want 1")
	_, renamed, err := widenOutputs(model, []string{"y"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"y": "y.kserve-gen.fp32"}, renamed)
}

func TestDestroyAll_SkipsTypedNil(t *testing.T) {
	var missing *ort.Tensor[float32]
	assert.NotPanics(t, func() { destroyAll([]ort.Value{nil, missing}) })
}

// TestSession_ZipMapOutputIsLeftOut: scikit-learn's default export adds a
// ZipMap output (a sequence of maps), which the protocol cannot carry; the
// model is served with its tensor outputs, ONNX Runtime is not asked for
// the other, and the load says so. A model with no tensor output is
// refused.
func TestSession_ZipMapOutputIsLeftOut(t *testing.T) {
	env := needEnv(t)
	path := writeModel(t, "zipmap.onnx", onnxgen.ZipMap())
	s, err := env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1})
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, []TensorInfo{{Name: "scores", Datatype: infer.FP32, Shape: []int64{-1, 3}}}, s.Outputs())
	out, err := s.Run(context.Background(), []*infer.Tensor{infer.NewTensor("x", []int64{1, 3}, []float32{0.2, 0.5, 0.3})})
	require.NoError(t, err)
	assert.Equal(t, []*infer.Tensor{infer.NewTensor("scores", []int64{1, 3}, []float32{0.2, 0.5, 0.3})}, out)
	assert.Contains(t, envLog(), "ONNX model "+path+`: output probabilities (a sequence) is not served: the Open Inference Protocol carries tensors only (for scikit-learn's ZipMap, export with skl2onnx's options={'zipmap': False})`)

	only := onnxgen.ZipMap()
	only.Graph.Outputs = only.Graph.Outputs[1:]
	only.Graph.Nodes = only.Graph.Nodes[1:]
	path = writeModel(t, "only-zipmap.onnx", only)
	_, err = env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1})
	assert.EqualError(t, err, "model "+path+`: no output is a tensor (probabilities (a sequence)); only tensors can be served`)
}
