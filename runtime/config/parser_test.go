package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// env turns pairs into a getenv function; unset names read as "".
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func parse(t *testing.T, args []string, getenv func(string) string) (*Config, *Parser) {
	t.Helper()
	p := NewParser("test")
	cfg, err := p.Parse(args, getenv)
	require.NoError(t, err)
	return cfg, p
}

// kserveDefaults spells out contract §3's defaults and ours literally, so a
// wrong Default() fails here.
func kserveDefaults() Config {
	return Config{
		HTTPPort: 8080, GRPCPort: 8081, Workers: 1, MaxThreads: 4, MaxAsyncioWorkers: 0,
		EnableGRPC: true, EnableDocsURL: false, EnableLatencyLogging: true, ConfigureLogging: true,
		LogConfigFile: "", AccessLogFormat: "", EventLoop: "auto", TimeoutKeepAlive: 65,
		ModelName: "model", PredictorHost: "", Protocol: "v1", PredictorProtocol: "v1",
		PredictorUseSSL: false, PredictorRequestTimeoutSeconds: 600, PredictorRequestRetries: 0,
		GRPCMaxSendMessageLength: 8388608, GRPCMaxReceiveMessageLength: 8388608,
		EnablePredictorHealthCheck: false, ModelDir: "", GracePeriod: 30 * time.Second,
		MaxRequestBodySize: 64 << 20, ReadHeaderTimeout: 10 * time.Second, LogLevel: "INFO", OpenAIRoutePrefix: "/openai",
	}
}

func TestDefault_MatchesKServe(t *testing.T) {
	assert.Equal(t, kserveDefaults(), Default())
}

func TestParse_NoArgsGivesDefaults(t *testing.T) {
	cfg, p := parse(t, nil, env())
	assert.Equal(t, kserveDefaults(), *cfg)
	assert.Empty(t, p.Unknown())
	assert.True(t, p.FlagSet().Parsed())
}

func TestParse_EveryFlagBothForms(t *testing.T) {
	tests := []struct {
		flag, value string
		want        func(*Config)
	}{
		{"http_port", "9000", func(c *Config) { c.HTTPPort = 9000 }},
		{"grpc_port", "9001", func(c *Config) { c.GRPCPort = 9001 }},
		{"workers", "3", func(c *Config) { c.Workers = 3 }},
		{"max_threads", "8", func(c *Config) { c.MaxThreads = 8 }},
		{"max_asyncio_workers", "16", func(c *Config) { c.MaxAsyncioWorkers = 16 }},
		{"enable_grpc", "false", func(c *Config) { c.EnableGRPC = false }},
		{"enable_docs_url", "true", func(c *Config) { c.EnableDocsURL = true }},
		{"enable_latency_logging", "False", func(c *Config) { c.EnableLatencyLogging = false }},
		{"configure_logging", "no", func(c *Config) { c.ConfigureLogging = false }},
		{"log_config_file", "/etc/log.yaml", func(c *Config) { c.LogConfigFile = "/etc/log.yaml" }},
		{"access_log_format", `%(h)s "%(r)s"`, func(c *Config) { c.AccessLogFormat = `%(h)s "%(r)s"` }},
		{"event-loop", "uvloop", func(c *Config) { c.EventLoop = "uvloop" }},
		{"timeout-keep-alive", "5", func(c *Config) { c.TimeoutKeepAlive = 5 }},
		{"model_name", "sklearn-iris", func(c *Config) { c.ModelName = "sklearn-iris" }},
		{"predictor_host", "iris-predictor.default", func(c *Config) { c.PredictorHost = "iris-predictor.default" }},
		{"protocol", "grpc-v2", func(c *Config) { c.Protocol = "grpc-v2" }},
		{"predictor_protocol", "v2", func(c *Config) { c.PredictorProtocol = "v2" }},
		{"predictor_use_ssl", "1", func(c *Config) { c.PredictorUseSSL = true }},
		{"predictor_request_timeout_seconds", "30", func(c *Config) { c.PredictorRequestTimeoutSeconds = 30 }},
		{"predictor_request_retries", "2", func(c *Config) { c.PredictorRequestRetries = 2 }},
		{"grpc_max_send_message_length", "-1", func(c *Config) { c.GRPCMaxSendMessageLength = -1 }},
		{"grpc_max_receive_message_length", "1048576", func(c *Config) { c.GRPCMaxReceiveMessageLength = 1 << 20 }},
		{"model_dir", "/mnt/models", func(c *Config) { c.ModelDir = "/mnt/models" }},
		{"grace_period", "2.5", func(c *Config) { c.GracePeriod = 2500 * time.Millisecond }},
		{"max_request_body_size", "1048576", func(c *Config) { c.MaxRequestBodySize = 1 << 20 }},
		{"read_header_timeout", "3", func(c *Config) { c.ReadHeaderTimeout = 3 * time.Second }},
		{"gc_min_heap", "16777216", func(c *Config) { c.GCMinHeap = 16 << 20 }},
		{"gc_min_heap", "64Mi", func(c *Config) { c.GCMinHeap = 64 << 20 }},
		{"max_queued_requests", "64", func(c *Config) { c.MaxQueuedRequests = 64 }},
	}
	for _, tt := range tests {
		want := kserveDefaults()
		tt.want(&want)
		for _, args := range [][]string{
			{"--" + tt.flag + "=" + tt.value},
			{"--" + tt.flag, tt.value},
		} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				cfg, p := parse(t, args, env())
				assert.Equal(t, want, *cfg)
				assert.Empty(t, p.Unknown())
			})
		}
	}
}

