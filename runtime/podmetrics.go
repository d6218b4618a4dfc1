package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/kserve-gen/kserve-gen/runtime/metrics"
)

// With --workers N, /metrics is the pod's: whichever worker the kernel
// hands a scrape to passes it to the parent, which gathers its own
// registries (the gRPC requests) and every worker's, each served on a unix
// socket in a folder only this user can enter, and merges them
// (metrics.Merge). The parent, which outlives the workers, also keeps what
// a worker that is gone had counted, so the pod's counters never go back
// when a worker is restarted. With one process none of this runs: its
// /metrics serves its registries as before.

// metricsDirEnv passes the sockets' folder to a --workers server's workers.
const metricsDirEnv = "KSERVE_GEN_METRICS_DIR"

const (
	// parentMetricsHost is the parent's socket (parent.sock), as the host
	// of the URL a worker asks it on; a worker's is worker-<i>.
	parentMetricsHost = "parent"
	// metricsAskTimeout is how long the parent waits for one worker's
	// metrics; the workers are asked at once.
	metricsAskTimeout = time.Second
	// metricsProxyTimeout is how long a worker waits for the pod's metrics
	// from the parent: a worker that does not answer costs it
	// metricsAskTimeout, not this.
	metricsProxyTimeout = 5 * time.Second
	// instanceHeader names the worker process answering the parent (its
	// pid and when it began serving), which tells the parent when a worker
	// has been replaced: by the pid alone, a replacement given the pid of
	// the one it replaced (pids wrap around) would read as the same
	// process, and its counts as the old one's going back.
	instanceHeader = "Kserve-Gen-Instance"
)

// newMetrics is the server's collectors; in a --workers process it also
// hands them to the pod's merge: the parent's to its own gather, a
// worker's to the parent through its socket.
func (s *Server) newMetrics(serveGRPC bool) *metrics.Metrics {
	m := metrics.New(metrics.ServesGRPC(serveGRPC))
	if s.pod != nil {
		s.pod.setLocal(m)
	} else if dir, i := os.Getenv(metricsDirEnv), os.Getenv(workerEnv); dir != "" && i != "" {
		serveWorkerMetrics(dir, i, m, s.log)
	}
	return m
}

// metricsHandler serves /metrics: a --workers worker's answers with the
// pod's metrics, from the parent.
func (s *Server) metricsHandler() http.Handler {
	if dir := os.Getenv(metricsDirEnv); dir != "" && os.Getenv(workerEnv) != "" {
		return podMetricsProxy(dir, s.log)
	}
	return s.metrics.Handler(s.log)
}

// unixTransport reaches the socket named by a request's host in dir.
func unixTransport(dir string) *http.Transport {
	var d net.Dialer
	return &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return d.DialContext(ctx, "unix", filepath.Join(dir, host+".sock"))
		},
		// A scrape every few seconds; a kept connection would outlive the
		// worker it reached.
		DisableKeepAlives: true,
	}
}

// podMetricsProxy passes a worker's /metrics request (its Accept and
// Accept-Encoding included) to the parent. A parent that does not answer
// fails the scrape (503): Prometheus leaves a gap, where this worker's
// figures alone would read as the pod's counters going back.
func podMetricsProxy(dir string, log *slog.Logger) http.Handler {
	t := unixTransport(dir)
	t.ResponseHeaderTimeout = metricsProxyTimeout
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host, r.Out.Host = "http", parentMetricsHost, parentMetricsHost
		},
		Transport: t,
		ErrorLog:  slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			log.Warn(fmt.Sprintf("/metrics: no answer from the parent process, which merges the workers' metrics: %v; answering 503", err))
			http.Error(w, "the pod's metrics are unavailable: the --workers parent process did not answer", http.StatusServiceUnavailable)
		},
	}
}

