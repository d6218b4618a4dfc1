package storage

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// origin is a real HTTP server holding files, with what KServe's storage
// package relies on: a Content-Type per file, ETag revalidation.
type origin struct {
	*httptest.Server
	mu        sync.Mutex
	files     map[string]file
	downloads atomic.Int64 // 200 responses with a body
	requests  []*http.Request
}

type file struct {
	body        []byte
	contentType string
	etag        string
	encoding    string // Content-Encoding header, if any
}

func newOrigin(t *testing.T) *origin {
	o := &origin{files: map[string]file{}}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.requests = append(o.requests, r.Clone(context.Background()))
		key := r.URL.Path
		if r.URL.RawQuery != "" {
			key += "?" + r.URL.RawQuery
		}
		f, ok := o.files[key]
		o.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if f.etag != "" {
			w.Header().Set("ETag", f.etag)
			if r.Header.Get("If-None-Match") == f.etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		w.Header().Set("Content-Type", f.contentType)
		if f.encoding != "" {
			w.Header().Set("Content-Encoding", f.encoding)
		}
		o.downloads.Add(1)
		_, _ = w.Write(f.body)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *origin) put(p string, f file) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.files[p] = f
}

func (o *origin) lastRequest() *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests[len(o.requests)-1]
}

// logBuffer collects log lines as "LEVEL message".
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) logger() *slog.Logger                     { return slog.New(b) }
func (b *logBuffer) Enabled(context.Context, slog.Level) bool { return true }
func (b *logBuffer) Handle(_ context.Context, r slog.Record) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, r.Level.String()+" "+r.Message)
	return nil
}
func (b *logBuffer) WithAttrs([]slog.Attr) slog.Handler { return b }
func (b *logBuffer) WithGroup(string) slog.Handler      { return b }
func (b *logBuffer) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.lines
	b.lines = nil
	return l
}

type downloadEnv struct {
	pod   pod
	cache string
	logs  *logBuffer
	env   map[string]string
}

func newDownloadEnv(t *testing.T) *downloadEnv {
	return &downloadEnv{pod: newPod(t), cache: filepath.Join(t.TempDir(), "cache"), logs: &logBuffer{}, env: map[string]string{}}
}

func (d *downloadEnv) resolver() Resolver {
	r := d.pod.resolver()
	r.CacheDir = d.cache
	r.Logger = d.logs.logger()
	r.Getenv = func(k string) string { return d.env[k] }
	r.StallTimeout = 5 * time.Second
	r.gceProductName = os.DevNull // not Google's machine, wherever the tests run: no metadata server asked
	return r
}

// start resolves uri and then trims the cache, as a server's start does
// (the trim once it is ready).
func (d *downloadEnv) start(ctx context.Context, uri string) (string, error) {
	dir, err := d.resolver().Resolve(ctx, uri)
	if err == nil {
		err = d.resolver().Trim(ctx, dir)
	}
	return dir, err
}

// tree lists a folder's files with their contents, "name=content", and
// links as "name->target".
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, p)
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+"->"+target)
		case info.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			out = append(out, rel+"="+string(b))
		}
		return nil
	}))
	sort.Strings(out)
	return out
}

type entry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func tarball(t *testing.T, gz bool, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = tar.NewWriter(zw)
	} else {
		w = tar.NewWriter(&buf)
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		require.NoError(t, w.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			_, err := w.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, w.Close())
	if zw != nil {
		require.NoError(t, zw.Close())
	}
	return buf.Bytes()
}

