// Package forward is KServe's transformer pattern: a model whose Predict
// sends the (preprocessed) request to a remote predictor over v1 REST, v2
// REST or v2 gRPC (--predictor_host, --predictor_protocol, …) and returns
// its answer for postprocessing.
//
// Embed *Model in a transformer and add Preprocess / Postprocess:
//
//	type Transformer struct{ *forward.Model }
//
//	func (t *Transformer) Preprocess(ctx context.Context, req *infer.Request, h *model.Headers) (*infer.Request, error) { … }
//
//	fwd, err := forward.NewModel(cfg.ModelName, forward.FromConfig(*cfg, os.Getenv))
//	runtime.NewServer(*cfg).Run(ctx, &Transformer{fwd})
//
// Differences from KServe, all fixes: every predictor error names the
// predictor; a predictor that cannot be reached is 503 / UNAVAILABLE (KServe
// answers 500), one that does not answer within
// --predictor_request_timeout_seconds is 504 / DEADLINE_EXCEEDED (KServe:
// 500 "ReadTimeout : …"),
// --predictor_request_retries applies to REST too, and with
// --enable_predictor_health_check the transformer's readiness follows the
// predictor's readiness of the model, polled in the background so that
// probes stay cheap.
package forward

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/capool"
	"github.com/kserve-gen/kserve-gen/runtime/internal/headerval"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// ForwardedHeaders are the only request headers passed on to the
// predictor: KServe's three (x-request-id, x-b3-traceid, authorization)
// plus the rest of the trace context. KServe passes on x-b3-traceid alone,
// which is not enough for a trace to continue through a transformer: Istio
// (Envoy) and OpenTelemetry need the span id, the sampling decision and
// W3C trace context as well (Istio's list of headers an application must
// propagate; grpc-trace-bin, binary, is left out).
var ForwardedHeaders = []string{
	"X-Request-Id", "Authorization",
	"X-B3-Traceid", "X-B3-Spanid", "X-B3-Parentspanid", "X-B3-Sampled", "X-B3-Flags", "B3",
	"Traceparent", "Tracestate", "Baggage",
	"X-Ot-Span-Context", "X-Cloud-Trace-Context",
}

// Config says where and how to reach the predictor.
type Config struct {
	Host        string        // --predictor_host: host[:port]
	Protocol    string        // --predictor_protocol: v1 (also ""), v2 or grpc-v2
	UseSSL      bool          // --predictor_use_ssl: https / TLS
	Timeout     time.Duration // --predictor_request_timeout_seconds (0: none)
	Retries     int           // --predictor_request_retries
	HealthCheck bool          // --enable_predictor_health_check
	// CABundle is a PEM file of CAs trusted for TLS to the predictor
	// ($REQUESTS_CA_BUNDLE, else $CURL_CA_BUNDLE); "" uses the system roots.
	CABundle string
	// CABundleFrom is where CABundle came from ("$REQUESTS_CA_BUNDLE"),
	// for the error when it cannot be used; "" names it "predictor CA bundle".
	CABundleFrom string
	// HealthInterval is how often the predictor's readiness is polled when
	// HealthCheck is on (0: one second).
	HealthInterval time.Duration
}

// FromConfig takes the predictor settings from the server configuration
// and the CA bundle from the environment (getenv nil: os.Getenv).
func FromConfig(c config.Config, getenv func(string) string) Config {
	if getenv == nil {
		getenv = os.Getenv
	}
	ca, from := getenv("REQUESTS_CA_BUNDLE"), "$REQUESTS_CA_BUNDLE"
	if ca == "" {
		ca, from = getenv("CURL_CA_BUNDLE"), "$CURL_CA_BUNDLE"
	}
	if ca == "" {
		from = ""
	}
	return Config{
		Host:         c.PredictorHost,
		Protocol:     c.PredictorProtocol,
		UseSSL:       c.PredictorUseSSL,
		Timeout:      time.Duration(c.PredictorRequestTimeoutSeconds) * time.Second,
		Retries:      c.PredictorRequestRetries,
		HealthCheck:  c.EnablePredictorHealthCheck,
		CABundle:     ca,
		CABundleFrom: from,
	}
}

