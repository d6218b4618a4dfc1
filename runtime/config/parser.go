package config

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// ArgError is a command-line or environment error, worded like argparse:
// "argument --http_port: invalid int value: 'abc'".
type ArgError struct {
	Arg string // "--http_port", or "environment variable PROTOCOL"
	Err error
}

func (e *ArgError) Error() string {
	return "argument " + e.Arg + ": " + e.Err.Error()
}

func (e *ArgError) Unwrap() error { return e.Err }

// Parser parses KServe's command line (contract §3) plus flags a user's main
// adds through FlagSet, with argparse's parse_known_args semantics.
//
// Differences from argparse, all of them more forgiving:
//   - a bare boolean flag (--enable_grpc) means true; argparse demands a value;
//   - a single dash works for an exact name (-model_name=x), as Go's flag does;
//   - -h / --help print the usage and Parse returns flag.ErrHelp, unless the
//     user registered a flag called h or help (KServe's parser has no help,
//     but the seed's parent parser does).
type Parser struct {
	fs      *flag.FlagSet
	cfg     Config
	unknown []string
	order   []string // the parser's own flags, in KServe's order (usage)
	columns int      // argparse's width for the usage block, from COLUMNS
}

// NewParser returns a parser named name (the program name in usage) with
// every KServe flag and our extensions registered.
func NewParser(name string) *Parser {
	p := &Parser{fs: flag.NewFlagSet(name, flag.ContinueOnError), cfg: Default()}
	p.fs.Usage = p.usage
	c := &p.cfg
	fs := p.fs
	protocols := []string{ProtocolV1, ProtocolV2, ProtocolGRPCV2}

	// v and s register a flag and remember its place: argparse's usage lists
	// the options in the order the parser adds them, which flag.FlagSet
	// does not keep.
	v := func(val flag.Value, name, usage string) {
		fs.Var(val, name, usage)
		p.order = append(p.order, name)
	}
	s := func(ptr *string, name, usage string) {
		fs.StringVar(ptr, name, *ptr, usage)
		p.order = append(p.order, name)
	}

	v(intValue{&c.HTTPPort}, "http_port", "The HTTP port listened to by the model server.")
	v(intValue{&c.GRPCPort}, "grpc_port", "The gRPC port listened to by the model server.")
	v(intValue{&c.Workers}, "workers", "The number of serving processes sharing the HTTP port (SO_REUSEPORT).")
	v(intValue{&c.MaxThreads}, "max_threads", "The number of gRPC stream worker goroutines.")
	v(intValue{&c.MaxAsyncioWorkers}, "max_asyncio_workers", "The most concurrent model calls, REST and gRPC together (0: min(32, CPUs+4)).")
	v(boolValue{&c.EnableGRPC}, "enable_grpc", "Enable gRPC for the model server.")
	v(boolValue{&c.EnableDocsURL}, "enable_docs_url", "Serve Swagger UI at /docs.")
	v(boolValue{&c.EnableLatencyLogging}, "enable_latency_logging", "Log the latency of every request.")
	v(boolValue{&c.ConfigureLogging}, "configure_logging", "Apply KServe's logging configuration at start.")
	s(&c.LogConfigFile, "log_config_file", "A logging configuration file (json, yaml or ini).")
	s(&c.AccessLogFormat, "access_log_format", "The format of the access log lines.")
	v(choiceValue{&c.EventLoop, []string{EventLoopAuto, EventLoopAsyncio, EventLoopUvloop}}, "event-loop", "Accepted for compatibility and ignored: Go has no event loop.")
	v(intValue{&c.TimeoutKeepAlive}, "timeout-keep-alive", "Seconds an idle keep-alive connection stays open.")
	s(&c.ModelName, "model_name", "The name the model is served under.")
	s(&c.PredictorHost, "predictor_host", "The predictor host[:port] a transformer calls.")
	v(choiceValue{&c.Protocol, protocols}, "protocol", "The inference protocol; $PROTOCOL when not given.")
	v(choiceValue{&c.PredictorProtocol, protocols}, "predictor_protocol", "The protocol a transformer uses to call the predictor.")
	v(boolValue{&c.PredictorUseSSL}, "predictor_use_ssl", "Call the predictor over TLS.")
	v(intValue{&c.PredictorRequestTimeoutSeconds}, "predictor_request_timeout_seconds", "The timeout of a call to the predictor.")
	v(intValue{&c.GRPCMaxSendMessageLength}, "grpc_max_send_message_length", "The largest gRPC message the server sends, in bytes.")
	v(intValue{&c.GRPCMaxReceiveMessageLength}, "grpc_max_receive_message_length", "The largest gRPC message the server accepts, in bytes.")
	v(intValue{&c.PredictorRequestRetries}, "predictor_request_retries", "Retries of a failed call to the predictor.")
	v(storeTrueValue{boolValue{&c.EnablePredictorHealthCheck}}, "enable_predictor_health_check", "Readiness also checks the predictor (takes no value).")

	s(&c.ModelDir, "model_dir", "The local model directory (default: $STORAGE_URI resolved).")
	v(secondsValue{&c.GracePeriod}, "grace_period", "Seconds in-flight requests may finish after SIGTERM.")
	v(byteSizeValue{&c.MaxRequestBodySize}, "max_request_body_size", "The largest request body in bytes (64Mi, 64MiB, 64M, 64MB, ...: Ki/Mi/Gi are powers of 1024, K/M/G powers of 1000); larger gets 413.")
	v(secondsValue{&c.ReadHeaderTimeout}, "read_header_timeout", "Seconds a client may take to send request headers, may stay silent while sending a body, and may leave its answer unread; and a gRPC connection may take for its handshake.")
	v(intValue{&c.MaxQueuedRequests}, "max_queued_requests", "Requests that may wait for a --max_asyncio_workers slot; more get 503 at once (0: no limit, they wait until their client gives up).")
	v(byteSizeValue{&c.GCMinHeap}, "gc_min_heap", "Heap size below which garbage is not collected, e.g. 16Mi: less GC CPU, longer tail latency at saturation (0: Go's pacing; ignored when GOGC is set).")
	return p
}