func zipball(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		f, err := w.Create(e.name)
		require.NoError(t, err)
		_, err = f.Write([]byte(e.body))
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestHTTP_FileDownloadedRevalidatedAndReplaced(t *testing.T) {
	o := newOrigin(t)
	o.put("/models/iris/model.onnx", file{body: []byte("weights v1"), contentType: "application/octet-stream", etag: `"v1"`})
	d := newDownloadEnv(t)
	uri := o.URL + "/models/iris/model.onnx"
	ctx := context.Background()

	dir, err := d.start(ctx, uri)
	require.NoError(t, err)
	entry := filepath.Dir(dir)
	assert.Equal(t, d.cache, filepath.Dir(entry))
	assert.True(t, strings.HasPrefix(filepath.Base(entry), "model.onnx-"), dir)
	assert.Regexp(t, `^[0-9]{8}T[0-9]{6}Z-[0-9]+$`, filepath.Base(dir))
	assert.Equal(t, []string{"model.onnx=weights v1"}, tree(t, dir))
	logs := d.logs.take()
	require.Len(t, logs, 3)
	assert.Equal(t, "INFO Copying contents of "+uri+" to local", logs[0])
	assert.Equal(t, "INFO Successfully copied "+uri+" to "+dir, logs[1])
	assert.Regexp(t, `^INFO Model downloaded in \S+ \(10 bytes\)\.$`, logs[2])
	assert.Empty(t, o.lastRequest().Header.Get("If-None-Match"))

	// A restart: a conditional GET, no second download.
	exitProcess()
	again, err := d.start(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	assert.Equal(t, `"v1"`, o.lastRequest().Header.Get("If-None-Match"))
	assert.EqualValues(t, 1, o.downloads.Load())
	logs = d.logs.take()
	require.Len(t, logs, 1)
	assert.Regexp(t, `^INFO `+uri+` is not modified since its download on \S+; using `+dir+`$`, logs[0])

	// The source changed: downloaded again, into a folder of its own.
	exitProcess()
	o.put("/models/iris/model.onnx", file{body: []byte("weights v2"), contentType: "application/octet-stream", etag: `"v2"`})
	v2, err := d.start(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, entry, filepath.Dir(v2))
	assert.NotEqual(t, dir, v2)
	assert.Equal(t, []string{"model.onnx=weights v2"}, tree(t, v2))
	assert.Regexp(t, `^INFO `+uri+` has changed since its download on \S+; downloading it again$`, d.logs.take()[0])
	// Nothing left behind but the model, its record, its lock files and
	// the cache's: the replaced version, which no process holds, is gone.
	assert.Equal(t, []string{".lock", filepath.Base(entry), filepath.Base(entry) + ".json", filepath.Base(entry) + ".lock"}, cacheNames(t, d.cache))
	assert.Equal(t, []string{filepath.Base(v2), filepath.Base(v2) + ".lock"}, cacheNames(t, entry))
	assert.Equal(t, filepath.Base(v2), recordOf(t, entry)["version"])

	// The source is unreachable: the cached copy, with a warning.
	exitProcess()
	o.Close()
	again, err = d.start(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, v2, again)
	dir = v2
	logs = d.logs.take()
	require.Len(t, logs, 1)
	assert.Regexp(t, `^WARN Cannot revalidate `+uri+` \(.*connection refused\); serving the copy downloaded \S+ from `+dir+`$`, logs[0])
}

// TestHTTP_FileWithoutValidatorsIsDownloadedEachTime: a source that sends
// neither ETag nor Last-Modified cannot say whether the file changed, so
// the copy is not trusted at the next start (docs/storage.md says so): it
// is downloaded again, and an unreachable source is an error, not the old
// copy served with a warning.
func TestHTTP_FileWithoutValidatorsIsDownloadedEachTime(t *testing.T) {
	o := newOrigin(t)
	o.put("/model.onnx", file{body: []byte("weights"), contentType: "application/octet-stream"})
	d := newDownloadEnv(t)
	uri := o.URL + "/model.onnx"
	ctx := context.Background()

	dir, err := d.start(ctx, uri)
	require.NoError(t, err)
	exitProcess()
	again, err := d.start(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, filepath.Dir(dir), filepath.Dir(again))
	assert.NotEqual(t, dir, again, "a new version each time")
	assert.NoDirExists(t, dir, "the replaced version, held by no process")
	assert.EqualValues(t, 2, o.downloads.Load())
	assert.Empty(t, o.lastRequest().Header.Get("If-None-Match"))
	assert.Empty(t, o.lastRequest().Header.Get("If-Modified-Since"))
	logs := d.logs.take()
	require.Len(t, logs, 6)
	assert.Equal(t, "INFO Copying contents of "+uri+" to local", logs[3])

	o.Close()
	_, err = d.start(ctx, uri)
	require.ErrorIs(t, err, ErrDownload)
	assert.Regexp(t, `^downloading `+uri+`: .*connection refused$`, err.Error())
}

func TestHTTP_Archives(t *testing.T) {
	nested := []entry{
		{name: "resnet/", typ: tar.TypeDir, mode: 0o755},
		{name: "resnet/model.onnx", body: "weights"},
		{name: "resnet/config/labels.txt", body: "cat\ndog\n"},
		{name: "resnet/run.sh", body: "#!/bin/sh\n", mode: 0o4777},
		{name: "resnet/latest", typ: tar.TypeSymlink, link: "model.onnx"},
	}
	want := []string{"resnet/config/labels.txt=cat\ndog\n", "resnet/latest->model.onnx", "resnet/model.onnx=weights", "resnet/run.sh=#!/bin/sh\n"}
	cases := []struct {
		path string
		f    file
		want []string
	}{
		{"/m/model.tar.gz", file{body: tarball(t, true, nested...), contentType: "application/gzip"}, want},
		{"/m/model.tgz", file{body: tarball(t, true, nested...), contentType: "application/x-gzip"}, want},
		{"/m/model.tar", file{body: tarball(t, false, nested...), contentType: "application/x-tar"}, want},
		// gzip bytes served with Content-Encoding: gzip are taken as stored.
		{"/m/encoded.tar.gz", file{body: tarball(t, true, nested...), contentType: "application/x-gtar", encoding: "gzip"}, want},
		// KServe guesses the type from the query when the path has none.
		{"/download?file=model.tar.gz", file{body: tarball(t, true, nested...), contentType: "application/gzip"}, want},
		{"/m/model.zip", file{body: zipball(t, entry{name: "model.onnx", body: "weights"}, entry{name: "vocab/words.txt", body: "a b"}), contentType: "application/zip"},
			[]string{"model.onnx=weights", "vocab/words.txt=a b"}},
		// A gzipped single file is gunzipped (KServe leaves model.onnx.gz.tar).
		{"/m/model.onnx.gz", file{body: gzipped(t, []byte("weights")), contentType: "application/octet-stream"}, []string{"model.onnx=weights"}},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			o := newOrigin(t)
			o.put(c.path, c.f)
			d := newDownloadEnv(t)
			dir, err := d.resolver().Resolve(context.Background(), o.URL+c.path)
			require.NoError(t, err)
			assert.Equal(t, c.want, tree(t, dir))
			logs := d.logs.take()
			if strings.Contains(c.path, ".tar") || strings.Contains(c.path, ".tgz") || strings.Contains(c.path, ".zip") {
				assert.Contains(t, strings.Join(logs, "\n"), "INFO Unpacking: ")
			}
			if strings.HasSuffix(c.path, "model.tar.gz") {
				st, err := os.Stat(filepath.Join(dir, "resnet", "run.sh"))
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o755), st.Mode(), "setuid and group/other write dropped, as tarfile's data filter does")
			}
		})
	}
}

