//go:build unix

package runtime

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/metrics"
)

// processMetrics is a process's collectors after n v1 predicts of model m,
// without the process-wide registry (the test's own go_* figures).
func processMetrics(n int) *metrics.Metrics {
	m := metrics.New(metrics.ServesGRPC(false))
	m.Default = nil
	mm := m.ForModel("m")
	for range n {
		mm.Exchange(0, false, 10, 10, "")
	}
	return m
}

// v1Predicts is kserve_requests_total{model_name="m",protocol="v1",verb="predict"}
// in fams; -1 when it is not there.
func v1Predicts(fams []*dto.MetricFamily) float64 {
	for _, mf := range fams {
		if mf.GetName() != "kserve_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["model_name"] == "m" && labels["protocol"] == "v1" && labels["verb"] == "predict" {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

// A worker that does not answer the parent in time is left out of the
// scrape with a WARNING, its counts as last gathered standing in, so the
// pod's counter does not go back; one whose socket is gone (restarting)
// is left out without a warning.
func TestPodMetrics_UnansweringWorkerKeepsItsCounts(t *testing.T) {
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	p, err := newPodMetrics(2, log)
	require.NoError(t, err)
	defer p.close()
	info, err := os.Stat(p.dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "only this user reaches the sockets")

	p.setLocal(processMetrics(1))
	defer serveWorkerMetrics(p.dir, "0", processMetrics(2), log)()
	stop1 := serveWorkerMetrics(p.dir, "1", processMetrics(4), log)
	fams, err := p.gather()
	require.NoError(t, err)
	assert.Equal(t, 7.0, v1Predicts(fams))
	stop1()

	// Worker 1 hangs: it accepts and never answers.
	hung, err := net.Listen("unix", filepath.Join(p.dir, "worker-1.sock"))
	require.NoError(t, err)
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	fams, err = p.gather()
	require.NoError(t, err)
	assert.Equal(t, 7.0, v1Predicts(fams))
	assert.Contains(t, logs.String(), `level=WARN msg="/metrics: worker 1's metrics left out (its counters and histograms as last gathered stand in): Get \"http://worker-1/\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"`)
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), logs)

	// Gone (its socket removed): no warning, same counts.
	require.NoError(t, hung.Close())
	fams, err = p.gather()
	require.NoError(t, err)
	assert.Equal(t, 7.0, v1Predicts(fams))
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), logs)
}

// A worker replaced by one with the same pid (a pid namespace's numbers
// wrap around; here, both are this test's process) is still a new worker:
// the one it replaced keeps its counts, so the pod's counter goes on from
// there instead of back to the new worker's.
func TestPodMetrics_ReplacementWithTheSamePidKeepsTheCounts(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	p, err := newPodMetrics(1, log)
	require.NoError(t, err)
	defer p.close()
	stop := serveWorkerMetrics(p.dir, "0", processMetrics(5), log)
	fams, err := p.gather()
	require.NoError(t, err)
	assert.Equal(t, 5.0, v1Predicts(fams))
	stop()

	defer serveWorkerMetrics(p.dir, "0", processMetrics(2), log)()
	fams, err = p.gather()
	require.NoError(t, err)
	assert.Equal(t, 7.0, v1Predicts(fams), "the replaced worker's 5 and the new one's 2")
}

// A worker's /metrics is the parent's answer; with no parent answering it
// fails (503, WARNING) instead of serving the worker's own counts, which
// would read as the pod's counters going back.
func TestPodMetrics_WorkerAsksTheParent(t *testing.T) {
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	p, err := newPodMetrics(1, log)
	require.NoError(t, err)
	p.setLocal(processMetrics(3))
	defer serveWorkerMetrics(p.dir, "0", processMetrics(2), log)()

	get := func() (int, string) {
		rec := httptest.NewRecorder()
		podMetricsProxy(p.dir, log).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, err := io.ReadAll(rec.Result().Body)
		require.NoError(t, err)
		return rec.Code, string(b)
	}
	code, body := get()
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "\nkserve_requests_total{model_name=\"m\",protocol=\"v1\",verb=\"predict\"} 5\n")

	p.close()
	code, body = get()
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "the pod's metrics are unavailable: the --workers parent process did not answer\n", body)
	assert.Contains(t, logs.String(), `level=WARN msg="/metrics: no answer from the parent process, which merges the workers' metrics: dial unix `+filepath.Join(p.dir, "parent.sock")+`: connect: no such file or directory; answering 503"`)
}

