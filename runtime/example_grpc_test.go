package runtime_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Sentiment answers each row of an FP32 input "x" ([N, 2]) with two
// outputs of different datatypes: an FP32 "score" and a BYTES "label".
type Sentiment struct{}

func (Sentiment) Name() string               { return "sentiment" }
func (Sentiment) Load(context.Context) error { return nil }
func (Sentiment) Ready() bool                { return true }

func (Sentiment) Predict(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	x, err := infer.InputShaped[float32](req, "x", -1, 2)
	if err != nil {
		return nil, err // a 400 (gRPC INVALID_ARGUMENT) naming x and what is wrong with it
	}
	n := len(x) / 2
	scores := make([]float32, n)
	labels := make([]string, n)
	for i := range n {
		scores[i] = x[2*i] - x[2*i+1]
		labels[i] = "negative"
		if scores[i] > 0 {
			labels[i] = "positive"
		}
	}
	h.Set("X-Caller", h.Get("X-Caller")) // request metadata in, header metadata out
	return &infer.Response{Outputs: []*infer.Tensor{
		infer.NewTensor("score", []int64{int64(n)}, scores),
		infer.NewStrings("label", []int64{int64(n)}, labels),
	}}, nil
}

// A v2 model with two outputs, one BYTES, called over gRPC with the
// runtime's client (KServe's InferenceGRPCClient): the answer's tensors
// come back typed, the model's response headers as header metadata, and an
// error with its kind and KServe's message.
func Example_grpc() {
	cfg := config.Default()
	rest, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(rest), runtime.WithGRPCListener(grpcLn),
		runtime.WithLogOutput(io.Discard, io.Discard))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, Sentiment{}) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		panic(err)
	}

	c, err := client.NewGRPC(grpcLn.Addr().String()) // plaintext, as KServe's gRPC port
	if err != nil {
		panic(err)
	}
	defer c.Close()
	req := &infer.Request{ModelName: "sentiment", Inputs: []*infer.Tensor{
		infer.NewTensor("x", []int64{2, 2}, []float32{0.75, 0.25, 0.25, 0.75}),
	}}
	var header http.Header
	resp, err := c.Infer(ctx, req, client.WithHeaders(http.Header{"X-Caller": {"example"}}), client.CaptureResponseHeaders(&header))
	if err != nil {
		panic(err)
	}
	scores, _ := resp.Output("score").AsFloat32()
	labels, _ := resp.Output("label").AsStrings()
	fmt.Println(scores, labels, header.Get("X-Caller"))

	req.Inputs = []*infer.Tensor{infer.NewTensor("x", []int64{3}, []float32{1, 2, 3})}
	_, err = c.Infer(ctx, req)
	fmt.Println(status.GRPCCode(err), strconv.Quote(status.Message(err)))

	stop()
	if err := <-done; err != nil {
		panic(err)
	}
	// Output:
	// [0.5 -0.5] [positive negative] example
	// InvalidArgument "input \"x\" has shape [3] (rank 1), but the model expects rank 2: [-1, 2]"
}
