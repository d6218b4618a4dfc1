package runtime

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/batch"
	"github.com/kserve-gen/kserve-gen/runtime/cloudevent"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/forward"
	"github.com/kserve-gen/kserve-gen/runtime/gctune"
	"github.com/kserve-gen/kserve-gen/runtime/grpcserver"
	"github.com/kserve-gen/kserve-gen/runtime/internal/readdeadline"
	"github.com/kserve-gen/kserve-gen/runtime/metrics"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/rest"
	"github.com/kserve-gen/kserve-gen/runtime/storage"
)

// workerEnv marks a process started by the --workers supervisor; its value
// is the worker's index.
const workerEnv = "KSERVE_GEN_WORKER"

// Option customises a Server.
type Option func(*Server)

// WithMiddleware wraps the REST handler, outermost last, the way the seed
// adds FastAPI's CORSMiddleware to KServe's app.
func WithMiddleware(mw func(http.Handler) http.Handler) Option {
	return func(s *Server) { s.middleware = append(s.middleware, mw) }
}

// WithHandler serves h for pattern (net/http ServeMux syntax, e.g.
// "POST /openai/v1/completions") on the REST port next to KServe's routes,
// the way KServe's optional routes (OpenAI, time series) or a FastAPI app's
// own routes sit next to its dataplane. The paths KServe serves (/, /v1/…,
// /v2…, /metrics, /docs, /openapi.json) stay KServe's; elsewhere a wrong
// method is FastAPI's 405 and an unmatched path its 404. The requests get
// the access log line and the middleware, and the route is listed in
// /openapi.json as FastAPI lists a plain route (method, path parameters, a
// 200 answer). Run refuses an invalid, conflicting or KServe-owned pattern
// with an error naming it.
func WithHandler(pattern string, h http.Handler) Option {
	return func(s *Server) { s.routes = append(s.routes, rest.Route{Pattern: pattern, Handler: h}) }
}

// WithLogger sets the logger for server events (instead of the logger
// built from the logging configuration).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithHTTPListener serves REST on l instead of binding --http_port (tests).
func WithHTTPListener(l net.Listener) Option { return func(s *Server) { s.httpLn = l } }

// WithGRPCListener serves gRPC on l instead of binding --grpc_port (tests).
func WithGRPCListener(l net.Listener) Option { return func(s *Server) { s.grpcLn = l } }

// Server is KServe's ModelServer.
type Server struct {
	cfg        config.Config
	middleware []func(http.Handler) http.Handler
	routes     []rest.Route
	proxies    *rest.Proxies // $FORWARDED_ALLOW_IPS; nil: the loopback interface
	log        *slog.Logger
	logs       *logSetup
	// uvicorn is "uvicorn.error", for the lines uvicorn writes as KServe's
	// REST server starts and stops; nil in a process that serves no REST
	// (a --workers supervisor), as no uvicorn runs there.
	uvicorn        *slog.Logger
	logOut, logErr io.Writer
	pod            *podMetrics // --workers N, in the parent: the pod's /metrics (podmetrics.go)
	httpLn         net.Listener
	grpcLn         net.Listener
	dp             *dataplane.Dataplane
	metrics        *metrics.Metrics
	ready          chan struct{}
	readyOnce      sync.Once
	// resolved: ResolveModelDir downloaded or found the model for
	// STORAGE_URI (a --workers worker gets the folder as --model_dir),
	// so this process trims the model cache once ready (trimModelCache).
	resolved bool
	// trim removes from the cache what dir's start leaves there
	// (storage.Resolver.Trim; tests replace it).
	trim func(ctx context.Context, dir string) error
	// ran is set by the first Run: a second one would take over the
	// listeners and the dataplane of the first, breaking both.
	ran atomic.Bool
}

