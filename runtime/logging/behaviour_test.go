package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func setupYAML(t *testing.T, yaml string, opts Options) (*Loggers, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	opts.Configure, opts.Stdout, opts.Stderr = true, &stdout, &stderr
	opts.ConfigFile = writeFile(t, "c.yaml", yaml)
	l, err := Setup(opts)
	require.NoError(t, err)
	return l, &stdout, &stderr
}

// Python's hierarchy: a record goes to its logger's handlers, then up
// through parents until one has propagate: false; only the level of the
// logger it was logged on is checked; handler levels filter each handler.
func TestHierarchy_PropagationAndLevels(t *testing.T) {
	l, stdout, stderr := setupYAML(t, `
version: 1
disable_existing_loggers: false
formatters:
  short: {format: "%(name)s %(levelname)s %(message)s"}
handlers:
  err: {class: logging.StreamHandler, formatter: short}
  out: {class: logging.StreamHandler, formatter: short, stream: ext://sys.stdout, level: WARNING}
loggers:
  app: {level: DEBUG, handlers: [out]}
  app.db: {level: 30}
  app.quiet: {handlers: [err], propagate: false}
root: {level: INFO, handlers: [err]}
`, Options{})
	l.Named("app.db.pool").Info("info from app.db.pool") // app.db is WARNING: dropped
	l.Named("app.db.pool").Warn("warn from app.db.pool") // out (WARNING) + root err
	l.Named("app").Debug("debug from app")               // out drops DEBUG, root err takes it
	l.Named("app.quiet").Error("error from app.quiet")   // err only, no propagation
	l.Named("other").Info("info from other")             // root: INFO
	l.Named("other").Debug("debug from other")           // root level INFO: dropped
	l.Root().Info("info from root")
	require.NoError(t, l.Close())
	assertLines(t, "stdout", lines(stdout), "app.db.pool WARNING warn from app.db.pool")
	assertLines(t, "stderr", lines(stderr),
		"app.db.pool WARNING warn from app.db.pool",
		"app DEBUG debug from app",
		"app.quiet ERROR error from app.quiet",
		"other INFO info from other",
		"root INFO info from root",
	)
}

// disable_existing_loggers (true when absent) silences the loggers the
// server creates that the config does not name, except children of named ones.
func TestDisableExistingLoggers(t *testing.T) {
	const cfg = `
version: 1
handlers:
  h: {class: logging.StreamHandler}
loggers:
  kserve: {handlers: [h], level: INFO}
`
	l, _, stderr := setupYAML(t, cfg, Options{})
	l.Server().Info("kserve is named")
	l.Trace().Info("kserve.trace is a child of a named logger")
	l.Named("uvicorn.error").Error("uvicorn.error is disabled")
	l.LogAccess(sampleAccess) // uvicorn.access is disabled
	l.Named("mine").Error("a logger created after configuration is not")
	require.NoError(t, l.Close())
	assertLines(t, "stderr", lines(stderr),
		"kserve is named",
		"kserve.trace is a child of a named logger",
		"a logger created after configuration is not", // through Python's lastResort
	)

	l, _, stderr = setupYAML(t, strings.Replace(cfg, "version: 1", "version: 1\ndisable_existing_loggers: false", 1), Options{})
	l.Named("uvicorn.error").Error("uvicorn.error is enabled")
	require.NoError(t, l.Close())
	assertLines(t, "stderr", lines(stderr), "uvicorn.error is enabled")
}

// With no handler anywhere up the tree, Python's lastResort prints WARNING
// and above as the bare message on stderr.
func TestLastResort(t *testing.T) {
	l, stdout, stderr := setupYAML(t, "version: 1\n", Options{})
	l.Named("x").Info("dropped")
	l.Named("x").Warn("kept", "k", "v")
	require.NoError(t, l.Close())
	assert.Empty(t, stdout.String())
	assertLines(t, "stderr", lines(stderr), "kept k=v")
}

// slog attributes: appended to the message as key=value unless the format
// names them (Python's extra=...), groups become dotted keys.
func TestSlogAttributes(t *testing.T) {
	l, _, stderr := setupYAML(t, `
version: 1
formatters:
  f: {format: "[%(model)s] %(message)s", defaults: {model: none}}
handlers:
  h: {class: logging.StreamHandler, formatter: f}
root: {level: DEBUG, handlers: [h]}
`, Options{})
	log := l.Named("app") // not "kserve": disable_existing_loggers defaults to true
	log.Info("loaded", "model", "resnet", "ms", 12, "ok", true, "note", "two words")
	log.With("model", "bert").WithGroup("req").Info("served", "id", "r1", slog.Group("size", "in", 3))
	log.Info("no model")
	log.LogAttrs(context.Background(), slog.LevelInfo, "err", slog.Any("error", errors.New("bad thing")))
	require.NoError(t, l.Close())
	assertLines(t, "stderr", lines(stderr),
		`\[resnet\] loaded ms=12 ok=true note="two words"`,
		`\[bert\] served req\.id=r1 req\.size\.in=3`,
		`\[none\] no model`,
		`\[none\] err error="bad thing"`,
	)
}

