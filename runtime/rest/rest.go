// Package rest serves KServe's v1 protocol and the Open Inference Protocol
// (v2) over HTTP on top of the shared dataplane, with KServe's paths,
// bodies, status codes and error messages (contract §1, §5, §10).
package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/cloudevent"
	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/headerval"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// AccessFunc is called once per HTTP request after the response is written.
type AccessFunc func(r *http.Request, respHeader http.Header, status int, bytes int64, start time.Time, dur time.Duration)

// Options configure the REST handler.
type Options struct {
	// MaxRequestBodySize bounds request bodies (413 past it); <= 0 means no limit.
	MaxRequestBodySize int64
	// EnableDocs serves Swagger UI at /docs (--enable_docs_url).
	EnableDocs bool
	// Metrics serves /metrics; nil answers 404.
	Metrics http.Handler
	// Logger receives error logs ("Exception: ..."); nil discards them.
	Logger *slog.Logger
	// CloudEvents sets the attributes of the CloudEvents v1 requests sent as
	// CloudEvents get back ($CE_TYPE, $CE_SOURCE, $CE_MERGE).
	CloudEvents cloudevent.Options
	// Now and NewID stamp response events; nil means time.Now and
	// infer.NewID (tests fix them).
	Now   func() time.Time
	NewID func() string
	// Routes are the user's own handlers, served next to KServe's routes
	// (runtime.WithHandler).
	Routes []Route
	// Proxies are the peers whose X-Forwarded-Proto sets the scheme of
	// redirects; nil trusts the loopback interface.
	Proxies *Proxies

	// errorBody, set by WriteErrorBody alone, makes an error's body.
	errorBody func(code int, message string) []byte
}

// Route is a handler for a net/http ServeMux pattern ("POST /openai/v1/completions").
type Route struct {
	Pattern string
	Handler http.Handler
}

// Handler is the REST transport.
type Handler struct {
	dp   *dataplane.Dataplane
	opts Options
	bufs sync.Pool
	mux  *http.ServeMux // the user's routes; nil without Routes
	docsState
}

// maxPooledBuf is the largest response buffer put back for reuse. A
// buffer grown for one large answer would otherwise stay in the pool for
// as long as small requests keep drawing it from there, which on a serving
// pod is for ever: the heap would keep one such buffer for every large
// answer that was being written at the same time (golang/go#23199). Larger
// answers allocate their buffer each time, which their size dwarfs.
const maxPooledBuf = 1 << 20

// putBuf returns a response buffer to the pool unless it grew too large.
func (h *Handler) putBuf(bp *[]byte) {
	if cap(*bp) <= maxPooledBuf {
		h.bufs.Put(bp)
	}
}

// New returns the REST handler over dp.
func New(dp *dataplane.Dataplane, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{dp: dp, opts: opts, bufs: sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}}
	if len(opts.Routes) > 0 {
		// Patterns were checked by the caller (runtime.checkRoutes);
		// ServeMux panics on a bad one.
		h.mux = http.NewServeMux()
		for _, rt := range opts.Routes {
			h.mux.Handle(rt.Pattern, rt.Handler)
		}
	}
	return h
}

// KServePath reports whether KServe's routes own path p (the user's routes
// are only consulted for other paths).
func KServePath(p string) bool {
	return p == "/" || p == "/metrics" || p == "/openapi.json" || p == "/docs" || strings.HasPrefix(p, "/docs/") ||
		strings.HasPrefix(p, "/v1/") || p == "/v2" || strings.HasPrefix(p, "/v2/")
}

// serveUser serves a path KServe has no route for from the user's routes:
// their handler, or FastAPI's 405 when only the method differs, else 404.
func (h *Handler) serveUser(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	var allow []string
	for _, m := range [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		r2 := *r
		r2.Method = m
		if _, pattern := h.mux.Handler(&r2); pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		h.notAllowed(w, strings.Join(allow, ", "))
		return
	}
	h.detail(w, http.StatusNotFound)
}

// smallBody is the size under which net/http computes Content-Length
// itself (the handler's whole output fits its 2 KiB chunking buffer and the
// handler returns before a flush), so the hot path need not format it.
const smallBody = 2000

// jsonContentType is shared by every JSON response; net/http only reads it.
var jsonContentType = []string{"application/json"}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.route(w, r) }

// WithAccess calls fn once per request next answers, after its response
// (the access log). The server wraps it around the user's middleware, so
// what a middleware answers itself, a CORS preflight or an auth refusal,
// gets its access line too, as under uvicorn, whose access log sees every
// response.
func WithAccess(next http.Handler, fn AccessFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &recorder{ResponseWriter: w, status: http.StatusOK}
		// Deferred, so a response cut by a panic (abort: a stream that
		// failed after its status was sent) is logged on its way up to
		// net/http.
		defer func() { fn(r, w.Header(), rw.status, rw.bytes, start, time.Since(start)) }()
		next.ServeHTTP(rw, r)
	})
}