// serveWorkerMetrics serves worker i's registries to the parent on
// worker-<i>.sock in dir, for as long as the process runs, in the
// Prometheus protobuf format (lossless: the _created timestamps too). A
// socket that cannot be opened leaves the worker out of /metrics, with a
// WARNING, rather than stopping it. The function returned stops serving
// (tests).
func serveWorkerMetrics(dir, i string, m *metrics.Metrics, log *slog.Logger) (stop func()) {
	path := filepath.Join(dir, "worker-"+i+".sock")
	_ = os.Remove(path) // left by the worker this one replaces, if it was killed
	ln, err := net.Listen("unix", path)
	if err != nil {
		log.Warn(fmt.Sprintf("Worker %s's metrics are left out of /metrics: %v", i, err))
		return func() {}
	}
	format := expfmt.NewFormat(expfmt.TypeProtoDelim)
	instance := strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	srv := &http.Server{
		ReadHeaderTimeout: metricsProxyTimeout,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fams, err := m.Gatherer().Gather()
			if err != nil {
				// What promhttp logs, in a single process, for a metric it
				// leaves out; the rest is served.
				log.Error(fmt.Sprintf("error gathering metrics: %v", err))
			}
			w.Header().Set("Content-Type", string(format))
			w.Header().Set(instanceHeader, instance)
			enc := expfmt.NewEncoder(w, format)
			for _, mf := range fams {
				if enc.Encode(mf) != nil {
					return // the parent gave up
				}
			}
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }
}

// podMetrics is the parent's side: it answers the workers' /metrics with
// the pod's metrics.
type podMetrics struct {
	dir     string
	workers int
	log     *slog.Logger
	srv     *http.Server
	client  *http.Client

	flightMu sync.Mutex
	// flight is the gather in progress, which a scrape arriving meanwhile
	// shares (gatherShared).
	flight *sharedGather

	mu    sync.Mutex // one merge at a time: it updates last and gone
	local *metrics.Metrics
	// last is each worker's metrics as last gathered, and the process
	// that answered (instanceHeader).
	last []workerMetrics
	// gone is the counters and histograms of the workers that were
	// replaced, as last gathered, summed.
	gone []*dto.MetricFamily
}

// sharedGather is one gather's result, for every scrape that shares it.
type sharedGather struct {
	done chan struct{} // closed once fams and err are set
	fams []*dto.MetricFamily
	err  error
}

type workerMetrics struct {
	instance string
	families []*dto.MetricFamily
}

// newPodMetrics makes the sockets' folder (mode 0700) and serves the pod's
// metrics on its parent.sock.
func newPodMetrics(workers int, log *slog.Logger) (*podMetrics, error) {
	removeStaleMetricsDirs(os.TempDir())
	dir, err := os.MkdirTemp("", metricsDirPrefix)
	if err != nil {
		return nil, err
	}
	p, err := servePodMetrics(dir, workers, log)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

// metricsDirPrefix begins the name of the sockets' folder in TMPDIR.
const metricsDirPrefix = "kserve-gen-metrics-"

// removeStaleMetricsDirs removes the sockets' folders in tmp that a parent
// killed with SIGKILL left behind (close never ran): a restart loop on a
// TMPDIR that outlives the container (an emptyDir) would pile them up. A
// folder is stale when nothing listens on its parent.sock: connecting is
// refused. One whose server is alive answers, and one still being made
// has no parent.sock yet; both stay, as does what this user cannot remove.
func removeStaleMetricsDirs(tmp string) {
	entries, _ := os.ReadDir(tmp) // not Glob: tmp may hold its metacharacters
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), metricsDirPrefix) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		c, err := net.DialTimeout("unix", filepath.Join(dir, parentMetricsHost+".sock"), time.Second)
		if err == nil {
			_ = c.Close()
			continue
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			_ = os.RemoveAll(dir)
		}
	}
}

// servePodMetrics serves the pod's metrics on dir's parent.sock. A folder
// whose workers' sockets would not fit a unix socket's path is refused,
// though the parent's shorter name might: served, every worker would be
// left out of the pod's metrics, which would then count no REST request.
func servePodMetrics(dir string, workers int, log *slog.Logger) (*podMetrics, error) {
	// The last worker's is the longest name (parent.sock is shorter);
	// sun_path keeps a byte for the terminating NUL.
	longest := filepath.Join(dir, fmt.Sprintf("worker-%d.sock", workers-1))
	if max := len(syscall.RawSockaddrUnix{}.Path) - 1; len(longest) > max {
		return nil, fmt.Errorf("a unix socket's path has at most %d bytes, and %s has %d: set TMPDIR to a shorter folder", max, longest, len(longest))
	}
	ln, err := net.Listen("unix", filepath.Join(dir, parentMetricsHost+".sock"))
	if err != nil {
		return nil, err
	}
	p := &podMetrics{
		dir: dir, workers: workers, log: log,
		client: &http.Client{Transport: unixTransport(dir), Timeout: metricsAskTimeout},
		last:   make([]workerMetrics, workers),
	}
	p.srv = &http.Server{
		Handler:           metrics.HandlerFor(prometheus.GathererFunc(p.gatherShared), log),
		ReadHeaderTimeout: metricsProxyTimeout,
	}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// close stops serving and removes the folder with the workers' sockets.
func (p *podMetrics) close() {
	_ = p.srv.Close()
	_ = os.RemoveAll(p.dir)
}

// setLocal adds the parent's own registries to the pod's metrics.
func (p *podMetrics) setLocal(m *metrics.Metrics) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.local = m
}

