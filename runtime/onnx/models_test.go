package onnx

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/kserve-gen/kserve-gen/runtime/batch"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/pb/pbconv"
	"github.com/kserve-gen/kserve-gen/runtime/status"
	"github.com/kserve-gen/kserve-gen/runtime/vision"
)

const (
	clsFile    = "ch_ppocr_mobile_v2.0_cls_infer.onnx"
	sileroFile = "silero_vad.onnx"
	clsH, clsW = 48, 192
)

// renderText draws text in black on white with the 7x13 bitmap font, scales
// it to the classifier's 48x192 input (as PaddleOCR's resize does when the
// text is wider than 4:1) and, when rotated, turns it by 180 degrees.
func renderText(text string, rotated bool) *image.RGBA {
	face := basicfont.Face7x13
	w := font.MeasureString(face, text).Ceil() + 4
	src := image.NewRGBA(image.Rect(0, 0, w, 17))
	draw.Draw(src, src.Bounds(), image.White, image.Point{}, draw.Src)
	d := &font.Drawer{Dst: src, Src: image.Black, Face: face, Dot: fixed.P(2, 13)}
	d.DrawString(text)
	dst := image.NewRGBA(image.Rect(0, 0, clsW, clsH))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	if rotated {
		r := image.NewRGBA(dst.Bounds())
		for y := range clsH {
			for x := range clsW {
				r.Set(clsW-1-x, clsH-1-y, dst.At(x, y))
			}
		}
		dst = r
	}
	return dst
}

// clsInput is PaddleOCR's normalisation: CHW, (px/255 - 0.5) / 0.5.
func clsInput(imgs ...*image.RGBA) *infer.Tensor {
	data := make([]float32, 0, len(imgs)*3*clsH*clsW)
	for _, img := range imgs {
		for c := range 3 {
			for y := range clsH {
				for x := range clsW {
					px := img.RGBAAt(x, y)
					v := [3]uint8{px.R, px.G, px.B}[c]
					data = append(data, (float32(v)/255-0.5)/0.5)
				}
			}
		}
	}
	return infer.NewTensor("x", []int64{int64(len(imgs)), 3, clsH, clsW}, data)
}

func TestCLS_ClassifiesRenderedTextOrientation(t *testing.T) {
	env := needEnv(t)
	path := modelFile(t, clsFile)
	s, err := env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1})
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, []TensorInfo{{Name: "x", Datatype: infer.FP32, Shape: []int64{-1, 3, -1, -1}}}, s.Inputs())
	assert.Equal(t, []TensorInfo{{Name: "softmax_0.tmp_0", Datatype: infer.FP32, Shape: []int64{-1, 2}}}, s.Outputs())

	texts := []string{"Hello World 2026", "kserve-gen serves ONNX", "The quick brown fox", "Invoice No. 4711"}
	var imgs []*image.RGBA
	for _, txt := range texts {
		imgs = append(imgs, renderText(txt, false), renderText(txt, true))
	}
	out, err := s.Run(context.Background(), []*infer.Tensor{clsInput(imgs...)})
	require.NoError(t, err)
	require.Equal(t, []int64{int64(len(imgs)), 2}, out[0].Shape)
	p, _ := out[0].AsFloat32()
	for i := range imgs {
		want := i % 2 // label 0 = "0" (upright), 1 = "180"
		t.Logf("%q rotated=%v: p(0)=%.3f p(180)=%.3f", texts[i/2], want == 1, p[2*i], p[2*i+1])
		assert.InDelta(t, 1, p[2*i]+p[2*i+1], 1e-4)
		assert.Greater(t, p[2*i+want], float32(0.8), "%q rotated=%v", texts[i/2], want == 1)
	}
}

