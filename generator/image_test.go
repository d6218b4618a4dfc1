package generator_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	_ "image/png"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/generator"
	"github.com/kserve-gen/kserve-gen/internal/onnxtest"
	"github.com/kserve-gen/kserve-gen/onnxinfo"
	"github.com/kserve-gen/kserve-gen/project"
)

// TestImageInput finds the input images can be fed to: 4 dimensions, 3
// channels first or last, FP32 or FP16.
func TestImageInput(t *testing.T) {
	dims := func(sizes ...int64) []onnxinfo.Dim {
		d := make([]onnxinfo.Dim, len(sizes))
		for i, s := range sizes {
			d[i] = onnxinfo.Dim{Size: s}
		}
		return d
	}
	tensor := func(name string, elem onnxinfo.ElemType, shape []onnxinfo.Dim) onnxinfo.Value {
		return onnxinfo.Value{Name: name, Kind: onnxinfo.KindTensor, Elem: elem, Shape: shape, HasShape: true}
	}
	for _, c := range []struct {
		inputs       []onnxinfo.Value
		name, layout string
	}{
		{[]onnxinfo.Value{tensor("x", onnxinfo.Float, dims(-1, 3, 224, 224))}, "x", "NCHW"},
		{[]onnxinfo.Value{tensor("x", onnxinfo.Float16, dims(-1, 224, 224, 3))}, "x", "NHWC"},
		{[]onnxinfo.Value{tensor("ids", onnxinfo.Int64, dims(-1, 3, 8, 8)), tensor("img", onnxinfo.Float, dims(1, 3, -1, -1))}, "img", "NCHW"},
		{[]onnxinfo.Value{tensor("x", onnxinfo.Float, dims(-1, 4, 224, 224))}, "", ""},
		{[]onnxinfo.Value{tensor("x", onnxinfo.Float, dims(-1, 3, 224))}, "", ""},
		{[]onnxinfo.Value{tensor("x", onnxinfo.Float, dims(-1, -1, 224, 224))}, "", ""},
	} {
		m := &generator.ONNXModel{Info: &onnxinfo.Model{Inputs: c.inputs}}
		in, layout, ok := m.ImageInput()
		assert.Equal(t, c.name != "", ok, "%v", c.inputs)
		assert.Equal(t, c.name, in.Name)
		assert.Equal(t, c.layout, layout)
	}
}

func TestCheckImage_NamesWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	load := func(model []byte, shapes map[string][]int64, image string) *generator.ONNXModel {
		p := filepath.Join(dir, "m.onnx")
		require.NoError(t, os.WriteFile(p, model, 0o644))
		m, err := generator.LoadONNXModel(p, shapes)
		require.NoError(t, err)
		m.Image = image
		return m
	}
	assert.EqualError(t, load(onnxtest.Image("8", "8"), nil, "coco").CheckImage(), `--image "coco": want imagenet, symmetric, unit, yolo`)
	assert.EqualError(t, load(generator.SampleONNXModel(), nil, "unit").CheckImage(),
		"--image: no input of the model takes images (one needs 4 dimensions, 3 channels first as NCHW [batch,3,H,W] or last as NHWC [batch,H,W,3], and FP32 or FP16); its inputs are input FP32 [batch,4]")
	assert.EqualError(t, load(onnxtest.Image("height", "width"), nil, "unit").CheckImage(),
		"--image: input pixels FP32 [batch,3,height,width] takes images, but its height and width are dynamic; give the size images are resized to with --input-shape pixels=1,3,224,224")
	assert.NoError(t, load(onnxtest.Image("height", "width"), map[string][]int64{"pixels": {1, 3, 32, 48}}, "unit").CheckImage())
	// A fixed height (PaddleOCR's recogniser, [batch,3,48,width]): the
	// shape suggested keeps it, and is one --input-shape takes (the
	// message suggested 1,3,224,224, which it refused: dimension 2 must
	// be 48, not 224).
	assert.EqualError(t, load(onnxtest.Image("48", "width"), nil, "symmetric").CheckImage(),
		"--image: input pixels FP32 [batch,3,48,width] takes images, but its width is dynamic; give the size images are resized to with --input-shape pixels=1,3,48,224")
	assert.NoError(t, load(onnxtest.Image("48", "width"), map[string][]int64{"pixels": {1, 3, 48, 224}}, "symmetric").CheckImage())
	assert.NoError(t, load(onnxtest.Image("8", "8"), nil, "imagenet").CheckImage())
	assert.Equal(t, "Input pixels takes images (PNG, JPEG, GIF, BMP or WebP), imagenet preprocessing to NCHW 8×8 (--image imagenet: shorter side scaled to 1/0.875 of the input's, centre cropped, ImageNet mean and std); input.json sends a 10×10 PNG test pattern",
		load(onnxtest.Image("8", "8"), nil, "imagenet").DescribeImage())
}

