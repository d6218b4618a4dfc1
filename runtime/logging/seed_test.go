package logging

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// examples holds the seed's configurations as files.
var examples = filepath.Join("..", "..", "examples", "logging")

// seedDict is the seed's dictConfig example written as a Go value.
func seedDict() *Config {
	off := false
	const datefmt = "%Y-%m-%d %H:%M:%S"
	return &Config{
		Version:                1,
		DisableExistingLoggers: &off,
		Formatters: map[string]FormatterConfig{
			"kserve": {Factory: "logging.Formatter", Datefmt: datefmt,
				Format: "%(asctime)s.%(msecs)03d %(filename)s:%(funcName)s():%(lineno)s %(message)s"},
			"kserve_trace": {Factory: "logging.Formatter", Datefmt: datefmt,
				Format: "%(asctime)s.%(msecs)03d %(name)s %(message)s"},
			"uvicorn": {Factory: "uvicorn.logging.DefaultFormatter", Datefmt: datefmt,
				Format: "%(asctime)s.%(msecs)03d %(name)s %(levelprefix)s %(message)s"},
		},
		Handlers: map[string]HandlerConfig{
			"kserve":       {Formatter: "kserve", Class: "logging.StreamHandler", Stream: "ext://sys.stderr"},
			"kserve_trace": {Formatter: "kserve_trace", Class: "logging.StreamHandler", Stream: "ext://sys.stderr"},
			"uvicorn":      {Formatter: "uvicorn", Class: "logging.StreamHandler", Stream: "ext://sys.stderr"},
		},
		Loggers: map[string]LoggerConfig{
			"kserve":       {Handlers: []string{"kserve"}, Level: "INFO", Propagate: &off},
			"kserve.trace": {Handlers: []string{"kserve_trace"}, Level: "INFO", Propagate: &off},
			"uvicorn":      {Handlers: []string{"uvicorn"}, Level: "INFO", Propagate: &off},
		},
	}
}

// logHere logs msg at INFO and returns the line it logged from.
func logHere(l *slog.Logger, msg string) int {
	_, _, line, _ := runtime.Caller(0)
	l.Info(msg) // keep on the line after runtime.Caller
	return line + 1
}

// ts matches "%Y-%m-%d %H:%M:%S" + ".%(msecs)03d".
const ts = `\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}`

var sampleAccess = AccessRecord{
	ClientAddr: "127.0.0.1:50432", Method: "POST", Path: "/v1/models/m:predict", Proto: "HTTP/1.1",
	Status: 200, BytesSent: 17, Duration: 1234 * time.Microsecond,
	RequestHeader:  http.Header{"User-Agent": {"curl/8.5.0"}, "X-Request-Id": {"req-1"}},
	ResponseHeader: http.Header{"Content-Type": {"application/json"}},
}

// exercise writes one of each kind of line the server writes and returns
// the line numbers of the kserve log call.
func exercise(l *Loggers) int {
	line := logHere(l.Server(), "Registering model: m")
	l.Named("uvicorn.error").Info("Started server process [" + strconv.Itoa(l.env.pid) + "]")
	l.LogLatency("req-1", 1500*time.Microsecond, 0, 2250*time.Microsecond, 125*time.Nanosecond)
	rec := sampleAccess
	rec.Start = time.Now().Add(-rec.Duration)
	l.LogAccess(rec)
	return line
}

func lines(b *bytes.Buffer) []string {
	s := strings.TrimSuffix(b.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func assertLines(t *testing.T, stream string, got []string, want ...string) {
	t.Helper()
	require.Len(t, got, len(want), "%s:\n%s", stream, strings.Join(got, "\n"))
	for i, w := range want {
		assert.Regexp(t, regexp.MustCompile("^"+w+"$"), got[i], "%s line %d", stream, i+1)
	}
}

// Every form of the seed's configuration gives the same lines on the same
// streams: all on stderr, the access record propagating to "uvicorn".
func TestSeedConfigurations(t *testing.T) {
	sources := map[string]Options{
		"dict": {Config: seedDict()},
		"json": {ConfigFile: filepath.Join(examples, "logging.json")},
		"yaml": {ConfigFile: filepath.Join(examples, "logging.yaml")},
		"ini":  {ConfigFile: filepath.Join(examples, "logging.ini")},
	}
	for name, opts := range sources {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			opts.Configure, opts.Stdout, opts.Stderr = true, &stdout, &stderr
			l, err := Setup(opts)
			require.NoError(t, err)
			line := exercise(l)
			require.NoError(t, l.Close())
			assertLines(t, "stderr", lines(&stderr),
				ts+` seed_test\.go:logHere\(\):`+strconv.Itoa(line)+` Registering model: m`,
				ts+` uvicorn\.error INFO:     Started server process \[\d+\]`,
				ts+` kserve\.trace requestId: req-1, preprocess_ms: 1\.5, explain_ms: 0, predict_ms: 2\.25, postprocess_ms: 0\.000125`,
				ts+` uvicorn\.access INFO:     127\.0\.0\.1:50432 - "POST /v1/models/m%3Apredict HTTP/1\.1" 200`,
			)
			assert.Empty(t, stdout.String())
		})
	}
}

