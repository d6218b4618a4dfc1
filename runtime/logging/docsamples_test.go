package logging

import (
	"bufio"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The log lines the repository's Markdown shows (docs/logging.md, README.md,
// examples/logging/README.md) were captured from the real server; this test
// keeps them true. A sample is the fenced block right after a comment
//
//	<!-- logsample: NAME -->
//
// (invisible on GitHub), NAME being a scenario of docSampleScenarios: the
// test runs examples/passthrough as the scenario says, sends it the request
// the docs' curl command sends, and requires every line of the block to be
// a line the server wrote on the scenario's stream, once only what must
// vary between runs is normalised (normaliseLogLine). Source positions such
// as [server.go:serve():318] are compared as they are: when the code moves,
// the failure prints the line the server wrote now, to paste into the doc.
// A line "..." in a block stands for lines left out.
//
// A scenario may take its configuration file from the Markdown too, from
// the block after <!-- logconfig: NAME -->.

// docSampleRequest is what the docs' curl command sends:
//
//	curl -s -H 'x-request-id: 5f1b3f5e' localhost:8080/v1/models/passthrough:predict -d '{"instances": [[1, 2]]}'
var docSampleRequest = predictRequest{
	requestID: "5f1b3f5e", userAgent: "curl/7.88.1", contentType: "application/x-www-form-urlencoded",
}

type docSampleScenario struct {
	// args are the server's flags after --model_name, --http_port and
	// --grpc_port; "{config}" stands for the path of the config file.
	args []string
	// config names the <!-- logconfig: NAME --> block written to a file
	// named configFile; configs are instead whole files, one server run
	// each (for samples of start-up errors).
	config, configFile string
	configs            map[string]string
	// stream is the output the sample shows: "stderr", "stdout" or
	// "stderr+stdout" (a block mixing both, as README.md's).
	stream string
	// shown are texts the Markdown file of the sample must contain: the
	// command line the sample is said to come from.
	shown []string
	// normalise applies after normaliseLogLine, for what varies in this
	// scenario only.
	normalise func(string) string
}

var docSampleScenarios = map[string]docSampleScenario{
	"default":        {stream: "stderr+stdout"},
	"default-stderr": {stream: "stderr"},
	"default-stdout": {stream: "stdout"},
	"seed-yaml-stderr": {
		args:   []string{"--log_config_file=" + filepath.Join(examples, "logging.yaml")},
		stream: "stderr", shown: []string{"--log_config_file=../logging/logging.yaml"},
	},
	"json-formatter": {
		args: []string{"--log_config_file={config}"}, config: "json-formatter", configFile: "logging.yaml",
		stream: "stdout",
	},
	"access-log-format": {
		args:   []string{`--access_log_format=%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s`},
		stream: "stdout",
		shown:  []string{`--access_log_format='%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s'`},
		// %(D)s, the duration in microseconds, ends the line.
		normalise: func(s string) string { return trailingNumber.ReplaceAllString(s, " <µs>") },
	},
	"config-errors": {
		args:   []string{"--log_config_file={config}"},
		stream: "stderr",
		configs: map[string]string{
			"logging.yaml":       "version: 1\nhandlers:\n  kserve: {class: logging.Foo}\n",
			"level/logging.yaml": "version: 1\nloggers:\n  kserve: {level: LOUD}\n",
			"logging.json":       "{\n  \"version\": 1,\n  \"handlers\": {,\n}\n",
			"logging.ini": "[loggers]\nkeys=root\n\n[handlers]\nkeys=h\n\n[formatters]\nkeys=\n\n" +
				"[logger_root]\nhandlers=h\n\n[handler_h]\nclass=logging.FooHandler\n",
		},
		// The files are at a temporary path, the docs' in /etc/kserve.
		normalise: func(s string) string { return configPath.ReplaceAllString(s, "log config <dir>/$1:") },
	},
}

var (
	trailingNumber = regexp.MustCompile(` \d+$`)
	configPath     = regexp.MustCompile(`log config \S*/(logging\.[a-z]+):`)
)

// The normalisations of what differs from run to run, in order.
var logLineVariables = []struct {
	re   *regexp.Regexp
	repl string
}{
	// %(asctime)s.%(msecs)03d, and Python's default asctime with a comma.
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[.,]\d{3}`), "<time>"},
	// %(t)s of the access log format.
	{regexp.MustCompile(`\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]`), "[<time>]"},
	// %(process)s after the time, and in uvicorn's start and stop lines.
	{regexp.MustCompile(`^<time> \d+ `), "<time> <pid> "},
	{regexp.MustCompile(`server process \[\d+\]`), "server process [<pid>]"},
	// Ports of the listening and the client addresses.
	{regexp.MustCompile(`((?:\d{1,3}\.){3}\d{1,3}|\[[0-9a-fA-F:]*\]):\d+`), "$1:<port>"},
	// %(process)s after the access line's client address.
	{regexp.MustCompile(`:<port> \d+ - "`), `:<port> <pid> - "`},
	// The time Load took.
	{regexp.MustCompile(`loaded in \S+$`), "loaded in <duration>"},
	// min(32, CPUs+4): the machine's.
	{regexp.MustCompile(`worker threads as \d+$`), "worker threads as <n>"},
	// curl's version in the User-Agent.
	{regexp.MustCompile(`curl/[0-9.]+`), "curl/<version>"},
}

// msValue is a step's time in the latency line and the JSON fields.
var msValue = regexp.MustCompile(`(_ms"?: )([0-9][0-9.e+-]*)`)

// normaliseLogLine replaces what varies between runs (times, durations,
// process ids, ports, the machine's CPU count) with placeholders, and
// leaves everything else, source positions included, as it is. A step's
// time stays when it is 0: KServe's value for a step that did not run.
func normaliseLogLine(s string) string {
	for _, v := range logLineVariables {
		s = v.re.ReplaceAllString(s, v.repl)
	}
	return msValue.ReplaceAllStringFunc(s, func(m string) string {
		sub := msValue.FindStringSubmatch(m)
		if sub[2] == "0" {
			return m
		}
		return sub[1] + "<ms>"
	})
}

func TestNormaliseLogLine(t *testing.T) {
	for in, want := range map[string]string{
		`2026-12-03 06:32:49.736 31410 kserve INFO [server.go:serve():318] Registering model: passthrough`:                                      `<time> <pid> kserve INFO [server.go:serve():318] Registering model: passthrough`,
		`2026-12-03 06:32:49.736 31410 uvicorn.error INFO:     Started server process [31410]`:                                                  `<time> <pid> uvicorn.error INFO:     Started server process [<pid>]`,
		`2026-12-03 06:32:49.737 31410 kserve INFO [server.go:serve.func5():416] Starting HTTP server on [::]:8080`:                             `<time> <pid> kserve INFO [server.go:serve.func5():416] Starting HTTP server on [::]:<port>`,
		`2026-12-03 06:25:21.116 server.go:loadModels.func1():547 Model passthrough loaded in 43µs`:                                             `<time> server.go:loadModels.func1():547 Model passthrough loaded in <duration>`,
		`2026-12-03 06:32:50.530 31410 kserve.trace requestId: 5f1b3f5e, preprocess_ms: 0, explain_ms: 0, predict_ms: 5e-05, postprocess_ms: 0`: `<time> <pid> kserve.trace requestId: 5f1b3f5e, preprocess_ms: 0, explain_ms: 0, predict_ms: <ms>, postprocess_ms: 0`,
		`2026-12-03 06:32:50.530 uvicorn.access INFO:     127.0.0.1:35588 31410 - "POST /v1/models/passthrough%3Apredict HTTP/1.1" 200 OK`:      `<time> uvicorn.access INFO:     127.0.0.1:<port> <pid> - "POST /v1/models/passthrough%3Apredict HTTP/1.1" 200 OK`,
		`{"asctime": "2026-11-24 18:10:14,150", "predict_ms": 0.002, "explain_ms": 0}`:                                                          `{"asctime": "<time>", "predict_ms": <ms>, "explain_ms": 0}`,
		`127.0.0.1:45042 - - [24/Nov/2026:18:11:58 +0000] "POST / HTTP/1.1" 200 23 "-" "curl/7.88.1" 143`:                                       `127.0.0.1:<port> - - [<time>] "POST / HTTP/1.1" 200 23 "-" "curl/<version>" 143`,
	} {
		assert.Equal(t, want, normaliseLogLine(in))
	}
}

// docBlock is a fenced block of a Markdown file after a marker comment.
type docBlock struct {
	file  string // relative to the repository root
	line  int    // of the block's first line
	lines []string
}

var docMarker = regexp.MustCompile(`^<!-- (logsample|logconfig): ([a-z0-9-]+) -->$`)

// markedBlocks reads every Markdown file of the repository for marked
// blocks: kind ("logsample" or "logconfig") → name → blocks.
func markedBlocks(t *testing.T, root string) map[string]map[string][]docBlock {
	t.Helper()
	out := map[string]map[string][]docBlock{"logsample": {}, "logconfig": {}}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".md") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		var (
			kind, name string // of the marker waiting for its block
			block      *docBlock
			n          int
		)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			n++
			line := sc.Text()
			switch {
			case block != nil && strings.HasPrefix(line, "```"):
				out[kind][name] = append(out[kind][name], *block)
				block, kind = nil, ""
			case block != nil:
				block.lines = append(block.lines, line)
			case kind != "" && strings.HasPrefix(line, "```"):
				block = &docBlock{file: rel, line: n + 1}
			case kind != "" && strings.TrimSpace(line) != "":
				return fmt.Errorf("%s:%d: <!-- %s: %s --> is followed by %q, not a fenced block", rel, n, kind, name, line)
			default:
				if m := docMarker.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
					kind, name = m[1], m[2]
				} else if l := strings.TrimSpace(line); strings.HasPrefix(l, "<!-- logsample") || strings.HasPrefix(l, "<!-- logconfig") {
					return fmt.Errorf("%s:%d: malformed marker %q (want <!-- logsample: NAME --> or <!-- logconfig: NAME -->)", rel, n, line)
				}
			}
		}
		if kind != "" {
			return fmt.Errorf("%s: <!-- %s: %s --> has no fenced block after it", rel, kind, name)
		}
		return sc.Err()
	})
	require.NoError(t, err)
	return out
}