func TestSilero_RunsWithScalarSampleRate(t *testing.T) {
	env := needEnv(t)
	path := modelFile(t, sileroFile)
	// Zeros with dynamic dimensions = 1 are too short for silero's padding,
	// so it gets a real warm-up sample.
	s, err := env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1, Warmup: sileroSample()})
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, []TensorInfo{
		{Name: "input", Datatype: infer.FP32, Shape: []int64{-1, -1}},
		{Name: "sr", Datatype: infer.INT64, Shape: []int64{}},
		{Name: "h", Datatype: infer.FP32, Shape: []int64{2, -1, 64}},
		{Name: "c", Datatype: infer.FP32, Shape: []int64{2, -1, 64}},
	}, s.Inputs())
	assert.Equal(t, []TensorInfo{
		{Name: "output", Datatype: infer.FP32, Shape: []int64{-1, 1}},
		{Name: "hn", Datatype: infer.FP32, Shape: []int64{2, -1, 64}},
		{Name: "cn", Datatype: infer.FP32, Shape: []int64{2, -1, 64}},
	}, s.Outputs())

	h := make([]float32, 2*64)
	c := make([]float32, 2*64)
	var probs []float32
	for chunk := range 4 {
		audio := make([]float32, 512) // silence
		out, err := s.Run(context.Background(), []*infer.Tensor{
			infer.NewTensor("input", []int64{1, 512}, audio),
			infer.NewTensor("sr", []int64{}, []int64{16000}),
			infer.NewTensor("h", []int64{2, 1, 64}, h),
			infer.NewTensor("c", []int64{2, 1, 64}, c),
		})
		require.NoError(t, err, "chunk %d", chunk)
		require.Len(t, out, 3)
		assert.Equal(t, []int64{1, 1}, out[0].Shape)
		assert.Equal(t, []int64{2, 1, 64}, out[1].Shape)
		assert.Equal(t, []int64{2, 1, 64}, out[2].Shape)
		p, _ := out[0].AsFloat32()
		probs = append(probs, p[0])
		h, _ = out[1].AsFloat32()
		c, _ = out[2].AsFloat32()
	}
	t.Logf("speech probability of silence, 4 chunks: %v", probs)
	for _, p := range probs {
		assert.Less(t, p, float32(0.1), "silence must not be speech")
		assert.GreaterOrEqual(t, p, float32(0))
	}
	assert.NotEqual(t, make([]float32, 2*64), h, "the recurrent state must have changed")

	// The sample rate is a rank-0 input: a [1] tensor is refused by name.
	_, err = s.Run(context.Background(), []*infer.Tensor{
		infer.NewTensor("input", []int64{1, 512}, make([]float32, 512)),
		infer.NewTensor("sr", []int64{1}, []int64{16000}),
		infer.NewTensor("h", []int64{2, 1, 64}, h),
		infer.NewTensor("c", []int64{2, 1, 64}, c),
	})
	require.Error(t, err)
	assert.Equal(t, `input "sr" has shape [1] (rank 1), but the model expects rank 0: []`, err.Error())
}

// TestSilero_InputsSharingADimensionNameMustAgree: silero names the batch
// dimension of input, h and c "batch"; ONNX Runtime does not check that
// they agree and fails deep inside the graph (a 500 about LSTM_245's
// initial_h), so the runtime reads the names from the model file and
// refuses the request with a 400 naming both inputs.
func TestSilero_InputsSharingADimensionNameMustAgree(t *testing.T) {
	env := needEnv(t)
	s, err := env.NewSession(context.Background(), modelFile(t, sileroFile), SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1, Warmup: sileroSample()})
	require.NoError(t, err)
	defer s.Close()

	_, err = s.Run(context.Background(), []*infer.Tensor{
		infer.NewTensor("input", []int64{1, 512}, make([]float32, 512)),
		infer.NewTensor("sr", []int64{}, []int64{16000}),
		infer.NewTensor("h", []int64{2, 3, 64}, make([]float32, 2*3*64)),
		infer.NewTensor("c", []int64{2, 3, 64}, make([]float32, 2*3*64)),
	})
	require.Error(t, err)
	assert.Equal(t, `input "h" has shape [2, 3, 64], but input "input" has shape [1, 512]: the model names dimension 1 of h and dimension 0 of input both "batch", so they must be the same size`, err.Error())
	assert.Equal(t, http.StatusBadRequest, status.HTTPCode(err))

	// The same dimension twice in one input, and dimensions named
	// differently (input's "sequence"), are free as before.
	out, err := s.Run(context.Background(), []*infer.Tensor{
		infer.NewTensor("input", []int64{3, 1024}, make([]float32, 3*1024)),
		infer.NewTensor("sr", []int64{}, []int64{16000}),
		infer.NewTensor("h", []int64{2, 3, 64}, make([]float32, 2*3*64)),
		infer.NewTensor("c", []int64{2, 3, 64}, make([]float32, 2*3*64)),
	})
	require.NoError(t, err)
	assert.Equal(t, []int64{3, 1}, out[0].Shape)
}

func sileroSample() []*infer.Tensor {
	return []*infer.Tensor{
		infer.NewTensor("input", []int64{1, 512}, make([]float32, 512)),
		infer.NewTensor("sr", []int64{}, []int64{16000}),
		infer.NewTensor("h", []int64{2, 1, 64}, make([]float32, 128)),
		infer.NewTensor("c", []int64{2, 1, 64}, make([]float32, 128)),
	}
}

