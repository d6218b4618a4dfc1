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
// new user does: new --yes, go test ./..., start the server and run the
// README's local curl commands with curl itself (its port swapped for a
// free one). A block of commands followed by an output block (the chat,
// the streamed chat, the embeddings) must print that output, a command's
// after another's, but for each answer's id and time; every command must
// succeed.
func TestNew_OpenAIReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs generated projects")
	}
	work, bin := buildCLI(t)
	runIn(t, work, bin, "new", "walk-chat", "--template", "openai", "--yes")
	dir := filepath.Join(work, "walk-chat")
	runIn(t, dir, "go", "test", "./...")
	server := filepath.Join(dir, "walk-chat")
	runIn(t, dir, "go", "build", "-o", server, ".")
	srv := startServer(t, server, dir, nil)

	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	_, local, _ := strings.Cut(string(readme), "## Run it locally")
	local, _, _ = strings.Cut(local, "### OpenAI's clients")
	blocks := readmeBlock.FindAllStringSubmatch(local, -1)
	ran, compared := 0, 0
	for i, b := range blocks {
		if b[1] != "bash" || !strings.Contains(b[2], "localhost:8080/openai/") {
			continue
		}
		var outs []string
		for line := range strings.SplitSeq(b[2], "\n") {
			cmd := exec.Command("sh", "-c", strings.Replace(line, "http://localhost:8080", srv.URL, 1)+" -sS --fail-with-body")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s: %s", line, out)
			outs = append(outs, strings.TrimRight(string(out), "\n"))
			ran++
		}
		if i+1 < len(blocks) && blocks[i+1][1] != "bash" {
			want := openAIStamps.ReplaceAllString(blocks[i+1][2], "STAMP")
			got := openAIStamps.ReplaceAllString(strings.Join(outs, "\n"), "STAMP")
			assert.Equal(t, want, got, "the README's output of %s", b[2])
			compared++
		}
	}
	assert.Equal(t, 6, ran, "the README's curl commands: chat, streamed chat, completion, models, embeddings as numbers and as base64")
	assert.Equal(t, 3, compared, "the README's outputs: the chat's, the streamed chat's and the embeddings'")
	srv.stop(t)
}
