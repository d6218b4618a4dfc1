// Package config holds the model server's settings and parses them from the
// command line and the environment the way KServe's Python model server does
// (kserve.model_server.parser), so an InferenceService written for a Python
// predictor starts a Go predictor unchanged.
package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"
)

// Protocol names accepted by --protocol, --predictor_protocol and $PROTOCOL.
const (
	ProtocolV1     = "v1"
	ProtocolV2     = "v2"
	ProtocolGRPCV2 = "grpc-v2"
)

// Event loop names accepted by --event-loop. Go has no event loop; the value
// is validated for compatibility and otherwise ignored.
const (
	EventLoopAuto    = "auto"
	EventLoopAsyncio = "asyncio"
	EventLoopUvloop  = "uvloop"
)

// DefaultMaxRequestBodySize bounds a request body unless --max_request_body_size
// says otherwise. KServe has no limit; 64 MiB holds a JSON FP32 batch of
// 16×[3,224,224] images (≈40 MB as text) or ~16M binary FP32 values, yet keeps
// a single hostile request from claiming gigabytes of memory.
const DefaultMaxRequestBodySize int64 = 64 << 20

// Config is every setting of the model server. Fields up to
// EnablePredictorHealthCheck are KServe's flags (contract §3) with KServe's
// names and defaults; the rest are Go extensions and environment variables.
type Config struct {
	HTTPPort                       int    // --http_port (8080)
	GRPCPort                       int    // --grpc_port (8081)
	Workers                        int    // --workers (1): serving processes sharing the HTTP port (0 is 1)
	MaxThreads                     int    // --max_threads (4): gRPC stream worker goroutines
	MaxAsyncioWorkers              int    // --max_asyncio_workers (0 = auto, see EffectiveMaxAsyncioWorkers)
	EnableGRPC                     bool   // --enable_grpc (true)
	EnableDocsURL                  bool   // --enable_docs_url (false)
	EnableLatencyLogging           bool   // --enable_latency_logging (true)
	ConfigureLogging               bool   // --configure_logging (true)
	LogConfigFile                  string // --log_config_file ("")
	AccessLogFormat                string // --access_log_format ("")
	EventLoop                      string // --event-loop (auto); accepted and ignored
	TimeoutKeepAlive               int    // --timeout-keep-alive (65) seconds
	ModelName                      string // --model_name (model)
	PredictorHost                  string // --predictor_host ("")
	Protocol                       string // --protocol (v1), else $PROTOCOL
	PredictorProtocol              string // --predictor_protocol (v1)
	PredictorUseSSL                bool   // --predictor_use_ssl (false)
	PredictorRequestTimeoutSeconds int    // --predictor_request_timeout_seconds (600)
	PredictorRequestRetries        int    // --predictor_request_retries (0)
	GRPCMaxSendMessageLength       int    // --grpc_max_send_message_length (8388608)
	GRPCMaxReceiveMessageLength    int    // --grpc_max_receive_message_length (8388608)
	EnablePredictorHealthCheck     bool   // --enable_predictor_health_check (store_true)

	// Go extensions.
	ModelDir           string        // --model_dir (""); controller injects /mnt/models
	GracePeriod        time.Duration // --grace_period (30s); KServe's constructor-only grace_period
	MaxRequestBodySize int64         // --max_request_body_size (64 MiB)
	ReadHeaderTimeout  time.Duration // --read_header_timeout (10s)
	GCMinHeap          int64         // --gc_min_heap (0: Go's own GC pacing)
	MaxQueuedRequests  int           // --max_queued_requests (0: no limit)

	// Environment.
	LogLevel    string // $KSERVE_LOGLEVEL, upper-cased, default INFO
	StorageURI  string // $STORAGE_URI
	ProtocolEnv string // $PROTOCOL, lower-cased ("" when unset)
	CEType      string // $CE_TYPE: type of CloudEvent responses ("" = io.kserve.inference.response)
	CESource    string // $CE_SOURCE: their source ("" = io.kserve.inference.<model name>)
	CEMerge     bool   // $CE_MERGE == "true" (any case): copy the request event's attributes
	// $KSERVE_OPENAI_ROUTE_PREFIX: the path the OpenAI-compatible routes
	// sit under (package openai), "/openai" by default, a leading "/"
	// added as KServe adds it; "" (the variable set empty, read through
	// Parser.ParseLookup) serves them at /v1/..., as KServe does.
	OpenAIRoutePrefix string
	// $FORWARDED_ALLOW_IPS: the proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed (uvicorn's --forwarded-allow-ips;
	// "" = the loopback interface).
	ForwardedAllowIPs string

	// UnknownArgs are the arguments Parse ignored (argparse's extras); the
	// server logs them in one warning once logging is configured.
	UnknownArgs []string
}

