package logging

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Formatter class names accepted in "()" or "class".
const (
	classFormatter      = "logging.Formatter"
	classUvicornDefault = "uvicorn.logging.DefaultFormatter"
	classUvicornAccess  = "uvicorn.logging.AccessFormatter"
	// ClassJSONFormatter is this project's structured-log formatter. Its
	// default format is "%(asctime)s %(levelname)s %(name)s %(message)s"; every
	// key of the format becomes a JSON field, slog attributes become fields too.
	ClassJSONFormatter = "kserve_gen.JSONFormatter"
	classPyJSON2       = "pythonjsonlogger.jsonlogger.JsonFormatter"
	classPyJSON3       = "pythonjsonlogger.json.JsonFormatter"
)

// field is a LogRecord attribute a format string can name.
type field uint8

const (
	fAttr field = iota // anything else: an slog attribute or a "defaults" entry
	fAsctime
	fMsecs
	fCreated
	fRelativeCreated
	fProcess
	fProcessName
	fThread
	fThreadName
	fName
	fLevelname
	fLevelno
	fLevelprefix
	fFilename
	fPathname
	fModule
	fFuncName
	fLineno
	fMessage
	fClientAddr
	fRequestLine
	fStatusCode
)

var fieldNames = map[string]field{
	"asctime": fAsctime, "msecs": fMsecs, "created": fCreated, "relativeCreated": fRelativeCreated,
	"process": fProcess, "processName": fProcessName, "thread": fThread, "threadName": fThreadName,
	"name": fName, "levelname": fLevelname, "levelno": fLevelno, "levelprefix": fLevelprefix,
	"filename": fFilename, "pathname": fPathname, "module": fModule, "funcName": fFuncName,
	"lineno": fLineno, "message": fMessage, "client_addr": fClientAddr,
	"request_line": fRequestLine, "status_code": fStatusCode,
}

// recKind says where a record's message comes from.
type recKind uint8

const (
	recSlog    recKind = iota // msg + attrs from an slog call
	recLatency                // the kserve.trace latency line
	recAccess                 // uvicorn's access line
)

// record is what Python calls a LogRecord. It lives on the caller's stack.
type record struct {
	name  string
	level slog.Level
	t     time.Time
	pc    uintptr
	kind  recKind
	msg   string
	attrs []slog.Attr // keys qualified with their groups ("g.k")
	reqID string
	lat   [4]time.Duration // preprocess, explain, predict, postprocess
	acc   *AccessRecord
}

// env is what every formatter of one Setup shares.
type env struct {
	pid    int
	start  time.Time
	loc    *time.Location
	frames sync.Map // pc -> *frame
}

type frame struct {
	file, path, module, function string
	line                         int
}

var unknownFrame = &frame{file: "(unknown file)", path: "(unknown file)", module: "(unknown file)", function: "(unknown function)"}

func (e *env) frame(pc uintptr) *frame {
	if pc == 0 {
		return unknownFrame
	}
	if f, ok := e.frames.Load(pc); ok {
		return f.(*frame)
	}
	fr, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	f := &frame{path: fr.File, line: fr.Line, function: funcName(fr.Function)}
	f.file = fr.File[strings.LastIndexByte(fr.File, '/')+1:]
	f.module = strings.TrimSuffix(f.file, ".go")
	e.frames.Store(pc, f)
	return f
}

// funcName turns "github.com/x/y/pkg.(*Model).Predict" into "Predict" and
// "main.main.func1" into "main.func1": the name without package path or
// pointer receiver, as close to Python's co_name as Go allows.
func funcName(full string) string {
	name := full[strings.LastIndexByte(full, '/')+1:]
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	if strings.HasPrefix(name, "(") {
		if i := strings.Index(name, ")."); i >= 0 {
			name = name[i+2:]
		}
	}
	return name
}

type fop struct {
	lit     string
	spec    *spec
	field   field
	msecs03 bool // "%(msecs)03d", in every KServe format
}

type jsonField struct {
	out   string // output key (after rename_fields)
	field field
	key   string
}

// formatter is one configured formatter. A concrete type (not an interface)
// so that records passed by pointer stay on the caller's stack.
type formatter struct {
	env      *env
	class    string
	ops      []fop
	date     *datefmt // nil: Python's default "%Y-%m-%d %H:%M:%S,mmm"
	colors   bool
	defaults map[string]string
	attrKeys []string // format keys that name slog attributes: not repeated in the message

	json        bool
	structured  bool // kserve_gen.JSONFormatter: latency and access records carry their values as fields
	jsonFields  []jsonField
	static      []byte // pre-rendered `"k": v, ` pairs
	timestamp   string
	ensureASCII bool
}

