package logging

import (
	"context"
	"log/slog"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
)

// AccessRecord describes one finished HTTP request for the access log.
type AccessRecord struct {
	ClientAddr     string // "ip:port", as http.Request.RemoteAddr
	Method         string
	Path           string // decoded path, as url.URL.Path (ASGI's scope["path"])
	RawQuery       string
	Proto          string // "HTTP/1.1"
	Status         int
	BytesSent      int64
	Start          time.Time
	Duration       time.Duration
	RequestHeader  http.Header
	ResponseHeader http.Header
}

// LogAccess writes the access line of one request. Without
// --access_log_format it is uvicorn's record on "uvicorn.access" (message
// `127.0.0.1:50000 - "GET /v2/health/ready HTTP/1.1" 200`, and with the
// default configuration the AccessFormatter line on stdout). With it, the
// line is the format filled with asgi-logger's atoms, on stdout:
//
//	%(h)s %(client_addr)s  client "ip:port"      %(l)s %(u)s  "-"
//	%(t)s                  [24/Nov/2026:18:00:00 +0000]
//	%(r)s                  "GET /path HTTP/1.1" (no query)
//	%(R)s %(request_line)s "GET /path?q=1 HTTP/1.1"
//	%(m)s %(U)s %(q)s %(H)s method, path, query, protocol
//	%(s)s                  status (an int: %(s)d works)
//	%(status_code)s        "200 OK"               %(st)s  "OK"
//	%(b)s %(B)s            bytes sent             %(f)s %(a)s  Referer, User-Agent
//	%(T)s %(M)s %(D)s      duration in whole s, ms, µs
//	%(L)s                  duration in seconds, "0.001234"
//	%(p)s                  "<pid>"
//	%({Name}i)s %({Name}o)s %({NAME}e)s  request header, response header, environment variable
//
// Unknown atoms and missing headers print "-".
func (l *Loggers) LogAccess(rec AccessRecord) {
	if l.access != nil {
		l.access.emit(l.accessOut, &rec)
		return
	}
	if !l.configured {
		if l.fallback.Enabled(context.Background(), slog.LevelInfo) {
			r := record{kind: recAccess, acc: &rec}
			l.Named(AccessLogger).Info(string(appendAccessMessage(nil, r.acc)))
		}
		return
	}
	n := l.accessNode
	if !n.enabled(slog.LevelInfo) {
		return
	}
	r := record{name: AccessLogger, level: slog.LevelInfo, kind: recAccess, acc: &rec}
	if rec.Start.IsZero() {
		r.t = time.Now()
	} else {
		r.t = rec.Start.Add(rec.Duration) // when the response finished; saves a clock read
	}
	l.dispatch(n, &r)
}

type atom uint8

const (
	aUnknown atom = iota
	aClient
	aDash
	aTime
	aRequest
	aRequestFull
	aMethod
	aPath
	aQuery
	aProto
	aStatus
	aStatusCode
	aStatusPhrase
	aBytes
	aReferer
	aUserAgent
	aSeconds
	aMillis
	aMicros
	aSecondsDecimal
	aPid
	aReqHeader
	aRespHeader
	aEnv
)

var atomNames = map[string]atom{
	"h": aClient, "client_addr": aClient, "l": aDash, "u": aDash, "t": aTime,
	"r": aRequest, "R": aRequestFull, "request_line": aRequestFull,
	"m": aMethod, "U": aPath, "q": aQuery, "H": aProto,
	"s": aStatus, "status_code": aStatusCode, "st": aStatusPhrase,
	"b": aBytes, "B": aBytes, "f": aReferer, "a": aUserAgent,
	"T": aSeconds, "M": aMillis, "D": aMicros, "L": aSecondsDecimal, "p": aPid,
}

type accessOp struct {
	lit  string
	spec *spec
	atom atom
	arg  string // canonical header name, or the environment value
}

// accessFormat is a compiled --access_log_format.
type accessFormat struct {
	env   *env
	ops   []accessOp
	cache fmtCache // guarded by the output lock
	pid   string
}

var accessTimeFormat = compileDatefmt("[%d/%b/%Y:%H:%M:%S %z]")

