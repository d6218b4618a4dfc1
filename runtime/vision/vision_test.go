package vision

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	goruntime "runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

var (
	red   = color.RGBA{255, 0, 0, 255}
	green = color.RGBA{0, 255, 0, 255}
	blue  = color.RGBA{0, 0, 255, 255}
	white = color.RGBA{255, 255, 255, 255}
)

// pixels is an image of w×h whose pixel (x, y) is at(x, y).
func pixels(w, h int, at func(x, y int) color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, at(x, y))
		}
	}
	return img
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// quad is 2×2: red, green / blue, white.
func quad(t *testing.T) []byte {
	return encodePNG(t, pixels(2, 2, func(x, y int) color.RGBA { return [2][2]color.RGBA{{red, green}, {blue, white}}[y][x] }))
}

func TestTensor_LayoutsAndNormalisation(t *testing.T) {
	unit := Unit
	unit.Height, unit.Width = 2, 2
	x, err := unit.Tensor("x", [][]byte{quad(t)})
	require.NoError(t, err)
	// NCHW: the R plane, the G plane, the B plane, each row by row.
	assert.Equal(t, infer.NewTensor("x", []int64{1, 3, 2, 2}, []float32{
		1, 0, 0, 1, // R: red, green, blue, white
		0, 1, 0, 1, // G
		0, 0, 1, 1, // B
	}), x)

	nhwc := unit
	nhwc.Layout, nhwc.BGR = NHWC, true
	x, err = nhwc.Tensor("x", [][]byte{quad(t), quad(t)})
	require.NoError(t, err)
	one := []float32{0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1} // BGR of red, green, blue, white
	assert.Equal(t, infer.NewTensor("x", []int64{2, 2, 2, 3}, append(append([]float32{}, one...), one...)), x)

	sym := Symmetric
	sym.Height, sym.Width = 2, 2
	x, err = sym.Tensor("x", [][]byte{quad(t)})
	require.NoError(t, err)
	assert.Equal(t, []float32{1, -1, -1, 1, -1, 1, -1, 1, -1, -1, 1, 1}, x.Data)

	in := ImageNet
	in.Height, in.Width, in.Resize = 2, 2, Stretch
	x, err = in.Tensor("x", [][]byte{quad(t)})
	require.NoError(t, err)
	d := x.Data.([]float32)
	assert.InDelta(t, (1-0.485)/0.229, d[0], 1e-6)  // R of red
	assert.InDelta(t, (0-0.456)/0.224, d[4], 1e-6)  // G of red
	assert.InDelta(t, (1-0.406)/0.225, d[11], 1e-6) // B of white

	half := unit
	half.Datatype = infer.FP16
	x, err = half.Tensor("x", [][]byte{quad(t)})
	require.NoError(t, err)
	assert.Equal(t, infer.FP16, x.Datatype)
	assert.Equal(t, infer.Float16(0x3c00), x.Data.([]infer.Float16)[0])
}

// TestTensor_Resize: stretch scales the whole image; crop keeps the centre
// (for an 8×4 image and a 2×2 model: the middle 4×4).
func TestTensor_Resize(t *testing.T) {
	// Red edges two pixels wide, blue in the middle.
	wide := encodePNG(t, pixels(8, 4, func(x, y int) color.RGBA {
		if x < 2 || x >= 6 {
			return red
		}
		return blue
	}))
	crop := Unit
	crop.Height, crop.Width, crop.Resize = 2, 2, CenterCrop
	x, err := crop.Tensor("x", [][]byte{wide})
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1}, x.Data, "only the blue centre")

	stretch := crop
	stretch.Resize = Stretch
	x, err = stretch.Tensor("x", [][]byte{wide})
	require.NoError(t, err)
	d := x.Data.([]float32)
	assert.Greater(t, d[0], float32(0.2), "red from the left edge")
	assert.Greater(t, d[9], float32(0.2), "blue from the middle")

	// A large image is scaled down: a 300×200 gradient to 8×8.
	big := Unit
	big.Height, big.Width, big.Resize = 8, 8, CenterCrop
	x, err = big.Tensor("x", [][]byte{encodePNG(t, pixels(300, 200, func(x, y int) color.RGBA { return color.RGBA{uint8(x * 255 / 299), 0, 0, 255} }))})
	require.NoError(t, err)
	r := x.Data.([]float32)[:8]
	for i := 1; i < 8; i++ {
		assert.Greater(t, r[i], r[i-1], "left to right")
	}
	// The crop keeps 87.5 % of the shorter side (torchvision's 224 of
	// 256): 175 pixels around the centre, from x = 62.5; each of the 8
	// columns samples the middle of its 175/8 pixels.
	assert.InDelta(t, (62.5+175.0/16)/300, r[0], 0.015)
	assert.InDelta(t, (62.5+175.0*15/16)/300, r[7], 0.015)
}

