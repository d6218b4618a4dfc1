package readdeadline

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Closed connections leave the sweep; closing the listener stops it.
func TestConnectionsAreForgottenOnClose(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := Wrap(inner, 10*time.Millisecond, 0)
	client, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	nc, err := l.Accept()
	require.NoError(t, err)
	count := func() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.conns) }
	require.Equal(t, 1, count())
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(time.Millisecond)))
	require.NoError(t, nc.Close())
	require.Equal(t, 0, count())
	time.Sleep(30 * time.Millisecond) // sweeps with the connection gone

	require.NoError(t, l.Close())
	select {
	case <-l.swept:
	default:
		t.Fatal("sweeper still running after Close")
	}
	require.Error(t, l.Close(), "second close reports the closed listener")
}