// NewServer returns a server for cfg (see config.Parser for KServe's flags).
func NewServer(cfg config.Config, opts ...Option) *Server {
	s := &Server{cfg: cfg, ready: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	return s
}

// SignalContext returns a context cancelled by SIGTERM, SIGINT or SIGQUIT,
// the signals KServe's server stops on. The first one starts the graceful
// shutdown; the signals then get their default action back, so a second
// one (Ctrl-C again) ends the process at once instead of waiting out the
// grace period, as uvicorn's second Ctrl-C does. A --workers process keeps
// catching them: a Ctrl-C reaches it from the terminal and then the
// supervisor's SIGTERM follows, which must not cut its drain short.
func SignalContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	if os.Getenv(workerEnv) == "" {
		context.AfterFunc(ctx, stop)
	}
	return ctx, stop
}

// Serve parses KServe's flags from os.Args, serves models until SIGTERM,
// SIGINT or SIGQUIT, then shuts down gracefully. The model names come from
// the models themselves; use config.Parser and NewServer for more control.
// A bad command line has been printed as KServe's argparse prints it when
// Serve returns an error matching config.ErrUsage: exit with status 2.
// Any other error it returns has not been printed or logged (see Run):
// print it on stderr and exit with status 1.
func Serve(models ...model.Model) error {
	cfg, err := config.NewParser(os.Args[0]).ParseLookup(os.Args[1:], os.LookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, stop := SignalContext()
	defer stop()
	return NewServer(*cfg).Run(ctx, models...)
}

// ModelDir is the model directory: --model_dir, or STORAGE_URI resolved
// once ResolveModelDir or Run has resolved it.
func (s *Server) ModelDir() string { return s.cfg.ModelDir }

// ResolveModelDir returns --model_dir, else $STORAGE_URI resolved the way
// KServe's storage package does (local paths, file://, pvc://, /mnt/models
// filled by the storage-initializer; http(s)://, hf://, gs://, s3:// and
// Azure Blob downloaded into the user's cache and revalidated on the next start; see
// package storage), else "".
// It logs with the server's logging configuration, so a main that needs
// the folder to build its model calls it before Run; Run then uses the
// same folder (and passes it to --workers processes) without resolving
// again.
func (s *Server) ResolveModelDir(ctx context.Context) (string, error) {
	if s.cfg.ModelDir != "" || s.cfg.StorageURI == "" {
		return s.cfg.ModelDir, nil
	}
	if err := s.setupLogging(); err != nil {
		return "", err
	}
	r := storage.Resolver{Logger: s.log}
	dir, err := s.cfg.ResolveModelDir(ctx, r.Resolve) // its errors say "resolving STORAGE_URI: "
	if err != nil {
		return "", err
	}
	s.log.Info("Model directory from STORAGE_URI: " + dir)
	s.cfg.ModelDir, s.resolved = dir, true
	return dir, nil
}

// Dataplane returns the server's dataplane (tests, and transports added by
// users). Call it once Ready is closed: Run creates the dataplane as it
// starts, and before that it is nil (reading it while Run starts is a data
// race).
func (s *Server) Dataplane() *dataplane.Dataplane { return s.dp }

// Ready is closed once every model has loaded.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Run serves models until ctx is cancelled, then stops accepting, drains
// in-flight requests for up to the grace period (then closes the
// connections still open, with a WARNING), unloads the models (each Unload
// gets the grace period again, at least 5 s) and returns nil. A model still
// loading then sees its Load's context cancelled, and is unloaded once its
// Load has returned, never during it. Listeners are up before the models load, so liveness answers
// at once and readiness turns true when loading ends; a model whose Load
// fails stops the server with that error, wrapped ("load model m: …", so
// errors.Is and errors.As see the model's own). A nil model is an error
// before anything starts, as are two models of one name before anything
// listens. A Server runs once: a second Run, during or after the first, is
// an error.
//
// Run logs none of the errors it returns (a port in use, a Load's error, a
// bad logging configuration): its caller reports each once, as the
// examples' mains do by printing it on stderr and exiting 1, the way
// KServe's server ends with the traceback of a model's load() that raised.
// A stopping server still logs its shutdown lines ("Stopping the model
// server", uvicorn's) before Run returns, and a Load that panicked has its
// stack logged at ERROR, the only line that holds it.
func (s *Server) Run(ctx context.Context, models ...model.Model) error {
	if !s.ran.CompareAndSwap(false, true) {
		return errors.New("Server.Run called twice: a Server runs once; make another with NewServer")
	}
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	if err := checkModels(models); err != nil {
		return err
	}
	if err := checkRoutes(s.routes, nil); err != nil {
		return err
	}
	if err := s.setupLogging(); err != nil {
		return err
	}
	defer s.logs.close()
	if len(s.cfg.UnknownArgs) > 0 && os.Getenv(workerEnv) == "" {
		// Once, by the --workers supervisor, not again by each worker.
		s.log.Warn("ignoring unknown arguments: " + strings.Join(s.cfg.UnknownArgs, " "))
	}
	if s.cfg.ForwardedAllowIPs != "" {
		var ignored []string
		s.proxies, ignored = rest.ParseProxies(s.cfg.ForwardedAllowIPs)
		if len(ignored) > 0 && os.Getenv(workerEnv) == "" {
			s.log.Warn(fmt.Sprintf("FORWARDED_ALLOW_IPS: %s: not an IP address or network, matches no client of a TCP listener", strings.Join(ignored, ", ")))
		}
	}
	if _, err := s.ResolveModelDir(ctx); err != nil {
		if ctx.Err() != nil {
			s.log.Info("Stopped during the model download: " + err.Error())
			return nil
		}
		return err
	}
	if s.cfg.Workers > 1 && os.Getenv(workerEnv) == "" {
		return s.supervise(ctx, models)
	}
	if os.Getenv(workerEnv) != "" {
		answerHeartbeat()
	}
	return s.serve(ctx, models, os.Getenv(workerEnv) != "")
}

// checkModels refuses a nil model, typed or not, before anything starts: a
// constructor's result passed on without its error checked would
// otherwise panic on the first method call, far from the mistake.
func checkModels(models []model.Model) error {
	for i, m := range models {
		if m == nil {
			return fmt.Errorf("model %d of %d passed to Run is nil", i+1, len(models))
		}
		if v := reflect.ValueOf(m); v.Kind() == reflect.Pointer && v.IsNil() {
			return fmt.Errorf("model %d of %d passed to Run is a nil %T", i+1, len(models), m)
		}
		if err := checkServes(m); err != nil {
			return err
		}
	}
	return nil
}

// checkRoutes reports an invalid or conflicting WithHandler pattern as an
// error rather than as the panic http.ServeMux raises for it. user are the
// WithHandler routes, which may not take one of KServe's paths; own are
// routes the server adds itself (the OpenAI routes, which sit at /v1/...
// under an empty KSERVE_OPENAI_ROUTE_PREFIX, as in KServe), checked for
// conflicts with them only.
func checkRoutes(user, own []rest.Route) (err error) {
	var pattern string
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("WithHandler(%q): %v", pattern, p)
		}
	}()
	mux := http.NewServeMux()
	for i, r := range slices.Concat(user, own) {
		pattern = r.Pattern
		if r.Handler == nil {
			return fmt.Errorf("WithHandler(%q): nil handler", pattern)
		}
		mux.Handle(pattern, r.Handler) // panics on a bad or conflicting pattern
		if i >= len(user) {
			continue
		}
		// The pattern's path: after the method, from the first slash (a
		// host may precede it).
		p := pattern
		if i := strings.IndexByte(p, ' '); i >= 0 {
			p = strings.TrimLeft(p[i:], " \t")
		}
		if i := strings.IndexByte(p, '/'); i > 0 {
			p = p[i:]
		}
		if rest.KServePath(strings.TrimSuffix(p, "{$}")) {
			return fmt.Errorf("WithHandler(%q): %s is one of KServe's paths, which the server keeps serving", pattern, p)
		}
	}
	return nil
}

