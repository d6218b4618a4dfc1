package runtime_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// Doubler doubles numbers, for v1 instances and for a v2 (REST or gRPC)
// FP32 input "x".
type Doubler struct {
	name  string
	ready atomic.Bool
}

func (m *Doubler) Name() string { return m.name }

// Load runs once before the model is served; Ready is asked by every
// readiness probe, concurrently with requests.
func (m *Doubler) Load(ctx context.Context) error { m.ready.Store(true); return nil }
func (m *Doubler) Ready() bool                    { return m.ready.Load() }

// Predict may be called concurrently (up to --max_asyncio_workers at once).
func (m *Doubler) Predict(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	if req.Protocol == infer.ProtocolV1 {
		var body struct{ Instances []float64 }
		if err := req.DecodeBody(&body); err != nil {
			return nil, err // a 400 naming what is wrong with the body
		}
		for i := range body.Instances {
			body.Instances[i] *= 2
		}
		return runtime.PredictResponse(req, m.name, body.Instances)
	}
	x := req.Input("x")
	if x == nil {
		return nil, runtime.InvalidInput(`expected an FP32 input "x"`) // a 400
	}
	v, err := x.AsFloat32() // a 400 when the datatype is not FP32
	if err != nil {
		return nil, err
	}
	y := make([]float32, len(v)) // doubling v in place and answering with x would do as well (see infer.Tensor)
	for i := range v {
		y[i] = 2 * v[i]
	}
	h.Set("X-Doubled", fmt.Sprint(len(y))) // a response header (gRPC: header metadata)
	return runtime.PredictResponse(req, m.name, infer.NewTensor("y", x.Shape, y))
}

// A model served over KServe's v1 and v2 protocols. A real main parses
// KServe's flags (config.NewParser) and runs until runtime.SignalContext
// ends; here the server listens on a port the kernel picks and stops after
// two requests.
func Example() {
	cfg := config.Default()
	cfg.ModelName = "doubler"
	cfg.EnableGRPC = false
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(io.Discard, io.Discard))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, &Doubler{name: cfg.ModelName}) }()
	select {
	case <-srv.Ready(): // every model loaded
	case err := <-done:
		panic(err)
	}

	base := "http://" + ln.Addr().String()
	for _, r := range []struct{ path, body string }{
		{"/v1/models/doubler:predict", `{"instances":[1,2.5]}`},
		{"/v2/models/doubler/infer", `{"id":"1","inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2.5]}]}`},
	} {
		resp, err := http.Post(base+r.path, "application/json", strings.NewReader(r.body))
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("X-Doubled"), string(b))
	}

	stop() // SIGTERM: drain, unload, return nil
	if err := <-done; err != nil {
		panic(err)
	}
	// Output:
	// 200  {"predictions":[2.0,5.0]}
	// 200 2 {"model_name":"doubler","model_version":null,"id":"1","parameters":null,"outputs":[{"name":"y","shape":[2],"datatype":"FP32","parameters":null,"data":[2.0,5.0]}]}
}
