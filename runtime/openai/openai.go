// Package openai serves OpenAI-compatible routes for models that implement
// its interfaces, as KServe's Python server does for models that subclass
// OpenAIModel (kserve/protocol/rest/openai): POST /v1/completions,
// /v1/chat/completions, /v1/embeddings and /v1/rerank, GET /v1/models and
// /v1/models/{model_name}, under $KSERVE_OPENAI_ROUTE_PREFIX (default
// /openai; set empty, the POST routes at /v1/... and the GET ones left to
// KServe's v1 routes of those paths). The server (package runtime) registers them when it serves
// at least one such model; OpenAI's clients pointed at
// http://host/openai/v1 then talk to it.
//
// A model implements runtime.Model (Name, Load, Ready) and any of
// Completer, CompletionStreamer, ChatCompleter, ChatStreamer, Embedder and
// Reranker; it needs no Predict. It is loaded, probed, listed and unloaded
// like any other model.
package openai

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/internal/headerval"
	"github.com/kserve-gen/kserve-gen/runtime/internal/pydantic"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/rest"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Completer answers POST /v1/completions without "stream": true.
//
// Every request carries the headers it came with (Header) and, never nil,
// the headers to answer it with (ResponseHeader: req.ResponseHeader.Set
// and Add, as a KServe model sets context["response"].headers). They go
// out with the answer: with a plain one when the method returns it, with a
// stream when its first chunk is sent, so a streaming method sets them
// before it yields that chunk; ones set later are not sent, the header
// block having gone. An error answer carries none of them, as KServe's
// does not. Content-Type and Content-Length stay the server's.
type Completer interface {
	Complete(ctx context.Context, req *CompletionRequest) (*Completion, error)
}

// CompletionStreamer answers POST /v1/completions with "stream": true.
//
// Streams are iterators (iter.Seq2) rather than callbacks: the model
// writes a plain generator, like the async generator a KServe model
// returns, the server decides when each chunk is written and flushed,
// and a client that goes away ends the model's loop (yield returns false)
// as well as cancelling ctx. An error yielded before the first chunk is
// answered as a plain error response (status and body); one yielded later
// is sent as an error event, then [DONE].
type CompletionStreamer interface {
	CompleteStream(ctx context.Context, req *CompletionRequest) iter.Seq2[*CompletionChunk, error]
}

// ChatCompleter answers POST /v1/chat/completions without "stream": true.
type ChatCompleter interface {
	ChatComplete(ctx context.Context, req *ChatCompletionRequest) (*ChatCompletion, error)
}

// ChatStreamer answers POST /v1/chat/completions with "stream": true (see
// CompletionStreamer).
type ChatStreamer interface {
	ChatCompleteStream(ctx context.Context, req *ChatCompletionRequest) iter.Seq2[*ChatCompletionChunk, error]
}

// Embedder answers POST /v1/embeddings. It returns the vectors as float32s;
// the server sends them as the request's encoding_format asks.
type Embedder interface {
	Embed(ctx context.Context, req *EmbeddingRequest) (*Embedding, error)
}

// Reranker answers POST /v1/rerank.
type Reranker interface {
	Rerank(ctx context.Context, req *RerankRequest) (*Rerank, error)
}

// Is reports whether m is an OpenAI model: one that implements at least
// one of the package's interfaces (KServe: a subclass of OpenAIModel).
func Is(m model.Model) bool {
	switch m.(type) {
	case Completer, CompletionStreamer, ChatCompleter, ChatStreamer, Embedder, Reranker:
		return true
	}
	return false
}

