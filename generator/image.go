package generator

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"slices"
	"strconv"
	"strings"

	"github.com/kserve-gen/kserve-gen/onnxinfo"
)

// imagePreset is a preprocessing of runtime/vision a project's model can
// take images with (kserve-gen new --image NAME).
type imagePreset struct {
	// About says what the preset does, Used what uses it.
	Name, Var, About, Used string
	// Crop: the preset resizes by centre crop, so the sample image is
	// bigger than the model's input. Letterbox: it keeps the aspect
	// ratio and pads, so the sample image is smaller and 4:3.
	Crop, Letterbox bool
}

// imagePresets are runtime/vision's presets (Preset), by name.
var imagePresets = []imagePreset{
	{Name: "imagenet", Var: "ImageNet", Crop: true, About: "shorter side scaled to 1/0.875 of the input's, centre cropped, ImageNet mean and std", Used: "torchvision, timm, the ONNX model zoo's classifiers"},
	{Name: "symmetric", Var: "Symmetric", About: "stretched to the input's size, values mapped to [-1, 1]", Used: "PaddleOCR, Inception-style TensorFlow models"},
	{Name: "unit", Var: "Unit", About: "stretched to the input's size, values mapped to [0, 1]", Used: "Keras-style models trained on rescaled images"},
	{Name: "yolo", Var: "YOLO", Letterbox: true, About: "scaled to fit keeping its aspect ratio, padded with grey (114) to the input's size, values mapped to [0, 1]", Used: "Ultralytics YOLO v5, v8 and 11 detectors"},
}

// ImagePresets names the image preprocessings --image takes.
func ImagePresets() []string {
	names := make([]string, len(imagePresets))
	for i, p := range imagePresets {
		names[i] = p.Name
	}
	return names
}

// ImagePresetAbout describes the preset called name ("" for none).
func ImagePresetAbout(name string) string {
	if p, ok := findPreset(name); ok {
		return p.About + " (" + p.Used + ")"
	}
	return ""
}

func findPreset(name string) (imagePreset, bool) {
	i := slices.IndexFunc(imagePresets, func(p imagePreset) bool { return p.Name == name })
	if i < 0 {
		return imagePreset{}, false
	}
	return imagePresets[i], true
}

// ImageInput is the input images can be fed to: the first of rank 4 with
// 3 channels first (NCHW, [batch,3,H,W]) or last (NHWC, [batch,H,W,3]),
// FP32 or FP16. ok is false when the model has none.
func (m *ONNXModel) ImageInput() (v onnxinfo.Value, layout string, ok bool) {
	for _, in := range m.Info.Inputs {
		if len(in.Shape) != 4 || (in.Elem != onnxinfo.Float && in.Elem != onnxinfo.Float16) {
			continue
		}
		switch {
		case !in.Shape[1].Dynamic() && in.Shape[1].Size == 3:
			return in, "NCHW", true
		case !in.Shape[3].Dynamic() && in.Shape[3].Size == 3:
			return in, "NHWC", true
		}
	}
	return onnxinfo.Value{}, "", false
}

// CheckImage checks m.Image, the preprocessing the project's model takes
// images with: the preset must exist, the model must have an image input,
// and its height and width must be known: fixed in the model, or given by
// --input-shape (m.InputShapes).
func (m *ONNXModel) CheckImage() error {
	if m.Image == "" {
		return nil
	}
	if _, ok := findPreset(m.Image); !ok {
		return fmt.Errorf("--image %q: want %s", m.Image, strings.Join(ImagePresets(), ", "))
	}
	in, _, ok := m.ImageInput()
	if !ok {
		return fmt.Errorf("--image: no input of the model takes images (one needs 4 dimensions, 3 channels first as NCHW [batch,3,H,W] or last as NHWC [batch,H,W,3], and FP32 or FP16); its inputs are %s", describeValues(m.Info.Inputs))
	}
	for _, other := range m.Info.Inputs {
		if other.Name != in.Name && other.Elem == onnxinfo.Float16 {
			return fmt.Errorf("--image: input %s takes images, but the model's other FP16 inputs (%s) would need the binary tensor extension in the same request, which kserve-gen does not write; leave --image out and send tensors", in.Name, other)
		}
	}
	if _, _, err := m.imageSize(); err != nil {
		return err
	}
	return nil
}

// ImageAxes are the dimensions of an image input's shape that hold the
// height and width, for its layout (ImageInput's "NCHW" or "NHWC").
func ImageAxes(layout string) (height, width int) {
	if layout == "NHWC" {
		return 1, 2
	}
	return 2, 3
}

// ImageShapeExample is a sample shape of image input in, in layout, for
// messages: the model's fixed dimensions, 224 for a dynamic height or
// width, 1 for a dynamic batch ("1,3,224,224"; PaddleOCR's recogniser
// [batch,3,48,width]: "1,3,48,224", since a 224 height it refuses).
func ImageShapeExample(in onnxinfo.Value, layout string) string {
	h, w := ImageAxes(layout)
	dims := make([]string, len(in.Shape))
	for i, d := range in.Shape {
		switch {
		case !d.Dynamic():
			dims[i] = strconv.FormatInt(d.Size, 10)
		case i == h || i == w:
			dims[i] = "224"
		default:
			dims[i] = "1"
		}
	}
	return strings.Join(dims, ",")
}

// dynamicSides names the dynamic ones of an image input's height and
// width, for messages.
func dynamicSides(in onnxinfo.Value, layout string) string {
	h, w := ImageAxes(layout)
	switch {
	case in.Shape[h].Dynamic() && in.Shape[w].Dynamic():
		return "its height and width are dynamic"
	case in.Shape[h].Dynamic():
		return "its height is dynamic"
	}
	return "its width is dynamic"
}

