// Package logging configures a model server's logs the way KServe's Python
// server does, on log/slog: the loggers "kserve", "kserve.trace" and
// uvicorn's "uvicorn.access", Python dictConfig documents (a Go value, JSON,
// YAML, or an INI fileConfig file), %-style formats with strftime dates,
// stream, file and rotating-file handlers, KServe's default configuration,
// the per-request latency line and the access log (uvicorn's, or the
// --access_log_format one).
//
// The per-request lines are formatted into reused buffers and written in
// batches (at most 100 ms late, immediately for WARNING and above), so the
// request path neither allocates nor makes a system call per line.
package logging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Logger names used by KServe.
const (
	ServerLogger = "kserve"
	TraceLogger  = "kserve.trace"
	AccessLogger = "uvicorn.access"
)

// existingLoggers are the loggers KServe's process has created before its
// logging is configured; disable_existing_loggers applies to them.
var existingLoggers = [...]string{"kserve", "kserve.trace", "uvicorn", "uvicorn.error", "uvicorn.access"}

// Options selects and tunes the configuration; the zero value plus
// Configure: true is KServe's default.
type Options struct {
	// Configure is --configure_logging. False leaves the application's
	// logging alone: every logger writes to Default (slog.Default() when
	// nil) and ConfigFile and Config are ignored.
	Configure bool
	// ConfigFile is --log_config_file: ".json", ".yaml"/".yml", anything
	// else is a Python INI fileConfig file.
	ConfigFile string
	// Config is a configuration built in Go (dictConfig form); it wins over ConfigFile.
	Config *Config
	// AccessLogFormat is --access_log_format: asgi-logger/gunicorn atoms
	// (see LogAccess). When set, it replaces the uvicorn.access line and is
	// written to Stdout whatever the configuration says, as KServe does.
	AccessLogFormat string
	// Level is KSERVE_LOGLEVEL (default INFO): the level of kserve and
	// kserve.trace in the default configuration.
	Level string
	// Stdout and Stderr are what ext://sys.stdout and ext://sys.stderr
	// mean; nil means os.Stdout and os.Stderr.
	Stdout, Stderr io.Writer
	// Default receives every record when Configure is false; nil means
	// slog.Default().Handler() at Setup time.
	Default slog.Handler

	flushEvery time.Duration // tests: the batching interval (default flushInterval)
}

// Loggers is a configured set of loggers. It is safe for concurrent use.
type Loggers struct {
	env        *env
	configured bool
	fallback   slog.Handler

	loggers  map[string]resolvedLogger
	root     resolvedLogger
	disabled map[string]bool
	outputs  []*output
	stderr   *output

	mu    sync.Mutex
	nodes map[string]*node

	server, trace *slog.Logger
	traceNode     *node
	accessNode    *node
	access        *accessFormat
	accessOut     *output
}

type resolvedLogger struct {
	level     slog.Level
	handlers  []*handler
	propagate bool
}

// handler is a configured Python handler: a level, a formatter and an output.
type handler struct {
	level slog.Level
	fmt   *formatter
	out   *output
	cache fmtCache // guarded by out.mu
}

// node is one logger name, with its configuration flattened: the effective
// level and every handler a record reaches through propagation.
type node struct {
	name      string
	disabled  bool
	threshold slog.Level // no record below it reaches any handler
	handlers  []*handler
	needFrame bool
}