// route dispatches like Starlette: a path that matches a route with another
// method is 405, a path no route matches is 404, both with FastAPI's bodies.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	post := r.Method == http.MethodPost
	if len(p) > 1 && p[len(p)-1] == '/' && h.known(p[:len(p)-1]) {
		// None of KServe's paths ends in "/": FastAPI (Starlette's
		// redirect_slashes) answers such a path with a 307 to the path
		// without it, which clients follow, method and body kept.
		h.redirect(w, r, p[:len(p)-1])
		return
	}
	switch {
	case p == "/":
		if !get {
			h.notAllowed(w, allowGET)
			return
		}
		h.writeRaw(w, http.StatusOK, "application/json", []byte(`{"status":"alive"}`))
	case p == "/metrics":
		switch {
		case h.opts.Metrics == nil:
			h.detail(w, http.StatusNotFound)
		case !get:
			h.notAllowed(w, allowGET)
		default:
			h.opts.Metrics.ServeHTTP(w, r)
		}
	case p == "/openapi.json":
		if !get {
			h.notAllowed(w, allowGET)
			return
		}
		h.serveOpenAPI(w, r)
	case p == "/docs" || strings.HasPrefix(p, "/docs/"):
		switch {
		case !h.opts.EnableDocs:
			h.detail(w, http.StatusNotFound)
		case !get:
			h.notAllowed(w, allowGET)
		default:
			h.serveDocs(w, r)
		}
	case strings.HasPrefix(p, "/v1/"):
		h.routeV1(w, r, p[len("/v1/"):], get, post)
	case p == "/v2" || strings.HasPrefix(p, "/v2/"):
		h.routeV2(w, r, strings.TrimPrefix(p, "/v2"), get, post)
	case h.mux != nil:
		h.serveUser(w, r)
	default:
		h.detail(w, http.StatusNotFound)
	}
}

func (h *Handler) routeV1(w http.ResponseWriter, r *http.Request, p string, get, post bool) {
	if p == "models" {
		if !get {
			h.notAllowed(w, allowGET)
			return
		}
		h.listModels(w)
		return
	}
	name, ok := strings.CutPrefix(p, "models/")
	if !ok || name == "" || strings.Contains(name, "/") {
		if h.mux != nil {
			// A path under /v1/ that KServe's v1 routes do not match: the
			// OpenAI routes sit there when KSERVE_OPENAI_ROUTE_PREFIX is
			// empty (WithHandler routes cannot).
			h.serveUser(w, r)
			return
		}
		h.detail(w, http.StatusNotFound)
		return
	}
	if post {
		if n, ok := strings.CutSuffix(name, ":predict"); ok && n != "" {
			h.v1Infer(w, r, n, dataplane.Predict)
			return
		}
		if n, ok := strings.CutSuffix(name, ":explain"); ok && n != "" {
			h.v1Infer(w, r, n, dataplane.Explain)
			return
		}
		h.notAllowed(w, allowGET)
		return
	}
	if !get {
		allow := allowGET
		if n, ok := strings.CutSuffix(name, ":predict"); ok && n != "" {
			allow = allowGETPOST // GET reads the status of a model called "n:predict"
		} else if n, ok := strings.CutSuffix(name, ":explain"); ok && n != "" {
			allow = allowGETPOST
		}
		h.notAllowed(w, allow)
		return
	}
	h.v1ModelStatus(w, r, name)
}

func (h *Handler) routeV2(w http.ResponseWriter, r *http.Request, p string, get, post bool) {
	// method serves fn when the request's method is one the route takes
	// (ok), else answers 405 naming the route's methods (allow).
	method := func(ok bool, allow string, fn func()) {
		if !ok {
			h.notAllowed(w, allow)
			return
		}
		fn()
	}
	switch p {
	case "":
		method(get, allowGET, func() { h.writeJSON(w, http.StatusOK, h.dp.ServerMetadata()) })
		return
	case "/health/live":
		method(get, allowGET, func() {
			if !h.dp.Live() {
				h.writeError(w, r, &status.Error{Kind: status.KindServerNotLive, Message: "Server is not live."})
				return
			}
			h.writeRaw(w, http.StatusOK, "application/json", []byte(`{"live":true}`))
		})
		return
	case "/health/ready":
		method(get, allowGET, func() {
			if !h.dp.Ready() {
				h.writeError(w, r, h.dp.ServerNotReady())
				return
			}
			h.writeRaw(w, http.StatusOK, "application/json", []byte(`{"ready":true}`))
		})
		return
	case "/models":
		method(get, allowGET, func() { h.listModels(w) })
		return
	}
	if rest, ok := strings.CutPrefix(p, "/repository/models/"); ok {
		name, action, ok := strings.Cut(rest, "/")
		if !ok || name == "" || (action != "load" && action != "unload") {
			h.detail(w, http.StatusNotFound)
			return
		}
		method(post, allowPOST, func() { h.repository(w, r, name, action) })
		return
	}
	rest, ok := strings.CutPrefix(p, "/models/")
	if !ok {
		h.detail(w, http.StatusNotFound)
		return
	}
	var buf [5]string
	parts := splitPath(buf[:0], rest)
	if len(parts) == 0 || parts[0] == "" {
		h.detail(w, http.StatusNotFound)
		return
	}
	name := parts[0]
	switch {
	case len(parts) == 1:
		method(get, allowGET, func() {
			if versionAsked(r) {
				h.writeError(w, r, errVersioning())
				return
			}
			h.v2Metadata(w, r, name)
		})
	case len(parts) == 2 && parts[1] == "ready":
		method(get, allowGET, func() {
			if versionAsked(r) {
				h.writeError(w, r, errVersioning())
				return
			}
			h.v2ModelReady(w, r, name)
		})
	case len(parts) == 2 && parts[1] == "infer":
		method(post, allowPOST, func() { h.v2Infer(w, r, name) })
	case len(parts) >= 3 && parts[1] == "versions" && parts[2] != "":
		versioned := len(parts) == 3 && get ||
			len(parts) == 4 && parts[3] == "ready" && get ||
			len(parts) == 4 && parts[3] == "infer" && post
		switch {
		case versioned:
			h.writeError(w, r, errVersioning())
		case len(parts) == 4 && parts[3] == "infer":
			h.notAllowed(w, allowPOST)
		case len(parts) == 3 || len(parts) == 4 && parts[3] == "ready":
			h.notAllowed(w, allowGET)
		default:
			h.detail(w, http.StatusNotFound)
		}
	default:
		h.detail(w, http.StatusNotFound)
	}
}

