package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestArgs_SayWhatToPassInstead: the positional arguments a hurried user
// gets wrong are answered with what the command takes, not cobra's
// `unknown command "./m" for "kserve-gen deploy"` or `accepts at most
// 1 arg(s), received 2`, and nothing is written.
func TestArgs_SayWhatToPassInstead(t *testing.T) {
	proj := writeProject(t, restProject())
	cwd := t.TempDir()
	t.Chdir(cwd)
	tests := []cliError{
		{[]string{"deploy", proj}, "kserve-gen deploy takes no arguments: to deploy the project in " + proj + ", pass --dir " + proj},
		{[]string{"build", proj}, "kserve-gen build takes no arguments: to build the project in " + proj + ", pass --dir " + proj},
		{[]string{"deploy", "registry.example.com/m:v1"}, `kserve-gen deploy takes no arguments, got "registry.example.com/m:v1": the settings are flags (kserve-gen deploy --help lists them)`},
		{[]string{"new", "my", "model", "--template", "rest", "--yes"}, `kserve-gen new takes one NAME, got 2 arguments ("my" "model"): a NAME has no spaces; did you mean my-model?`},
		{[]string{"new", "My", "Model", "-t", "rest", "--yes"}, `kserve-gen new takes one NAME, got 2 arguments ("My" "Model"): a NAME has no spaces; did you mean my-model?`},
		{[]string{"new", "a", "b_c", "-t", "rest", "--yes"}, `kserve-gen new takes one NAME, got 2 arguments ("a" "b_c"): a NAME has no spaces`},
		// A blank --dir was answered "--dir    : no such directory" (deploy)
		// or "    is not a kserve-gen project" (build), the spaces unseen.
		{[]string{"deploy", "--dir", "   ", "--name", "m", "--image", "r.example.com/m:v1"}, `--dir "   " names no folder: pass the project's folder, or leave --dir out for the current one`},
		{[]string{"build", "--dir", ""}, `--dir "" names no folder: pass the project's folder, or leave --dir out for the current one`},
		{[]string{"modelcar", "--image", "r.example.com/m:v1"}, "kserve-gen modelcar needs the model folder: kserve-gen modelcar DIR --image IMAGE"},
		{[]string{"modelcar", "a", "b", "--image", "r.example.com/m:v1"}, `kserve-gen modelcar packages one folder, got 2 arguments ("a" "b"): put the files in one folder`},
	}
	runCLIErrors(t, tests, func(tt cliError) string { return filepath.Base(tt.args[0]) + " " + tt.args[1] })
	entries, err := filepath.Glob(filepath.Join(cwd, "*"))
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing was written")
}

// TestUnknownFlag_SuggestsTheNearestFlag: a misspelt flag, or the model
// server's own spelling (--http_port) given to the CLI, is answered with
// the flag meant, as cobra does for commands; nothing runs.
func TestUnknownFlag_SuggestsTheNearestFlag(t *testing.T) {
	proj := writeProject(t, restProject())
	t.Chdir(t.TempDir())
	tests := []cliError{
		{[]string{"deploy", "--dir", proj, "--imgae", "r.example.com/m:v1"}, "unknown flag: --imgae (did you mean --image?)"},
		{[]string{"deploy", "--dir", proj, "--http_port", "9000"}, "unknown flag: --http_port (did you mean --http-port?)"},
		{[]string{"deploy", "--dir", proj, "--min-replica", "1"}, "unknown flag: --min-replica (did you mean --min-replicas?)"},
		{[]string{"new", "demo", "--templete", "rest", "--yes"}, "unknown flag: --templete (did you mean --template?)"},
		{[]string{"new", "demo", "--frobnicate", "--yes"}, "unknown flag: --frobnicate"},
		{[]string{"new", "demo", "-x", "--yes"}, "unknown shorthand flag: 'x' in -x"},
	}
	runCLIErrors(t, tests, func(tt cliError) string { return tt.args[0] + " " + tt.want })
}

// TestBadFlagValue_SaysWhatTheFlagTakes: a value a number, duration or
// boolean flag cannot parse is answered with what the flag takes, in its
// unit where it has one (--timeout is SECONDS, --startup-timeout a
// duration), not pflag's `invalid argument "2m" for "--timeout" flag:
// strconv.ParseInt: parsing "2m": invalid syntax`; nothing runs.
func TestBadFlagValue_SaysWhatTheFlagTakes(t *testing.T) {
	proj := writeProject(t, restProject())
	t.Chdir(t.TempDir())
	tests := []cliError{
		{[]string{"deploy", "--dir", proj, "--timeout", "2m"}, `--timeout "2m": want a whole number of SECONDS`},
		{[]string{"deploy", "--dir", proj, "--batcher-max-latency", "500ms"}, `--batcher-max-latency "500ms": want a whole number of MILLISECONDS`},
		{[]string{"deploy", "--dir", proj, "--gpu", "1.5"}, `--gpu "1.5": want a whole number`},
		{[]string{"new", "demo", "-t", "rest", "--gpu", "one", "--yes"}, `--gpu "one": want a whole number`},
		{[]string{"deploy", "--dir", proj, "--startup-timeout", "600"}, `--startup-timeout "600": want a duration with its unit, such as 90s, 15m or 1h30m`},
		{[]string{"deploy", "--dir", proj, "--apply=yes"}, `--apply "yes": want true or false (the flag alone is true)`},
	}
	runCLIErrors(t, tests, func(tt cliError) string { return tt.args[0] + " " + tt.want })
}

// cliError is a command line the CLI refuses, and its exact error.
type cliError struct {
	args []string
	want string
}

// runCLIErrors runs each command line in a subtest named by name: each is
// refused with its exact error, and prints nothing on stdout.
func runCLIErrors(t *testing.T, tests []cliError, name func(cliError) string) {
	t.Helper()
	for _, tt := range tests {
		t.Run(name(tt), func(t *testing.T) {
			f, _, out, _ := testFactory(t)
			err := runCLI(t, f, tt.args...)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			assert.Empty(t, out.String())
		})
	}
}
