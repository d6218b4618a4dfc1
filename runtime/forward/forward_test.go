package forward_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/forward"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/capool"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// predictor echoes v1 instances / v2 inputs and records the headers of the
// last request.
type predictor struct {
	mu      sync.Mutex
	headers http.Header
}

func (p *predictor) Name() string               { return "model" }
func (p *predictor) Load(context.Context) error { return nil }
func (p *predictor) Ready() bool                { return true }
func (p *predictor) Predict(_ context.Context, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	p.mu.Lock()
	p.headers = h.Request.Clone()
	p.mu.Unlock()
	if req.Protocol == infer.ProtocolV1 {
		inst, err := req.Instances()
		if err != nil {
			return nil, err
		}
		return infer.PredictResponse(req, "model", inst)
	}
	return &infer.Response{ID: req.ID, ModelName: "model", Outputs: []*infer.Tensor{{Name: "output-0", Datatype: req.Inputs[0].Datatype, Shape: req.Inputs[0].Shape, Data: req.Inputs[0].Data}}}, nil
}

func (p *predictor) seen() http.Header {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.headers
}

// transformer doubles FP32 v2 inputs before forwarding and wraps v1
// instances in a list.
type transformer struct{ *forward.Model }

func (t *transformer) Preprocess(_ context.Context, req *infer.Request, _ *model.Headers) (*infer.Request, error) {
	if req.Protocol == infer.ProtocolV1 {
		inst, err := req.Instances()
		if err != nil {
			return nil, err
		}
		req.Payload = map[string]any{"instances": []any{inst}}
		return req, nil
	}
	in, err := req.Inputs[0].AsFloat32()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(in))
	for i, v := range in {
		out[i] = 2 * v
	}
	req.Inputs[0] = infer.NewTensor(req.Inputs[0].Name, req.Inputs[0].Shape, out)
	return req, nil
}

// server is a real model server on loopback; rest and grpc are its
// addresses as host:port, the way forward.Config takes them.
type server struct {
	*runtimetest.Server
	rest, grpc string
}

// serve runs the real model server (REST and gRPC) and waits until m has
// loaded: the tests start from a ready predictor.
func serve(t *testing.T, m model.Model) *server {
	t.Helper()
	s := runtimetest.Start(t, m,
		runtimetest.WithConfig(func(c *config.Config) { c.GracePeriod = 2 * time.Second }),
		runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithReadyTimeout(10*time.Second))
	return &server{Server: s, rest: strings.TrimPrefix(s.URL, "http://"), grpc: s.GRPCAddr}
}

