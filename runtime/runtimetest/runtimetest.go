// Package runtimetest is the conformance kit for models served by the
// kserve-gen runtime. A generated project calls it from its own go test:
//
//	func TestConformance(t *testing.T) {
//		runtimetest.Run(t, NewCustomModel("custom-model"),
//			runtimetest.WithV1(`{"instances":[...]}`, `{"predictions":[...]}`))
//	}
//
// Run starts the real server (runtime.NewServer) on loopback ports, waits
// until the model is loaded and checks, over real HTTP and gRPC
// connections, what KServe clients, probes and dashboards rely on: health,
// model metadata, v1 and v2 round trips, gRPC parity with REST, and
// KServe's error bodies. Start gives a model's own tests the same server.
package runtimetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
)

// Option changes what Start serves or what Run checks.
type Option func(*settings)

type settings struct {
	configure      []func(*config.Config)
	v1, v2         *exchange
	grpc           bool
	readyTimeout   time.Duration
	logLevel       slog.Level
	noWait         bool
	stdout, stderr io.Writer // access and latency logs; nil: the test log
	serverOpts     []runtime.Option
}

// exchange is one request and, when want is not empty, the exact response
// body expected.
type exchange struct {
	request, want string
}

// WithV1 makes Run send request (a JSON body) to the v1 :predict endpoint
// and expect 200 with exactly want ("" accepts any JSON body).
func WithV1(request, want string) Option {
	return func(s *settings) { s.v1 = &exchange{request, want} }
}

// WithV2 makes Run send request (a JSON InferenceRequest) to the v2 /infer
// endpoint and expect 200 with exactly want ("" accepts any InferenceResponse
// naming the model). Give the request an "id" so the response id is fixed.
// With WithGRPC the same request also goes over gRPC and must give the
// same response.
func WithV2(request, want string) Option {
	return func(s *settings) { s.v2 = &exchange{request, want} }
}

// WithGRPC makes Run check the gRPC endpoint too: health, metadata and,
// with WithV2, the inference round trip.
func WithGRPC() Option { return func(s *settings) { s.grpc = true } }

// WithConfig changes the server configuration before it starts (the
// listeners are always loopback ports chosen by the kernel).
func WithConfig(fn func(*config.Config)) Option {
	return func(s *settings) { s.configure = append(s.configure, fn) }
}

// WithReadyTimeout bounds how long the model may take to load (default one minute).
func WithReadyTimeout(d time.Duration) Option { return func(s *settings) { s.readyTimeout = d } }

// WithLogLevel sets the level of the server's own log lines and the model's
// (runtime.Logger) written to the test log (default warnings and errors
// only). The lines of the logging configuration's streams (access, latency,
// and uvicorn.error's start-up and shutdown lines at INFO) are not filtered
// by it: WithLogOutput sends them elsewhere.
func WithLogLevel(l slog.Level) Option { return func(s *settings) { s.logLevel = l } }

// WithServerOptions passes opts to runtime.NewServer after the test's own
// (listeners, loggers): a middleware or routes of the user's
// (runtime.WithMiddleware, runtime.WithHandler) served as in production.
func WithServerOptions(opts ...runtime.Option) Option {
	return func(s *settings) { s.serverOpts = append(s.serverOpts, opts...) }
}

// WithoutWait makes Start return as soon as the server runs, before its
// models have loaded (for tests of loading and readiness).
func WithoutWait() Option { return func(s *settings) { s.noWait = true } }

// WithLogOutput sends the logging configuration's streams, stdout and
// stderr (KServe's: the access lines, the latency lines, uvicorn.error's
// start-up and shutdown lines), to the given writers instead of the test
// log; a nil writer keeps the test log. io.Discard keeps a load test's
// thousands of lines out.
func WithLogOutput(stdout, stderr io.Writer) Option {
	return func(s *settings) { s.stdout, s.stderr = stdout, stderr }
}

