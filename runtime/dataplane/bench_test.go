package dataplane_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/metrics"
	"github.com/kserve-gen/kserve-gen/runtime/model"
)

type nop struct{}

func (nop) Name() string               { return "m" }
func (nop) Load(context.Context) error { return nil }
func (nop) Ready() bool                { return true }
func (nop) Predict(context.Context, *infer.Request, *model.Headers) (*infer.Response, error) {
	return &infer.Response{}, nil
}

func benchInfer(b *testing.B, workers int) {
	dp := dataplane.New(dataplane.Options{MaxConcurrency: workers, Metrics: metrics.New()})
	if err := dp.Register(nop{}, ""); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	h := model.NewHeaders(http.Header{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := dp.Infer(ctx, "m", dataplane.Predict, &infer.Request{Protocol: infer.ProtocolV2}, h); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInferBounded is the pipeline on its own goroutine under the
// --max_asyncio_workers semaphore (the server's default).
func BenchmarkInferBounded(b *testing.B) { benchInfer(b, 6) }

// BenchmarkInferInline is the same pipeline run on the caller's goroutine.
func BenchmarkInferInline(b *testing.B) { benchInfer(b, 0) }