// fmtCache belongs to one handler and is used under its output's lock.
type fmtCache struct {
	sec     int64
	dateLen int // bytes of date that hold the second-resolution part
	date    []byte
	scratch []byte
}

func newFormatter(e *env, fc FormatterConfig) (*formatter, error) {
	class := fc.Factory
	if class == "" {
		class = fc.Class
	}
	if class == "" {
		class = classFormatter
	}
	f := &formatter{env: e, class: class, defaults: fc.Defaults, ensureASCII: true}
	format := fc.Format
	switch class {
	case classFormatter, "Formatter", classUvicornDefault, classUvicornAccess:
	case ClassJSONFormatter, classPyJSON2, classPyJSON3:
		f.json = true
		f.structured = class == ClassJSONFormatter
		if format == "" && f.structured {
			format = "%(asctime)s %(levelname)s %(name)s %(message)s"
		}
	default:
		return nil, keyErr(keyOf(fc), fmt.Errorf("unknown formatter class %q (want %s, %s, %s or %s)",
			class, classFormatter, classUvicornDefault, classUvicornAccess, ClassJSONFormatter))
	}
	if fc.Style != "" && fc.Style != "%" {
		return nil, keyErr("style", fmt.Errorf("style %q is not supported (only %%)", fc.Style))
	}
	if format == "" {
		format = "%(message)s"
	}
	ops, err := compilePercent(format)
	if err != nil {
		return nil, keyErr("format", err)
	}
	if (fc.Validate == nil || *fc.Validate) && len(formatKeys(ops)) == 0 && !f.json {
		return nil, keyErr("format", fmt.Errorf("invalid format %q for %% style: it names no %%(field)", format))
	}
	if fc.Datefmt != "" {
		d := compileDatefmt(fc.Datefmt)
		f.date = &d
	}
	f.colors = fc.UseColors != nil && *fc.UseColors &&
		(class == classUvicornDefault || class == classUvicornAccess)
	for _, o := range ops {
		fo := fop{lit: o.lit, spec: o.spec}
		if o.spec != nil {
			fo.field = fieldNames[o.spec.key]
			sp := o.spec
			fo.msecs03 = fo.field == fMsecs && sp.conv == 'd' && sp.zero && sp.width == 3 &&
				!sp.minus && !sp.plus && !sp.space && sp.prec < 0
			if fo.field == fAttr {
				f.attrKeys = append(f.attrKeys, o.spec.key)
			}
		}
		f.ops = append(f.ops, fo)
	}
	if f.json {
		if fc.JSONEnsureASCII != nil {
			f.ensureASCII = *fc.JSONEnsureASCII
		}
		seen := map[string]bool{}
		for _, o := range f.ops {
			if o.spec == nil || seen[o.spec.key] {
				continue
			}
			seen[o.spec.key] = true
			out := o.spec.key
			if r, ok := fc.RenameFields[out]; ok {
				out = r
			}
			f.jsonFields = append(f.jsonFields, jsonField{out: out, field: o.field, key: o.spec.key})
		}
		for _, k := range sortedMapKeys(fc.StaticFields) {
			f.static = f.appendJSONString(f.static, k)
			f.static = append(f.static, ": "...)
			b, err := json.Marshal(fc.StaticFields[k])
			if err != nil {
				return nil, keyErr("static_fields."+k, err)
			}
			f.static = append(f.static, b...)
			f.static = append(f.static, ", "...)
		}
		f.timestamp = fc.Timestamp
	}
	return f, nil
}

// keyOf names the key that chose the class, for errors.
func keyOf(fc FormatterConfig) string {
	if fc.Factory != "" {
		return "()"
	}
	return "class"
}

func keyErr(key string, err error) error { return &ConfigError{Key: key, Err: err} }

// needsFrame reports whether the format uses the caller's file/function/line.
func (f *formatter) needsFrame() bool {
	for _, o := range f.ops {
		switch o.field {
		case fFilename, fPathname, fModule, fFuncName, fLineno:
			return true
		}
	}
	return false
}

