package grpcserver

import (
	"context"
	"log/slog"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/metrics"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

type echoModel struct{}

func (echoModel) Name() string               { return "m" }
func (echoModel) Load(context.Context) error { return nil }
func (echoModel) Ready() bool                { return true }
func (echoModel) Predict(_ context.Context, req *infer.Request, _ *model.Headers) (*infer.Response, error) {
	in := req.Inputs[0]
	return infer.PredictResponse(req, "m", &infer.Tensor{Name: "output-0", Datatype: in.Datatype, Shape: in.Shape, Data: in.Data})
}

// BenchmarkHandler_ModelInfer measures the transport's own work for the
// reference request — conversion, headers, dataplane — without the network
// or protobuf (de)serialisation.
func BenchmarkHandler_ModelInfer(b *testing.B) {
	for _, mc := range []int{0, 6} {
		b.Run(map[int]string{0: "unbounded", 6: "max_asyncio_workers=6"}[mc], func(b *testing.B) {
			dp := dataplane.New(dataplane.Options{MaxConcurrency: mc, Metrics: metrics.New()})
			if err := dp.Register(echoModel{}, ""); err != nil {
				b.Fatal(err)
			}
			// maxSend as New resolves it: the zero value would refuse
			// every response as larger than a limit of 0 bytes.
			s := &service{dp: dp, log: slog.New(slog.DiscardHandler), health: newHealthService(dp, 0, nil), maxSend: messageLimit(0)}
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(
				":authority", "localhost:8081", "content-type", "application/grpc", "user-agent", "grpc-go/1.85.0", "te", "trailers"))
			req := &pb.ModelInferRequest{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{
				Name: "input-0", Datatype: "FP32", Shape: []int64{1, 4}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1, 2, 3, 4}},
			}}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.ModelInfer(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
