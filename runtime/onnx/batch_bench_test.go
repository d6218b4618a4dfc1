package onnx

import (
	"context"
	"fmt"
	"net/http"
	"slices"
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
// dynamic batching, on two replicas of one intra-op thread each. The two
// servers alternate over five rounds of b.N/5 rows each, so drift on a
// shared machine hits both alike; it reports the median rows/s of each and
// the median of the per-round ratios (the target: batched ≥ 2 ×
// unbatched).
//
//	go test -run '^$' -bench ServedMLPBatching -benchtime 50000x ./onnx
func BenchmarkServedMLPBatching(b *testing.B) {
	env := needEnv(b)
	path := writeModel(b, "mlp784.onnx", onnxgen.NewMLP(784, 1024, 10, true, 5).Model())
	ctx := context.Background()
	dev := benchOptions(b).Device.String() // ONNX_BENCH_DEVICE, default cpu
	serve := func(batched bool) *dataplane.Dataplane {
		om := NewModel("mlp", path, WithEnv(env), WithDevice(dev), WithReplicas(2), WithThreads(1, 1))
		if err := om.Load(ctx); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { om.Unload(ctx) })
		if !batched {
			b.Logf("MLP on %s, 2 replicas", om.Provider())
		}
		var m model.Model = om
		if batched {
			bm, err := batch.NewModel(om, batch.Options{Name: "mlp", MaxBatchSize: 64, Instances: 2})
			if err != nil {
				b.Fatal(err)
			}
			if err := bm.Load(ctx); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { bm.Unload(ctx) })
			m = bm
		}
		dp := dataplane.New(dataplane.Options{MaxConcurrency: 6})
		if err := dp.Register(m, ""); err != nil {
			b.Fatal(err)
		}
		return dp
	}
	unbatched, batched := serve(false), serve(true)
	row := randomInput(784, 1)
	// rowsPerSecond sends n one-row requests from 64 callers.
	rowsPerSecond := func(dp *dataplane.Dataplane, n int) float64 {
		return callsPerSecond(b, 64, n, func() error {
			req := &infer.Request{Protocol: infer.ProtocolV2, Inputs: []*infer.Tensor{infer.NewTensor("input", []int64{1, 784}, row)}}
			resp, err := dp.Infer(ctx, "mlp", dataplane.Predict, req, model.NewHeaders(http.Header{}))
			if err != nil || len(resp.Outputs) == 0 || resp.Outputs[0].Shape[0] != 1 {
				return fmt.Errorf("request failed: %v", err)
			}
			return nil
		})
	}
	rowsPerSecond(unbatched, 2000) // warm-up
	rowsPerSecond(batched, 2000)
	const rounds = 5
	per := max(b.N/rounds, 64)
	var u, bt, ratio []float64
	b.ResetTimer()
	for range rounds {
		ur, br := rowsPerSecond(unbatched, per), rowsPerSecond(batched, per)
		u, bt, ratio = append(u, ur), append(bt, br), append(ratio, br/ur)
	}
	b.ReportMetric(medianOf(u), "unbatched-rows/s")
	b.ReportMetric(medianOf(bt), "batched-rows/s")
	b.ReportMetric(medianOf(ratio), "batched/unbatched")
}

// callsPerSecond makes n calls of call from clients goroutines at once and
// returns the calls per second; a failed call stops its goroutine and the
// benchmark.
func callsPerSecond(b *testing.B, clients, n int, call func() error) float64 {
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := call(); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	return float64(n) / time.Since(start).Seconds()
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
