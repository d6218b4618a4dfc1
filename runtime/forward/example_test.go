package forward_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/forward"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// Transformer turns v1 instances into the predictor's v2 input "x"; the
// embedded forward.Model sends that to the predictor. Its answer's tensors
// go back to the v1 client as {"predictions": the first output's rows}.
type Transformer struct{ *forward.Model }

func (t *Transformer) Preprocess(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Request, error) {
	var body struct{ Instances []float32 }
	if err := req.DecodeBody(&body); err != nil {
		return nil, err
	}
	return &infer.Request{Protocol: infer.ProtocolV2, Inputs: []*infer.Tensor{
		infer.NewTensor("x", []int64{int64(len(body.Instances))}, body.Instances),
	}}, nil
}

// negator is the predictor: y = -x.
type negator struct{}

func (negator) Name() string               { return "neg" }
func (negator) Load(context.Context) error { return nil }
func (negator) Ready() bool                { return true }
func (negator) Predict(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	x, err := req.Input("x").AsFloat32()
	if err != nil {
		return nil, err
	}
	y := make([]float32, len(x))
	for i := range x {
		y[i] = -x[i]
	}
	return runtime.PredictResponse(req, "neg", y)
}

// serveExample runs a server for m on a loopback port until ctx ends.
func serveExample(ctx context.Context, cfg config.Config, m runtime.Model) (addr string, done <-chan error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	cfg.EnableGRPC = false
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(io.Discard, io.Discard))
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ctx, m) }()
	select {
	case <-srv.Ready():
	case err := <-errc:
		panic(err)
	}
	return ln.Addr().String(), errc
}

// A transformer in front of a v2 predictor. In a real main the predictor
// settings come from KServe's flags: forward.FromConfig(*cfg, os.Getenv).
func ExampleNewModel() {
	ctx, stop := context.WithCancel(context.Background())
	predictor, pdone := serveExample(ctx, config.Default(), negator{})

	// The transformer addresses the predictor with its own model name.
	fwd, err := forward.NewModel("neg", forward.Config{Host: predictor, Protocol: config.ProtocolV2})
	if err != nil {
		panic(err)
	}
	cfg := config.Default()
	cfg.ModelName = "neg"
	transformer, tdone := serveExample(ctx, cfg, &Transformer{fwd})

	resp, err := http.Post("http://"+transformer+"/v1/models/neg:predict", "application/json", strings.NewReader(`{"instances":[1,2]}`))
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(b))

	stop()
	<-tdone
	<-pdone
	// Output: 200 {"predictions":[-1.0,-2.0]}
}
