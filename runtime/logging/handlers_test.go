package logging

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// The same ten lines through CPython's RotatingFileHandler(maxBytes=100,
// backupCount=2) leave exactly these three files.
func TestRotatingFileHandler_MatchesPython(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	cfg := &Config{
		Version: 1,
		Handlers: map[string]HandlerConfig{
			"f": {Class: "logging.handlers.RotatingFileHandler", Filename: log, MaxBytes: 100, BackupCount: 2},
		},
		Loggers: map[string]LoggerConfig{"x": {Level: "INFO", Handlers: []string{"f"}}},
	}
	l, err := Setup(Options{Configure: true, Config: cfg})
	require.NoError(t, err)
	for i := range 10 {
		l.Named("x").Info(fmt.Sprintf("line %02d xxxxxxxxxxxxxxxxxxxx", i))
	}
	require.NoError(t, l.Close())
	line := func(i int) string { return fmt.Sprintf("line %02d xxxxxxxxxxxxxxxxxxxx\n", i) }
	assert.Equal(t, line(9), readFile(t, log))
	assert.Equal(t, line(6)+line(7)+line(8), readFile(t, log+".1"))
	assert.Equal(t, line(3)+line(4)+line(5), readFile(t, log+".2"))
	assert.NoFileExists(t, log+".3")
}

// A RotatingFileHandler whose file is not a regular file (here a link to
// /dev/null; /dev/stdout in a container) is never rotated, as in Python
// (bpo-45401). Rotating renamed the link away and wrote the rest of the
// logs to a regular file made in its place.
func TestRotatingFileHandler_NotARegularFile(t *testing.T) {
	for _, delay := range []bool{false, true} {
		t.Run(fmt.Sprintf("delay=%v", delay), func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "stdout")
			require.NoError(t, os.Symlink(os.DevNull, log))
			cfg := &Config{
				Version: 1,
				Handlers: map[string]HandlerConfig{
					"f": {Class: "logging.handlers.RotatingFileHandler", Filename: log, MaxBytes: 100, BackupCount: 2, Delay: delay},
				},
				Loggers: map[string]LoggerConfig{"x": {Level: "INFO", Handlers: []string{"f"}}},
			}
			l, err := Setup(Options{Configure: true, Config: cfg})
			require.NoError(t, err)
			for i := range 10 {
				l.Named("x").Warn(fmt.Sprintf("line %02d xxxxxxxxxxxxxxxxxxxx", i))
			}
			require.NoError(t, l.Close())
			target, err := os.Readlink(log)
			require.NoError(t, err, "the link is still there")
			assert.Equal(t, os.DevNull, target)
			assert.NoFileExists(t, log+".1")
		})
	}
}

// INI handler args map onto the Python constructors' positional parameters.
func TestINIFileHandlers(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.log")
	rot := filepath.Join(dir, "rot.log")
	require.NoError(t, os.WriteFile(plain, []byte("old\n"), 0o644))
	ini := fmt.Sprintf(`[loggers]
keys=root

[handlers]
keys=plain,rot,null

[formatters]
keys=f

[logger_root]
level=DEBUG
handlers=plain,rot,null

[handler_plain]
class=FileHandler
formatter=f
args=(%q, 'a')

[handler_rot]
class=handlers.RotatingFileHandler
level=ERROR
formatter=f
args=(%q,)
kwargs={'maxBytes': 1024*1024, 'backupCount': 3}

[handler_null]
class=NullHandler

[formatter_f]
format=%%(levelname)s:%%(name)s:%%(message)s
`, plain, rot)
	path := writeFile(t, "logging.conf", ini)
	cfg, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, HandlerConfig{Class: classRotating, Level: "ERROR", Formatter: "f", Filename: rot, MaxBytes: 1 << 20, BackupCount: 3}, cfg.Handlers["rot"])
	l, err := Setup(Options{Configure: true, ConfigFile: path})
	require.NoError(t, err)
	l.Named("a.b").Debug("debug line")
	l.Named("a.b").Error("error line")
	require.NoError(t, l.Close())
	assert.Equal(t, "old\nDEBUG:a.b:debug line\nERROR:a.b:error line\n", readFile(t, plain))
	assert.Equal(t, "ERROR:a.b:error line\n", readFile(t, rot))
}