func TestDecode_FormatsAndBase64(t *testing.T) {
	img := pixels(3, 2, func(x, y int) color.RGBA { return blue })
	var jp, gf bytes.Buffer
	require.NoError(t, jpeg.Encode(&jp, img, nil))
	require.NoError(t, gif.Encode(&gf, img, nil))
	for name, b := range map[string][]byte{
		"png":        encodePNG(t, img),
		"jpeg":       jp.Bytes(),
		"gif":        gf.Bytes(),
		"png base64": []byte(base64.StdEncoding.EncodeToString(encodePNG(t, img))),
	} {
		got, err := Decode(b)
		if assert.NoError(t, err, name) {
			assert.Equal(t, image.Rect(0, 0, 3, 2), got.Bounds(), name)
		}
	}
	_, err := Decode([]byte("hello"))
	assert.ErrorIs(t, err, ErrNotImage)
	_, err = Decode(encodePNG(t, img)[:40]) // a PNG cut short
	assert.ErrorContains(t, err, "decode image: ")
}

func TestSpec_Check(t *testing.T) {
	ok := Unit
	ok.Height, ok.Width = 4, 4
	for _, c := range []struct {
		mod  func(*Spec)
		want string
	}{
		{func(s *Spec) { s.Layout = "CHW" }, `image layout "CHW": want NCHW or NHWC`},
		{func(s *Spec) { s.Height = 0 }, "image size 0x4: want a positive height and width"},
		{func(s *Spec) { s.Resize = "fit" }, `image resize "fit": want stretch, crop or letterbox`},
		{func(s *Spec) { s.Std[1] = 0 }, "image std[1] is 0: want a non-zero number"},
		{func(s *Spec) { s.Datatype = infer.INT8 }, "image datatype INT8: want FP32 or FP16"},
	} {
		s := ok
		c.mod(&s)
		assert.EqualError(t, s.Check(), c.want)
	}
	assert.NoError(t, ok.Check())
	_, err := Preset("coco")
	assert.EqualError(t, err, `image preprocessing "coco": want imagenet, symmetric, unit or yolo`)
	p, err := Preset("symmetric")
	require.NoError(t, err)
	assert.Equal(t, Symmetric, p)
}

func v1Request(body string) *infer.Request {
	return &infer.Request{Protocol: infer.ProtocolV1, Body: []byte(body), IsJSON: true, ContentType: "application/json"}
}

// TestApply_V1: every instance form the guides use becomes one row of the
// tensor; a bad instance is a 400 naming it.
func TestApply_V1(t *testing.T) {
	s := Unit
	s.Height, s.Width = 2, 2
	b64 := base64.StdEncoding.EncodeToString(quad(t))
	req, err := s.Apply(v1Request(`{"instances":[{"image":{"b64":"`+b64+`"}},{"b64":"`+b64+`"},"`+b64+`"]}`), "x")
	require.NoError(t, err)
	require.Len(t, req.Inputs, 1)
	assert.Equal(t, "x", req.Inputs[0].Name)
	assert.Equal(t, []int64{3, 3, 2, 2}, req.Inputs[0].Shape)

	for body, want := range map[string]string{
		`{"instances":[]}`:                      `expected "instances": [{"image": {"b64": "..."}}, ...], one image each`,
		`{"instances":["` + b64 + `",{"x":1}]}`: `instances[1]: want {"image": {"b64": "..."}}, {"b64": "..."} or a base64 string, got {"x":1}`,
		`{"instances":["%%%"]}`:                 "instances[0]: the image is not base64: illegal base64 data at input byte 0",
		`{"instances":[{"b64":""}]}`:            "instances[0]: the image is empty",
		`{"instances":["aGVsbG8="]}`:            "instances[0]: not an image (PNG, JPEG, GIF, BMP or WebP)",
	} {
		_, err := s.Apply(v1Request(body), "x")
		var st *status.Error
		if assert.ErrorAs(t, err, &st, body) {
			assert.Equal(t, status.KindInvalidInput, st.Kind, body)
			assert.Equal(t, want, st.Message, body)
		}
	}
}