// DefaultOpenAIRoutePrefix is KServe's default OPENAI_ROUTE_PREFIX
// (protocol/rest/openai/endpoints.py).
const DefaultOpenAIRoutePrefix = "/openai"

// Default returns KServe's defaults plus ours.
func Default() Config {
	return Config{
		HTTPPort:                       8080,
		GRPCPort:                       8081,
		Workers:                        1,
		MaxThreads:                     4,
		MaxAsyncioWorkers:              0,
		EnableGRPC:                     true,
		EnableDocsURL:                  false,
		EnableLatencyLogging:           true,
		ConfigureLogging:               true,
		EventLoop:                      EventLoopAuto,
		TimeoutKeepAlive:               65,
		ModelName:                      "model",
		Protocol:                       ProtocolV1,
		PredictorProtocol:              ProtocolV1,
		PredictorRequestTimeoutSeconds: 600,
		PredictorRequestRetries:        0,
		GRPCMaxSendMessageLength:       8388608,
		GRPCMaxReceiveMessageLength:    8388608,
		GracePeriod:                    30 * time.Second,
		MaxRequestBodySize:             DefaultMaxRequestBodySize,
		ReadHeaderTimeout:              10 * time.Second,
		LogLevel:                       "INFO",
		OpenAIRoutePrefix:              DefaultOpenAIRoutePrefix,
	}
}

// EffectiveMaxAsyncioWorkers is the bound on concurrent model calls:
// --max_asyncio_workers when given, else Python's min(32, CPUs+4) with CPUs
// counted from the cgroup CPU quota and the affinity mask (Python's
// os.cpu_count ignores the quota, which over-subscribes a limited pod).
func (c Config) EffectiveMaxAsyncioWorkers() int {
	if c.MaxAsyncioWorkers > 0 {
		return c.MaxAsyncioWorkers
	}
	return AutoMaxAsyncioWorkers(AvailableCPUs())
}

// AutoMaxAsyncioWorkers is Python's ThreadPoolExecutor default: min(32, cpus+4).
func AutoMaxAsyncioWorkers(cpus int) int {
	return min(32, cpus+4)
}