func TestHTTP_Errors(t *testing.T) {
	o := newOrigin(t)
	o.put("/m/page.onnx", file{body: []byte("<html>sign in</html>"), contentType: "text/html; charset=utf-8"})
	o.put("/m/model.zip", file{body: []byte("PK"), contentType: "application/octet-stream"})
	o.put("/m/model.tar.gz", file{body: []byte("not a tarball"), contentType: "application/gzip"})
	o.put("/m/empty.tar", file{body: tarball(t, false), contentType: "application/x-tar"})
	good := tarball(t, true, entry{name: "model.onnx", body: strings.Repeat("weights ", 1000)})
	o.put("/m/trunc.tar.gz", file{body: good[:len(good)/2], contentType: "application/gzip"})
	crc := bytes.Clone(good)
	crc[len(crc)-6] ^= 0xff // the CRC-32 in the gzip trailer
	o.put("/m/crc.tar.gz", file{body: crc, contentType: "application/gzip"})
	gz := gzipped(t, []byte(strings.Repeat("weights ", 1000)))
	o.put("/m/trunc.onnx.gz", file{body: gz[:len(gz)-10], contentType: "application/octet-stream"})
	o.put("/m/bad.zip", file{body: []byte("PK\x03\x04 truncated"), contentType: "application/zip"})
	cases := map[string]string{
		"/m/missing.onnx":  "URI: URL/m/missing.onnx returned a 404 response code.",
		"/m/page.onnx":     `URI: URL/m/page.onnx did not respond with 'Content-Type': 'application/octet-stream' (got "text/html; charset=utf-8")`,
		"/m/model.zip":     `URI: URL/m/model.zip did not respond with any of following 'Content-Type': application/x-zip-compressed, application/zip, application/zip-compressed (got "application/octet-stream")`,
		"/m/model.tar.gz":  "storage uri URL/m/model.tar.gz: Failed to unpack archive file. The file format is not valid.: gzip: invalid header",
		"/m/trunc.tar.gz":  "storage uri URL/m/trunc.tar.gz: Failed to unpack archive file. The file format is not valid.: gzip: unexpected EOF",
		"/m/crc.tar.gz":    "storage uri URL/m/crc.tar.gz: Failed to unpack archive file. The file format is not valid.: gzip: invalid checksum",
		"/m/trunc.onnx.gz": "storage uri URL/m/trunc.onnx.gz: Failed to unpack archive file. The file format is not valid.: gzip: unexpected EOF",
		"/m/empty.tar":     "storage uri URL/m/empty.tar: Failed to unpack archive file. The file format is not valid.: the archive is empty",
		"/m/bad.zip":       "storage uri URL/m/bad.zip: Failed to unpack archive file. The file format is not valid.: zip: not a valid zip file",
		"/":                "No filename contained in URI: URL/",
		"/m/":              "No filename contained in URI: URL/m/",
	}
	for p, want := range cases {
		t.Run(p, func(t *testing.T) {
			d := newDownloadEnv(t)
			_, err := d.resolver().Resolve(context.Background(), o.URL+p)
			require.Error(t, err)
			assert.Equal(t, strings.ReplaceAll(want, "URL", o.URL), err.Error())
			if strings.HasPrefix(p, "/m/") && p != "/m/" {
				assert.ErrorIs(t, err, ErrDownload)
			} else {
				assert.ErrorIs(t, err, ErrInvalidURI)
			}
			assertNoModelLeft(t, d.cache)
		})
	}

	// A last path element that is ".." (escaped, or "...gz" gunzipped) names
	// no file: the download folder's parent, where writing failed with
	// "file exists".
	o.put("/m/..", file{body: []byte("w"), contentType: "application/octet-stream"})
	o.put("/m/...gz", file{body: gz, contentType: "application/octet-stream"})
	o.put("/m/.gz", file{body: gz, contentType: "application/octet-stream"})
	for _, p := range []string{"/m/%2e%2e", "/m/...gz", "/m/.gz"} {
		d := newDownloadEnv(t)
		_, err := d.resolver().Resolve(context.Background(), o.URL+p)
		require.Error(t, err, p)
		assert.Equal(t, "No filename contained in URI: "+o.URL+p, err.Error())
		assert.ErrorIs(t, err, ErrInvalidURI)
	}

	t.Run("transfer cut short", func(t *testing.T) {
		// A .tar.gz whose connection closes before its Content-Length is a
		// failed download, not a bad archive.
		good := tarball(t, true, entry{name: "model.onnx", body: strings.Repeat("weights ", 1000)})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/gzip")
			w.Header().Set("Content-Length", fmt.Sprint(len(good)))
			_, _ = w.Write(good[:len(good)/2])
			w.(http.Flusher).Flush()
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}))
		defer srv.Close()
		d := newDownloadEnv(t)
		_, err := d.resolver().Resolve(context.Background(), srv.URL+"/cut.tar.gz")
		assert.EqualError(t, err, "downloading "+srv.URL+"/cut.tar.gz: unexpected EOF")
		assert.ErrorIs(t, err, ErrDownload)
		assertNoModelLeft(t, d.cache)
	})

	t.Run("unreachable", func(t *testing.T) {
		addr := fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t)) // nothing listens there
		d := newDownloadEnv(t)
		_, err := d.resolver().Resolve(context.Background(), "http://"+addr+"/model.onnx")
		assert.Regexp(t, `^downloading http://`+addr+`/model.onnx: dial tcp `+addr+`: connect: connection refused$`, err.Error())
		assert.ErrorIs(t, err, ErrDownload)
	})

	t.Run("credentials are not repeated", func(t *testing.T) {
		d := newDownloadEnv(t)
		u := strings.Replace(o.URL, "http://", "http://user:secret@", 1) + "/m/missing.onnx"
		_, err := d.resolver().Resolve(context.Background(), u)
		assert.Equal(t, "URI: "+strings.Replace(o.URL, "http://", "http://user:xxxxx@", 1)+"/m/missing.onnx returned a 404 response code.", err.Error())
	})

	t.Run("query tokens are not repeated", func(t *testing.T) {
		d := newDownloadEnv(t)
		_, err := d.resolver().Resolve(context.Background(), o.URL+"/m/missing.onnx?rev=3&token=s3cr3t&access_token=t0k&key=AIza")
		assert.Equal(t, "URI: "+o.URL+"/m/missing.onnx?access_token=xxxxx&key=xxxxx&rev=3&token=xxxxx returned a 404 response code.", err.Error())
		for _, l := range d.logs.take() {
			for _, secret := range []string{"s3cr3t", "t0k", "AIza"} {
				assert.NotContains(t, l, secret)
			}
		}
	})
}