// TestApply_V2: a BYTES input of encoded images (raw, or base64 as JSON
// carries them) becomes the tensor, other inputs stay; a tensor the
// client computed passes unchanged.
func TestApply_V2(t *testing.T) {
	s := Unit
	s.Height, s.Width = 2, 2
	scale := infer.NewTensor("scale", []int64{1}, []float32{2})
	req := &infer.Request{Protocol: infer.ProtocolV2, Inputs: []*infer.Tensor{
		infer.NewTensor("x", []int64{2}, [][]byte{quad(t), []byte(base64.StdEncoding.EncodeToString(quad(t)))}),
		scale,
	}}
	req, err := s.Apply(req, "x")
	require.NoError(t, err)
	require.Len(t, req.Inputs, 2)
	assert.Equal(t, infer.FP32, req.Inputs[0].Datatype)
	assert.Equal(t, []int64{2, 3, 2, 2}, req.Inputs[0].Shape)
	assert.Same(t, scale, req.Inputs[1])

	tensor := infer.NewTensor("x", []int64{1, 3, 2, 2}, make([]float32, 12))
	req = &infer.Request{Protocol: infer.ProtocolV2, Inputs: []*infer.Tensor{tensor}}
	got, err := s.Apply(req, "x")
	require.NoError(t, err)
	assert.Same(t, tensor, got.Inputs[0])

	req = &infer.Request{Protocol: infer.ProtocolV2, Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{2}, [][]byte{quad(t), []byte("nope")})}}
	_, err = s.Apply(req, "x")
	var st *status.Error
	require.ErrorAs(t, err, &st)
	assert.Equal(t, "input x, image 1: not an image (PNG, JPEG, GIF, BMP or WebP)", st.Message)

	bad := s
	bad.Width = 0
	_, err = bad.Apply(req, "x")
	assert.EqualError(t, err, "image size 2x0: want a positive height and width")
	assert.False(t, errors.As(err, &st), "a setting of the server, not a client error")
}

// pngHeader is the start of a PNG that declares w×h RGB pixels: what a
// decompression bomb shows before its few kilobytes of compressed zeros.
func pngHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8 bits, RGB, deflate, no filter, no interlace
	chunk := append([]byte("IHDR"), ihdr...)
	b := []byte("\x89PNG\r\n\x1a\n")
	b = binary.BigEndian.AppendUint32(b, uint32(len(ihdr)))
	b = append(b, chunk...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
}

// TestTensor_RefusesTooManyPixels: an image's size is read before it is
// decoded, so one of more pixels than allowed (Pillow's limit by default)
// costs nothing and is a 400 naming it.
func TestTensor_RefusesTooManyPixels(t *testing.T) {
	s := Unit
	s.Height, s.Width = 2, 2
	_, err := s.Tensor("x", [][]byte{quad(t), pngHeader(100_000, 100_000)})
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.EqualError(t, err, "image 1: image too large: 100000×100000 pixels, more than the 89478485 allowed")
	_, err = Decode([]byte(base64.StdEncoding.EncodeToString(pngHeader(50_000, 2_000))))
	assert.EqualError(t, err, "image too large: 50000×2000 pixels, more than the 89478485 allowed", "base64 too")
	_, err = s.Tensor("x", [][]byte{pngHeader(0, 10)})
	assert.EqualError(t, err, "image 0: decode image: png: invalid format: non-positive dimension")

	s.MaxPixels = 4
	_, err = s.Tensor("x", [][]byte{quad(t)})
	assert.NoError(t, err, "2×2 is 4 pixels")
	s.MaxPixels = 3
	_, err = s.Tensor("x", [][]byte{quad(t)})
	assert.EqualError(t, err, "image 0: image too large: 2×2 pixels, more than the 3 allowed")
}

// TestTensor_BoundsTheBatch: every image, however small, becomes a full
// Height×Width×3 tensor, so the count is bounded too.
func TestTensor_BoundsTheBatch(t *testing.T) {
	s := Unit
	s.Height, s.Width = 224, 224
	tiny := encodePNG(t, pixels(1, 1, func(x, y int) color.RGBA { return red }))
	many := make([][]byte, 500)
	for i := range many {
		many[i] = tiny
	}
	_, err := s.Tensor("x", many)
	assert.EqualError(t, err, "500 images make a tensor of 301056000 bytes ([500, 3, 224, 224]), more than the 268435456 allowed: send fewer images per request")
	x, err := s.Tensor("x", many[:400])
	require.NoError(t, err)
	assert.Equal(t, []int64{400, 3, 224, 224}, x.Shape)
	s.MaxTensorBytes = 2 * 3 * 224 * 224 * 4
	_, err = s.Tensor("x", many[:3])
	assert.ErrorContains(t, err, "3 images make a tensor of 1806336 bytes")
}