// TestFlags_ServeBatchesSileroAlongItsBatchDimensions serves Silero VAD
// behind the dynamic batcher with its own batch dimensions (the state h
// and c batch along dimension 1, the sample rate not at all): four
// concurrent streams are merged into fewer ONNX Runtime calls, and each
// gets exactly what it gets alone.
func TestFlags_ServeBatchesSileroAlongItsBatchDimensions(t *testing.T) {
	env := needEnv(t)
	path := modelFile(t, sileroFile)
	ctx := context.Background()
	request := func(i int) *infer.Request {
		audio := make([]float32, 512)
		h, c := make([]float32, 128), make([]float32, 128)
		for j := range audio {
			audio[j] = float32(i+1) * 0.1 * float32(math.Sin(float64(j*(i+1))/10))
		}
		for j := range h {
			h[j], c[j] = float32(i)*0.01*float32(j%7), -float32(i)*0.01*float32(j%5)
		}
		return &infer.Request{Protocol: infer.ProtocolV2, ModelName: "vad", Inputs: []*infer.Tensor{
			infer.NewTensor("input", []int64{1, 512}, audio),
			infer.NewTensor("sr", []int64{}, []int64{16000}),
			infer.NewTensor("h", []int64{2, 1, 64}, h),
			infer.NewTensor("c", []int64{2, 1, 64}, c),
		}}
	}

	alone := NewModel("vad", path, WithEnv(env), WithDevice("cpu"), WithWarmup(sileroSample()...))
	require.NoError(t, alone.Load(ctx))
	defer alone.Unload(ctx)
	want := make([]*infer.Response, 4)
	for i := range want {
		var err error
		want[i], err = alone.Predict(ctx, request(i), nil)
		require.NoError(t, err)
	}

	f := &Flags{MaxBatchSize: 4, MaxQueueDelay: time.Second, Replicas: 1,
		InputBatchDim:  map[string]int{"sr": batch.NotBatched, "h": 1, "c": 1},
		OutputBatchDim: map[string]int{"hn": 1, "cn": 1}}
	served, err := f.Serve(NewModel("vad", path, WithEnv(env), WithDevice("cpu"), WithWarmup(sileroSample()...)))
	require.NoError(t, err)
	bm := served.(*batch.Model)
	require.NoError(t, bm.Load(ctx))
	defer bm.Unload(ctx)
	got := make([]*infer.Response, 4)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			var err error
			got[i], err = bm.Predict(ctx, request(i), nil)
			assert.NoError(t, err, "stream %d", i)
		})
	}
	wg.Wait()
	for i := range got {
		require.NotNil(t, got[i], "stream %d", i)
		require.Len(t, got[i].Outputs, 3)
		for k, out := range got[i].Outputs {
			w := want[i].Outputs[k]
			assert.Equal(t, w.Name, out.Name)
			assert.Equal(t, w.Shape, out.Shape, "stream %d %s", i, out.Name)
			a, _ := out.AsFloat32()
			b, _ := w.AsFloat32()
			assert.InDeltaSlice(t, b, a, 1e-5, "stream %d %s: batched against alone", i, out.Name)
		}
	}
	st := bm.Batcher().Stats()
	assert.Equal(t, int64(4), st.Rows)
	assert.Less(t, st.Batches, int64(4), "the four streams share ONNX Runtime calls")
}

// TestCLS_ClassificationWithLabels serves PaddleOCR's text-direction
// classifier with a labels.txt beside it ("0", "180", PaddleOCR's own
// label list) and asks for its top class over gRPC (the classification
// extension): rendered text, upright and turned over, comes back as
// "p:0:0" and "p:1:180", with p the class's probability.
func TestCLS_ClassificationWithLabels(t *testing.T) {
	env := needEnv(t)
	dir, _ := clsDirWithLabels(t, "0\n180\n")
	m := NewModel("cls", dir, WithEnv(env), WithDevice("cpu"))
	s := serve(t, m)
	assert.Equal(t, []string{"0", "180"}, m.Labels("softmax_0.tmp_0"))
	assert.Nil(t, m.Labels("other"))

	x := clsInput(renderText("Hello World 2026", false), renderText("Hello World 2026", true))
	req, err := pbconv.FromRequest(&infer.Request{ModelName: "cls", Inputs: []*infer.Tensor{x},
		Outputs: []infer.RequestedOutput{{Name: "softmax_0.tmp_0", Parameters: infer.Parameters{"classification": int64(1)}}}}, false)
	require.NoError(t, err)
	resp, err := s.grpc.ModelInfer(context.Background(), req)
	require.NoError(t, err)
	require.Len(t, resp.Outputs, 1)
	out := resp.Outputs[0]
	assert.Equal(t, "BYTES", out.Datatype)
	assert.Equal(t, []int64{2, 1}, out.Shape)
	got, err := pbconv.Response(resp)
	require.NoError(t, err)
	classes, err := got.Outputs[0].AsStrings()
	require.NoError(t, err)
	require.Len(t, classes, 2)
	assert.Regexp(t, `^(0\.9\d{5}|1\.000000):0:0$`, classes[0], "upright")
	assert.Regexp(t, `^(0\.9\d{5}|1\.000000):1:180$`, classes[1], "turned over")
}

