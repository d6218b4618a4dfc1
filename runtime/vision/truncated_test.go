package vision

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	goruntime "runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jpegHeader is a real 16×16 JPEG cut just after its first scan header,
// with its frame header declaring w×h; progressive marks the frame
// progressive and the scan its first DC scan.
func jpegHeader(t *testing.T, w, h uint16, progressive bool) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 16, 16)), nil))
	f := b.Bytes()
	sof := bytes.Index(f, []byte{0xff, 0xc0})
	require.Positive(t, sof)
	binary.BigEndian.PutUint16(f[sof+5:], h)
	binary.BigEndian.PutUint16(f[sof+7:], w)
	sos := bytes.Index(f, []byte{0xff, 0xda})
	require.Positive(t, sos)
	end := sos + 2 + int(binary.BigEndian.Uint16(f[sos+2:]))
	if progressive {
		f[sof+1] = 0xc2
		f[end-2], f[end-1] = 0, 0 // spectral selection 0..0: DC only
	}
	return f[:end]
}

// gifHeader is a GIF declaring a w×h canvas and first frame, cut after the
// frame's LZW code size.
func gifHeader(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	b = append(b, 0x80, 0, 0, 0, 0, 0, 255, 255, 255) // a global table of two colours
	b = append(b, 0x2c, 0, 0, 0, 0)                   // the frame at 0,0
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0, 2) // no local table; LZW code size 2
}

// webpHeader is a WebP whose chunk (VP8L lossless, or VP8 lossy) declares
// a w×h image and 100 000 bytes, cut after its header.
func webpHeader(w, h uint16, lossless bool) []byte {
	var chunk []byte
	if lossless {
		chunk = []byte("VP8L")
		chunk = binary.LittleEndian.AppendUint32(chunk, 100_000)
		chunk = append(chunk, 0x2f)
		chunk = binary.LittleEndian.AppendUint32(chunk, uint32(w-1)|uint32(h-1)<<14)
	} else {
		chunk = []byte("VP8 ")
		chunk = binary.LittleEndian.AppendUint32(chunk, 100_000)
		// A key frame whose first partition is 50 000 bytes.
		tag := uint32(50_000)<<5 | 1<<4 // key frame (bit 0 clear), version 0, shown
		chunk = append(chunk, byte(tag), byte(tag>>8), byte(tag>>16), 0x9d, 0x01, 0x2a)
		chunk = binary.LittleEndian.AppendUint16(chunk, w)
		chunk = binary.LittleEndian.AppendUint16(chunk, h)
		chunk = append(chunk, make([]byte, 16)...)
	}
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, 4+8+100_000)
	b = append(b, "WEBP"...)
	return append(b, chunk...)
}

// webpAlphaHeader is an extended WebP with alpha declaring a w×h canvas,
// cut inside its uncompressed ALPH chunk of 100 000 declared bytes.
func webpAlphaHeader(w, h uint32) []byte {
	chunk := []byte("VP8X")
	chunk = binary.LittleEndian.AppendUint32(chunk, 10)
	chunk = append(chunk, 1<<4, 0, 0, 0) // alpha
	chunk = append(chunk, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	chunk = append(chunk, "ALPH"...)
	chunk = binary.LittleEndian.AppendUint32(chunk, 100_000)
	chunk = append(chunk, 0, 0, 0, 0) // uncompressed, then the first alpha bytes
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, 4+18+8+100_000+8+100)
	b = append(b, "WEBP"...)
	return append(b, chunk...)
}

// TestDecode_RefusesTruncatedJPEGGIFAndWebP: the JPEG, GIF and WebP
// decoders too allocate a frame's whole canvas (a progressive JPEG its
// coefficients as well: ≈1.3 GB for 9000×9000) before reading its data, so
// a few hundred bytes declaring 9000×9000 (under the pixel limit) cost that
// per request before failing as truncated. They are refused first; real,
// highly compressible images of that size still decode.
func TestDecode_RefusesTruncatedJPEGGIFAndWebP(t *testing.T) {
	for _, c := range []struct {
		name string
		file []byte
		want string
	}{
		{"jpeg", jpegHeader(t, 9000, 9000, false), "decode image: a JPEG of 9000×9000 pixels needs at least 158203 bytes, got 589: the file is truncated"},
		{"progressive jpeg", jpegHeader(t, 9000, 9000, true), "decode image: a JPEG of 9000×9000 pixels needs at least 158203 bytes, got 589: the file is truncated"},
		{"gif", gifHeader(9000, 9000), "decode image: a GIF of 9000×9000 pixels needs at least 7416 bytes, got 30: the file is truncated"},
		{"webp lossless", webpHeader(9000, 9000, true), "decode image: a WEBP of 9000×9000 pixels needs at least 100020 bytes, got 25: the file is truncated"},
		{"webp alpha", webpAlphaHeader(9000, 9000), "decode image: a WEBP of 9000×9000 pixels needs at least 100038 bytes, got 42: the file is truncated"},
		{"webp lossy", webpHeader(9000, 9000, false), "decode image: a WEBP of 9000×9000 pixels needs at least 100020 bytes, got 46: the file is truncated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var before, after goruntime.MemStats
			goruntime.ReadMemStats(&before)
			_, err := Decode(c.file)
			goruntime.ReadMemStats(&after)
			assert.EqualError(t, err, c.want)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "refused before the canvas is allocated")
		})
	}

	// A GIF whose canvas is large and whose first frame is small is
	// complete: the bound is the frame's.
	small := image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.White})
	var g bytes.Buffer
	require.NoError(t, gif.EncodeAll(&g, &gif.GIF{Image: []*image.Paletted{small}, Delay: []int{0},
		Config: image.Config{Width: 3000, Height: 3000, ColorModel: small.Palette}}))
	img, err := Decode(g.Bytes())
	require.NoError(t, err, "%d bytes", g.Len())
	assert.Equal(t, image.Rect(0, 0, 3000, 3000), img.Bounds())

	white := image.NewGray(image.Rect(0, 0, 3000, 3000))
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	var j bytes.Buffer
	require.NoError(t, jpeg.Encode(&j, white, &jpeg.Options{Quality: 1}))
	img, err = Decode(j.Bytes())
	require.NoError(t, err, "%d bytes", j.Len())
	assert.Equal(t, image.Rect(0, 0, 3000, 3000), img.Bounds())

	wp := image.NewPaletted(image.Rect(0, 0, 3000, 3000), color.Palette{color.White, color.Black})
	g.Reset()
	require.NoError(t, gif.Encode(&g, wp, nil))
	img, err = Decode(g.Bytes())
	require.NoError(t, err, "%d bytes", g.Len())
	assert.Equal(t, image.Rect(0, 0, 3000, 3000), img.Bounds())
}
