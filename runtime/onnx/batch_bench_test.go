package onnx

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/batch"
	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
	"github.com/kserve-gen/kserve-gen/runtime/model"
)

// BenchmarkServedMLPBatching is the MLP 784-1024-10 served through the
// dataplane to 64 concurrent callers sending one row each, without and with
// dynamic batching, on two replicas of one intra-op thread each. It reports
// rows/s; the target is batched ≥ 2 × unbatched.
//
//	go test -run '^$' -bench ServedMLPBatching -benchtime 20000x ./onnx
func BenchmarkServedMLPBatching(b *testing.B) {
	env := needEnv(b)
	path := writeModel(b, "mlp784.onnx", onnxgen.NewMLP(784, 1024, 10, true, 5).Model())
	for _, batched := range []bool{false, true} {
		name := "unbatched"
		if batched {
			name = "batched"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			om := NewModel("mlp", path, WithEnv(env), WithReplicas(2), WithThreads(1, 1))
			if err := om.Load(ctx); err != nil {
				b.Fatal(err)
			}
			defer om.Unload(ctx)
			var m model.Model = om
			if batched {
				bm, err := batch.NewModel(om, batch.Options{Name: "mlp", MaxBatchSize: 64, Instances: 2})
				if err != nil {
					b.Fatal(err)
				}
				if err := bm.Load(ctx); err != nil {
					b.Fatal(err)
				}
				defer bm.Unload(ctx)
				m = bm
			}
			dp := dataplane.New(dataplane.Options{MaxConcurrency: 6})
			if err := dp.Register(m, ""); err != nil {
				b.Fatal(err)
			}
			row := randomInput(784, 1)
			var left atomic.Int64
			left.Store(int64(b.N))
			var wg sync.WaitGroup
			var failed atomic.Value
			b.ResetTimer()
			start := time.Now()
			for range 64 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for left.Add(-1) >= 0 {
						req := &infer.Request{Protocol: infer.ProtocolV2, Inputs: []*infer.Tensor{infer.NewTensor("input", []int64{1, 784}, row)}}
						resp, err := dp.Infer(ctx, "mlp", dataplane.Predict, req, model.NewHeaders(http.Header{}))
						if err != nil || len(resp.Outputs) == 0 || resp.Outputs[0].Shape[0] != 1 {
							failed.Store(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			if err := failed.Load(); err != nil {
				b.Fatalf("request failed: %v", err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rows/s")
		})
	}
}
