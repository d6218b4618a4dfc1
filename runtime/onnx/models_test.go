package onnx

import (
	"context"
	"image"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
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

func sileroSample() []*infer.Tensor {
	return []*infer.Tensor{
		infer.NewTensor("input", []int64{1, 512}, make([]float32, 512)),
		infer.NewTensor("sr", []int64{}, []int64{16000}),
		infer.NewTensor("h", []int64{2, 1, 64}, make([]float32, 128)),
		infer.NewTensor("c", []int64{2, 1, 64}, make([]float32, 128)),
	}
}
