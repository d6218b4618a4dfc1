package logging

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// This file reads Python's logging.config.fileConfig format: configparser
// syntax ([section], "key = value" or "key: value", keys case-folded,
// indented continuation lines, # and ; comment lines) with the sections
// [loggers] [handlers] [formatters] and logger_X / handler_X / formatter_X.
// Handler "args"/"kwargs" are Python literals; the subset that logging
// configs use (sys.stderr, sys.stdout, strings, integers and their products,
// True/False/None, tuples, lists, dicts) is understood.

type iniSection struct {
	name string
	line int
	keys map[string]string
	at   map[string]int // line of each key
}

func (s *iniSection) sorted() []string {
	keys := make([]string, 0, len(s.keys))
	for k := range s.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func parseINIFile(data []byte) (map[string]*iniSection, error) {
	sections := map[string]*iniSection{}
	var cur *iniSection
	var lastKey string
	var lastIndent int
	// The last key's continuation lines, joined once it ends: appending
	// each to the value made a long value quadratic (a 1 MB args of
	// short lines took minutes to read).
	var cont []string
	endKey := func() {
		if len(cont) > 0 {
			cur.keys[lastKey] += "\n" + strings.Join(cont, "\n")
			cont = cont[:0]
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		raw := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimSpace(raw)
		indent := len(raw) - len(strings.TrimLeft(raw, " \t"))
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		if cur != nil && lastKey != "" && indent > lastIndent {
			cont = append(cont, trimmed)
			continue
		}
		if cur != nil && lastKey != "" {
			endKey()
		}
		if trimmed[0] == '[' {
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				return nil, fmt.Errorf("line %d: malformed section header %q", n, trimmed)
			}
			name := trimmed[1:end]
			if _, dup := sections[name]; dup {
				return nil, fmt.Errorf("line %d: section [%s] appears twice", n, name)
			}
			if name == "DEFAULT" {
				return nil, fmt.Errorf("line %d: the [DEFAULT] section is not supported", n)
			}
			cur = &iniSection{name: name, line: n, keys: map[string]string{}, at: map[string]int{}}
			sections[name] = cur
			lastKey = ""
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: %q before any [section]", n, trimmed)
		}
		sep := strings.IndexAny(trimmed, "=:")
		if sep <= 0 {
			return nil, fmt.Errorf("line %d: want \"key = value\", got %q", n, trimmed)
		}
		key := strings.ToLower(strings.TrimSpace(trimmed[:sep]))
		if _, dup := cur.keys[key]; dup {
			return nil, fmt.Errorf("line %d: key %q appears twice in [%s]", n, key, cur.name)
		}
		cur.keys[key] = strings.TrimSpace(trimmed[sep+1:])
		cur.at[key] = n
		lastKey, lastIndent = key, indent
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil && lastKey != "" {
		endKey()
	}
	return sections, nil
}

// interpolate applies configparser's BasicInterpolation to the one escape
// logging files use: "%%" for "%" (format and datefmt are read raw).
func interpolate(s string) string { return strings.ReplaceAll(s, "%%", "%") }

func listKeys(sections map[string]*iniSection, name string) ([]string, error) {
	s, ok := sections[name]
	if !ok {
		return nil, nil
	}
	var keys []string
	for _, k := range s.sorted() {
		if k != "keys" {
			return nil, &ConfigError{Key: name + "." + k, Err: errUnknownKey}
		}
	}
	for _, k := range strings.Split(s.keys["keys"], ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

func parseINI(data []byte) (*Config, error) {
	sections, err := parseINIFile(data)
	if err != nil {
		return nil, fmt.Errorf("malformed INI: %w", err)
	}
	if len(sections) == 0 {
		return nil, errors.New("malformed INI: no [loggers], [handlers] or [formatters] section")
	}
	off := false // KServe calls fileConfig(..., disable_existing_loggers=False)
	cfg := &Config{Version: 1, DisableExistingLoggers: &off}
	used := map[string]bool{"loggers": true, "handlers": true, "formatters": true}

	formatters, err := listKeys(sections, "formatters")
	if err != nil {
		return nil, err
	}
	cfg.Formatters = map[string]FormatterConfig{}
	for _, name := range formatters {
		sname := "formatter_" + name
		s, ok := sections[sname]
		if !ok {
			return nil, &ConfigError{Key: "formatters.keys", Err: fmt.Errorf("no section [%s] for formatter %q", sname, name)}
		}
		used[sname] = true
		var f FormatterConfig
		for _, k := range s.sorted() {
			v := s.keys[k]
			switch k {
			case "format":
				f.Format = v
			case "datefmt":
				f.Datefmt = v
			case "style":
				f.Style = v
			case "class":
				f.Class = v
			case "validate":
				b, err := pyBool(v)
				if err != nil {
					return nil, &ConfigError{Key: sname + "." + k, Err: err}
				}
				f.Validate = &b
			case "defaults":
				lit, err := parsePyLiteral(v)
				if err == nil {
					f.Defaults, err = asStringMap(lit)
				}
				if err != nil {
					return nil, &ConfigError{Key: sname + "." + k, Err: err}
				}
			default:
				return nil, &ConfigError{Key: sname + "." + k, Err: errUnknownKey}
			}
		}
		cfg.Formatters[name] = f
	}

	handlers, err := listKeys(sections, "handlers")
	if err != nil {
		return nil, err
	}
	cfg.Handlers = map[string]HandlerConfig{}
	for _, name := range handlers {
		sname := "handler_" + name
		s, ok := sections[sname]
		if !ok {
			return nil, &ConfigError{Key: "handlers.keys", Err: fmt.Errorf("no section [%s] for handler %q", sname, name)}
		}
		used[sname] = true
		h, err := iniHandler(s)
		if err != nil {
			return nil, wrapKey(sname, err)
		}
		cfg.Handlers[name] = h
	}

	loggers, err := listKeys(sections, "loggers")
	if err != nil {
		return nil, err
	}
	cfg.Loggers = map[string]LoggerConfig{}
	for _, name := range loggers {
		sname := "logger_" + name
		s, ok := sections[sname]
		if !ok {
			return nil, &ConfigError{Key: "loggers.keys", Err: fmt.Errorf("no section [%s] for logger %q", sname, name)}
		}
		used[sname] = true
		var l LoggerConfig
		var qualname string
		for _, k := range s.sorted() {
			v := s.keys[k]
			v = interpolate(v)
			switch k {
			case "level":
				l.Level = v
			case "handlers":
				for _, h := range strings.Split(v, ",") {
					if h = strings.TrimSpace(h); h != "" {
						l.Handlers = append(l.Handlers, h)
					}
				}
			case "propagate":
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, &ConfigError{Key: sname + "." + k, Err: fmt.Errorf("want 0 or 1, got %q", v)}
				}
				b := n != 0
				l.Propagate = &b
			case "qualname":
				qualname = v
			case "channel": // historical, ignored by Python too
			default:
				return nil, &ConfigError{Key: sname + "." + k, Err: errUnknownKey}
			}
		}
		if name == "root" {
			l.Propagate = nil
			cfg.Root = &l
			continue
		}
		if qualname == "" {
			return nil, &ConfigError{Key: sname + ".qualname", Err: errors.New("missing (every logger but root needs one)")}
		}
		cfg.Loggers[qualname] = l
	}
	for _, name := range sortedMapKeys(sections) {
		if s := sections[name]; !used[name] {
			return nil, &ConfigError{Key: name, Err: fmt.Errorf("section [%s] (line %d) is not listed in [loggers], [handlers] or [formatters]", name, s.line)}
		}
	}
	return cfg, nil
}

// iniHandler maps class/args/kwargs onto HandlerConfig, following the
// positional parameters of each Python handler class.
func iniHandler(s *iniSection) (HandlerConfig, error) {
	var h HandlerConfig
	var args []any
	var kwargs map[string]any
	for _, k := range s.sorted() {
		v := s.keys[k]
		switch k {
		case "class":
			h.Class = v
			if !strings.HasPrefix(v, "logging.") {
				// fileConfig evaluates the class in the logging namespace.
				h.Class = "logging." + v
			}
		case "level":
			h.Level = interpolate(v)
		case "formatter":
			h.Formatter = v
		case "args":
			lit, err := parsePyLiteral(interpolate(v))
			if err != nil {
				return h, wrapKey(k, err)
			}
			l, ok := lit.([]any)
			if !ok {
				return h, wrapKey(k, fmt.Errorf("want a tuple, got %s", typeName(lit)))
			}
			args = l
		case "kwargs":
			lit, err := parsePyLiteral(interpolate(v))
			if err != nil {
				return h, wrapKey(k, err)
			}
			m, ok := lit.(map[string]any)
			if !ok {
				return h, wrapKey(k, fmt.Errorf("want a dict, got %s", typeName(lit)))
			}
			kwargs = m
		default:
			return h, wrapKey(k, errUnknownKey)
		}
	}
	if h.Class == "" {
		return h, wrapKey("class", errors.New("missing"))
	}
	var params []string
	switch h.Class {
	case classStream:
		params = []string{"stream"}
	case classFile:
		params = []string{"filename", "mode", "encoding", "delay"}
	case classRotating:
		params = []string{"filename", "mode", "maxBytes", "backupCount", "encoding", "delay"}
	case classNull:
	default:
		return h, wrapKey("class", fmt.Errorf("unknown handler class %q", h.Class))
	}
	if len(args) > len(params) {
		return h, wrapKey("args", fmt.Errorf("%s takes at most %d arguments, got %d", h.Class, len(params), len(args)))
	}
	for i, a := range args {
		if err := h.setParam(params[i], a); err != nil {
			return h, wrapKey(fmt.Sprintf("args[%d]", i), err)
		}
	}
	for _, k := range sortedMapKeys(kwargs) {
		known := false
		for _, p := range params {
			known = known || p == k
		}
		if !known {
			return h, wrapKey("kwargs."+k, errUnknownKey)
		}
		if err := h.setParam(k, kwargs[k]); err != nil {
			return h, wrapKey("kwargs."+k, err)
		}
	}
	return h, nil
}

func pyBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("want a boolean, got %q", s)
}

// parsePyLiteral parses the Python literal subset described above.
func parsePyLiteral(src string) (any, error) {
	p := &pyParser{src: src}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.i < len(p.src) {
		return nil, fmt.Errorf("unexpected %q at offset %d of %q", p.src[p.i:], p.i, src)
	}
	return v, nil
}

type pyParser struct {
	src   string
	i     int
	depth int // brackets open at i
}

// maxLiteralDepth is how deeply brackets may nest, as in Python, whose
// parser refuses more than 200 levels ("too many nested parentheses"):
// value recurses once per level, and a file of a few megabytes of "("
// overflowed the goroutine stack, a fatal error no recover catches.
const maxLiteralDepth = 200

func (p *pyParser) skip() {
	for p.i < len(p.src) && strings.IndexByte(" \t\n", p.src[p.i]) >= 0 {
		p.i++
	}
}

func (p *pyParser) errf(format string, a ...any) error {
	src := p.src
	if len(src) > maxQuoted {
		src = src[:maxQuoted] + "..." // a huge value would make a huge message
	}
	return fmt.Errorf("python literal %q, offset %d: %s", src, p.i, fmt.Sprintf(format, a...))
}

// maxQuoted is how much of a literal an error quotes.
const maxQuoted = 100

func (p *pyParser) value() (any, error) {
	p.skip()
	if p.i >= len(p.src) {
		return nil, p.errf("unexpected end")
	}
	switch c := p.src[p.i]; {
	case c == '(' || c == '[':
		if err := p.open(); err != nil {
			return nil, err
		}
		defer p.close()
		closer := byte(')')
		if c == '[' {
			closer = ']'
		}
		p.i++
		items := []any{}
		comma := false
		for {
			p.skip()
			if p.i < len(p.src) && p.src[p.i] == closer {
				p.i++
				return items, nil
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			items = append(items, v)
			p.skip()
			if p.i < len(p.src) && p.src[p.i] == ',' {
				p.i++
				comma = true
				continue
			}
			if p.i < len(p.src) && p.src[p.i] == closer {
				p.i++
				if closer == ')' && len(items) == 1 && !comma {
					return items[0], nil // "(x)" is x, not a tuple
				}
				return items, nil
			}
			return nil, p.errf("want ',' or %q", closer)
		}
	case c == '{':
		if err := p.open(); err != nil {
			return nil, err
		}
		defer p.close()
		p.i++
		m := map[string]any{}
		for {
			p.skip()
			if p.i < len(p.src) && p.src[p.i] == '}' {
				p.i++
				return m, nil
			}
			k, err := p.value()
			if err != nil {
				return nil, err
			}
			ks, ok := k.(string)
			if !ok {
				return nil, p.errf("dict keys must be strings")
			}
			p.skip()
			if p.i >= len(p.src) || p.src[p.i] != ':' {
				return nil, p.errf("want ':'")
			}
			p.i++
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			m[ks] = v
			p.skip()
			if p.i < len(p.src) && p.src[p.i] == ',' {
				p.i++
			}
		}
	case c == '\'' || c == '"':
		return p.str()
	case c == '-' || isDigit(c):
		n, err := p.intTerm()
		if err != nil {
			return nil, err
		}
		for {
			p.skip()
			if p.i < len(p.src) && p.src[p.i] == '*' {
				p.i++
				p.skip()
				m, err := p.intTerm()
				if err != nil {
					return nil, err
				}
				// Python's integers do not overflow; ours refuse to
				// (a wrapped maxBytes would turn rotation off or on).
				prod := n * m
				if n != 0 && (prod/n != m || n == -1 && m == math.MinInt64) {
					return nil, p.errf("integer product %d*%d is out of range", n, m)
				}
				n = prod
				continue
			}
			return n, nil
		}
	default:
		start := p.i
		for p.i < len(p.src) && (isIdent(p.src[p.i]) || p.src[p.i] == '.') {
			p.i++
		}
		switch word := p.src[start:p.i]; word {
		case "sys.stderr":
			return "ext://sys.stderr", nil
		case "sys.stdout":
			return "ext://sys.stdout", nil
		case "True":
			return true, nil
		case "False":
			return false, nil
		case "None":
			return nil, nil
		case "":
			return nil, p.errf("unexpected %q", c)
		default:
			return nil, p.errf("unsupported name %q (only sys.stderr, sys.stdout, True, False, None)", word)
		}
	}
}

// open enters the bracket at i, refusing one nested too deeply.
func (p *pyParser) open() error {
	if p.depth == maxLiteralDepth {
		return p.errf("too many nested parentheses (at most %d levels)", maxLiteralDepth)
	}
	p.depth++
	return nil
}

func (p *pyParser) close() { p.depth-- }

func isIdent(c byte) bool {
	return c == '_' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func (p *pyParser) intTerm() (int64, error) {
	start := p.i
	if p.i < len(p.src) && p.src[p.i] == '-' {
		p.i++
	}
	for p.i < len(p.src) && (isDigit(p.src[p.i]) || p.src[p.i] == '_') {
		p.i++
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(p.src[start:p.i], "_", ""), 10, 64)
	if err != nil {
		return 0, p.errf("bad integer %q", p.src[start:p.i])
	}
	return n, nil
}

func (p *pyParser) str() (string, error) {
	q := p.src[p.i]
	p.i++
	var b strings.Builder
	for p.i < len(p.src) {
		c := p.src[p.i]
		p.i++
		switch {
		case c == q:
			return b.String(), nil
		case c == '\\' && p.i < len(p.src):
			e := p.src[p.i]
			p.i++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '\\', '\'', '"':
				b.WriteByte(e)
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", p.errf("unterminated string")
}