// append formats r (without the line terminator).
func (f *formatter) append(dst []byte, r *record, c *fmtCache) []byte {
	if f.json {
		return f.appendJSON(dst, r, c)
	}
	for i := range f.ops {
		o := &f.ops[i]
		if o.spec == nil {
			dst = append(dst, o.lit...)
			continue
		}
		if o.msecs03 {
			dst = appendInt(dst, r.t.Nanosecond()/1e6, 3)
			continue
		}
		if o.spec.plainStr {
			// Fast paths for the fields every default format uses.
			switch o.field {
			case fName:
				dst = append(dst, r.name...)
				continue
			case fMessage:
				dst = f.appendMessage(dst, r)
				continue
			case fAsctime:
				dst = append(dst, f.asctime(r.t, c)...)
				continue
			case fProcess:
				dst = strconv.AppendInt(dst, int64(f.env.pid), 10)
				continue
			case fLevelprefix:
				dst = f.appendLevelprefix(dst, r.level)
				continue
			case fClientAddr, fRequestLine, fStatusCode:
				if r.acc != nil {
					dst = f.appendAccessField(dst, o.field, r.acc)
					continue
				}
			}
		}
		dst = appendSpec(dst, o.spec, f.value(o.field, o.spec.key, r, c))
	}
	return dst
}

// value returns a record attribute as a Python value.
func (f *formatter) value(fd field, key string, r *record, c *fmtCache) value {
	switch fd {
	case fAsctime:
		return bytesVal(f.asctime(r.t, c))
	case fMsecs:
		return floatVal(float64(r.t.Nanosecond() / 1e6))
	case fCreated:
		return floatVal(float64(r.t.UnixNano()) / 1e9)
	case fRelativeCreated:
		return floatVal(float64(r.t.Sub(f.env.start).Nanoseconds()) / 1e6)
	case fProcess, fThread:
		return intVal(int64(f.env.pid))
	case fProcessName:
		return strVal("MainProcess")
	case fThreadName:
		return strVal("MainThread")
	case fName:
		return strVal(r.name)
	case fLevelname:
		return strVal(levelName(r.level))
	case fLevelno:
		return intVal(int64(PythonLevel(r.level)))
	case fLevelprefix:
		c.scratch = f.appendLevelprefix(c.scratch[:0], r.level)
		return bytesVal(c.scratch)
	case fFilename:
		return strVal(f.env.frame(r.pc).file)
	case fPathname:
		return strVal(f.env.frame(r.pc).path)
	case fModule:
		return strVal(f.env.frame(r.pc).module)
	case fFuncName:
		return strVal(f.env.frame(r.pc).function)
	case fLineno:
		return intVal(int64(f.env.frame(r.pc).line))
	case fMessage:
		c.scratch = f.appendMessage(c.scratch[:0], r)
		return bytesVal(c.scratch)
	case fClientAddr, fRequestLine, fStatusCode:
		if r.acc == nil {
			break
		}
		c.scratch = f.appendAccessField(c.scratch[:0], fd, r.acc)
		return bytesVal(c.scratch)
	case fAttr:
		for _, a := range r.attrs {
			if a.Key == key {
				return attrValue(a.Value)
			}
		}
	}
	if d, ok := f.defaults[key]; ok {
		return strVal(d)
	}
	// Python raises KeyError (and prints a traceback); a log line with a
	// placeholder is more useful.
	return strVal("-")
}

func attrValue(v slog.Value) value {
	switch v.Kind() {
	case slog.KindInt64:
		return intVal(v.Int64())
	case slog.KindUint64:
		return intVal(int64(v.Uint64()))
	case slog.KindFloat64:
		return floatVal(v.Float64())
	case slog.KindBool:
		if v.Bool() {
			return strVal("True")
		}
		return strVal("False")
	}
	return strVal(v.String())
}

// asctime returns the formatted time, caching the part that changes once a second.
func (f *formatter) asctime(t time.Time, c *fmtCache) []byte {
	t = t.In(f.env.loc)
	sec := t.Unix()
	if f.date != nil && f.date.subSecond {
		c.date = f.date.append(c.date[:0], t)
		return c.date
	}
	if sec != c.sec || c.date == nil {
		if f.date != nil {
			c.date = f.date.append(c.date[:0], t)
		} else {
			c.date = defaultDate.append(c.date[:0], t)
		}
		c.dateLen = len(c.date)
		c.sec = sec
	}
	if f.date != nil {
		return c.date
	}
	// Python's default: "%Y-%m-%d %H:%M:%S" + ",%03d" % msecs.
	c.date = append(c.date[:c.dateLen], ',')
	c.date = appendInt(c.date, t.Nanosecond()/1e6, 3)
	return c.date
}

