//go:build unix

package runtime

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// worker answers pings on the worker's ends of h until stop is closed.
func fakeWorker(h *heartbeat, stop <-chan struct{}) {
	buf := make([]byte, 1)
	for {
		if _, err := h.childPing.Read(buf); err != nil {
			return
		}
		select {
		case <-stop:
			return // hung: reads, never answers
		default:
		}
		if _, err := h.childPong.Write(buf); err != nil {
			return
		}
	}
}

func TestHeartbeat_AnsweringWorkerRunsUntilCancelled(t *testing.T) {
	h, err := newHeartbeat()
	require.NoError(t, err)
	defer h.close()
	go fakeWorker(h, make(chan struct{}))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	assert.NoError(t, h.watch(ctx, 10*time.Millisecond, 100*time.Millisecond, time.Second))
}

func TestHeartbeat_HungWorker(t *testing.T) {
	h, err := newHeartbeat()
	require.NoError(t, err)
	defer h.close()
	stop := make(chan struct{})
	go fakeWorker(h, stop)
	time.AfterFunc(100*time.Millisecond, func() { close(stop) })
	start := time.Now()
	err = h.watch(context.Background(), 10*time.Millisecond, 200*time.Millisecond, time.Second)
	assert.EqualError(t, err, "no answer to the supervisor's heartbeat for 200ms")
	assert.ErrorIs(t, err, errHung)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
}

func TestHeartbeat_FirstAnswerGetsLonger(t *testing.T) {
	h, err := newHeartbeat()
	require.NoError(t, err)
	defer h.close()
	stop := make(chan struct{})
	close(stop) // never answers at all
	go fakeWorker(h, stop)
	err = h.watch(context.Background(), 10*time.Millisecond, 50*time.Millisecond, 150*time.Millisecond)
	assert.EqualError(t, err, "no answer to the supervisor's heartbeat for 150ms")
}

func TestHeartbeat_WorkerGoneIsNotHung(t *testing.T) {
	h, err := newHeartbeat()
	require.NoError(t, err)
	defer h.close()
	h.started() // the worker's ends closed: as when it exits
	assert.NoError(t, h.watch(context.Background(), 10*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond))
}
