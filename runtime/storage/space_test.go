package storage

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An entry declaring more bytes than the disk has free is refused at its
// header, before anything is written: a few hundred bytes declaring an
// exabyte, on whatever disk the test runs on.
func TestArchive_DeclaredSizeLargerThanTheDisk(t *testing.T) {
	const exabyte = 1 << 60
	// A tar header declaring an exabyte, and no body: the download ends there.
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "bomb.bin", Typeflag: tar.TypeReg, Mode: 0o644, Size: exabyte}))
	// No Close: it would refuse the missing body.
	// A zip entry of a few deflated bytes whose directory says an exabyte.
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	var deflated bytes.Buffer
	fw, err := flate.NewWriter(&deflated, flate.BestCompression)
	require.NoError(t, err)
	_, err = fw.Write(make([]byte, 1<<16))
	require.NoError(t, err)
	require.NoError(t, fw.Close())
	raw, err := zw.CreateRaw(&zip.FileHeader{Name: "bomb.bin", Method: zip.Deflate, UncompressedSize64: exabyte, CompressedSize64: uint64(deflated.Len())})
	require.NoError(t, err)
	_, err = raw.Write(deflated.Bytes())
	require.NoError(t, err)
	require.NoError(t, zw.Close())

	for path, f := range map[string]file{
		"/m/model.tar": {body: tb.Bytes(), contentType: "application/x-tar"},
		"/m/model.zip": {body: zb.Bytes(), contentType: "application/zip"},
	} {
		t.Run(path, func(t *testing.T) {
			o := newOrigin(t)
			o.put(path, f)
			d := newDownloadEnv(t)
			_, err := d.resolver().Resolve(context.Background(), o.URL+path)
			require.Error(t, err)
			assert.Regexp(t, "^storage uri "+regexpQuote(o.URL+path)+`: bomb\.bin: the archive unpacks to at least 1152921504606846976 bytes with this entry, `+
				`more than the \d+ bytes free on the disk holding `+regexpQuote(d.cache)+`/\.download-\d+ \(a decompression bomb, or a disk too small for the model\)$`, err.Error())
			assertNoModelLeft(t, d.cache)
		})
	}
}

// Decompression bombs on a disk too small for them are refused before the
// disk is full, naming what did not fit, and leave nothing behind.
func TestArchive_BombsOnASmallDisk(t *testing.T) {
	zeros := make([]byte, 8<<20) // 8 MiB of zeros: 8 KiB gzipped
	many := make([]entry, 100)
	for i := range many {
		many[i] = entry{name: fmt.Sprintf("f%03d", i), body: ""}
	}
	cases := []struct {
		path, want string
		f          file
	}{
		{"/m/model.onnx.gz", `model\.onnx\.gz decompresses to more than the \d+ bytes free on the disk holding DIR`,
			file{body: gzipped(t, zeros), contentType: "application/octet-stream"}},
		{"/m/model.tar.gz", `model\.tar\.gz decompresses to more than the \d+ bytes free on the disk holding DIR`,
			file{body: tarball(t, true, entry{name: "zeros.bin", body: string(zeros)}), contentType: "application/gzip"}},
		{"/m/model.zip", `zeros\.bin: the archive unpacks to at least 8388608 bytes with this entry, more than the \d+ bytes free on the disk holding DIR`,
			file{body: zipball(t, entry{name: "zeros.bin", body: string(zeros)}), contentType: "application/zip"}},
		{"/m/many.tar", `f\d{3}: the archive has more entries than the disk holding DIR has free inodes`,
			file{body: tarball(t, false, many...), contentType: "application/x-tar"}},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			disk := smallDisk(t, 2<<20, 64)
			o := newOrigin(t)
			o.put(c.path, c.f)
			d := newDownloadEnv(t)
			d.cache = filepath.Join(disk, "cache")
			_, err := d.resolver().Resolve(context.Background(), o.URL+c.path)
			require.Error(t, err)
			want := "^storage uri " + regexpQuote(o.URL+c.path) + ": " + c.want + ` \(a decompression bomb, or a disk too small for the model\)$`
			if c.path == "/m/many.tar" {
				want = "^storage uri " + regexpQuote(o.URL+c.path) + ": " + c.want + "$"
			}
			assert.Regexp(t, strings.ReplaceAll(want, "DIR", regexpQuote(d.cache)+`/\.download-\d+`), err.Error())
			assertNoModelLeft(t, d.cache)
			room, err := roomIn(disk)
			require.NoError(t, err)
			assert.Greater(t, room.free, uint64(1900<<10), "the disk is free again")
		})
	}
}

// A modelcar layer is held to the same bound.
func TestOCI_BombOnASmallDisk(t *testing.T) {
	disk := smallDisk(t, 2<<20, 64)
	o := newOCIRegistry(t)
	repo := o.repo(t, "modelcar")
	pushImage(t, repo, "bomb", gzLayer(t, entry{name: "models/zeros.bin", body: string(make([]byte, 8<<20))}))
	d := ociEnv(t)
	d.cache = filepath.Join(disk, "cache")
	_, err := d.resolver().Resolve(context.Background(), "oci://"+o.host+"/modelcar:bomb")
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrDownload)
	assert.Regexp(t, `: models/zeros\.bin: the archive unpacks to at least 8388608 bytes with this entry, more than the \d+ bytes free on the disk holding `+
		regexpQuote(d.cache)+`/[^ ]+ \(a decompression bomb, or a disk too small for the model\)$`, err.Error())
	room, err := roomIn(disk)
	require.NoError(t, err)
	assert.Greater(t, room.free, uint64(1900<<10), "the disk is free again")
}