func (s *Server) serve(ctx context.Context, models []model.Model, worker bool) error {
	defer gctune.SetMinHeap(uint64(s.cfg.GCMinHeap))()
	processes := 1
	if s.cfg.Workers > 1 {
		// --workers N: N REST workers and this gRPC-serving supervisor, each
		// holding the models, share the container's memory.
		processes = s.cfg.Workers + 1
	}
	memLimit, restoreMemLimit, err := gctune.SetMemoryLimit(os.Getenv, gctune.CgroupLimit, processes)
	if err != nil {
		return err
	}
	memRefresh, err := gctune.RefreshInterval(os.Getenv)
	if err != nil {
		return err
	}
	defer restoreMemLimit()
	if memLimit.Bytes > 0 {
		// The INFO line comes once the models are loaded and the memory
		// they hold outside Go is known (below).
		s.log.Debug(memLimit.String() + " (before the models load)")
	} else {
		s.log.Debug(memLimit.String())
	}
	// A --workers supervisor serves gRPC itself; its HTTP workers serve REST.
	serveREST := !(s.cfg.Workers > 1 && !worker)
	serveGRPC := s.cfg.EnableGRPC && !worker
	// Series only for the protocols this process serves.
	s.metrics = s.newMetrics(serveGRPC)
	dpOpts := dataplane.Options{
		MaxConcurrency: s.cfg.EffectiveMaxAsyncioWorkers(),
		MaxQueued:      s.cfg.MaxQueuedRequests,
		Metrics:        s.metrics,
		ServerName:     "kserve",
		ServerVersion:  Version,
		Logger:         s.log,
	}
	if s.cfg.EnableLatencyLogging {
		dpOpts.Latency = s.logs.latency
	}
	s.dp = dataplane.New(dpOpts)
	for _, m := range models {
		s.log.Info("Registering model: " + m.Name())
		if err := s.dp.Register(m, ""); err != nil {
			return err
		}
		if fm, ok := m.(interface{ Forwarder() *forward.Forwarder }); ok && fm.Forwarder() != nil {
			// A transformer: its retries and failures calling its predictor.
			f := fm.Forwarder()
			f.Observe(s.metrics.ForPredictor(m.Name(), f.Protocol()))
		}
		if bm, ok := m.(interface{ Batcher() *batch.Batcher }); ok {
			s.metrics.AddBatcher(m.Name(), func() (metrics.BatchStats, bool) {
				b := bm.Batcher()
				if b == nil {
					return metrics.BatchStats{}, false
				}
				st := b.Stats()
				return metrics.BatchStats{Queued: st.Queued, Requests: st.Requests, Batches: st.Batches,
					Rows: st.Rows, Cancelled: st.Cancelled, Rejected: st.Rejected}, true
			})
		}
	}
	s.log.Info(fmt.Sprintf("Setting max asyncio worker threads as %d", dpOpts.MaxConcurrency))
	if dpOpts.MaxQueued > 0 {
		s.log.Info(fmt.Sprintf("At most %d requests wait for a model slot; more get 503 (--max_queued_requests)", dpOpts.MaxQueued))
	}

	errc := make(chan error, 3)
	var httpSrv *http.Server
	startHTTP := func() error { return nil }
	// uvicorn's start-up lines, as KServe's server writes them: log
	// pipelines and scripts wait for "Application startup complete." or
	// "Uvicorn running on".
	httpPort := s.cfg.HTTPPort
	startupComplete := func() {
		if s.uvicorn != nil {
			s.uvicorn.Info("Application startup complete.")
			s.uvicorn.Info(fmt.Sprintf("Uvicorn running on http://0.0.0.0:%d (Press CTRL+C to quit)", httpPort))
		}
	}
	if serveREST {
		s.uvicorn = s.logs.l.Named("uvicorn.error")
		s.uvicorn.Info(fmt.Sprintf("Started server process [%d]", os.Getpid()))
		s.uvicorn.Info("Waiting for application startup.")
		routes, err := s.withOptionalRoutes(models)
		if err != nil {
			return err
		}
		var h http.Handler = rest.New(s.dp, rest.Options{
			MaxRequestBodySize: s.cfg.MaxRequestBodySize,
			EnableDocs:         s.cfg.EnableDocsURL,
			Metrics:            s.metricsHandler(),
			Logger:             s.log,
			CloudEvents:        cloudevent.Options{Type: s.cfg.CEType, Source: s.cfg.CESource, Merge: s.cfg.CEMerge},
			Routes:             routes,
			Proxies:            s.proxies,
		})
		for _, mw := range s.middleware {
			h = mw(h)
		}
		// Outermost: what a middleware answers itself is logged too.
		h = rest.WithAccess(h, s.logs.accessFunc(s.proxies))
		idle := time.Duration(s.cfg.TimeoutKeepAlive) * time.Second
		httpSrv = &http.Server{
			Handler:           h,
			ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
			IdleTimeout:       idle,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
			// Every request's context carries the logger for model code
			// (runtime.Logger), at no cost per request.
			BaseContext: func(net.Listener) context.Context {
				return model.ContextWithLogger(context.Background(), s.log)
			},
		}
		if idle == 0 {
			// uvicorn's timeout_keep_alive=0 closes each connection once its
			// response is sent; Go's IdleTimeout 0 would keep idle
			// connections open for ever instead.
			httpSrv.SetKeepAlivesEnabled(false)
		}
		startHTTP = func() error {
			ln := s.httpLn
			if ln == nil {
				var err error
				// Only --workers processes share the port. A single
				// server binds it alone, as uvicorn does: with SO_REUSEPORT
				// a second kserve-gen server of the same user on the port
				// (a collocated transformer and predictor left on 8080)
				// started too, and the kernel split the connections
				// between the two.
				listen := listenExclusive
				if worker {
					listen = listenReusePort
				}
				if ln, err = listen(ctx, fmt.Sprintf(":%d", s.cfg.HTTPPort)); err != nil {
					return fmt.Errorf("listen on http port %d: %w", s.cfg.HTTPPort, err)
				}
			}
			if s.cfg.ReadHeaderTimeout > 0 || idle > 0 {
				// Both timeouts fire up to a tenth of the shorter one late, in
				// exchange for no runtime timer work per request. The header
				// timeout also bounds a silence while a body is sent.
				ln = readdeadline.Wrap(ln, readdeadline.Tick(s.cfg.ReadHeaderTimeout, idle), s.cfg.ReadHeaderTimeout)
			}
			s.log.Info(fmt.Sprintf("Starting HTTP server on %s", ln.Addr()))
			if a, ok := ln.Addr().(*net.TCPAddr); ok {
				httpPort = a.Port // the port bound, for --http_port=0
			}
			go func() {
				if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					errc <- fmt.Errorf("http server: %w", err)
				}
			}()
			return nil
		}
		// A single server listens before loading, so liveness answers during
		// a long load, as KServe's does. A --workers process joins the
		// shared port only once its models are loaded: the kernel hands
		// each connection to any process on the port, and one still loading
		// (at start, or restarted after a crash) would answer 503 to
		// requests its siblings are ready for.
		if !worker {
			if err := startHTTP(); err != nil {
				return err
			}
		}
	}
	var grpcSrv *grpcserver.Server
	if serveGRPC {
		ln := s.grpcLn
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", fmt.Sprintf(":%d", s.cfg.GRPCPort)); err != nil {
				return fmt.Errorf("listen on grpc port %d: %w", s.cfg.GRPCPort, err)
			}
		}
		grpcSrv = grpcserver.New(s.dp, grpcserver.Options{
			MaxSendMessageLength:    s.cfg.GRPCMaxSendMessageLength,
			MaxReceiveMessageLength: s.cfg.GRPCMaxReceiveMessageLength,
			MaxThreads:              s.cfg.MaxThreads,
			HandshakeTimeout:        s.cfg.ReadHeaderTimeout,
			Logger:                  s.log,
		})
		s.log.Info(fmt.Sprintf("Starting gRPC server with %d workers", s.cfg.MaxThreads))
		s.log.Info(fmt.Sprintf("Starting gRPC server on %s", ln.Addr()))
		go func() {
			if err := grpcSrv.Serve(ln); err != nil {
				errc <- fmt.Errorf("grpc server: %w", err)
			}
		}()
	}
	if !worker {
		startupComplete()
	}

	trimCtx, stopTrim := context.WithCancel(ctx)
	trimmed := s.trimModelCache(trimCtx)
	loaded := make(chan struct{}) // closed when every Load has returned
	go func() {
		err := s.loadModels(ctx, models)
		close(loaded)
		if err != nil {
			errc <- err
			return
		}
		if memLimit.Bytes > 0 {
			outside, err := gctune.OutsideGo()
			if err != nil {
				s.log.Warn("Go memory limit not lowered by the memory the models hold outside Go: " + err.Error())
			} else if w := memLimit.Less(outside); w != "" {
				s.log.Warn(w)
			}
			s.log.Info(memLimit.String())
			if memRefresh > 0 {
				go s.refreshMemoryLimit(ctx, &memLimit, memRefresh)
			}
		}
		if worker && serveREST {
			if err := startHTTP(); err != nil {
				errc <- err
				return
			}
			startupComplete()
		}
		s.readyOnce.Do(func() { close(s.ready) })
	}()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		// Not logged: Run returns it and its caller reports it, once (see Run).
	}
	s.log.Info("Stopping the model server")
	stopTrim()
	err = errors.Join(runErr, s.shutdown(httpSrv, grpcSrv, loaded))
	<-trimmed // stopped between two files, so soon
	return err
}