func assertNoModelLeft(t *testing.T, cache string) {
	t.Helper()
	names, err := os.ReadDir(cache)
	if os.IsNotExist(err) {
		return
	}
	require.NoError(t, err)
	assert.Empty(t, names, "a failed download leaves nothing in the cache")
}

func TestHTTP_HostHeaders(t *testing.T) {
	o := newOrigin(t)
	o.put("/m/model.onnx", file{body: []byte("w"), contentType: "application/octet-stream"})
	d := newDownloadEnv(t)
	d.env["127.0.0.1-headers"] = `{"Authorization": "Bearer t0ken", "X-Team": "ml"}`
	_, err := d.resolver().Resolve(context.Background(), o.URL+"/m/model.onnx")
	require.NoError(t, err)
	req := o.lastRequest()
	assert.Equal(t, "Bearer t0ken", req.Header.Get("Authorization"))
	assert.Equal(t, "ml", req.Header.Get("X-Team"))
	for _, l := range d.logs.take() {
		assert.NotContains(t, l, "t0ken")
	}

	d.env["127.0.0.1-headers"] = `["Authorization"]`
	_, err = d.resolver().Resolve(context.Background(), o.URL+"/m/model.onnx")
	assert.EqualError(t, err, "environment variable 127.0.0.1-headers: want a JSON object of header names to string values: json: cannot unmarshal array into Go value of type map[string]string")
}

// Archives that try to write outside the folder they are unpacked into
// fail as a whole (tarfile's "data" filter), and leave nothing behind.
func TestHTTP_HostileArchives(t *testing.T) {
	cases := map[string]struct {
		entries []entry
		want    string
	}{
		"climbs out":         {[]entry{{name: "../evil.sh", body: "x"}}, "../evil.sh: the entry would be written outside the target folder"},
		"absolute":           {[]entry{{name: "/etc/evil", body: "x"}}, "/etc/evil: the entry would be written outside the target folder"},
		"link out":           {[]entry{{name: "l", typ: tar.TypeSymlink, link: "../../outside"}}, "l: symbolic link to ../../outside points outside the target folder"},
		"absolute link":      {[]entry{{name: "l", typ: tar.TypeSymlink, link: "/etc/passwd"}}, "l: symbolic link to the absolute path /etc/passwd"},
		"write through link": {[]entry{{name: "a", typ: tar.TypeSymlink, link: "."}, {name: "a/b", typ: tar.TypeSymlink, link: "../x"}}, "a/b: the entry's folder a is a symbolic link"},
		"hard link out":      {[]entry{{name: "h", typ: tar.TypeLink, link: "../../etc/passwd"}}, "h: hard link to ../../etc/passwd points outside the archive"},
		// Lexically inside, but c is a link to the root: x is its parent.
		"link out through a link": {[]entry{{name: "d/e/c", typ: tar.TypeSymlink, link: "../.."}, {name: "x", typ: tar.TypeSymlink, link: "d/e/c/.."}},
			"x: symbolic link to d/e/c/.. points outside the target folder"},
		"link out through a later link": {[]entry{{name: "x", typ: tar.TypeSymlink, link: "d/c/.."}, {name: "d/c", typ: tar.TypeSymlink, link: ".."}},
			"x: symbolic link to d/c/.. points outside the target folder"},
		"link loop": {[]entry{{name: "a", typ: tar.TypeSymlink, link: "b"}, {name: "b", typ: tar.TypeSymlink, link: "a"}},
			"a: symbolic link to b: too many levels of symbolic links"},
		"hard link to a link": {[]entry{{name: "d/s", typ: tar.TypeSymlink, link: ".."}, {name: "h", typ: tar.TypeLink, link: "d/s"}}, "h: hard link to d/s, which is not a file extracted before it"},
		"device":              {[]entry{{name: "null", typ: tar.TypeChar}}, "null: character device entries are not allowed in a model archive"},
		"fifo":                {[]entry{{name: "p", typ: tar.TypeFifo}}, "p: FIFO entries are not allowed in a model archive"},
		"file over folder":    {[]entry{{name: "d/", typ: tar.TypeDir}, {name: "d/x", body: "1"}, {name: "d", body: "2"}}, "d: an earlier entry made a folder of that name"},
		"folder over link":    {[]entry{{name: "d", typ: tar.TypeSymlink, link: "nowhere"}, {name: "d/", typ: tar.TypeDir}}, "d/: a folder entry where an earlier entry made a symbolic link to something else"},
		"folder over file":    {[]entry{{name: "d", body: "1"}, {name: "d/", typ: tar.TypeDir}}, "d/: a folder entry where an earlier entry made a file"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			o := newOrigin(t)
			o.put("/m/model.tar", file{body: tarball(t, false, c.entries...), contentType: "application/x-tar"})
			d := newDownloadEnv(t)
			_, err := d.resolver().Resolve(context.Background(), o.URL+"/m/model.tar")
			require.Error(t, err)
			prefix := "storage uri " + o.URL + "/m/model.tar: Failed to unpack archive file. The file format is not valid.: "
			require.True(t, strings.HasPrefix(err.Error(), prefix), err.Error())
			detail := strings.TrimPrefix(err.Error(), prefix)
			assert.Equal(t, c.want, detail)
			assertNoModelLeft(t, d.cache)
			_, err = os.Lstat(filepath.Join(filepath.Dir(d.cache), "x"))
			assert.True(t, os.IsNotExist(err), "nothing written beside the cache")
		})
	}
	t.Run("zip climbs out", func(t *testing.T) {
		o := newOrigin(t)
		o.put("/m/model.zip", file{body: zipball(t, entry{name: "../evil", body: "x"}), contentType: "application/zip"})
		d := newDownloadEnv(t)
		_, err := d.resolver().Resolve(context.Background(), o.URL+"/m/model.zip")
		assert.EqualError(t, err, "storage uri "+o.URL+"/m/model.zip: Failed to unpack archive file. The file format is not valid.: ../evil: the entry would be written outside the target folder")
		assertNoModelLeft(t, d.cache)
	})
}

