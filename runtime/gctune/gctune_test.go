package gctune_test

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/gctune"
)

const mib = 1 << 20

func TestPercent(t *testing.T) {
	cases := []struct {
		name                string
		minHeap, live, scan uint64
		want                int
	}{
		// A small server: the runtime's scaled 4 MiB minimum reaches 16 MiB
		// at 400 first.
		{"small heap", 16 * mib, 1 * mib, 1700 * 1024, 400},
		{"empty heap", 16 * mib, 0, 0, 400},
		// Here the live-heap term gets to 16 MiB first: 4 + 5×2.4 = 16.
		{"live term decides", 16 * mib, 4 * mib, 5 * mib, 240},
		{"a bigger floor", 64 * mib, 1 * mib, 3 * mib, 1600},
		{"big enough for GOGC=100", 16 * mib, 10 * mib, 11 * mib, 100},
		{"live above the floor", 16 * mib, 20 * mib, 21 * mib, 100},
		{"capped", 1 << 40, 0, 1024, 10000},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, gctune.Percent(c.minHeap, c.live, c.scan), c.name)
	}
}

func read(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

var sink []byte

func gogc() uint64 { return read("/gc/gogc:percent") }

// settled runs a full collection and waits for the finalizers it queued (the
// tuner's among them) to have run: they run on their own goroutine.
func settled(t *testing.T) {
	t.Helper()
	runtime.GC()
	done := make(chan struct{})
	runtime.SetFinalizer(&struct{ _ *int }{}, func(any) { close(done) })
	runtime.GC()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("finalizers did not run")
	}
}

// The heap goal, not a count of collections, is what the test checks: a
// count also depends on how long each concurrent mark takes, which varies
// with whatever else the machine runs (garbage allocated during a slow mark
// counts as live).
func TestSetMinHeap_RaisesTheGoalThenRestores(t *testing.T) {
	t.Setenv("GOGC", "")
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	settled(t)
	require.Less(t, read("/gc/heap/goal:bytes"), uint64(16*mib), "the test's own heap is small")

	stop := gctune.SetMinHeap(64 * mib)
	settled(t)
	goal := read("/gc/heap/goal:bytes")
	assert.GreaterOrEqual(t, goal, uint64(64*mib), "goal while tuning")
	assert.Less(t, goal, uint64(80*mib), "goal while tuning: about the floor, not far above it")
	assert.Greater(t, gogc(), uint64(100))

	// Every cycle re-tunes (the finalizer re-arms itself): with 40 MiB live
	// GOGC=100 already reaches the floor, and a percentage left at 1600
	// would let the heap grow to 680 MiB.
	sink = make([]byte, 40*mib)
	settled(t)
	assert.Equal(t, uint64(100), gogc(), "40 MiB live")
	sink = nil
	settled(t)
	assert.Greater(t, gogc(), uint64(100), "small again")
	assert.GreaterOrEqual(t, read("/gc/heap/goal:bytes"), uint64(64*mib), "goal when small again")

	stop()
	settled(t)
	assert.Equal(t, uint64(100), gogc(), "stop restores the percentage")
	assert.Less(t, read("/gc/heap/goal:bytes"), uint64(16*mib), "and Go's own goal")
}

func TestSetMinHeap_UserGOGCWins(t *testing.T) {
	t.Setenv("GOGC", "100")
	assert.False(t, gctune.Active(16*mib))
	orig := debug.SetGCPercent(150)
	defer debug.SetGCPercent(orig)
	stop := gctune.SetMinHeap(16 * mib)
	runtime.GC()
	assert.Equal(t, uint64(150), gogc(), "with GOGC set, the percentage is left alone")
	stop()
	assert.False(t, gctune.Active(0), "0 turns the tuner off")
}