// Forwarder sends requests to the predictor. It is safe for concurrent use.
type Forwarder struct {
	cfg  Config
	base string // REST base URL
	rest *client.RESTClient
	grpc *client.GRPCClient
	obs  atomic.Pointer[observer] // Observe's
}

// Observer is told about the calls to the predictor: the server counts
// them in kserve_predictor_retries_total and
// kserve_predictor_failures_total (metrics.Predictor).
type Observer interface {
	// Retry is called as each retry of a call is made.
	Retry()
	// Failure is called for a call that failed after its last attempt,
	// with client.FailureCode's name for how it ended. A call cut short
	// because the transformer's own request ended (its client gone, its
	// deadline passed) is not the predictor's failure, and not reported.
	Failure(code string)
}

// observer boxes an Observer for atomic.Pointer.
type observer struct{ Observer }

// Observe has o told about the calls to the predictor from now on (nil:
// no longer). The server sets it for a model with a Forwarder.
func (f *Forwarder) Observe(o Observer) {
	if o == nil {
		f.obs.Store(nil)
		return
	}
	f.obs.Store(&observer{o})
}

// onRetry is the clients' retry hook: the hot path pays for Observe only
// when a call is retried or fails.
func (f *Forwarder) onRetry(int, error) {
	if o := f.obs.Load(); o != nil {
		o.Retry()
	}
}

// Protocol is the predictor protocol: v1, v2 or grpc-v2.
func (f *Forwarder) Protocol() string { return f.cfg.Protocol }

