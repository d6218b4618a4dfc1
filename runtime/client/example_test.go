package client_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// doubler doubles an FP32 input.
type doubler struct{}

func (doubler) Name() string               { return "doubler" }
func (doubler) Load(context.Context) error { return nil }
func (doubler) Ready() bool                { return true }
func (doubler) Predict(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	x, err := req.Inputs[0].AsFloat32()
	if err != nil {
		return nil, err
	}
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = 2 * v
	}
	return runtime.PredictResponse(req, "doubler", infer.NewTensor("output-0", req.Inputs[0].Shape, y))
}

// exampleServer serves doubler over REST and gRPC on loopback ports.
func exampleServer() (restURL, grpcAddr string, stop func()) {
	hl, _ := net.Listen("tcp", "127.0.0.1:0")
	gl, _ := net.Listen("tcp", "127.0.0.1:0")
	cfg := config.Default()
	cfg.EnableLatencyLogging = false
	cfg.ConfigureLogging = false // access lines go to stderr, not into the example's output
	ctx, cancel := context.WithCancel(context.Background())
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(hl), runtime.WithGRPCListener(gl), runtime.WithLogger(slog.New(slog.DiscardHandler)))
	done := make(chan struct{})
	go func() { _ = srv.Run(ctx, doubler{}); close(done) }()
	<-srv.Ready()
	return "http://" + hl.Addr().String(), gl.Addr().String(), func() { cancel(); <-done }
}

func ExampleGRPCClient_Infer() {
	_, addr, stop := exampleServer()
	defer stop()

	c, err := client.NewGRPC(addr, client.WithGRPCTimeout(10*time.Second))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	resp, err := c.Infer(context.Background(), &infer.Request{
		ModelName: "doubler",
		Inputs:    []*infer.Tensor{infer.NewTensor("input-0", []int64{1, 3}, []float32{1, 2, 3})},
	})
	if err != nil {
		panic(err)
	}
	out, _ := resp.Outputs[0].AsFloat32()
	fmt.Println(resp.Outputs[0].Name, resp.Outputs[0].Shape, out)
	// Output: output-0 [1 3] [2 4 6]
}

func ExampleRESTClient_Infer() {
	base, _, stop := exampleServer()
	defer stop()

	c, err := client.NewREST(client.WithProtocol(client.V2))
	if err != nil {
		panic(err)
	}
	resp, err := c.Infer(context.Background(), base, &infer.Request{
		ModelName: "doubler",
		Inputs:    []*infer.Tensor{infer.NewTensor("input-0", []int64{3}, []float32{0.5, -1, 4})},
	})
	if err != nil {
		panic(err)
	}
	out, _ := resp.Outputs[0].AsFloat32()
	fmt.Println(out)

	_, err = c.Infer(context.Background(), base, &infer.Request{ModelName: "tripler", Inputs: resp.Outputs})
	fmt.Println(err)
	// Output:
	// [1 -2 8]
	// Model with name tripler does not exist.
}