func newSettings(opts []Option) *settings {
	s := &settings{readyTimeout: time.Minute, logLevel: slog.LevelWarn}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Server is a model server running for one test.
type Server struct {
	// URL is the REST base URL, http://127.0.0.1:PORT.
	URL string
	// GRPCAddr is the gRPC address, 127.0.0.1:PORT.
	GRPCAddr string
	// Server is the running server.
	Server *runtime.Server

	http   *http.Client
	cancel context.CancelFunc
	done   chan error // what Run returned
	grace  time.Duration
	once   sync.Once
	err    error
	// openAIPrefix is where the OpenAI routes are served
	// (config.Config.OpenAIRoutePrefix), for Run's checks of them.
	openAIPrefix string
}

// Start serves m on loopback ports until the test ends, and returns once
// the model is loaded. A server that fails to start or stops with an error
// fails the test.
func Start(t testing.TB, m runtime.Model, opts ...Option) *Server {
	t.Helper()
	return StartModels(t, []runtime.Model{m}, opts...)
}

// StartModels is Start for several models in one server (a transformer and
// its predictor, or a multi-model server); the configuration's model name
// is the first model's. It returns once every model is loaded, unless
// WithoutWait.
func StartModels(t testing.TB, models []runtime.Model, opts ...Option) *Server {
	t.Helper()
	if len(models) == 0 {
		t.Fatal("runtimetest: StartModels needs a model")
	}
	s := newSettings(opts)
	cfg := config.Default()
	cfg.ModelName = models[0].Name()
	cfg.EnableGRPC = true
	cfg.EnableLatencyLogging = false
	cfg.GracePeriod = 5 * time.Second
	for _, fn := range s.configure {
		fn(&cfg)
	}
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("runtimetest: listen for REST: %v", err)
	}
	// Access and latency logs go to the test log too, unless WithLogOutput.
	stdout, stderr := s.stdout, s.stderr
	if stdout == nil {
		stdout = testWriter{t}
	}
	if stderr == nil {
		stderr = testWriter{t}
	}
	srvOpts := []runtime.Option{
		runtime.WithHTTPListener(httpLn),
		runtime.WithLogger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: s.logLevel}))),
		runtime.WithLogOutput(stdout, stderr),
	}
	out := &Server{URL: "http://" + httpLn.Addr().String(), http: &http.Client{Timeout: time.Minute}, done: make(chan error, 1), grace: cfg.GracePeriod, openAIPrefix: cfg.OpenAIRoutePrefix}
	if cfg.EnableGRPC {
		grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			httpLn.Close()
			t.Fatalf("runtimetest: listen for gRPC: %v", err)
		}
		srvOpts = append(srvOpts, runtime.WithGRPCListener(grpcLn))
		out.GRPCAddr = grpcLn.Addr().String()
	}
	srv := runtime.NewServer(cfg, append(srvOpts, s.serverOpts...)...)
	out.Server = srv
	ctx, cancel := context.WithCancel(context.Background())
	out.cancel = cancel
	go func() { out.done <- srv.Run(ctx, models...) }()
	t.Cleanup(func() {
		if err := out.Stop(); err != nil {
			t.Errorf("runtimetest: %v", err)
		}
		out.http.CloseIdleConnections()
	})
	if s.noWait {
		return out
	}
	select {
	case <-srv.Ready():
	case err := <-out.done:
		out.done <- err // for Stop
		t.Fatalf("runtimetest: server stopped before %s was ready: %v", describe(models), err)
	case <-time.After(s.readyTimeout):
		t.Fatalf("runtimetest: %s not ready after %s", describe(models), s.readyTimeout)
	}
	return out
}

// describe names models for messages: "model a" or "models a, b".
func describe(models []runtime.Model) string {
	if len(models) == 1 {
		return "model " + models[0].Name()
	}
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.Name()
	}
	return "models " + strings.Join(names, ", ")
}

// Stop stops the server as SIGTERM does (drain, unload the models) and
// returns Run's error; the test's cleanup calls it when the test did not.
func (s *Server) Stop() error {
	s.once.Do(func() {
		s.cancel()
		select {
		case err := <-s.done:
			if err != nil {
				s.err = fmt.Errorf("server stopped with an error: %w", err)
			}
		case <-time.After(s.grace + 5*time.Second):
			s.err = fmt.Errorf("server did not stop within %s", s.grace+5*time.Second)
		}
	})
	return s.err
}

// Response is an HTTP response read in full.
type Response struct {
	// Code is the HTTP status code.
	Code int
	// Header holds the response headers.
	Header http.Header
	// Body is the whole response body.
	Body string
}

// Do sends one request to the server (path starts with /) and reads the
// whole response; transport errors fail the test. contentType "" sends none.
func (s *Server) Do(t testing.TB, method, path, contentType string, body []byte) Response {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		t.Fatalf("runtimetest: %s %s: %v", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("runtimetest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("runtimetest: %s %s: read body: %v", method, path, err)
	}
	return Response{Code: resp.StatusCode, Header: resp.Header, Body: string(data)}
}

// Get is Do for a GET without a body.
func (s *Server) Get(t testing.TB, path string) Response {
	t.Helper()
	return s.Do(t, http.MethodGet, path, "", nil)
}

// PostJSON is Do for a POST of a JSON body.
func (s *Server) PostJSON(t testing.TB, path, body string) Response {
	t.Helper()
	return s.Do(t, http.MethodPost, path, "application/json", []byte(body))
}

// testWriter sends server logs to the test log, so they show only for
// failing tests (or -v).
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// LogBuffer collects what a server or a child process writes from other
// goroutines, for a test to read while it still runs.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it is safe to call from any goroutine, so a LogBuffer
// can be a server's log output (WithLogOutput) or an exec.Cmd's Stdout.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