// errVersioning is KServe's answer to a request for a model version.
func errVersioning() error { return status.NotImplemented("Model versioning not supported yet.") }

// versionAsked reports whether r names a model version in its query:
// KServe's metadata, ready and infer handlers take model_version as an
// optional query parameter (its /openapi.json lists it) and answer 501 to
// any non-empty value, as to the /versions/ paths. Of a repeated
// parameter the last counts, as in Starlette.
func versionAsked(r *http.Request) bool {
	if r.URL.RawQuery == "" {
		return false
	}
	vs := r.URL.Query()["model_version"]
	return len(vs) > 0 && vs[len(vs)-1] != ""
}

// known reports whether p is one of the server's own paths, whatever the
// method: a model's name counts for any name, as a route pattern does.
// Swagger UI's pages under /docs/ are not among them: its index is
// /docs/ itself.
func (h *Handler) known(p string) bool {
	switch p {
	case "/", "/openapi.json", "/v1/models", "/v2", "/v2/health/live", "/v2/health/ready", "/v2/models":
		return true
	case "/metrics":
		return h.opts.Metrics != nil
	}
	if name, ok := strings.CutPrefix(p, "/v1/models/"); ok {
		return name != "" && !strings.Contains(name, "/")
	}
	if rest, ok := strings.CutPrefix(p, "/v2/repository/models/"); ok {
		name, action, _ := strings.Cut(rest, "/")
		return name != "" && (action == "load" || action == "unload")
	}
	rest, ok := strings.CutPrefix(p, "/v2/models/")
	if !ok {
		return false
	}
	parts := strings.Split(rest, "/")
	if parts[0] == "" {
		return false
	}
	switch len(parts) {
	case 1:
		return true
	case 2:
		return parts[1] == "ready" || parts[1] == "infer"
	case 3:
		return parts[1] == "versions" && parts[2] != ""
	case 4:
		return parts[1] == "versions" && parts[2] != "" && (parts[3] == "ready" || parts[3] == "infer")
	}
	return false
}

// redirect answers Starlette's 307 to path: an absolute URL built from the
// request's Host and scheme (Proxies.Scheme), the query kept.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, path string) {
	u := url.URL{Scheme: h.opts.Proxies.Scheme(r), Host: r.Host, Path: path, RawQuery: r.URL.RawQuery}
	w.Header().Set("Location", u.String())
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// splitPath splits p at "/" into dst (no allocation for short paths).
func splitPath(dst []string, p string) []string {
	for {
		seg, rest, more := strings.Cut(p, "/")
		dst = append(dst, seg)
		if !more {
			return dst
		}
		p = rest
	}
}

func (h *Handler) listModels(w http.ResponseWriter) {
	h.writeJSON(w, http.StatusOK, struct {
		Models []string `json:"models"`
	}{h.dp.Names()})
}

func (h *Handler) v1ModelStatus(w http.ResponseWriter, r *http.Request, name string) {
	ready, err := h.dp.ModelReady(name)
	if err == nil && !ready {
		err = h.dp.ModelNotReady(name)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, struct {
		Name  string `json:"name"`
		Ready bool   `json:"ready"`
	}{name, true})
}

func (h *Handler) v2ModelReady(w http.ResponseWriter, r *http.Request, name string) {
	ready, err := h.dp.ModelReady(name)
	if err == nil && !ready {
		err = h.dp.ModelNotReady(name)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, struct {
		Name  string `json:"name"`
		Ready bool   `json:"ready"`
	}{name, true})
}