// Options configure the routes.
type Options struct {
	// Prefix is the path the routes sit under ("/openai":
	// $KSERVE_OPENAI_ROUTE_PREFIX, config.Config.OpenAIRoutePrefix). With
	// "" the POST routes are at /v1/..., and the GET ones are left out:
	// their paths are KServe's v1 model list and readiness, which KServe
	// matches first.
	Prefix string
	// MaxRequestBodySize bounds a request body (--max_request_body_size;
	// <= 0: no bound).
	MaxRequestBodySize int64
	// Logger receives the "Exception: ..." lines of failed requests; nil
	// discards them.
	Logger *slog.Logger
	// Started is the server's start, the "created" of every model in
	// /v1/models (KServe: OpenAIEndpoints' start_time); zero is when
	// Routes is called.
	Started time.Time
	// Now and NewID stamp responses whose model left "created" and "id"
	// empty; nil means time.Now and a random hex id (tests fix them).
	Now   func() time.Time
	NewID func() string
}

// Routes returns the OpenAI routes over dp's models (KServe's
// register_openai_endpoints), for the server's rest.Options.Routes. A
// request's "model" chooses the model; a model that is not an OpenAI model
// is not found there, as KServe's OpenAI dataplane holds only those.
func Routes(dp *dataplane.Dataplane, opts Options) []rest.Route {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Started.IsZero() {
		opts.Started = time.Now()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = randomID
	}
	s := &server{dp: dp, opts: opts}
	p := opts.Prefix
	routes := []rest.Route{
		{Pattern: "POST " + p + "/v1/completions", Handler: http.HandlerFunc(s.completions)},
		{Pattern: "POST " + p + "/v1/chat/completions", Handler: http.HandlerFunc(s.chatCompletions)},
		{Pattern: "POST " + p + "/v1/embeddings", Handler: http.HandlerFunc(s.embeddings)},
		{Pattern: "POST " + p + "/v1/rerank", Handler: http.HandlerFunc(s.rerank)},
	}
	if p == "" {
		// GET /v1/models and /v1/models/{model_name} are then KServe's v1
		// model list and model readiness, which KServe registers before
		// the OpenAI router (RESTServer._register_endpoints), so Starlette,
		// matching routes in that order, never reaches OpenAI's.
		return routes
	}
	return append(routes,
		rest.Route{Pattern: "GET " + p + "/v1/models", Handler: http.HandlerFunc(s.models)},
		rest.Route{Pattern: "GET " + p + "/v1/models/{model_name}", Handler: http.HandlerFunc(s.health)},
	)
}

// randomID is 32 random hex digits, as vLLM's random_uuid (uuid4().hex).
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type server struct {
	dp   *dataplane.Dataplane
	opts Options
}

// modelCard is one entry of /v1/models: vLLM's ModelCard, which KServe
// fills with owned_by "" and the server's start as created, and writes
// whole (its fields left at their defaults included).
type modelCard struct {
	ID          string   `json:"id"`
	Object      string   `json:"object"`
	Created     int64    `json:"created"`
	OwnedBy     string   `json:"owned_by"`
	Root        *string  `json:"root"`
	Parent      *string  `json:"parent"`
	MaxModelLen *int     `json:"max_model_len"`
	Permission  []string `json:"permission"`
}

// models answers GET /v1/models: the OpenAI models served, ready or not.
func (s *server) models(w http.ResponseWriter, r *http.Request) {
	cards := []modelCard{}
	for _, name := range s.dp.Names() {
		if e, err := s.dp.Lookup(name); err == nil && Is(e.Model) {
			cards = append(cards, modelCard{ID: name, Object: "model", Created: s.opts.Started.Unix(), Permission: []string{}})
		}
	}
	s.writeJSON(w, r, struct {
		Object string      `json:"object"`
		Data   []modelCard `json:"data"`
	}{"list", cards})
}

// health answers GET /v1/models/{model_name}: 200 null for a ready OpenAI
// model, else 503 "Model with name m is not ready." — an unknown model
// included, as KServe's health turns model_ready's ModelNotFound into
// ModelNotReady.
func (s *server) health(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("model_name")
	e, err := s.dp.Lookup(name)
	switch {
	case err != nil || !Is(e.Model):
		s.writeError(w, r, status.ModelNotReady(name, ""))
	default:
		if ok, _ := s.dp.ModelReady(name); !ok {
			s.writeError(w, r, s.dp.ModelNotReady(name))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("null"))
	}
}