func TestParse_EnablePredictorHealthCheckIsStoreTrue(t *testing.T) {
	cfg, p := parse(t, []string{"--enable_predictor_health_check", "true"}, env())
	assert.True(t, cfg.EnablePredictorHealthCheck)
	// store_true takes no value: the next token is left over, as in argparse.
	assert.Equal(t, []string{"true"}, p.Unknown())

	_, err := NewParser("t").Parse([]string{"--enable_predictor_health_check=false"}, env())
	assert.EqualError(t, err, "argument --enable_predictor_health_check: ignored explicit argument 'false'")
}

func TestParse_BoolSpellings(t *testing.T) {
	spellings := map[string]bool{
		"y": true, "Y": true, "yes": true, "YES": true, "Yes": true, "t": true, "T": true,
		"true": true, "True": true, "TRUE": true, "tRuE": true, "on": true, "ON": true, "1": true,
		"n": false, "N": false, "no": false, "No": false, "f": false, "F": false,
		"false": false, "False": false, "FALSE": false, "off": false, "Off": false, "0": false,
	}
	flags := map[string]func(*Config) bool{
		"enable_grpc":            func(c *Config) bool { return c.EnableGRPC },
		"enable_docs_url":        func(c *Config) bool { return c.EnableDocsURL },
		"enable_latency_logging": func(c *Config) bool { return c.EnableLatencyLogging },
		"configure_logging":      func(c *Config) bool { return c.ConfigureLogging },
		"predictor_use_ssl":      func(c *Config) bool { return c.PredictorUseSSL },
	}
	for name, get := range flags {
		for spelling, want := range spellings {
			for _, args := range [][]string{{"--" + name + "=" + spelling}, {"--" + name, spelling}} {
				t.Run(strings.Join(args, " "), func(t *testing.T) {
					cfg, p := parse(t, args, env())
					assert.Equal(t, want, get(cfg))
					assert.Empty(t, p.Unknown())
				})
			}
		}
		t.Run("bare --"+name, func(t *testing.T) {
			cfg, _ := parse(t, []string{"--" + name, "--model_name=m"}, env())
			assert.True(t, get(cfg))
			assert.Equal(t, "m", cfg.ModelName)
		})
	}
}

