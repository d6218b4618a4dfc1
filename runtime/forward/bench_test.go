package forward_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/forward"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

type benchPredictor struct{}

func (benchPredictor) Name() string               { return "m" }
func (benchPredictor) Load(context.Context) error { return nil }
func (benchPredictor) Ready() bool                { return true }
func (benchPredictor) Predict(_ context.Context, req *infer.Request, _ *model.Headers) (*infer.Response, error) {
	return &infer.Response{ModelName: "m", Outputs: req.Inputs}, nil
}

// BenchmarkPredict forwards a small v2 request to a local predictor that
// answers at once, with retries configured but none needed: the
// allocations of the common call, which retry bookkeeping must not raise.
func BenchmarkPredict(b *testing.B) {
	ps := runtimetest.Start(b, benchPredictor{}, runtimetest.WithGRPC(), runtimetest.WithLogOutput(io.Discard, io.Discard))
	for _, proto := range []string{config.ProtocolV2, config.ProtocolGRPCV2} {
		b.Run(proto, func(b *testing.B) {
			host := strings.TrimPrefix(ps.URL, "http://")
			if proto == config.ProtocolGRPCV2 {
				host = ps.GRPCAddr
			}
			f, err := forward.NewForwarder(forward.Config{Host: host, Protocol: proto, Timeout: 10 * time.Second, Retries: 3})
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			req := &infer.Request{Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{4}, []float32{1, 2, 3, 4})}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.Predict(context.Background(), "m", req, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
