package vision

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// BenchmarkTensor_JPEG640x480: a camera-sized JPEG to ImageNet's 224×224
// tensor (decode, centre crop with bilinear scaling, normalise), the work
// a Preprocess does per image.
func BenchmarkTensor_JPEG640x480(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := range 480 {
		for x := range 640 {
			img.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	s := ImageNet
	s.Height, s.Width = 224, 224
	images := [][]byte{buf.Bytes()}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Tensor("x", images); err != nil {
			b.Fatal(err)
		}
	}
}
