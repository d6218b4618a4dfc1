package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// timeSeriesStamps are what differ between two forecasts: the ids (random
// UUIDs) and the time.
var timeSeriesStamps = regexp.MustCompile(`"id":"[0-9a-f-]{36}"|"created_at":[0-9]+`)

// TestNew_TimeSeriesReadmeWalkthrough follows a timeseries project's
// README as a new user does: new --yes, go test ./..., start the server
// and run the README's local curl commands with curl itself (its port
// swapped for a free one). A block of commands followed by an output block
// must print that output, a command's after another's, but for the ids and
// the time; every command must succeed.
func TestNew_TimeSeriesReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs generated projects")
	}
	work, bin := buildCLI(t)
	runIn(t, work, bin, "new", "walk-forecast", "--template", "timeseries", "--yes")
	dir := filepath.Join(work, "walk-forecast")
	runIn(t, dir, "go", "test", "./...")
	server := filepath.Join(dir, "walk-forecast")
	runIn(t, dir, "go", "build", "-o", server, ".")
	srv := startServer(t, server, dir, nil)

	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	_, local, _ := strings.Cut(string(readme), "## Run it locally")
	local, _, _ = strings.Cut(local, "## Build the image")
	blocks := readmeBlock.FindAllStringSubmatch(local, -1)
	ran, compared := 0, 0
	for i, b := range blocks {
		if b[1] != "bash" || !strings.Contains(b[2], "localhost:8080/v1/") {
			continue
		}
		var outs []string
		for line := range strings.SplitSeq(b[2], "\n") {
			if !strings.Contains(line, "localhost:8080/v1/") {
				continue // health and metrics, which other tests check
			}
			line, _, _ = strings.Cut(line, "   #") // the README's comments
			cmd := exec.Command("sh", "-c", strings.Replace(line, "http://localhost:8080", srv.URL, 1)+" -sS --fail-with-body")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s: %s", line, out)
			outs = append(outs, strings.TrimRight(string(out), "\n"))
			ran++
		}
		if i+1 < len(blocks) && blocks[i+1][1] != "bash" {
			want := timeSeriesStamps.ReplaceAllString(blocks[i+1][2], "STAMP")
			got := timeSeriesStamps.ReplaceAllString(strings.Join(outs, "\n"), "STAMP")
			assert.Equal(t, want, got, "the README's output of %s", b[2])
			compared++
		}
	}
	assert.Equal(t, 4, ran, "the README's curl commands: the forecast of input.json, the multivariate one, the model list and the readiness")
	assert.Equal(t, 2, compared, "the README's outputs: input.json's forecast, and the multivariate forecast with the list")
	srv.stop(t)
}