func TestParse_UserFlags(t *testing.T) {
	p := NewParser("custom")
	fs := p.FlagSet()
	extra := fs.String("extra_dir", "", "extra directory")
	n := fs.Int("replicas", 1, "replicas")
	verbose := fs.Bool("verbose", false, "verbose")
	debug := fs.Bool("debug", true, "debug")
	timeout := fs.Duration("timeout", time.Second, "timeout")
	cfg, err := p.Parse([]string{
		"--model_name", "custom-model", "--extra_dir=/data", "--replicas", "3",
		"--verbose=YES", "--debug", "off", "--timeout=2m", "--unknown=1",
	}, env())
	require.NoError(t, err)
	assert.Equal(t, "custom-model", cfg.ModelName)
	assert.Equal(t, "/data", *extra)
	assert.Equal(t, 3, *n)
	assert.True(t, *verbose)
	assert.False(t, *debug)
	assert.Equal(t, 2*time.Minute, *timeout)
	assert.Equal(t, []string{"--unknown=1"}, p.Unknown())
	assert.True(t, fs.Parsed())
}

// A program's own flags added with the flag package fail in argparse's
// words for the same type (type=int: "invalid int value: 'many'").
func TestParse_UserFlagErrorNamesFlagAndValue(t *testing.T) {
	tests := []struct {
		add  func(fs *flag.FlagSet)
		arg  string
		want string
	}{
		{func(fs *flag.FlagSet) { fs.Int("replicas", 1, "") }, "--replicas=many", `argument --replicas: invalid int value: 'many'`},
		{func(fs *flag.FlagSet) { fs.Int64("limit", 1, "") }, "--limit=1.5", `argument --limit: invalid int value: '1.5'`},
		{func(fs *flag.FlagSet) { fs.Uint("n", 1, "") }, "--n=x", `argument --n: invalid int value: 'x'`},
		{func(fs *flag.FlagSet) { fs.Float64("ratio", 1, "") }, "--ratio=half", `argument --ratio: invalid float value: 'half'`},
		{func(fs *flag.FlagSet) { fs.Duration("delay", 0, "") }, "--delay=5", `argument --delay: invalid duration value: '5'`},
		{func(fs *flag.FlagSet) { fs.Int("replicas", 1, "") }, "--replicas=99999999999999999999", `argument --replicas: invalid int value: '99999999999999999999' (value out of range)`},
		{func(fs *flag.FlagSet) {
			fs.Func("label", "", func(string) error { return errors.New("no such label") })
		}, "--label=x", `argument --label: invalid value 'x': no such label`},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			p := NewParser("custom")
			p.FlagSet().SetOutput(io.Discard)
			tt.add(p.FlagSet())
			_, err := p.Parse([]string{tt.arg}, env())
			assert.EqualError(t, err, tt.want)
		})
	}
}

func TestParse_UnknownArgumentsIgnoredWithOneWarning(t *testing.T) {
	cfg, p := parse(t, []string{
		"--foo", "bar", "--model_name=m", "--baz=1", "positional", "-x", "--http_port", "9000",
		"--timeout_keep_alive=5", "--", "--http_port=1",
	}, env())
	assert.Equal(t, "m", cfg.ModelName)
	assert.Equal(t, 9000, cfg.HTTPPort)
	// argparse knows only the dashed name; the underscore form is unknown.
	assert.Equal(t, 65, cfg.TimeoutKeepAlive)
	want := []string{"--foo", "bar", "--baz=1", "positional", "-x", "--timeout_keep_alive=5", "--http_port=1"}
	assert.Equal(t, want, p.Unknown())

	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	p.LogUnknown(context.Background(), log)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 1)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &rec))
	assert.Equal(t, "WARN", rec["level"])
	assert.Equal(t, "ignoring unknown arguments: "+strings.Join(want, " "), rec["msg"])

	buf.Reset()
	_, quiet := parse(t, []string{"--model_name=m"}, env())
	quiet.LogUnknown(context.Background(), log)
	assert.Empty(t, buf.String())
}

func TestParse_Prefixes(t *testing.T) {
	cfg, _ := parse(t, []string{"--http=9000", "--grpc_p", "9001", "--max_a=7", "--event", "asyncio", "--timeout-k=3"}, env())
	assert.Equal(t, 9000, cfg.HTTPPort)
	assert.Equal(t, 9001, cfg.GRPCPort)
	assert.Equal(t, 7, cfg.MaxAsyncioWorkers)
	assert.Equal(t, "asyncio", cfg.EventLoop)
	assert.Equal(t, 3, cfg.TimeoutKeepAlive)

	// An exact name wins over longer names it prefixes.
	p := NewParser("t")
	long := p.FlagSet().String("protocol_version", "", "")
	cfg, err := p.Parse([]string{"--protocol=v2", "--protocol_v=x"}, env())
	require.NoError(t, err)
	assert.Equal(t, "v2", cfg.Protocol)
	assert.Equal(t, "x", *long)
}