// --access_log_format replaces the uvicorn.access line with asgi-logger's
// atoms, on stdout, whatever the configuration.
func TestAccessLogFormat(t *testing.T) {
	os.Setenv("KSERVE_GEN_TEST_ENV", "env-value")
	defer os.Unsetenv("KSERVE_GEN_TEST_ENV")
	var stdout, stderr bytes.Buffer
	l, err := Setup(Options{
		Configure: true, Stdout: &stdout, Stderr: &stderr,
		AccessLogFormat: `%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" | %(R)s | %(m)s %(U)s %(q)s %(H)s | ` +
			`%(status_code)s %(st)s | %(T)s %(M)s %(D)s %(L)s | %(p)s | %({x-request-id}i)s %({Content-Type}o)s %({kserve_gen_test_env}e)s | ` +
			`%(nope)s %(s)05d %(m)-6s| %({missing}i)s`,
	})
	require.NoError(t, err)
	rec := sampleAccess
	rec.RawQuery = "verbose=1"
	rec.Duration = 2*time.Second + 3456789*time.Nanosecond
	l.LogAccess(rec)
	require.NoError(t, l.Close())
	pid := strconv.Itoa(os.Getpid())
	assertLines(t, "stdout", lines(&stdout),
		`127\.0\.0\.1:50432 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "POST /v1/models/m:predict HTTP/1\.1" 200 17 "-" "curl/8\.5\.0" \| `+
			`POST /v1/models/m%3Apredict\?verbose=1 HTTP/1\.1 \| POST /v1/models/m:predict verbose=1 HTTP/1\.1 \| `+
			`200 OK OK \| 2 2003 2003456 2\.003457 \| <`+pid+`> \| req-1 application/json env-value \| `+
			`- 00200 POST  \| -`)
	assert.Empty(t, stderr.String(), "the uvicorn.access line is replaced, not duplicated")
}

// The JSON formatter: python-json-logger's shape, slog attributes as fields.
func TestJSONFormatter(t *testing.T) {
	l, stdout, _ := setupYAML(t, `
version: 1
formatters:
  json:
    "()": kserve_gen.JSONFormatter
    datefmt: "%Y-%m-%dT%H:%M:%S"
    rename_fields: {levelname: level}
    static_fields: {service: iris}
  pjl:
    "()": pythonjsonlogger.jsonlogger.JsonFormatter
    format: "%(levelno)s %(message)s %(missing)s"
    timestamp: true
handlers:
  json: {class: logging.StreamHandler, formatter: json, stream: ext://sys.stdout}
  pjl: {class: logging.StreamHandler, formatter: pjl, stream: ext://sys.stdout}
loggers:
  kserve: {handlers: [json], level: INFO}
  kserve.trace: {handlers: [pjl], level: INFO, propagate: false}
  uvicorn.access: {handlers: [json], level: INFO}
`, Options{})
	l.Server().Info("Registering model: m", "model", "m", "n", 3, "ratio", 0.5, "tags", []string{"a"})
	l.LogLatency("r\"1", time.Millisecond, 0, 0, 0)
	l.LogAccess(sampleAccess)
	l.Server().Info("héllo \U0001F600")
	require.NoError(t, l.Close())
	got := lines(stdout)
	require.Len(t, got, 4)
	for _, line := range got {
		assert.True(t, json.Valid([]byte(line)), line)
	}
	assert.Regexp(t, `^\{"asctime": "\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", "level": "INFO", "name": "kserve", "message": "Registering model: m", "service": "iris", "model": "m", "n": 3, "ratio": 0\.5, "tags": \["a"\]\}$`, got[0])
	assert.Regexp(t, `^\{"levelno": 20, "message": "requestId: r\\"1, preprocess_ms: 1\.0, explain_ms: 0, predict_ms: 0, postprocess_ms: 0", "missing": null, "timestamp": "\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00"\}$`, got[1])
	// kserve_gen.JSONFormatter adds the access record's values as fields.
	assert.Regexp(t, `^\{"asctime": "[^"]+", "level": "INFO", "name": "uvicorn\.access", "message": "127\.0\.0\.1:50432 - \\"POST /v1/models/m%3Apredict HTTP/1\.1\\" 200", "service": "iris", `+
		`"client_addr": "127\.0\.0\.1:50432", "method": "POST", "path": "/v1/models/m:predict", "query": "", "status": 200, "bytes": 17, "duration_ms": 1\.234\}$`, got[2])
	// ensure_ascii, as json.dumps: "h\u00e9llo \ud83d\ude00".
	assert.Regexp(t, `"message": "h\\u00e9llo \\ud83d\\ude00"`, got[3])
}

// kserve_gen.JSONFormatter gives the latency line's values as fields.
func TestJSONFormatter_LatencyFields(t *testing.T) {
	l, stdout, _ := setupYAML(t, `
version: 1
formatters:
  json: {"()": kserve_gen.JSONFormatter, format: "%(name)s %(message)s"}
handlers:
  json: {class: logging.StreamHandler, formatter: json, stream: ext://sys.stdout}
loggers:
  kserve.trace: {handlers: [json], level: INFO}
`, Options{})
	l.LogLatency("", 1500*time.Microsecond, 0, 2*time.Millisecond, 0)
	require.NoError(t, l.Close())
	assert.Equal(t, `{"name": "kserve.trace", "message": "requestId: N.A., preprocess_ms: 1.5, explain_ms: 0, predict_ms: 2.0, postprocess_ms: 0", `+
		`"requestId": "N.A.", "preprocess_ms": 1.5, "explain_ms": 0, "predict_ms": 2.0, "postprocess_ms": 0}`+"\n", stdout.String())
}