// stop stops the predictor as SIGTERM would.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.Stop(); err != nil {
		t.Errorf("stop predictor: %v", err)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var sentHeaders = http.Header{
	"X-Request-Id":      {"req-42"},
	"X-B3-Traceid":      {"b3"},
	"Authorization":     {"Bearer t"},
	"X-Other":           {"not forwarded"},
	"X-B3-Spanid":       {"span-1"},
	"X-B3-Parentspanid": {"span-0"},
	"X-B3-Sampled":      {"1"},
	"Traceparent":       {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	"Tracestate":        {"vendor=v1"},
	"Baggage":           {"tenant=acme"},
}

func TestTransformerForwardsOverEveryProtocol(t *testing.T) {
	for _, proto := range []string{config.ProtocolV1, config.ProtocolV2, config.ProtocolGRPCV2} {
		t.Run(proto, func(t *testing.T) {
			p := &predictor{}
			ps := serve(t, p)
			host := ps.rest
			if proto == config.ProtocolGRPCV2 {
				host = ps.grpc
			}
			fm, err := forward.NewModel("model", forward.Config{Host: host, Protocol: proto, Timeout: 5 * time.Second})
			require.NoError(t, err)
			ts := serve(t, &transformer{fm})
			ctx := ctxT(t)

			var call func() (*infer.Response, error)
			switch proto {
			case config.ProtocolV1:
				c, err := client.NewREST(client.WithRESTRetries(0))
				require.NoError(t, err)
				require.NoError(t, c.WaitForModelReady(ctx, "http://"+ts.rest, "model", 10*time.Millisecond))
				call = func() (*infer.Response, error) {
					return c.Infer(ctx, "http://"+ts.rest, &infer.Request{ModelName: "model", IsJSON: true, Body: []byte(`{"instances":[1,2]}`)}, client.WithHeaders(sentHeaders))
				}
			case config.ProtocolV2:
				c, err := client.NewREST(client.WithProtocol(client.V2), client.WithRESTRetries(0))
				require.NoError(t, err)
				require.NoError(t, c.WaitForModelReady(ctx, "http://"+ts.rest, "model", 10*time.Millisecond))
				call = func() (*infer.Response, error) {
					return c.Infer(ctx, "http://"+ts.rest, &infer.Request{ModelName: "model",
						Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{1, 2}, []float32{1.5, -2})}}, client.WithHeaders(sentHeaders))
				}
			default:
				c, err := client.NewGRPC(ts.grpc, client.WithGRPCRetries(0))
				require.NoError(t, err)
				t.Cleanup(func() { c.Close() })
				require.NoError(t, c.WaitForModelReady(ctx, "model", 10*time.Millisecond))
				call = func() (*infer.Response, error) {
					return c.Infer(ctx, &infer.Request{ModelName: "model",
						Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{1, 2}, []float32{1.5, -2})}}, client.WithHeaders(sentHeaders))
				}
			}

			resp, err := call()
			require.NoError(t, err)
			if proto == config.ProtocolV1 {
				assert.JSONEq(t, `{"predictions":[[1,2]]}`, string(resp.Body.(json.RawMessage)))
			} else {
				require.Len(t, resp.Outputs, 1)
				assert.Equal(t, []float32{3, -4}, resp.Outputs[0].Data)
				assert.Equal(t, []int64{1, 2}, resp.Outputs[0].Shape)
			}

			// KServe's three headers and the trace context reach the
			// predictor; nothing else does.
			got := p.seen()
			for k, v := range sentHeaders {
				if k == "X-Other" {
					assert.Empty(t, got.Values(k))
					continue
				}
				assert.Equal(t, v, got.Values(k), k)
			}
			if proto == config.ProtocolGRPCV2 {
				assert.Equal(t, "grpc_v2", got.Get("Request_type"))
				assert.Equal(t, "grpc_v2", got.Get("Response_type"))
			}

			// The predictor goes away mid-test: 503 / UNAVAILABLE with a message.
			ps.stop(t)
			_, err = call()
			require.Error(t, err)
			assert.Equal(t, status.KindUnavailable, status.KindOf(err), "got %v", err)
			switch proto {
			case config.ProtocolGRPCV2:
				assert.Contains(t, status.Message(err), "predictor "+host+" (grpc-v2) is unavailable: ")
			default:
				var he *client.HTTPError
				require.ErrorAs(t, err, &he)
				assert.Equal(t, http.StatusServiceUnavailable, he.StatusCode)
				// A kept-alive connection the stopping predictor closed reads
				// EOF (or a reset), or, closed just before the request was
				// written, is net/http's "server closed idle connection" (a
				// POST is not retried); a new one is refused. Each is "down".
				assert.Regexp(t, `^predictor `+host+` \(`+proto+`\) is unavailable: could not reach http://`+host+`/v[12]/models/model(:predict|/infer): (dial tcp `+host+`: connect: connection refused|EOF|.*connection reset by peer|http: server closed idle connection)$`, he.Message)
			}
		})
	}
}

// troubled is a predictor model that fails the way its name says.
type troubled struct{ name string }

func (m troubled) Name() string               { return m.name }
func (m troubled) Load(context.Context) error { return nil }
func (m troubled) Ready() bool                { return true }
func (m troubled) Predict(ctx context.Context, _ *infer.Request, _ *model.Headers) (*infer.Response, error) {
	switch m.name {
	case "notready":
		return nil, status.ModelNotReady(m.name, "")
	case "invalid":
		return nil, status.InvalidInput("pixel values must be in [0, 1]")
	case "slow":
		select {
		case <-time.After(5 * time.Second):
		case <-ctx.Done():
		}
	}
	return nil, errors.New("disk on fire")
}