// TestTensor_TransparencyIsDropped: a transparent pixel keeps its colour,
// as Pillow's convert("RGB") keeps it (scaling premultiplied would make it
// black); palette images too.
func TestTensor_TransparencyIsDropped(t *testing.T) {
	s := Unit
	s.Height, s.Width = 1, 2
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 0})     // transparent red
	img.SetNRGBA(1, 0, color.NRGBA{0, 255, 255, 128}) // half-transparent cyan
	x, err := s.Tensor("x", [][]byte{encodePNG(t, img)})
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 0, 0, 1, 0, 1}, x.Data)

	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.NRGBA{0, 0, 255, 0}, color.NRGBA{0, 255, 0, 255}})
	pal.SetColorIndex(1, 0, 1)
	x, err = s.Tensor("x", [][]byte{encodePNG(t, pal)})
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 0, 0, 1, 1, 0}, x.Data, "transparent blue, green")
}

// TestTensor_Letterbox: the image keeps its aspect ratio and the rest is
// Ultralytics' grey, the padding split as its LetterBox splits it.
func TestTensor_Letterbox(t *testing.T) {
	d255 := float32(255) // as fill computes it: v * (1 / (255*std))
	grey := float32(114) * (1 / d255)
	box := YOLO
	box.Height, box.Width = 4, 4
	// 8×2 red → 4×1, padding 3 rows: round(1.5-0.1) = 1 above, 2 below.
	x, err := box.Tensor("x", [][]byte{encodePNG(t, pixels(8, 2, func(int, int) color.RGBA { return red }))})
	require.NoError(t, err)
	r := x.Data.([]float32)[:16] // the R plane
	assert.Equal(t, []float32{
		grey, grey, grey, grey,
		1, 1, 1, 1,
		grey, grey, grey, grey,
		grey, grey, grey, grey,
	}, r)

	// 5×8 blue → 2.5 wide rounds half to even (Python's round): 2×4,
	// one grey column each side. The same tensor holds a second image,
	// which must be padded afresh.
	tall := encodePNG(t, pixels(5, 8, func(int, int) color.RGBA { return blue }))
	x, err = box.Tensor("x", [][]byte{tall, encodePNG(t, pixels(8, 2, func(int, int) color.RGBA { return white }))})
	require.NoError(t, err)
	b := x.Data.([]float32)[32:48] // the first image's B plane
	for y := range 4 {
		assert.Equal(t, []float32{grey, 1, 1, grey}, b[4*y:4*y+4], "row %d", y)
	}
	second := x.Data.([]float32)[48:64] // the second image's R plane
	assert.Equal(t, []float32{grey, grey, grey, grey}, second[:4], "grey above the white band")
	assert.Equal(t, []float32{1, 1, 1, 1}, second[4:8])

	// The same aspect ratio needs no padding.
	x, err = box.Tensor("x", [][]byte{quad(t)})
	require.NoError(t, err)
	assert.NotContains(t, x.Data.([]float32), grey)
}

// TestSpec_Placement maps points of the model's input back onto the
// image, for each resize.
func TestSpec_Placement(t *testing.T) {
	yolo := YOLO
	yolo.Height, yolo.Width = 640, 640
	p := yolo.Placement(1920, 1080) // scale 1/3: 640×360, 140 rows above
	assert.Equal(t, Placement{ScaleX: 1.0 / 3, ScaleY: 1.0 / 3, Left: 0, Top: 140}, p)
	x, y := p.Image(320, 320)
	assert.InDelta(t, 960, x, 1e-9)
	assert.InDelta(t, 540, y, 1e-9)
	x, y = p.Image(0, 140)
	assert.InDelta(t, 0, x, 1e-9)
	assert.InDelta(t, 0, y, 1e-9)

	crop := ImageNet
	crop.Height, crop.Width = 224, 224
	p = crop.Placement(512, 256) // 256 → 256 rows (scale 1), 224×224 cut from x = 144, y = 16
	assert.Equal(t, Placement{ScaleX: 1, ScaleY: 1, Left: -144, Top: -16}, p)
	x, y = p.Image(0, 0)
	assert.Equal(t, [2]float64{144, 16}, [2]float64{x, y})

	stretch := Symmetric
	stretch.Height, stretch.Width = 48, 192
	assert.Equal(t, Placement{ScaleX: 0.5, ScaleY: 0.25}, stretch.Placement(384, 192))
}