// A later entry of a name replaces the earlier one, a file or a link, as
// with tar and Python's tarfile: an archive updated with tar -r (or a zip
// with -g) holds both versions of a file, and the last is the current one.
// Entries of the same name used to fail with "open
// /cache/.download-123/m: file exists".
func TestHTTP_ArchiveEntriesOfTheSameName(t *testing.T) {
	cases := []struct {
		name string
		f    file
		want []string
	}{
		{"tar", file{body: tarball(t, false, entry{name: "m", body: "old"}, entry{name: "x", body: "x"}, entry{name: "m", body: "new"}), contentType: "application/x-tar"},
			[]string{"m=new", "x=x"}},
		{"zip", file{body: zipball(t, entry{name: "m", body: "old"}, entry{name: "m", body: "new"}), contentType: "application/zip"},
			[]string{"m=new"}},
		{"link then file", file{body: tarball(t, false, entry{name: "t", body: "t"}, entry{name: "m", typ: tar.TypeSymlink, link: "t"}, entry{name: "m", body: "new"}), contentType: "application/x-tar"},
			[]string{"m=new", "t=t"}},
		{"file then link", file{body: tarball(t, false, entry{name: "t", body: "t"}, entry{name: "m", body: "old"}, entry{name: "m", typ: tar.TypeSymlink, link: "t"}), contentType: "application/x-tar"},
			[]string{"m->t", "t=t"}},
		// tarfile keeps a link to a folder for a folder entry of its name.
		{"link then folder", file{body: tarball(t, false, entry{name: "e/", typ: tar.TypeDir}, entry{name: "d", typ: tar.TypeSymlink, link: "e"}, entry{name: "d/", typ: tar.TypeDir}), contentType: "application/x-tar"},
			[]string{"d->e"}},
		{"file then hard link", file{body: tarball(t, false, entry{name: "t", body: "t"}, entry{name: "m", body: "old"}, entry{name: "m", typ: tar.TypeLink, link: "t"}), contentType: "application/x-tar"},
			[]string{"m=t", "t=t"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := newOrigin(t)
			p := "/m/model.tar"
			if c.name == "zip" {
				p = "/m/model.zip"
			}
			o.put(p, c.f)
			d := newDownloadEnv(t)
			dir, err := d.resolver().Resolve(context.Background(), o.URL+p)
			require.NoError(t, err)
			assert.Equal(t, c.want, tree(t, dir))
			if c.name == "link then file" {
				b, err := os.ReadFile(filepath.Join(dir, "t"))
				require.NoError(t, err)
				assert.Equal(t, "t", string(b), "the file replaced the link, not written through it")
			}
		})
	}
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// A source that stops sending is abandoned after StallTimeout, with no
// partial model left; one that keeps sending slowly is not.
func TestHTTP_Stall(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", "100")
		_, _ = w.Write([]byte("first half"))
		w.(http.Flusher).Flush()
		if r.URL.Path == "/slow.onnx" {
			for range 6 {
				time.Sleep(60 * time.Millisecond)
				_, _ = w.Write(bytes.Repeat([]byte("x"), 15))
				w.(http.Flusher).Flush()
			}
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	d := newDownloadEnv(t)
	r := d.resolver()
	r.StallTimeout = 200 * time.Millisecond
	_, err := r.Resolve(context.Background(), srv.URL+"/stuck.onnx")
	assert.EqualError(t, err, "downloading "+srv.URL+"/stuck.onnx: no data received for 200ms")
	assertNoModelLeft(t, d.cache)

	d.logs.take()
	r.progressInterval = 100 * time.Millisecond
	dir, err := r.Resolve(context.Background(), srv.URL+"/slow.onnx")
	require.NoError(t, err)
	assert.Equal(t, []string{"slow.onnx=first half" + strings.Repeat("x", 90)}, tree(t, dir))
	// A long download says how far it has come.
	var progress []string
	for _, l := range d.logs.take() {
		if strings.HasPrefix(l, "INFO Downloaded ") {
			progress = append(progress, l)
		}
	}
	require.NotEmpty(t, progress)
	assert.Regexp(t, `^INFO Downloaded \d+ B of 100 B \(\d+%\) from `+regexpQuote(srv.URL)+`/slow.onnx$`, progress[0])
}

// A shutdown (SIGTERM) during a download ends it at once with the
// context's error, so the server stops instead of finishing the download.
func TestHTTP_Cancelled(t *testing.T) {
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	d := newDownloadEnv(t)
	_, err := d.resolver().Resolve(ctx, srv.URL+"/model.onnx")
	assert.ErrorIs(t, err, context.Canceled)
	assert.EqualError(t, err, "downloading "+srv.URL+"/model.onnx: context canceled")
	assertNoModelLeft(t, d.cache)
}

// Worker processes starting together resolve the same URI at once: each
// gets the complete model.
func TestHTTP_ConcurrentResolves(t *testing.T) {
	o := newOrigin(t)
	body := tarball(t, true, entry{name: "model.onnx", body: strings.Repeat("w", 1<<20)})
	o.put("/m/model.tgz", file{body: body, contentType: "application/gzip", etag: `"1"`})
	d := newDownloadEnv(t)
	var wg sync.WaitGroup
	dirs := make([]string, 6)
	errs := make([]error, 6)
	for i := range dirs {
		wg.Go(func() { dirs[i], errs[i] = d.resolver().Resolve(context.Background(), o.URL+"/m/model.tgz") })
	}
	wg.Wait()
	for i := range dirs {
		require.NoError(t, errs[i], i)
		assert.Equal(t, dirs[0], dirs[i])
	}
	assert.Equal(t, []string{"model.onnx=" + strings.Repeat("w", 1<<20)}, tree(t, dirs[0]))
	entry := filepath.Dir(dirs[0])
	assert.Equal(t, []string{".lock", filepath.Base(entry), filepath.Base(entry) + ".json", filepath.Base(entry) + ".lock"}, cacheNames(t, d.cache))
	assert.Equal(t, []string{filepath.Base(dirs[0]), filepath.Base(dirs[0]) + ".lock"}, cacheNames(t, entry), "one copy")
}

// cacheNames lists the names in the cache folder.
func cacheNames(t *testing.T, cache string) []string {
	t.Helper()
	entries, err := os.ReadDir(cache)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// On a pod, the storage-initializer has already downloaded the model into
// /mnt/models: it is used, and nothing is fetched.
func TestHTTP_StorageInitializerWins(t *testing.T) {
	o := newOrigin(t)
	o.put("/m/model.onnx", file{body: []byte("w"), contentType: "application/octet-stream"})
	d := newDownloadEnv(t)
	mkfile(t, filepath.Join(d.pod.models, "model.onnx"))
	dir, err := d.resolver().Resolve(context.Background(), o.URL+"/m/model.onnx")
	require.NoError(t, err)
	assert.Equal(t, d.pod.models, dir)
	assert.Zero(t, o.downloads.Load())
}

func TestGuessType(t *testing.T) {
	for name, want := range map[string][2]string{
		"model.onnx": {"", ""}, "model.tar": {tarType, ""}, "model.tar.gz": {tarType, "gzip"}, "m.TGZ": {tarType, "gzip"},
		"m.tar.bz2": {tarType, "bzip2"}, "m.tbz2": {tarType, "bzip2"}, "m.txz": {tarType, "xz"}, "m.zip": {zipType, ""},
		"model.onnx.gz": {"", "gzip"}, "file=model.tar.gz": {tarType, "gzip"},
	} {
		typ, enc := guessType(name)
		assert.Equal(t, want, [2]string{typ, enc}, name)
	}
}

// A presigned URL changes with every signing; the same object must find
// the copy the last signing downloaded (and revalidate it), while another
// version of it is another download. No signature is kept on disk.
func TestHTTP_PresignedURLsShareTheCache(t *testing.T) {
	var full atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		etag := `"` + r.URL.Query().Get("versionId") + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full.Add(1)
		w.Header().Set("Content-Type", "binary/octet-stream") // S3's default
		_, _ = w.Write([]byte("weights " + r.URL.Query().Get("versionId")))
	}))
	defer srv.Close()
	d := newDownloadEnv(t)
	signed := func(sig, version string) string {
		return srv.URL + "/bucket/model.onnx?versionId=" + version + "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261201&X-Amz-Date=20261201T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=" + sig
	}
	ctx := context.Background()
	first, err := d.resolver().Resolve(ctx, signed("aaaa", "1"))
	require.NoError(t, err)
	second, err := d.resolver().Resolve(ctx, signed("bbbb", "1"))
	require.NoError(t, err)
	assert.Equal(t, first, second)
	assert.EqualValues(t, 1, full.Load(), "revalidated, not downloaded again")
	other, err := d.resolver().Resolve(ctx, signed("cccc", "2"))
	require.NoError(t, err)
	assert.NotEqual(t, first, other)
	assert.Equal(t, []string{"model.onnx=weights 2"}, tree(t, other))

	for _, l := range d.logs.take() {
		for _, secret := range []string{"aaaa", "bbbb", "cccc", "AKIA"} {
			assert.NotContains(t, l, secret)
		}
	}
	assert.Equal(t, srv.URL+"/bucket/model.onnx?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=xxxxx&X-Amz-Date=20261201T000000Z&X-Amz-Expires=300&X-Amz-Signature=xxxxx&X-Amz-SignedHeaders=host&versionId=1",
		shownURI(mustParse(t, signed("aaaa", "1"))))

	meta, err := os.ReadFile(filepath.Dir(first) + ".json")
	require.NoError(t, err)
	assert.Contains(t, string(meta), `"uri": "`+srv.URL+`/bucket/model.onnx?versionId=1"`)
	for _, secret := range []string{"aaaa", "bbbb", "AKIA", "X-Amz"} {
		assert.NotContains(t, string(meta), secret)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// A redirect to another host (a presigned storage URL) carries neither the
// <host>-headers Authorization along, as Python's requests does, nor the
// other headers configured for that host (an API key); the same host keeps
// them.
func TestHTTP_AuthorizationStaysWithItsHost(t *testing.T) {
	var got []string
	var mu sync.Mutex
	record := func(r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Path+" "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Api-Key")+" "+r.Header.Get("X-Team"))
		mu.Unlock()
	}
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte("w"))
	}))
	defer storage.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		switch r.URL.Path {
		case "/a/model.onnx":
			http.Redirect(w, r, "/b/model.onnx", http.StatusFound) // same host
		case "/b/model.onnx":
			http.Redirect(w, r, storage.URL+"/blob/model.onnx?X-Amz-Signature=s", http.StatusFound)
		}
	}))
	defer front.Close()
	d := newDownloadEnv(t)
	d.env["127.0.0.1-headers"] = `{"Authorization": "Bearer t0ken", "X-Api-Key": "k3y", "X-Team": "ml"}`
	_, err := d.resolver().Resolve(context.Background(), front.URL+"/a/model.onnx")
	require.NoError(t, err)
	assert.Equal(t, []string{"/a/model.onnx Bearer t0ken k3y ml", "/b/model.onnx Bearer t0ken k3y ml", "/blob/model.onnx   "}, got)
}