// Every predictor error says that it is the predictor's, and which one, over
// every protocol: the kind is kept (a client's bad input is still 400, an
// unavailable predictor 503) except that a model the predictor does not
// serve is the deployment's fault (500), not the client's (404), and a
// predictor that does not answer within --predictor_request_timeout_seconds
// is an upstream timeout (504), not the caller's deadline.
func TestPredictorErrorsNameThePredictor(t *testing.T) {
	ps := runtimetest.StartModels(t, []model.Model{&predictor{}, troubled{"notready"}, troubled{"invalid"}, troubled{"plain"}, troubled{"slow"}},
		runtimetest.WithConfig(func(c *config.Config) { c.GracePeriod = 2 * time.Second }),
		runtimetest.WithLogOutput(io.Discard, io.Discard), runtimetest.WithReadyTimeout(10*time.Second))
	rest, grpc := strings.TrimPrefix(ps.URL, "http://"), ps.GRPCAddr
	for _, proto := range []string{config.ProtocolV1, config.ProtocolV2, config.ProtocolGRPCV2} {
		host := rest
		if proto == config.ProtocolGRPCV2 {
			host = grpc
		}
		f, err := forward.NewForwarder(forward.Config{Host: host, Protocol: proto, Timeout: 300 * time.Millisecond})
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		who := "predictor " + host + " (" + proto + ")"
		cases := []struct {
			name string
			kind status.Kind
			msg  string
		}{
			{"nope", status.KindInternal, who + ": Model with name nope does not exist."},
			{"notready", status.KindUnavailable, who + " is unavailable: Model with name notready is not ready."},
			{"invalid", status.KindInvalidInput, who + ": pixel values must be in [0, 1]"},
			{"plain", status.KindInternal, who + ": Error : disk on fire"},
			{"slow", status.KindUpstreamTimeout, who + " did not answer within 300ms (--predictor_request_timeout_seconds)"},
		}
		for _, c := range cases {
			t.Run(proto+"/"+c.name, func(t *testing.T) {
				req := &infer.Request{Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{1}, []float32{1})}}
				if proto == config.ProtocolV1 {
					req = &infer.Request{Protocol: infer.ProtocolV1, IsJSON: true, Body: []byte(`{"instances":[1]}`)}
				}
				_, err := f.Predict(ctxT(t), c.name, req, nil)
				require.Error(t, err)
				assert.Equal(t, c.kind, status.KindOf(err), "got %v", err)
				assert.Equal(t, c.msg, status.Message(err))
				if c.name == "slow" {
					assert.ErrorIs(t, err, context.DeadlineExceeded)
				}
			})
		}
	}
}