// trimModelCache removes, once the server is ready and in the background,
// the models of the cache unused for long and the replaced versions
// (storage.Resolver.Trim) when this process resolved STORAGE_URI into the
// cache: the --workers parent, not its workers. Removing gigabytes before
// the model loads delayed readiness, which probes and rollouts wait on.
// It stops when ctx ends (shutdown); the returned channel is closed once
// it has.
func (s *Server) trimModelCache(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if !s.resolved {
			return
		}
		select {
		case <-s.ready:
		case <-ctx.Done():
			return
		}
		trim := s.trim
		if trim == nil {
			trim = storage.Resolver{Logger: s.log}.Trim
		}
		_ = trim(ctx, s.cfg.ModelDir) // logs what it removed, and where it stopped
	}()
	return done
}

// refreshMemoryLimit follows the container's memory limit (a pod resized in
// place) and the memory held outside Go (an ONNX Runtime arena that grew)
// until ctx ends, logging each change of Go's memory limit.
func (s *Server) refreshMemoryLimit(ctx context.Context, l *gctune.MemoryLimit, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, warning := l.Refresh(gctune.CgroupLimit, gctune.OutsideGo)
		if warning != "" {
			s.log.Warn(warning)
		}
		if changed {
			s.log.Info(l.String())
		}
	}
}