func TestProcess_DocLogSamples(t *testing.T) {
	root := filepath.Join("..", "..")
	blocks := markedBlocks(t, root)
	for name := range blocks["logsample"] {
		_, ok := docSampleScenarios[name]
		assert.True(t, ok, "<!-- logsample: %s --> in %s names no scenario of docSampleScenarios", name, blocks["logsample"][name][0].file)
	}
	names := make([]string, 0, len(docSampleScenarios))
	for name := range docSampleScenarios {
		names = append(names, name)
	}
	slices.Sort(names)

	// Runs are shared between scenarios with the same flags and files
	// (the default configuration's stderr and stdout samples).
	runs := map[string]serverRun{}
	for _, name := range names {
		sc := docSampleScenarios[name]
		t.Run(name, func(t *testing.T) {
			samples := blocks["logsample"][name]
			require.NotEmpty(t, samples, "no <!-- logsample: %s --> block in the repository's Markdown", name)
			for _, b := range samples {
				text, err := os.ReadFile(filepath.Join(root, b.file))
				require.NoError(t, err)
				for _, s := range sc.shown {
					assert.Contains(t, string(text), s, "%s shows the sample %s as the output of a command it does not show", b.file, name)
				}
			}

			configs := sc.configs
			if sc.config != "" {
				cb := blocks["logconfig"][sc.config]
				require.Len(t, cb, 1, "<!-- logconfig: %s --> blocks", sc.config)
				configs = map[string]string{sc.configFile: strings.Join(cb[0].lines, "\n") + "\n"}
			}
			if configs == nil {
				configs = map[string]string{"": ""}
			}
			var real []string
			for _, file := range slices.Sorted(maps.Keys(configs)) {
				args := sc.args
				if file != "" {
					path := filepath.Join(t.TempDir(), file)
					require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
					require.NoError(t, os.WriteFile(path, []byte(configs[file]), 0o644))
					args = nil
					for _, a := range sc.args {
						args = append(args, strings.ReplaceAll(a, "{config}", path))
					}
				}
				key := strings.Join(args, "\x00") + "\x00" + configs[file]
				run, ok := runs[key]
				if !ok {
					run = runServerWith(t, docSampleRequest, args...)
					runs[key] = run
				}
				if strings.Contains(sc.stream, "stderr") {
					real = append(real, run.stderr...)
				}
				if strings.Contains(sc.stream, "stdout") {
					real = append(real, run.stdout...)
				}
			}
			norm := func(s string) string {
				s = normaliseLogLine(s)
				if sc.normalise != nil {
					s = sc.normalise(s)
				}
				return s
			}
			for _, b := range samples {
				checkSample(t, b, real, norm)
			}
		})
	}
}