// Through a transformer's own gRPC server: its client sees the predictor's
// failure as a server error of the transformer's (INTERNAL, or
// DEADLINE_EXCEEDED for a predictor that did not answer in time, which
// grpcserver logs), not as its own cancel or its own unknown model.
func TestTransformerAnswersPredictorFailuresAsItsOwn(t *testing.T) {
	ps := serve(t, troubled{"slow"})
	var models []model.Model
	for _, name := range []string{"nope", "slow"} {
		fm, err := forward.NewModel(name, forward.Config{Host: ps.grpc, Protocol: config.ProtocolGRPCV2, Timeout: 300 * time.Millisecond})
		require.NoError(t, err)
		models = append(models, fm)
	}
	ts := runtimetest.StartModels(t, models,
		runtimetest.WithConfig(func(c *config.Config) { c.GracePeriod = 2 * time.Second }),
		runtimetest.WithLogOutput(io.Discard, io.Discard), runtimetest.WithReadyTimeout(10*time.Second))
	c, err := client.NewGRPC(ts.GRPCAddr, client.WithGRPCRetries(0))
	require.NoError(t, err)
	defer c.Close()
	req := func(name string) *infer.Request {
		return &infer.Request{ModelName: name, Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{1}, []float32{1})}}
	}

	_, err = c.Infer(ctxT(t), req("nope"))
	assert.Equal(t, status.KindInternal, status.KindOf(err), "got %v", err)
	assert.Equal(t, "predictor "+ps.grpc+" (grpc-v2): Model with name nope does not exist.", status.Message(err))
	st, _ := grpcstatus.FromError(err)
	assert.Equal(t, codes.Internal, st.Code())

	_, err = c.Infer(ctxT(t), req("slow"))
	assert.Equal(t, status.KindUpstreamTimeout, status.KindOf(err), "got %v", err)
	assert.Equal(t, "predictor "+ps.grpc+" (grpc-v2) did not answer within 300ms (--predictor_request_timeout_seconds)", status.Message(err))
	st, _ = grpcstatus.FromError(err)
	assert.Equal(t, codes.DeadlineExceeded, st.Code())

	// Over REST, the same failures: 500 and 504 with the predictor named
	// (not the 404 of a model the transformer serves, nor a 499 cancel).
	for _, c := range []struct {
		name string
		code int
		want string
	}{
		{"nope", 500, `{"error":"predictor ` + ps.grpc + ` (grpc-v2): Model with name nope does not exist."}`},
		{"slow", 504, `{"error":"predictor ` + ps.grpc + ` (grpc-v2) did not answer within 300ms (--predictor_request_timeout_seconds)"}`},
	} {
		resp, err := http.Post(ts.URL+"/v2/models/"+c.name+"/infer", "application/json",
			strings.NewReader(`{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`))
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, c.code, resp.StatusCode, c.name)
		assert.Equal(t, c.want, string(body), c.name)
	}
}

func TestHealthCheckFollowsThePredictor(t *testing.T) {
	ps := serve(t, &predictor{})
	fm, err := forward.NewModel("model", forward.Config{Host: ps.rest, Protocol: config.ProtocolV2, HealthCheck: true, HealthInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	ts := serve(t, &transformer{fm})
	c, err := client.NewREST(client.WithProtocol(client.V2), client.WithRESTRetries(0))
	require.NoError(t, err)
	ctx := ctxT(t)
	require.NoError(t, c.WaitForModelReady(ctx, "http://"+ts.rest, "model", 10*time.Millisecond))
	ready, err := c.IsServerReady(ctx, "http://"+ts.rest)
	require.NoError(t, err)
	assert.True(t, ready)

	ps.stop(t)
	require.Eventually(t, func() bool { return !fm.Ready() }, 5*time.Second, 10*time.Millisecond)
	assert.Contains(t, fm.PredictorError(), "could not reach http://"+ps.rest+"/v2/models/model/ready")
	ready, err = c.IsServerReady(ctx, "http://"+ts.rest)
	require.NoError(t, err)
	assert.False(t, ready)
	_, err = c.Infer(ctx, "http://"+ts.rest, &infer.Request{ModelName: "model", Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{1}, []float32{1})}})
	reason := "predictor " + ps.rest + " (v2) is not ready for model model: could not reach http://" + ps.rest + "/v2/models/model/ready"
	assert.Equal(t, status.KindUnavailable, status.KindOf(err))
	assert.True(t, strings.HasPrefix(status.Message(err), "Model with name model is not ready. "+reason), status.Message(err))

	// The probes' 503s carry the reason too, on every path a client or a
	// kubelet asks.
	for _, c := range []struct{ path, prefix string }{
		{"/v2/models/model/ready", `{"error":"Model with name model is not ready. ` + reason},
		{"/v1/models/model", `{"error":"Model with name model is not ready. ` + reason},
		{"/v2/health/ready", `{"error":"Server is not ready. Model with name model is not ready. ` + reason},
	} {
		resp, err := http.Get("http://" + ts.rest + c.path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, c.path)
		assert.True(t, strings.HasPrefix(string(body), c.prefix), "%s: %s", c.path, body)
	}
}

