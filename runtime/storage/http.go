package storage

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/internal/bytesize"
)

// ErrDownload is returned (wrapped) when an http(s):// model cannot be
// downloaded or unpacked.
var ErrDownload = errors.New("model download failed")

// DefaultStallTimeout is how long a download may go without receiving a
// byte (response headers included) before it is abandoned. There is no limit
// on the whole download: models are large and links slow.
const DefaultStallTimeout = 30 * time.Second

// Archive types, named as Python's mimetypes names them (KServe decides on
// them).
const (
	tarType = "application/x-tar"
	zipType = "application/zip"
)

// KServe's accepted Content-Types per kind of file.
var (
	zipContentTypes = []string{"application/x-zip-compressed", "application/zip", "application/zip-compressed"}
	tarContentTypes = []string{"application/x-tar", "application/x-gtar", "application/x-gzip", "application/gzip"}
	// binary/octet-stream is S3's default for objects uploaded without a
	// type; KServe accepts only application/octet-stream.
	fileContentTypes = []string{"application/octet-stream", "binary/octet-stream"}
)

// Azure storage URLs are https:// too, but name a container (or a file
// share) and a prefix that KServe lists and downloads with the Azure SDK;
// a plain GET of them is not what the user meant. Compiled on first use:
// compiled at start they would stay in every server's live heap (≈14 KB the
// collector scans on the request path) for a download most never make.
var (
	azureBlobURL = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^https://(.+?)\.blob\.core\.windows\.net/|^https://(.+?)\.z[0-9]{1,2}\.blob\.storage\.azure\.net/`)
	})
	azureFileURL = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^https://(.+?)\.file\.core\.windows\.net/|^https://(.+?)\.z[0-9]{1,2}\.file\.storage\.azure\.net/`)
	})
)

