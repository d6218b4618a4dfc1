package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/retryafter"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Protocol names a REST protocol: "v1" or "v2".
type Protocol string

// The REST protocols.
const (
	V1 Protocol = "v1"
	V2 Protocol = "v2"
)

// RESTOption configures a RESTClient.
type RESTOption func(*RESTClient) error

// WithProtocol chooses v1 (:predict) or v2 (/infer) paths; default v1, as KServe.
func WithProtocol(p Protocol) RESTOption {
	return func(c *RESTClient) error {
		if p != V1 && p != V2 {
			return fmt.Errorf("unsupported REST protocol %q: want v1 or v2", p)
		}
		c.protocol = p
		return nil
	}
}

// WithRESTTimeout bounds each call, retries included (default DefaultTimeout; 0: no bound).
func WithRESTTimeout(d time.Duration) RESTOption {
	return func(c *RESTClient) error { c.timeout = d; return nil }
}

// WithRESTRetries sets how many times a call is retried after a connection
// error or a 503 answer, with exponential backoff from 0.1 s to 1 s
// (default DefaultRetries). KServe's REST client builds a retrying transport
// but never uses it; these retries apply.
func WithRESTRetries(n int) RESTOption {
	return func(c *RESTClient) error {
		if n < 0 {
			return fmt.Errorf("retries must be >= 0, got %d", n)
		}
		c.retries = n
		return nil
	}
}

// WithRESTRetryObserver has fn told of each retry as it is made (see
// RetryObserver).
func WithRESTRetryObserver(fn RetryObserver) RESTOption {
	return func(c *RESTClient) error { c.onRetry = fn; return nil }
}

// WithHTTPClient sends requests through hc (transport, proxies, auth …).
func WithHTTPClient(hc *http.Client) RESTOption {
	return func(c *RESTClient) error { c.http = hc; return nil }
}

// WithRESTTLS uses cfg for https:// base URLs (client certificates, a
// private CA, …) on the default transport.
func WithRESTTLS(cfg *tls.Config) RESTOption {
	return func(c *RESTClient) error {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = cfg
		c.http = &http.Client{Transport: t}
		return nil
	}
}

// WithRESTGzip gzips request bodies (Content-Encoding: gzip): fewer bytes
// for a large JSON request over a slow link, for some CPU on both ends.
// kserve-gen's server and Triton's decompress such bodies; KServe's Python
// server does not (it hands the model the compressed bytes), so leave it
// off in front of one. Binary tensor data (the default for v2) compresses
// little. Answers are never asked for compressed: the server does not
// compress them, and Go's transport takes gzip answers from other servers
// by itself.
func WithRESTGzip() RESTOption {
	return func(c *RESTClient) error { c.gzip = true; return nil }
}

// RESTClient is KServe's InferenceRESTClient. It is safe for concurrent use.
type RESTClient struct {
	protocol Protocol
	timeout  time.Duration
	retries  int
	http     *http.Client
	gzip     bool          // WithRESTGzip
	onRetry  RetryObserver // WithRESTRetryObserver
}

// NewREST returns a REST client.
func NewREST(opts ...RESTOption) (*RESTClient, error) {
	c := &RESTClient{protocol: V1, timeout: DefaultTimeout, retries: DefaultRetries}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.http == nil {
		c.http = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return c, nil
}

// Protocol returns the client's protocol.
func (c *RESTClient) Protocol() Protocol { return c.protocol }

// HTTPError is a non-2xx answer: its status code, URL and the server's
// message (the "error" member of KServe's JSON error body, else the body).
type HTTPError struct {
	// StatusCode is the answer's HTTP status code.
	StatusCode int
	// URL is the URL the request was sent to.
	URL string
	// Message is the server's message: the "error" member of a KServe
	// JSON error body, else the body.
	Message    string
	RetryAfter string // the answer's Retry-After header, if any
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s, '%d %s' for url '%s'", e.Message, e.StatusCode, http.StatusText(e.StatusCode), e.URL)
}

// endpoint joins base and path with exactly one slash after checking that
// base is an absolute http(s) URL.
func endpoint(base, path string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", status.InvalidInputf("invalid base URL %q: want an absolute http:// or https:// URL", base)
	}
	return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(path, "/"), nil
}