// FlagSet is where a user's main adds its own flags the Go way, before Parse:
//
//	dir := p.FlagSet().String("extra_dir", "", "...")
//
// Bool flags added here also take Python spellings (--verbose=yes). The flag
// set is never parsed by the flag package itself; Parse fills it.
//
// KServe's flags and the Go extensions are already in this set, so adding
// one of their names (model_dir, workers, …; FlagSet().Lookup finds them)
// panics, as any flag.FlagSet redefinition does: read such a setting from
// the Config that Parse returns instead.
func (p *Parser) FlagSet() *flag.FlagSet { return p.fs }

// Unknown returns what Parse ignored (argparse's extras), in order.
func (p *Parser) Unknown() []string { return p.unknown }

// LogUnknown logs one warning listing the ignored arguments, if any. The
// server calls it once logging is configured, which Parse cannot wait for.
func (p *Parser) LogUnknown(ctx context.Context, log *slog.Logger) {
	if len(p.unknown) == 0 {
		return
	}
	log.WarnContext(ctx, "ignoring unknown arguments: "+strings.Join(p.unknown, " "), "args", p.unknown)
}

// looksLikeOption is argparse's test for a token that starts an option
// rather than being a value: "-" and negative numbers are values.
func looksLikeOption(s string) bool {
	return strings.HasPrefix(s, "-") && s != "-" && !isNegativeNumber(s)
}

// takesAsValue reports whether the token after a flag that needs a value is
// that value. argparse also takes an unknown token containing a space
// ("-a b") as a value.
func (p *Parser) takesAsValue(s string) bool {
	if !looksLikeOption(s) {
		return true
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(s[1:], "-"), "=")
	return strings.Contains(s, " ") && p.fs.Lookup(name) == nil
}