func (h *Handler) v2Metadata(w http.ResponseWriter, r *http.Request, name string) {
	md, err := h.dp.ModelMetadata(name)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, md)
}

func (h *Handler) repository(w http.ResponseWriter, r *http.Request, name, action string) {
	if action == "load" {
		if err := h.dp.LoadModel(r.Context(), name); err != nil {
			h.writeError(w, r, err)
			return
		}
		h.writeJSON(w, http.StatusOK, struct {
			Name string `json:"name"`
			Load bool   `json:"load"`
		}{name, true})
		return
	}
	if err := h.dp.UnloadModel(r.Context(), name); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, struct {
		Name   string `json:"name"`
		Unload bool   `json:"unload"`
	}{name, true})
}

// readBody reads the request body within the configured limit.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return h.readBodyAligned(w, r, 0)
}

// readBodyAligned reads the request body so that body[at:] starts on an
// 8-byte boundary when the length is declared: the binary extension's
// tensor data after a JSON header of `at` bytes can then be used in place as
// []float32 and the like (infer.DecodeRaw), instead of copied.
//
// A compressed body (Content-Encoding) is decompressed as it is read; a
// body without the header, nearly every one, costs a map lookup more.
func (h *Handler) readBodyAligned(w http.ResponseWriter, r *http.Request, at int) ([]byte, error) {
	if ce := r.Header["Content-Encoding"]; ce != nil {
		return h.readEncodedBody(w, r, ce, at)
	}
	return h.readPlain(w, r, at)
}

// readPlain reads a body sent as it is (no Content-Encoding, or identity).
func (h *Handler) readPlain(w http.ResponseWriter, r *http.Request, at int) ([]byte, error) {
	rd, err := h.wireBody(w, r)
	if err != nil {
		return nil, err
	}
	if r.ContentLength > 0 {
		body, err := readDeclared(rd, int(r.ContentLength), at)
		if err != nil {
			return nil, bodyError(err, h.opts.MaxRequestBodySize)
		}
		return body, nil
	}
	body, err := io.ReadAll(rd)
	if err != nil {
		return nil, bodyError(err, h.opts.MaxRequestBodySize)
	}
	return body, nil
}

// wireBody is r's body as sent, held to --max_request_body_size: a declared
// length over it is refused before anything is read, and a declared length
// under it is enforced by net/http itself, so only a chunked body of
// unknown length needs counting.
func (h *Handler) wireBody(w http.ResponseWriter, r *http.Request) (io.Reader, error) {
	limit := h.opts.MaxRequestBodySize
	switch {
	case limit <= 0:
		return r.Body, nil
	case r.ContentLength > limit:
		return nil, tooLarge(limit)
	case r.ContentLength < 0:
		return http.MaxBytesReader(w, r.Body, limit), nil
	}
	return r.Body, nil
}

// A declared body is allocated as it arrives, so that connections cannot
// make the server allocate what they never send: firstBody bytes before
// any of it arrives, eagerBody once those have come, then double that as
// bytes keep coming (a header declaring 64 MiB costs 64 MiB only once the
// client has sent about half of it). firstBody is small because no timeout
// covers a body (as under uvicorn): a client that stalls after its headers
// holds it for as long as it stays connected, and at the 1 MiB allocated
// up front before, a few thousand such connections held gigabytes. A client
// sending more has shown it sends: the jump to eagerBody spares a large
// body the copies of doubling from firstBody.
const (
	firstBody = 64 << 10
	eagerBody = 1 << 20
)

// readDeclared reads a body of n declared bytes (net/http ends it there)
// into a buffer whose byte at starts 8-byte aligned: heap blocks of 16
// bytes or more start 8-byte aligned (smaller ones may not; infer.DecodeRaw
// then copies, which is cheap there).
func readDeclared(rd io.Reader, n, at int) ([]byte, error) {
	pad := (8 - at%8) % 8
	buf := make([]byte, pad+min(n, firstBody))
	got := 0
	for got < n {
		if pad+got == len(buf) {
			grown := make([]byte, pad+min(n, max(2*got, eagerBody)))
			copy(grown[pad:], buf[pad:pad+got])
			buf = grown
		}
		m, err := rd.Read(buf[pad+got:])
		got += m
		if err == io.EOF && got < n {
			err = io.ErrUnexpectedEOF
		}
		if err != nil && got < n {
			return nil, err
		}
	}
	return buf[pad : pad+n], nil
}

func tooLarge(limit int64) error {
	return status.Newf(status.KindPayloadTooLarge, "Request body too large: the limit is %d bytes (--max_request_body_size).", limit)
}

// errClientGone is a body cut short by the end of its connection: the
// client gave up (a timeout, a retry, a crash) while sending it. It is
// answered and counted as a 499, as a client gone while its request runs
// is, not as a 400: the request was not malformed, and clients that time
// out during uploads would otherwise show in /metrics as bad requests.
var errClientGone = errors.New("the connection closed before the whole request body arrived")