// Infer sends req to the model req.ModelName at baseURL: v1 POSTs the
// request body (Body, or Payload as JSON) to /v1/models/<m>:predict and
// returns the answer as Body (JSON) or Raw, or, for a streamed answer
// (text/event-stream), as Stream, which yields the bytes as they arrive:
// range over it (to its end, or break) to release the connection; the
// call's timeout covers the whole stream. v2 POSTs to
// /v2/models/<m>/infer, by default with the binary tensor extension both
// ways (WithJSONData sends JSON lists and asks for JSON outputs).
func (c *RESTClient) Infer(ctx context.Context, baseURL string, req *infer.Request, opts ...InferOption) (*infer.Response, error) {
	o := newCallOptions(opts)
	if c.protocol == V1 {
		return c.inferV1(ctx, baseURL, req, o)
	}
	return c.inferV2(ctx, baseURL, req, o)
}

func (c *RESTClient) inferV1(ctx context.Context, baseURL string, req *infer.Request, o callOptions) (*infer.Response, error) {
	u, err := endpoint(baseURL, "v1/models/"+url.PathEscape(req.ModelName)+":predict")
	if err != nil {
		return nil, err
	}
	body, ct := req.Body, req.ContentType
	switch {
	case req.Payload != nil:
		if body, err = json.Marshal(req.Payload); err != nil {
			return nil, fmt.Errorf("encode v1 payload: %w", err)
		}
		ct = "application/json"
	case req.IsJSON || ct == "":
		ct = "application/json"
	}
	o.stream = true
	resp, err := c.do(ctx, http.MethodPost, u, body, ct, nil, o)
	if err != nil {
		return nil, err
	}
	out := &infer.Response{ModelName: req.ModelName, ContentType: resp.header.Get("Content-Type")}
	if resp.stream != nil {
		out.Stream = streamOf(resp.stream, u)
		return out, nil
	}
	if isJSON(out.ContentType) {
		out.Body = json.RawMessage(resp.body)
	} else {
		out.Raw = resp.body
	}
	return out, nil
}

// streamOf yields a streamed answer's bytes as they arrive and closes body
// when the iteration ends, however it ends.
func streamOf(body io.ReadCloser, u string) func(yield func([]byte, error) bool) {
	return func(yield func([]byte, error) bool) {
		defer body.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := body.Read(buf)
			if n > 0 && !yield(bytes.Clone(buf[:n]), nil) {
				return
			}
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, fmt.Errorf("read the streamed answer of %s: %w", u, err))
				return
			}
		}
	}
}