// isNegativeNumber matches argparse's ^-\d+$|^-\d*\.\d+$.
func isNegativeNumber(s string) bool {
	intPart, frac, dot := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	digits := func(t string) bool {
		return t != "" && strings.Trim(t, "0123456789") == ""
	}
	if !strings.HasPrefix(s, "-") {
		return false
	}
	if !dot {
		return digits(intPart)
	}
	return (intPart == "" || digits(intPart)) && digits(frac)
}

// Parse reads args (without the program name) and the environment through
// getenv (the process environment when nil, read as ParseLookup reads it),
// and returns the configuration. Unknown arguments are kept for Unknown;
// -h/--help returns flag.ErrHelp after printing the usage to
// FlagSet().Output(). Call it once.
//
// A getenv cannot tell a variable set to "" from an unset one, and Parse
// reads both as unset; the one variable where KServe tells them apart is
// KSERVE_OPENAI_ROUTE_PREFIX, whose empty value puts the OpenAI routes at
// /v1/...: read the environment with ParseLookup(args, os.LookupEnv) to
// have that.
//
// A bad argument or environment variable is written to FlagSet().Output() as
// argparse writes it (usage block, then "prog: error: argument --http_port:
// invalid int value: 'abc'"), and the error returned matches ErrUsage: exit
// with status 2 on it without printing it again.
func (p *Parser) Parse(args []string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		return p.ParseLookup(args, nil)
	}
	return p.ParseLookup(args, func(key string) (string, bool) {
		v := getenv(key)
		return v, v != ""
	})
}

// ParseLookup is Parse reading the environment through lookup, which
// reports whether a variable is set as os.LookupEnv does (os.LookupEnv when
// nil). An empty variable then counts where KServe's os.environ.get counts
// it: KSERVE_OPENAI_ROUTE_PREFIX="" serves the OpenAI routes without a
// prefix, at /v1/completions and the like. Every other variable reads as
// through Parse, an empty one as unset.
func (p *Parser) ParseLookup(args []string, lookup func(string) (string, bool)) (*Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	p.columns = columns(envOf(lookup))
	cfg, err := p.parse(args, lookup)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return nil, p.fail(err, p.seedError(err))
	}
	return cfg, err
}

func (p *Parser) parse(args []string, lookup func(string) (string, bool)) (*Config, error) {
	// The defaults --help shows are what the flags hold when parsing starts:
	// a program that sets its own with FlagSet().Set (a generated project's
	// model name, gRPC off) must not have KServe's listed instead.
	p.fs.VisitAll(func(f *flag.Flag) { f.DefValue = f.Value.String() })
	set := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			p.unknown = append(p.unknown, args[i+1:]...)
			break
		}
		if !looksLikeOption(a) {
			p.unknown = append(p.unknown, a)
			continue
		}
		double := strings.HasPrefix(a, "--")
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		f, err := p.lookup(a, name, double)
		if errors.Is(err, flag.ErrHelp) && !hasVal { // --he, --hel
			p.fs.Usage()
			return nil, err
		}
		if err != nil && !errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		if f == nil {
			if !hasVal && (name == "h" || name == "help") {
				p.fs.Usage()
				return nil, flag.ErrHelp
			}
			p.unknown = append(p.unknown, a)
			continue
		}
		opt := "--" + f.Name
		switch fv := f.Value.(type) {
		case interface{ storeTrue() }:
			if hasVal {
				return nil, &ArgError{opt, fmt.Errorf("ignored explicit argument %s", pyRepr(val))}
			}
			val, hasVal = "true", true
		case interface{ IsBoolFlag() bool }:
			if !fv.IsBoolFlag() {
				break
			}
			if !hasVal {
				val = "true"
				if i+1 < len(args) {
					// KServe's own booleans are argparse type=strtobool
					// flags: the token after them is their value, so a typo
					// there (--enable_grpc flase) is an error, not a bare
					// true beside an ignored argument. A Go bool flag of the
					// program's takes the next token only when it is a
					// boolean, as the flag package leaves the rest alone.
					_, kserve := fv.(boolValue)
					if _, err := StrToBool(args[i+1]); err == nil || (kserve && p.takesAsValue(args[i+1])) {
						i++
						val = args[i]
					}
				}
			}
			b, err := StrToBool(val)
			if err != nil {
				return nil, &ArgError{opt, err}
			}
			// The flag package's own bools only know strconv.ParseBool's spellings.
			val = fmt.Sprint(b)
			hasVal = true
		}
		if !hasVal {
			if i+1 >= len(args) || !p.takesAsValue(args[i+1]) {
				return nil, &ArgError{opt, errors.New("expected one argument")}
			}
			i++
			val = args[i]
		}
		if err := p.fs.Set(f.Name, val); err != nil {
			if _, ours := f.Value.(argparseValue); ours {
				return nil, &ArgError{opt, err}
			}
			return nil, &ArgError{opt, goFlagError(f.Value, val, err)}
		}
		set[f.Name] = true
	}
	// Mark the set parsed so users' code that checks fs.Parsed() works.
	if err := p.fs.Parse(nil); err != nil {
		return nil, err
	}
	if err := p.applyEnv(lookup, set); err != nil {
		return nil, err
	}
	if err := p.cfg.Validate(); err != nil {
		return nil, err
	}
	cfg := p.cfg
	if cfg.Workers == 0 {
		cfg.Workers = 1
	}
	cfg.UnknownArgs = append([]string(nil), p.unknown...)
	return &cfg, nil
}