// lookup finds the ready OpenAI model a request names (KServe's endpoints
// check model_ready first: 404 ModelNotFound for a name its OpenAI
// dataplane does not hold, 503 ModelNotReady), and takes a model slot for
// it (--max_asyncio_workers, --max_queued_requests), which release frees.
// A body without "model" names Python's None, as KServe's message does.
func (s *server) lookup(ctx context.Context, name string) (m model.Model, release func(), err error) {
	if name == "" {
		name = "None"
	}
	return s.dp.AcquireKind(ctx, name, Is)
}

// unsupported is KServe's answer for a model without the API asked for
// (OpenAIDataPlane: a 400 ErrorResponse, "Model m does not support
// Completions API").
func unsupported(name, api string) error {
	return &Error{Code: http.StatusBadRequest, Type: "BadRequestError", Message: fmt.Sprintf("Model %s does not support %s", name, api), quiet: true}
}

// read reads and validates the body into req.
func (s *server) read(w http.ResponseWriter, r *http.Request, req any, required ...string) bool {
	body, err := rest.ReadBody(w, r, s.opts.MaxRequestBodySize)
	if err == nil {
		err = pydantic.DecodeRequest(body, req, required...)
	}
	if err != nil {
		s.writeError(w, r, err)
		return false
	}
	return true
}

// begin reads and validates the body into req (required: the fields
// vLLM declares without a default), then finds the ready OpenAI model it
// names and takes a model slot for it; release frees the slot. When ok is
// false the error has been answered.
func (s *server) begin(w http.ResponseWriter, r *http.Request, req any, modelOf func() string, required ...string) (m model.Model, release func(), ok bool) {
	if !s.read(w, r, req, required...) {
		return nil, nil, false
	}
	m, release, err := s.lookup(r.Context(), modelOf())
	if err != nil {
		s.writeError(w, r, err)
		return nil, nil, false
	}
	return m, release, true
}

