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
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
)

// Option changes what Start serves or what Run checks.
type Option func(*settings)

type settings struct {
	configure    []func(*config.Config)
	v1, v2       *exchange
	grpc         bool
	readyTimeout time.Duration
	logLevel     slog.Level
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

// WithLogLevel sets the level of the server logs written to the test log
// (default warnings and errors only).
func WithLogLevel(l slog.Level) Option { return func(s *settings) { s.logLevel = l } }

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

	http *http.Client
}

// Start serves m on loopback ports until the test ends, and returns once
// the model is loaded. A server that fails to start or stops with an error
// fails the test.
func Start(t testing.TB, m runtime.Model, opts ...Option) *Server {
	t.Helper()
	s := newSettings(opts)
	cfg := config.Default()
	cfg.ModelName = m.Name()
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
	srvOpts := []runtime.Option{
		runtime.WithHTTPListener(httpLn),
		runtime.WithLogger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: s.logLevel}))),
		// Access and latency logs go to the test log too.
		runtime.WithLogOutput(testWriter{t}, testWriter{t}),
	}
	out := &Server{URL: "http://" + httpLn.Addr().String(), http: &http.Client{Timeout: time.Minute}}
	if cfg.EnableGRPC {
		grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			httpLn.Close()
			t.Fatalf("runtimetest: listen for gRPC: %v", err)
		}
		srvOpts = append(srvOpts, runtime.WithGRPCListener(grpcLn))
		out.GRPCAddr = grpcLn.Addr().String()
	}
	srv := runtime.NewServer(cfg, srvOpts...)
	out.Server = srv
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, m) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("runtimetest: server stopped with an error: %v", err)
			}
		case <-time.After(cfg.GracePeriod + 5*time.Second):
			t.Errorf("runtimetest: server did not stop within %s of the test's end", cfg.GracePeriod+5*time.Second)
		}
		out.http.CloseIdleConnections()
	})
	select {
	case <-srv.Ready():
	case err := <-done:
		done <- err // for the cleanup
		t.Fatalf("runtimetest: server stopped before model %s was ready: %v", m.Name(), err)
	case <-time.After(s.readyTimeout):
		t.Fatalf("runtimetest: model %s not ready after %s", m.Name(), s.readyTimeout)
	}
	return out
}

// Response is an HTTP response read in full.
type Response struct {
	Code   int
	Header http.Header
	Body   string
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