// toggled is a predictor model whose readiness the test sets.
type toggled struct{ ready atomic.Bool }

func (m *toggled) Name() string               { return "model" }
func (m *toggled) Load(context.Context) error { m.ready.Store(true); return nil }
func (m *toggled) Ready() bool                { return m.ready.Load() }
func (m *toggled) Predict(context.Context, *infer.Request, *model.Headers) (*infer.Response, error) {
	return nil, errors.New("not called")
}

// The health check logs each change of the predictor's readiness, with the
// reason, on the logger Load was given: a WARNING when the predictor stops
// being ready or reachable, INFO when it is ready again; nothing per poll.
func TestHealthCheckLogsChanges(t *testing.T) {
	// Each poll has one interval to answer: 100 ms, so that a poll slowed
	// by a loaded machine is not taken for a predictor that does not answer.
	p := &toggled{}
	ps := serve(t, p)
	fm, err := forward.NewModel("model", forward.Config{Host: ps.rest, Protocol: config.ProtocolV2, HealthCheck: true, HealthInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	var logs runtimetest.LogBuffer
	require.NoError(t, fm.Load(model.ContextWithLogger(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)))))
	t.Cleanup(func() { fm.Close() })
	lines := func() []string { return strings.Split(strings.TrimSpace(logs.String()), "\n") }
	who := "predictor " + ps.rest + " (v2)"

	require.Eventually(t, fm.Ready, 5*time.Second, 5*time.Millisecond)
	p.ready.Store(false)
	require.Eventually(t, func() bool { return !fm.Ready() }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, who+" reports model model not ready", fm.PredictorError())
	time.Sleep(250 * time.Millisecond) // several polls
	p.ready.Store(true)
	require.Eventually(t, fm.Ready, 5*time.Second, 5*time.Millisecond)
	assert.Empty(t, fm.PredictorError())
	time.Sleep(250 * time.Millisecond)
	ps.stop(t)
	require.Eventually(t, func() bool { return !fm.Ready() }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(250 * time.Millisecond)

	got := lines()
	require.Len(t, got, 3, "one line per change:\n%s", logs.String())
	assert.Contains(t, got[0], `level=WARN msg="`+who+` reports model model not ready; model model is not ready until the predictor is"`)
	assert.Contains(t, got[1], `level=INFO msg="`+who+` is ready for model model again"`)
	assert.Regexp(t, `level=WARN msg="`+regexp.QuoteMeta(who)+` is not ready for model model: could not reach http://`+regexp.QuoteMeta(ps.rest)+`/v2/models/model/ready: .*; model model is not ready until the predictor is"`, got[2])
}

func TestConfigErrors(t *testing.T) {
	_, err := forward.NewModel("m", forward.Config{})
	assert.EqualError(t, err, "Could not find predictor_host.")
	assert.Equal(t, status.KindNotImplemented, status.KindOf(err))
	_, err = forward.NewModel("m", forward.Config{Host: "h:1", Protocol: "v3"})
	assert.EqualError(t, err, "Unsupported protocol v3.")
	_, err = forward.NewModel("m", forward.Config{Host: "http://localhost:8085"})
	assert.EqualError(t, err, `--predictor_host "http://localhost:8085": give HOST[:PORT] without http:// (--predictor_use_ssl selects https/TLS)`)

	cfg := config.Default()
	cfg.PredictorHost, cfg.PredictorProtocol, cfg.PredictorUseSSL = "p:8081", "grpc-v2", true
	cfg.PredictorRequestTimeoutSeconds, cfg.PredictorRequestRetries, cfg.EnablePredictorHealthCheck = 30, 2, true
	env := map[string]string{"CURL_CA_BUNDLE": "/etc/ca.pem"}
	assert.Equal(t, forward.Config{Host: "p:8081", Protocol: "grpc-v2", UseSSL: true, Timeout: 30 * time.Second, Retries: 2, HealthCheck: true, CABundle: "/etc/ca.pem", CABundleFrom: "$CURL_CA_BUNDLE"},
		forward.FromConfig(cfg, func(k string) string { return env[k] }))
}

// A CA bundle that cannot be used stops the transformer with an exact
// error for each way it can be wrong, a missing file or one without a
// certificate, whatever the predictor protocol. One taken from the
// environment names the variable it came from: the user passed
// --predictor_use_ssl, not a file, and may not know that
// $REQUESTS_CA_BUNDLE (set for Python's requests) is read; one given
// directly (Config.CABundle) is the "predictor CA bundle".
func TestCABundleErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	junk := filepath.Join(dir, "junk.pem")
	require.NoError(t, os.WriteFile(junk, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600))
	for _, tc := range []struct {
		env, file, want string // env "": Config.CABundle
		is              error
	}{
		{"REQUESTS_CA_BUNDLE", missing, "$REQUESTS_CA_BUNDLE, the CAs trusted with --predictor_use_ssl: open " + missing + ": no such file or directory", fs.ErrNotExist},
		{"REQUESTS_CA_BUNDLE", junk, "$REQUESTS_CA_BUNDLE (" + junk + "), the CAs trusted with --predictor_use_ssl: no PEM certificate found", capool.ErrNoCertificate},
		{"CURL_CA_BUNDLE", missing, "$CURL_CA_BUNDLE, the CAs trusted with --predictor_use_ssl: open " + missing + ": no such file or directory", fs.ErrNotExist},
		{"CURL_CA_BUNDLE", junk, "$CURL_CA_BUNDLE (" + junk + "), the CAs trusted with --predictor_use_ssl: no PEM certificate found", capool.ErrNoCertificate},
		{"", missing, "predictor CA bundle: open " + missing + ": no such file or directory", fs.ErrNotExist},
		{"", junk, "predictor CA bundle " + junk + ": no PEM certificate found", capool.ErrNoCertificate},
	} {
		for _, proto := range []string{config.ProtocolV1, config.ProtocolV2, config.ProtocolGRPCV2} {
			cfg := config.Default()
			cfg.PredictorHost, cfg.PredictorProtocol, cfg.PredictorUseSSL = "p:443", proto, true
			fc := forward.FromConfig(cfg, func(k string) string {
				if k == tc.env {
					return tc.file
				}
				return ""
			})
			if tc.env == "" {
				fc.CABundle = tc.file
			}
			_, err := forward.NewModel("m", fc)
			assert.EqualError(t, err, tc.want, "%s=%s, %s", tc.env, tc.file, proto)
			assert.ErrorIs(t, err, tc.is)
		}
	}
	// Without --predictor_use_ssl the bundle is not read.
	_, err := forward.NewModel("m", forward.Config{Host: "p:80", CABundle: missing, CABundleFrom: "$REQUESTS_CA_BUNDLE"})
	assert.NoError(t, err)
}