// A redirect from https to plain http on the same host and port does not
// send the credentials on in clear text (requests drops Authorization
// then; net/http, which compares hosts only, kept it); the upgrade from
// http to https keeps them.
func TestHTTP_CredentialsNotSentOverADowngrade(t *testing.T) {
	var got []string
	var mu sync.Mutex
	srv := newTLSAndPlainServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		mu.Lock()
		got = append(got, scheme+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Api-Key"))
		mu.Unlock()
		switch r.URL.Path {
		case "/up/model.onnx":
			http.Redirect(w, r, "https://"+r.Host+"/secure/model.onnx", http.StatusFound)
		case "/down/model.onnx":
			http.Redirect(w, r, "http://"+r.Host+"/plain/model.onnx", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write([]byte("w"))
		}
	}))
	d := newDownloadEnv(t)
	d.env["127.0.0.1-headers"] = `{"Authorization": "Bearer t0ken", "X-Api-Key": "k3y"}`
	r := d.resolver()
	r.Client = srv.client
	_, err := r.Resolve(context.Background(), "https://"+srv.addr+"/down/model.onnx")
	require.NoError(t, err)
	_, err = r.Resolve(context.Background(), "http://"+srv.addr+"/up/model.onnx")
	require.NoError(t, err)
	assert.Equal(t, []string{
		"https /down/model.onnx Bearer t0ken k3y",
		"http /plain/model.onnx  ",
		"http /up/model.onnx Bearer t0ken k3y",
		"https /secure/model.onnx Bearer t0ken k3y",
	}, got)
}

