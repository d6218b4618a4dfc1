package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The testdata/argparse_*.txt files are what Python 3.11's argparse writes to
// standard error for a parser with the same options in the same order (KServe's
// parser as a parent, then ours, then the program's) and the same arguments:
// see the comment at the top of testdata/argparse_golden.py, which made them.
// A bad value of KServe's flags is reported by KServe's own parser, which
// "import kserve" runs first: its usage has no -h and none of the program's
// flags.
func TestParse_ErrorIsArgparses(t *testing.T) {
	tests := []struct {
		golden  string
		prog    string
		user    []string // flags the program adds
		columns string
		args    []string
		msg     string
	}{
		{"argparse_error_cols80.txt", "model-server", []string{"verbose", "extra_dir"}, "80", []string{"--http_port=abc"}, "argument --http_port: invalid int value: 'abc'"},
		{"argparse_error_cols120.txt", "/usr/local/bin/model-server", []string{"verbose", "extra_dir"}, "120", []string{"--http_port=abc"}, "argument --http_port: invalid int value: 'abc'"},
		{"argparse_error_cols40.txt", "model-server", []string{"verbose", "extra_dir"}, "40", []string{"--http_port=abc"}, "argument --http_port: invalid int value: 'abc'"},
		{"argparse_error_longprog.txt", "a-very-long-program-name-that-takes-most-of-the-line-1234567", nil, "80", []string{"--workers", "1.5"}, "argument --workers: invalid int value: '1.5'"},
		{"argparse_error_ambiguous.txt", "model-server", nil, "80", []string{"--model"}, "ambiguous option: --model could match --model_name, --model_dir"},
		// The program's flags and --help are the seed parser's: its usage.
		{"argparse_error_userflag.txt", "model-server", []string{"verbose", "replicas:int"}, "80", []string{"--replicas=many"}, "argument --replicas: invalid int value: 'many'"},
		{"argparse_error_ambiguous_help.txt", "model-server", nil, "80", []string{"--h", "9000"}, "ambiguous option: --h could match --help, --http_port"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", tt.golden))
			require.NoError(t, err)
			p := NewParser(tt.prog)
			var out bytes.Buffer
			p.FlagSet().SetOutput(&out)
			for _, spec := range tt.user {
				if name, ok := strings.CutSuffix(spec, ":int"); ok {
					p.FlagSet().Int(name, 1, "a flag of the program")
				} else {
					p.FlagSet().String(spec, "", "a flag of the program")
				}
			}
			cfg, err := p.Parse(tt.args, env("COLUMNS", tt.columns))
			assert.Nil(t, cfg)
			assert.ErrorIs(t, err, ErrUsage)
			assert.EqualError(t, err, tt.msg, "the error reads as the message alone")
			assert.Equal(t, string(want), out.String())
		})
	}
}

// Errors found after parsing (validation, the environment) are printed the
// same way, one "prog: error:" line each, and still unwrap to ArgError.
func TestParse_LaterErrorsPrintedLikeArgparse(t *testing.T) {
	p := NewParser("m")
	var out bytes.Buffer
	p.FlagSet().SetOutput(&out)
	_, err := p.Parse([]string{"--http_port=70000", "--workers=-1"}, env("COLUMNS", "80"))
	require.ErrorIs(t, err, ErrUsage)
	text := out.String()
	assert.True(t, strings.HasPrefix(text, "usage: m [--http_port HTTP_PORT] [--grpc_port GRPC_PORT] [--workers WORKERS]\n         [--max_threads MAX_THREADS]\n"), text)
	assert.True(t, strings.HasSuffix(text, "\nm: error: argument --http_port: port 70000 out of range 0-65535\nm: error: argument --workers: must be >= 0, got -1\n"), text)

	p = NewParser("m")
	out.Reset()
	p.FlagSet().SetOutput(&out)
	_, err = p.Parse(nil, env("COLUMNS", "80", "PROTOCOL", "v3"))
	var ae *ArgError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "environment variable PROTOCOL", ae.Arg)
	assert.True(t, strings.HasSuffix(out.String(), "\nm: error: argument environment variable PROTOCOL: invalid choice: 'v3' (choose from 'v1', 'v2', 'grpc-v2')\n"), out.String())
}

// -h shows the same usage block as an error, then the options in that order.
func TestParse_HelpStartsWithArgparseUsage(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "argparse_error_userflag.txt"))
	require.NoError(t, err)
	usage, _, _ := strings.Cut(string(want), "model-server: error:")
	p := NewParser("model-server")
	var out bytes.Buffer
	p.FlagSet().SetOutput(&out)
	p.FlagSet().String("verbose", "", "a flag of the program")
	p.FlagSet().Int("replicas", 1, "a flag of the program")
	_, err = p.Parse([]string{"-h"}, env("COLUMNS", "80"))
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.NotErrorIs(t, err, ErrUsage)
	help := out.String()
	require.True(t, strings.HasPrefix(help, usage+"\noptions:\n  -h, --help\n    \tshow this help message and exit\n  --http_port int\n"), help)
	assert.Less(t, strings.Index(help, "  --enable_predictor_health_check\n"), strings.Index(help, "  --model_dir string\n"))
	assert.Less(t, strings.Index(help, "  --gc_min_heap bytes\n"), strings.Index(help, "  --replicas int\n"))
}

// COLUMNS as Python reads it: a positive number, else (no terminal in a test) 80.
func TestColumns(t *testing.T) {
	assert.Equal(t, 120, columns(env("COLUMNS", "120")))
	if _, err := os.Stdout.Stat(); err == nil {
		for _, v := range []string{"", "0", "-5", "wide"} {
			got := columns(env("COLUMNS", v))
			assert.True(t, got == 80 || got > 0, "COLUMNS=%q: %d", v, got)
		}
	}
}

// A prefix of --help is --help, and --h is ambiguous, as in argparse
// (with the seed's -h/--help): "--h could match --help, --http_port".
func TestParse_HelpPrefixes(t *testing.T) {
	for _, arg := range []string{"--he", "--hel"} {
		p := NewParser("m")
		var out bytes.Buffer
		p.FlagSet().SetOutput(&out)
		_, err := p.Parse([]string{arg}, env("COLUMNS", "80"))
		assert.ErrorIs(t, err, flag.ErrHelp, arg)
		assert.NotErrorIs(t, err, ErrUsage, arg)
		assert.Contains(t, out.String(), "\noptions:\n", arg)
	}
	p := NewParser("m")
	var out bytes.Buffer
	p.FlagSet().SetOutput(&out)
	_, err := p.Parse([]string{"--h"}, env("COLUMNS", "80"))
	assert.ErrorIs(t, err, ErrUsage)
	assert.EqualError(t, err, "ambiguous option: --h could match --help, --http_port")
	assert.True(t, strings.HasSuffix(out.String(), "\nm: error: ambiguous option: --h could match --help, --http_port\n"), out.String())

	// Without the parser's help (the program took --help), --he is the
	// program's flag.
	p = NewParser("m")
	p.FlagSet().SetOutput(&out)
	help := p.FlagSet().Bool("help", false, "my help")
	_, err = p.Parse([]string{"--he"}, env())
	require.NoError(t, err)
	assert.True(t, *help)
}
