package storage

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
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

// A download larger than the disk free under the cache is refused before
// its first byte is written when the source declares its size (an HTTP
// Content-Length, a bucket listing's sizes): written anyway, it filled the
// disk, after transferring that much, before failing on ENOSPC. A size the
// source does not declare (a chunked answer) fails at ENOSPC, saying what
// to do about it.
func TestDownload_LargerThanTheDisk(t *testing.T) {
	body := make([]byte, 4<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if r.URL.Path == "/declared/model.onnx" {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	disk := smallDisk(t, 2<<20, 64)
	d := newDownloadEnv(t)
	d.cache = filepath.Join(disk, "cache")

	_, err := d.resolver().Resolve(context.Background(), srv.URL+"/declared/model.onnx?token=secret")
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrDownload)
	assert.Regexp(t, "^storage uri "+regexpQuote(srv.URL)+`/declared/model\.onnx\?token=xxxxx: the model is 4\.0 MiB \(4194304 bytes\), more than the [0-9.]+ [KM]iB \(\d+ bytes\) free on the disk holding `+
		regexpQuote(d.cache)+": free space there, or set XDG_CACHE_HOME to a folder on a larger disk$", err.Error())
	assertNoModelLeft(t, d.cache)

	_, err = d.resolver().Resolve(context.Background(), srv.URL+"/chunked/model.onnx")
	require.Error(t, err)
	assert.Regexp(t, "^downloading "+regexpQuote(srv.URL)+`/chunked/model\.onnx: write `+regexpQuote(d.cache)+`/\.download-\d+/model\.onnx: no space left on device; `+
		"free space there, or set XDG_CACHE_HOME to a folder on a larger disk$", err.Error())
	assertNoModelLeft(t, d.cache)
	room, err := roomIn(disk)
	require.NoError(t, err)
	assert.Greater(t, room.free, uint64(1900<<10), "the disk is free again")
}

// A bucket's listing declares the sizes of its objects: a model larger
// than the disk in all, though each object fits, is refused before the
// first is downloaded.
func TestS3_LargerThanTheDisk(t *testing.T) {
	s := startS3rver(t, "models")
	for i := range 3 {
		s.put(t, "models", fmt.Sprintf("big/part%d.bin", i), strings.Repeat("x", 1<<20))
	}
	disk := smallDisk(t, 2<<20, 64)
	d := s3Env(t, s)
	d.cache = filepath.Join(disk, "cache")
	_, err := d.resolver().Resolve(context.Background(), "s3://models/big")
	require.Error(t, err)
	assert.Regexp(t, `^storage uri s3://models/big: the model is 3\.0 MiB \(3145728 bytes\), more than the [0-9.]+ [KM]iB \(\d+ bytes\) free on the disk holding `+
		regexpQuote(d.cache)+": free space there, or set XDG_CACHE_HOME to a folder on a larger disk$", err.Error())
	assertNoModelLeft(t, d.cache)
}