// tlsAndPlain is a server answering TLS and plain HTTP on one port, as a
// host does on its default ports: a redirect between them stays on the
// same host.
type tlsAndPlain struct {
	addr   string
	client *http.Client // trusts the server's certificate
}

func newTLSAndPlainServer(t *testing.T, h http.Handler) tlsAndPlain {
	t.Helper()
	ts := httptest.NewTLSServer(h) // for its certificate and a client that trusts it
	t.Cleanup(ts.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(&sniffListener{Listener: ln, tls: ts.TLS}) }()
	t.Cleanup(func() { _ = srv.Close() })
	c := ts.Client()
	c.Transport.(*http.Transport).DisableCompression = true
	return tlsAndPlain{addr: ln.Addr().String(), client: c}
}

// sniffListener hands out a TLS connection when the client's first byte
// is a TLS handshake record, else the plain one.
type sniffListener struct {
	net.Listener
	tls *tls.Config
}

func (l *sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	pc := &peekedConn{Conn: c, r: br}
	if err == nil && first[0] == 0x16 {
		return tls.Server(pc, l.tls), nil
	}
	return pc, nil
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// A download killed outright (SIGKILL) leaves its scratch folder; the next
// download removes those older than a day, and leaves younger ones, which
// may belong to a download still running in another process.
func TestHTTP_DeadDownloadsSwept(t *testing.T) {
	o := newOrigin(t)
	o.put("/m/model.onnx", file{body: []byte("w"), contentType: "application/octet-stream"})
	d := newDownloadEnv(t)
	dead := filepath.Join(d.cache, ".download-123")
	running := filepath.Join(d.cache, ".download-456")
	replaced := filepath.Join(d.cache, "model.onnx-abc.old-.download-789")
	for _, p := range []string{dead, running, replaced} {
		mkfile(t, filepath.Join(p, "partial"))
	}
	old := time.Now().Add(-25 * time.Hour)
	require.NoError(t, os.Chtimes(dead, old, old))
	require.NoError(t, os.Chtimes(replaced, old, old))
	_, err := d.resolver().Resolve(context.Background(), o.URL+"/m/model.onnx")
	require.NoError(t, err)
	assert.NoDirExists(t, dead)
	assert.NoDirExists(t, replaced)
	assert.DirExists(t, running)
}

// Without a user cache folder (no HOME, no XDG_CACHE_HOME) downloads go to
// a private per-user folder in the temporary folder; one that is not
// private is refused, as another user could plant a model there.
func TestHTTP_TemporaryCacheIsPrivate(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	dir, err := Resolver{}.cacheDir()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(tmp, fmt.Sprintf("kserve-gen-storage-%d", os.Getuid())), dir)
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())

	require.NoError(t, os.Chmod(dir, 0o777))
	_, err = Resolver{}.cacheDir()
	assert.EqualError(t, err, dir+" is not a folder of this user that only it may write to; remove it or set XDG_CACHE_HOME")
}