// Validate reports settings no server could run with, naming the flag.
func (c Config) Validate() error {
	var errs []error
	port := func(flag string, v int) {
		if v < 0 || v > 65535 {
			errs = append(errs, fmt.Errorf("argument --%s: port %d out of range 0-65535", flag, v))
		}
	}
	atLeast := func(flag string, v, lo int) {
		if v < lo {
			errs = append(errs, fmt.Errorf("argument --%s: must be >= %d, got %d", flag, lo, v))
		}
	}
	port("http_port", c.HTTPPort)
	port("grpc_port", c.GRPCPort)
	if c.EnableGRPC && c.GRPCPort == c.HTTPPort && c.HTTPPort != 0 {
		// Caught here, not by a bind error after the REST listener is up.
		errs = append(errs, fmt.Errorf("argument --grpc_port: %d is also --http_port; REST and gRPC need their own ports (or --enable_grpc=false)", c.GRPCPort))
	}
	// 0 is one process, as in KServe (it forks only above 1): the controller
	// passes a transformer's containerConcurrency, 0 meaning unlimited.
	atLeast("workers", c.Workers, 0)
	if err := workersOn(runtime.GOOS, c.Workers); err != nil {
		errs = append(errs, err)
	}
	atLeast("max_threads", c.MaxThreads, 1)
	atLeast("max_asyncio_workers", c.MaxAsyncioWorkers, 0)
	atLeast("max_queued_requests", c.MaxQueuedRequests, 0)
	atLeast("timeout-keep-alive", c.TimeoutKeepAlive, 0)
	if int64(c.TimeoutKeepAlive) > maxSeconds {
		// Seconds to a time.Duration would overflow (to no idle timeout).
		errs = append(errs, fmt.Errorf("argument --timeout-keep-alive: must be <= %d, got %d", maxSeconds, c.TimeoutKeepAlive))
	}
	atLeast("predictor_request_timeout_seconds", c.PredictorRequestTimeoutSeconds, 0)
	atLeast("predictor_request_retries", c.PredictorRequestRetries, 0)
	// gRPC treats -1 as "unlimited" for message lengths.
	atLeast("grpc_max_send_message_length", c.GRPCMaxSendMessageLength, -1)
	atLeast("grpc_max_receive_message_length", c.GRPCMaxReceiveMessageLength, -1)
	if c.GracePeriod < 0 {
		errs = append(errs, fmt.Errorf("argument --grace_period: must be >= 0, got %s", c.GracePeriod))
	}
	if c.ReadHeaderTimeout < 0 {
		errs = append(errs, fmt.Errorf("argument --read_header_timeout: must be >= 0, got %s", c.ReadHeaderTimeout))
	}
	if c.MaxRequestBodySize <= 0 {
		errs = append(errs, fmt.Errorf("argument --max_request_body_size: must be > 0, got %d", c.MaxRequestBodySize))
	}
	if c.GCMinHeap < 0 {
		errs = append(errs, fmt.Errorf("argument --gc_min_heap: must be >= 0, got %d", c.GCMinHeap))
	}
	if c.ModelName == "" {
		errs = append(errs, errors.New("argument --model_name: must not be empty"))
	}
	return errors.Join(errs...)
}

// workersOn refuses --workers above 1 on an OS whose kernel cannot spread
// one port's connections over several processes: the workers bind the
// HTTP port together with SO_REUSEPORT, which Windows does not have (its
// SO_REUSEADDR lets a second socket take the port over instead).
func workersOn(goos string, n int) error {
	if n > 1 && goos == "windows" {
		return fmt.Errorf("argument --workers: %d worker processes share the HTTP port with SO_REUSEPORT, which Windows does not have; use --workers 1 (one process serves every request), or run on Linux (a container, or WSL)", n)
	}
	return nil
}

// logLevelNames are the names Python's logging accepts in setLevel.
const logLevelNames = "CRITICAL, FATAL, ERROR, WARN, WARNING, INFO, DEBUG, NOTSET"

// ParseLogLevel maps a Python logging level name (any case) to slog:
// CRITICAL/FATAL sit above ERROR, NOTSET logs everything.
func ParseLogLevel(name string) (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "CRITICAL", "FATAL":
		return slog.LevelError + 4, nil
	case "ERROR":
		return slog.LevelError, nil
	case "WARN", "WARNING":
		return slog.LevelWarn, nil
	case "INFO":
		return slog.LevelInfo, nil
	case "DEBUG":
		return slog.LevelDebug, nil
	case "NOTSET":
		return slog.LevelDebug - 4, nil
	}
	return 0, fmt.Errorf("unknown level %q (choose from %s)", name, logLevelNames)
}

// SlogLevel is LogLevel as a slog.Level (INFO when LogLevel is not a level).
func (c Config) SlogLevel() slog.Level {
	l, err := ParseLogLevel(c.LogLevel)
	if err != nil {
		return slog.LevelInfo
	}
	return l
}

// ResolveModelDir returns --model_dir when given, else $STORAGE_URI resolved
// by resolve (storage.Resolve in a server), else "".
func (c Config) ResolveModelDir(ctx context.Context, resolve func(context.Context, string) (string, error)) (string, error) {
	if c.ModelDir != "" || c.StorageURI == "" {
		return c.ModelDir, nil
	}
	dir, err := resolve(ctx, c.StorageURI)
	if err != nil {
		return "", fmt.Errorf("resolving STORAGE_URI: %w", err)
	}
	return dir, nil
}
