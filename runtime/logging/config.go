package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is Python's logging.config.dictConfig schema (version 1), the form of
// KServe's KSERVE_LOG_CONFIG and of the files --log_config_file accepts.
type Config struct {
	Version int
	// DisableExistingLoggers disables the loggers the server creates before
	// configuration (kserve, kserve.trace, uvicorn, uvicorn.error,
	// uvicorn.access) that the config neither names nor is a parent of.
	// nil means true, as in Python.
	DisableExistingLoggers *bool
	Formatters             map[string]FormatterConfig
	Handlers               map[string]HandlerConfig
	Loggers                map[string]LoggerConfig
	Root                   *LoggerConfig

	source string // the file it came from, for error messages
}

// FormatterConfig is one entry of "formatters".
type FormatterConfig struct {
	// Factory is the "()" key; Class the "class" key. Either names the
	// formatter: logging.Formatter, uvicorn.logging.DefaultFormatter,
	// uvicorn.logging.AccessFormatter, or a JSON formatter
	// (kserve_gen.JSONFormatter, pythonjsonlogger.jsonlogger.JsonFormatter,
	// pythonjsonlogger.json.JsonFormatter). Empty means logging.Formatter.
	Factory string
	Class   string
	// Format is "fmt" (with "()") or "format"; empty means "%(message)s".
	Format string
	// Datefmt is a strftime pattern for %(asctime)s; empty means Python's
	// default "%Y-%m-%d %H:%M:%S,mmm".
	Datefmt string
	// Style must be "%" (or empty): "{" and "$" styles are not supported.
	Style string
	// UseColors is uvicorn's use_colors: only true colours the level prefix
	// (nil, Python's "ask isatty", is treated as false).
	UseColors *bool
	Validate  *bool
	// Defaults supplies values for format keys a record lacks (Python 3.10+).
	Defaults map[string]string
	// RenameFields, StaticFields, Timestamp and JSONEnsureASCII are the
	// python-json-logger options the JSON formatter understands.
	RenameFields    map[string]string
	StaticFields    map[string]any
	Timestamp       string // "" off; otherwise the key of an ISO-8601 UTC timestamp field
	JSONEnsureASCII *bool
}

// HandlerConfig is one entry of "handlers".
type HandlerConfig struct {
	// Class is logging.StreamHandler, logging.FileHandler,
	// logging.handlers.RotatingFileHandler or logging.NullHandler.
	Class     string
	Level     string // name ("INFO") or number ("20"); empty means NOTSET
	Formatter string // a key of Config.Formatters; empty means "%(message)s"
	Stream    string // ext://sys.stderr (default) or ext://sys.stdout
	Filename  string
	Mode      string // "a" (default) or "w"
	Encoding  string
	Delay     bool
	// MaxBytes and BackupCount drive RotatingFileHandler: rollover happens only
	// when both are > 0, as in Python.
	MaxBytes    int64
	BackupCount int
}

// LoggerConfig is one entry of "loggers", or "root".
type LoggerConfig struct {
	Level     string
	Handlers  []string
	Propagate *bool // nil means true
}

// ConfigError says which file and which key of it is wrong.
type ConfigError struct {
	Source string // file name, or "Options.Config", or a flag/env name
	Key    string // dotted key path, e.g. "handlers.kserve.class"; may be empty
	Err    error
}

func (e *ConfigError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("log config %s: %v", e.Source, e.Err)
	}
	return fmt.Sprintf("log config %s: %s: %v", e.Source, e.Key, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Load reads a logging configuration file the way KServe's configure_logging
// does: ".json" as JSON, ".yaml"/".yml" as YAML, anything else as a Python
// INI fileConfig file (read with disable_existing_loggers=False).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{Source: path, Err: err}
	}
	var cfg *Config
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".json":
		cfg, err = parseJSON(data)
	case ".yaml", ".yml":
		cfg, err = parseYAML(data)
	default:
		cfg, err = parseINI(data)
	}
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			ce.Source = path
			return nil, ce
		}
		return nil, &ConfigError{Source: path, Err: err}
	}
	cfg.source = path
	return cfg, nil
}

// ParseDict builds a Config from a decoded dictConfig document (what
// json.Unmarshal or yaml.Unmarshal into a map produce).
func ParseDict(m map[string]any) (*Config, error) {
	return decodeConfig(m)
}

func parseJSON(data []byte) (*Config, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(data, se.Offset)
			return nil, fmt.Errorf("malformed JSON at line %d, column %d: %w", line, col, err)
		}
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if d.More() {
		return nil, errors.New("malformed JSON: data after the top-level object")
	}
	return decodeConfig(m)
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n') - 1 // Offset is just past the bad byte
	return line, col
}

