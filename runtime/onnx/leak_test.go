package onnx

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
)

// rss is the process's resident memory in bytes (Linux).
func rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	require.NoError(t, err)
	pages, err := strconv.ParseInt(strings.Fields(string(b))[1], 10, 64)
	require.NoError(t, err)
	return pages * int64(os.Getpagesize())
}

// TestSession_ValuesAreFreed: every run creates ONNX Runtime values outside
// the Go heap (the input wrapper, the output ONNX Runtime allocates, and the
// binding's copy of it); 100k runs of a tiny model would keep over 10 MiB
// if any of them were not destroyed. A leak grows every round alike, so one
// round growing less than 4 MiB clears it: a single round can grow by more
// for other reasons (it did once in CI, 8 MiB over 200k runs, where the
// same test grows 0.6–0.9 MiB alone).
func TestSession_ValuesAreFreed(t *testing.T) {
	env := needEnv(t)
	s, err := env.NewSession(context.Background(), writeModel(t, "mlp.onnx", onnxgen.NewMLP(8, 16, 4, true, 1).Model()), SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1})
	require.NoError(t, err)
	defer s.Close()
	in := []*infer.Tensor{infer.NewTensor("input", []int64{1, 8}, make([]float32, 8))}
	settle := func() int64 {
		runtime.GC()
		debug.FreeOSMemory()
		return rss(t)
	}
	const runs, rounds = 100_000, 3
	if testing.Short() {
		t.Skip("100k runs a round")
	}
	for range 1000 { // let the arena and caches reach their steady size
		_, err := s.Run(context.Background(), in)
		require.NoError(t, err)
	}
	var grew []string
	for range rounds {
		before := settle()
		for range runs {
			_, err := s.Run(context.Background(), in)
			require.NoError(t, err)
		}
		grown := settle() - before
		t.Logf("resident memory grew by %.1f MiB over %d runs", float64(grown)/(1<<20), runs)
		if grown < 4<<20 {
			return
		}
		grew = append(grew, fmt.Sprintf("%.1f MiB", float64(grown)/(1<<20)))
	}
	t.Fatalf("resident memory grew in every round of %d runs: %s", runs, strings.Join(grew, ", "))
}
