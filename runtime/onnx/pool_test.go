package onnx

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/batch"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
	"github.com/kserve-gen/kserve-gen/runtime/model"
)

// TestPool_ReplicasRunInParallel: while one replica is busy with a run that
// takes seconds, a second replica serves a small request; with a single
// replica the small request has to wait (and gives up at its deadline).
func TestPool_ReplicasRunInParallel(t *testing.T) {
	env := needEnv(t)
	path := writeModel(t, "chain.onnx", onnxgen.Chain(64, 512))
	// Big enough to outlast the small request by far on a quiet machine too.
	big := []*infer.Tensor{infer.NewTensor("x", []int64{16384, 512}, make([]float32, 16384*512))}
	small := []*infer.Tensor{infer.NewTensor("x", []int64{1, 512}, make([]float32, 512))}

	for _, replicas := range []int{1, 2} {
		p, err := env.NewPool(context.Background(), path, replicas, SessionOptions{Device: Device{Kind: DeviceCPU}, NoWarmup: true})
		require.NoError(t, err)
		assert.Equal(t, replicas, p.Replicas())
		assert.Equal(t, max(1, config.AvailableCPUs()/replicas), p.Session(0).IntraOpThreads(), "the CPUs are shared out between the replicas")

		bigCtx, stopBig := context.WithCancel(context.Background())
		bigDone := make(chan error, 1)
		go func() {
			_, err := p.Run(bigCtx, big)
			bigDone <- err
		}()
		// Wait until the big run holds a replica (not a sleep: how soon the
		// goroutine runs depends on the machine's load).
		require.Eventually(t, func() bool { return len(p.free) == replicas-1 }, 5*time.Second, time.Millisecond)

		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, err = p.Run(ctx, small)
		cancel()
		if replicas == 1 {
			assert.ErrorIs(t, err, context.DeadlineExceeded, "the only replica is busy")
		} else {
			assert.NoError(t, err, "the second replica serves while the first is busy")
		}
		select {
		case err := <-bigDone:
			t.Fatalf("the big run ended early (%v): the test proves nothing", err)
		default:
		}
		stopBig()
		assert.ErrorIs(t, <-bigDone, context.Canceled)
		require.NoError(t, p.Close(context.Background()))
		_, err = p.Run(context.Background(), small)
		assert.ErrorIs(t, err, ErrPoolClosed)
	}
}

// An ONNX model served without batching waits for a free replica inside a
// server slot (--max_asyncio_workers), so that slot limit, the queue metric
// and --max_queued_requests hold for it; in a server of several models a
// slow one can then take every slot. Behind the batcher
// (--max_batch_size) its requests wait in the model's own queue
// (batch.Model is model.Unbounded) and another model is served meanwhile.
func TestModel_WaitingForAReplicaHoldsAServerSlotUnlessBatched(t *testing.T) {
	env := needEnv(t)
	path := writeModel(t, "mlp.onnx", onnxgen.NewMLP(8, 16, 4, true, 1).Model())
	row := func() *infer.Request {
		return &infer.Request{Protocol: infer.ProtocolV2, Inputs: []*infer.Tensor{infer.NewTensor("input", []int64{1, 8}, randomInput(8, 1))}}
	}
	for _, batched := range []bool{false, true} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
			ctx := t.Context()
			slow := gated{NewModel("slow", path, WithEnv(env), WithDevice("cpu")), make(chan struct{}, 8)}
			require.NoError(t, slow.Load(ctx))
			defer slow.Unload(ctx)
			fast := NewModel("fast", path, WithEnv(env), WithDevice("cpu"))
			require.NoError(t, fast.Load(ctx))
			defer fast.Unload(ctx)
			var served model.Model = slow
			if batched {
				m, err := (&Flags{Device: "cpu", Replicas: 1, MaxBatchSize: 4}).Serve(slow)
				require.NoError(t, err)
				require.NoError(t, m.Load(ctx))
				defer m.(model.Unloader).Unload(ctx)
				served = m
			}
			dp := dataplane.New(dataplane.Options{MaxConcurrency: 2})
			require.NoError(t, dp.Register(served, ""))
			require.NoError(t, dp.Register(fast, ""))

			// Every replica of slow is busy: its calls wait for one.
			busy := <-slow.Pool().free
			defer func() { slow.Pool().free <- busy }()
			waiting, stop := context.WithCancel(ctx)
			defer stop()
			for range 2 {
				go func() { _, _ = dp.Infer(waiting, "slow", dataplane.Predict, row(), model.NewHeaders(http.Header{})) }()
			}
			calls := 2 // each request in its own Predict, each in a slot
			if batched {
				calls = 1 // the first batch; the next request waits for it in the queue
			}
			for range calls {
				<-slow.entered
			}

			limit := 30 * time.Second // a wait that never ends, should it block
			if !batched {
				limit = 200 * time.Millisecond
			}
			fctx, cancel := context.WithTimeout(ctx, limit)
			defer cancel()
			resp, err := dp.Infer(fctx, "fast", dataplane.Predict, row(), model.NewHeaders(http.Header{}))
			if batched {
				require.NoError(t, err)
				assert.Equal(t, []int64{1, 4}, resp.Outputs[0].Shape)
			} else {
				assert.ErrorIs(t, err, context.DeadlineExceeded, "both slots are taken by slow's requests waiting for its replica")
			}
		})
	}
}

// gated is an ONNX model that signals each call before it asks for a
// replica.
type gated struct {
	*Model
	entered chan struct{}
}

func (g gated) Predict(ctx context.Context, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	g.entered <- struct{}{}
	return g.Model.Predict(ctx, req, h)
}

func (g gated) PredictBatch(ctx context.Context, b *batch.Batch) ([]*infer.Tensor, error) {
	g.entered <- struct{}{}
	return g.Model.PredictBatch(ctx, b)
}
