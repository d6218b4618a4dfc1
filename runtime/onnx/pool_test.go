package onnx

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
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
