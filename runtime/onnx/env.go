package onnx

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	goruntime "runtime"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/kserve-gen/kserve-gen/runtime/model"
)

// EnvOptions configure an Env.
type EnvOptions struct {
	// LibraryPath is the ONNX Runtime library to load. Empty: look in the
	// places Candidates lists ($ONNXRUNTIME_SHARED_LIBRARY_PATH, the
	// kserve-gen cache, the loader's search path).
	LibraryPath string
	// Getenv reads environment variables (default os.Getenv; tests replace it).
	Getenv func(string) string
	// Logger receives the start-up line, each model's lines and the
	// execution-provider fallbacks. Without it they go to model.Logger of
	// the context of the call that logs (Model.Load, NewSession, NewPool):
	// the server's "kserve" logger when the runtime serves the model, so
	// they follow its logging configuration; slog.Default() elsewhere.
	Logger *slog.Logger
	// ORTLogLevel is the severity from which ONNX Runtime itself writes to
	// stderr, in its own format (default: fatal errors only; slog.LevelWarn
	// shows, for example, why the CUDA provider failed to load and which
	// nodes fell back to CPU). Its errors need no copy there: every failed
	// call returns them, and the server logs them in its configured format.
	ORTLogLevel *slog.Level
}

// Env is the process's ONNX Runtime environment. ONNX Runtime has one
// environment per process, so a program creates one Env, shares it between
// its models, and closes it at exit. Init runs once; later calls return its
// result. An Env created while another has already initialised ONNX Runtime
// in this process shares that environment and never destroys it.
type Env struct {
	opts EnvOptions
	log  *slog.Logger

	once    sync.Once
	err     error
	version string
	path    string
	owner   bool

	mu        sync.Mutex
	closed    bool
	cudaErrs  map[int]error   // device id → why its CUDA provider failed
	fallbacks map[string]bool // "device:model" → CPU fallback already logged

	// gpuVisible reports whether the machine shows a GPU at all
	// (gpuDevicesVisible; tests replace it, there being no GPU here).
	gpuVisible func() bool
}

// NewEnv returns an Env; nothing is loaded before Init.
func NewEnv(opts EnvOptions) *Env {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Env{opts: opts, log: log, cudaErrs: map[int]error{}, fallbacks: map[string]bool{}, gpuVisible: gpuDevicesVisible}
}

// logFor is the logger for a line logged on behalf of a call with ctx:
// EnvOptions.Logger when given, else ctx's. An Env is usually created
// before the server that serves its models has configured its logging,
// so it cannot be handed the server's logger; Load's context carries it.
func (e *Env) logFor(ctx context.Context) *slog.Logger {
	if e.opts.Logger != nil {
		return e.log
	}
	return model.Logger(ctx)
}

// Init finds and loads the ONNX Runtime library and creates the environment.
// It runs once; a missing or too-old library is a *LibraryError naming every
// place looked at and how to install the library.
func (e *Env) Init() error {
	return e.initFor(context.Background()) // no call's logger: the Env's own
}

// initFor is Init logging for a call with ctx (see logFor).
func (e *Env) initFor(ctx context.Context) error {
	e.once.Do(func() { e.err = e.init(e.logFor(ctx)) })
	return e.err
}

func (e *Env) init(log *slog.Logger) error {
	if ort.IsInitialized() {
		e.version = ort.GetVersion()
		log.Info(fmt.Sprintf("ONNX Runtime %s: sharing the environment already initialised in this process", e.version))
		return nil
	}
	var cands []Candidate
	if e.opts.LibraryPath != "" {
		cands = []Candidate{{Path: e.opts.LibraryPath, Source: "EnvOptions.LibraryPath", File: true}}
	} else {
		cands = Candidates(e.opts.Getenv)
	}
	// By default ONNX Runtime writes only fatal errors itself: its copy of a
	// failed run's error (ANSI-coloured, in its own format) would be a
	// second line, one a log pipeline reading --log_config_file's format
	// cannot parse, beside the one the server logs from the returned error.
	level := ort.WithLogLevelFatal()
	if l := e.opts.ORTLogLevel; l != nil {
		switch {
		case *l < slog.LevelInfo:
			level = ort.WithLogLevelVerbose()
		case *l < slog.LevelWarn:
			level = ort.WithLogLevelInfo()
		case *l < slog.LevelError:
			level = ort.WithLogLevelWarning()
		case *l == slog.LevelError:
			level = ort.WithLogLevelError()
		}
	}
	optOutOfTelemetry()
	var tried []Attempt
	for _, c := range cands {
		if c.File {
			if err := checkFile(c.Path); err != nil {
				tried = append(tried, Attempt{c, err})
				continue
			}
		}
		ort.SetSharedLibraryPath(c.Path)
		if err := initializeEnvironment(level); err != nil {
			if ort.IsInitialized() {
				// Another Env won a race to initialise the process's one
				// environment: share it.
				e.version = ort.GetVersion()
				log.Info(fmt.Sprintf("ONNX Runtime %s: sharing the environment another Env initialised", e.version))
				return nil
			}
			tried = append(tried, Attempt{c, explainLoadError(err)})
			continue
		}
		e.path, e.owner, e.version = c.Path, true, ort.GetVersion()
		log.Info(fmt.Sprintf("ONNX Runtime %s loaded from %s (%s)", e.version, c.Path, c.Source))
		return nil
	}
	return &LibraryError{Attempts: tried}
}

