// Package vision turns encoded images (PNG, JPEG, GIF, BMP, WebP) into the
// float32 tensors image models take: decoded, resized, normalised and laid
// out as NCHW or NHWC, the way torchvision's and PaddleOCR's preprocessing
// do it. A model's Preprocess uses it so that clients send images, as in
// KServe's custom predictor guide ({"instances": [{"image": {"b64": ...}}]}),
// instead of tensors they must compute themselves.
package vision

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // registered formats
	_ "image/jpeg"
	_ "image/png"
	"math"
	"strings"

	"golang.org/x/image/draw"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Layout is where the channels are in a tensor of images.
type Layout string

// The layouts of image tensors: PyTorch and ONNX exports are mostly NCHW,
// TensorFlow's NHWC.
const (
	NCHW Layout = "NCHW"
	NHWC Layout = "NHWC"
)

// Resize is how an image is brought to the model's size.
type Resize string

const (
	// Stretch scales the image to exactly the model's height and width.
	Stretch Resize = "stretch"
	// CenterCrop scales the shorter side to the model's size divided by
	// 0.875 (256 for 224) and cuts the centre out: torchvision's
	// Resize(256) + CenterCrop(224), ImageNet classifiers' evaluation.
	CenterCrop Resize = "crop"
	// Letterbox scales the image to fit the model's size keeping its
	// aspect ratio and pads the rest, centred, with grey (114, 114, 114):
	// Ultralytics YOLO's LetterBox. Boxes a detector finds are in the
	// padded frame; Spec.Placement maps them back onto the image.
	Letterbox Resize = "letterbox"
)

// letterboxGrey is the colour Letterbox pads with, Ultralytics' value.
var letterboxGrey = color.RGBA{114, 114, 114, 255}

// Spec describes a model's image input. Each channel value v (0–255)
// becomes (v/255 - Mean[c]) / Std[c], with channels in RGB order (BGR
// with BGR set).
type Spec struct {
	Layout        Layout
	Height, Width int
	Resize        Resize
	Mean, Std     [3]float32
	BGR           bool
	// Datatype is the tensor's: FP32 (the zero value) or FP16.
	Datatype infer.Datatype
	// MaxPixels bounds each image's width × height (0: DefaultMaxPixels);
	// a larger one is refused before it is decoded.
	MaxPixels int64
	// MaxTensorBytes bounds the tensor of one request's images (0:
	// DefaultMaxTensorBytes): however small an image is sent, it becomes
	// Height × Width × 3 values, so many tiny images could otherwise make
	// a request of kilobytes allocate gigabytes.
	MaxTensorBytes int64
}

// DefaultMaxTensorBytes is the default Spec.MaxTensorBytes: 256 MiB, about
// 430 images of 224×224 in FP32.
const DefaultMaxTensorBytes = 256 << 20

// Presets, by where they come from; Height and Width are the model's.
var (
	// ImageNet is torchvision's (and timm's, and the ONNX model zoo's)
	// classifier preprocessing: centre crop, ImageNet mean and std.
	ImageNet = Spec{Layout: NCHW, Resize: CenterCrop, Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}
	// Symmetric maps values to [-1, 1] after stretching (PaddleOCR,
	// Inception-style TensorFlow models).
	Symmetric = Spec{Layout: NCHW, Resize: Stretch, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}}
	// Unit maps values to [0, 1] after stretching (Keras-style models
	// trained on rescaled images).
	Unit = Spec{Layout: NCHW, Resize: Stretch, Mean: [3]float32{0, 0, 0}, Std: [3]float32{1, 1, 1}}
	// YOLO is Ultralytics YOLO's (v5, v8, 11) preprocessing: letterboxed,
	// values in [0, 1].
	YOLO = Spec{Layout: NCHW, Resize: Letterbox, Mean: [3]float32{0, 0, 0}, Std: [3]float32{1, 1, 1}}
)

// Preset returns the preset called name ("imagenet", "symmetric", "unit"
// or "yolo").
func Preset(name string) (Spec, error) {
	switch name {
	case "imagenet":
		return ImageNet, nil
	case "symmetric":
		return Symmetric, nil
	case "unit":
		return Unit, nil
	case "yolo":
		return YOLO, nil
	}
	return Spec{}, fmt.Errorf("image preprocessing %q: want imagenet, symmetric, unit or yolo", name)
}