// Setup builds the loggers. A bad configuration returns one *ConfigError
// naming the file (or option) and the key.
func Setup(opts Options) (*Loggers, error) {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	l := &Loggers{
		env:   &env{pid: os.Getpid(), start: time.Now(), loc: time.Local},
		nodes: map[string]*node{},
	}
	stdout := newStreamOutput(opts.Stdout, opts.flushEvery)
	stderr := stdout
	if !sameWriter(opts.Stdout, opts.Stderr) {
		stderr = newStreamOutput(opts.Stderr, opts.flushEvery)
	}
	l.stderr = stderr
	if opts.AccessLogFormat != "" {
		af, err := compileAccessFormat(opts.AccessLogFormat, l.env)
		if err != nil {
			return nil, &ConfigError{Source: "--access_log_format", Err: err}
		}
		l.access, l.accessOut = af, stdout
	}
	if !opts.Configure {
		l.fallback = opts.Default
		if l.fallback == nil {
			l.fallback = slog.Default().Handler()
		}
		l.outputs = []*output{stdout}
		l.server = l.Named(ServerLogger)
		l.trace = l.Named(TraceLogger)
		return l, nil
	}
	l.configured = true

	cfg := opts.Config
	source := "Options.Config"
	switch {
	case cfg != nil:
		if cfg.source != "" {
			source = cfg.source
		}
	case opts.ConfigFile != "":
		var err error
		if cfg, err = Load(opts.ConfigFile); err != nil {
			return nil, err
		}
		source = opts.ConfigFile
	default:
		level := opts.Level
		if level == "" {
			level = "INFO"
		}
		if _, err := parseLevel(level); err != nil {
			return nil, &ConfigError{Source: "KSERVE_LOGLEVEL", Err: err}
		}
		cfg = DefaultConfig(strings.ToUpper(level))
		source = "(default KSERVE_LOG_CONFIG)"
	}
	outs := []*output{stdout}
	if stderr != stdout {
		outs = append(outs, stderr)
	}
	if err := l.apply(cfg, stdout, stderr, opts.flushEvery, &outs); err != nil {
		for _, o := range outs {
			o.close()
		}
		var ce *ConfigError
		if errors.As(err, &ce) {
			ce.Source = source
			return nil, ce
		}
		return nil, &ConfigError{Source: source, Err: err}
	}
	l.outputs = outs
	l.server = l.Named(ServerLogger)
	l.trace = l.Named(TraceLogger)
	l.traceNode = l.node(TraceLogger)
	l.accessNode = l.node(AccessLogger)
	return l, nil
}

func sameWriter(a, b io.Writer) (same bool) {
	defer func() {
		if recover() != nil {
			same = false // not comparable
		}
	}()
	return a == b
}