func TestParse_SingleDashExactNames(t *testing.T) {
	cfg, p := parse(t, []string{"-model_name=m", "-http_port", "9000", "-model=x"}, env())
	assert.Equal(t, "m", cfg.ModelName)
	assert.Equal(t, 9000, cfg.HTTPPort)
	assert.Equal(t, []string{"-model=x"}, p.Unknown())
}

func TestParse_PythonIntSpellings(t *testing.T) {
	for in, want := range map[string]int{" 80 ": 80, "+80": 80, "8_080": 8080, "0": 0, "007": 7} {
		cfg, _ := parse(t, []string{"--http_port=" + in}, env())
		assert.Equal(t, want, cfg.HTTPPort, in)
	}
}

func TestParse_SizesAndDurations(t *testing.T) {
	tests := []struct {
		args []string
		body int64
		gp   time.Duration
	}{
		{[]string{"--max_request_body_size=64MiB"}, 64 << 20, 30 * time.Second},
		{[]string{"--max_request_body_size", "1Ki"}, 1024, 30 * time.Second},
		{[]string{"--max_request_body_size=2M"}, 2_000_000, 30 * time.Second},
		{[]string{"--grace_period=1m30s"}, 64 << 20, 90 * time.Second},
		{[]string{"--grace_period", "0"}, 64 << 20, 0},
	}
	for _, tt := range tests {
		cfg, _ := parse(t, tt.args, env())
		assert.Equal(t, tt.body, cfg.MaxRequestBodySize, tt.args)
		assert.Equal(t, tt.gp, cfg.GracePeriod, tt.args)
	}
}