// ErrNotImage is matched (errors.Is) by the error for bytes that are not an
// image in a known format.
var ErrNotImage = errors.New("not an image (PNG, JPEG, GIF, BMP or WebP)")

// ErrTooLarge is matched (errors.Is) by the error for an image of more
// pixels than allowed.
var ErrTooLarge = errors.New("image too large")

// DefaultMaxPixels is the most pixels an image may have unless
// Spec.MaxPixels says otherwise: Pillow's MAX_IMAGE_PIXELS, its guard
// against decompression bombs (a few kilobytes of PNG can declare
// gigapixels, which decoding would allocate). An image at the limit
// decodes to about 360 MB.
const DefaultMaxPixels = 89_478_485

// Decode decodes an image of at most DefaultMaxPixels pixels. Bytes that
// are not an image are tried as the standard base64 of one, since JSON can
// carry an image only as text.
func Decode(b []byte) (image.Image, error) { return decode(b, DefaultMaxPixels) }

// decode reads the image's size first, so that one of more than
// maxPixels pixels is refused before anything is allocated for it.
func decode(b []byte, maxPixels int64) (image.Image, error) {
	raw := b
	cfg, format, err := image.DecodeConfig(bytes.NewReader(raw))
	if errors.Is(err, image.ErrFormat) {
		if d, berr := base64.StdEncoding.DecodeString(string(b)); berr == nil {
			if c, f, cerr := image.DecodeConfig(bytes.NewReader(d)); cerr == nil {
				raw, cfg, format, err = d, c, f, nil
			}
		}
		if err != nil {
			return nil, ErrNotImage
		}
	}
	if err != nil {
		return nil, fmt.Errorf("decode image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("decode image: %d×%d pixels: the image is empty", cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > maxPixels {
		return nil, fmt.Errorf("%w: %d×%d pixels, more than the %d allowed", ErrTooLarge, cfg.Width, cfg.Height, maxPixels)
	}
	if least := leastSize(format, cfg, raw); int64(len(raw)) < least {
		return nil, fmt.Errorf("decode image: a %s of %d×%d pixels needs at least %d bytes, got %d: the file is truncated", strings.ToUpper(format), cfg.Width, cfg.Height, least, len(raw))
	}
	img, format, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decode image: %w", err)
	}
	if m, ok := img.(*image.Paletted); ok && format == "gif" {
		img = gifCanvas(m, cfg)
	}
	opaque(img)
	return img, nil
}

// leastSize is the smallest file that can hold an image of cfg's size in
// format (raw is the file, for what DecodeConfig does not report), 0 where
// no useful bound is known. Every decoder allocates the whole canvas (a
// progressive JPEG its coefficients as well) before reading the pixels, so
// a few hundred bytes declaring 9000×9000 (under the pixel limit) cost 80
// MB (GIF) to 600 MB (progressive JPEG) before failing as truncated, per
// request; a file below this bound is refused first.
func leastSize(format string, cfg image.Config, raw []byte) int64 {
	w, h := int64(cfg.Width), int64(cfg.Height)
	switch format {
	case "png":
		// A filter byte per row and at least one bit per pixel, deflated
		// at best 1032:1 (a 258-byte match in two bits).
		return h * (1 + (w+7)/8) / 1032
	case "bmp":
		// Uncompressed (the only kind x/image/bmp reads): at least one
		// bit per pixel, each row padded to four bytes.
		return h * (((w+7)/8 + 3) &^ 3)
	case "jpeg":
		// Every 8×8 block of the full-resolution component has its DC
		// coefficient coded, Huffman (arithmetic coding is not read), in
		// at least one bit: in the one scan of a baseline file, in the
		// first, DC, scan of a progressive one.
		return ((w + 7) / 8) * ((h + 7) / 8) / 8
	case "gif":
		// The first frame (not the canvas: it may be smaller) is LZW, whose
		// codes of at least three bits stand for at most 4096 pixels.
		fw, fh := gifFrame(raw)
		return (fw*fh + 4095) / 4096 * 3 / 8
	case "webp":
		// The image's chunk whole, as it declares its length: the data of
		// a truncated one is read only after the canvas is allocated.
		return webpImageEnd(raw)
	}
	return 0
}