// sourcePosition is the [file.go:func():line] of a kserve line, to find the
// line a sample meant when only its position moved.
var sourcePosition = regexp.MustCompile(`\.go:[A-Za-z0-9_.]+\(\):\d+`)

// checkSample requires each line of the block to match a distinct line the
// server wrote, printing for a line that does not the one the server wrote
// in its place, or else everything it wrote.
func checkSample(t *testing.T, b docBlock, real []string, norm func(string) string) {
	t.Helper()
	used := make([]bool, len(real))
	for i, s := range b.lines {
		if strings.TrimSpace(s) == "..." {
			continue
		}
		want := norm(s)
		found := slices.IndexFunc(real, func(r string) bool { return norm(r) == want })
		for found >= 0 && used[found] {
			next := slices.IndexFunc(real[found+1:], func(r string) bool { return norm(r) == want })
			if next < 0 {
				found = -1
				break
			}
			found += 1 + next
		}
		if found >= 0 {
			used[found] = true
			continue
		}
		pos := func(s string) string { return sourcePosition.ReplaceAllString(norm(s), ".go:<position>") }
		moved := slices.IndexFunc(real, func(r string) bool { return pos(r) == pos(s) })
		if moved >= 0 {
			t.Errorf("%s:%d: the sample line\n\t%s\nnames another source position than the server's line\n\t%s",
				b.file, b.line+i, s, real[moved])
			continue
		}
		t.Errorf("%s:%d: the server wrote no line like\n\t%s\n(normalised: %s)\nit wrote:\n\t%s",
			b.file, b.line+i, s, want, strings.Join(real, "\n\t"))
	}
}
