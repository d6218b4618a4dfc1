// Package model declares what a model served by the runtime implements.
// Every model implements Model and Predictor; the other interfaces are
// optional capabilities, found by type assertion (like http.Flusher).
// The root runtime package re-exports these names.
package model

import (
	"context"
	"net/http"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// Model is the lifecycle every served model has. Load runs at start-up,
// while the server already listens (probes see the model not ready), and
// again for each repository load request (POST
// /v2/repository/models/{name}/load), typically after an unload. The
// server never runs two Loads of one model at once, nor its Unload during
// its Load (at shutdown: within the time the Unloads get, the grace period
// but at least 5 s); a server stopped during Load cancels Load's context.
// Ready is asked by every readiness probe and request, and must be cheap
// and safe for concurrent use.
type Model interface {
	Name() string
	Load(ctx context.Context) error
	Ready() bool
}

// Predictor runs inference. req.Protocol says whether the request is v1
// (Body / Instances) or v2 (typed Inputs); infer.PredictResponse builds the
// conventional response for either. Predict may be called concurrently (up
// to --max_asyncio_workers calls at once, unless the model is Unbounded);
// ctx is the request's, ended when its client goes away.
//
// An error's kind (package status, found through %w wrapping) decides the
// answer: status.InvalidInput is a 400 with its message, an error without
// a kind a 500 reading "<Go type> : <text>", as KServe's generic handler
// writes "<exception class> : <text>": the type is the first down the %w
// chain that is not errors.New's or fmt.Errorf's own ("OpError : feature
// store: dial tcp ..."), "Error" when there is none ("Error : boom");
// status.New(status.KindInternal, msg) is a 500 reading msg alone.
type Predictor interface {
	Predict(ctx context.Context, req *infer.Request, h *Headers) (*infer.Response, error)
}

// Preprocessor transforms a request before Predict (or Explain). It may
// return req changed, or a new request, of another protocol too (a
// transformer builds its predictor's v2 request from v1 instances, or sets
// a v1 Payload); the answer still goes out in the protocol the request
// arrived on (see infer.Response). Like Predict, it may be called
// concurrently.
type Preprocessor interface {
	Preprocess(ctx context.Context, req *infer.Request, h *Headers) (*infer.Request, error)
}

// Postprocessor transforms a response after Predict (or Explain). Like
// Predict, it may be called concurrently.
type Postprocessor interface {
	Postprocess(ctx context.Context, resp *infer.Response, h *Headers) (*infer.Response, error)
}

// Explainer answers v1 :explain requests. Models without it answer 501
// "Could not find explainer_host." as KServe does.
type Explainer interface {
	Explain(ctx context.Context, req *infer.Request, h *Headers) (*infer.Response, error)
}

// MetadataProvider describes the model's tensors for v2 model metadata
// (KServe's get_input_types / get_output_types). Without it both lists are empty.
type MetadataProvider interface {
	InputsMetadata() []TensorMetadata
	OutputsMetadata() []TensorMetadata
}

// Labeler names the classes of a model's outputs, by index, for the
// classification extension (infer.ClassificationParameter): Triton's
// label_filename. Labels may return nil for an output without names.
type Labeler interface {
	Labels(output string) []string
}

// PlatformProvider sets the "platform" of v2 model metadata (default "").
type PlatformProvider interface {
	Platform() string
}

// NotReadyReasoner says why a model is not ready. The reason follows
// KServe's "Model with name m is not ready." in the 503 of every request and
// readiness probe that finds the model not ready, and "Server is not
// ready." on /v2/health/ready: a transformer whose predictor is down says so
// there, instead of a bare 503 its caller cannot tell from a model still
// loading. "" means no reason is known.
type NotReadyReasoner interface {
	NotReadyReason() string
}

// Unloader releases a model's resources when it is unloaded or the server
// stops (KServe's stop()).
type Unloader interface {
	Unload(ctx context.Context) error
}

// Unbounded marks a model whose Predict should not count against the
// server's --max_asyncio_workers limit, e.g. because it queues work for a
// dynamic batcher that needs many requests in flight at once.
type Unbounded interface {
	Unbounded() bool
}

// OutputForwarder marks a model whose Predict passes the request's
// requested outputs, with their parameters, on to another server that may
// answer the classification extension itself (forward.Model: a
// transformer's predictor). An output asked for classification that comes
// back BYTES was classified there and is kept as it is, instead of being
// classified a second time (infer.ClassifyForwarded).
type OutputForwarder interface {
	ForwardsOutputs() bool
}

// TensorMetadata is one entry of v2 model metadata inputs/outputs.
type TensorMetadata struct {
	// Name is the tensor's name, as in requests and responses.
	Name string `json:"name"`
	// Datatype is the tensor's datatype.
	Datatype infer.Datatype `json:"datatype"`
	// Shape is the tensor's shape; -1 marks a variable dimension (the
	// batch).
	Shape []int64 `json:"shape"`
}

// Headers carries the request headers (HTTP headers, or gRPC metadata) into
// the model and the headers the model wants on the response (HTTP response
// headers, or gRPC header metadata). Keys are canonicalised like http.Header.
type Headers struct {
	// Request holds the request's headers (gRPC: its metadata); Get reads
	// one.
	Request http.Header
	// Response is nil until the model sets a header (with Set or Add, or
	// by assigning a map): most requests set none, so none is allocated.
	Response http.Header
}

// NewHeaders returns Headers over req (may be nil) with no response headers.
func NewHeaders(req http.Header) *Headers {
	if req == nil {
		req = http.Header{}
	}
	return &Headers{Request: req}
}

// Get returns the first value of request header key.
func (h *Headers) Get(key string) string { return h.Request.Get(key) }

// HeaderValue is h.Get(key) for a key already in canonical form
// ("Content-Type"): Get canonicalises the key again on every call, which the
// server's per-request lookups of constant keys need not pay.
func HeaderValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set sets response header key (the seed sets "prediction-time-latency").
func (h *Headers) Set(key, value string) {
	if h.Response == nil {
		h.Response = http.Header{}
	}
	h.Response.Set(key, value)
}

// Add adds value to response header key, keeping its earlier values (a
// second Set-Cookie, a Link per relation). Use it rather than
// h.Response.Add, which panics while no header has been set (Response is
// nil until then).
func (h *Headers) Add(key, value string) {
	if h.Response == nil {
		h.Response = http.Header{}
	}
	h.Response.Add(key, value)
}
