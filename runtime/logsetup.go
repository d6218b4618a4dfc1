package runtime

import (
	"io"
	"net/http"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/logging"
	"github.com/kserve-gen/kserve-gen/runtime/rest"
)

// WithLogOutput sends the logging configuration's stdout and stderr streams
// to the given writers (tests; log capture).
func WithLogOutput(stdout, stderr io.Writer) Option {
	return func(s *Server) { s.logOut, s.logErr = stdout, stderr }
}

// logSetup adapts the configured loggers to the server's hooks.
type logSetup struct {
	l *logging.Loggers
}

// setupLogging applies --configure_logging, --log_config_file,
// --access_log_format and KSERVE_LOGLEVEL before anything is served, so a
// bad configuration stops the server with one error naming the file and key.
func (s *Server) setupLogging() error {
	if s.logs != nil {
		return nil // ResolveModelDir came first
	}
	l, err := logging.Setup(logging.Options{
		Configure:       s.cfg.ConfigureLogging,
		ConfigFile:      s.cfg.LogConfigFile,
		AccessLogFormat: s.cfg.AccessLogFormat,
		Level:           s.cfg.LogLevel,
		Stdout:          s.logOut,
		Stderr:          s.logErr,
	})
	if err != nil {
		return err
	}
	if s.log == nil {
		s.log = l.Server()
	}
	s.logs = &logSetup{l: l}
	return nil
}

func (ls *logSetup) latency(requestID string, t dataplane.Timings) {
	ls.l.LogLatency(requestID, t.Preprocess, t.Explain, t.Predict, t.Postprocess)
}

// accessFunc logs each response, naming the client that proxies forward for.
func (ls *logSetup) accessFunc(proxies *rest.Proxies) rest.AccessFunc {
	return func(r *http.Request, respHeader http.Header, status int, n int64, start time.Time, d time.Duration) {
		ls.l.LogAccess(logging.AccessRecord{
			ClientAddr: proxies.ClientAddr(r), Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			Proto: r.Proto, Status: status, BytesSent: n, Start: start, Duration: d, RequestHeader: r.Header, ResponseHeader: respHeader,
		})
	}
}

func (ls *logSetup) close() {
	if ls != nil {
		_ = ls.l.Close()
	}
}
