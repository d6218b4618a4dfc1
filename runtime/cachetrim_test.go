package runtime

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/storage"
)

// oldEntryModel notes, as it loads, whether the cache's old entry is there.
type oldEntryModel struct {
	entry   string
	present atomic.Bool
	ready   atomic.Bool
}

func (m *oldEntryModel) Name() string { return "m" }
func (m *oldEntryModel) Ready() bool  { return m.ready.Load() }
func (m *oldEntryModel) Predict(context.Context, *infer.Request, *model.Headers) (*infer.Response, error) {
	return nil, nil
}
func (m *oldEntryModel) Load(context.Context) error {
	_, err := os.Stat(m.entry + ".json")
	m.present.Store(err == nil)
	m.ready.Store(true)
	return nil
}

// cacheWithOldEntry points the user's cache at a new folder holding one
// model unused for 60 days, and serves another model to download; it
// returns the old entry's folder and the URI to serve.
func cacheWithOldEntry(t *testing.T) (entry, uri string) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"1"`)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.WriteString(w, "model")
	}))
	t.Cleanup(origin.Close)
	home := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", home)
	t.Setenv("KSERVE_GEN_CACHE_MAX_AGE", "")
	entry = filepath.Join(home, "kserve-gen", "storage", "old.onnx-0123456789abcdef")
	require.NoError(t, os.MkdirAll(filepath.Join(entry, "20250101T000000Z-1"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(entry, "20250101T000000Z-1", "old.onnx"), []byte("old"), 0o644))
	long := time.Now().Add(-60 * 24 * time.Hour).UTC()
	b, err := json.Marshal(map[string]any{"uri": origin.URL + "/old.onnx", "etag": `"1"`, "version": "20250101T000000Z-1",
		"downloaded": long, "last_used": long})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(entry+".json", b, 0o644))
	return entry, origin.URL + "/model.onnx"
}

// startTrimServer runs a server for uri whose cache trim waits for gate
// to return before running (with Run's trim context, which gate is
// given) and signals done.
func startTrimServer(t *testing.T, uri string, m *oldEntryModel, gate func(context.Context), done chan<- error) (url string, stop func() error) {
	cfg := config.Default()
	cfg.EnableGRPC = false
	cfg.StorageURI = uri
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := NewServer(cfg, WithHTTPListener(ln), WithLogOutput(io.Discard, io.Discard))
	s.trim = func(ctx context.Context, dir string) error {
		gate(ctx)
		err := storage.Resolver{Logger: s.log}.Trim(ctx, dir)
		done <- err
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx, m) }()
	select {
	case <-s.Ready():
	case err := <-ran:
		t.Fatal(err)
	}
	stop = sync.OnceValue(func() error { cancel(); return <-ran })
	t.Cleanup(func() { _ = stop() })
	return "http://" + ln.Addr().String(), stop
}

// The server answers ready with the cache's old entry still there, and
// removes it afterwards: trimming the cache does not delay readiness.
func TestCache_TrimmedAfterReady(t *testing.T) {
	entry, uri := cacheWithOldEntry(t)
	m := &oldEntryModel{entry: entry}
	release, done := make(chan struct{}), make(chan error, 1)
	url, stop := startTrimServer(t, uri, m, func(context.Context) { <-release }, done)
	assert.True(t, m.present.Load(), "the old entry was removed before the model loaded")

	resp, err := http.Get(url + "/v2/health/ready")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.FileExists(t, entry+".json")

	close(release)
	require.NoError(t, <-done)
	assert.NoFileExists(t, entry+".json")
	assert.NoDirExists(t, entry)
	require.NoError(t, stop())
}

// A shutdown during the trim stops it, and Run waits for it; the cache
// is left consistent (here: the old entry whole, the trim stopped before
// its first file).
func TestCache_TrimStopsAtShutdown(t *testing.T) {
	entry, uri := cacheWithOldEntry(t)
	m := &oldEntryModel{entry: entry}
	done, started := make(chan error, 1), make(chan struct{})
	// The trim runs once the server is stopping: its context has ended.
	// (Released by the test instead, it could run before the stop's
	// cancel, and remove the entry.) The stop waits for the trim to have
	// started: stopped first, the server rightly skips it, and done never
	// gets a value (the test hung, about one run in five).
	_, stop := startTrimServer(t, uri, m, func(ctx context.Context) { close(started); <-ctx.Done() }, done)
	<-started

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	require.ErrorIs(t, <-done, context.Canceled)
	require.NoError(t, <-stopped)
	assert.FileExists(t, entry+".json")
	assert.FileExists(t, filepath.Join(entry, "20250101T000000Z-1", "old.onnx"))
}