// Lines are batched; WARNING and above are written at once, the rest within
// the flush interval, everything on Close.
func TestBuffering(t *testing.T) {
	var stderr syncBuffer
	// An interval no test run reaches: nothing but Warn and Close may write.
	l, err := Setup(Options{Configure: true, Config: seedDict(), Stderr: &stderr, Stdout: &stderr, flushEvery: time.Hour})
	require.NoError(t, err)
	l.Server().Info("batched")
	assert.Empty(t, stderr.String(), "an INFO line waits for the next flush")
	l.Server().Warn("urgent")
	assert.Contains(t, stderr.String(), "batched")
	assert.Contains(t, stderr.String(), "urgent")
	l.Server().Info("at close")
	require.NoError(t, l.Close())
	assert.Contains(t, stderr.String(), "at close")
	l.Server().Info("after close")
	assert.Contains(t, stderr.String(), "after close", "lines after Close are written unbuffered")

	var timed syncBuffer
	l, err = Setup(Options{Configure: true, Config: seedDict(), Stderr: &timed, flushEvery: 10 * time.Millisecond})
	require.NoError(t, err)
	defer l.Close()
	l.Server().Info("later")
	assert.Eventually(t, func() bool { return strings.Contains(timed.String(), "later") },
		10*time.Second, 5*time.Millisecond, "the timer flushes without Close")
}