func (c *RESTClient) inferV2(ctx context.Context, baseURL string, req *infer.Request, o callOptions) (*infer.Response, error) {
	u, err := endpoint(baseURL, "v2/models/"+url.PathEscape(req.ModelName)+"/infer")
	if err != nil {
		return nil, err
	}
	head, raws, err := EncodeV2Request(req, !o.jsonData)
	if err != nil {
		return nil, err
	}
	body, ct, extra := head, "application/json", http.Header(nil)
	if len(raws) != 0 {
		total := len(head)
		for _, r := range raws {
			total += len(r)
		}
		body = make([]byte, 0, total)
		body = append(body, head...)
		for _, r := range raws {
			body = append(body, r...)
		}
		ct = "application/octet-stream"
		extra = http.Header{"Inference-Header-Content-Length": {strconv.Itoa(len(head))}}
	}
	resp, err := c.do(ctx, http.MethodPost, u, body, ct, extra, o)
	if err != nil {
		return nil, err
	}
	jsonPart, raw := resp.body, []byte(nil)
	if hl := resp.header.Get("Inference-Header-Content-Length"); hl != "" {
		n, err := strconv.Atoi(hl)
		if err != nil || n < 0 || n > len(resp.body) {
			return nil, fmt.Errorf("%s: invalid inference-header-content-length %q for a %d-byte body", u, hl, len(resp.body))
		}
		jsonPart, raw = resp.body[:n], resp.body[n:]
	}
	out, err := DecodeV2Response(jsonPart, raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return out, nil
}

// Explain calls v1 :explain (KServe's explain; v2 has none).
func (c *RESTClient) Explain(ctx context.Context, baseURL string, req *infer.Request, opts ...InferOption) (*infer.Response, error) {
	if c.protocol != V1 {
		return nil, status.UnsupportedProtocol(string(c.protocol))
	}
	u, err := endpoint(baseURL, "v1/models/"+url.PathEscape(req.ModelName)+":explain")
	if err != nil {
		return nil, err
	}
	ct := req.ContentType
	if ct == "" || req.IsJSON {
		ct = "application/json"
	}
	resp, err := c.do(ctx, http.MethodPost, u, req.Body, ct, nil, newCallOptions(opts))
	if err != nil {
		return nil, err
	}
	out := &infer.Response{ModelName: req.ModelName, ContentType: resp.header.Get("Content-Type")}
	if isJSON(out.ContentType) {
		out.Body = json.RawMessage(resp.body)
	} else {
		out.Raw = resp.body
	}
	return out, nil
}

// IsServerLive is v1 GET / ("status":"alive") or v2 GET /v2/health/live.
func (c *RESTClient) IsServerLive(ctx context.Context, baseURL string) (bool, error) {
	if c.protocol == V1 {
		var v struct {
			Status string `json:"status"`
		}
		if err := c.getJSON(ctx, baseURL, "", &v); err != nil {
			return false, err
		}
		return v.Status == "alive", nil
	}
	var v struct {
		Live bool `json:"live"`
	}
	if err := c.getJSON(ctx, baseURL, "v2/health/live", &v); err != nil {
		return false, err
	}
	return v.Live, nil
}

// IsServerReady is v2 GET /v2/health/ready; v1 has no such endpoint
// (UnsupportedProtocol, as KServe). A 503 answer is "not ready", not an error.
func (c *RESTClient) IsServerReady(ctx context.Context, baseURL string) (bool, error) {
	if c.protocol == V1 {
		return false, status.UnsupportedProtocol(string(c.protocol))
	}
	var v struct {
		Ready bool `json:"ready"`
	}
	err := c.getJSON(ctx, baseURL, "v2/health/ready", &v)
	if isHTTP(err, http.StatusServiceUnavailable) {
		return false, nil
	}
	return v.Ready, err
}

// IsModelReady is v1 GET /v1/models/<m> or v2 GET /v2/models/<m>/ready. A
// 503 answer is "not ready"; other errors (404 …) are returned.
func (c *RESTClient) IsModelReady(ctx context.Context, baseURL, name string) (bool, error) {
	path := "v1/models/" + url.PathEscape(name)
	if c.protocol == V2 {
		path = "v2/models/" + url.PathEscape(name) + "/ready"
	}
	var v struct {
		Ready bool `json:"ready"`
	}
	err := c.getJSON(ctx, baseURL, path, &v)
	if isHTTP(err, http.StatusServiceUnavailable) {
		return false, nil
	}
	return v.Ready, err
}

// WaitForModelReady polls IsModelReady every interval until the model is
// ready or ctx ends.
func (c *RESTClient) WaitForModelReady(ctx context.Context, baseURL, name string, interval time.Duration) error {
	return waitReady(ctx, interval, func(ctx context.Context) (bool, error) { return c.IsModelReady(ctx, baseURL, name) })
}

func isHTTP(err error, code int) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.StatusCode == code
}

func (c *RESTClient) getJSON(ctx context.Context, baseURL, path string, v any) error {
	u, err := endpoint(baseURL, path)
	if err != nil {
		return err
	}
	// Health checks are not retried: the caller wants the answer now.
	o := callOptions{}
	resp, err := c.send(ctx, http.MethodGet, u, nil, "", nil, o, 0)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.body, v); err != nil {
		return fmt.Errorf("%s: decode answer: %w", u, err)
	}
	return nil
}

type answer struct {
	header http.Header
	body   []byte
	// stream is the open body of a streamed answer (callOptions.stream),
	// which the caller reads and closes; body is nil then.
	stream io.ReadCloser
}

// cancelOnClose ends a streamed answer's call context (its timeout) when
// the stream is closed, not when the call returns.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// isEventStream reports a server-sent events answer, the one KServe's
// streamed v1 answers use in practice.
func isEventStream(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}

func (c *RESTClient) do(ctx context.Context, method, u string, body []byte, ct string, extra http.Header, o callOptions) (*answer, error) {
	if c.gzip && len(body) > 0 {
		// Once, not on each retry. Inference-Header-Content-Length stays
		// the JSON header's length before compression, as the server
		// (and Triton's, and tritonclient) reads it.
		var err error
		if body, err = gzipped(body); err != nil {
			return nil, fmt.Errorf("gzip the request body for %s: %w", u, err)
		}
		extra = extra.Clone()
		if extra == nil {
			extra = http.Header{}
		}
		extra["Content-Encoding"] = []string{"gzip"}
	}
	return c.send(ctx, method, u, body, ct, extra, o, c.retries)
}