// A folder where the parent's socket fits a unix socket's path but the
// workers' do not (theirs are longer) is refused whole, naming TMPDIR:
// served, it would leave every worker out of the pod's /metrics, each
// scrape warning about each, where refusing it makes each process serve
// its own, as documented.
func TestPodMetrics_SocketPathTooLongForAWorker(t *testing.T) {
	base := t.TempDir()
	// dir/parent.sock is 107 bytes, the most Linux takes; dir/worker-0.sock 109.
	dir := filepath.Join(base, strings.Repeat("d", 107-len(base)-len("/")-len("/parent.sock")))
	require.NoError(t, os.Mkdir(dir, 0o700))
	max := len(syscall.RawSockaddrUnix{}.Path) - 1
	p, err := servePodMetrics(dir, 12, slog.New(slog.DiscardHandler))
	if p != nil {
		p.close()
	}
	require.Error(t, err)
	assert.Equal(t, fmt.Sprintf("a unix socket's path has at most %d bytes, and %s has %d: set TMPDIR to a shorter folder",
		max, filepath.Join(dir, "worker-11.sock"), len(dir)+len("/worker-11.sock")), err.Error())
}

// Scrapes that arrive while the parent gathers share that gather. With a
// worker that does not answer, each would otherwise wait for the ones
// before it to give up on that worker (1 s each), and the sixth of six
// at once would outlast a worker's 5 s wait for the parent: a 503, a gap
// in every scraper's series, for one hung worker.
func TestPodMetrics_ConcurrentScrapesShareAGather(t *testing.T) {
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	p, err := newPodMetrics(2, log)
	require.NoError(t, err)
	defer p.close()
	p.setLocal(processMetrics(1))
	defer serveWorkerMetrics(p.dir, "0", processMetrics(2), log)()

	// Worker 1 hangs: it accepts and never answers.
	hung, err := net.Listen("unix", filepath.Join(p.dir, "worker-1.sock"))
	require.NoError(t, err)
	defer hung.Close()
	var asked atomic.Int32
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			asked.Add(1)
			defer c.Close()
		}
	}()

	const scrapes = 8
	proxy := podMetricsProxy(p.dir, log)
	recs := make([]*httptest.ResponseRecorder, scrapes)
	var wg sync.WaitGroup
	for i := range recs {
		recs[i] = httptest.NewRecorder()
		wg.Go(func() { proxy.ServeHTTP(recs[i], httptest.NewRequest("GET", "/metrics", nil)) })
	}
	wg.Wait()
	for i, rec := range recs {
		assert.Equal(t, http.StatusOK, rec.Code, "scrape %d: %s", i, rec.Body)
		assert.Contains(t, rec.Body.String(), "\nkserve_requests_total{model_name=\"m\",protocol=\"v1\",verb=\"predict\"} 3\n", "scrape %d", i)
	}
	assert.Less(t, asked.Load(), int32(scrapes), "the hung worker was asked once per gather, not once per scrape")
}

// A server killed with SIGKILL leaves its sockets' folder behind; the next
// one to start removes it, so that a restart loop on a /tmp that outlives
// the container (an emptyDir) does not pile them up. A folder whose
// server is alive, or still being made (no parent.sock yet), stays.
func TestPodMetrics_StaleFoldersRemovedAtStart(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	mk := func(name string) string {
		dir := filepath.Join(tmp, name)
		require.NoError(t, os.Mkdir(dir, 0o700))
		return dir
	}
	// Killed: its sockets are still there, nobody listens on them.
	stale := mk("kserve-gen-metrics-1")
	for _, s := range []string{"parent.sock", "worker-0.sock"} {
		ln, err := net.Listen("unix", filepath.Join(stale, s))
		require.NoError(t, err)
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		require.NoError(t, ln.Close())
	}
	starting := mk("kserve-gen-metrics-2")
	other := mk("not-kserve-gen")
	live, err := newPodMetrics(1, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer live.close()

	p, err := newPodMetrics(1, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer p.close()
	for _, dir := range []string{starting, other, live.dir, p.dir} {
		assert.DirExists(t, dir)
	}
	assert.NoDirExists(t, stale)
}
