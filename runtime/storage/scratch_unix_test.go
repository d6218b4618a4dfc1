//go:build unix

package storage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envDownloadChild makes the test binary a process that downloads the URL
// it names into the cache KSERVE_GEN_TEST_CACHE names, as a server's start
// does, until it is killed.
const envDownloadChild = "KSERVE_GEN_TEST_DOWNLOAD_URL"

// A download killed outright (SIGKILL: an OOM kill, a liveness probe
// restarting a pod stuck downloading) leaves its partial copy; the next
// download in the cache removes it at once, as no process holds its lock
// any longer, and leaves the partial copy of a download still running in
// another process. Before, both stayed for a day, so a pod restarting in a
// loop piled up one partial model per attempt until its disk was full.
func TestDownload_KilledDownloadSweptAtTheNextStart(t *testing.T) {
	if u := os.Getenv(envDownloadChild); u != "" {
		_, err := Resolver{CacheDir: os.Getenv("KSERVE_GEN_TEST_CACHE"), Getenv: func(string) string { return "" }, StallTimeout: time.Hour}.Resolve(context.Background(), u)
		t.Fatalf("the download returned: %v", err)
	}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(make([]byte, 64<<10))
		if r.URL.Path == "/m/model.onnx" {
			return
		}
		w.(http.Flusher).Flush()
		<-release // a download that never ends while the test runs
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before srv.Close, which waits for the handlers
	cache := t.TempDir()

	child := func(path string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1")
		cmd.Env = append(os.Environ(), envDownloadChild+"="+srv.URL+path, "KSERVE_GEN_TEST_CACHE="+cache)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		return cmd
	}
	partial := func(name string) string {
		var found string
		require.Eventually(t, func() bool {
			matches, _ := filepath.Glob(filepath.Join(cache, ".download-*", name))
			for _, m := range matches {
				if st, err := os.Stat(m); err == nil && st.Size() > 0 {
					found = filepath.Dir(m)
				}
			}
			return found != ""
		}, time.Minute, 10*time.Millisecond, "no partial download of %s", name)
		return found
	}
	killed := child("/slow/killed.onnx")
	killedDir := partial("killed.onnx")
	child("/slow/running.onnx")
	runningDir := partial("running.onnx")
	require.NoError(t, killed.Process.Signal(syscall.SIGKILL))
	var exit *exec.ExitError
	require.True(t, errors.As(killed.Wait(), &exit), "killed")
	require.DirExists(t, killedDir)

	dir, err := Resolver{CacheDir: cache, Getenv: func(string) string { return "" }}.Resolve(context.Background(), srv.URL+"/m/model.onnx")
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(dir, "model.onnx"))
	assert.NoDirExists(t, killedDir, "the killed download's partial copy")
	assert.NoFileExists(t, killedDir+".lock")
	assert.DirExists(t, runningDir, "the running download's partial copy")
	assert.FileExists(t, runningDir+".lock")
	leftovers, err := filepath.Glob(filepath.Join(cache, ".download-*"))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{runningDir, runningDir + ".lock"}, leftovers, "nothing else: the finished download's lock is gone too")
}
