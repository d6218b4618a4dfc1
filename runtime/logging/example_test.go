package logging_test

import (
	"fmt"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/logging"
)

// A configuration in dictConfig form, written in Go: the per-request
// latency line and a server message, on stdout, without timestamps.
func Example() {
	off := false
	cfg := &logging.Config{
		Version:                1,
		DisableExistingLoggers: &off,
		Formatters: map[string]logging.FormatterConfig{
			"plain": {Factory: "logging.Formatter", Format: "%(name)s %(levelname)-8s %(message)s"},
		},
		Handlers: map[string]logging.HandlerConfig{
			"out": {Class: "logging.StreamHandler", Formatter: "plain", Stream: "ext://sys.stdout"},
		},
		Loggers: map[string]logging.LoggerConfig{
			"kserve": {Level: "INFO", Handlers: []string{"out"}},
		},
	}
	logs, err := logging.Setup(logging.Options{Configure: true, Config: cfg})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer logs.Close()
	logs.Server().Info("Registering model: iris")
	logs.Server().Debug("below INFO: not written")
	logs.LogLatency("req-1", 84*time.Microsecond, 0, 1234567*time.Nanosecond, 51*time.Microsecond)
	// Output:
	// kserve INFO     Registering model: iris
	// kserve.trace INFO     requestId: req-1, preprocess_ms: 0.084, explain_ms: 0, predict_ms: 1.234567, postprocess_ms: 0.051
}

// A bad configuration is one error naming the source and the key.
func ExampleSetup_error() {
	cfg := &logging.Config{
		Version:  1,
		Handlers: map[string]logging.HandlerConfig{"kserve": {Class: "logging.Foo"}},
	}
	_, err := logging.Setup(logging.Options{Configure: true, Config: cfg})
	fmt.Println(err)
	// Output:
	// log config Options.Config: handlers.kserve.class: unknown handler class "logging.Foo" (want logging.StreamHandler, logging.FileHandler, logging.handlers.RotatingFileHandler or logging.NullHandler)
}