// lookup finds the flag a token names: an exact name wins; otherwise, for
// double-dash tokens, a unique prefix (argparse's allow_abbrev), flag.ErrHelp
// when that is our --help. An ambiguous prefix is an error even for
// parse_known_args, as in argparse.
func (p *Parser) lookup(token, name string, double bool) (*flag.Flag, error) {
	if f := p.fs.Lookup(name); f != nil {
		return f, nil
	}
	if !double || name == "" {
		return nil, nil
	}
	// argparse lists the candidates in the order the parser added them,
	// its own --help first: --he is --help, --h is ambiguous.
	var names []string
	var match *flag.Flag
	if p.helpAvailable() && name != "help" && strings.HasPrefix("help", name) {
		names = append(names, "--help")
	}
	for _, f := range p.flagsInOrder() {
		if strings.HasPrefix(f.Name, name) {
			names = append(names, "--"+f.Name)
			match = f
		}
	}
	switch len(names) {
	case 0:
		return nil, nil
	case 1:
		if match == nil {
			return nil, flag.ErrHelp
		}
		return match, nil
	}
	return nil, &ambiguousError{token, names}
}

// envOf reads lookup as os.Getenv reads the environment: an empty
// variable as an unset one.
func envOf(lookup func(string) (string, bool)) func(string) string {
	return func(key string) string {
		v, _ := lookup(key)
		return v
	}
}

