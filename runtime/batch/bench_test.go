package batch_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/batch"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// clients is the concurrency of the load benchmarks.
const clients = 64

// mlpFunc is the batch function of the benchmark model.
func mlpFunc(m *mlp) batch.Func {
	return func(_ context.Context, b *batch.Batch) ([]*infer.Tensor, error) {
		x, err := b.Inputs[0].AsFloat32()
		if err != nil {
			return nil, err
		}
		return []*infer.Tensor{infer.NewTensor("y", []int64{int64(b.Size), mlpOut}, m.forward(x, b.Size))}, nil
	}
}

func mlpRequest() *infer.Request {
	x := make([]float32, mlpIn)
	for i := range x {
		x[i] = float32(i%13) / 13
	}
	return &infer.Request{Protocol: infer.ProtocolV2, Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{1, mlpIn}, x)}}
}

// mlpOptions batch up to 32 rows with no queue delay, one instance per
// core: batches form from what arrives while every instance is busy.
func mlpOptions() batch.Options {
	return batch.Options{Name: "mlp", MaxBatchSize: 32, Instances: runtime.GOMAXPROCS(0)}
}

// load runs call from n goroutines until total calls are done.
func load(n int, total int64, call func() error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Value
	for range n {
		wg.Go(func() {
			for next.Add(1) <= total {
				if err := call(); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return nil
}

// BenchmarkMLP compares 64 clients each running the 784-1024-10 MLP on its
// own row (unbatched: every core busy, one row per call) with the same
// clients going through a batcher. The metric is rows/s; ns/op is per row.
func BenchmarkMLP(b *testing.B) {
	m := newMLP(1)
	req := mlpRequest()
	x := req.Inputs[0].Data.([]float32)
	b.Run(mlpKernel+"/unbatched", func(b *testing.B) {
		b.ResetTimer()
		if err := load(clients, int64(b.N), func() error { m.forward(x, 1); return nil }); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run(mlpKernel+"/batched", func(b *testing.B) {
		bt, err := batch.New(context.Background(), mlpFunc(m), mlpOptions())
		if err != nil {
			b.Fatal(err)
		}
		defer bt.Close(context.Background())
		ctx := context.Background()
		b.ResetTimer()
		if err := load(clients, int64(b.N), func() error { _, err := bt.Do(ctx, req); return err }); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		s := bt.Stats()
		b.ReportMetric(float64(s.Rows)/float64(s.Batches), "rows/batch")
	})
}

// BenchmarkMLPBatchSize is the cost of one forward pass per row at several
// batch sizes: how sub-linear the model itself is.
func BenchmarkMLPBatchSize(b *testing.B) {
	m := newMLP(1)
	for _, rows := range []int{1, 4, 32} {
		b.Run(fmt.Sprintf("%s/rows=%d", mlpKernel, rows), func(b *testing.B) {
			x := make([]float32, rows*mlpIn)
			for b.Loop() {
				m.forward(x, rows)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows)/1e3, "µs/row")
		})
	}
}

// BenchmarkTwoModels loads two batched MLPs with 64 clients each, alone
// and together, in short interleaved windows (so that load from outside the
// benchmark hits all three alike). share-a and share-b are each model's
// rows/s together divided by half its solo rows/s in the same round, the
// median over the rounds: 1.0 is a perfectly fair split of the machine; the
// target is >= 0.8.
func BenchmarkTwoModels(b *testing.B) {
	const window, rounds = 300 * time.Millisecond, 7
	models := [2]*batch.Batcher{}
	for i := range models {
		bt, err := batch.New(context.Background(), mlpFunc(newMLP(uint64(i+1))), mlpOptions())
		if err != nil {
			b.Fatal(err)
		}
		defer bt.Close(context.Background())
		models[i] = bt
	}
	req := mlpRequest()
	// run loads the given models for window and returns each one's rows/s.
	run := func(which ...int) [2]float64 {
		ctx, cancel := context.WithTimeout(context.Background(), window)
		defer cancel()
		var counts [2]atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for _, i := range which {
			for range clients {
				wg.Go(func() {
					for ctx.Err() == nil {
						if _, err := models[i].Do(ctx, req); err == nil {
							counts[i].Add(1)
						}
					}
				})
			}
		}
		wg.Wait()
		secs := time.Since(start).Seconds()
		return [2]float64{float64(counts[0].Load()) / secs, float64(counts[1].Load()) / secs}
	}
	var soloA, soloB, bothA, bothB, shareA, shareB []float64
	for b.Loop() {
		for range rounds {
			a, bb, both := run(0), run(1), run(0, 1)
			soloA, soloB = append(soloA, a[0]), append(soloB, bb[1])
			bothA, bothB = append(bothA, both[0]), append(bothB, both[1])
			shareA = append(shareA, both[0]/(a[0]/2))
			shareB = append(shareB, both[1]/(bb[1]/2))
		}
	}
	b.ReportMetric(median(soloA), "solo-a-rows/s")
	b.ReportMetric(median(soloB), "solo-b-rows/s")
	b.ReportMetric(median(bothA), "both-a-rows/s")
	b.ReportMetric(median(bothB), "both-b-rows/s")
	b.ReportMetric(median(shareA), "share-a")
	b.ReportMetric(median(shareB), "share-b")
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}