// imageSize is the height and width images are resized to.
func (m *ONNXModel) imageSize() (h, w int64, err error) {
	in, layout, _ := m.ImageInput()
	hi, wi := ImageAxes(layout)
	if !in.Shape[hi].Dynamic() && !in.Shape[wi].Dynamic() {
		return in.Shape[hi].Size, in.Shape[wi].Size, nil
	}
	given, ok := m.InputShapes[in.Name]
	if !ok || len(given) != 4 || given[hi] < 1 || given[wi] < 1 {
		return 0, 0, fmt.Errorf("--image: input %s takes images, but %s; give the size images are resized to with --input-shape %s=%s", in, dynamicSides(in, layout), in.Name, ImageShapeExample(in, layout))
	}
	return given[hi], given[wi], nil
}

// imageView is what the templates see of an image input.
type imageView struct {
	// Input is the input's name (quoted in Go source); InputText is it
	// for comments and the README, quoted where it holds a line break or
	// another control character, which would let a model's input name end
	// a comment and go on with code. Preset is the runtime/vision preset's
	// variable (ImageNet) and Name its --image name; About describes it.
	Input, InputText, Preset, Name, About, Used string
	Layout                                      string
	// Letterbox: the preset pads, so a detector's boxes are in the
	// padded frame.
	Letterbox     bool
	Height, Width int64
	Datatype      string
	// Sample describes the sample image in input.json; Formats the
	// formats the server decodes.
	Sample  string
	Formats string
	// NotImageV1 and NotImageV2 send bytes that are not an image;
	// BadV1 and BadV2 are the runtime's answers.
	NotImageV1, NotImageV2 string
	BadV1, BadV2           string
	// OwnImage is a shell command writing input.json with photo.jpg as
	// the image instead of the sample's.
	OwnImage string
	// sampleW and sampleH are the sample image's size (sampleImage).
	sampleW, sampleH int64
}

// ownImageCommand is a shell command that writes request (the project's
// sample request, JSON) to input.json with every copy of the sample
// image b64 replaced by photo.jpg's base64.
func ownImageCommand(request, b64 string) string {
	quoted := strings.ReplaceAll(request, "'", `'\''`)
	return "echo '" + strings.ReplaceAll(quoted, b64, `'"$(base64 -w0 photo.jpg)"'`) + "' > input.json"
}

// imageFormats are the formats runtime/vision decodes.
const imageFormats = "PNG, JPEG, GIF, BMP or WebP"

func (m *ONNXModel) imageView() (*imageView, error) {
	p, _ := findPreset(m.Image)
	in, layout, _ := m.ImageInput()
	h, w, err := m.imageSize()
	if err != nil {
		return nil, err
	}
	dt, _ := in.Elem.Datatype()
	sh, sw := sampleImageSize(p, h, w)
	notImage := base64.StdEncoding.EncodeToString([]byte("hello"))
	v1, err := compactJSON(map[string]any{"instances": []any{map[string]any{"image": map[string]string{"b64": notImage}}}})
	if err != nil {
		return nil, err
	}
	v2, err := compactJSON(sampleRequest{ID: "not-an-image", Inputs: []sampleTensor{{Name: in.Name, Shape: []int64{1}, Datatype: "BYTES", Data: []string{notImage}}}})
	if err != nil {
		return nil, err
	}
	return &imageView{
		Input: in.Name, InputText: safeText(in.Name), Preset: p.Var, Name: p.Name, About: p.About, Used: p.Used,
		Layout: layout, Letterbox: p.Letterbox, Height: h, Width: w, Datatype: dt,
		Sample:     fmt.Sprintf("a %d×%d PNG test pattern", sw, sh),
		Formats:    imageFormats,
		NotImageV1: v1, NotImageV2: v2,
		BadV1:   "instances[0]: not an image (" + imageFormats + ")",
		BadV2:   fmt.Sprintf("input %s, image 0: not an image (%s)", in.Name, imageFormats),
		sampleW: sw, sampleH: sh,
	}, nil
}

// sampleImageSize is the sample image's height and width: the input's;
// for a centre crop the size it is cropped from; for a letterbox a 4:3
// picture of half the input's width, so that the sample is scaled and
// padded as a photo would be.
func sampleImageSize(p imagePreset, h, w int64) (int64, int64) {
	switch {
	case p.Crop:
		return (h*8 + 6) / 7, (w*8 + 6) / 7
	case p.Letterbox:
		return max(1, w*3/8), max(1, w/2)
	}
	return h, w
}

// sampleImage is the sample request's image as base64: a test pattern of
// sw×sh pixels (red rising to the right, green downwards), the same bytes
// every time.
func sampleImage(sw, sh int64) (string, error) {
	img := image.NewNRGBA(image.Rect(0, 0, int(sw), int(sh)))
	for y := range int(sh) {
		for x := range int(sw) {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(255 * x / max(1, int(sw)-1)), G: uint8(255 * y / max(1, int(sh)-1)), B: 128, A: 255})
		}
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, img); err != nil {
		return "", fmt.Errorf("sample image: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes()), nil
}

// DescribeImage says how the image input takes images ("" without
// --image), for the CLI.
func (m *ONNXModel) DescribeImage() string {
	if m.Image == "" {
		return ""
	}
	v, err := m.imageView()
	if err != nil {
		return ""
	}
	return fmt.Sprintf("Input %s takes images (%s), %s preprocessing to %s %d×%d (--image %s: %s); input.json sends %s",
		v.InputText, v.Formats, v.Name, v.Layout, v.Height, v.Width, v.Name, v.About, v.Sample)
}
