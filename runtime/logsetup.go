package runtime

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/rest"
)

// logSetup adapts the logging configuration to the server's hooks.
type logSetup struct {
	trace *slog.Logger
}

func (s *Server) setupLogging() error {
	h := slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: s.cfg.SlogLevel()})
	if s.log == nil {
		s.log = slog.New(h).With("logger", "kserve")
	}
	s.logs = &logSetup{trace: slog.New(h).With("logger", "kserve.trace")}
	return nil
}

func (l *logSetup) latency(requestID string, t dataplane.Timings) {
	if requestID == "" {
		requestID = "N.A."
	}
	l.trace.Info(fmt.Sprintf("requestId: %s, preprocess_ms: %v, explain_ms: %v, predict_ms: %v, postprocess_ms: %v",
		requestID, ms(t.Preprocess), ms(t.Explain), ms(t.Predict), ms(t.Postprocess)))
}

func (l *logSetup) access(r *http.Request, status int, n int64, start time.Time, d time.Duration) {}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func (l *logSetup) close() {}

func (l *logSetup) accessFunc() rest.AccessFunc { return nil }