func bodyError(err error, limit int64) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return tooLarge(limit)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The server's listener fails a body read that waits too long.
		return status.InvalidInput("could not read the request body: the client sent nothing of it for longer than --read_header_timeout")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errConnResetOS) {
		return fmt.Errorf("%w: %w", errClientGone, err)
	}
	return status.InvalidInputf("could not read the request body: %v", err)
}

// isJSONContentType decides whether a v1 body is parsed as JSON. KServe
// compares the whole header to four exact strings, so
// "application/json; charset=utf-8" reaches models as raw bytes; we compare
// the media type, which every JSON client means.
func isJSONContentType(ct string) bool {
	if ct == "" || ct == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/cloudevents+json", "application/ld+json", "application/octet-stream":
		return true
	}
	return false
}

func (h *Handler) v1Infer(w http.ResponseWriter, r *http.Request, name string, verb dataplane.Verb) {
	in, out, err := h.v1Exchange(w, r, name, verb)
	h.finish(w, r, name, infer.ProtocolV1, verb, in, out, err)
}

// finish answers a failed inference request with its error, unless the
// response was already under way (errCut), and records the request in
// /metrics either way.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, name string, p infer.Protocol, verb dataplane.Verb, in, out int, err error) {
	code := ""
	switch {
	case err == nil:
	case errors.Is(err, errCut):
		code = "500"
		defer abort()
	default:
		code = strconv.Itoa(h.writeError(w, r, err))
	}
	h.dp.Record(name, p, verb, in, out, code)
}

// errCut reports a streamed response that failed after its status was sent:
// nothing more can be written, and /metrics counts it as a 500.
var errCut = errors.New("streamed response cut")

// requestSize is the size to record for a request whose body could not be
// read: the declared length (a body over the limit), else unknown.
func requestSize(r *http.Request) int {
	if r.ContentLength >= 0 {
		return int(r.ContentLength)
	}
	return -1
}

// v1Exchange answers a v1 :predict or :explain request and returns the
// request's and the response's sizes, or the error to answer with (nothing
// written yet, unless it is errCut).
func (h *Handler) v1Exchange(w http.ResponseWriter, r *http.Request, name string, verb dataplane.Verb) (in, out int, err error) {
	body, err := h.readBody(w, r)
	if err != nil {
		return requestSize(r), -1, err
	}
	in = len(body)
	ct := model.HeaderValue(r.Header, "Content-Type")
	req := &infer.Request{Protocol: infer.ProtocolV1, ModelName: name, Body: body, ContentType: ct, IsJSON: isJSONContentType(ct)}
	if cloudevent.IsBinary(r.Header) {
		// A binary-mode CloudEvent: the body is the event's data, JSON when
		// orjson reads it as JSON (whatever its content type: a 1e400 or a
		// lone surrogate is not), else raw bytes.
		if req.CloudEvent, err = cloudevent.FromBinary(r.Header); err != nil {
			return in, -1, err
		}
		err := infer.CheckJSON(body)
		req.IsJSON = err == nil
		if err != nil && jsonEventData(r.Header) {
			// KServe keeps data that is not JSON as raw bytes, unless
			// the event says it is JSON: then it is a 400.
			return in, -1, status.InvalidInput("Failed to decode or parse binary json cloudevent: " + err.Error())
		}
	}
	// Bad JSON is a 400 before the model is looked up, as in KServe.
	if req.IsJSON {
		if err := req.ParseV1(); err != nil && !isListError(err) {
			return in, -1, err
		}
	}
	hd := model.NewHeaders(r.Header)
	resp, err := h.dp.Infer(r.Context(), name, verb, req, hd)
	if err != nil {
		return in, -1, err
	}
	copyHeaders(w.Header(), hd.Response)
	if resp.Stream != nil {
		out, err = h.writeStream(w, r, resp)
		return in, out, err
	}
	if req.CloudEvent != nil && req.CloudEvent.Binary || cloudevent.IsStructured(ct) {
		out, err = h.writeCloudEvent(w, req.CloudEvent, name, resp)
		return in, out, err
	}
	if resp.Raw != nil || resp.Body == nil {
		ct := resp.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.writeRaw(w, http.StatusOK, ct, resp.Raw)
		return in, len(resp.Raw), nil
	}
	bp := h.bufs.Get().(*[]byte)
	defer h.putBuf(bp)
	b, err := infer.AppendJSON((*bp)[:0], resp.Body)
	*bp = b
	if err != nil {
		return in, -1, invalidResponse(name, err)
	}
	h.writeRaw(w, http.StatusOK, "application/json", b)
	return in, len(b), nil
}