var defaultDate = compileDatefmt("%Y-%m-%d %H:%M:%S")

// ANSI styles as click.style writes them.
const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
)

func levelColor(l slog.Level) string {
	switch {
	case l >= LevelCritical:
		return "\x1b[91m" // bright_red
	case l >= slog.LevelError:
		return "\x1b[31m" // red
	case l >= slog.LevelWarn:
		return "\x1b[33m" // yellow
	case l >= slog.LevelInfo:
		return "\x1b[32m" // green
	case l >= slog.LevelDebug:
		return "\x1b[36m" // cyan
	}
	return "\x1b[34m" // blue (TRACE)
}

// appendLevelprefix is uvicorn's "%(levelprefix)s": "INFO:" padded so the
// message starts in the same column for every level ("INFO:    ").
func (f *formatter) appendLevelprefix(dst []byte, l slog.Level) []byte {
	name := levelName(l)
	if f.colors {
		dst = append(dst, levelColor(l)...)
		dst = append(dst, name...)
		dst = append(dst, ansiReset...)
	} else {
		dst = append(dst, name...)
	}
	dst = append(dst, ':')
	for i := len(name); i < 8; i++ {
		dst = append(dst, ' ')
	}
	return dst
}

// appendMessage is record.getMessage(): for slog records the message
// followed by the attributes the format does not name, as " key=value".
func (f *formatter) appendMessage(dst []byte, r *record) []byte {
	switch r.kind {
	case recLatency:
		return appendLatencyMessage(dst, r)
	case recAccess:
		return appendAccessMessage(dst, r.acc)
	}
	dst = append(dst, r.msg...)
	if f.json {
		return dst
	}
	for _, a := range r.attrs {
		if f.namesAttr(a.Key) {
			continue
		}
		dst = append(dst, ' ')
		dst = appendTextKey(dst, a.Key)
		dst = append(dst, '=')
		dst = appendTextValue(dst, a.Value)
	}
	return dst
}

func (f *formatter) namesAttr(key string) bool {
	for _, k := range f.attrKeys {
		if k == key {
			return true
		}
	}
	return false
}

func appendTextKey(dst []byte, k string) []byte {
	if needsQuoting(k) {
		return strconv.AppendQuote(dst, k)
	}
	return append(dst, k...)
}

func appendTextValue(dst []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindInt64:
		return strconv.AppendInt(dst, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(dst, v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(dst, v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(dst, v.Bool())
	case slog.KindDuration:
		return append(dst, v.Duration().String()...)
	case slog.KindTime:
		return v.Time().AppendFormat(dst, time.RFC3339Nano)
	}
	s := v.String()
	if needsQuoting(s) {
		return strconv.AppendQuote(dst, s)
	}
	return append(dst, s...)
}

func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == ' ' || r == '=' || r == '"' || r == '\\' || r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return true
		}
	}
	return false
}

// statusPhrase is Python's http.HTTPStatus(code).phrase ("" when unknown).
func statusPhrase(code int) string {
	switch code {
	case 414:
		return "Request-URI Too Long"
	case 418:
		return "I'm a Teapot"
	}
	return http.StatusText(code)
}

// appendClientAddr writes uvicorn's "host:port" (IPv6 without brackets).
func appendClientAddr(dst []byte, addr string) []byte {
	if addr == "" {
		return append(dst, '-')
	}
	if addr[0] == '[' {
		if end := strings.LastIndex(addr, "]:"); end > 0 {
			dst = append(dst, addr[1:end]...)
			return append(dst, addr[end+1:]...)
		}
	}
	return append(dst, addr...)
}

// appendRequestLine writes "METHOD /path?query HTTP/1.1".
func appendRequestLine(dst []byte, a *AccessRecord, withQuery bool) []byte {
	dst = append(dst, a.Method...)
	dst = append(dst, ' ')
	if withQuery {
		// uvicorn's get_path_with_query_string, which asgi-logger's
		// %(R)s and %(request_line)s use too: the decoded path quoted
		// again by urllib.parse.quote, so a v1 predict reads
		// "POST /v1/models/m%3Apredict HTTP/1.1", as in KServe's logs.
		// asgi-logger's %(r)s keeps the decoded path.
		dst = appendPyQuote(dst, a.Path)
	} else {
		dst = appendDecodedPath(dst, a.Path)
	}
	if withQuery && a.RawQuery != "" {
		dst = append(dst, '?')
		dst = append(dst, a.RawQuery...)
	}
	dst = append(dst, ' ')
	return appendProto(dst, a.Proto)
}

