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

var (
	// readmeBlock is a fenced block of a README: its language and text.
	readmeBlock = regexp.MustCompile("(?s)```(\\w*)\n(.*?)\n```")
	// openAIStamps are what differ between two answers: the id and the time.
	openAIStamps = regexp.MustCompile(`"id":"((chat)?cmpl|embd)-[^"]*"|"created":[0-9]+`)
)

// TestNew_OpenAIReadmeWalkthrough follows an openai project's README as a
// new user does (walkReadme): the chat, the streamed chat, the completion,
// the model list and the embeddings, their outputs as the README shows them.
func TestNew_OpenAIReadmeWalkthrough(t *testing.T) {
	ran, compared := walkReadme(t, "openai", "walk-chat", "### OpenAI's clients", "localhost:8080/openai/", openAIStamps)
	assert.Equal(t, 6, ran, "the README's curl commands: chat, streamed chat, completion, models, embeddings as numbers and as base64")
	assert.Equal(t, 3, compared, "the README's outputs: the chat's, the streamed chat's and the embeddings'")
}

// walkReadme follows the README of a new project of template (named name)
// as a new user does: new --yes, go test ./..., start the server and run
// the README's local curl commands — the lines holding marker in the bash
// blocks between "## Run it locally" and end — with curl itself, its port
// swapped for a free one. A block of commands followed by an output block
// must print that output, a command's after another's, but for what stamps
// matches (ids, times); every command must succeed. It returns how many
// commands ran and how many outputs were compared.
func walkReadme(t *testing.T, template, name, end, marker string, stamps *regexp.Regexp) (ran, compared int) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs generated projects")
	}
	work, bin := buildCLI(t)
	runIn(t, work, bin, "new", name, "--template", template, "--yes")
	dir := filepath.Join(work, name)
	runIn(t, dir, "go", "test", "./...")
	server := filepath.Join(dir, name)
	runIn(t, dir, "go", "build", "-o", server, ".")
	srv := startServer(t, server, dir, nil)

	for _, x := range readmeExchanges(t, dir, end, marker) {
		got := x.run(t, dir, srv.URL)
		ran += len(x.cmds)
		if x.want != nil {
			assert.Equal(t, stamps.ReplaceAllString(*x.want, "STAMP"), stamps.ReplaceAllString(got, "STAMP"),
				"the README's output of %s", strings.Join(x.cmds, "\n"))
			compared++
		}
	}
	srv.stop(t)
	return ran, compared
}

// readmeExchange is a block of a README's local commands and the output
// block after it, if one follows.
type readmeExchange struct {
	cmds []string
	want *string
}

// readmeExchanges are the exchanges of the README in dir between "## Run
// it locally" and end: each bash block's lines holding marker (others are
// health and metrics, which other tests check), the README's comments cut
// off, with the output block that follows it.
func readmeExchanges(t *testing.T, dir, end, marker string) []readmeExchange {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	_, local, _ := strings.Cut(string(readme), "## Run it locally")
	local, _, _ = strings.Cut(local, end)
	blocks := readmeBlock.FindAllStringSubmatch(local, -1)
	var xs []readmeExchange
	for i, b := range blocks {
		if b[1] != "bash" || !strings.Contains(b[2], marker) {
			continue
		}
		var x readmeExchange
		for line := range strings.SplitSeq(b[2], "\n") {
			if strings.Contains(line, marker) {
				line, _, _ = strings.Cut(line, "   #")
				x.cmds = append(x.cmds, line)
			}
		}
		if i+1 < len(blocks) && blocks[i+1][1] != "bash" {
			x.want = &blocks[i+1][2]
		}
		xs = append(xs, x)
	}
	require.NotEmpty(t, xs, "the README's local commands (%s)", marker)
	return xs
}

// run runs the exchange's commands with curl itself from dir, against the
// server at base instead of localhost:8080, and returns their outputs, one
// after another; every command must succeed.
func (x readmeExchange) run(t *testing.T, dir, base string) string {
	t.Helper()
	var outs []string
	for _, line := range x.cmds {
		cmd := exec.Command("sh", "-c", strings.Replace(line, "http://localhost:8080", base, 1)+" -sS --fail-with-body")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s: %s", line, out)
		outs = append(outs, strings.TrimRight(string(out), "\n"))
	}
	return strings.Join(outs, "\n")
}
