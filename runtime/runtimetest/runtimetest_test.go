package runtimetest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/openai"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
	"github.com/kserve-gen/kserve-gen/runtime/timeseries"
)

// doubler answers v1 {"instances":[numbers]} with the numbers doubled and
// v2 FP32 input "x" with output "y" = 2x; it describes its tensors.
type doubler struct {
	name    string
	ready   atomic.Bool
	loadErr error
}

func (d *doubler) Name() string { return d.name }
func (d *doubler) Ready() bool  { return d.ready.Load() }
func (d *doubler) Load(ctx context.Context) error {
	if d.loadErr != nil {
		return d.loadErr
	}
	d.ready.Store(true)
	return nil
}

func (d *doubler) InputsMetadata() []runtime.TensorMetadata {
	return []runtime.TensorMetadata{{Name: "x", Datatype: infer.FP32, Shape: []int64{-1}}}
}

func (d *doubler) OutputsMetadata() []runtime.TensorMetadata {
	return []runtime.TensorMetadata{{Name: "y", Datatype: infer.FP32, Shape: []int64{-1}}}
}

func (d *doubler) Predict(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	if req.Protocol == infer.ProtocolV1 {
		var body struct{ Instances []float64 }
		if err := req.DecodeBody(&body); err != nil {
			return nil, err
		}
		for i := range body.Instances {
			body.Instances[i] *= 2
		}
		return runtime.PredictResponse(req, d.name, body.Instances)
	}
	x := req.Input("x")
	if x == nil {
		return nil, runtime.InvalidInput("no input x")
	}
	data, err := x.AsFloat32()
	if err != nil {
		return nil, err
	}
	y := make([]float32, len(data))
	for i, v := range data {
		y[i] = 2 * v
	}
	return runtime.PredictResponse(req, d.name, infer.NewTensor("y", x.Shape, y))
}

// wrongMeta declares an output the model never gives.
type wrongMeta struct{ *doubler }

func (w wrongMeta) OutputsMetadata() []runtime.TensorMetadata {
	return []runtime.TensorMetadata{{Name: "z", Datatype: infer.INT64, Shape: []int64{1}}}
}

// wrongInputShape declares input x with a fixed size 1.
type wrongInputShape struct{ *doubler }

func (w wrongInputShape) InputsMetadata() []runtime.TensorMetadata {
	return []runtime.TensorMetadata{{Name: "x", Datatype: infer.FP32, Shape: []int64{1}}}
}

const (
	v1Req  = `{"instances":[1,2.5]}`
	v1Want = `{"predictions":[2.0,5.0]}`
	v2Req  = `{"id":"r1","inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2.5]}]}`
	v2Want = `{"model_name":"doubler","model_version":null,"id":"r1","parameters":null,"outputs":[{"name":"y","shape":[2],"datatype":"FP32","parameters":null,"data":[2.0,5.0]}]}`
)

func TestRun_ConformingModelPasses(t *testing.T) {
	runtimetest.Run(t, &doubler{name: "doubler"},
		runtimetest.WithV1(v1Req, v1Want),
		runtimetest.WithV2(v2Req, v2Want),
		runtimetest.WithGRPC())
}

// chat is an OpenAI model without Predict: it answers every chat with "hi".
type chat struct{}

func (chat) Name() string               { return "chat" }
func (chat) Load(context.Context) error { return nil }
func (chat) Ready() bool                { return true }
func (chat) ChatComplete(context.Context, *openai.ChatCompletionRequest) (*openai.ChatCompletion, error) {
	stop := "stop"
	return &openai.ChatCompletion{Choices: []openai.ChatChoice{{Message: openai.ChatMessage{Role: "assistant", Content: openai.Content{Text: "hi"}}, FinishReason: &stop}}}, nil
}

// An OpenAI model passes the kit: its model metadata is KServe's 500 for
// a model that is no InferenceModel, and the OpenAI routes list it, under
// $KSERVE_OPENAI_ROUTE_PREFIX when that moves them.
func TestRun_OpenAIModelPasses(t *testing.T) {
	runtimetest.Run(t, chat{})
	t.Run("prefix", func(t *testing.T) {
		runtimetest.Run(t, chat{}, runtimetest.WithConfig(func(c *config.Config) { c.OpenAIRoutePrefix = "/llm" }))
	})
}

// forecaster is a time-series model without Predict: it forecasts
// nothing.
type forecaster struct{}

func (forecaster) Name() string               { return "forecaster" }
func (forecaster) Load(context.Context) error { return nil }
func (forecaster) Ready() bool                { return true }
func (forecaster) Forecast(context.Context, *timeseries.ForecastRequest) (*timeseries.ForecastResponse, error) {
	return &timeseries.ForecastResponse{}, nil
}

// A time-series model passes the kit: the time-series routes list it.
func TestRun_TimeSeriesModelPasses(t *testing.T) {
	runtimetest.Run(t, forecaster{})
}