// answer runs fn, the model's unary method (method, for a panic's
// message; what, for a nil answer's), and writes its answer after fill
// has completed it, or its error.
func answer[R any](s *server, w http.ResponseWriter, r *http.Request, m model.Model, method, what string, hdr http.Header, fn func() (*R, error), fill func(*R)) {
	var resp *R
	err := s.call(m, method, func() (err error) { resp, err = fn(); return err })
	if err == nil && resp == nil {
		err = status.Newf(status.KindInternal, "model %s returned a nil %s", m.Name(), what)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	fill(resp)
	headerval.SetModelHeaders(w.Header(), hdr)
	s.writeJSON(w, r, resp)
}

// streamFrom runs open, the model's streaming method (method, for a
// panic's message), and streams the chunks it returns (stream).
func streamFrom[C any](s *server, w http.ResponseWriter, r *http.Request, m model.Model, method string, hdr http.Header, open func() iter.Seq2[*C, error], stamp func(*C)) {
	var chunks iter.Seq2[*C, error]
	if err := s.call(m, method, func() error { chunks = open(); return nil }); err != nil {
		s.writeError(w, r, err)
		return
	}
	stream(s, w, r, m, hdr, chunks, stamp)
}

func (s *server) completions(w http.ResponseWriter, r *http.Request) {
	var req CompletionRequest
	m, release, ok := s.begin(w, r, &req, func() string { return req.Model }, "prompt")
	if !ok {
		return
	}
	defer release()
	req.Header, req.ResponseHeader = r.Header, http.Header{}
	stamp := s.stamper("cmpl-", req.Model)
	if req.Stream {
		st, ok := m.(CompletionStreamer)
		if !ok {
			s.writeError(w, r, unsupported(m.Name(), "streaming Completions API"))
			return
		}
		streamFrom(s, w, r, m, "CompleteStream", req.ResponseHeader, func() iter.Seq2[*CompletionChunk, error] { return st.CompleteStream(r.Context(), &req) },
			func(c *CompletionChunk) { stamp(&c.ID, &c.Object, "text_completion", &c.Created, &c.Model) })
		return
	}
	c, ok := m.(Completer)
	if !ok {
		s.writeError(w, r, unsupported(m.Name(), "Completions API"))
		return
	}
	answer(s, w, r, m, "Complete", "completion", req.ResponseHeader, func() (*Completion, error) { return c.Complete(r.Context(), &req) },
		func(resp *Completion) {
			stamp(&resp.ID, &resp.Object, "text_completion", &resp.Created, &resp.Model)
			if resp.Choices == nil {
				resp.Choices = []CompletionChoice{} // vLLM's choices: a list, never null
			}
		})
}

func (s *server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	var req ChatCompletionRequest
	m, release, ok := s.begin(w, r, &req, func() string { return req.Model }, "messages")
	if !ok {
		return
	}
	defer release()
	req.Header, req.ResponseHeader = r.Header, http.Header{}
	stamp := s.stamper("chatcmpl-", req.Model)
	if req.Stream {
		st, ok := m.(ChatStreamer)
		if !ok {
			s.writeError(w, r, unsupported(m.Name(), "streaming Chat Completion API"))
			return
		}
		streamFrom(s, w, r, m, "ChatCompleteStream", req.ResponseHeader, func() iter.Seq2[*ChatCompletionChunk, error] { return st.ChatCompleteStream(r.Context(), &req) },
			func(c *ChatCompletionChunk) {
				stamp(&c.ID, &c.Object, "chat.completion.chunk", &c.Created, &c.Model)
				if c.Choices == nil {
					c.Choices = []ChatChunkChoice{} // a usage chunk's: [], as vLLM writes it
				}
			})
		return
	}
	c, ok := m.(ChatCompleter)
	if !ok {
		s.writeError(w, r, unsupported(m.Name(), "Chat Completion API"))
		return
	}
	answer(s, w, r, m, "ChatComplete", "chat completion", req.ResponseHeader, func() (*ChatCompletion, error) { return c.ChatComplete(r.Context(), &req) },
		func(resp *ChatCompletion) {
			stamp(&resp.ID, &resp.Object, "chat.completion", &resp.Created, &resp.Model)
			if resp.Choices == nil {
				resp.Choices = []ChatChoice{}
			}
		})
}

func (s *server) embeddings(w http.ResponseWriter, r *http.Request) {
	var req EmbeddingRequest
	if !s.read(w, r, &req, "input") {
		return
	}
	if req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		// vLLM: encoding_format: Literal["float", "base64"].
		s.writeError(w, r, status.Unprocessable(status.ValidationDetail{
			Type: "literal_error", Loc: []any{"body", "encoding_format"}, Msg: "Input should be 'float' or 'base64'",
			Input: req.EncodingFormat, Ctx: map[string]any{"expected": "'float' or 'base64'"}}))
		return
	}
	m, release, err := s.lookup(r.Context(), req.Model)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	req.Header, req.ResponseHeader = r.Header, http.Header{}
	e, ok := m.(Embedder)
	if !ok {
		s.writeError(w, r, unsupported(m.Name(), "Embeddings API"))
		return
	}
	answer(s, w, r, m, "Embed", "embedding", req.ResponseHeader, func() (*Embedding, error) { return e.Embed(r.Context(), &req) }, func(resp *Embedding) {
		s.stamper("embd-", req.Model)(&resp.ID, &resp.Object, "list", &resp.Created, &resp.Model)
		for i := range resp.Data {
			resp.Data[i].Object = "embedding"
			resp.Data[i].base64 = req.EncodingFormat == "base64"
		}
		if resp.Data == nil {
			resp.Data = []EmbeddingData{}
		}
	})
}