// writeStream sends a streamed v1 response chunk by chunk. A failure after
// the headers are out cannot be a status any more: it is logged and the
// response aborted (net/http then closes the connection without the final
// chunk), so no client mistakes a cut stream for a whole one.
//
// It returns the bytes sent, and errCut when the stream failed.
func (h *Handler) writeStream(w http.ResponseWriter, r *http.Request, resp *infer.Response) (int, error) {
	hdr := w.Header()
	delete(hdr, "Content-Length")
	if resp.ContentType != "" {
		hdr["Content-Type"] = []string{resp.ContentType}
	} else {
		hdr["Content-Type"] = nil // none, as KServe; a nil entry stops net/http's sniffing
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// The client sees the status before the first chunk is ready. A writer
	// that cannot flush (a user's middleware hiding it) still streams, in
	// net/http's buffer-sized pieces.
	flush := true
	if err := rc.Flush(); errors.Is(err, http.ErrNotSupported) {
		flush = false
	}
	sent := 0
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = status.Panic("a streamed response", p, debug.Stack())
			}
		}()
		for chunk, err := range resp.Stream {
			if err != nil {
				return err
			}
			if len(chunk) == 0 {
				continue
			}
			n, err := w.Write(chunk)
			sent += n
			if err != nil {
				return nil // the client is gone; nobody to tell
			}
			if flush && rc.Flush() != nil {
				return nil
			}
		}
		return nil
	}()
	if err == nil {
		return sent, nil
	}
	h.logException(err)
	return sent, errCut
}

// logException logs err as KServe logs an exception, a panic's stack after
// it. An err whose Error() panics (a typed nil yielded by a stream) is
// logged as that panic: the panic would otherwise reach net/http, and the
// request would go uncounted.
func (h *Handler) logException(err error) {
	defer func() {
		if p := recover(); p != nil {
			h.logException(status.Panic("an error's Error method", p, debug.Stack()))
		}
	}()
	h.opts.Logger.Error("Exception: " + status.LogText(err) + status.PanicStack(err))
}

// abort cuts the connection of a response that failed after its status was
// sent (net/http then leaves out the final chunk), so that no client takes
// it for a whole one. The access line is written on the panic's way up.
func abort() {
	panic(http.ErrAbortHandler)
}

// writeCloudEvent answers a CloudEvent request with a CloudEvent in the
// request's content mode (KServe's encode with create_response_cloudevent).
// It returns the bytes of the response's body, or the error to answer with.
func (h *Handler) writeCloudEvent(w http.ResponseWriter, reqEvent *infer.CloudEvent, name string, resp *infer.Response) (int, error) {
	body := cloudevent.Body{Raw: resp.Raw, ContentType: resp.ContentType}
	if resp.Raw == nil && resp.Body != nil {
		b, err := infer.AppendJSON(nil, resp.Body)
		if err != nil {
			return -1, invalidResponse(name, err)
		}
		body.JSON = b
	}
	now, newID := time.Now, infer.NewID
	if h.opts.Now != nil {
		now = h.opts.Now
	}
	if h.opts.NewID != nil {
		newID = h.opts.NewID
	}
	ev := cloudevent.Event{Model: name, ID: newID(), Time: now()}
	hdr := http.Header{}
	var b []byte
	var err error
	if reqEvent != nil && reqEvent.Binary {
		b, err = h.opts.CloudEvents.Binary(hdr, reqEvent, ev, body)
	} else {
		b, err = h.opts.CloudEvents.Structured(hdr, reqEvent, ev, body)
	}
	if err != nil {
		return -1, fmt.Errorf("encode the response event: %w", err)
	}
	ct := hdr.Get("Content-Type")
	delete(hdr, "Content-Type")
	copyHeaders(w.Header(), hdr)
	h.writeRaw(w, http.StatusOK, ct, b)
	return len(b), nil
}

// jsonEventData reports whether a binary-mode CloudEvent declares its data
// JSON the way KServe checks it: an attribute named "content-type" (a
// Ce-Content-Type header; the HTTP Content-Type is datacontenttype, which
// KServe does not look at) that is exactly application/json or
// application/cloudevents+json.
func jsonEventData(h http.Header) bool {
	switch model.HeaderValue(h, "Ce-Content-Type") {
	case "application/json", "application/cloudevents+json":
		return true
	}
	return false
}

func isListError(err error) bool {
	return strings.HasPrefix(status.Message(err), "Expected ")
}

func (h *Handler) v2Infer(w http.ResponseWriter, r *http.Request, name string) {
	in, out, err := h.v2Exchange(w, r, name)
	h.finish(w, r, name, infer.ProtocolV2, dataplane.Predict, in, out, err)
}

// v2Exchange answers a v2 infer request and returns the request's and the
// response's sizes, or the error to answer with (nothing written yet).
func (h *Handler) v2Exchange(w http.ResponseWriter, r *http.Request, name string) (in, out int, err error) {
	hl := model.HeaderValue(r.Header, "Inference-Header-Content-Length")
	var n int
	var hlErr error
	if hl != "" {
		n, hlErr = strconv.Atoi(hl)
	}
	body, err := h.readBodyAligned(w, r, max(n, 0))
	if err != nil {
		return requestSize(r), -1, err
	}
	in = len(body)
	ct := model.HeaderValue(r.Header, "Content-Type")
	jsonPart, raw := body, []byte(nil)
	if hl != "" {
		if hlErr != nil || n < 0 || n > len(body) {
			return in, -1, status.InvalidInputf("invalid inference-header-content-length %q: the body has %d bytes", hl, len(body))
		}
		jsonPart, raw = body[:n], body[n:]
	} else if !isJSONMedia(ct) {
		return in, -1, infer.MissingHeaderLength()
	}
	req, err := infer.DecodeRequestFor(name, jsonPart, raw)
	if err != nil {
		return in, -1, err
	}
	if versionAsked(r) { // after the body, which FastAPI validates before KServe's handler runs
		return in, -1, errVersioning()
	}
	hd := model.NewHeaders(r.Header)
	resp, err := h.dp.Infer(r.Context(), name, dataplane.Predict, req, hd)
	if err != nil {
		return in, -1, err
	}
	out, err = h.writeV2Response(w, r, req, resp, name, hd)
	return in, out, err
}