func TestProtocolMismatchIsAClearError(t *testing.T) {
	f, err := forward.NewForwarder(forward.Config{Host: "127.0.0.1:1", Protocol: config.ProtocolV2})
	require.NoError(t, err)
	_, err = f.Predict(context.Background(), "m", &infer.Request{IsJSON: true, Body: []byte(`{"instances":[]}`)}, nil)
	assert.EqualError(t, err, "predictor protocol v2 needs v2 tensors, but the request for model m is a v1 payload")
}

// streamer answers v1 with server-sent events, "data: <i>", one at a time:
// each after the test asks for it.
type streamer struct{ next chan struct{} }

func (s *streamer) Name() string               { return "model" }
func (s *streamer) Load(context.Context) error { return nil }
func (s *streamer) Ready() bool                { return true }
func (s *streamer) Predict(ctx context.Context, _ *infer.Request, _ *model.Headers) (*infer.Response, error) {
	return &infer.Response{ContentType: "text/event-stream", Stream: func(yield func([]byte, error) bool) {
		for i := range 3 {
			if i > 0 {
				select {
				case <-s.next:
				case <-ctx.Done():
					return
				}
			}
			if !yield([]byte("data: "+strconv.Itoa(i)+"\n\n"), nil) {
				return
			}
		}
	}}, nil
}

