package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeCurl matches the local curl command a generated README gives, and
// readmeWant the expected output block after it.
var (
	readmeCurl = regexp.MustCompile("(?m)^curl -H \"Content-Type: application/json\" http://localhost:8080(/\\S+) -d @./input.json$")
	readmeWant = regexp.MustCompile("(?s)Expected output:\n\n```json\n(.*?)\n```")
)

// TestNew_ReadmeWalkthrough does what a new user does: kserve-gen new with
// --yes, go test ./... in the project, start the server and send the
// README's curl request; the answer must be the README's expected output.
func TestNew_ReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs generated projects")
	}
	work, bin := buildCLI(t)

	// The onnx project needs ONNX Runtime (scripts/setup-onnx.sh).
	for _, tmpl := range []string{"rest", "grpc", "onnx"} {
		t.Run(tmpl, func(t *testing.T) {
			name := "walk-" + tmpl
			runIn(t, work, bin, "new", name, "--template", tmpl, "--yes")
			dir := filepath.Join(work, name)
			if tmpl == "rest" {
				runIn(t, dir, "go", "test", "./...")
			}
			server := filepath.Join(dir, name)
			runIn(t, dir, "go", "build", "-o", server, ".")

			path, want, body := readmeRequest(t, dir)

			port := freePort(t)
			ctx, cancel := context.WithCancel(context.Background())
			srv := exec.CommandContext(ctx, server, fmt.Sprintf("--http_port=%d", port), "--enable_grpc=false")
			srv.Dir = dir
			var logs bytes.Buffer
			srv.Stdout, srv.Stderr = &logs, &logs
			require.NoError(t, srv.Start())
			t.Cleanup(func() {
				cancel()
				_ = srv.Wait()
				if t.Failed() {
					t.Logf("server output:\n%s", logs.String())
				}
			})
			base := fmt.Sprintf("http://127.0.0.1:%d", port)
			waitReady(t, base+"/v2/health/ready")

			code, got := postJSON(t, base+path, body)
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, want, got, "the README's expected output")
		})
	}
}

// postJSON posts body as JSON to url and returns the status and the answer.
func postJSON(t *testing.T, url string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(got)
}

// buildCLI builds kserve-gen into a new temporary folder, returning both.
func buildCLI(t *testing.T) (work, bin string) {
	t.Helper()
	work = t.TempDir()
	bin = filepath.Join(work, "kserve-gen")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return work, bin
}

// readmeRequest returns the local request of a generated project's README:
// the path its curl posts input.json to, the expected output it shows, and
// input.json.
func readmeRequest(t *testing.T, dir string) (path, want string, body []byte) {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	curl := readmeCurl.FindSubmatch(readme)
	w := readmeWant.FindSubmatch(readme)
	require.NotNil(t, curl, "README has no local curl command")
	require.NotNil(t, w, "README has no expected output")
	body, err = os.ReadFile(filepath.Join(dir, "input.json"))
	require.NoError(t, err)
	return string(curl[1]), string(w[1]), body
}

func runIn(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after a minute (last error %v)", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