func isJSONMedia(ct string) bool {
	if ct == "" || ct == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// writeV2Response writes resp in JSON or the binary extension and returns
// the body's size, or the error to answer with (nothing written).
func (h *Handler) writeV2Response(w http.ResponseWriter, r *http.Request, req *infer.Request, resp *infer.Response, name string, hd *model.Headers) (int, error) {
	if resp.ModelName == "" {
		resp.ModelName = name
	}
	if resp.ID == "" {
		resp.ID = req.EnsureID()
	}
	if err := infer.SelectOutputs(req, resp, name); err != nil {
		return -1, err
	}
	copyHeaders(w.Header(), hd.Response)
	bp := h.bufs.Get().(*[]byte)
	defer h.putBuf(bp)
	var binary []bool
	useBinary := false
	if len(req.Outputs) > 0 || req.UseBinaryOutputs() { // else all JSON, no allocation
		binary = infer.BinaryOutputs(req, resp)
		for i, b := range binary {
			useBinary = useBinary || b || resp.Outputs[i].Datatype == infer.FP16 && req.UseBinaryOutputs()
		}
	}
	if !useBinary {
		b, err := infer.AppendResponseJSON((*bp)[:0], resp)
		*bp = b
		if err != nil {
			return -1, invalidResponse(name, err)
		}
		h.writeRaw(w, http.StatusOK, "application/json", b)
		return len(b), nil
	}
	head, raws, err := infer.AppendResponseBinary((*bp)[:0], resp, binary)
	*bp = head
	if err != nil {
		return -1, invalidResponse(name, err)
	}
	total := len(head)
	for _, c := range raws {
		total += len(c)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Content-Length", strconv.Itoa(total))
	hdr.Set("Inference-Header-Content-Length", strconv.Itoa(len(head)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return total, nil
	}
	_, _ = w.Write(head)
	for _, c := range raws {
		_, _ = w.Write(c)
	}
	return total, nil
}

func copyHeaders(dst, src http.Header) {
	for k, v := range src {
		if strings.EqualFold(k, "Content-Length") {
			continue // always recomputed, as KServe does
		}
		// net/http leaves out an invalid name itself, but writes a
		// value's NUL as it is: the response would be refused whole.
		dst[k] = headerval.Clean(v)
	}
}

// writeError writes KServe's {"error": "..."} body with the kind's status
// code, FastAPI's {"detail": [...]} for validation errors, and logs server
// errors the way KServe's handlers do.
// It returns the status code.
//
// A model's error can panic as it is read: Go's typed nil (a nil *MyErr
// returned as error) panics in its Error method, met here, after the
// pipeline that recovers the model's panics has returned. It is answered
// as any other panic of model code, 500 "panic : <value>" with its stack
// logged; net/http would cut the connection without an answer, and the
// request would go uncounted. Nothing is written before the panic: it
// comes from reading err, before writeRaw.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) (code int) {
	defer func() {
		if p := recover(); p != nil {
			code = h.writeError(w, r, status.Panic("an error's Error method", p, debug.Stack()))
		}
	}()
	if errors.Is(err, errClientGone) || r != nil && r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// The client is gone: nobody reads the body. A context error
		// while the client still waits (a predictor's timeout, a model's
		// own deadline) is the server's, answered and logged as such.
		h.writeRaw(w, 499, "application/json", []byte(`{"error":"Request cancelled"}`))
		return 499
	}
	code = status.HTTPCode(err)
	var se *status.Error
	if errors.As(err, &se) && se.Kind == status.KindUnprocessable {
		// FastAPI writes its 422 with json.dumps, not orjson: floats the
		// details echo are Python's repr (1e+20, not orjson's 1e20).
		j, jerr := json.Marshal(struct {
			Detail []status.ValidationDetail `json:"detail"`
		}{se.Detail})
		b, cerr := infer.AppendCompactRepr(nil, j)
		if jerr != nil || cerr != nil {
			b = []byte(`{"error":"could not encode the response"}`)
			code = http.StatusInternalServerError
		}
		h.writeRaw(w, code, "application/json", b)
		return code
	}
	if se != nil && se.DetailText != "" {
		b := append([]byte(`{"detail":`), infer.AppendString(nil, se.DetailText)...)
		h.writeRaw(w, code, "application/json", append(b, '}'))
		return code
	}
	switch {
	case se != nil && se.Kind == status.KindOverloaded:
		// Expected under a burst, not a server fault: no stack of log lines,
		// and a hint for clients and gateways that retry.
		w.Header().Set("Retry-After", strconv.Itoa(int(status.OverloadRetryAfter.Seconds())))
	case code >= 500 && !notReadyAnswer(r, se):
		h.opts.Logger.Error("Exception: " + status.LogText(err) + status.PanicStack(err))
	}
	if h.opts.errorBody != nil {
		h.writeRaw(w, code, "application/json", h.opts.errorBody(code, status.Message(err)))
		return code
	}
	b := append([]byte(`{"error":`), infer.AppendString(nil, status.Message(err))...)
	h.writeRaw(w, code, "application/json", append(b, '}'))
	return code
}

// ReadBody reads r's body as the server reads an inference request's:
// decompressed when it has a Content-Encoding, held to limit bytes
// (--max_request_body_size; <= 0: none), a connection that ends before the
// whole body arrived reported as the client gone (WriteError's 499). Its
// errors are WriteError's to answer.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	h := &Handler{opts: Options{MaxRequestBodySize: limit}}
	return h.readBody(w, r)
}