func TestParse_Errors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--http_port=abc"}, "argument --http_port: invalid int value: 'abc'"},
		{[]string{"--workers", "1.5"}, "argument --workers: invalid int value: '1.5'"},
		{[]string{"--http_port=8__0"}, "argument --http_port: invalid int value: '8__0'"},
		{[]string{"--http_port="}, "argument --http_port: invalid int value: ''"},
		{[]string{"--event-loop=trio"}, "argument --event-loop: invalid choice: 'trio' (choose from 'auto', 'asyncio', 'uvloop')"},
		{[]string{"--protocol", "v3"}, "argument --protocol: invalid choice: 'v3' (choose from 'v1', 'v2', 'grpc-v2')"},
		{[]string{"--predictor_protocol=V2"}, "argument --predictor_protocol: invalid choice: 'V2' (choose from 'v1', 'v2', 'grpc-v2')"},
		{[]string{"--enable_grpc=maybe"}, "argument --enable_grpc: invalid strtobool value: 'maybe'"},
		{[]string{"--enable_grpc="}, "argument --enable_grpc: invalid strtobool value: ''"},
		// The value may follow as the next token, as in argparse: a typo
		// there is the same error, not a bare --enable_grpc (true) beside an
		// ignored unknown argument.
		{[]string{"--enable_grpc", "maybe"}, "argument --enable_grpc: invalid strtobool value: 'maybe'"},
		{[]string{"--enable_docs_url", "Flase", "--model_name=m"}, "argument --enable_docs_url: invalid strtobool value: 'Flase'"},
		{[]string{"--configure_logging", "-1"}, "argument --configure_logging: invalid strtobool value: '-1'"},
		{[]string{"--model_name"}, "argument --model_name: expected one argument"},
		{[]string{"--model_name", "--http_port=1"}, "argument --model_name: expected one argument"},
		{[]string{"--model", "x"}, "ambiguous option: --model could match --model_name, --model_dir"},
		{[]string{"--grpc_max=1"}, "ambiguous option: --grpc_max=1 could match --grpc_max_send_message_length, --grpc_max_receive_message_length"},
		{[]string{"--grace_period=soon"}, "argument --grace_period: invalid seconds value: 'soon' (want seconds like 30 or 2.5, or a duration like 1m30s)"},
		{[]string{"--grace_period=inf"}, "argument --grace_period: invalid seconds value: 'inf' (want seconds like 30 or 2.5, or a duration like 1m30s)"},
		{[]string{"--grace_period=-Infinity"}, "argument --grace_period: invalid seconds value: '-Infinity' (want seconds like 30 or 2.5, or a duration like 1m30s)"},
		{[]string{"--grace_period=nan"}, "argument --grace_period: invalid seconds value: 'nan' (want seconds like 30 or 2.5, or a duration like 1m30s)"},
		{[]string{"--grace_period=1e12"}, "argument --grace_period: invalid seconds value: '1e12' (out of range; at most 9223372036 seconds)"},
		{[]string{"--grace_period=-1e12"}, "argument --grace_period: invalid seconds value: '-1e12' (out of range; at most 9223372036 seconds)"},
		{[]string{"--grace_period=1e400"}, "argument --grace_period: invalid seconds value: '1e400' (want seconds like 30 or 2.5, or a duration like 1m30s)"},
		{[]string{"--read_header_timeout=1e10"}, "argument --read_header_timeout: invalid seconds value: '1e10' (out of range; at most 9223372036 seconds)"},
		{[]string{"--grace_period=-1"}, "argument --grace_period: must be >= 0, got -1s"},
		{[]string{"--timeout-keep-alive=9300000000"}, "argument --timeout-keep-alive: must be <= 9223372036, got 9300000000"},
		{[]string{"--max_request_body_size=lots"}, "argument --max_request_body_size: invalid size value: 'lots' (want bytes like 67108864 or 64MiB)"},
		{[]string{"--http_port", "-1"}, "argument --http_port: port -1 out of range 0-65535"},
		{[]string{"--http_port=70000", "--workers=-1"}, "argument --http_port: port 70000 out of range 0-65535\nargument --workers: must be >= 0, got -1"},
		{[]string{"--max_request_body_size=0"}, "argument --max_request_body_size: must be > 0, got 0"},
		{[]string{"--gc_min_heap=-1"}, "argument --gc_min_heap: must be >= 0, got -1"},
		{[]string{"--max_queued_requests=-1"}, "argument --max_queued_requests: must be >= 0, got -1"},
		{[]string{"--http_port=9000", "--grpc_port=9000"}, "argument --grpc_port: 9000 is also --http_port; REST and gRPC need their own ports (or --enable_grpc=false)"},
		{[]string{"--gc_min_heap=big"}, "argument --gc_min_heap: invalid size value: 'big' (want bytes like 67108864 or 64MiB)"},
		{[]string{"--model_name="}, "argument --model_name: must not be empty"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cfg, err := NewParser("t").Parse(tt.args, env())
			assert.Nil(t, cfg)
			assert.EqualError(t, err, tt.want)
		})
	}
}

func TestParse_ArgErrorUnwraps(t *testing.T) {
	_, err := NewParser("t").Parse([]string{"--http_port=abc"}, env())
	var ae *ArgError
	require.True(t, errors.As(err, &ae))
	assert.Equal(t, "--http_port", ae.Arg)
}

func TestParse_Help(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help"} {
		p := NewParser("model-server")
		var out bytes.Buffer
		p.FlagSet().SetOutput(&out)
		p.FlagSet().String("extra_dir", "", "An extra directory.")
		cfg, err := p.Parse([]string{"--model_name=m", arg}, env())
		assert.Nil(t, cfg)
		assert.ErrorIs(t, err, flag.ErrHelp)
		usage := out.String()
		assert.True(t, strings.HasPrefix(usage, "usage: model-server [-h] [--http_port HTTP_PORT]"), usage)
		for _, want := range []string{
			"  --http_port int\n    \tThe HTTP port listened to by the model server. (default 8080)\n",
			"  --event-loop {auto,asyncio,uvloop}\n    \tAccepted for compatibility and ignored: Go has no event loop. (default auto)\n",
			"  --enable_grpc bool\n    \tEnable gRPC for the model server. (default true)\n",
			"  --enable_predictor_health_check\n    \tReadiness also checks the predictor (takes no value). (default false)\n",
			"  --extra_dir string\n    \tAn extra directory.\n",
			"  --protocol {v1,v2,grpc-v2}\n    \tThe inference protocol; $PROTOCOL when not given. (default v1)\n",
		} {
			assert.Contains(t, usage, want)
		}
		// The default is printed once, after the description.
		for _, line := range strings.Split(usage, "\n") {
			assert.LessOrEqual(t, strings.Count(line, "(default"), 1, line)
		}
	}
}