func (p *Parser) applyEnv(lookup func(string) (string, bool), set map[string]bool) error {
	getenv := envOf(lookup)
	c := &p.cfg
	if lvl := strings.ToUpper(strings.TrimSpace(getenv("KSERVE_LOGLEVEL"))); lvl != "" {
		if _, err := ParseLogLevel(lvl); err != nil {
			return &ArgError{"environment variable KSERVE_LOGLEVEL", err}
		}
		c.LogLevel = lvl
	}
	c.StorageURI = strings.TrimSpace(getenv("STORAGE_URI"))
	c.CEType, c.CESource = getenv("CE_TYPE"), getenv("CE_SOURCE")
	c.CEMerge = strings.EqualFold(getenv("CE_MERGE"), "true")
	c.ForwardedAllowIPs = strings.TrimSpace(getenv("FORWARDED_ALLOW_IPS"))
	if prefix, ok := lookup("KSERVE_OPENAI_ROUTE_PREFIX"); ok {
		// KServe (protocol/rest/openai/endpoints.py) reads
		// os.environ.get("KSERVE_OPENAI_ROUTE_PREFIX", "/openai") and puts a
		// "/" before a value without one; an empty value is no prefix at
		// all, the routes at /v1/... beside KServe's v1 ones.
		if prefix != "" && !strings.HasPrefix(prefix, "/") {
			prefix = "/" + prefix
		}
		if strings.HasSuffix(prefix, "/") || strings.ContainsAny(prefix, "{}?# \t\n") {
			// FastAPI's APIRouter asserts the first; the others are no
			// literal path for a route pattern.
			return &ArgError{"environment variable KSERVE_OPENAI_ROUTE_PREFIX", fmt.Errorf("%s: a path prefix must not end with '/' nor hold '{', '}', '?', '#' or blanks", pyRepr(prefix))}
		}
		c.OpenAIRoutePrefix = prefix
	}
	if proto := strings.ToLower(strings.TrimSpace(getenv("PROTOCOL"))); proto != "" {
		switch proto {
		case ProtocolV1, ProtocolV2, ProtocolGRPCV2:
		default:
			return &ArgError{"environment variable PROTOCOL", fmt.Errorf("invalid choice: %s (choose from 'v1', 'v2', 'grpc-v2')", pyRepr(proto))}
		}
		c.ProtocolEnv = proto
		if !set["protocol"] {
			c.Protocol = proto
		}
	}
	return nil
}

// usage is the -h/--help text: argparse's usage block, the same one an
// error shows, then every flag in that order with a double dash, as KServe
// users write them, and its default.
//
// It goes to standard output, as argparse's print_help writes there (so
// "prog --help | less" works), unless FlagSet().SetOutput chose a writer
// other than standard error; errors stay on standard error.
func (p *Parser) usage() {
	w := p.fs.Output()
	if w == io.Writer(os.Stderr) {
		w = os.Stdout
	}
	fmt.Fprintf(w, "%s\noptions:\n", p.usageLine(true))
	if p.helpAvailable() {
		fmt.Fprint(w, "  -h, --help\n    \tshow this help message and exit\n")
	}
	for _, f := range p.flagsInOrder() {
		printFlag(w, f)
	}
}

func printFlag(w io.Writer, f *flag.Flag) {
	typ, usage := flag.UnquoteUsage(f)
	switch f.Value.(type) {
	case interface{ storeTrue() }:
		typ = ""
	case boolValue:
		typ = "bool"
	case intValue:
		typ = "int"
	case choiceValue:
		typ = "{" + strings.Join(f.Value.(choiceValue).choices, ",") + "}"
	case secondsValue:
		typ = "seconds"
	case byteSizeValue:
		typ = "bytes"
	}
	line := "  --" + f.Name
	if typ != "" {
		line += " " + typ
	}
	line += "\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t")
	if f.DefValue != "" {
		line += fmt.Sprintf(" (default %s)", f.DefValue)
	}
	fmt.Fprintln(w, line)
}

// goFlagError words the error of a flag the program added with the flag
// package (fs.Int, fs.Duration, ...) as argparse words a type=int one:
// "invalid int value: 'abc'", rather than the flag package's "parse error".
// Its value types are unexported, hence matched by %T.
func goFlagError(v flag.Value, val string, err error) error {
	var typ string
	switch fmt.Sprintf("%T", v) {
	case "*flag.intValue", "*flag.int64Value", "*flag.uintValue", "*flag.uint64Value":
		typ = "int"
	case "*flag.float64Value":
		typ = "float"
	case "*flag.durationValue":
		typ = "duration"
	default:
		return fmt.Errorf("invalid value %s: %w", pyRepr(val), err)
	}
	if err.Error() == "parse error" { // the flag package's errParse: no more to say
		return fmt.Errorf("invalid %s value: %s", typ, pyRepr(val))
	}
	return fmt.Errorf("invalid %s value: %s (%w)", typ, pyRepr(val), err)
}
