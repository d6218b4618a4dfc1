package vision

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"golang.org/x/image/bmp"
)

// FuzzDecode feeds arbitrary bytes to the decoders of every format Decode
// takes: none may panic, and none may hand back more pixels than the limit
// the header was checked against (a decoder whose image is larger than its
// header says would slip past the decompression-bomb guard).
func FuzzDecode(f *testing.F) {
	img := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 37)
	}
	pal := image.NewPaletted(img.Rect, color.Palette{color.Black, color.White, color.Transparent})
	for _, enc := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return png.Encode(b, img) },
		func(b *bytes.Buffer) error { return png.Encode(b, pal) },
		func(b *bytes.Buffer) error { return jpeg.Encode(b, img, nil) },
		func(b *bytes.Buffer) error { return gif.Encode(b, pal, nil) },
		func(b *bytes.Buffer) error { return bmp.Encode(b, img) },
	} {
		var b bytes.Buffer
		if err := enc(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	for _, name := range []string{"blue-purple-pink.lossless.webp", "blue-purple-pink.lossy.webp", "yellow_rose.lossy-with-alpha.webp"} {
		f.Add(xImageTestdata(f, name))
	}
	const limit = 64
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := decode(b, limit)
		if err != nil {
			return // every error is fine; panics and oversized images are not
		}
		if r := img.Bounds(); r.Dx()*r.Dy() > limit || r.Empty() {
			t.Fatalf("decoded a %v image past the %d-pixel limit", r, limit)
		}
	})
}
