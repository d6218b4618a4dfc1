package logging

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/internal/freeport"
)

// These tests run the real example server (examples/passthrough) as a
// process, send it a request over HTTP, stop it with SIGTERM and check what
// it wrote on stderr and stdout.

var (
	buildOnce sync.Once
	serverBin string
	buildErr  error
)

// TestMain removes the server binary the tests built (25 MB a run).
func TestMain(m *testing.M) {
	code := m.Run()
	if serverBin != "" {
		_ = os.RemoveAll(filepath.Dir(serverBin))
	}
	os.Exit(code)
}

func passthroughBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs examples/passthrough")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kserve-gen-logging")
		if err != nil {
			buildErr = err
			return
		}
		serverBin = filepath.Join(dir, "passthrough")
		cmd := exec.Command("go", "build", "-o", serverBin, ".")
		cmd.Dir = filepath.Join("..", "..", "examples", "passthrough")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build examples/passthrough: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return serverBin
}

// freePorts returns n distinct free ports (freeport.Ports).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports, err := freeport.Ports(n)
	require.NoError(t, err)
	return ports
}

type serverRun struct {
	stdout, stderr []string
	exitErr        error
}

// predictRequest is the one request runServer sends, a v1 predict.
type predictRequest struct {
	query, requestID, userAgent, contentType string
}

// testRequest is the request the shape tests send.
var testRequest = predictRequest{query: "?verbose=1", requestID: "req-42", userAgent: "logging-test/1.0"}

// runServer starts the server with args, sends one v1 predict request with
// an x-request-id, stops it and returns its output.
func runServer(t *testing.T, args ...string) serverRun {
	t.Helper()
	return runServerWith(t, testRequest, args...)
}

