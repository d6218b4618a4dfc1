package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The commands of a transformer README: the predictor project it makes,
// how it starts it, how it starts the transformer, the flags example, and
// (v2) the grpc-v2 variant, which adds flags to both.
var (
	readmePredictorNew   = regexp.MustCompile(`(?m)^kserve-gen new (\S+) --template rest --dir (\S+) --yes$`)
	readmePredictorRun   = regexp.MustCompile(`(?m)^\(cd (\S+) && go run \. (--model_name=\S+) --http_port=8085\) &$`)
	readmeTransformerRun = regexp.MustCompile(`(?m)^go run \. --predictor_host=localhost:8085$`)
	readmeFlagsExample   = regexp.MustCompile("for example\n`go run \\. ([^`]+)`")
	readmeGRPCPredictor  = regexp.MustCompile("start the one above with `([^`]+)`\\s+added, and this one with `([^`]+)`")
)

// TestNew_TransformerReadmeWalkthrough follows a transformer README as a
// new user does: make the predictor project it names, start it, start the
// transformer against it and send the README's curl request, whose answer
// must be the README's expected output. Then the README's flags example
// (it once had no --predictor_host, so it exited at once) and, for v2, its
// grpc-v2 commands (which once left the predictor's port to guess). The
// README's fixed ports (8085, 8086, 9000) are swapped for free ones.
func TestNew_TransformerReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs generated projects")
	}
	work, bin := buildCLI(t)
	for _, protocol := range []string{"v1", "v2"} {
		t.Run(protocol, func(t *testing.T) {
			name := "tw-" + protocol
			runIn(t, work, bin, "new", name, "--template", "transformer", "--protocol", protocol, "--yes")
			dir := filepath.Join(work, name)
			b, err := os.ReadFile(filepath.Join(dir, "README.md"))
			require.NoError(t, err)
			readme := string(b)

			mk := readmePredictorNew.FindStringSubmatch(readme)
			require.NotNil(t, mk, "the README's kserve-gen new for the predictor")
			runIn(t, dir, bin, "new", mk[1], "--template", "rest", "--dir", mk[2], "--yes")
			run := readmePredictorRun.FindStringSubmatch(readme)
			require.NotNil(t, run, "the README's command starting the predictor")
			require.Equal(t, mk[2], run[1], "the predictor is started where it was made")
			require.Regexp(t, readmeTransformerRun, readme, "the README's command starting the transformer")

			predDir := filepath.Join(dir, mk[2])
			predBin := filepath.Join(predDir, mk[1])
			runIn(t, predDir, "go", "build", "-o", predBin, ".")
			txBin := filepath.Join(dir, name)
			runIn(t, dir, "go", "build", "-o", txBin, ".")
			path, want, body := readmeRequest(t, dir)
			ask := func(srv *server) {
				t.Helper()
				code, got := postJSON(t, srv.URL+path, body)
				assert.Equal(t, http.StatusOK, code)
				assert.Equal(t, want, got, "the README's expected output")
			}

			pred := startServer(t, predBin, predDir, nil, run[2])
			host := strings.TrimPrefix(pred.URL, "http://")
			ask(startServer(t, txBin, dir, nil, "--predictor_host="+host))

			flags := readmeFlagsExample.FindStringSubmatch(readme)
			require.NotNil(t, flags, "the README's flags example")
			args := strings.Fields(strings.NewReplacer("localhost:8085", host, "--http_port=9000", "").Replace(flags[1]))
			ask(startServer(t, txBin, dir, nil, args...))

			g := readmeGRPCPredictor.FindStringSubmatch(readme)
			if protocol == "v1" {
				assert.Nil(t, g, "a v1 transformer's Preprocess makes a v1 payload, which grpc-v2 cannot carry")
				return
			}
			require.NotNil(t, g, "the README's grpc-v2 commands")
			grpcPort := fmt.Sprint(freePort(t))
			predArgs := append([]string{run[2]}, strings.Fields(strings.ReplaceAll(g[1], "8086", grpcPort))...)
			startServer(t, predBin, predDir, nil, predArgs...)
			ask(startServer(t, txBin, dir, nil, strings.Fields(strings.ReplaceAll(g[2], "8086", grpcPort))...))
		})
	}
}
