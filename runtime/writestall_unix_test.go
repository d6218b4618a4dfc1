//go:build unix

package runtime_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientNotReadingItsAnswerIsDisconnected: a client that takes nothing
// of its answer for --read_header_timeout is disconnected, so a hung client
// no longer holds the handler's goroutine and the whole response in memory
// for as long as it keeps its connection open (net/http alone, and uvicorn,
// wait for ever); one that reads gets all of an answer however large.
func TestClientNotReadingItsAnswerIsDisconnected(t *testing.T) {
	cfg := defaultConfig()
	// Long enough that sending the 8 MB request, which the server reads as
	// it arrives under the same limit, is no stall even when the race
	// detector and a loaded machine starve this process's client for a
	// while (100 ms was cut once in CI, the request half sent).
	cfg.ReadHeaderTimeout = 500 * time.Millisecond
	ts := startServer(t, cfg, &echoModel{name: "echo"})
	ts.waitReady(t)
	values := strings.TrimSuffix(strings.Repeat("1.5,", 2<<20), ",") // an 8 MB answer
	body, want := `{"instances":[`+values+`]}`, `{"predictions":[`+values+`]}`

	code, _, got := do(t, "POST", ts.url+"/v1/models/echo:predict", "application/json", []byte(body))
	require.Equal(t, 200, code)
	require.True(t, got == want, "a client that reads gets the whole answer (%d bytes of %d)", len(got), len(want))

	// A small receive buffer from the start: the kernel holds little of
	// the answer for the client.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	c, err := d.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	require.NoError(t, err)
	defer c.Close()
	_, err = fmt.Fprintf(c, "POST /v1/models/echo:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Minute)))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil) // once the server writes
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	time.Sleep(4 * cfg.ReadHeaderTimeout) // reading nothing more: the write stalls past the limit
	b, err := io.ReadAll(resp.Body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "want the answer cut off")
	assert.Less(t, len(b), len(want)-len(`{"predictions":[`))
}