func parseYAML(data []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("malformed YAML: %w", err)
	}
	yaml11Bools(&doc)
	var m map[string]any
	if doc.Kind != 0 {
		if err := doc.Decode(&m); err != nil {
			return nil, fmt.Errorf("malformed YAML: %w", err)
		}
	}
	if m == nil {
		return nil, errors.New("empty YAML document")
	}
	return decodeConfig(m)
}

// yaml11Bools makes the plain scalar values PyYAML's safe_load (YAML 1.1)
// reads as booleans — yes, no, on, off in lower, title or upper case —
// booleans here too; yaml.v3 follows YAML 1.2, where they are strings. So
// KServe logging files with "disable_existing_loggers: no" load unchanged.
// Quoted scalars stay strings, as in PyYAML; mapping keys are left alone.
func yaml11Bools(n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 || n.ShortTag() != "!!str" {
			return
		}
		switch n.Value {
		case "yes", "Yes", "YES", "on", "On", "ON":
			n.Tag, n.Value = "!!bool", "true"
		case "no", "No", "NO", "off", "Off", "OFF":
			n.Tag, n.Value = "!!bool", "false"
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			yaml11Bools(n.Content[i])
		}
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			yaml11Bools(c)
		}
	}
}

// decoder turns a generic document into a Config, remembering the key path
// so that errors can name it.
func decodeConfig(m map[string]any) (*Config, error) {
	cfg := &Config{}
	for _, k := range sortedMapKeys(m) {
		v := m[k]
		var err error
		switch k {
		case "version":
			var n int64
			n, err = asInt(v)
			if err == nil && n != 1 {
				err = fmt.Errorf("unsupported version %d (want 1)", n)
			}
			cfg.Version = int(n)
		case "disable_existing_loggers":
			var b bool
			b, err = asBool(v)
			cfg.DisableExistingLoggers = &b
		case "incremental":
			var b bool
			b, err = asBool(v)
			if err == nil && b {
				err = errors.New("incremental configuration is not supported")
			}
		case "filters":
			if mm, ok := v.(map[string]any); !ok || len(mm) > 0 {
				err = errors.New("filters are not supported")
			}
		case "formatters":
			cfg.Formatters, err = decodeSection(k, v, decodeFormatter)
		case "handlers":
			cfg.Handlers, err = decodeSection(k, v, decodeHandler)
		case "loggers":
			cfg.Loggers, err = decodeSection(k, v, decodeLogger)
		case "root":
			var lc LoggerConfig
			lc, err = decodeLogger(v)
			cfg.Root = &lc
		default:
			err = errUnknownKey
		}
		if err != nil {
			return nil, wrapKey(k, err)
		}
	}
	if cfg.Version == 0 {
		return nil, &ConfigError{Key: "version", Err: errors.New("missing (dictConfig needs version: 1)")}
	}
	return cfg, nil
}

var errUnknownKey = errors.New("unknown key")

// wrapKey prefixes the key path of a nested error.
func wrapKey(key string, err error) error {
	var ce *ConfigError
	if errors.As(err, &ce) {
		if ce.Key == "" {
			ce.Key = key
		} else {
			ce.Key = key + "." + ce.Key
		}
		return ce
	}
	return &ConfigError{Key: key, Err: err}
}

func decodeSection[T any](name string, v any, one func(any) (T, error)) (map[string]T, error) {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("want a mapping, got %s", typeName(v))
	}
	out := make(map[string]T, len(m))
	for _, k := range sortedMapKeys(m) {
		t, err := one(m[k])
		if err != nil {
			return nil, wrapKey(k, err)
		}
		out[k] = t
	}
	return out, nil
}

func decodeFormatter(v any) (FormatterConfig, error) {
	var f FormatterConfig
	m, ok := v.(map[string]any)
	if !ok {
		return f, fmt.Errorf("want a mapping, got %s", typeName(v))
	}
	for _, k := range sortedMapKeys(m) {
		v := m[k]
		var err error
		switch k {
		case "()":
			f.Factory, err = asString(v)
		case "class":
			f.Class, err = asString(v)
		case "fmt", "format":
			if f.Format != "" {
				err = errors.New(`both "fmt" and "format" given`)
			} else {
				f.Format, err = asString(v)
			}
		case "datefmt":
			f.Datefmt, err = asString(v)
		case "style":
			f.Style, err = asString(v)
		case "use_colors":
			if v != nil {
				var b bool
				b, err = asBool(v)
				f.UseColors = &b
			}
		case "validate":
			var b bool
			b, err = asBool(v)
			f.Validate = &b
		case "defaults":
			f.Defaults, err = asStringMap(v)
		case "rename_fields":
			f.RenameFields, err = asStringMap(v)
		case "static_fields":
			mm, ok := v.(map[string]any)
			if !ok {
				err = fmt.Errorf("want a mapping, got %s", typeName(v))
			}
			f.StaticFields = mm
		case "timestamp":
			switch t := v.(type) {
			case bool:
				if t {
					f.Timestamp = "timestamp"
				}
			case string:
				f.Timestamp = t
			default:
				err = fmt.Errorf("want a boolean or a key name, got %s", typeName(v))
			}
		case "json_ensure_ascii":
			var b bool
			b, err = asBool(v)
			f.JSONEnsureASCII = &b
		default:
			err = errUnknownKey
		}
		if err != nil {
			return f, wrapKey(k, err)
		}
	}
	return f, nil
}

