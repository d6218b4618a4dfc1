package vision

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/image/webp"
)

// xImageTestdata reads a file of golang.org/x/image's own test data, from
// the module cache (the module is a dependency, so it is there).
func xImageTestdata(t testing.TB, name string) []byte {
	t.Helper()
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/image").Output()
	require.NoError(t, err, "locate golang.org/x/image")
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "testdata", name))
	require.NoError(t, err)
	return b
}

// TestTensor_LossyWebPTransparencyIsDropped: lossy WebP with alpha decodes
// to NYCbCrA; its transparent pixels keep their colour (they came out
// black), as with Pillow's convert("RGB").
func TestTensor_LossyWebPTransparencyIsDropped(t *testing.T) {
	b := xImageTestdata(t, "yellow_rose.lossy-with-alpha.webp")
	img, err := webp.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	m, ok := img.(*image.NYCbCrA)
	require.True(t, ok, "decoded as %T", img)
	r := m.Bounds()
	require.Equal(t, 0, int(m.A[m.AOffset(46, 51)]), "pixel (46, 51) is transparent")
	s := Unit
	s.Height, s.Width = r.Dy(), r.Dx() // the image's own size: no resampling
	x, err := s.Tensor("x", [][]byte{b})
	require.NoError(t, err)
	d := x.Data.([]float32)
	hw := r.Dx() * r.Dy()
	transparent, wrong := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			c := m.YCbCrAt(px, y)
			R, G, B := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
			if m.A[m.AOffset(px, y)] < 255 {
				transparent++
			}
			p := (y-r.Min.Y)*r.Dx() + px - r.Min.X
			for ch, want := range []uint8{R, G, B} {
				if math.Abs(float64(d[ch*hw+p]-float32(want)/255)) > 1.5/255 {
					wrong++
				}
			}
		}
	}
	assert.Greater(t, transparent, 60000)
	assert.Zero(t, wrong, "channel values off by more than 1.5/255")
	p := 51*r.Dx() + 46
	assert.InDeltaSlice(t, []float32{252. / 255, 197. / 255, 144. / 255}, []float32{d[p], d[hw+p], d[2*hw+p]}, 1.5/255, "pixel (46, 51)")
}

// TestTensor_CenterCropOfAThinImage: for a non-square input, the crop of a
// small or thin image rounded to no pixels, nothing was drawn, and the
// tensor held the previous image (or black); it is at least a pixel.
func TestTensor_CenterCropOfAThinImage(t *testing.T) {
	allBlue := func(t *testing.T, s Spec, img []float32) {
		t.Helper()
		hw := s.Height * s.Width
		for c, want := range []float32{0, 0, 1} {
			for i, v := range img[c*hw : (c+1)*hw] {
				if v != want {
					t.Fatalf("channel %d, pixel %d is %v, want %v", c, i, v, want)
				}
			}
		}
	}
	s := Unit
	s.Resize = CenterCrop
	redImg := encodePNG(t, pixels(32, 32, func(int, int) color.RGBA { return red }))
	for _, c := range []struct {
		h, w, imgW, imgH int
	}{{64, 16, 1, 1}, {48, 320, 2, 100}} {
		s.Height, s.Width = c.h, c.w
		blueImg := encodePNG(t, pixels(c.imgW, c.imgH, func(int, int) color.RGBA { return blue }))
		x, err := s.Tensor("x", [][]byte{redImg, blueImg})
		require.NoError(t, err)
		allBlue(t, s, x.Data.([]float32)[3*c.h*c.w:])
		x, err = s.Tensor("x", [][]byte{blueImg})
		require.NoError(t, err)
		allBlue(t, s, x.Data.([]float32))
	}
}

// TestTensor_GIFAsPillowShowsIt: a first frame smaller than the GIF is
// placed at its offset on a canvas of the GIF's size (it was stretched
// over the whole tensor), the rest of the canvas palette index 0 or the
// transparent index; the transparent index has its colour in the global
// colour table (Go's decoder makes it transparent black).
func TestTensor_GIFAsPillowShowsIt(t *testing.T) {
	s := Unit
	s.Height, s.Width = 1, 4

	// A red/blue palette; the frame, blue, covers x = 2..3 of 4.
	frame := image.NewPaletted(image.Rect(2, 0, 4, 1), color.Palette{red, blue})
	frame.Pix = []uint8{1, 1}
	var buf bytes.Buffer
	require.NoError(t, gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{Width: 4, Height: 1, ColorModel: frame.Palette}}))
	x, err := s.Tensor("x", [][]byte{buf.Bytes()})
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, x.Data, "red canvas (index 0), blue frame at x = 2..3")

	// Index 2 is transparent, green in the file: the canvas is green.
	frame.Palette = color.Palette{red, blue, color.RGBA{}, white}
	buf.Reset()
	require.NoError(t, gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{Width: 4, Height: 1, ColorModel: frame.Palette}}))
	b := buf.Bytes()
	entry := 13 + 3*2 // the global colour table follows the 13-byte header
	require.Equal(t, []byte{0, 0, 0}, b[entry:entry+3])
	b[entry+1] = 255
	x, err = s.Tensor("x", [][]byte{b})
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1}, x.Data, "green canvas (the transparent index), blue frame")

	// A whole frame whose transparent pixel is red in the file.
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.RGBA{}, green})
	pal.Pix = []uint8{0, 1}
	buf.Reset()
	require.NoError(t, gif.Encode(&buf, pal, nil))
	b = buf.Bytes()
	require.Equal(t, []byte{0, 0, 0}, b[13:16])
	b[13] = 255
	s.Width = 2
	x, err = s.Tensor("x", [][]byte{b})
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 0, 0, 1, 0, 0}, x.Data, "red (transparent), green")
}