// gifFrame is the size of a GIF's first frame, read from its image
// descriptor; 0×0 where the file ends before it.
func gifFrame(b []byte) (w, h int64) {
	const header = 13 // signature, canvas, flags, background, aspect
	if len(b) < header {
		return 0, 0
	}
	i := header
	if flags := b[10]; flags&0x80 != 0 {
		i += 3 << (flags&7 + 1) // the global colour table
	}
	for i < len(b) {
		switch b[i] {
		case 0x21: // an extension: label, then sub-blocks to an empty one
			i += 2
			for i < len(b) && b[i] != 0 {
				i += int(b[i]) + 1
			}
			i++
		case 0x2c: // the image descriptor: left, top, width, height
			if i+9 > len(b) {
				return 0, 0
			}
			return int64(b[i+5]) | int64(b[i+6])<<8, int64(b[i+7]) | int64(b[i+8])<<8
		default:
			return 0, 0
		}
	}
	return 0, 0
}

// webpImageEnd is where a WebP's first image chunk (VP8 or VP8L) ends as
// its header declares, or a chunk before it that the file does not hold
// whole (an extended file's alpha, ALPH, is allocated at the canvas's size
// before its data is read too); 0 where the file ends before a chunk
// header.
func webpImageEnd(b []byte) int64 {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return 0
	}
	for i := int64(12); i+8 <= int64(len(b)); {
		id := string(b[i : i+4])
		size := int64(binary.LittleEndian.Uint32(b[i+4:]))
		end := i + 8 + size
		if id == "VP8 " || id == "VP8L" || end > int64(len(b)) {
			return end
		}
		i = end + size&1 // chunks are padded to an even length
	}
	return 0
}

// gifCanvas returns a GIF's first frame m as Pillow shows it: on a canvas
// of the GIF's size (cfg, whose ColorModel is its global colour table),
// with the rest of the canvas palette index 0, or the transparent index
// when the frame has one. Go's decoder gives the transparent index the
// colour transparent black; when the frame uses the global colour table,
// the index gets that table's colour back, which Pillow's convert("RGB")
// shows.
func gifCanvas(m *image.Paletted, cfg image.Config) *image.Paletted {
	fill := -1
	for i, c := range m.Palette {
		if _, _, _, a := c.RGBA(); a == 0 {
			fill = i
			break
		}
	}
	if global, ok := cfg.ColorModel.(color.Palette); ok && fill >= 0 && sameExcept(global, m.Palette, fill) {
		m.Palette[fill] = global[fill] // m.Palette is the decoder's copy
	}
	full := image.Rect(0, 0, cfg.Width, cfg.Height)
	if m.Rect == full || !m.Rect.In(full) {
		return m
	}
	c := image.NewPaletted(full, m.Palette)
	if fill > 0 {
		for i := range c.Pix {
			c.Pix[i] = uint8(fill)
		}
	}
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		copy(c.Pix[c.PixOffset(m.Rect.Min.X, y):], m.Pix[m.PixOffset(m.Rect.Min.X, y):m.PixOffset(m.Rect.Max.X, y)])
	}
	return c
}

// sameExcept reports whether palettes a and b hold the same colours but at
// index skip.
func sameExcept(a, b color.Palette, skip int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if i != skip && a[i] != b[i] {
			return false
		}
	}
	return true
}

// opaque drops img's transparency in place, keeping each pixel's colour,
// as Pillow's convert("RGB") does before torchvision and PaddleOCR
// normalise an image. Left as it is, scaling would premultiply and turn
// transparent pixels black. img was just decoded: nobody else holds it.
func opaque(img image.Image) {
	switch m := img.(type) {
	case *image.NRGBA:
		for i := 3; i < len(m.Pix); i += 4 {
			m.Pix[i] = 0xff
		}
	case *image.NRGBA64:
		for i := 6; i < len(m.Pix); i += 8 {
			m.Pix[i], m.Pix[i+1] = 0xff, 0xff
		}
	case *image.NYCbCrA: // lossy WebP with alpha
		for i := range m.A {
			m.A[i] = 0xff
		}
	case *image.Paletted:
		for i, c := range m.Palette {
			r, g, b, _ := c.RGBA()
			nc := color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 0xff}
			if n, ok := c.(color.NRGBA); ok {
				nc = color.NRGBA{R: n.R, G: n.G, B: n.B, A: 0xff}
			}
			m.Palette[i] = nc
		}
	}
}