// gatherShared is gather, shared by the scrapes that arrive while it runs
// (several Prometheus replicas, an autoscaler's adapter): a gather waits
// up to metricsAskTimeout for a hung worker, and holds p.mu meanwhile, so
// scrapes queued one behind the other would each add that wait, and past
// metricsProxyTimeout the last would fail. The families are only read by
// the encoders that serve them.
func (p *podMetrics) gatherShared() ([]*dto.MetricFamily, error) {
	p.flightMu.Lock()
	g := p.flight
	if g == nil {
		g = &sharedGather{done: make(chan struct{})}
		p.flight = g
		p.flightMu.Unlock()
		func() {
			// Done even if gather panics: the scrapes waiting on it must not hang.
			defer func() {
				p.flightMu.Lock()
				p.flight = nil
				p.flightMu.Unlock()
				close(g.done)
			}()
			g.fams, g.err = p.gather()
		}()
	} else {
		p.flightMu.Unlock()
	}
	<-g.done
	return g.fams, g.err
}

// gather is the pod's metrics: the parent's, labelled process="parent"
// where a family is kept per process, and each worker's ("worker-<i>"),
// merged. A worker that does not answer (starting, restarting, or hung)
// counts with its counters and histograms as last gathered; one replaced
// by another process leaves those behind in gone.
func (p *podMetrics) gather() ([]*dto.MetricFamily, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	type answer struct {
		instance string
		families []*dto.MetricFamily
		err      error
	}
	answers := make([]answer, p.workers)
	var wg sync.WaitGroup
	for i := range p.workers {
		wg.Go(func() {
			a := &answers[i]
			a.instance, a.families, a.err = p.ask(i)
		})
	}
	var sources []metrics.Source
	var err error
	if p.local != nil {
		var fams []*dto.MetricFamily
		fams, err = p.local.Gatherer().Gather() // partial on error, as promhttp serves it
		sources = append(sources, metrics.Source{Process: "parent", Families: fams})
	}
	wg.Wait()
	for i, a := range answers {
		name := fmt.Sprintf("worker-%d", i)
		if a.err != nil {
			if !errors.Is(a.err, fs.ErrNotExist) && !errors.Is(a.err, syscall.ECONNREFUSED) {
				// Not a worker still starting (no socket yet) or just
				// killed (nobody at it): one that did not answer.
				p.log.Warn(fmt.Sprintf("/metrics: worker %d's metrics left out (its counters and histograms as last gathered stand in): %v", i, a.err))
			}
			sources = append(sources, metrics.Source{Process: name, Families: metrics.Cumulative(p.last[i].families)})
			continue
		}
		if prev := p.last[i]; prev.instance != a.instance && prev.families != nil {
			p.gone = metrics.Merge(metrics.Source{Families: p.gone}, metrics.Source{Families: metrics.Cumulative(prev.families)})
		}
		p.last[i] = workerMetrics{a.instance, a.families}
		sources = append(sources, metrics.Source{Process: name, Families: a.families})
	}
	sources = append(sources, metrics.Source{Families: p.gone})
	return metrics.Merge(sources...), err
}

// ask gathers worker i's metrics from its socket.
func (p *podMetrics) ask(i int) (instance string, fams []*dto.MetricFamily, err error) {
	resp, err := p.client.Get(fmt.Sprintf("http://worker-%d/", i))
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("worker %d answered %s", i, resp.Status)
	}
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); errors.Is(err, io.EOF) {
			return resp.Header.Get(instanceHeader), fams, nil
		} else if err != nil {
			return "", nil, err
		}
		fams = append(fams, mf)
	}
}