// TestGenerate_ImageOverV1: a v1 project of an image model sends
// {"instances": [{"image": {"b64": PNG}}]}, KServe's custom predictor
// guide's request, at the size --input-shape gives; its tests (unless
// -short) pass against ONNX Runtime: the image is decoded, resized and
// normalised by the project's Preprocess.
func TestGenerate_ImageOverV1(t *testing.T) {
	dir := onnxProjectWith(t, "pix", "pix.onnx", onnxtest.Image("height", "width"), map[string][]int64{"pixels": {1, 3, 24, 32}}, nil, func(o *generator.Options) {
		o.Project.Protocol = project.ProtocolV1
		o.Model.Image = "symmetric"
	})
	input, err := os.ReadFile(filepath.Join(dir, "input.json"))
	require.NoError(t, err)
	var req struct {
		Instances []struct {
			Image struct{ B64 string }
		}
	}
	require.NoError(t, json.Unmarshal(input, &req))
	require.Len(t, req.Instances, 1)
	assert.Regexp(t, regexp.MustCompile(`^iVBORw0KGgo`), req.Instances[0].Image.B64, "a PNG")
	model, err := os.ReadFile(filepath.Join(dir, "model.go"))
	require.NoError(t, err)
	assert.Contains(t, string(model), "\ts := vision.Symmetric\n\ts.Layout, s.Height, s.Width = vision.NCHW, 24, 32\n")
	assert.Contains(t, string(model), "\treturn imageSpec.Apply(req, \"pixels\")\n")
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	assert.Contains(t, string(readme), "echo '{\"instances\":[{\"image\":{\"b64\":\"'\"$(base64 -w0 photo.jpg)\"'\"}}]}' > input.json\n")
	if !testing.Short() {
		goTool(t, dir, "test", "-count=1", "./...")
	}
}

// TestGenerate_ImageYOLO: --image yolo letterboxes. The v2 project's sample
// is a 4:3 picture of half the input's width (scaled and padded as a photo
// would be), its README says where a detector's boxes are, and its tests
// (unless -short) pass against ONNX Runtime.
func TestGenerate_ImageYOLO(t *testing.T) {
	dir := onnxProjectWith(t, "det", "det.onnx", onnxtest.Image("height", "width"), map[string][]int64{"pixels": {1, 3, 32, 48}}, nil, func(o *generator.Options) {
		o.Model.Image = "yolo"
	})
	input, err := os.ReadFile(filepath.Join(dir, "input.json"))
	require.NoError(t, err)
	var req struct {
		Inputs []struct {
			Name, Datatype string
			Shape          []int64
			Data           []string
		}
	}
	require.NoError(t, json.Unmarshal(input, &req))
	require.Len(t, req.Inputs, 1)
	assert.Equal(t, "BYTES", req.Inputs[0].Datatype)
	require.Len(t, req.Inputs[0].Data, 1)
	png, err := base64.StdEncoding.DecodeString(req.Inputs[0].Data[0])
	require.NoError(t, err)
	cfg, format, err := image.DecodeConfig(bytes.NewReader(png))
	require.NoError(t, err)
	assert.Equal(t, "png", format)
	assert.Equal(t, [2]int{24, 18}, [2]int{cfg.Width, cfg.Height}, "half the width, 4:3")

	model, err := os.ReadFile(filepath.Join(dir, "model.go"))
	require.NoError(t, err)
	assert.Contains(t, string(model), "\ts := vision.YOLO\n\ts.Layout, s.Height, s.Width = vision.NCHW, 32, 48\n")
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	assert.Contains(t, string(readme), "with runtime/vision's `yolo`\npreprocessing: scaled to fit keeping its aspect ratio, padded with grey (114) to the input's size, values mapped to [0, 1] (Ultralytics YOLO v5, v8 and 11 detectors).")
	assert.Contains(t, string(readme), "A picture keeps its aspect ratio: it is scaled to fit 48×32 and centred on grey,\nas Ultralytics' `LetterBox` does")
	if !testing.Short() {
		goTool(t, dir, "test", "-count=1", "./...")
	}
}