// apply validates cfg and builds formatters, handlers and loggers.
func (l *Loggers) apply(cfg *Config, stdout, stderr *output, every time.Duration, outs *[]*output) error {
	if cfg.Version != 1 {
		return keyErr("version", fmt.Errorf("unsupported version %d (want 1)", cfg.Version))
	}
	formatters := map[string]*formatter{}
	for _, name := range sortedMapKeys(cfg.Formatters) {
		f, err := newFormatter(l.env, cfg.Formatters[name])
		if err != nil {
			return wrapKey("formatters", wrapKey(name, err))
		}
		formatters[name] = f
	}
	plain, _ := newFormatter(l.env, FormatterConfig{})
	handlers := map[string]*handler{}
	for _, name := range sortedMapKeys(cfg.Handlers) {
		h, err := l.newHandler(cfg.Handlers[name], formatters, plain, stdout, stderr, every, outs)
		if err != nil {
			return wrapKey("handlers", wrapKey(name, err))
		}
		handlers[name] = h
	}
	resolve := func(lc LoggerConfig) (resolvedLogger, error) {
		r := resolvedLogger{propagate: lc.Propagate == nil || *lc.Propagate}
		lv, err := parseLevel(lc.Level)
		if err != nil {
			return r, keyErr("level", err)
		}
		r.level = lv
		for i, hn := range lc.Handlers {
			h, ok := handlers[hn]
			if !ok {
				return r, keyErr(fmt.Sprintf("handlers[%d]", i), fmt.Errorf("unknown handler %q", hn))
			}
			r.handlers = append(r.handlers, h)
		}
		return r, nil
	}
	l.loggers = map[string]resolvedLogger{}
	for _, name := range sortedMapKeys(cfg.Loggers) {
		r, err := resolve(cfg.Loggers[name])
		if err != nil {
			return wrapKey("loggers", wrapKey(name, err))
		}
		l.loggers[name] = r
	}
	l.root = resolvedLogger{level: slog.LevelWarn}
	if cfg.Root != nil {
		r, err := resolve(*cfg.Root)
		if err != nil {
			return wrapKey("root", err)
		}
		if cfg.Root.Level == "" {
			r.level = slog.LevelWarn
		}
		l.root = r
	}
	l.disabled = map[string]bool{}
	if cfg.DisableExistingLoggers == nil || *cfg.DisableExistingLoggers {
	existing:
		for _, name := range existingLoggers {
			for configured := range cfg.Loggers {
				if name == configured || strings.HasPrefix(name, configured+".") {
					continue existing
				}
			}
			l.disabled[name] = true
		}
	}
	return nil
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (l *Loggers) newHandler(hc HandlerConfig, formatters map[string]*formatter, plain *formatter, stdout, stderr *output, every time.Duration, outs *[]*output) (*handler, error) {
	h := &handler{fmt: plain}
	lv, err := parseLevel(hc.Level)
	if err != nil {
		return nil, keyErr("level", err)
	}
	h.level = lv
	if hc.Formatter != "" {
		f, ok := formatters[hc.Formatter]
		if !ok {
			return nil, keyErr("formatter", fmt.Errorf("unknown formatter %q", hc.Formatter))
		}
		h.fmt = f
	}
	switch hc.Class {
	case classStream, "StreamHandler":
		switch hc.Stream {
		case "", "ext://sys.stderr":
			h.out = stderr
		case "ext://sys.stdout":
			h.out = stdout
		default:
			return nil, keyErr("stream", fmt.Errorf("unknown stream %q (want ext://sys.stderr or ext://sys.stdout)", hc.Stream))
		}
	case classFile, classRotating:
		o, err := newFileOutput(hc, hc.Class == classRotating, every)
		if err != nil {
			return nil, err
		}
		o.report = stderr
		*outs = append(*outs, o)
		h.out = o
	case classNull:
		h.out = &output{null: true}
	case "":
		return nil, keyErr("class", errors.New("missing"))
	default:
		return nil, keyErr("class", fmt.Errorf("unknown handler class %q (want %s, %s, %s or %s)",
			hc.Class, classStream, classFile, classRotating, classNull))
	}
	return h, nil
}

// DefaultConfig returns KServe's KSERVE_LOG_CONFIG with kserve and
// kserve.trace at level.
func DefaultConfig(level string) *Config {
	off := false
	const datefmt = "%Y-%m-%d %H:%M:%S"
	return &Config{
		Version:                1,
		DisableExistingLoggers: &off,
		Formatters: map[string]FormatterConfig{
			"kserve": {Factory: classFormatter, Datefmt: datefmt,
				Format: "%(asctime)s.%(msecs)03d %(process)s %(name)s %(levelname)s [%(filename)s:%(funcName)s():%(lineno)s] %(message)s"},
			"kserve_trace": {Factory: classFormatter, Datefmt: datefmt,
				Format: "%(asctime)s.%(msecs)03d %(process)s %(name)s %(message)s"},
			"uvicorn": {Factory: classUvicornDefault, Datefmt: datefmt,
				Format: "%(asctime)s.%(msecs)03d %(process)s %(name)s %(levelprefix)s %(message)s"},
			"uvicorn_access": {Factory: classUvicornAccess, Datefmt: datefmt,
				Format: `%(asctime)s.%(msecs)03d %(name)s %(levelprefix)s %(client_addr)s %(process)s - "%(request_line)s" %(status_code)s`},
		},
		Handlers: map[string]HandlerConfig{
			"kserve":         {Formatter: "kserve", Class: classStream, Stream: "ext://sys.stderr"},
			"kserve_trace":   {Formatter: "kserve_trace", Class: classStream, Stream: "ext://sys.stderr"},
			"uvicorn":        {Formatter: "uvicorn", Class: classStream, Stream: "ext://sys.stderr"},
			"uvicorn_access": {Formatter: "uvicorn_access", Class: classStream, Stream: "ext://sys.stdout"},
		},
		Loggers: map[string]LoggerConfig{
			"kserve":         {Handlers: []string{"kserve"}, Level: level, Propagate: &off},
			"kserve.trace":   {Handlers: []string{"kserve_trace"}, Level: level, Propagate: &off},
			"uvicorn":        {Handlers: []string{"uvicorn"}, Level: "INFO", Propagate: &off},
			"uvicorn.error":  {Level: "INFO"},
			"uvicorn.access": {Handlers: []string{"uvicorn_access"}, Level: "INFO", Propagate: &off},
		},
	}
}

// node returns the flattened logger for name ("" is the root logger).
func (l *Loggers) node(name string) *node {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n, ok := l.nodes[name]; ok {
		return n
	}
	n := &node{name: name, disabled: l.disabled[name]}
	if name == "" {
		n.name = "root"
	}
	level, levelSet := slog.Level(0), false
	propagating := true
	for cur := name; ; {
		r, ok := l.loggers[cur]
		if cur == "" {
			r, ok = l.root, true
		}
		if ok {
			if !levelSet && r.level != levelNotset {
				level, levelSet = r.level, true
			}
			if propagating {
				n.handlers = append(n.handlers, r.handlers...)
				propagating = r.propagate
			}
		}
		if cur == "" {
			break
		}
		if i := strings.LastIndexByte(cur, '.'); i >= 0 {
			cur = cur[:i]
		} else {
			cur = ""
		}
	}
	if !levelSet {
		level = levelNotset
	}
	if len(n.handlers) == 0 {
		// Python's logging.lastResort: WARNING and above, bare message, stderr.
		plain, _ := newFormatter(l.env, FormatterConfig{})
		n.handlers = []*handler{{level: slog.LevelWarn, fmt: plain, out: l.stderr}}
	}
	minHandler := n.handlers[0].level
	for _, h := range n.handlers {
		minHandler = min(minHandler, h.level)
		n.needFrame = n.needFrame || h.fmt.needsFrame()
	}
	n.threshold = max(level, minHandler)
	l.nodes[name] = n
	return n
}

// Server is the "kserve" logger.
func (l *Loggers) Server() *slog.Logger { return l.server }

// Trace is the "kserve.trace" logger.
func (l *Loggers) Trace() *slog.Logger { return l.trace }

// Root is the root logger; an application may install it with slog.SetDefault.
func (l *Loggers) Root() *slog.Logger { return l.Named("") }

// Named returns the logger with a dotted Python name ("uvicorn.error",
// "kserve.mymodel"); names the configuration does not list inherit from
// their parents, as in Python.
func (l *Loggers) Named(name string) *slog.Logger {
	if !l.configured {
		if name == "" {
			return slog.New(l.fallback)
		}
		return slog.New(l.fallback.WithAttrs([]slog.Attr{slog.String("logger", name)}))
	}
	return slog.New(&slogHandler{l: l, n: l.node(name)})
}

// dispatch hands r to every handler of n whose level it meets.
func (l *Loggers) dispatch(n *node, r *record) {
	for _, h := range n.handlers {
		if r.level >= h.level {
			h.out.emit(h, r)
		}
	}
}

// enabled is Logger.isEnabledFor plus "some handler would take it".
func (n *node) enabled(level slog.Level) bool {
	return !n.disabled && level >= n.threshold
}

// LatencyEnabled reports whether LogLatency would write anything.
func (l *Loggers) LatencyEnabled() bool {
	if !l.configured {
		return l.fallback.Enabled(context.Background(), slog.LevelInfo)
	}
	return l.traceNode.enabled(slog.LevelInfo)
}

// LogLatency writes KServe's per-request latency line on kserve.trace at INFO:
//
//	requestId: <id or N.A.>, preprocess_ms: <f>, explain_ms: <f>, predict_ms: <f>, postprocess_ms: <f>
//
// Durations print as Python prints round(ms, 9) ("1.234567", "12.0",
// "5e-05"); a zero duration is a step that did not run and prints "0", as
// KServe's int initial value does.
func (l *Loggers) LogLatency(requestID string, preprocess, explain, predict, postprocess time.Duration) {
	rec := record{
		name: TraceLogger, level: slog.LevelInfo, kind: recLatency,
		reqID: requestID, lat: [4]time.Duration{preprocess, explain, predict, postprocess},
	}
	if !l.configured {
		if l.fallback.Enabled(context.Background(), slog.LevelInfo) {
			l.trace.Info(string(appendLatencyMessage(nil, &rec)))
		}
		return
	}
	n := l.traceNode
	if !n.enabled(slog.LevelInfo) {
		return
	}
	rec.t = time.Now()
	if n.needFrame {
		var pcs [1]uintptr
		runtime.Callers(2, pcs[:])
		rec.pc = pcs[0]
	}
	l.dispatch(n, &rec)
}

func appendLatencyMessage(dst []byte, r *record) []byte {
	dst = append(dst, "requestId: "...)
	if r.reqID == "" {
		dst = append(dst, "N.A."...)
	} else {
		dst = append(dst, r.reqID...)
	}
	dst = append(dst, ", preprocess_ms: "...)
	dst = appendMillis(dst, r.lat[0])
	dst = append(dst, ", explain_ms: "...)
	dst = appendMillis(dst, r.lat[1])
	dst = append(dst, ", predict_ms: "...)
	dst = appendMillis(dst, r.lat[2])
	dst = append(dst, ", postprocess_ms: "...)
	return appendMillis(dst, r.lat[3])
}

func appendMillis(dst []byte, d time.Duration) []byte {
	ns := d.Nanoseconds()
	if ns == 0 {
		return append(dst, '0')
	}
	if ns < 100 || ns >= 1e15 {
		// float64(ns)/1e6 is the double nearest to the exact millisecond
		// value, which is what Python's round(x, 9) returns for it; below
		// 1e-4 ms Python switches to exponent notation.
		return appendPyFloat(dst, float64(ns)/1e6)
	}
	// With fewer than 16 significant digits the shortest repr of that double
	// is the exact decimal ns/1e6, so integer arithmetic gives the same text
	// as appendPyFloat, four times faster.
	dst = strconv.AppendInt(dst, ns/1e6, 10)
	frac := ns % 1e6
	dst = append(dst, '.')
	if frac == 0 {
		return append(dst, '0')
	}
	digits := 6
	for frac%10 == 0 {
		frac /= 10
		digits--
	}
	return appendInt(dst, int(frac), digits)
}

// Close flushes buffered lines and closes log files. Lines logged after
// Close are written unbuffered to streams and dropped for files.
func (l *Loggers) Close() error {
	var errs []error
	for _, o := range l.outputs {
		if err := o.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Flush writes buffered lines now.
func (l *Loggers) Flush() {
	for _, o := range l.outputs {
		o.flush()
	}
}

// slogHandler is the slog.Handler of one logger name.
type slogHandler struct {
	l      *Loggers
	n      *node
	attrs  []slog.Attr // from WithAttrs, keys qualified
	prefix string      // open groups, "a.b."
}

func (h *slogHandler) Enabled(_ context.Context, level slog.Level) bool {
	return h.n.enabled(level)
}

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	rec := record{name: h.n.name, level: r.Level, t: r.Time, pc: r.PC, kind: recSlog, msg: r.Message}
	if rec.t.IsZero() {
		rec.t = time.Now()
	}
	if len(h.attrs) > 0 || r.NumAttrs() > 0 {
		var buf [8]slog.Attr
		attrs := append(buf[:0], h.attrs...)
		r.Attrs(func(a slog.Attr) bool {
			attrs = appendAttr(attrs, h.prefix, a)
			return true
		})
		rec.attrs = attrs
	}
	h.l.dispatch(h.n, &rec)
	return nil
}

func (h *slogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	h2 := *h
	h2.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range as {
		h2.attrs = appendAttr(h2.attrs, h.prefix, a)
	}
	return &h2
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = h.prefix + name + "."
	return &h2
}

// appendAttr flattens groups into dotted keys and drops empty attributes,
// following the slog.Handler rules.
func appendAttr(dst []slog.Attr, prefix string, a slog.Attr) []slog.Attr {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return dst
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			dst = appendAttr(dst, p, g)
		}
		return dst
	}
	if prefix != "" {
		a.Key = prefix + a.Key
	}
	return append(dst, a)
}