// A generated project sets its own defaults (its model name, gRPC off) with
// FlagSet().Set before Parse; --help must show those, not KServe's.
func TestParse_HelpShowsDefaultsSetBeforeParse(t *testing.T) {
	p := NewParser("demo")
	var out bytes.Buffer
	p.FlagSet().SetOutput(&out)
	require.NoError(t, p.FlagSet().Set("model_name", "demo"))
	require.NoError(t, p.FlagSet().Set("enable_grpc", "false"))
	_, err := p.Parse([]string{"--http_port=9000", "--help"}, env())
	require.ErrorIs(t, err, flag.ErrHelp)
	usage := out.String()
	assert.Contains(t, usage, "  --model_name string\n    \tThe name the model is served under. (default demo)\n")
	assert.Contains(t, usage, "  --enable_grpc bool\n    \tEnable gRPC for the model server. (default false)\n")
	// A value given on the command line is not a default.
	assert.Contains(t, usage, "  --http_port int\n    \tThe HTTP port listened to by the model server. (default 8080)\n")

	cfg, err := NewParser("demo").Parse(nil, env())
	require.NoError(t, err)
	assert.Equal(t, "model", cfg.ModelName, "KServe's default stays for programs that set none")
}

func TestParse_UserHelpFlagWins(t *testing.T) {
	p := NewParser("t")
	help := p.FlagSet().Bool("help", false, "my help")
	h := p.FlagSet().String("h", "", "host")
	_, err := p.Parse([]string{"--help", "-h", "x"}, env())
	require.NoError(t, err)
	assert.True(t, *help)
	assert.Equal(t, "x", *h)
}

func TestParse_Environment(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  func(string) string
		want func(*Config)
	}{
		{"log level upper-cased", nil, env("KSERVE_LOGLEVEL", "debug"), func(c *Config) { c.LogLevel = "DEBUG" }},
		{"log level warning", nil, env("KSERVE_LOGLEVEL", "Warning"), func(c *Config) { c.LogLevel = "WARNING" }},
		{"empty log level is default", nil, env("KSERVE_LOGLEVEL", ""), func(c *Config) {}},
		{"storage uri", nil, env("STORAGE_URI", "pvc://claim/model"), func(c *Config) { c.StorageURI = "pvc://claim/model" }},
		{"PROTOCOL sets protocol", nil, env("PROTOCOL", "V2"), func(c *Config) { c.Protocol = "v2"; c.ProtocolEnv = "v2" }},
		{"--protocol beats PROTOCOL", []string{"--protocol=v1"}, env("PROTOCOL", "v2"), func(c *Config) { c.Protocol = "v1"; c.ProtocolEnv = "v2" }},
		{"PROTOCOL leaves predictor_protocol", nil, env("PROTOCOL", "grpc-v2"), func(c *Config) { c.Protocol = "grpc-v2"; c.ProtocolEnv = "grpc-v2" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := kserveDefaults()
			tt.want(&want)
			cfg, _ := parse(t, tt.args, tt.env)
			assert.Equal(t, want, *cfg)
		})
	}
}

func TestParse_EnvironmentErrors(t *testing.T) {
	_, err := NewParser("t").Parse(nil, env("KSERVE_LOGLEVEL", "verbose"))
	assert.EqualError(t, err, `argument environment variable KSERVE_LOGLEVEL: unknown level "VERBOSE" (choose from CRITICAL, FATAL, ERROR, WARN, WARNING, INFO, DEBUG, NOTSET)`)
	_, err = NewParser("t").Parse(nil, env("PROTOCOL", "v3"))
	assert.EqualError(t, err, `argument environment variable PROTOCOL: invalid choice: 'v3' (choose from 'v1', 'v2', 'grpc-v2')`)
}