// appendPyQuote appends s as Python's urllib.parse.quote(s) writes it (safe
// "/"): letters, digits, "_.-~" and "/" as they are, every other byte of
// its UTF-8 as %XX in upper-case hex.
func appendPyQuote(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '_', c == '.', c == '-', c == '~', c == '/':
			dst = append(dst, c)
		default:
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}

// appendDecodedPath appends the decoded path as asgi-logger's %(r)s and
// %(U)s print it, except that control characters (a %0A in the request)
// stay percent-encoded: written raw they would start a forged log line.
func appendDecodedPath(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

func appendProto(dst []byte, proto string) []byte {
	if proto == "" {
		return append(dst, "HTTP/1.1"...)
	}
	if !strings.HasPrefix(proto, "HTTP/") {
		dst = append(dst, "HTTP/"...)
	}
	return append(dst, proto...)
}

// appendAccessMessage is uvicorn's access message:
// '%s - "%s %s HTTP/%s" %d' % (client_addr, method, full_path, http_version, status).
func appendAccessMessage(dst []byte, a *AccessRecord) []byte {
	dst = appendClientAddr(dst, a.ClientAddr)
	dst = append(dst, ` - "`...)
	dst = appendRequestLine(dst, a, true)
	dst = append(dst, `" `...)
	return strconv.AppendInt(dst, int64(a.Status), 10)
}

// appendAccessField adds uvicorn AccessFormatter's client_addr,
// request_line and status_code ("200 OK").
func (f *formatter) appendAccessField(dst []byte, fd field, a *AccessRecord) []byte {
	switch fd {
	case fClientAddr:
		return appendClientAddr(dst, a.ClientAddr)
	case fRequestLine:
		if f.colors {
			dst = append(dst, ansiBold...)
		}
		dst = appendRequestLine(dst, a, true)
		if f.colors {
			dst = append(dst, ansiReset...)
		}
		return dst
	default:
		color := ""
		if f.colors {
			switch a.Status / 100 {
			case 1:
				color = "\x1b[97m"
			case 2:
				color = "\x1b[32m"
			case 3:
				color = "\x1b[33m"
			case 4:
				color = "\x1b[31m"
			case 5:
				color = "\x1b[91m"
			}
		}
		dst = append(dst, color...)
		dst = strconv.AppendInt(dst, int64(a.Status), 10)
		dst = append(dst, ' ')
		dst = append(dst, statusPhrase(a.Status)...)
		if color != "" {
			dst = append(dst, ansiReset...)
		}
		return dst
	}
}

// appendJSON writes one JSON object the way python-json-logger does
// (json.dumps separators ", " and ": "): the format's keys in order, then
// static fields, then slog attributes, then the timestamp.
func (f *formatter) appendJSON(dst []byte, r *record, c *fmtCache) []byte {
	dst = append(dst, '{')
	first := true
	sep := func(dst []byte) []byte {
		if !first {
			dst = append(dst, ", "...)
		}
		first = false
		return dst
	}
	for _, jf := range f.jsonFields {
		dst = sep(dst)
		dst = f.appendJSONString(dst, jf.out)
		dst = append(dst, ": "...)
		switch jf.field {
		case fMessage:
			c.scratch = f.appendMessage(c.scratch[:0], r)
			dst = f.appendJSONBytes(dst, c.scratch)
		case fAttr:
			found := false
			for _, a := range r.attrs {
				if a.Key == jf.key {
					dst = f.appendJSONValue(dst, a.Value)
					found = true
					break
				}
			}
			if !found {
				if d, ok := f.defaults[jf.key]; ok {
					dst = f.appendJSONString(dst, d)
				} else {
					dst = append(dst, "null"...)
				}
			}
		default:
			v := f.value(jf.field, jf.key, r, c)
			switch v.kind {
			case kindInt:
				dst = strconv.AppendInt(dst, v.i, 10)
			case kindFloat:
				dst = appendPyFloat(dst, v.f)
			default:
				if v.b != nil {
					dst = f.appendJSONBytes(dst, v.b)
				} else {
					dst = f.appendJSONString(dst, v.s)
				}
			}
		}
	}
	if len(f.static) > 0 {
		if !first {
			dst = append(dst, ", "...)
		}
		dst = append(dst, f.static[:len(f.static)-2]...)
		first = false
	}
	for _, a := range r.attrs {
		if f.namesAttr(a.Key) {
			continue
		}
		dst = sep(dst)
		dst = f.appendJSONString(dst, a.Key)
		dst = append(dst, ": "...)
		dst = f.appendJSONValue(dst, a.Value)
	}
	if f.structured {
		switch r.kind {
		case recLatency:
			dst = sep(dst)
			dst = append(dst, `"requestId": `...)
			if r.reqID == "" {
				dst = append(dst, `"N.A."`...)
			} else {
				dst = f.appendJSONString(dst, r.reqID)
			}
			for i, k := range [...]string{`, "preprocess_ms": `, `, "explain_ms": `, `, "predict_ms": `, `, "postprocess_ms": `} {
				dst = append(dst, k...)
				dst = appendMillis(dst, r.lat[i])
			}
		case recAccess:
			a := r.acc
			dst = sep(dst)
			dst = append(dst, `"client_addr": "`...)
			dst = appendClientAddr(dst, a.ClientAddr) // no characters JSON must escape
			dst = append(dst, `", "method": `...)
			dst = f.appendJSONString(dst, a.Method)
			dst = append(dst, `, "path": `...)
			dst = f.appendJSONString(dst, a.Path)
			dst = append(dst, `, "query": `...)
			dst = f.appendJSONString(dst, a.RawQuery)
			dst = append(dst, `, "status": `...)
			dst = strconv.AppendInt(dst, int64(a.Status), 10)
			dst = append(dst, `, "bytes": `...)
			dst = strconv.AppendInt(dst, a.BytesSent, 10)
			dst = append(dst, `, "duration_ms": `...)
			dst = appendPyFloat(dst, float64(a.Duration.Nanoseconds())/1e6)
		}
	}
	if f.timestamp != "" {
		dst = sep(dst)
		dst = f.appendJSONString(dst, f.timestamp)
		dst = append(dst, ": \""...)
		// datetime.fromtimestamp(created, tz=timezone.utc).isoformat()
		dst = r.t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000+00:00")
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

func (f *formatter) appendJSONValue(dst []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindInt64:
		return strconv.AppendInt(dst, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(dst, v.Uint64(), 10)
	case slog.KindFloat64:
		return appendPyFloat(dst, v.Float64())
	case slog.KindBool:
		return strconv.AppendBool(dst, v.Bool())
	case slog.KindString:
		return f.appendJSONString(dst, v.String())
	case slog.KindAny:
		a := v.Any()
		if err, ok := a.(error); ok {
			return f.appendJSONString(dst, err.Error())
		}
		if b, err := json.Marshal(a); err == nil {
			return append(dst, b...)
		}
	}
	return f.appendJSONString(dst, v.String())
}

func (f *formatter) appendJSONString(dst []byte, s string) []byte {
	return appendJSONStr(dst, s, f.ensureASCII)
}

func (f *formatter) appendJSONBytes(dst []byte, b []byte) []byte {
	return appendJSONStr(dst, b, f.ensureASCII)
}

// appendJSONStr escapes like Python's json.dumps (ensure_ascii escapes every
// non-ASCII rune as \uXXXX, with surrogate pairs above U+FFFF).
func appendJSONStr[S string | []byte](dst []byte, s S, ensureASCII bool) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, `\n`...)
			case c == '\r':
				dst = append(dst, `\r`...)
			case c == '\t':
				dst = append(dst, `\t`...)
			case c == '\b':
				dst = append(dst, `\b`...)
			case c == '\f':
				dst = append(dst, `\f`...)
			case c < 0x20:
				dst = append(dst, `\u00`...)
				dst = appendHex(dst, uint64(c), 2)
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if !ensureASCII && r != utf8.RuneError {
			dst = append(dst, s[i:i+size]...)
		} else if r > 0xffff {
			r -= 0x10000
			dst = append(dst, `\u`...)
			dst = appendHex(dst, uint64(0xd800+(r>>10)), 4)
			dst = append(dst, `\u`...)
			dst = appendHex(dst, uint64(0xdc00+(r&0x3ff)), 4)
		} else {
			dst = append(dst, `\u`...)
			dst = appendHex(dst, uint64(r), 4)
		}
		i += size
	}
	return append(dst, '"')
}