func gzipped(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(b)/2 + 64)
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// send performs the request, retrying connection errors and 503 answers
// up to retries times with backoff, all within the call's timeout.
func (c *RESTClient) send(ctx context.Context, method, u string, body []byte, ct string, extra http.Header, o callOptions, retries int) (*answer, error) {
	timeout := c.timeout
	if o.timeout != 0 {
		timeout = o.timeout
	}
	caller, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	for attempt := 0; ; attempt++ {
		a, retry, err := c.once(ctx, method, u, body, ct, extra, o)
		if err != nil && ctx.Err() != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
			err = contextError(method+" "+u, caller, timeout, err)
		}
		if !retry || attempt >= retries {
			if retry && attempt > 0 {
				err = withAttempts(err, attempt+1)
			}
			if a != nil && a.stream != nil {
				a.stream = cancelOnClose{a.stream, cancel} // the timeout covers the whole stream
			} else {
				cancel()
			}
			return a, err
		}
		wait := backoff(attempt)
		if ra := retryAfter(err); ra > wait {
			wait = ra // the server asked for longer (an overloaded kserve-gen server says 1 s)
		}
		select {
		case <-ctx.Done():
			cancel()
			return nil, err
		case <-time.After(wait):
		}
		if c.onRetry != nil {
			c.onRetry(attempt+1, err)
		}
	}
}

// withAttempts adds to the message of err, the last of n failed attempts,
// how many were made (as the gRPC client does): the message alone reads as
// if the server had been asked once.
func withAttempts(err error, n int) error {
	var se *status.Error
	if !errors.As(err, &se) {
		return err
	}
	e := *se
	e.Message = fmt.Sprintf("%s (%d attempts)", se.Message, n)
	return &e
}

// maxRetryAfter caps the wait a server's Retry-After may ask for.
const maxRetryAfter = 30 * time.Second

// retryAfter is the wait the Retry-After header of a 503 answer asks for
// (delay-seconds, or an HTTP date), 0 when there is none.
func retryAfter(err error) time.Duration {
	var he *HTTPError
	if !errors.As(err, &he) || he.RetryAfter == "" {
		return 0
	}
	return min(retryafter.Parse(he.RetryAfter), maxRetryAfter)
}

func (c *RESTClient) once(ctx context.Context, method, u string, body []byte, ct string, extra http.Header, o callOptions) (a *answer, retry bool, err error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, false, fmt.Errorf("build request for %s: %w", u, err)
	}
	for k, v := range o.headers {
		hr.Header[k] = v
	}
	for k, v := range extra {
		hr.Header[k] = v
	}
	if ct != "" {
		hr.Header.Set("Content-Type", ct)
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, fmt.Errorf("%s %s: %w", method, u, ctx.Err())
		}
		return nil, true, status.Unavailable(fmt.Sprintf("could not reach %s: %v", u, unwrapURLError(err)), err)
	}
	if o.stream && resp.StatusCode/100 == 2 && isEventStream(resp.Header.Get("Content-Type")) {
		if o.respHeaders != nil {
			*o.respHeaders = resp.Header
		}
		return &answer{header: resp.Header, stream: resp.Body}, false, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, fmt.Errorf("%s %s: read answer: %w", method, u, ctx.Err())
		}
		return nil, true, status.Unavailable(fmt.Sprintf("reading the answer of %s failed: %v", u, err), err)
	}
	if o.respHeaders != nil {
		*o.respHeaders = resp.Header
	}
	if resp.StatusCode/100 != 2 {
		he := &HTTPError{StatusCode: resp.StatusCode, URL: u, Message: errorMessage(b), RetryAfter: resp.Header.Get("Retry-After")}
		return nil, resp.StatusCode == http.StatusServiceUnavailable, &status.Error{Kind: kindOfHTTP(resp.StatusCode), Message: he.Message, Err: he}
	}
	return &answer{header: resp.Header, body: b}, false, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errorMessage extracts KServe's {"error": "..."} (or FastAPI's
// {"detail": ...}) from an error body; other bodies are returned as text.
func errorMessage(b []byte) string {
	var v struct {
		Error  *string         `json:"error"`
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(b, &v) == nil {
		if v.Error != nil {
			return *v.Error
		}
		if len(v.Detail) != 0 {
			var s string
			if json.Unmarshal(v.Detail, &s) == nil {
				return s
			}
			return string(v.Detail)
		}
	}
	return strings.TrimSpace(string(b))
}

func kindOfHTTP(code int) status.Kind {
	switch code {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return status.KindInvalidInput
	case http.StatusNotFound:
		return status.KindModelNotFound
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		return status.KindUnavailable
	case http.StatusGatewayTimeout:
		return status.KindUpstreamTimeout
	case http.StatusNotImplemented:
		return status.KindNotImplemented
	case http.StatusRequestEntityTooLarge:
		return status.KindPayloadTooLarge
	case http.StatusUnsupportedMediaType:
		return status.KindUnsupportedMediaType
	case http.StatusRequestHeaderFieldsTooLarge:
		return status.KindHeadersTooLarge
	}
	return status.KindInternal
}

func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