func (s *server) rerank(w http.ResponseWriter, r *http.Request) {
	var req RerankRequest
	m, release, ok := s.begin(w, r, &req, func() string { return req.Model }, "query", "documents")
	if !ok {
		return
	}
	defer release()
	req.Header, req.ResponseHeader = r.Header, http.Header{}
	rr, ok := m.(Reranker)
	if !ok {
		s.writeError(w, r, unsupported(m.Name(), "Rerank API"))
		return
	}
	answer(s, w, r, m, "Rerank", "rerank", req.ResponseHeader, func() (*Rerank, error) { return rr.Rerank(r.Context(), &req) }, func(resp *Rerank) {
		var object string
		var created int64
		s.stamper("rerank-", req.Model)(&resp.ID, &object, "", &created, &resp.Model)
		if resp.Results == nil {
			resp.Results = []RerankResult{}
		}
	})
}

// stamper fills what a model left empty of an answer: its id (prefix and
// one random id per request, shared by a stream's chunks), object, created
// and model (the request's).
func (s *server) stamper(prefix, model string) func(id, object *string, obj string, created *int64, mdl *string) {
	reqID := prefix + s.opts.NewID()
	now := s.opts.Now().Unix()
	return func(id, object *string, obj string, created *int64, mdl *string) {
		if *id == "" {
			*id = reqID
		}
		if obj != "" {
			*object = obj
		}
		if *created == 0 {
			*created = now
		}
		if *mdl == "" {
			*mdl = model
		}
	}
}

// call runs fn, a call of model m's method, turning its panic into an
// error (status.Panic), as the dataplane does for Predict: nothing a model
// does ends the server.
func (s *server) call(m model.Model, method string, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = status.Panic(method+" of model "+m.Name(), p, debug.Stack())
		}
	}()
	return fn()
}

// writeError answers err: an *Error as OpenAI's error body with its code
// (logged as KServe's openai_error_handler logs an OpenAIError), anything
// else with the status, message and log line of KServe's routes
// (rest.WriteErrorBody), but in OpenAI's envelope too.
//
// KServe answers those as its other routes do, {"error": "<message>"},
// which OpenAI's Go SDK cannot read: it fails to decode the string into
// its error object and hands the caller a JSON error in place of the
// status (a 404 for an unknown model reads "json: cannot unmarshal string
// into Go value of type apierror.Error"). Python's and JavaScript's
// clients read both, so the envelope costs them nothing. FastAPI's 422
// bodies stay (every client reads them).
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *Error
	if !errors.As(err, &oe) {
		rest.WriteErrorBody(w, r, s.opts.Logger, err, func(code int, message string) []byte {
			body, _ := (&Error{Code: code, Type: errorType(code), Message: message}).body()
			b, _ := pydantic.Marshal(body)
			return b
		})
		return
	}
	body, code := oe.body()
	if !oe.quiet {
		s.opts.Logger.Error("Exception: " + oe.Message)
	}
	b, _ := pydantic.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// errorType names an error of status code as OpenAI's clients name the
// exception they raise for it (the Python SDK's classes, which vLLM's
// answers use too).
func errorType(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "BadRequestError"
	case http.StatusUnauthorized:
		return "AuthenticationError"
	case http.StatusForbidden:
		return "PermissionDeniedError"
	case http.StatusNotFound:
		return "NotFoundError"
	case http.StatusConflict:
		return "ConflictError"
	case http.StatusUnprocessableEntity:
		return "UnprocessableEntityError"
	case http.StatusTooManyRequests:
		return "RateLimitError"
	}
	if code >= 500 {
		return "InternalServerError"
	}
	return "APIStatusError"
}

// writeJSON writes v as a 200 JSON answer.
func (s *server) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := pydantic.Marshal(v)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("encoding the response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