// cacheMeta is what is kept beside a downloaded model to revalidate it.
type cacheMeta struct {
	URI          string    `json:"uri"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Downloaded   time.Time `json:"downloaded"`
	// LastUsed is when a start last served, revalidated or downloaded it
	// (to within usedInterval); trimming removes what went unused too long.
	// Records of older versions have none (see lastUsed).
	LastUsed time.Time `json:"last_used,omitzero"`
	// Version names the folder of the current version (<entry>/<version>);
	// records of the previous layout, whose folder was the model, have none.
	Version string `json:"version,omitempty"`
	// Files maps each file of a snapshot to its content's version (a blob
	// id, a generation, an ETag), so a new version of the snapshot reuses
	// the files that did not change.
	Files map[string]string `json:"files,omitempty"`
}

// fetchHTTP downloads an http(s):// model the way KServe's storage package
// does (one GET; the file's extension decides what Content-Type is
// accepted; a .gz file is gunzipped; a .tar, .tar.gz, .tgz or .zip is
// unpacked) into a folder of the cache, and returns that folder.
//
// Unlike KServe, which downloads into a new temporary folder on every start,
// the folder is kept and revalidated with a conditional GET (ETag,
// Last-Modified): a restart whose source has not changed downloads nothing,
// and one that cannot reach the source serves the cached copy with a
// warning. A download is written to a scratch folder and moved into place
// only when complete, so a failed or interrupted one never leaves a partial
// model to be served.
func (r Resolver) fetchHTTP(ctx context.Context, uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", newError(ErrInvalidURI, "invalid storage uri %s: %v: want http(s)://host/path/file", shownRaw(uri), unwrapURLError(err))
	}
	if u.Host == "" {
		return "", newError(ErrInvalidURI, "invalid storage uri %s: want http(s)://host/path/file", shownURI(u))
	}
	shown := shownURI(u)
	filename := path.Base(u.Path)
	typ, enc := guessType(u.Path)
	// ".." (a path ending in /%2e%2e, or ...gz gunzipped) would be the
	// download folder's parent: no file name either.
	if u.Path == "" || strings.HasSuffix(u.Path, "/") || !isFileName(filename) || enc != "" && !isFileName(strings.TrimSuffix(filename, path.Ext(filename))) {
		return "", newError(ErrInvalidURI, "No filename contained in URI: %s", shown)
	}
	if typ == "" && enc == "" && u.RawQuery != "" {
		// KServe's rule for links such as .../download?file=model.tar.gz.
		typ, enc = guessType(u.RawQuery)
	}
	headers, err := r.hostHeaders(u.Hostname())
	if err != nil {
		return "", err
	}

	cache, err := r.cacheDir()
	if err != nil {
		return "", newError(ErrDownload, "storage uri %s: no folder to download into: %v", shown, err)
	}
	source := cacheSource(u)
	log := r.logger()
	if legacy := legacyCacheSource(u); legacy != source {
		if err := removeLegacyRecord(filepath.Join(cache, cacheKey(legacy, filename)), legacy); err != nil {
			log.Warn(fmt.Sprintf("Cannot remove the old cache record of %s, which names its token: %v", shown, err))
		}
	}
	e := r.openEntry(cache, source, filename)
	meta, cached := e.meta, e.cached

	start := time.Now()
	if !cached {
		log.Info("Copying contents of " + shown + " to local")
	}
	header := http.Header{}
	var hostOnly []string
	for k, v := range headers {
		header.Set(k, v)
		hostOnly = append(hostOnly, k)
	}
	if cached {
		if meta.ETag != "" {
			header.Set("If-None-Match", meta.ETag)
		}
		if meta.LastModified != "" {
			header.Set("If-Modified-Since", meta.LastModified)
		}
	}
	t, err := r.get(ctx, uri, header, hostOnly...)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("downloading %s: %w", shown, ctx.Err())
		}
		if cached {
			dir := r.serveCached(shown, e)
			log.Warn(fmt.Sprintf("Cannot revalidate %s (%v); serving the copy downloaded %s from %s",
				shown, err, meta.Downloaded.Format(time.RFC3339), dir))
			return dir, nil
		}
		return "", newError(ErrDownload, "downloading %s: %v", shown, err)
	}
	defer t.close()
	resp := t.resp
	if cached && resp.StatusCode == http.StatusNotModified {
		dir := r.serveCached(shown, e)
		log.Info(fmt.Sprintf("%s is not modified since its download on %s; using %s",
			shown, meta.Downloaded.Format(time.RFC3339), dir))
		return dir, nil
	}
	if resp.StatusCode != http.StatusOK {
		return "", newError(ErrDownload, "URI: %s returned a %d response code.", shown, resp.StatusCode)
	}
	if err := checkContentType(shown, typ, resp.Header.Get("Content-Type")); err != nil {
		return "", err
	}
	if cached {
		log.Info(shown + " has changed since its download on " + meta.Downloaded.Format(time.RFC3339) + "; downloading it again")
	}

	scratch, doneScratch, err := newScratch(cache)
	if err != nil {
		return "", newError(ErrDownload, "storage uri %s: %v", shown, err)
	}
	defer doneScratch() // gone once moved into place; the leftovers of a failure otherwise
	if err := checkDownloadRoom(shown, cache, resp.ContentLength); err != nil {
		return "", err
	}

	stopProgress := r.reportProgress(shown, t.body, resp.ContentLength)
	defer stopProgress()
	raw := &errReader{r: t.body}
	body := io.Reader(raw)
	local := filepath.Join(scratch, filename)
	var gunzipped *errReader
	if enc == "gzip" {
		// Gunzipped as it arrives. What fails while the transfer itself
		// is fine is the file's own fault: a corrupt or truncated archive.
		gz, err := gzip.NewReader(body)
		if err != nil {
			if raw.err == nil {
				return "", t.formatError(ctx, shown, gzipError(err))
			}
			return "", t.readError(ctx, shown, err)
		}
		gunzipped = &errReader{r: gz}
		room, err := roomIn(scratch)
		if err != nil {
			return "", newError(ErrDownload, "storage uri %s: %v", shown, err)
		}
		body = &roomReader{r: gunzipped, room: room, what: filename}
		local = filepath.Join(scratch, strings.TrimSuffix(filename, path.Ext(filename)))
		if typ == tarType {
			local = filepath.Join(scratch, filename+".tar")
		}
	}
	n, err := writeFile(local, body)
	stopProgress()
	if err != nil {
		var room *spaceError
		if errors.As(err, &room) {
			return "", newError(ErrDownload, "storage uri %s: %v", shown, err)
		}
		if gunzipped != nil && gunzipped.err != nil && raw.err == nil {
			return "", t.formatError(ctx, shown, gzipError(gunzipped.err))
		}
		return "", t.readError(ctx, shown, err)
	}
	if typ == tarType || typ == zipType {
		if err := r.unpackDownload(shown, local, typ, scratch); err != nil {
			return "", err
		}
	}

	newMeta := cacheMeta{URI: source, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Downloaded: time.Now().UTC()}
	dir, err := r.commit(shown, scratch, e, newMeta)
	if err != nil {
		return "", newError(ErrDownload, "storage uri %s: moving the download into %s: %v", shown, e.dir, err)
	}
	log.Info(fmt.Sprintf("Successfully copied %s to %s", shown, dir))
	log.Info(fmt.Sprintf("Model downloaded in %s (%d bytes).", time.Since(start).Round(time.Millisecond), n))
	return dir, nil
}

// transfer is one GET whose stall watchdog stays armed, from sending the
// request to closing the body, and pushed back by every read that returns
// data.
type transfer struct {
	resp     *http.Response
	body     *watchedReader
	ctx      context.Context // the request's; its cause says why a read failed
	cancel   context.CancelCauseFunc
	watchdog *time.Timer
}

// get sends a GET for rawURL with header; the headers named in hostOnly
// are not sent on along a redirect elsewhere (see noAuthElsewhere).
func (r Resolver) get(ctx context.Context, rawURL string, header http.Header, hostOnly ...string) (*transfer, error) {
	return r.do(ctx, http.MethodGet, rawURL, header, "", hostOnly...)
}

// post sends a form.
func (r Resolver) post(ctx context.Context, rawURL string, form url.Values) (*transfer, error) {
	return r.do(ctx, http.MethodPost, rawURL, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form.Encode())
}

// do sends a request with header and body (none when ""). Its error is the
// stall, or the transport's (without net/url's `Get "<url>": ` prefix,
// which would repeat the URL and any credentials in it); the caller checks
// ctx for a cancellation. hostOnly is get's.
func (r Resolver) do(ctx context.Context, method, rawURL string, header http.Header, body string, hostOnly ...string) (*transfer, error) {
	stall := r.StallTimeout
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	reqCtx, cancel := context.WithCancelCause(ctx)
	errStalled := fmt.Errorf("no data received for %s", stall)
	watchdog := time.AfterFunc(stall, func() { cancel(errStalled) })
	var rb io.Reader
	if body != "" {
		rb = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(reqCtx, method, rawURL, rb)
	if err == nil {
		if header != nil {
			req.Header = header.Clone()
		}
		var resp *http.Response
		if resp, err = noAuthElsewhere(r.client(), hostOnly...).Do(req); err == nil {
			return &transfer{resp: resp, body: &watchedReader{r: resp.Body, watchdog: watchdog, stall: stall},
				ctx: reqCtx, cancel: cancel, watchdog: watchdog}, nil
		}
	}
	watchdog.Stop()
	if cause := context.Cause(reqCtx); cause != nil && ctx.Err() == nil {
		err = cause
	}
	cancel(nil)
	return nil, unwrapURLError(err)
}

// noAuthElsewhere returns c changed to drop the Authorization header, and
// the headers named in hostOnly (a <host>-headers variable's), when a
// redirect leaves the original origin (leavesOrigin). Python's requests
// drops Authorization so: the Hub redirects large files to presigned
// storage URLs, which must not receive the token, and may refuse a request
// carrying two kinds of credentials. net/http keeps the header for a
// subdomain (huggingface.co -> cdn-lfs.huggingface.co), and for a
// redirect from https to plain http on the same host, which would send the
// credential in clear text. requests keeps every other header on a
// redirect anywhere; but <host>-headers are configured for one host, and
// are as often credentials (an API key) as Authorization is.
func noAuthElsewhere(c *http.Client, hostOnly ...string) *http.Client {
	cc := *c
	next := c.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if leavesOrigin(via[0].URL, req.URL) {
			req.Header.Del("Authorization")
			for _, h := range hostOnly {
				req.Header.Del(h)
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cc
}

// leavesOrigin reports whether a redirect from from to to goes where the
// credentials for from must not follow: another host or port, or another
// scheme other than the upgrade from http to https (requests'
// should_strip_auth, which keeps them for that upgrade only).
func leavesOrigin(from, to *url.URL) bool {
	if !strings.EqualFold(from.Host, to.Host) {
		return true
	}
	return !strings.EqualFold(from.Scheme, to.Scheme) && !(strings.EqualFold(from.Scheme, "http") && strings.EqualFold(to.Scheme, "https"))
}

func (t *transfer) close() {
	t.watchdog.Stop()
	t.resp.Body.Close()
	t.cancel(nil)
}

// readError names why reading the body failed: the caller's cancellation,
// a stall, or the transfer itself.
func (t *transfer) readError(ctx context.Context, shown string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("downloading %s: %w", shown, ctx.Err())
	}
	if cause := context.Cause(t.ctx); cause != nil {
		err = cause
	}
	return newError(ErrDownload, "downloading %s: %v%s", shown, err, noSpaceHint(err))
}

// formatError is KServe's error for a download that arrived but is not a
// valid archive (err says what is wrong), unless the caller cancelled or
// the transfer stalled meanwhile.
func (t *transfer) formatError(ctx context.Context, shown string, err error) error {
	if ctx.Err() != nil || context.Cause(t.ctx) != nil {
		return t.readError(ctx, shown, err)
	}
	return newError(ErrDownload, "storage uri %s: Failed to unpack archive file. The file format is not valid.: %v", shown, err)
}

// gzipError names the gzip layer in errors that do not already (a stream
// cut short is a bare "unexpected EOF").
func gzipError(err error) error {
	if msg := err.Error(); strings.HasPrefix(msg, "gzip: ") || strings.HasPrefix(msg, "flate: ") {
		return err
	}
	return fmt.Errorf("gzip: %w", err)
}

// errReader remembers the first error other than io.EOF its reader
// returned, so a failure can be traced to the layer that caused it.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// unwrapURLError drops net/url's `Get "<uri>": ` prefix, which would repeat
// the URI (and any credentials in it).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// checkContentType applies KServe's rule: an archive must come with an
// archive type, anything else with application/octet-stream, so an HTML
// error or login page answered with 200 is not taken for the model.
func checkContentType(shown, typ, got string) error {
	want := fileContentTypes
	switch typ {
	case zipType:
		want = zipContentTypes
	case tarType:
		want = tarContentTypes
	}
	for _, w := range want {
		if strings.HasPrefix(got, w) {
			return nil
		}
	}
	if typ == zipType || typ == tarType {
		return newError(ErrDownload, "URI: %s did not respond with any of following 'Content-Type': %s (got %q)", shown, strings.Join(want, ", "), got)
	}
	return newError(ErrDownload, "URI: %s did not respond with 'Content-Type': 'application/octet-stream' (got %q)", shown, got)
}

// hostHeaders reads the extra request headers for host from the
// environment variable <host>-headers, a JSON object, as KServe does.
func (r Resolver) hostHeaders(host string) (map[string]string, error) {
	name := host + "-headers"
	raw := r.getenv(name)
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var h map[string]string
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		return nil, newError(ErrInvalidURI, "environment variable %s: want a JSON object of header names to string values: %v", name, err)
	}
	return h, nil
}

func (r Resolver) getenv(name string) string {
	if r.Getenv != nil {
		return r.Getenv(name)
	}
	return os.Getenv(name)
}

func (r Resolver) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (r Resolver) client() *http.Client {
	if r.Client != nil {
		return r.Client
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	// The bytes as stored: a .tar.gz served with Content-Encoding: gzip must
	// not be gunzipped behind our back (requests' response.raw in KServe).
	t.DisableCompression = true
	return &http.Client{Transport: t}
}

// cacheDir is CacheDir, else the user's cache folder, else the temporary
// folder (a container whose HOME is not writable).
func (r Resolver) cacheDir() (string, error) {
	if r.CacheDir != "" {
		return r.CacheDir, nil
	}
	var tried []string
	if base, err := os.UserCacheDir(); err == nil {
		d := filepath.Join(base, "kserve-gen", "storage")
		if err := os.MkdirAll(d, 0o755); err == nil {
			return d, nil
		} else {
			tried = append(tried, err.Error())
		}
	}
	// The temporary folder is shared with every user of the machine: the
	// cache there is per user, private, and must be ours, or another user
	// could plant a model (and the record that revalidates it) for us.
	d := filepath.Join(os.TempDir(), "kserve-gen-storage-"+userTag())
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("%s", strings.Join(append(tried, err.Error()), "; "))
	}
	if err := ownedPrivateDir(d); err != nil {
		return "", fmt.Errorf("%s", strings.Join(append(tried, err.Error()), "; "))
	}
	return d, nil
}

// signatureParams are query parameters of presigned URLs (S3, GCS,
// CloudFront, Azure SAS) that change with every signing of the same object.
var signatureParams = map[string]bool{
	"signature": true, "expires": true, "awsaccesskeyid": true, "googleaccessid": true,
	"key-pair-id": true, "policy": true, "sig": true, "se": true, "st": true, "sp": true,
	"sv": true, "sr": true, "spr": true, "skoid": true, "sktid": true, "skt": true,
	"ske": true, "sks": true, "skv": true, "ss": true, "srt": true,
}

func isSignatureParam(k string) bool {
	lk := strings.ToLower(k)
	return signatureParams[lk] || strings.HasPrefix(lk, "x-amz-") || strings.HasPrefix(lk, "x-goog-")
}

// secretParams are the query parameters of presigned URLs that are, or
// lead to, credentials, and the names servers commonly give a bearer
// token or key in the query (a model server behind a gateway: ?token=,
// ?access_token=, Google's ?key=). They are hidden in logs and errors
// only: the download sends them as given.
var secretParams = map[string]bool{
	"signature": true, "sig": true, "x-amz-signature": true, "x-amz-security-token": true,
	"x-amz-credential": true, "x-goog-signature": true, "x-goog-credential": true,
	"awsaccesskeyid": true, "googleaccessid": true,
	"token": true, "access_token": true, "id_token": true, "auth": true, "key": true,
	"api_key": true, "apikey": true, "api-key": true, "password": true, "secret": true,
	"client_secret": true,
}

// shownURI is the URI for logs and errors: a password and the signature of
// a presigned URL are bearer credentials, shown as xxxxx.
func shownURI(u *url.URL) string {
	c := *u
	q := c.Query()
	changed := false
	for k, vs := range q {
		if secretParams[strings.ToLower(k)] {
			for i := range vs {
				vs[i] = "xxxxx"
			}
			changed = true
		}
	}
	if changed {
		c.RawQuery = q.Encode()
	}
	return c.Redacted()
}

// isFileName reports whether name, one path element, names a file in a
// folder: not empty, "/", "." or "..".
func isFileName(name string) bool {
	return name != "" && name != "/" && name != "." && name != ".."
}

// shownRaw is, for errors, a URI that does not parse, so shownURI cannot
// say which of its parts are secret: its userinfo and its query (a
// presigned URL's signature) are shown as xxxxx.
func shownRaw(raw string) string {
	s, _, _ := strings.Cut(raw, "#")
	s, _, query := strings.Cut(s, "?")
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		authority, p, hasPath := strings.Cut(rest, "/")
		if i := strings.LastIndexByte(authority, '@'); i >= 0 {
			authority = "xxxxx" + authority[i:]
		}
		s = scheme + "://" + authority
		if hasPath {
			s += "/" + p
		}
	}
	if query {
		s += "?xxxxx"
	}
	return s
}

// shownURL is rawURL as shownURI shows it, or as shownRaw when it does
// not parse.
func shownURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return shownRaw(rawURL)
	}
	return shownURI(u)
}

// cacheSource is what a download is cached under, and what its record on
// disk names: the URI without its userinfo and without the query parameters
// that sign it, so a new presigned URL of the same object finds (and
// revalidates) the copy the last one downloaded. A parameter that carries a
// token or key (secretParams) stays part of the identity, since some of them
// also select what is served (?key=models/a.onnx), but only as a digest of
// its value: the record keeps no credential for whatever reads the cache
// folder later, and a rotated token is a new source, downloaded afresh.
func cacheSource(u *url.URL) string { return sourceURI(u, true) }

// legacyCacheSource is cacheSource as earlier versions had it, which
// kept the token parameters as given: their records are found by it to be
// removed.
func legacyCacheSource(u *url.URL) string { return sourceURI(u, false) }

// sourceURI is u without its userinfo, fragment and signing parameters,
// with each token parameter's values as digests when digest is set.
func sourceURI(u *url.URL, digest bool) string {
	c := *u
	c.User = nil
	q := c.Query()
	for k, vs := range q {
		switch {
		case isSignatureParam(k):
			q.Del(k)
		case digest && secretParams[strings.ToLower(k)]:
			for i, v := range vs {
				sum := sha256.Sum256([]byte(v))
				vs[i] = "sha256-" + hex.EncodeToString(sum[:8])
			}
		}
	}
	c.RawQuery = q.Encode()
	c.Fragment = ""
	return c.String()
}

// removeLegacyRecord deletes the download (dir) and record of an older
// version that named uri, a URI with its token, so that the credential does
// not stay on disk. The model is then downloaded again, once, under its new
// record.
func removeLegacyRecord(dir, uri string) error {
	b, err := os.ReadFile(dir + ".json")
	if err != nil {
		return nil
	}
	var m cacheMeta
	if json.Unmarshal(b, &m) != nil || m.URI != uri {
		return nil
	}
	if err := os.Remove(dir + ".json"); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// cacheKey names a source's folder: readable, and unique per source.
func cacheKey(uri, filename string) string {
	sum := sha256.Sum256([]byte(uri))
	clean := strings.Map(func(c rune) rune {
		if c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return c
		}
		return '_'
	}, filename)
	return clean + "-" + hex.EncodeToString(sum[:8])
}

func readMeta(p, uri string) (cacheMeta, bool) {
	m, err := readRecord(p)
	if err != nil || m.URI != uri || m.ETag == "" && m.LastModified == "" {
		return cacheMeta{}, false
	}
	return m, true
}

func writeMeta(p string, m cacheMeta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	// A temporary file of its own, which newScratch sweeps should a kill
	// leave it: two writers sharing one name (p+".tmp", as before) could
	// each truncate and rename the other's half-written record into place.
	f, err := os.CreateTemp(filepath.Dir(p), ".download-record-")
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644) // CreateTemp's 0600 would hide it from a cache shared between users
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

func writeFile(p string, r io.Reader) (int64, error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// watchedReader pushes the stall watchdog back on every read that returns
// data, and counts the bytes for the progress lines.
type watchedReader struct {
	r        io.Reader
	watchdog *time.Timer
	stall    time.Duration
	n        atomic.Int64
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.watchdog.Reset(w.stall)
		w.n.Add(int64(n))
	}
	return n, err
}

// reportProgress logs how far a download has come every progressInterval
// (10 s), so a long one is visibly alive; it returns the function that
// stops it.
func (r Resolver) reportProgress(shown string, w *watchedReader, total int64) func() {
	every := r.progressInterval
	if every <= 0 {
		every = 10 * time.Second
	}
	log := r.logger()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				n := w.n.Load()
				if total > 0 {
					log.Info(fmt.Sprintf("Downloaded %s of %s (%d%%) from %s", bytesize.Format(n), bytesize.Format(total), n*100/total, shown))
				} else {
					log.Info(fmt.Sprintf("Downloaded %s from %s", bytesize.Format(n), shown))
				}
			}
		}
	}()
	return sync.OnceFunc(func() { close(done); <-stopped })
}

// guessType is Python's mimetypes.guess_type for the names KServe cares
// about: the archive type (tar or zip, else "") and the encoding (gzip,
// bzip2, xz, else "").
func guessType(name string) (typ, enc string) {
	base := strings.ToLower(path.Base(name))
	for suffix, full := range map[string]string{".tgz": ".tar.gz", ".taz": ".tar.gz", ".tz": ".tar.gz", ".tbz2": ".tar.bz2", ".txz": ".tar.xz"} {
		if strings.HasSuffix(base, suffix) {
			base = strings.TrimSuffix(base, suffix) + full
			break
		}
	}
	for suffix, e := range map[string]string{".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"} {
		if strings.HasSuffix(base, suffix) {
			base, enc = strings.TrimSuffix(base, suffix), e
			break
		}
	}
	switch path.Ext(base) {
	case ".tar":
		typ = tarType
	case ".zip":
		typ = zipType
	}
	return typ, enc
}