func TestParse_NilGetenvReadsProcessEnvironment(t *testing.T) {
	t.Setenv("KSERVE_LOGLEVEL", "error")
	t.Setenv("STORAGE_URI", "file:///models")
	cfg, _ := parse(t, nil, nil)
	assert.Equal(t, "ERROR", cfg.LogLevel)
	assert.Equal(t, "file:///models", cfg.StorageURI)
}

func TestParse_ValuesThatLookLikeOptions(t *testing.T) {
	cfg, _ := parse(t, []string{"--access_log_format", "-%(h)s %(r)s", "--model_name", "-"}, env())
	assert.Equal(t, "-%(h)s %(r)s", cfg.AccessLogFormat)
	assert.Equal(t, "-", cfg.ModelName)
	cfg, _ = parse(t, []string{"--model_name=-m", "--grpc_max_send_message_length", "-1"}, env())
	assert.Equal(t, "-m", cfg.ModelName)
	assert.Equal(t, -1, cfg.GRPCMaxSendMessageLength)
}

// BenchmarkParse parses the arguments the KServe controller injects plus a
// few user flags; start-up cost, not a hot path.
func BenchmarkParse(b *testing.B) {
	args := []string{
		"--model_name=iris", "--model_dir=/mnt/models", "--http_port=8080", "--workers", "1",
		"--enable_grpc=False", "--max_asyncio_workers", "8", "--predictor_host=iris-predictor",
		"--extra=1", "--unknown", "x",
	}
	getenv := env("KSERVE_LOGLEVEL", "info", "PROTOCOL", "v2")
	b.ReportAllocs()
	for b.Loop() {
		p := NewParser("bench")
		p.FlagSet().String("extra", "", "")
		if _, err := p.Parse(args, getenv); err != nil {
			b.Fatal(err)
		}
	}
}

// The KServe controller adds --workers <containerConcurrency> to a custom
// transformer's or explainer's arguments, and 0 (Knative's "unlimited") is
// common: KServe then runs one process, and so must we.
func TestParse_WorkersZeroIsOneProcess(t *testing.T) {
	cfg, _ := parse(t, []string{"--workers", "0"}, env())
	assert.Equal(t, 1, cfg.Workers)
}

// KSERVE_OPENAI_ROUTE_PREFIX set empty is no prefix, as KServe's
// os.environ.get reads it; a getenv cannot tell empty from unset, so
// through Parse both keep the default, and ParseLookup tells them apart.
func TestParseLookup_EmptyOpenAIPrefixIsNoPrefix(t *testing.T) {
	lookup := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	cfg, err := NewParser("test").ParseLookup(nil, lookup(map[string]string{"KSERVE_OPENAI_ROUTE_PREFIX": ""}))
	require.NoError(t, err)
	assert.Equal(t, "", cfg.OpenAIRoutePrefix, "set empty")
	cfg, err = NewParser("test").ParseLookup(nil, lookup(map[string]string{}))
	require.NoError(t, err)
	assert.Equal(t, "/openai", cfg.OpenAIRoutePrefix, "unset")
	cfg, err = NewParser("test").ParseLookup(nil, lookup(map[string]string{"KSERVE_OPENAI_ROUTE_PREFIX": "llm", "KSERVE_LOGLEVEL": ""}))
	require.NoError(t, err)
	assert.Equal(t, "/llm", cfg.OpenAIRoutePrefix, "a leading / added")
	assert.Equal(t, "INFO", cfg.LogLevel, "any other variable set empty reads as unset")

	t.Setenv("KSERVE_OPENAI_ROUTE_PREFIX", "")
	cfg, err = NewParser("test").Parse(nil, env())
	require.NoError(t, err)
	assert.Equal(t, "/openai", cfg.OpenAIRoutePrefix, "a getenv reads empty as unset")
	cfg, err = NewParser("test").ParseLookup(nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "", cfg.OpenAIRoutePrefix, "nil lookup is os.LookupEnv")
	cfg, err = NewParser("test").Parse(nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "", cfg.OpenAIRoutePrefix, "nil getenv reads the environment as ParseLookup does")
}