// Check reports what is wrong with s, naming the field.
func (s Spec) Check() error {
	if s.Layout != NCHW && s.Layout != NHWC {
		return fmt.Errorf("image layout %q: want NCHW or NHWC", s.Layout)
	}
	if s.Height <= 0 || s.Width <= 0 {
		return fmt.Errorf("image size %dx%d: want a positive height and width", s.Height, s.Width)
	}
	if s.Datatype != "" && s.Datatype != infer.FP32 && s.Datatype != infer.FP16 {
		return fmt.Errorf("image datatype %s: want FP32 or FP16", s.Datatype)
	}
	if s.Resize != Stretch && s.Resize != CenterCrop && s.Resize != Letterbox {
		return fmt.Errorf("image resize %q: want %s, %s or %s", s.Resize, Stretch, CenterCrop, Letterbox)
	}
	for c, sd := range s.Std {
		if sd == 0 || math.IsNaN(float64(sd)) {
			return fmt.Errorf("image std[%d] is %v: want a non-zero number", c, sd)
		}
	}
	return nil
}

// Shape is the tensor shape of n images.
func (s Spec) Shape(n int) []int64 {
	if s.Layout == NHWC {
		return []int64{int64(n), int64(s.Height), int64(s.Width), 3}
	}
	return []int64{int64(n), 3, int64(s.Height), int64(s.Width)}
}

// Tensor decodes images and returns them as one tensor named name, of
// shape Shape(len(images)). An image that cannot be decoded is an
// InvalidInput error (a 400 when a model returns it) naming its index, as
// are too many images; errors.Is finds ErrNotImage or ErrTooLarge in it. A
// Spec that Check refuses is a plain error (the server's setting).
func (s Spec) Tensor(name string, images [][]byte) (*infer.Tensor, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	t, err := s.tensor(name, images, func(i int) string { return fmt.Sprintf("image %d", i) })
	if err != nil {
		return nil, invalidImages(err)
	}
	return t, nil
}

// invalidImages makes an error about the images a request sent a 400
// (InvalidInput) that keeps its cause, so that errors.Is still finds
// ErrNotImage or ErrTooLarge.
func invalidImages(err error) error {
	return &status.Error{Kind: status.KindInvalidInput, Message: err.Error(), Err: err}
}

// tensor is Tensor for a checked s, naming image i as where(i) in errors.
func (s Spec) tensor(name string, images [][]byte, where func(int) string) (*infer.Tensor, error) {
	if len(images) == 0 {
		return nil, errors.New("no images")
	}
	per := 3 * s.Height * s.Width
	size := int64(4)
	if s.Datatype == infer.FP16 {
		size = 2
	}
	limit := s.MaxTensorBytes
	if limit <= 0 {
		limit = DefaultMaxTensorBytes
	}
	if n := int64(len(images)) * int64(per) * size; n > limit {
		return nil, fmt.Errorf("%d images make a tensor of %d bytes (%s), more than the %d allowed: send fewer images per request", len(images), n, infer.FormatShape(s.Shape(len(images))), limit)
	}
	maxPixels := s.MaxPixels
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	data := make([]float32, len(images)*per)
	dst := image.NewRGBA(image.Rect(0, 0, s.Width, s.Height))
	for i, b := range images {
		img, err := decode(b, maxPixels)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where(i), err)
		}
		s.fit(dst, img)
		s.fill(data[i*per:(i+1)*per], dst)
	}
	if s.Datatype == infer.FP16 {
		h := make([]infer.Float16, len(data))
		for i, v := range data {
			h[i] = infer.Float16From(v)
		}
		return infer.NewTensor(name, s.Shape(len(images)), h), nil
	}
	return infer.NewTensor(name, s.Shape(len(images)), data), nil
}