func decodeHandler(v any) (HandlerConfig, error) {
	var h HandlerConfig
	m, ok := v.(map[string]any)
	if !ok {
		return h, fmt.Errorf("want a mapping, got %s", typeName(v))
	}
	for _, k := range sortedMapKeys(m) {
		v := m[k]
		var err error
		switch k {
		case "class":
			h.Class, err = asString(v)
		case "level":
			h.Level, err = asLevel(v)
		case "formatter":
			h.Formatter, err = asString(v)
		case "filters":
			if l, ok := v.([]any); !ok || len(l) > 0 {
				err = errors.New("filters are not supported")
			}
		default:
			err = h.setParam(k, v)
		}
		if err != nil {
			return h, wrapKey(k, err)
		}
	}
	return h, nil
}

// setParam sets one of the handler classes' constructor parameters, which
// dict configs give as keys and INI configs as args/kwargs.
func (h *HandlerConfig) setParam(key string, v any) error {
	var err error
	switch key {
	case "stream":
		h.Stream, err = asString(v)
	case "filename":
		h.Filename, err = asString(v)
	case "mode":
		h.Mode, err = asString(v)
	case "encoding":
		if v != nil {
			h.Encoding, err = asString(v)
		}
	case "delay":
		h.Delay, err = asBool(v)
	case "maxBytes":
		h.MaxBytes, err = asInt(v)
	case "backupCount":
		var n int64
		n, err = asInt(v)
		h.BackupCount = int(n)
	default:
		return errUnknownKey
	}
	return err
}

func decodeLogger(v any) (LoggerConfig, error) {
	var l LoggerConfig
	if v == nil {
		return l, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return l, fmt.Errorf("want a mapping, got %s", typeName(v))
	}
	for _, k := range sortedMapKeys(m) {
		v := m[k]
		var err error
		switch k {
		case "level":
			l.Level, err = asLevel(v)
		case "handlers":
			l.Handlers, err = asStringList(v)
		case "propagate":
			var b bool
			b, err = asBool(v)
			l.Propagate = &b
		case "filters":
			if ll, ok := v.([]any); !ok || len(ll) > 0 {
				err = errors.New("filters are not supported")
			}
		default:
			err = errUnknownKey
		}
		if err != nil {
			return l, wrapKey(k, err)
		}
	}
	return l, nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, float64, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func asString(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", fmt.Errorf("want a string, got %s", typeName(v))
}

func asBool(v any) (bool, error) {
	switch b := v.(type) {
	case bool:
		return b, nil
	case int:
		return b != 0, nil
	case json.Number:
		return b.String() != "0", nil
	}
	return false, fmt.Errorf("want a boolean, got %s", typeName(v))
}

func asInt(v any) (int64, error) {
	switch n := v.(type) {
	case int:
		return int64(n), nil
	case int64:
		return n, nil
	case json.Number:
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("want an integer, got %s", n)
		}
		return i, nil
	case float64:
		if n == float64(int64(n)) {
			return int64(n), nil
		}
	}
	return 0, fmt.Errorf("want an integer, got %s", typeName(v))
}

// asLevel accepts a level name or number and returns its text; it is
// checked when the config is applied so Go-built configs get the same check.
func asLevel(v any) (string, error) {
	switch l := v.(type) {
	case string:
		return l, nil
	case int, int64, json.Number:
		n, err := asInt(v)
		if err != nil {
			return "", err
		}
		return strconv.FormatInt(n, 10), nil
	}
	return "", fmt.Errorf("want a level name or number, got %s", typeName(v))
}

func asStringList(v any) ([]string, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want a list of strings, got %s", typeName(v))
	}
	out := make([]string, len(l))
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("item %d: want a string, got %s", i, typeName(e))
		}
		out[i] = s
	}
	return out, nil
}

func asStringMap(v any) (map[string]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a mapping, got %s", typeName(v))
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		switch s := e.(type) {
		case string:
			out[k] = s
		default:
			out[k] = fmt.Sprint(e)
		}
	}
	return out, nil
}