// A URI that does not parse is named in the error without its password or
// its query (a presigned URL's signature), which shownURI would have hidden
// in one that parses; net/url's own error repeats the whole URI.
func TestHTTP_UnparsableURIKeepsItsSecrets(t *testing.T) {
	d := newDownloadEnv(t)
	_, err := d.resolver().Resolve(context.Background(), "https://user:s3cret@127.0.0.1/m/%zz.onnx?X-Amz-Signature=S1G#frag")
	require.Error(t, err)
	assert.Equal(t, `invalid storage uri https://xxxxx@127.0.0.1/m/%zz.onnx?xxxxx: invalid URL escape "%zz": want http(s)://host/path/file`, err.Error())
	assert.ErrorIs(t, err, ErrInvalidURI)
}

// A token, key or password in the URI is a credential: the cache keeps no
// copy of it on disk (a record naming it would hand it to whatever reads
// the cache folder later), only a digest of it in the download's identity:
// such a parameter may also select what is served (?key=models/a.onnx), so
// another value is another source, never the copy another one downloaded.
func TestHTTP_CacheKeepsNoCredentials(t *testing.T) {
	digest := func(v string) string {
		sum := sha256.Sum256([]byte(v))
		return hex.EncodeToString(sum[:8])
	}
	var full atomic.Int32
	var mu sync.Mutex
	var tokens []string
	const etag = `"v1"`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tokens = append(tokens, r.URL.Query().Get("token")+" "+r.URL.Query().Get("api_key"))
		mu.Unlock()
		if r.URL.Query().Get("token") == "revoked" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full.Add(1)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte("weights"))
	}))
	defer srv.Close()
	d := newDownloadEnv(t)
	withToken := func(token string) string {
		return strings.Replace(srv.URL, "http://", "http://alice:pa55w0rd@", 1) + "/models/model.onnx?version=1&token=" + token + "&api_key=k3yk3y"
	}
	ctx := context.Background()
	first, err := d.resolver().Resolve(ctx, withToken("s3cr3t"))
	require.NoError(t, err)
	again, err := d.resolver().Resolve(ctx, withToken("s3cr3t"))
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.EqualValues(t, 1, full.Load(), "the second start is a cache hit")
	rotated, err := d.resolver().Resolve(ctx, withToken("r0tated"))
	require.NoError(t, err)
	assert.NotEqual(t, first, rotated)
	assert.EqualValues(t, 2, full.Load(), "another token is another source")
	_, err = d.resolver().Resolve(ctx, withToken("revoked"))
	require.Error(t, err)
	assert.Equal(t, []string{"s3cr3t k3yk3y", "s3cr3t k3yk3y", "r0tated k3yk3y", "revoked k3yk3y"}, tokens)
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, first))

	meta, err := os.ReadFile(filepath.Dir(first) + ".json")
	require.NoError(t, err)
	assert.Contains(t, string(meta), `"uri": "`+srv.URL+`/models/model.onnx?api_key=sha256-`+digest("k3yk3y")+`\u0026token=sha256-`+digest("s3cr3t")+`\u0026version=1"`)
	require.NoError(t, filepath.Walk(d.cache, func(p string, info os.FileInfo, err error) error {
		require.NoError(t, err)
		for _, secret := range []string{"s3cr3t", "r0tated", "revoked", "k3yk3y", "pa55w0rd", "alice"} {
			assert.NotContains(t, p, secret)
			if info.Mode().IsRegular() {
				b, err := os.ReadFile(p)
				require.NoError(t, err)
				assert.NotContains(t, string(b), secret, p)
			}
		}
		return nil
	}))
}

// A record written by an older version, which kept the token in its URI, is
// removed with its download, and the model downloaded again under a record
// without it.
func TestHTTP_OldRecordWithTokenIsRemoved(t *testing.T) {
	var full atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		full.Add(1)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte("weights"))
	}))
	defer srv.Close()
	d := newDownloadEnv(t)
	uri := srv.URL + "/models/model.onnx?token=s3cr3t"
	// The older version's record: keyed and named by the URI with its token.
	old := filepath.Join(d.cache, cacheKey(uri, "model.onnx"))
	require.NoError(t, os.MkdirAll(old, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(old, "model.onnx"), []byte("old weights"), 0o644))
	require.NoError(t, writeMeta(old+".json", cacheMeta{URI: uri, ETag: `"v0"`}))

	dir, err := d.resolver().Resolve(context.Background(), uri)
	require.NoError(t, err)
	assert.NotEqual(t, old, dir)
	assert.EqualValues(t, 1, full.Load())
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
	assert.NoFileExists(t, old+".json")
	assert.NoDirExists(t, old)
	entries, err := os.ReadDir(d.cache)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if !e.IsDir() {
			b, err := os.ReadFile(filepath.Join(d.cache, e.Name()))
			require.NoError(t, err)
			assert.NotContains(t, string(b), "s3cr3t", e.Name())
		}
	}
	entry := filepath.Base(filepath.Dir(dir))
	assert.Equal(t, []string{".lock", entry, entry + ".json", entry + ".lock"}, names)
}
