package readdeadline_test

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/internal/readdeadline"
)

func TestTick(t *testing.T) {
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, time.Second},
		{[]time.Duration{0, 0}, time.Second},
		{[]time.Duration{10 * time.Second, 65 * time.Second}, time.Second},
		{[]time.Duration{3 * time.Second, 0}, 300 * time.Millisecond},
		{[]time.Duration{0, 500 * time.Millisecond}, 50 * time.Millisecond},
		{[]time.Duration{time.Millisecond}, 10 * time.Millisecond},
	} {
		assert.Equal(t, tc.want, readdeadline.Tick(tc.in...), "%v", tc.in)
	}
}

// pair returns both ends of a loopback TCP connection, the server end
// accepted through a wrapped listener.
func pair(t testing.TB, tick time.Duration) (*readdeadline.Listener, *readdeadline.Conn, net.Conn) {
	t.Helper()
	return pairStall(t, tick, 0)
}

// pairStall is pair with a body stall limit.
func pairStall(t testing.TB, tick, stall time.Duration) (*readdeadline.Listener, *readdeadline.Conn, net.Conn) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := readdeadline.Wrap(inner, tick, stall)
	t.Cleanup(func() { _ = ln.Close() })
	client, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	sc, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = sc.Close() })
	return ln, sc.(*readdeadline.Conn), client
}

// readResult runs one Read on c in the background.
func readResult(c net.Conn) <-chan error {
	errc := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 16))
		errc <- err
	}()
	return errc
}

func TestDeadlineFailsPendingRead(t *testing.T) {
	_, sc, _ := pair(t, 10*time.Millisecond)
	start := time.Now()
	require.NoError(t, sc.SetReadDeadline(start.Add(50*time.Millisecond)))
	select {
	case err := <-readResult(sc):
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		var ne net.Error
		require.True(t, errors.As(err, &ne) && ne.Timeout(), "net/http recognises a timeout by net.Error.Timeout: %v", err)
		assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "fired before the deadline")
	case <-time.After(10 * time.Second):
		t.Fatal("the deadline never fired")
	}
}

func TestMovedOrClearedDeadlineDoesNotFire(t *testing.T) {
	_, sc, client := pair(t, 10*time.Millisecond)
	require.NoError(t, sc.SetReadDeadline(time.Now().Add(30*time.Millisecond)))
	require.NoError(t, sc.SetReadDeadline(time.Now().Add(time.Hour))) // moved
	errc := readResult(sc)
	time.Sleep(150 * time.Millisecond) // many ticks past the first deadline
	require.NoError(t, sc.SetReadDeadline(time.Time{}))
	_, err := client.Write([]byte("x"))
	require.NoError(t, err)
	require.NoError(t, <-errc)
}

func TestExpiredConnectionReadsAgainOnceCleared(t *testing.T) {
	_, sc, client := pair(t, 10*time.Millisecond)
	require.NoError(t, sc.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
	require.ErrorIs(t, <-readResult(sc), os.ErrDeadlineExceeded)
	// The real deadline is now in the past; clearing ours clears it.
	require.NoError(t, sc.SetReadDeadline(time.Time{}))
	_, err := client.Write([]byte("x"))
	require.NoError(t, err)
	require.NoError(t, <-readResult(sc))
}

func TestPastDeadlineTakesEffectAtOnce(t *testing.T) {
	// A tick of an hour: only the direct path can fail the read.
	_, sc, client := pair(t, time.Hour)
	errc := readResult(sc)
	time.Sleep(20 * time.Millisecond) // let the read block
	require.NoError(t, sc.SetReadDeadline(time.Unix(1, 0)))
	select {
	case err := <-errc:
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(10 * time.Second):
		t.Fatal("a past deadline did not abort the read")
	}
	require.NoError(t, sc.SetReadDeadline(time.Time{}))
	_, err := client.Write([]byte("x"))
	require.NoError(t, err)
	require.NoError(t, <-readResult(sc))
}

func TestSetDeadlineSetsBoth(t *testing.T) {
	_, sc, _ := pair(t, 10*time.Millisecond)
	require.NoError(t, sc.SetDeadline(time.Unix(1, 0)))
	_, err := sc.Write([]byte("x"))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "write deadline")
	require.ErrorIs(t, <-readResult(sc), os.ErrDeadlineExceeded, "read deadline")
}

