package main

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// The words arrive as separate events, each while the next is still being
// produced, then [DONE]; the stream is chunked and labelled as events.
func TestStreamsWordsAsEvents(t *testing.T) {
	srv := runtimetest.Start(t, &Words{name: "stream"})
	const delay = 300 * time.Millisecond
	start := time.Now()
	resp, err := http.Post(srv.URL+"/v1/models/stream:predict", "application/json",
		strings.NewReader(`{"prompt":"the quick  brown fox","delay_ms":300}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)

	events := bufio.NewReader(resp.Body)
	want := []string{
		`data: {"index":0,"token":"the"}`,
		`data: {"index":1,"token":"quick"}`,
		`data: {"index":2,"token":"brown"}`,
		`data: {"index":3,"token":"fox"}`,
		`data: [DONE]`,
	}
	for i, w := range want {
		line, err := events.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, w+"\n", line)
		if i == 0 {
			// The first word is out before the second is made: streamed,
			// not gathered (a gathered answer would take 3×delay).
			assert.Less(t, time.Since(start), 2*delay)
		}
		blank, err := events.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "\n", blank)
	}
	rest, err := io.ReadAll(events)
	require.NoError(t, err)
	assert.Empty(t, rest)
	assert.GreaterOrEqual(t, time.Since(start), 3*delay)
}

// A bad request is refused before the stream starts, with KServe's error body.
func TestBadRequestsAreOrdinaryErrors(t *testing.T) {
	srv := runtimetest.Start(t, &Words{name: "stream"})
	for body, want := range map[string]string{
		`{"prompt":"   "}`:                  `{"error":"\"prompt\" must hold at least one word"}`,
		`{"prompt":"a b","delay_ms":99999}`: `{"error":"\"delay_ms\" must be between 0 and 10000, got 99999"}`,
		`{"prompt":`:                        `{"error":"Unrecognized request format: unexpected end of JSON input at offset 10"}`,
	} {
		resp, err := http.Post(srv.URL+"/v1/models/stream:predict", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, 400, resp.StatusCode, body)
		assert.Equal(t, want, string(got), body)
	}
}
