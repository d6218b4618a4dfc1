package logging

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// The three files hold the same configuration as the seed's dict.
func TestLoad_ExamplesEqualTheDict(t *testing.T) {
	want := seedDict()
	for _, name := range []string{"logging.json", "logging.yaml"} {
		cfg, err := Load(filepath.Join(examples, name))
		require.NoError(t, err, name)
		cfg.source = ""
		assert.Equal(t, want, cfg, name)
	}
	cfg, err := Load(filepath.Join(examples, "logging.ini"))
	require.NoError(t, err)
	// fileConfig names the formatter class with "class", not "()", and
	// always has a root logger.
	for name, f := range want.Formatters {
		f.Class, f.Factory = f.Factory, ""
		want.Formatters[name] = f
	}
	want.Root = &LoggerConfig{Level: "WARNING"}
	cfg.source = ""
	assert.Equal(t, want, cfg)
}

// Bad configurations fail with one error naming the file and the key.
func TestSetup_BadConfigurationNamesFileAndKey(t *testing.T) {
	const base = `version: 1
formatters:
  f: {format: "%(message)s"}
handlers:
  kserve: {class: logging.StreamHandler, formatter: f}
loggers:
  kserve: {handlers: [kserve], level: INFO}
`
	tests := []struct {
		name, file, content, want string
	}{
		{"unknown handler class", "c.yaml", strings.Replace(base, "logging.StreamHandler", "logging.Foo", 1),
			`handlers.kserve.class: unknown handler class "logging.Foo" (want logging.StreamHandler, logging.FileHandler, logging.handlers.RotatingFileHandler or logging.NullHandler)`},
		{"bad level", "c.yaml", strings.Replace(base, "level: INFO", "level: LOUD", 1),
			`loggers.kserve.level: unknown level "LOUD" (want CRITICAL, ERROR, WARNING, INFO, DEBUG, TRACE, NOTSET or a number)`},
		{"unknown key", "c.yaml", strings.Replace(base, "format:", "fromat:", 1),
			`formatters.f.fromat: unknown key`},
		{"unknown top-level key", "c.yaml", base + "handler: {}\n", `handler: unknown key`},
		{"unknown formatter", "c.yaml", strings.Replace(base, "formatter: f", "formatter: g", 1),
			`handlers.kserve.formatter: unknown formatter "g"`},
		{"unknown handler", "c.yaml", strings.Replace(base, "handlers: [kserve]", "handlers: [kserve, nope]", 1),
			`loggers.kserve.handlers[1]: unknown handler "nope"`},
		{"unknown formatter class", "c.yaml", strings.Replace(base, `{format:`, `{"()": my.Formatter, format:`, 1),
			`formatters.f.(): unknown formatter class "my.Formatter" (want logging.Formatter, uvicorn.logging.DefaultFormatter, uvicorn.logging.AccessFormatter or kserve_gen.JSONFormatter)`},
		{"bad format", "c.yaml", strings.Replace(base, `%(message)s`, `%(message`, 1),
			`formatters.f.format: format "%(message": unterminated %( at offset 0`},
		{"huge width", "c.yaml", strings.Replace(base, `%(message)s`, `%(message)1000000000000s`, 1),
			`formatters.f.format: format "%(message)1000000000000s": width 1000000000000 at offset 0 is larger than 1000000`},
		{"brace style", "c.yaml", strings.Replace(base, `{format:`, `{style: "{", format:`, 1),
			`formatters.f.style: style "{" is not supported (only %)`},
		{"bad stream", "c.yaml", strings.Replace(base, "formatter: f}", "formatter: f, stream: ext://sys.stdin}", 1),
			`handlers.kserve.stream: unknown stream "ext://sys.stdin" (want ext://sys.stderr or ext://sys.stdout)`},
		{"wrong type", "c.yaml", strings.Replace(base, "level: INFO", "level: [INFO]", 1),
			`loggers.kserve.level: want a level name or number, got a list`},
		{"no version", "c.yaml", strings.Replace(base, "version: 1\n", "", 1),
			`version: missing (dictConfig needs version: 1)`},
		{"unopenable log file", "c.yaml", strings.Replace(base, "formatter: f}", "formatter: f}\n  file: {class: logging.FileHandler, filename: /nonexistent/dir/x.log}", 1),
			`handlers.file.filename: open /nonexistent/dir/x.log: no such file or directory`},
		{"malformed YAML", "c.yml", "version: 1\nhandlers: [\n", "malformed YAML: yaml: line 2: did not find expected node content"},
		{"malformed JSON", "c.json", "{\n  \"version\": 1,\n  \"handlers\": {,}\n}", `malformed JSON at line 3, column 16: invalid character ',' looking for beginning of object key string`},
		{"JSON unknown key", "c.json", `{"version": 1, "loggers": {"kserve": {"levle": "INFO"}}}`, `loggers.kserve.levle: unknown key`},
		{"INI unknown handler class", "c.ini", "[loggers]\nkeys=root\n[handlers]\nkeys=h\n[formatters]\nkeys=\n[logger_root]\nhandlers=h\n[handler_h]\nclass=FooHandler\n",
			`handler_h.class: unknown handler class "logging.FooHandler"`},
		{"INI missing section", "c.ini", "[loggers]\nkeys=root,kserve\n[logger_root]\nlevel=INFO\n",
			`loggers.keys: no section [logger_kserve] for logger "kserve"`},
		{"INI unknown key", "c.conf", "[loggers]\nkeys=root\n[logger_root]\nlevel=INFO\nhandler=h\n",
			`logger_root.handler: unknown key`},
		{"INI malformed", "c.ini", "[loggers\nkeys=root\n", `malformed INI: line 1: malformed section header "[loggers"`},
		{"INI bad args", "c.ini", "[loggers]\nkeys=root\n[handlers]\nkeys=h\n[logger_root]\nhandlers=h\n[handler_h]\nclass=FileHandler\nargs=(42,)\n",
			`handler_h.args[0]: want a string, got a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file, tt.content)
			_, err := Setup(Options{Configure: true, ConfigFile: path})
			require.Error(t, err)
			assert.Equal(t, "log config "+path+": "+tt.want, err.Error())
			var ce *ConfigError
			assert.ErrorAs(t, err, &ce)
		})
	}
}

func TestSetup_UnreadableFile(t *testing.T) {
	_, err := Setup(Options{Configure: true, ConfigFile: "/nonexistent/logging.yaml"})
	assert.EqualError(t, err, "log config /nonexistent/logging.yaml: open /nonexistent/logging.yaml: no such file or directory")
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestSetup_GoValueErrorsNameTheOption(t *testing.T) {
	cfg := seedDict()
	h := cfg.Handlers["kserve"]
	h.Level = "LOUD"
	cfg.Handlers["kserve"] = h
	_, err := Setup(Options{Configure: true, Config: cfg})
	assert.EqualError(t, err, `log config Options.Config: handlers.kserve.level: unknown level "LOUD" (want CRITICAL, ERROR, WARNING, INFO, DEBUG, TRACE, NOTSET or a number)`)
}

func TestSetup_BadAccessLogFormat(t *testing.T) {
	_, err := Setup(Options{Configure: true, AccessLogFormat: `%(h)s "%(r)`})
	assert.EqualError(t, err, `log config --access_log_format: format "%(h)s \"%(r)": incomplete directive at offset 7`)
}

// --configure_logging=false ignores --log_config_file, even a broken one.
func TestSetup_ConfigureFalseIgnoresConfigFile(t *testing.T) {
	_, err := Setup(Options{Configure: false, ConfigFile: "/nonexistent/logging.yaml", Default: slog.DiscardHandler})
	assert.NoError(t, err)
}

// YAML files are read as PyYAML's safe_load reads them (YAML 1.1): plain
// yes/no/on/off are booleans; quoted ones and JSON strings are not.
func TestLoad_YAML11Booleans(t *testing.T) {
	path := writeFile(t, "c.yaml", `version: 1
disable_existing_loggers: no
formatters:
  f: {format: "%(levelname)s %(name)s %(message)s", validate: On}
handlers:
  h: {class: logging.FileHandler, formatter: f, filename: `+filepath.Join(t.TempDir(), "x.log")+`, delay: YES}
loggers:
  kserve: {handlers: [h], level: INFO, propagate: off}
  uvicorn: {handlers: [h], level: INFO, propagate: Yes}
`)
	cfg, err := Load(path)
	require.NoError(t, err)
	require.NotNil(t, cfg.DisableExistingLoggers)
	assert.False(t, *cfg.DisableExistingLoggers)
	require.NotNil(t, cfg.Loggers["kserve"].Propagate)
	assert.False(t, *cfg.Loggers["kserve"].Propagate)
	require.NotNil(t, cfg.Loggers["uvicorn"].Propagate)
	assert.True(t, *cfg.Loggers["uvicorn"].Propagate)
	assert.True(t, cfg.Handlers["h"].Delay)

	for _, bad := range []struct{ file, content string }{
		{"q.yaml", "version: 1\ndisable_existing_loggers: \"no\"\n"},
		{"y.yaml", "version: 1\ndisable_existing_loggers: y\n"}, // not a boolean to PyYAML either
		{"c.json", `{"version": 1, "disable_existing_loggers": "no"}`},
	} {
		_, err := Load(writeFile(t, bad.file, bad.content))
		assert.ErrorContains(t, err, "disable_existing_loggers: want a boolean, got a string", bad.file)
	}
}
