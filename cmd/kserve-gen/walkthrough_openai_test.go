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

	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	_, local, _ := strings.Cut(string(readme), "## Run it locally")
	local, _, _ = strings.Cut(local, end)
	blocks := readmeBlock.FindAllStringSubmatch(local, -1)
	for i, b := range blocks {
		if b[1] != "bash" || !strings.Contains(b[2], marker) {
			continue
		}
		var outs []string
		for line := range strings.SplitSeq(b[2], "\n") {
			if !strings.Contains(line, marker) {
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
			want := stamps.ReplaceAllString(blocks[i+1][2], "STAMP")
			got := stamps.ReplaceAllString(strings.Join(outs, "\n"), "STAMP")
			assert.Equal(t, want, got, "the README's output of %s", b[2])
			compared++
		}
	}
	srv.stop(t)
	return ran, compared
}