// WriteErrorBody is WriteError with body making the answer's body from
// its status and message instead of {"error": message}: for routes whose
// clients read errors in another envelope (package openai's, OpenAI's
// {"error": {...}}). FastAPI's 422 bodies and the 499 of a client gone
// stay as they are. A nil body is WriteError's.
func WriteErrorBody(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error, body func(code int, message string) []byte) int {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{opts: Options{Logger: logger, errorBody: body}}
	return h.writeError(w, r, err)
}

// WriteError answers err as the server answers a failed request (the
// status and {"error": ...} body of err's kind, FastAPI's 422 body for a
// validation error, 499 when the client has gone), logging a 5xx to
// logger (nil: nowhere) as "Exception: ..."; it returns the status
// written. It is for handlers of routes of their own (package openai)
// that must answer KServe's errors as KServe's routes do.
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) int {
	return WriteErrorBody(w, r, logger, err, nil)
}

// invalidResponse names the model whose answer the encoder refused as a
// server error (a value encoding/json cannot write), in gRPC's words for
// the same answer; an error of the request's making (FP16 asked for as
// JSON: a 400) or with KServe's own message is left as it is.
func invalidResponse(model string, err error) error {
	var se *status.Error
	if !errors.As(err, &se) || se.Kind != status.KindInternal {
		return err
	}
	return &status.Error{Kind: status.KindInternal, Message: fmt.Sprintf("model %s returned an invalid response: %s", model, se.Message), Err: err}
}

// notReadyAnswer reports whether err is the 503 "not ready" answer to a
// GET or HEAD, a readiness probe or a metadata read: the state asked
// about, not a failure. The server listens while its models load (KServe's
// does not until they have), so every start-up would otherwise log an
// ERROR line per startup and readiness probe.
func notReadyAnswer(r *http.Request, se *status.Error) bool {
	return r != nil && se != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(se.Kind == status.KindModelNotReady || se.Kind == status.KindServerNotReady)
}

// The methods a 405 names in its Allow header, as Starlette's does (RFC
// 9110 requires it). Every GET route answers HEAD too, so it is named
// (KServe's FastAPI routes refuse HEAD and name GET alone).
const (
	allowGET     = "GET, HEAD"
	allowPOST    = "POST"
	allowGETPOST = "GET, HEAD, POST"
)

// notAllowed writes FastAPI's 405 for a route that takes other methods,
// with the Allow header naming them.
func (h *Handler) notAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	h.detail(w, http.StatusMethodNotAllowed)
}

// detail writes FastAPI's {"detail": ...} body for a routing failure; its
// text is the status text ("Not Found", "Method Not Allowed").
func (h *Handler) detail(w http.ResponseWriter, code int) {
	h.writeRaw(w, code, "application/json", []byte(`{"detail":"`+http.StatusText(code)+`"}`))
}

// writeJSON writes v with code and returns the status code written.
func (h *Handler) writeJSON(w http.ResponseWriter, code int, v any) int {
	b, err := infer.AppendJSON(nil, v) // structs take AppendJSON's encoding/json fallback
	if err != nil {
		h.writeRaw(w, http.StatusInternalServerError, "application/json", []byte(`{"error":"could not encode the response"}`))
		return http.StatusInternalServerError
	}
	h.writeRaw(w, code, "application/json", b)
	return code
}

func (h *Handler) writeRaw(w http.ResponseWriter, code int, contentType string, b []byte) {
	hdr := w.Header()
	// Direct assignment skips canonicalising constant keys on the hot path.
	if contentType == "application/json" {
		hdr["Content-Type"] = jsonContentType
	} else {
		hdr["Content-Type"] = []string{contentType}
	}
	if len(b) > smallBody {
		hdr["Content-Length"] = []string{strconv.Itoa(len(b))}
	} // else net/http sets it: the whole body fits its buffer

	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// recorder captures the status and size of a response for the access log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