// NewForwarder checks cfg and builds the client for its protocol. No
// connection is made until the first request.
func NewForwarder(cfg Config) (*Forwarder, error) {
	if cfg.Host == "" {
		return nil, status.NotImplemented("Could not find predictor_host.")
	}
	if scheme, _, ok := strings.Cut(cfg.Host, "://"); ok {
		// KServe passes a bare host; a URL here would become
		// "http://http://..." and fail on every request instead of now.
		return nil, fmt.Errorf("--predictor_host %q: give HOST[:PORT] without %s:// (--predictor_use_ssl selects https/TLS)", cfg.Host, scheme)
	}
	if cfg.Protocol == "" {
		cfg.Protocol = config.ProtocolV1
	}
	var tlsCfg *tls.Config
	if cfg.UseSSL {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.CABundle != "" {
			// Named by its variable: the user passed --predictor_use_ssl,
			// and may not know that one set for Python's requests is read.
			what := "predictor CA bundle"
			if cfg.CABundleFrom != "" {
				what = cfg.CABundleFrom + ", the CAs trusted with --predictor_use_ssl"
			}
			pool, err := capool.Load(cfg.CABundle)
			if errors.Is(err, capool.ErrNoCertificate) {
				// The file goes next to the variable that named it.
				if cfg.CABundleFrom != "" {
					what = fmt.Sprintf("%s (%s), the CAs trusted with --predictor_use_ssl", cfg.CABundleFrom, cfg.CABundle)
				} else {
					what += " " + cfg.CABundle
				}
				return nil, fmt.Errorf("%s: %w", what, capool.ErrNoCertificate)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			tlsCfg.RootCAs = pool
		}
	}
	f := &Forwarder{cfg: cfg}
	switch cfg.Protocol {
	case config.ProtocolV1, config.ProtocolV2:
		scheme := "http://"
		opts := []client.RESTOption{client.WithProtocol(client.Protocol(cfg.Protocol)),
			client.WithRESTTimeout(cfg.Timeout), client.WithRESTRetries(cfg.Retries), client.WithRESTRetryObserver(f.onRetry)}
		if cfg.UseSSL {
			scheme = "https://"
			opts = append(opts, client.WithRESTTLS(tlsCfg))
		}
		f.base = scheme + cfg.Host
		rc, err := client.NewREST(opts...)
		if err != nil {
			return nil, err
		}
		f.rest = rc
	case config.ProtocolGRPCV2:
		opts := []client.GRPCOption{client.WithGRPCTimeout(cfg.Timeout), client.WithGRPCRetries(cfg.Retries), client.WithGRPCRetryObserver(f.onRetry)}
		if cfg.UseSSL {
			opts = append(opts, client.WithTLS(tlsCfg))
		}
		gc, err := client.NewGRPC(cfg.Host, opts...)
		if err != nil {
			return nil, err
		}
		f.grpc = gc
	default:
		return nil, status.UnsupportedProtocol(cfg.Protocol)
	}
	return f, nil
}

// Close releases the connections.
func (f *Forwarder) Close() error {
	if f.grpc != nil {
		return f.grpc.Close()
	}
	return nil
}

// forwardedHeaders keeps only the headers KServe passes to the predictor.
func forwardedHeaders(h *model.Headers) http.Header {
	out := http.Header{}
	if h == nil {
		return out
	}
	for _, k := range ForwardedHeaders {
		if v := h.Request.Values(k); len(v) != 0 {
			out[k] = v
		}
	}
	return out
}

// dropUnprintable leaves out the values gRPC metadata cannot carry: it
// takes printable ASCII only, where an HTTP header may hold UTF-8 (an
// x-request-id of "café-1"). grpc-go refuses a call with such a value, so
// every request that has it would fail, where a REST predictor gets it.
func dropUnprintable(h http.Header) {
	for k, vs := range h {
		if !slices.ContainsFunc(vs, func(v string) bool { return !printableASCII(v) }) {
			continue
		}
		// A new slice: vs is the caller's request header.
		kept := slices.DeleteFunc(slices.Clone(vs), func(v string) bool { return !printableASCII(v) })
		if len(kept) == 0 {
			delete(h, k)
		} else {
			h[k] = kept
		}
	}
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Predict sends req to the model name on the predictor (KServe addresses
// the predictor with the transformer's own model name). A v1 predictor
// needs a v1 request (Body or Payload); v2 and grpc-v2 need typed inputs.
func (f *Forwarder) Predict(ctx context.Context, name string, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	hdr := forwardedHeaders(h)
	out := *req
	out.ModelName = name
	var resp *infer.Response
	var err error
	switch f.cfg.Protocol {
	case config.ProtocolV1:
		if len(req.Inputs) != 0 && req.Body == nil && req.Payload == nil {
			return nil, status.InvalidInputf("predictor protocol v1 needs a v1 payload, but the request for model %s holds v2 tensors", name)
		}
		resp, err = f.rest.Infer(ctx, f.base, &out, client.WithHeaders(hdr))
	case config.ProtocolV2:
		if req.Protocol == infer.ProtocolV1 && len(req.Inputs) == 0 {
			return nil, status.InvalidInputf("predictor protocol v2 needs v2 tensors, but the request for model %s is a v1 payload", name)
		}
		resp, err = f.rest.Infer(ctx, f.base, &out, client.WithHeaders(hdr))
	default:
		if req.Protocol == infer.ProtocolV1 && len(req.Inputs) == 0 {
			return nil, status.InvalidInputf("predictor protocol grpc-v2 needs v2 tensors, but the request for model %s is a v1 payload", name)
		}
		dropUnprintable(hdr)
		// KServe marks forwarded gRPC calls with these two metadata entries.
		hdr.Set("Request_type", "grpc_v2")
		hdr.Set("Response_type", "grpc_v2")
		resp, err = f.grpc.Infer(ctx, &out, client.WithHeaders(hdr))
	}
	if err != nil {
		return nil, f.predictorError(ctx, err, hdr)
	}
	return resp, nil
}

// predictorError says that err is the predictor's, and which predictor's:
// "predictor HOST (PROTOCOL): <its message>", of the same kind, except
//   - a predictor that cannot be reached (or answers 503 / UNAVAILABLE):
//     "predictor HOST (PROTOCOL) is unavailable: …", 503 / UNAVAILABLE;
//   - a predictor that did not answer within --predictor_request_timeout_seconds:
//     an upstream timeout (504 / DEADLINE_EXCEEDED) naming the timeout;
//   - a model the predictor does not serve: a server error (500), because the
//     deployment is wrong, not the client's request: the transformer serves
//     that model and says so on its readiness endpoints;
//   - headers the predictor refuses as too large (headersRefused): 431 /
//     RESOURCE_EXHAUSTED naming the largest of sent, the headers forwarded,
//     since the client can send smaller ones and the predictor is not at
//     fault (grpcio and grpcserver take 16 KiB of metadata, where the
//     transformer's REST side takes net/http's 1 MiB of headers).
//
// When the transformer's own request has ended (its client gone, or its
// deadline passed), err is returned as it is, for the transport to answer
// as the caller's cancel or deadline.
func (f *Forwarder) predictorError(ctx context.Context, err error, sent http.Header) error {
	if ctx.Err() != nil {
		return err
	}
	if o := f.obs.Load(); o != nil {
		if code := client.FailureCode(err); code != "" {
			o.Failure(code)
		}
	}
	who := fmt.Sprintf("predictor %s (%s)", f.cfg.Host, f.cfg.Protocol)
	if headersRefused(err) {
		return &status.Error{Kind: status.KindHeadersTooLarge, Message: fmt.Sprintf("%s refused the request's headers as too large: %s; %s",
			who, status.Message(err), headerSizes(sent)), Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		msg := who + " did not answer in time"
		if f.cfg.Timeout > 0 {
			msg = fmt.Sprintf("%s did not answer within %s (--predictor_request_timeout_seconds)", who, f.cfg.Timeout)
		}
		return status.UpstreamTimeout(msg, err)
	}
	msg := err.Error()
	var se *status.Error
	if errors.As(err, &se) {
		msg = se.Message
	}
	switch k := status.KindOf(err); k {
	case status.KindUnavailable:
		return status.Unavailable(who+" is unavailable: "+msg, err)
	case status.KindModelNotFound:
		return &status.Error{Kind: status.KindInternal, Message: who + ": " + msg, Err: err}
	default:
		return &status.Error{Kind: k, Message: who + ": " + msg, Err: err}
	}
}

// headersRefused reports whether err is a predictor refusing the headers
// it was sent as too large, in any of the forms that takes: grpc-go's
// client refusing to send metadata over the limit the predictor advertised
// (SETTINGS_MAX_HEADER_LIST_SIZE; INTERNAL "header list size to send
// violates the maximum size (16384 bytes) set by server"), a grpc-go
// predictor resetting a call whose metadata came before its limit was
// known (INTERNAL "stream terminated by RST_STREAM with error code:
// FRAME_SIZE_ERROR": nothing else it resets with that code), grpcio's
// RESOURCE_EXHAUSTED "received metadata size exceeds hard limit …", and a
// REST predictor's 431.
func headersRefused(err error) bool {
	if status.KindOf(err) == status.KindHeadersTooLarge {
		return true
	}
	var se *status.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Kind {
	case status.KindInternal:
		return strings.HasPrefix(se.Message, "header list size to send violates the maximum size") ||
			se.Message == "stream terminated by RST_STREAM with error code: FRAME_SIZE_ERROR"
	case status.KindPayloadTooLarge:
		return strings.Contains(se.Message, "metadata size exceeds")
	}
	return false
}

// headerSizes says how large the headers h are as HTTP/2 counts a header
// list (each name and value, plus 32 bytes a field), and which one is the
// largest: what a client trims to be served.
func headerSizes(h http.Header) string {
	total, largestKey, largest := headerval.Sizes(h)
	if largestKey == "" {
		return "it was sent no headers of the request"
	}
	return fmt.Sprintf("the request's headers forwarded to it take %d bytes as HTTP/2 counts them (each name and value plus 32), %s %d of them",
		total, largestKey, largest)
}

// ModelReady asks the predictor whether model name is ready.
func (f *Forwarder) ModelReady(ctx context.Context, name string) (bool, error) {
	if f.grpc != nil {
		return f.grpc.IsModelReady(ctx, name)
	}
	return f.rest.IsModelReady(ctx, f.base, name)
}

// Model is a model whose Predict forwards to the predictor. Embed it in a
// transformer to add Preprocess and Postprocess.
type Model struct {
	name string
	cfg  Config
	fwd  *Forwarder

	loaded    atomic.Bool
	remoteOK  atomic.Bool
	stopPoll  context.CancelFunc
	pollDone  chan struct{}
	pollMu    sync.Mutex
	lastError atomic.Pointer[string]
}

// NewModel returns a forwarding model called name.
func NewModel(name string, cfg Config) (*Model, error) {
	f, err := NewForwarder(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = time.Second
	}
	return &Model{name: name, cfg: cfg, fwd: f}, nil
}

// Name is the model's name, also used on the predictor.
func (m *Model) Name() string { return m.name }

// Forwarder returns the model's forwarder.
func (m *Model) Forwarder() *Forwarder { return m.fwd }

// Load marks the model loaded; with the predictor health check it asks the
// predictor once whether it is ready for the model (for at most
// HealthInterval) and then keeps polling in the background, logging the
// changes on ctx's logger (model.Logger: the server's).
//
// The first answer is awaited because the repository extension's load
// decides from Ready as soon as Load returns: without it, a load after an
// unload would be refused (503 "not ready", the predictor not yet asked) or
// accepted on the answer from before the unload.
func (m *Model) Load(ctx context.Context) error {
	m.loaded.Store(true)
	if !m.cfg.HealthCheck {
		return nil
	}
	m.pollMu.Lock()
	defer m.pollMu.Unlock()
	if m.stopPoll != nil {
		return nil
	}
	log := model.Logger(ctx)
	pctx, cancel := context.WithCancel(context.Background())
	m.stopPoll, m.pollDone = cancel, make(chan struct{})
	m.check(ctx, log, true)
	go m.poll(pctx, log, m.pollDone)
	return nil
}

// poll asks the predictor whether it is ready for the model every
// HealthInterval until ctx ends.
func (m *Model) poll(ctx context.Context, log *slog.Logger, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(m.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.check(ctx, log, false)
	}
}

// check asks the predictor once and records the answer. It logs each
// change on log, not each check: a WARNING with the reason when the
// predictor stops being ready (or answering), including on the first
// check, and INFO when it is ready again. A check cut short by ctx records
// nothing: it was not answered.
func (m *Model) check(ctx context.Context, log *slog.Logger, first bool) {
	who := fmt.Sprintf("predictor %s (%s)", m.cfg.Host, m.cfg.Protocol)
	cctx, cancel := context.WithTimeout(ctx, m.cfg.HealthInterval)
	ok, err := m.fwd.ModelReady(cctx, m.name)
	cancel()
	if ctx.Err() != nil {
		return
	}
	ready := err == nil && ok
	was := m.remoteOK.Swap(ready)
	switch {
	case ready:
		m.lastError.Store(nil)
		if !was && !first {
			log.Info(fmt.Sprintf("%s is ready for model %s again", who, m.name))
		}
	default:
		reason := fmt.Sprintf("%s reports model %s not ready", who, m.name)
		if err != nil {
			reason = fmt.Sprintf("%s is not ready for model %s: %s", who, m.name, status.Message(err))
		}
		m.lastError.Store(&reason)
		if was || first {
			log.Warn(fmt.Sprintf("%s; model %s is not ready until the predictor is", reason, m.name))
		}
	}
}

// Ready is true once loaded and, with the predictor health check, while
// the predictor reports the model ready.
func (m *Model) Ready() bool {
	return m.loaded.Load() && (!m.cfg.HealthCheck || m.remoteOK.Load())
}

// PredictorError is why the predictor health check last failed, naming the
// predictor ("predictor HOST (PROTOCOL) reports model m not ready", or "…
// is not ready for model m: <error>"), "" when it passed.
func (m *Model) PredictorError() string {
	if p := m.lastError.Load(); p != nil {
		return *p
	}
	return ""
}

// NotReadyReason follows "Model with name m is not ready." in the
// transformer's 503s while the predictor health check fails: the reason
// PredictorError gives.
func (m *Model) NotReadyReason() string {
	if !m.loaded.Load() {
		return ""
	}
	return m.PredictorError()
}

// Predict forwards req to the predictor.
func (m *Model) Predict(ctx context.Context, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	return m.fwd.Predict(ctx, m.name, req, h)
}

// ForwardsOutputs tells the server that the predictor gets the request's
// requested outputs with their parameters (model.OutputForwarder): an
// output it answered with the classification extension is not classified
// again.
func (m *Model) ForwardsOutputs() bool { return true }

// Unload stops the health polling and closes the predictor connection.
func (m *Model) Unload(context.Context) error {
	m.loaded.Store(false)
	m.pollMu.Lock()
	stop, done := m.stopPoll, m.pollDone
	m.stopPoll, m.pollDone = nil, nil
	m.pollMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	// Not ready until the next Load has asked the predictor again.
	m.remoteOK.Store(false)
	return nil
}

// Close releases the predictor connection; call it when the model is gone for good.
func (m *Model) Close() error { return errors.Join(m.Unload(context.Background()), m.fwd.Close()) }