// --configure_logging=false: everything goes to the application's handler.
func TestConfigureFalse_UsesApplicationHandler(t *testing.T) {
	var app, stdout bytes.Buffer
	h := slog.NewTextHandler(&app, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	l, err := Setup(Options{Configure: false, ConfigFile: "ignored.yaml", Default: h, Stdout: &stdout})
	require.NoError(t, err)
	l.Server().Info("hello")
	assert.True(t, l.LatencyEnabled())
	l.LogLatency("", 1500*time.Microsecond, 0, 0, 0)
	l.LogAccess(sampleAccess)
	require.NoError(t, l.Close())
	assertLines(t, "app", lines(&app),
		`level=INFO msg=hello logger=kserve`,
		`level=INFO msg="requestId: N\.A\., preprocess_ms: 1\.5, explain_ms: 0, predict_ms: 0, postprocess_ms: 0" logger=kserve\.trace`,
		`level=INFO msg="127\.0\.0\.1:50432 - \\"POST /v1/models/m%3Apredict HTTP/1\.1\\" 200" logger=uvicorn\.access`,
	)
	assert.Empty(t, stdout.String())
}

// use_colors: true colours uvicorn's level prefix, request line and status.
func TestUvicornColours(t *testing.T) {
	on := true
	cfg := DefaultConfig("INFO")
	for _, name := range []string{"uvicorn", "uvicorn_access"} {
		f := cfg.Formatters[name]
		f.UseColors = &on
		cfg.Formatters[name] = f
	}
	var out bytes.Buffer
	l, err := Setup(Options{Configure: true, Config: cfg, Stdout: &out, Stderr: &out})
	require.NoError(t, err)
	l.Named("uvicorn.error").Error("boom")
	rec := sampleAccess
	rec.Status = 404
	l.LogAccess(rec)
	require.NoError(t, l.Close())
	got := lines(&out)
	require.Len(t, got, 2)
	assert.Contains(t, got[0], " uvicorn.error \x1b[31mERROR\x1b[0m:    boom")
	assert.Contains(t, got[1], " uvicorn.access \x1b[32mINFO\x1b[0m:     127.0.0.1:50432 ")
	assert.Contains(t, got[1], ` - "`+"\x1b[1mPOST /v1/models/m%3Apredict HTTP/1.1\x1b[0m"+`" `+"\x1b[31m404 Not Found\x1b[0m")
}

// The latency line prints each step as Python prints round(ms, 9).
func TestLatencyLine(t *testing.T) {
	var out bytes.Buffer
	l, err := Setup(Options{Configure: true, Config: seedDict(), Stderr: &out})
	require.NoError(t, err)
	l.LogLatency("", 0, 3*time.Second, 123456789*time.Nanosecond, 50*time.Nanosecond)
	require.NoError(t, l.Close())
	assertLines(t, "stderr", lines(&out),
		ts+` kserve\.trace requestId: N\.A\., preprocess_ms: 0, explain_ms: 3000\.0, predict_ms: 123\.456789, postprocess_ms: 5e-05`)
}

// Handler args are read as Python reads them, brackets nested at most 200
// deep ("too many nested parentheses"): deeper, the recursive parser
// overflowed the goroutine stack, a fatal error, on a few megabytes of "(".
// An error quotes only the start of a long literal.
func TestINIFile_NestedArgs(t *testing.T) {
	ini := func(args string) string {
		return "[loggers]\nkeys=root\n\n[handlers]\nkeys=h\n\n[formatters]\nkeys=\n\n" +
			"[logger_root]\nhandlers=h\n\n[handler_h]\nclass=StreamHandler\nargs=" + args + "\n"
	}
	nested := func(n int) string { return strings.Repeat("[", n) + "1" + strings.Repeat("]", n) }

	path := writeFile(t, "ok.conf", ini("("+nested(199)+",)"))
	_, err := Load(path)
	assert.EqualError(t, err, "log config "+path+": handler_h.args[0]: want a string, got a list", "200 levels are read")

	path = writeFile(t, "deep.conf", ini("("+nested(200)+",)"))
	_, err = Load(path)
	assert.EqualError(t, err, "log config "+path+`: handler_h.args: python literal "(`+strings.Repeat("[", 99)+`...", offset 200: too many nested parentheses (at most 200 levels)`)
}

// Continuation lines make one value, joined with newlines, as configparser
// reads them.
func TestINIFile_ContinuationLines(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	path := writeFile(t, "logging.conf", fmt.Sprintf("[loggers]\nkeys=root\n\n[handlers]\nkeys=h\n\n[formatters]\nkeys=\n\n"+
		"[logger_root]\nhandlers=h\n\n[handler_h]\nclass=handlers.RotatingFileHandler\nargs=(\n  %q,\n\n  'a',\n  1024)\nkwargs={\n  'backupCount':\n    2}\n", log))
	cfg, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, HandlerConfig{Class: classRotating, Filename: log, Mode: "a", MaxBytes: 1024, BackupCount: 2}, cfg.Handlers["h"])
}

// A file handler whose writes fail (a full disk: /dev/full) says so on
// stderr at once, as Python's Handler.handleError prints "--- Logging
// error ---": once for a run of failures, not per line, and again after a
// write has succeeded. Close still returns the first error.
func TestFileHandler_WriteErrorsAreToldOnStderr(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	cfg := &Config{
		Version: 1,
		Handlers: map[string]HandlerConfig{
			"f": {Class: "logging.FileHandler", Filename: "/dev/full"},
		},
		Loggers: map[string]LoggerConfig{"x": {Level: "INFO", Handlers: []string{"f"}}},
	}
	var stderr bytes.Buffer
	l, err := Setup(Options{Configure: true, Config: cfg, Stdout: io.Discard, Stderr: &stderr})
	require.NoError(t, err)
	for range 3 {
		l.Named("x").Warn("lost") // WARNING is written at once
	}
	want := "--- Logging error ---\n/dev/full: write /dev/full: no space left on device\nLines for /dev/full are lost until a write to it succeeds.\n"
	assert.Equal(t, want, stderr.String())
	err = l.Close()
	require.Error(t, err)
	assert.Equal(t, "/dev/full: write /dev/full: no space left on device", err.Error())
}