// TestDecode_RefusesFilesTooSmallForTheirSize: PNG and BMP decoders
// allocate the whole canvas before reading a pixel, so a header declaring
// 9000×9000 (under the pixel limit) with no data behind it cost ≈324 MB
// before it failed as truncated. A file smaller than any encoding of its
// size could be is refused first; a real, highly compressible image of
// that kind still decodes.
func TestDecode_RefusesFilesTooSmallForTheirSize(t *testing.T) {
	bmpHeader := func(w, h uint32) []byte {
		b := []byte("BM")
		b = binary.LittleEndian.AppendUint32(b, 54) // file size (not checked)
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, 54) // pixel data offset
		b = binary.LittleEndian.AppendUint32(b, 40) // BITMAPINFOHEADER
		b = binary.LittleEndian.AppendUint32(b, w)
		b = binary.LittleEndian.AppendUint32(b, h)
		b = binary.LittleEndian.AppendUint16(b, 1)  // planes
		b = binary.LittleEndian.AppendUint16(b, 24) // bits per pixel
		return append(b, make([]byte, 24)...)       // no compression, the rest zero
	}
	// The header, then the start of the pixel data: a few zlib bytes.
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, err := zw.Write([]byte{0, 1, 2, 3})
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	png9000 := binary.BigEndian.AppendUint32(pngHeader(9000, 9000), uint32(z.Len()))
	idat := append([]byte("IDAT"), z.Bytes()...)
	png9000 = binary.BigEndian.AppendUint32(append(png9000, idat...), crc32.ChecksumIEEE(idat))
	for _, c := range []struct {
		file []byte
		want string
	}{
		{png9000, "decode image: a PNG of 9000×9000 pixels needs at least 9819 bytes, got 61: the file is truncated"},
		{bmpHeader(9000, 9000), "decode image: a BMP of 9000×9000 pixels needs at least 10152000 bytes, got 54: the file is truncated"},
	} {
		var before, after goruntime.MemStats
		goruntime.ReadMemStats(&before)
		_, err := Decode(c.file)
		goruntime.ReadMemStats(&after)
		assert.EqualError(t, err, c.want)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "refused before the canvas is allocated")
	}

	white := image.NewGray(image.Rect(0, 0, 3000, 3000))
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, white))
	img, err := Decode(b.Bytes())
	require.NoError(t, err, "%d bytes", b.Len())
	assert.Equal(t, image.Rect(0, 0, 3000, 3000), img.Bounds())
}

// Errors about the images are InvalidInput (a 400 when a model returns
// them) and keep their cause, from Apply as from Tensor. Apply's used to
// lose the cause (errors.Is found no ErrNotImage, though the doc promised
// it), and Tensor's had no kind: a 500 for a client's bad picture.
func TestImageErrorsAreInvalidInputWithTheirCause(t *testing.T) {
	s := Unit
	s.Height, s.Width = 2, 2
	notImage := base64.StdEncoding.EncodeToString([]byte("hello"))

	_, err := s.Apply(&infer.Request{Protocol: infer.ProtocolV1, IsJSON: true, Body: []byte(`{"instances":["` + notImage + `"]}`)}, "x")
	assert.EqualError(t, err, "instances[0]: not an image (PNG, JPEG, GIF, BMP or WebP)")
	assert.ErrorIs(t, err, ErrNotImage)
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))

	_, err = s.Apply(&infer.Request{Protocol: infer.ProtocolV2, Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{1}, [][]byte{pngHeader(100_000, 100_000)})}}, "x")
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))

	_, err = s.Tensor("x", [][]byte{quad(t), []byte("hello")})
	assert.EqualError(t, err, "image 1: not an image (PNG, JPEG, GIF, BMP or WebP)")
	assert.ErrorIs(t, err, ErrNotImage)
	assert.Equal(t, status.KindInvalidInput, status.KindOf(err))

	bad := s
	bad.Height = 0
	_, err = bad.Tensor("x", [][]byte{quad(t)})
	assert.Equal(t, status.KindInternal, status.KindOf(err), "the Spec is the server's fault")
}