// loadModels loads every model concurrently: a slow model does not hold
// back the others' readiness.
func (s *Server) loadModels(ctx context.Context, models []model.Model) error {
	ctx = model.ContextWithLogger(ctx, s.log)
	var wg sync.WaitGroup
	errs := make([]error, len(models))
	for i, m := range models {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			if err := s.dp.StartModel(ctx, m.Name()); err != nil {
				errs[i] = fmt.Errorf("load model %s: %w", m.Name(), err)
				return
			}
			d := time.Since(start)
			if d >= time.Microsecond {
				d = d.Round(time.Microsecond) // not below, where it would read "0s"
			}
			s.log.Info(fmt.Sprintf("Model %s loaded in %s", m.Name(), d))
			if ready, _ := s.dp.ModelReady(m.Name()); !ready { // a Ready that panics too
				// KServe refuses to start such a model (NoModelReady); it
				// may still turn ready (a transformer's predictor coming
				// up), so it is served, but a Load that forgot to set its
				// readiness would otherwise fail every probe without a word.
				s.log.Warn(fmt.Sprintf("Model %s loaded but is not ready: readiness probes and requests get 503 until its Ready reports true", m.Name()))
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// minUnloadTime is the least time the models' Unload get at shutdown, even
// with a grace period shorter than that (or zero).
const minUnloadTime = 5 * time.Second

// shutdown drains both transports within the grace period, closes what is
// still open when it is over (a WARNING, as uvicorn's "Cancel N running
// task(s)"; not an error: stopping is what was asked), then unloads the
// models with a context of their own, once loaded is closed: a model still
// loading when the server is stopped (its Load's context is cancelled) is
// not unloaded while its Load runs.
func (s *Server) shutdown(httpSrv *http.Server, grpcSrv *grpcserver.Server, loaded <-chan struct{}) error {
	grace := s.cfg.GracePeriod
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var wg sync.WaitGroup
	var httpErr error
	var httpLate, grpcLate bool
	if httpSrv != nil {
		if s.uvicorn != nil {
			s.uvicorn.Info("Shutting down")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// uvicorn's lines once its connections are drained.
			defer func() {
				if s.uvicorn != nil {
					s.uvicorn.Info("Waiting for application shutdown.")
					s.uvicorn.Info("Application shutdown complete.")
					s.uvicorn.Info(fmt.Sprintf("Finished server process [%d]", os.Getpid()))
				}
			}()
			err := httpSrv.Shutdown(ctx)
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				// Shutdown leaves the connections still active open.
				httpLate = true
				err = httpSrv.Close()
			}
			if err != nil {
				httpErr = fmt.Errorf("drain http requests: %w", err)
			}
		}()
	}
	if grpcSrv != nil {
		// KServe's lines for its gRPC server's stop.
		s.log.Info("Stopping the grpc server")
		s.log.Info("Waiting for gRPC server shutdown")
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Its only error: the grace period ran out (and it closed
			// the connections).
			grpcLate = grpcSrv.Shutdown(ctx) != nil
			s.log.Info("gRPC server shutdown complete")
		}()
	}
	wg.Wait()
	if httpLate || grpcLate {
		var which []string
		if httpLate {
			which = append(which, "HTTP")
		}
		if grpcLate {
			which = append(which, "gRPC")
		}
		s.log.Warn(fmt.Sprintf("Grace period of %s over: closing the %s connections still open", grace, strings.Join(which, " and ")))
	}
	uctx, ucancel := context.WithTimeout(context.Background(), unloadTime(grace))
	defer ucancel()
	select {
	case <-loaded:
	case <-uctx.Done():
		// A Load that ignores its context: waiting longer would hold the
		// pod past its termination grace period.
		s.log.Warn("Models still loading after the shutdown began; unloading them anyway")
	}
	err := errors.Join(httpErr, s.dp.Stop(uctx))
	s.markModelUsed()
	return err
}

// markModelUsed records, as the server stops, that the model folder it
// downloaded for STORAGE_URI into the cache was in use until now, so a model
// served for longer than the cache keeps unused ones is not removed as
// unused by the next start of another model (storage.Resolver.MarkUsed; a
// folder outside the cache is left alone). A failure is a warning: the
// server has stopped either way.
func (s *Server) markModelUsed() {
	if s.cfg.StorageURI == "" || s.cfg.ModelDir == "" {
		return
	}
	if err := (storage.Resolver{Logger: s.log}).MarkUsed(s.cfg.ModelDir); err != nil {
		s.log.Warn(fmt.Sprintf("Cannot record the use of %s in the model cache: %v", s.cfg.ModelDir, err))
	}
}

// unloadTime is how long shutdown waits for the models' Unload after the
// grace period's drain.
func unloadTime(grace time.Duration) time.Duration { return max(grace, minUnloadTime) }

// shutdownTime bounds a whole shutdown: the drain, then the unload.
func shutdownTime(grace time.Duration) time.Duration { return grace + unloadTime(grace) }

// listenExclusive binds addr for this process alone: a port another
// process holds, SO_REUSEPORT or not, is "address already in use".
func listenExclusive(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", addr)
}