func TestCloseWriteAndReadFromReachTheTCPConnection(t *testing.T) {
	_, sc, client := pair(t, 10*time.Millisecond)
	n, err := sc.ReadFrom(io.LimitReader(zeroReader{}, 1000))
	require.NoError(t, err)
	require.EqualValues(t, 1000, n)
	require.NoError(t, sc.CloseWrite())
	got, err := io.ReadAll(client) // EOF after the half-close
	require.NoError(t, err)
	assert.Len(t, got, 1000)
	_, err = client.Write([]byte("still open for reading"))
	require.NoError(t, err)
	buf := make([]byte, 64)
	n2, err := sc.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "still open for reading", string(buf[:n2]))
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A body read — after net/http clears the header deadline, before it
// clears it again for its background read — that receives nothing for the
// stall limit fails as an expired deadline would; one that receives data
// leaves the connection readable; the background read, and a read under a
// deadline, are left to their deadline.
func TestBodyStallFailsSilentRead(t *testing.T) {
	_, sc, client := pairStall(t, 10*time.Millisecond, 50*time.Millisecond)
	// As net/http: the header deadline, then cleared for the body.
	require.NoError(t, sc.SetReadDeadline(time.Now().Add(time.Hour)))
	require.NoError(t, sc.SetReadDeadline(time.Time{}))
	_, err := client.Write([]byte("ab"))
	require.NoError(t, err)
	buf := make([]byte, 16)
	n, err := sc.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "ab", string(buf[:n]))

	err = <-readResult(sc)
	assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "got %v", err)
	// A one-byte read too (bufio fills its last free byte so, when a
	// chunk-size line nearly fills it).
	require.NoError(t, sc.SetReadDeadline(time.Now().Add(time.Hour)))
	require.NoError(t, sc.SetReadDeadline(time.Time{}))
	one := make(chan error, 1)
	go func() {
		_, err := sc.Read(make([]byte, 1))
		one <- err
	}()
	err = <-one
	assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "got %v", err)

	// The next request: header deadline, cleared for the body, cleared
	// again for the background read, which waits for ever.
	require.NoError(t, sc.SetReadDeadline(time.Now().Add(time.Hour)))
	require.NoError(t, sc.SetReadDeadline(time.Time{}))
	require.NoError(t, sc.SetReadDeadline(time.Time{}))
	background := make(chan error, 1)
	go func() {
		_, err := sc.Read(make([]byte, 1))
		background <- err
	}()
	time.Sleep(300 * time.Millisecond) // six stall limits
	_, err = client.Write([]byte("c"))
	require.NoError(t, err)
	assert.NoError(t, <-background, "the background read waits for ever")

	require.NoError(t, sc.SetReadDeadline(time.Now().Add(time.Hour)))
	under := readResult(sc)
	time.Sleep(300 * time.Millisecond)
	_, err = client.Write([]byte("d"))
	require.NoError(t, err)
	assert.NoError(t, <-under, "a read under a deadline has that deadline only")
}

// writeResult runs one Write of n bytes on c in the background.
func writeResult(c net.Conn, n int) <-chan error {
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, n))
		errc <- err
	}()
	return errc
}

// A write the client takes nothing of for the stall limit fails as an
// expired deadline would (net/http then closes the connection); one the
// client reads, however large, succeeds; a hijacked connection (net/http
// calls SetDeadline as it hands it over) has no such limit.
func TestWriteStallFailsWriteTheClientDoesNotRead(t *testing.T) {
	const size = 64 << 20 // far more than the loopback buffers hold
	t.Run("not read", func(t *testing.T) {
		_, sc, _ := pairStall(t, 10*time.Millisecond, 50*time.Millisecond)
		select {
		case err := <-writeResult(sc, size):
			assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "got %v", err)
		case <-time.After(10 * time.Second): // a hang guard, not a speed limit
			t.Fatal("a write the client reads nothing of still blocks after 200 stall limits")
		}
	})
	t.Run("read slowly", func(t *testing.T) {
		// A piece (256 KiB, four reads here) takes ≈20 ms against a 1 s
		// limit: room for a loaded machine's late timers.
		_, sc, client := pairStall(t, 10*time.Millisecond, time.Second)
		errc := writeResult(sc, 8<<20)
		got, buf := 0, make([]byte, 64<<10)
		for got < 8<<20 {
			time.Sleep(5 * time.Millisecond) // 13 MB/s: a piece within the limit
			n, err := io.ReadFull(client, buf[:min(len(buf), 8<<20-got)])
			require.NoError(t, err)
			got += n
		}
		require.NoError(t, <-errc)
		// The next write is not affected.
		require.NoError(t, <-writeResult(sc, 10))
	})
	t.Run("hijacked", func(t *testing.T) {
		_, sc, client := pairStall(t, 10*time.Millisecond, 50*time.Millisecond)
		require.NoError(t, sc.SetDeadline(time.Time{}))
		errc := writeResult(sc, size)
		time.Sleep(300 * time.Millisecond) // six stall limits
		_, err := io.CopyN(io.Discard, client, size)
		require.NoError(t, err)
		assert.NoError(t, <-errc)
	})
	t.Run("no limit", func(t *testing.T) {
		_, sc, client := pair(t, 10*time.Millisecond)
		errc := writeResult(sc, size)
		time.Sleep(300 * time.Millisecond)
		_, err := io.CopyN(io.Discard, client, size)
		require.NoError(t, err)
		assert.NoError(t, <-errc)
	})
}