// KServe's default configuration: process ids, levels and
// [file:func():line] on stderr, the AccessFormatter line on stdout.
func TestDefaultConfiguration(t *testing.T) {
	var stdout, stderr bytes.Buffer
	l, err := Setup(Options{Configure: true, Stdout: &stdout, Stderr: &stderr})
	require.NoError(t, err)
	line := exercise(l)
	l.Server().Debug("not at INFO")
	require.NoError(t, l.Close())
	pid := strconv.Itoa(l.env.pid)
	assertLines(t, "stderr", lines(&stderr),
		ts+` `+pid+` kserve INFO \[seed_test\.go:logHere\(\):`+strconv.Itoa(line)+`\] Registering model: m`,
		ts+` `+pid+` uvicorn\.error INFO:     Started server process \[`+pid+`\]`,
		ts+` `+pid+` kserve\.trace requestId: req-1, preprocess_ms: 1\.5, explain_ms: 0, predict_ms: 2\.25, postprocess_ms: 0\.000125`,
	)
	assertLines(t, "stdout", lines(&stdout),
		ts+` uvicorn\.access INFO:     127\.0\.0\.1:50432 `+pid+` - "POST /v1/models/m%3Apredict HTTP/1\.1" 200 OK`,
	)
	// The timestamp is local time, now.
	got, err := time.ParseInLocation("2006-01-02 15:04:05.000", stdout.String()[:23], time.Local)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), got, 5*time.Second)
}

func TestDefaultConfiguration_KServeLogLevel(t *testing.T) {
	var stderr bytes.Buffer
	l, err := Setup(Options{Configure: true, Level: "warning", Stdout: &bytes.Buffer{}, Stderr: &stderr})
	require.NoError(t, err)
	l.Server().Info("hidden")
	l.Server().Warn("shown")
	assert.False(t, l.LatencyEnabled())
	l.LogLatency("x", 1, 1, 1, 1)
	require.NoError(t, l.Close())
	assertLines(t, "stderr", lines(&stderr), ts+` \d+ kserve WARNING \[seed_test\.go:TestDefaultConfiguration_KServeLogLevel\(\):\d+\] shown`)

	_, err = Setup(Options{Configure: true, Level: "LOUD"})
	assert.EqualError(t, err, `log config KSERVE_LOGLEVEL: unknown level "LOUD" (want CRITICAL, ERROR, WARNING, INFO, DEBUG, TRACE, NOTSET or a number)`)
}

// syncBuffer is a bytes.Buffer safe to read while the flush timer writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The path of uvicorn's access line (and of asgi-logger's %(R)s) is the
// decoded request path quoted again by urllib.parse.quote: KServe 0.20's
// server logs a v1 predict as "POST /v1/models/m%3Apredict HTTP/1.1". The
// expectations are Python's quote() of each path.
func TestAccessLine_PathQuotedAsUvicorn(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/models/m:predict":         "/v1/models/m%3Apredict",
		"/v2/models/a b/ready":         "/v2/models/a%20b/ready",
		"/v1/models/é~_.-x:explain":    "/v1/models/%C3%A9~_.-x%3Aexplain",
		"/x/%41;,=@!$&'()*+":           "/x/%2541%3B%2C%3D%40%21%24%26%27%28%29%2A%2B",
		"/v2/models/passthrough/infer": "/v2/models/passthrough/infer",
	} {
		var stdout bytes.Buffer
		l, err := Setup(Options{Configure: true, Stdout: &stdout, Stderr: io.Discard})
		require.NoError(t, err)
		rec := sampleAccess
		rec.Path, rec.RawQuery = path, "a=b%20c"
		l.LogAccess(rec)
		require.NoError(t, l.Close())
		assert.Contains(t, stdout.String(), ` - "POST `+want+`?a=b%20c HTTP/1.1" 200 OK`, path)
	}
}

// asgi-logger's %(r)s and %(U)s print the decoded path, but a control
// character decoded from the request (%0A) stays encoded: raw, it would
// start a forged line in the access log.
func TestAccessFormat_DecodedPathKeepsControlsEncoded(t *testing.T) {
	var stdout bytes.Buffer
	l, err := Setup(Options{Configure: true, AccessLogFormat: `%(r)s | %(U)s | %(R)s`, Stdout: &stdout, Stderr: io.Discard})
	require.NoError(t, err)
	rec := sampleAccess
	rec.Path = "/v1/models/a b\n2026-12-03 fake:predict\x7f"
	l.LogAccess(rec)
	require.NoError(t, l.Close())
	assert.Equal(t, "POST /v1/models/a b%0A2026-12-03 fake:predict%7F HTTP/1.1 | /v1/models/a b%0A2026-12-03 fake:predict%7F | "+
		"POST /v1/models/a%20b%0A2026-12-03%20fake%3Apredict%7F HTTP/1.1\n", stdout.String())
}
