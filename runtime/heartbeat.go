//go:build unix

package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// KServe's supervisor pings each worker over a pipe every half second and
// replaces one that has not answered for five seconds (a hung process keeps
// its share of the shared port's connections and answers none of them).
const (
	heartbeatInterval = 500 * time.Millisecond
	heartbeatTimeout  = 5 * time.Second
	// A worker answers once Run starts; what its main does before that
	// (flag parsing, building models) gets this long.
	heartbeatFirstTimeout = 2 * time.Minute
)

// heartbeatEnv tells a worker that fds 3 and 4 are its heartbeat pipes.
const heartbeatEnv = "KSERVE_GEN_HEARTBEAT"

// errHung is a worker that stopped answering the supervisor's pings.
var errHung = errors.New("no answer to the supervisor's heartbeat")

// heartbeat is the supervisor's end of a worker's two pipes.
type heartbeat struct {
	ping *os.File // we write, the worker reads (its fd 3)
	pong *os.File // the worker writes, we read (its fd 4)
	// The worker's ends, handed to it at start and closed here after.
	childPing, childPong *os.File
}

func newHeartbeat() (*heartbeat, error) {
	pingR, pingW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("heartbeat pipe: %w", err)
	}
	pongR, pongW, err := os.Pipe()
	if err != nil {
		pingR.Close()
		pingW.Close()
		return nil, fmt.Errorf("heartbeat pipe: %w", err)
	}
	return &heartbeat{ping: pingW, pong: pongR, childPing: pingR, childPong: pongW}, nil
}

// started closes the worker's ends in this process, so the worker's exit
// ends our reads.
func (h *heartbeat) started() {
	h.childPing.Close()
	h.childPong.Close()
}

func (h *heartbeat) close() {
	h.ping.Close()
	h.pong.Close()
	h.childPing.Close()
	h.childPong.Close()
}

// watch pings every interval until ctx ends (nil), the worker goes away
// (its pipe closes: nil, the caller sees the exit), or an answer takes
// longer than timeout (first for the first one): errHung.
func (h *heartbeat) watch(ctx context.Context, interval, timeout, first time.Duration) error {
	buf := make([]byte, 1)
	wait := first
	for {
		if _, err := h.ping.Write(buf); err != nil {
			return nil // the worker is gone
		}
		if err := h.pong.SetReadDeadline(time.Now().Add(wait)); err != nil {
			return nil
		}
		if _, err := io.ReadFull(h.pong, buf); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
				return fmt.Errorf("%w for %s", errHung, wait)
			}
			return nil
		}
		wait = timeout
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// answerHeartbeat is the worker's end: it answers every ping on fd 3 with a
// pong on fd 4, for as long as the process runs. A goroutine is enough: it
// stops answering only when the whole process does (stopped, frozen, or its
// scheduler wedged).
func answerHeartbeat() {
	if os.Getenv(heartbeatEnv) == "" {
		return
	}
	ping, pong := os.NewFile(3, "heartbeat-ping"), os.NewFile(4, "heartbeat-pong")
	go func() {
		buf := make([]byte, 1)
		for {
			if _, err := ping.Read(buf); err != nil {
				supervisorGone()
				return
			}
			if _, err := pong.Write(buf); err != nil {
				return
			}
		}
	}()
}