// TestCLS_MisfitLabelsAreLeftOut: a labels.txt that does not fit the
// first output (another model's, left beside model.onnx when the model was
// replaced or re-generated with kserve-gen new --force) is left out with a
// warning: the classification extension answers "value:index", not the
// other model's class names.
func TestCLS_MisfitLabelsAreLeftOut(t *testing.T) {
	env := needEnv(t)
	dir, labels := clsDirWithLabels(t, "cat\ndog\nbird\n")
	m := NewModel("cls-misfit", dir, WithEnv(env), WithDevice("cpu"))
	s := serve(t, m)
	assert.Nil(t, m.Labels("softmax_0.tmp_0"))
	assert.Contains(t, envLog(), "ONNX model cls-misfit: class labels in "+labels+" left out: 3 names for output softmax_0.tmp_0, which has 2 classes")

	x := clsInput(renderText("Hello World 2026", true))
	data, err := x.AsFloat32()
	require.NoError(t, err)
	body, err := json.Marshal(map[string]any{
		"inputs":  []map[string]any{{"name": "x", "shape": x.Shape, "datatype": "FP32", "data": data}},
		"outputs": []map[string]any{{"name": "softmax_0.tmp_0", "parameters": map[string]any{"classification": 1}}},
	})
	require.NoError(t, err)
	code, got := httpDo(t, http.MethodPost, s.url+"/v2/models/cls-misfit/infer", string(body))
	require.Equal(t, http.StatusOK, code, got)
	assert.Regexp(t, `"datatype":"BYTES","parameters":null,"data":\["(0\.9\d{5}|1\.000000):1"\]`, got)
}

// clsDirWithLabels makes a model folder holding PaddleOCR's classifier as
// model.onnx and labels as its labels.txt, and returns the folder and the
// labels file.
func clsDirWithLabels(t *testing.T, labels string) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	model, err := os.ReadFile(modelFile(t, clsFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.onnx"), model, 0o644))
	file = filepath.Join(dir, LabelsFile)
	require.NoError(t, os.WriteFile(file, []byte(labels), 0o644))
	return dir, file
}

// clsFP16 writes PaddleOCR's classifier with its output narrowed to
// float16 by a Cast (the runtime's rewrite, the other way), and returns the
// file and the output's name.
func clsFP16(t *testing.T) (path, output string) {
	t.Helper()
	model, err := os.ReadFile(modelFile(t, clsFile))
	require.NoError(t, err)
	half, renamed, err := castOutputs(model, []string{"softmax_0.tmp_0"}, onnxgen.Float, onnxgen.Float16)
	require.NoError(t, err)
	path = filepath.Join(t.TempDir(), "cls16.onnx")
	require.NoError(t, os.WriteFile(path, half, 0o644))
	return path, renamed["softmax_0.tmp_0"]
}

// TestCLS_FP16Output: PaddleOCR's classifier with its output narrowed to
// float16 (a Cast at the end of a real exporter's graph, as a float16
// conversion without keep_io_types leaves it) is served with an FP16
// output, read through the runtime's own Cast back to float32
// (widenOutputs): every value is the float32 model's, rounded to float16
// as ONNX Runtime rounds it.
func TestCLS_FP16Output(t *testing.T) {
	env := needEnv(t)
	path, output := clsFP16(t)
	opts := SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1}
	s16, err := env.NewSession(context.Background(), path, opts)
	require.NoError(t, err)
	defer s16.Close()
	s32, err := env.NewSession(context.Background(), modelFile(t, clsFile), opts)
	require.NoError(t, err)
	defer s32.Close()
	name := output
	assert.Equal(t, []TensorInfo{{Name: name, Datatype: infer.FP16, Shape: []int64{-1, 2}}}, s16.Outputs())

	x := clsInput(renderText("Hello World 2026", false), renderText("Hello World 2026", true), renderText("Invoice No. 4711", false))
	out16, err := s16.Run(context.Background(), []*infer.Tensor{x})
	require.NoError(t, err)
	out32, err := s32.Run(context.Background(), []*infer.Tensor{x})
	require.NoError(t, err)
	p32, err := out32[0].AsFloat32()
	require.NoError(t, err)
	want := make([]infer.Float16, len(p32))
	for i, p := range p32 {
		want[i] = infer.Float16From(p)
	}
	assert.Equal(t, infer.NewTensor(name, []int64{3, 2}, want), out16[0])
	t.Logf("float32 %v, float16 %v", p32, want)
}