// runServerWith is runServer sending pr.
func runServerWith(t *testing.T, pr predictRequest, args ...string) serverRun {
	t.Helper()
	bin := passthroughBinary(t)
	ports := freePorts(t, 2)
	httpPort, grpcPort := ports[0], ports[1]
	args = append([]string{"--model_name=passthrough",
		"--http_port=" + strconv.Itoa(httpPort), "--grpc_port=" + strconv.Itoa(grpcPort)}, args...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KSERVE_LOGLEVEL=INFO")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	base := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	ready := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !ready; {
		select {
		case err := <-done:
			return serverRun{stdout: lines(&stdout.b), stderr: lines(&stderr.b), exitErr: err}
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get(base + "/v1/models/passthrough")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusOK
		}
	}
	require.True(t, ready, "server did not become ready; stderr:\n%s", stderr.String())

	req, err := http.NewRequest(http.MethodPost, base+"/v1/models/passthrough:predict"+pr.query, strings.NewReader(`{"instances": [[1, 2]]}`))
	require.NoError(t, err)
	req.Header.Set("x-request-id", pr.requestID)
	req.Header.Set("User-Agent", pr.userAgent)
	if pr.contentType != "" {
		req.Header.Set("Content-Type", pr.contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not stop on SIGTERM; stderr:\n%s", stderr.String())
	}
	return serverRun{stdout: lines(&stdout.b), stderr: lines(&stderr.b), exitErr: err}
}

// matching returns the lines that match re.
func matching(ls []string, re string) []string {
	r := regexp.MustCompile("^" + re + "$")
	var out []string
	for _, l := range ls {
		if r.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// assertAll checks every line has one of the shapes.
func assertAll(t *testing.T, stream string, ls []string, shapes ...string) {
	t.Helper()
	res := make([]*regexp.Regexp, len(shapes))
	for i, s := range shapes {
		res[i] = regexp.MustCompile("^" + s + "$")
	}
	for _, l := range ls {
		ok := false
		for _, re := range res {
			ok = ok || re.MatchString(l)
		}
		assert.True(t, ok, "%s line of unexpected shape: %q", stream, l)
	}
}

func TestProcess_DefaultConfiguration(t *testing.T) {
	run := runServer(t)
	require.NoError(t, run.exitErr, strings.Join(run.stderr, "\n"))
	pid := `\d+`
	assertAll(t, "stderr", run.stderr,
		ts+` `+pid+` kserve (INFO|WARNING|ERROR) \[[a-z_]+\.go:[A-Za-z0-9_.]+\(\):\d+\] .+`,
		ts+` `+pid+` kserve\.trace requestId: .+`,
		ts+` `+pid+` uvicorn(\.error)? [A-Z]+: +.+`,
	)
	assert.Len(t, matching(run.stderr, ts+` `+pid+` kserve INFO \[[a-z_]+\.go:[A-Za-z0-9_.]+\(\):\d+\] Registering model: passthrough`), 1)
	assert.Len(t, matching(run.stderr, ts+` `+pid+` kserve\.trace requestId: req-42, preprocess_ms: [0-9.e-]+, explain_ms: 0, predict_ms: [0-9.e-]+, postprocess_ms: [0-9.e-]+`), 1,
		strings.Join(run.stderr, "\n"))
	assertAll(t, "stdout", run.stdout,
		ts+` uvicorn\.access INFO:     127\.0\.0\.1:\d+ `+pid+` - "[A-Z]+ [^ ]+ HTTP/1\.1" \d{3} [A-Za-z ]+`)
	assert.Len(t, matching(run.stdout, ts+` uvicorn\.access INFO:     127\.0\.0\.1:\d+ `+pid+` - "POST /v1/models/passthrough%3Apredict\?verbose=1 HTTP/1\.1" 200 OK`), 1,
		strings.Join(run.stdout, "\n"))
}

// The seed's configuration as JSON, YAML and INI: everything on stderr, no
// process ids, the access record through the "uvicorn" handler.
func TestProcess_SeedConfigurationFiles(t *testing.T) {
	for _, file := range []string{"logging.json", "logging.yaml", "logging.ini"} {
		t.Run(file, func(t *testing.T) {
			path, err := filepath.Abs(filepath.Join(examples, file))
			require.NoError(t, err)
			run := runServer(t, "--log_config_file="+path)
			require.NoError(t, run.exitErr, strings.Join(run.stderr, "\n"))
			assert.Empty(t, run.stdout)
			assertAll(t, "stderr", run.stderr,
				ts+` [a-z_]+\.go:[A-Za-z0-9_.]+\(\):\d+ .+`,
				ts+` kserve\.trace requestId: .+`,
				ts+` uvicorn(\.error|\.access)? [A-Z]+: +.+`,
			)
			assert.Len(t, matching(run.stderr, ts+` [a-z_]+\.go:[A-Za-z0-9_.]+\(\):\d+ Registering model: passthrough`), 1)
			assert.Len(t, matching(run.stderr, ts+` kserve\.trace requestId: req-42, preprocess_ms: [0-9.e-]+, explain_ms: 0, predict_ms: [0-9.e-]+, postprocess_ms: [0-9.e-]+`), 1)
			assert.Len(t, matching(run.stderr, ts+` uvicorn\.access INFO:     127\.0\.0\.1:\d+ - "POST /v1/models/passthrough%3Apredict\?verbose=1 HTTP/1\.1" 200`), 1,
				strings.Join(run.stderr, "\n"))
		})
	}
}

func TestProcess_AccessLogFormat(t *testing.T) {
	run := runServer(t, `--access_log_format=%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}i)s %(D)s`)
	require.NoError(t, run.exitErr, strings.Join(run.stderr, "\n"))
	assertAll(t, "stdout", run.stdout,
		`127\.0\.0\.1:\d+ - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "[A-Z]+ [^ ]+ HTTP/1\.1" \d{3} \d+ "-" "[^"]*" [^ ]+ \d+`)
	assert.Len(t, matching(run.stdout, `127\.0\.0\.1:\d+ - - \[[^]]+\] "POST /v1/models/passthrough:predict HTTP/1\.1" 200 \d+ "-" "logging-test/1\.0" req-42 \d+`), 1,
		strings.Join(run.stdout, "\n"))
	assert.Empty(t, matching(run.stdout, `.*uvicorn\.access.*`), "the uvicorn.access line is replaced")
}

// A broken configuration file stops the server before it serves, with one
// line naming the file and the key.
func TestProcess_BadConfigurationFile(t *testing.T) {
	bin := passthroughBinary(t)
	path := writeFile(t, "bad.yaml", "version: 1\nhandlers:\n  kserve: {class: logging.Foo}\n")
	var stderr bytes.Buffer
	ports := freePorts(t, 2)
	cmd := exec.Command(bin, "--model_name=passthrough", "--http_port="+strconv.Itoa(ports[0]),
		"--grpc_port="+strconv.Itoa(ports[1]), "--log_config_file="+path)
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.NotZero(t, exit.ExitCode())
	assert.Contains(t, stderr.String(), `log config `+path+`: handlers.kserve.class: unknown handler class "logging.Foo"`)
}