func compileAccessFormat(format string, e *env) (*accessFormat, error) {
	ops, err := compilePercent(format)
	if err != nil {
		return nil, err
	}
	af := &accessFormat{env: e, pid: "<" + strconv.Itoa(e.pid) + ">"}
	for _, o := range ops {
		ao := accessOp{lit: o.lit, spec: o.spec}
		if o.spec != nil {
			key := o.spec.key
			ao.atom = atomNames[key]
			if len(key) > 3 && key[0] == '{' && key[len(key)-2] == '}' {
				name := key[1 : len(key)-2]
				switch key[len(key)-1] {
				case 'i':
					ao.atom, ao.arg = aReqHeader, textproto.CanonicalMIMEHeaderKey(name)
				case 'o':
					ao.atom, ao.arg = aRespHeader, textproto.CanonicalMIMEHeaderKey(name)
				case 'e':
					// asgi-logger looks environment variables up under a
					// mangled key and so always prints "-"; this does what
					// its documentation says.
					ao.atom, ao.arg = aEnv, lookupEnvFold(name)
				}
			}
		}
		af.ops = append(af.ops, ao)
	}
	return af, nil
}

func lookupEnvFold(name string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, name) {
			return v
		}
	}
	return "-"
}

func (af *accessFormat) emit(o *output, a *AccessRecord) {
	o.mu.Lock()
	start := len(o.buf)
	o.buf = af.append(o.buf, a, &af.cache)
	o.buf = append(o.buf, '\n')
	o.commit(start, slog.LevelInfo)
	o.mu.Unlock()
}

func (af *accessFormat) append(dst []byte, a *AccessRecord, c *fmtCache) []byte {
	for i := range af.ops {
		op := &af.ops[i]
		if op.spec == nil {
			dst = append(dst, op.lit...)
			continue
		}
		var v value
		switch op.atom {
		case aStatus:
			v = intVal(int64(a.Status))
		case aBytes:
			v = intVal(a.BytesSent)
		case aSeconds:
			v = intVal(int64(a.Duration / time.Second))
		case aMillis:
			v = intVal(int64(a.Duration / time.Millisecond))
		case aMicros:
			v = intVal(int64(a.Duration / time.Microsecond))
		case aEnv:
			v = strVal(op.arg)
		case aPid:
			v = strVal(af.pid)
		default:
			if op.spec.plainStr {
				dst = af.appendText(dst, op, a, c)
				continue
			}
			c.scratch = af.appendText(c.scratch[:0], op, a, c)
			v = bytesVal(c.scratch)
		}
		dst = appendSpec(dst, op.spec, v)
	}
	return dst
}

// appendText writes the atoms whose values are text.
func (af *accessFormat) appendText(dst []byte, op *accessOp, a *AccessRecord, c *fmtCache) []byte {
	switch op.atom {
	case aClient:
		return appendClientAddr(dst, a.ClientAddr)
	case aTime:
		t := time.Now().In(af.env.loc)
		if sec := t.Unix(); sec != c.sec || c.date == nil {
			c.date = accessTimeFormat.append(c.date[:0], t)
			c.sec = sec
		}
		return append(dst, c.date...)
	case aRequest:
		return appendRequestLine(dst, a, false)
	case aRequestFull:
		return appendRequestLine(dst, a, true)
	case aMethod:
		return append(dst, a.Method...)
	case aPath:
		return appendDecodedPath(dst, a.Path)
	case aQuery:
		return append(dst, a.RawQuery...)
	case aProto:
		return appendProto(dst, a.Proto)
	case aStatusCode:
		dst = strconv.AppendInt(dst, int64(a.Status), 10)
		dst = append(dst, ' ')
		return appendPhrase(dst, a.Status)
	case aStatusPhrase:
		return appendPhrase(dst, a.Status)
	case aReferer:
		return appendHeader(dst, a.RequestHeader, "Referer")
	case aUserAgent:
		return appendHeader(dst, a.RequestHeader, "User-Agent")
	case aSecondsDecimal:
		return strconv.AppendFloat(dst, a.Duration.Seconds(), 'f', 6, 64)
	case aReqHeader:
		return appendHeader(dst, a.RequestHeader, op.arg)
	case aRespHeader:
		return appendHeader(dst, a.ResponseHeader, op.arg)
	}
	return append(dst, '-')
}

func appendPhrase(dst []byte, status int) []byte {
	if p := statusPhrase(status); p != "" {
		return append(dst, p...)
	}
	return append(dst, '-')
}

// appendHeader writes the last value of a header (Python's dict keeps the
// last one), or "-".
func appendHeader(dst []byte, h http.Header, canonical string) []byte {
	if vs := h[canonical]; len(vs) > 0 {
		return append(dst, vs[len(vs)-1]...)
	}
	return append(dst, '-')
}