// clsImages is PaddleOCR's classifier taking images: its Preprocess is
// vision's, PaddleOCR's own preprocessing (stretch to 48×192, values to
// [-1, 1]).
type clsImages struct{ *Model }

var clsSpec = func() vision.Spec {
	s := vision.Symmetric
	s.Height, s.Width = clsH, clsW
	return s
}()

func (m clsImages) Preprocess(ctx context.Context, req *infer.Request, h *model.Headers) (*infer.Request, error) {
	return clsSpec.Apply(req, "x")
}

// TestCLS_ServesImages: images sent as KServe's custom predictor guide
// sends them ({"instances": [{"image": {"b64": PNG}}]}) reach the model as
// the tensor PaddleOCR's preprocessing makes, and the rendered text comes
// back classified upright and turned over; v2 takes the PNGs as a BYTES
// input (base64 in JSON, raw over gRPC). A file that is not an image is a
// 400 naming it.
func TestCLS_ServesImages(t *testing.T) {
	env := needEnv(t)
	up, down := renderText("Hello World 2026", false), renderText("Hello World 2026", true)
	pngs := make([]string, 2)
	for i, img := range []*image.RGBA{up, down} {
		var b bytes.Buffer
		require.NoError(t, png.Encode(&b, img))
		pngs[i] = base64.StdEncoding.EncodeToString(b.Bytes())
		raw, err := base64.StdEncoding.DecodeString(pngs[i])
		require.NoError(t, err)
		x, err := clsSpec.Tensor("x", [][]byte{raw})
		require.NoError(t, err)
		// vision's tensor is the one the test builds by hand (up to float
		// rounding: it multiplies by 1/(255·std) where the test divides).
		want := clsInput(img)
		require.Equal(t, want.Shape, x.Shape)
		assert.InDeltaSlice(t, want.Data, x.Data, 1e-6)
	}
	s := serve(t, clsImages{NewModel("cls", modelFile(t, clsFile), WithEnv(env), WithDevice("cpu"))})

	code, body := httpDo(t, "POST", s.url+"/v1/models/cls:predict", `{"instances":[{"image":{"b64":"`+pngs[0]+`"}},{"image":{"b64":"`+pngs[1]+`"}}]}`)
	require.Equal(t, 200, code, body)
	var v1 struct{ Predictions [][]float64 }
	require.NoError(t, json.Unmarshal([]byte(body), &v1))
	require.Len(t, v1.Predictions, 2)
	assert.Greater(t, v1.Predictions[0][0], 0.8, "upright")
	assert.Greater(t, v1.Predictions[1][1], 0.8, "turned over")

	code, body = httpDo(t, "POST", s.url+"/v2/models/cls/infer", `{"inputs":[{"name":"x","shape":[2],"datatype":"BYTES","data":["`+pngs[1]+`","`+pngs[0]+`"]}],"outputs":[{"name":"softmax_0.tmp_0","parameters":{"classification":1}}]}`)
	require.Equal(t, 200, code, body)
	assert.Regexp(t, `"data":\["(0\.9\d{5}|1\.000000):1","(0\.9\d{5}|1\.000000):0"\]`, body)

	// gRPC: the encoded images themselves, no base64.
	raw := make([][]byte, 2)
	for i, p := range pngs {
		raw[i], _ = base64.StdEncoding.DecodeString(p)
	}
	resp, err := s.grpc.ModelInfer(context.Background(), &pb.ModelInferRequest{ModelName: "cls",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "BYTES", Shape: []int64{2}, Contents: &pb.InferTensorContents{BytesContents: raw}}}})
	require.NoError(t, err)
	got, err := pbconv.Response(resp)
	require.NoError(t, err)
	p, err := got.Outputs[0].AsFloat32()
	require.NoError(t, err)
	assert.Greater(t, p[0], float32(0.8), "gRPC: upright")
	assert.Greater(t, p[3], float32(0.8), "gRPC: turned over")

	code, body = httpDo(t, "POST", s.url+"/v1/models/cls:predict", `{"instances":[{"image":{"b64":"`+pngs[0]+`"}},{"image":{"b64":"aGVsbG8="}}]}`)
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"instances[1]: not an image (PNG, JPEG, GIF, BMP or WebP)"}`, body)
}