// fit draws img into dst (the model's size), resized as s says, with
// bilinear interpolation.
func (s Spec) fit(dst *image.RGBA, img image.Image) {
	src, to := s.frame(img.Bounds())
	if to != dst.Bounds() {
		// Letterbox: dst is reused from image to image, pad each afresh.
		draw.Draw(dst, dst.Bounds(), image.NewUniform(letterboxGrey), image.Point{}, draw.Src)
	}
	draw.BiLinear.Scale(dst, to, img, src, draw.Src, nil)
}

// frame returns the part of an image of bounds b that s scales (src) and
// where in the model's input it goes (dst).
func (s Spec) frame(b image.Rectangle) (src, dst image.Rectangle) {
	full := image.Rect(0, 0, s.Width, s.Height)
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return b, full
	}
	sx, sy := float64(s.Width)/float64(b.Dx()), float64(s.Height)/float64(b.Dy())
	switch s.Resize {
	case CenterCrop:
		// Shorter side to the target's divided by 0.875, then the centre.
		scale := math.Max(sx, sy) / 0.875
		// At least a pixel: for a thin image and a non-square input one
		// side could round to none, and nothing would be drawn.
		w := max(1, int(math.Round(float64(s.Width)/scale)))
		h := max(1, int(math.Round(float64(s.Height)/scale)))
		x0 := b.Min.X + (b.Dx()-w)/2
		y0 := b.Min.Y + (b.Dy()-h)/2
		return image.Rect(x0, y0, x0+w, y0+h).Intersect(b), full
	case Letterbox:
		// Ultralytics' LetterBox: Python's round (half to even) for the
		// scaled size, the padding split as round(pad/2 ∓ 0.1).
		scale := math.Min(sx, sy)
		w := max(1, int(math.RoundToEven(float64(b.Dx())*scale)))
		h := max(1, int(math.RoundToEven(float64(b.Dy())*scale)))
		left := int(math.RoundToEven(float64(s.Width-w)/2 - 0.1))
		top := int(math.RoundToEven(float64(s.Height-h)/2 - 0.1))
		return b, image.Rect(left, top, left+w, top+h).Intersect(full)
	}
	return b, full
}

// Placement is where an image lands in the model's input: its pixel
// coordinates (x, y) become (x*ScaleX + Left, y*ScaleY + Top) there.
// Letterbox leaves margins (Left, Top ≥ 0); CenterCrop cuts them off
// (Left, Top ≤ 0); Stretch scales width and height by different factors
// when the aspect ratios differ.
type Placement struct {
	ScaleX, ScaleY float64
	Left, Top      float64
}

// Image maps a point of the model's input (a corner of a box a detector
// found) back onto the image.
func (p Placement) Image(x, y float64) (float64, float64) {
	return (x - p.Left) / p.ScaleX, (y - p.Top) / p.ScaleY
}

// Placement returns where an image of width × height pixels lands in a
// tensor of s, so that a client or a Postprocess can map what a detector
// found back onto the image.
func (s Spec) Placement(width, height int) Placement {
	b := image.Rect(0, 0, width, height)
	src, dst := s.frame(b)
	if src.Empty() {
		return Placement{ScaleX: 1, ScaleY: 1}
	}
	sx := float64(dst.Dx()) / float64(src.Dx())
	sy := float64(dst.Dy()) / float64(src.Dy())
	return Placement{ScaleX: sx, ScaleY: sy, Left: float64(dst.Min.X) - float64(src.Min.X)*sx, Top: float64(dst.Min.Y) - float64(src.Min.Y)*sy}
}

// fill writes dst's pixels, normalised, into out in s's layout.
func (s Spec) fill(out []float32, dst *image.RGBA) {
	order := [3]int{0, 1, 2}
	if s.BGR {
		order = [3]int{2, 1, 0}
	}
	var scale, shift [3]float32
	for c := range 3 {
		scale[c] = 1 / (255 * s.Std[c])
		shift[c] = s.Mean[c] / s.Std[c]
	}
	hw := s.Height * s.Width
	for y := range s.Height {
		row := dst.Pix[y*dst.Stride : y*dst.Stride+4*s.Width]
		for x := range s.Width {
			px := row[4*x : 4*x+4]
			p := y*s.Width + x
			for c, src := range order {
				v := float32(px[src])*scale[c] - shift[c]
				if s.Layout == NHWC {
					out[3*p+c] = v
				} else {
					out[c*hw+p] = v
				}
			}
		}
	}
}