// A transformer in front of a predictor that streams passes the stream on
// as it comes (KServe's transformer would fail to decode it as JSON): each
// event reaches the client before the predictor makes the next.
func TestTransformerPassesAStreamOn(t *testing.T) {
	p := &streamer{next: make(chan struct{})}
	ps := serve(t, p)
	fm, err := forward.NewModel("model", forward.Config{Host: ps.rest, Protocol: config.ProtocolV1, Timeout: 5 * time.Second})
	require.NoError(t, err)
	ts := serve(t, fm)

	resp, err := http.Post("http://"+ts.rest+"/v1/models/model:predict", "application/json", strings.NewReader(`{"instances":[1]}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	rd := bufio.NewReader(resp.Body)
	for i := range 3 {
		if i > 0 {
			p.next <- struct{}{}
		}
		line, err := rd.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "data: "+strconv.Itoa(i)+"\n", line)
		_, _ = rd.ReadString('\n')
	}
	rest, err := io.ReadAll(rd)
	require.NoError(t, err)
	assert.Empty(t, rest)

	// The Go client hands a stream over the same way.
	c, err := client.NewREST(client.WithRESTRetries(0))
	require.NoError(t, err)
	go func() { p.next <- struct{}{}; p.next <- struct{}{} }()
	got, err := c.Infer(ctxT(t), "http://"+ps.rest, &infer.Request{ModelName: "model", IsJSON: true, Body: []byte(`{}`)})
	require.NoError(t, err)
	require.NotNil(t, got.Stream)
	var all []byte
	for chunk, err := range got.Stream {
		require.NoError(t, err)
		all = append(all, chunk...)
	}
	assert.Equal(t, "data: 0\n\ndata: 1\n\ndata: 2\n\n", string(all))
}

// The repository extension's load answers from the transformer's readiness
// as soon as Load returns, so with the health check Load asks the predictor
// before it returns: a predictor that is ready again after an unload is
// loaded by the first call, not refused with "not ready" until a poll ran.
func TestHealthCheckRepositoryLoadAsksThePredictor(t *testing.T) {
	p := &toggled{}
	ps := serve(t, p)
	fm, err := forward.NewModel("model", forward.Config{Host: ps.rest, Protocol: config.ProtocolV2, HealthCheck: true, HealthInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	ts := serve(t, &transformer{fm})

	p.ready.Store(false)
	require.Eventually(t, func() bool { return !fm.Ready() }, 5*time.Second, 5*time.Millisecond)
	r := ts.PostJSON(t, "/v2/repository/models/model/unload", "")
	require.Equal(t, http.StatusOK, r.Code, r.Body)
	assert.Equal(t, `{"name":"model","unload":true}`, r.Body)
	p.ready.Store(true)

	r = ts.PostJSON(t, "/v2/repository/models/model/load", "")
	assert.Equal(t, http.StatusOK, r.Code)
	assert.Equal(t, `{"name":"model","load":true}`, r.Body)
	r = ts.Get(t, "/v2/models/model/ready")
	assert.Equal(t, `{"name":"model","ready":true}`, r.Body)

	// Unloaded while the predictor is ready, loaded again while it is
	// not: refused, rather than loaded on the answer from before.
	r = ts.PostJSON(t, "/v2/repository/models/model/unload", "")
	require.Equal(t, http.StatusOK, r.Code, r.Body)
	p.ready.Store(false)
	r = ts.PostJSON(t, "/v2/repository/models/model/load", "")
	assert.Equal(t, http.StatusServiceUnavailable, r.Code)
	assert.Equal(t, `{"error":"Model with name model is not ready. predictor `+ps.rest+` (v2) reports model model not ready"}`, r.Body)
}

// A header value gRPC metadata cannot carry (it takes printable ASCII
// only; an HTTP header may hold UTF-8) is left out of the call to a
// grpc-v2 predictor, as it would reach a v2 REST one, instead of grpc-go
// refusing the call and the transformer answering 500 for every request
// that has it.
func TestGRPCPredictorGetsTheHeadersItCanCarry(t *testing.T) {
	p := &predictor{}
	ps := serve(t, p)
	fm, err := forward.NewModel("model", forward.Config{Host: ps.grpc, Protocol: config.ProtocolGRPCV2, Timeout: 5 * time.Second})
	require.NoError(t, err)
	ts := serve(t, &transformer{fm})
	req, err := http.NewRequest(http.MethodPost, "http://"+ts.rest+"/v2/models/model/infer",
		strings.NewReader(`{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", "café-1")
	req.Header.Set("Authorization", "Bearer t")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, "Bearer t", p.seen().Get("Authorization"))
	assert.Empty(t, p.seen().Values("X-Request-Id"))
}

// A request whose forwarded headers are more than the predictor takes
// (grpcserver and grpcio: 16 KiB of metadata, where the transformer's REST
// side takes net/http's 1 MiB of headers) is the client's to fix: 431
// naming the predictor and the largest header, not a 500 blaming the
// predictor. The first request opens the connection, so that grpc-go's
// client knows the predictor's limit and refuses the call itself.
func TestPredictorRefusingHeadersIsA431NamingTheHeader(t *testing.T) {
	ps := serve(t, &predictor{})
	fm, err := forward.NewModel("model", forward.Config{Host: ps.grpc, Protocol: config.ProtocolGRPCV2, Timeout: 5 * time.Second})
	require.NoError(t, err)
	ts := serve(t, &transformer{fm})
	post := func(auth string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, "http://"+ts.rest+"/v2/models/model/infer",
			strings.NewReader(`{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", auth)
		req.Header.Set("X-Not-Forwarded", strings.Repeat("n", 64<<10))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	code, body := post("Bearer t")
	require.Equal(t, http.StatusOK, code, body)

	auth := "Bearer " + strings.Repeat("t", 20000)
	code, body = post(auth)
	authSize := len("Authorization") + len(auth) + 32
	total := authSize + len("Request_type") + len("grpc_v2") + 32 + len("Response_type") + len("grpc_v2") + 32
	want, err := json.Marshal(map[string]string{"error": "predictor " + ps.grpc + " (grpc-v2) refused the request's headers as too large: " +
		"header list size to send violates the maximum size (16384 bytes) set by server; the request's headers forwarded to it take " +
		strconv.Itoa(total) + " bytes as HTTP/2 counts them (each name and value plus 32), Authorization " + strconv.Itoa(authSize) + " of them"})
	require.NoError(t, err)
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, code)
	assert.Equal(t, string(want), body)

	code, body = post("Bearer t")
	assert.Equal(t, http.StatusOK, code, "the next request is served: %s", body)
}

// A REST predictor's 431 (net/http's answer to headers over its
// MaxHeaderBytes) is the client's too, named the same way.
func TestRESTPredictorRefusingHeadersIsA431(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{MaxHeaderBytes: 1 << 10, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("a request over MaxHeaderBytes reached the handler")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	f, err := forward.NewForwarder(forward.Config{Host: ln.Addr().String(), Protocol: config.ProtocolV2, Timeout: 5 * time.Second})
	require.NoError(t, err)
	h := &model.Headers{Request: http.Header{"Traceparent": {strings.Repeat("0", 8000)}, "X-Request-Id": {"r-1"}}}
	_, err = f.Predict(ctxT(t), "model", &infer.Request{Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{1}, []float32{1})}}, h)
	require.Error(t, err)
	assert.Equal(t, status.KindHeadersTooLarge, status.KindOf(err), "got %v", err)
	tp, id := len("Traceparent")+8000+32, len("X-Request-Id")+3+32
	assert.Equal(t, "predictor "+ln.Addr().String()+" (v2) refused the request's headers as too large: 431 Request Header Fields Too Large; "+
		"the request's headers forwarded to it take "+strconv.Itoa(tp+id)+" bytes as HTTP/2 counts them (each name and value plus 32), Traceparent "+
		strconv.Itoa(tp)+" of them", status.Message(err))
}