func TestStart_ServesOnLoopback(t *testing.T) {
	srv := runtimetest.Start(t, &doubler{name: "doubler"})
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") || !strings.HasPrefix(srv.GRPCAddr, "127.0.0.1:") {
		t.Fatalf("URL %q, GRPCAddr %q: want loopback addresses", srv.URL, srv.GRPCAddr)
	}
	resp := srv.PostJSON(t, "/v1/models/doubler:predict", `{"instances":[3]}`)
	if resp.Code != http.StatusOK || resp.Body != `{"predictions":[6.0]}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("got %d %s %v", resp.Code, resp.Body, resp.Header)
	}
	srv2 := runtimetest.Start(t, &doubler{name: "rest-only"}, runtimetest.WithConfig(func(c *config.Config) { c.EnableGRPC = false }))
	if srv2.GRPCAddr != "" {
		t.Errorf("GRPCAddr = %q with gRPC off, want empty", srv2.GRPCAddr)
	}
}

// idHint is the line Run adds to a failed v2 comparison whose request has
// no id.
const idHint = `(the WithV2 request has no "id", so each answer carries a new uuid4 one: give the request an id, e.g. {"id":"1","inputs":[...]}, and put the same in want)`

// The kit must fail for models that break the contract. Each case runs the
// helper test below in a child process and checks it failed, saying why.
func TestRun_DetectsBrokenModels(t *testing.T) {
	tests := map[string][]string{
		"wrong-v1":       {"--- FAIL: TestHelperBrokenModel/v1_predict", `want {"predictions":[1.0]}`},
		"wrong-v2":       {"--- FAIL: TestHelperBrokenModel/v2_infer", `"data":[2.0,5.0]`},
		"wrong-metadata": {"--- FAIL: TestHelperBrokenModel/v2_infer", "none of the outputs [y] is in the model's metadata outputs [z]"},
		"wrong-shape":    {"--- FAIL: TestHelperBrokenModel/v2_infer", "input x is FP32 [2], but the model's metadata says FP32 [1]"},
		"load-fails":     {"runtimetest: server stopped before model doubler was ready: load model doubler: weights missing"},
		// Without an id every answer has a fresh uuid4: the failure says so
		// rather than leaving two answers that differ only there.
		"v2-without-id": {
			"--- FAIL: TestHelperBrokenModel/v2_infer", "--- FAIL: TestHelperBrokenModel/grpc",
			"for the same request\n", "want " + strings.Replace(v2Want, "r1", "1", 1) + "\n", idHint,
		},
	}
	for mode, wants := range tests {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperBrokenModel$", "-test.v")
			cmd.Env = append(os.Environ(), "RUNTIMETEST_HELPER="+mode)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("helper: err %v, want exit status 1; output:\n%s", err, out)
			}
			for _, want := range wants {
				if !strings.Contains(string(out), want) {
					t.Errorf("helper output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestHelperBrokenModel runs only as TestRun_DetectsBrokenModels's child.
func TestHelperBrokenModel(t *testing.T) {
	mode := os.Getenv("RUNTIMETEST_HELPER")
	if mode == "" {
		t.Skip("helper for TestRun_DetectsBrokenModels")
	}
	d := &doubler{name: "doubler"}
	var m runtime.Model = d
	opts := []runtimetest.Option{runtimetest.WithV1(v1Req, v1Want), runtimetest.WithV2(v2Req, v2Want)}
	switch mode {
	case "wrong-v1":
		opts = append(opts, runtimetest.WithV1(v1Req, `{"predictions":[1.0]}`))
	case "wrong-v2":
		opts = append(opts, runtimetest.WithV2(v2Req, strings.Replace(v2Want, "5.0", "6.0", 1)))
	case "wrong-metadata":
		m = wrongMeta{d}
	case "wrong-shape":
		m = wrongInputShape{d}
	case "load-fails":
		d.loadErr = errors.New("weights missing")
	case "v2-without-id":
		opts = append(opts, runtimetest.WithV2(strings.Replace(v2Req, `"id":"r1",`, "", 1), strings.Replace(v2Want, "r1", "1", 1)), runtimetest.WithGRPC())
	}
	runtimetest.Run(t, m, opts...)
}

// gated is a doubler whose Load waits until open is closed.
type gated struct {
	*doubler
	open chan struct{}
}

func (g gated) Load(ctx context.Context) error {
	select {
	case <-g.open:
		return g.doubler.Load(ctx)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestStartModels_WithoutWaitAndStop(t *testing.T) {
	slow := gated{&doubler{name: "slow"}, make(chan struct{})}
	srv := runtimetest.StartModels(t, []runtime.Model{&doubler{name: "fast"}, slow},
		runtimetest.WithoutWait(), runtimetest.WithLogOutput(io.Discard, io.Discard))
	select {
	case <-srv.Server.Ready():
		t.Fatal("StartModels waited for, or the server reported ready before, a model still loading")
	default:
	}
	if resp := srv.Get(t, "/v2/models/slow/ready"); resp.Code == http.StatusOK {
		t.Errorf("slow model ready before its load finished: %d %s", resp.Code, resp.Body)
	}
	close(slow.open)
	deadline := time.Now().Add(10 * time.Second)
	for srv.Get(t, "/v2/models/slow/ready").Code != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("slow model not ready 10s after its load was let through")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if resp := srv.PostJSON(t, "/v1/models/fast:predict", `{"instances":[1]}`); resp.Code != http.StatusOK || resp.Body != `{"predictions":[2.0]}` {
		t.Errorf("fast model: %d %s", resp.Code, resp.Body)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if resp, err := http.Get(srv.URL + "/v2/health/live"); err == nil {
		resp.Body.Close()
		t.Errorf("server still answers after Stop: %d", resp.StatusCode)
	}
}