// initializeEnvironment is ort.InitializeEnvironment on one OS thread. The
// binding calls dlopen and then, in a second cgo call, dlerror for the
// reason a load failed; dlerror's message is the calling thread's, so a
// goroutine moved to another thread between the two calls read an empty
// one ("Error loading ONNX shared library \"…\": " and nothing, seen in
// CI) and the user lost why the library did not load.
func initializeEnvironment(level ort.EnvironmentOption) error {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	return ort.InitializeEnvironment(level)
}

// EnvTelemetry is ONNX Runtime's switch for its telemetry on Linux and
// macOS, read once, when the library initialises.
const EnvTelemetry = "ORT_DISABLE_TELEMETRY"

// optOutOfTelemetry sets ORT_DISABLE_TELEMETRY=1 for the library unless the
// process's environment sets it already. ONNX Runtime 1.29's official
// builds send usage telemetry (Microsoft's 1DS) from Linux and macOS by
// default: each process that loaded it left an empty mat-debug-<pid>.log
// and a .ses file in the temporary folder (a test run or `go run .` a
// time, hundreds here), and kept a device id and a database of unsent
// events, growing by the megabyte, in ~/.cache/Microsoft/DeveloperTools.
// A model server has no business phoning home or writing outside its
// model cache; whoever wants the telemetry sets the variable (to 0).
// The library reads it when it initialises, so it goes in the process's
// environment (which the C library sees with cgo) before the load, and
// --workers children inherit it.
func optOutOfTelemetry() {
	if _, set := os.LookupEnv(EnvTelemetry); !set {
		_ = os.Setenv(EnvTelemetry, "1")
	}
}

// Version is the loaded library's version (ort.GetVersion), "" before Init.
func (e *Env) Version() string { return e.version }

// LibraryPath is the path the library was loaded from; "" before Init or
// when the environment was initialised by someone else in this process.
func (e *Env) LibraryPath() string { return e.path }

// Logger is the Env's logger: EnvOptions.Logger, or slog.Default() when
// none was given (lines logged for a call then go to its context's logger).
func (e *Env) Logger() *slog.Logger { return e.log }

// Close destroys the ONNX Runtime environment if this Env created it. Every
// session must be closed first. The environment cannot be created again in
// the same process afterwards through this Env.
func (e *Env) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || !e.owner {
		e.closed = true
		return nil
	}
	e.closed = true
	if err := ort.DestroyEnvironment(); err != nil {
		return fmt.Errorf("destroy ONNX Runtime environment: %w", err)
	}
	return nil
}

// cudaFailure returns the remembered reason the CUDA provider failed on
// device id, or nil.
func (e *Env) cudaFailure(id int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cudaErrs[id]
}

// rememberCUDAFailure records why CUDA failed on device d.ID (the first
// reason is kept) and reports whether the CPU fallback should be logged now:
// the first time an auto session meets the failure.
func (e *Env) rememberCUDAFailure(d Device, err error) bool {
	e.mu.Lock()
	if _, seen := e.cudaErrs[d.ID]; !seen {
		e.cudaErrs[d.ID] = err
	}
	e.mu.Unlock()
	if d.Kind != DeviceAuto {
		return false
	}
	return e.firstFallback(d, "")
}

// firstFallback reports whether a CPU fallback on device d for model path
// ("" for every model) is met for the first time, so it is logged once.
func (e *Env) firstFallback(d Device, path string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := fmt.Sprintf("%d:%s", d.ID, path)
	if e.fallbacks[key] {
		return false
	}
	e.fallbacks[key] = true
	return true
}
