package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/forward"

	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"

	"github.com/kserve-gen/kserve-gen/runtime/internal/freeport"
)

// serveEnv makes this test binary a model server (runtime.Serve over an
// echo model, with the process's arguments as its flags) instead of running
// the tests, so tests can run the server, and --workers its workers, as
// real processes.
const serveEnv = "KSERVE_GEN_TEST_SERVE"

// blockEnv makes that server's model hang in every predict.
const blockEnv = "KSERVE_GEN_TEST_BLOCK"

// unloadEnv gives that server's model an Unload taking this long (a
// time.Duration), which then prints "unloaded" and the worker number.
const unloadEnv = "KSERVE_GEN_TEST_UNLOAD"

// loadErrEnv makes that server's model's Load fail with this message.
const loadErrEnv = "KSERVE_GEN_TEST_LOAD_ERROR"

// failingLoad is the echo model with a Load that fails.
type failingLoad struct {
	*echoModel
	err error
}

func (m failingLoad) Load(context.Context) error { return m.err }

// transformerEnv makes that server a transformer instead: its model echo
// forwards to the predictor its flags name (forward.FromConfig).
const transformerEnv = "KSERVE_GEN_TEST_TRANSFORMER"

// slowUnloadModel is the echo model with an Unload that takes its time.
type slowUnloadModel struct {
	*echoModel
	took time.Duration
}

func (m slowUnloadModel) Unload(context.Context) error {
	time.Sleep(m.took) // ignores its context, as a model flushing state to disk may
	fmt.Fprintf(os.Stderr, "unloaded (worker %q)\n", os.Getenv("KSERVE_GEN_WORKER"))
	return nil
}

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) != "" {
		m := &echoModel{name: "echo"}
		if os.Getenv(blockEnv) != "" {
			m.block = make(chan struct{}) // never closed: every predict hangs
		}
		var served runtime.Model = m
		if d, err := time.ParseDuration(os.Getenv(unloadEnv)); err == nil {
			served = slowUnloadModel{m, d}
		}
		var err error
		if msg := os.Getenv(loadErrEnv); msg != "" {
			served = failingLoad{m, errors.New(msg)}
		}
		if os.Getenv(transformerEnv) != "" {
			served, err = transformer()
		}
		if err == nil {
			err = runtime.Serve(served)
		}
		if errors.Is(err, config.ErrUsage) {
			os.Exit(2) // printed by the parser, as argparse does
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err) // once: the runtime logs none of the errors it returns
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// transformer is model echo forwarding to the predictor that the
// process's flags name.
func transformer() (runtime.Model, error) {
	cfg, err := config.NewParser(os.Args[0]).Parse(os.Args[1:], os.Getenv)
	if err != nil {
		return nil, err
	}
	return forward.NewModel("echo", forward.FromConfig(*cfg, os.Getenv))
}

// serverProc is this test binary run as a server.
type serverProc struct {
	cmd  *exec.Cmd
	out  *runtimetest.LogBuffer // stdout and stderr
	done chan error
}

// startProc runs a server process with args and env added; the test's end
// kills it if it is still running.
func startProc(t *testing.T, env []string, args ...string) *serverProc {
	t.Helper()
	p := &serverProc{cmd: exec.Command(os.Args[0], args...), out: &runtimetest.LogBuffer{}, done: make(chan error, 1)}
	p.cmd.Env = append(append(os.Environ(), serveEnv+"=1"), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait returns the process's exit status, failing the test if it has not
// exited within d.
func (p *serverProc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err == nil {
			return 0
		}
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "%v", err)
		return ee.ExitCode()
	case <-time.After(d):
		t.Fatalf("still running after %s; output:\n%s", d, p.out)
		return -1
	}
}

// freePorts returns n distinct free ports (freeport.Ports).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports, err := freeport.Ports(n)
	require.NoError(t, err)
	return ports
}

// --workers N with its HTTP port held by another process (without
// SO_REUSEPORT) stops at start with the error a single process gives,
// rather than restarting workers that can never bind it.
func TestWorkers_PortTakenIsFatal(t *testing.T) {
	held, err := net.Listen("tcp", ":0")
	require.NoError(t, err)
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	p := startProc(t, nil, "--workers=2", fmt.Sprintf("--http_port=%d", port), fmt.Sprintf("--grpc_port=%d", freePorts(t, 1)[0]))
	assert.Equal(t, 1, p.wait(t, 10*time.Second))
	want := fmt.Sprintf("listen on http port %d: listen tcp :%d: bind: address already in use\n", port, port)
	assert.True(t, strings.HasSuffix(p.out.String(), want), "output ends with %q:\n%s", want, p.out)
	assert.NotContains(t, p.out.String(), "Started worker")
}

// --workers N: at shutdown a worker gets the time its own shutdown may
// take — the grace period's drain, then its models' Unload — before the
// supervisor kills it; it was killed at the grace period, mid-Unload.
func TestWorkers_ShutdownLeavesWorkersTimeToUnload(t *testing.T) {
	p := startProc(t, []string{unloadEnv + "=2s"},
		"--workers=2", "--grace_period=1", "--enable_grpc=false", fmt.Sprintf("--http_port=%d", freePorts(t, 1)[0]))
	require.Eventually(t, func() bool { return strings.Count(p.out.String(), "Starting HTTP server on") == 2 },
		20*time.Second, 10*time.Millisecond, "workers serving: %s", p.out)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, p.wait(t, 20*time.Second), p.out.String())
	out := p.out.String()
	assert.Contains(t, out, `unloaded (worker "0")`, out)
	assert.Contains(t, out, `unloaded (worker "1")`, out)
	assert.NotContains(t, out, "killing it", out)
}

// --workers N: STORAGE_URI is resolved once, by the supervisor, even with
// "--" among the arguments (the workers get the folder before it), and the
// unknown arguments are reported once, not again by each worker.
func TestWorkers_ResolveAndWarnOnce(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, []string{"STORAGE_URI=" + dir},
		"--workers=2", "--enable_grpc=false", fmt.Sprintf("--http_port=%d", freePorts(t, 1)[0]), "--not_a_flag=1", "--", "rest")
	require.Eventually(t, func() bool { return strings.Count(p.out.String(), "Starting HTTP server on") == 2 },
		20*time.Second, 10*time.Millisecond, "workers serving: %s", p.out)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, p.wait(t, 10*time.Second), p.out.String())
	out := p.out.String()
	assert.Equal(t, 1, strings.Count(out, "Model directory from STORAGE_URI: "+dir), out)
	assert.Equal(t, 1, strings.Count(out, "ignoring unknown arguments: --not_a_flag=1"), out)
}

// SIGTERM with --grace_period=0 stops an idle server with exit status 0.
func TestSIGTERM_ZeroGracePeriodExitsZero(t *testing.T) {
	ports := freePorts(t, 2)
	p := startProc(t, nil, "--grace_period=0", fmt.Sprintf("--http_port=%d", ports[0]), fmt.Sprintf("--grpc_port=%d", ports[1]))
	require.Eventually(t, func() bool { return strings.Contains(p.out.String(), "Model echo loaded") },
		10*time.Second, 10*time.Millisecond, "server started: %s", p.out)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, p.wait(t, 10*time.Second), p.out.String())
	assert.NotContains(t, p.out.String(), "context deadline exceeded")
}

// A STORAGE_URI that cannot be resolved says so once, not
// "STORAGE_URI: resolving STORAGE_URI: ...".
func TestStorageURIErrorIsPrefixedOnce(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	cfg := config.Default()
	cfg.ModelName = "echo"
	cfg.StorageURI = "file://" + missing
	srv := runtime.NewServer(cfg, runtime.WithLogOutput(io.Discard, io.Discard))
	_, err := srv.ResolveModelDir(context.Background())
	assert.EqualError(t, err, "resolving STORAGE_URI: Local path file://"+missing+" does not exist.")
	err = srv.Run(context.Background(), &echoModel{name: "echo"})
	assert.EqualError(t, err, "resolving STORAGE_URI: Local path file://"+missing+" does not exist.")
}

// A second SIGINT (Ctrl-C) or SIGTERM while the server drains ends it at
// once, as uvicorn's second Ctrl-C does, instead of waiting out the grace
// period for a request that hangs.
func TestSecondSignalEndsTheDrain(t *testing.T) {
	ports := freePorts(t, 2)
	p := startProc(t, []string{blockEnv + "=1"}, "--grace_period=60", fmt.Sprintf("--http_port=%d", ports[0]), fmt.Sprintf("--grpc_port=%d", ports[1]))
	require.Eventually(t, func() bool { return strings.Contains(p.out.String(), "Model echo loaded") },
		10*time.Second, 10*time.Millisecond, "server started: %s", p.out)
	url := fmt.Sprintf("http://localhost:%d/v1/models/echo:predict", ports[0])
	go func() {
		if resp, err := http.Post(url, "application/json", strings.NewReader(`{"instances":[1]}`)); err == nil {
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://localhost:%d/metrics", ports[0]))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), `kserve_requests_in_flight{model_name="echo"} 1`)
	}, 10*time.Second, 10*time.Millisecond, "request in flight: %s", p.out)

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	require.Eventually(t, func() bool { return strings.Contains(p.out.String(), "Stopping the model server") },
		10*time.Second, 10*time.Millisecond, "stopping: %s", p.out)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		ws := ee.Sys().(syscall.WaitStatus)
		assert.True(t, ws.Signaled() && ws.Signal() == syscall.SIGINT, "ended by the second SIGINT: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatalf("still draining 10s after the second SIGINT; output:\n%s", p.out)
	}
}

// A second server on the HTTP port of a running one stops at start, as
// uvicorn does, whether it runs one process or --workers N. With
// SO_REUSEPORT on every listener both servers of the same user bound the
// port and the kernel split the connections between them (a collocated
// transformer and predictor left on 8080 each answered half the
// requests).
func TestServer_PortOfAnotherServerIsFatal(t *testing.T) {
	port := freePorts(t, 1)[0]
	first := startProc(t, nil, "--enable_grpc=false", fmt.Sprintf("--http_port=%d", port))
	require.Eventually(t, func() bool { return strings.Contains(first.out.String(), "Starting HTTP server on") },
		20*time.Second, 10*time.Millisecond, "first server serving: %s", first.out)
	want := fmt.Sprintf("listen on http port %d: listen tcp :%d: bind: address already in use\n", port, port)
	for _, workers := range []string{"--workers=1", "--workers=2"} {
		second := startProc(t, nil, workers, "--enable_grpc=false", fmt.Sprintf("--http_port=%d", port))
		assert.Equal(t, 1, second.wait(t, 20*time.Second), "%s: %s", workers, second.out)
		assert.True(t, strings.HasSuffix(second.out.String(), want), "%s: output ends with %q:\n%s", workers, want, second.out)
	}
	require.NoError(t, first.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, first.wait(t, 10*time.Second), first.out.String())
}

// runToExit runs this test binary as a server with env and args added
// until it exits, and returns its exit status and the lines of its standard
// output and standard error, each without the time, with the process id as
// <pid> and [file.go:func():line] as [<source>] (the lines move with the
// code).
func runToExit(t *testing.T, env []string, args ...string) (code int, stdout, stderr []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a server that did not stop
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), serveEnv+"=1"), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "still running; stderr:\n%s", errOut.String())
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		code = ee.ExitCode()
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ` + pid + ` `)
	source := regexp.MustCompile(`\[\w+\.go:[^\]]+\]`)
	lines := func(s string) []string {
		var l []string
		for line := range strings.Lines(s) {
			line = stamp.ReplaceAllString(strings.TrimSuffix(line, "\n"), "")
			line = source.ReplaceAllString(line, "[<source>]")
			l = append(l, strings.ReplaceAll(line, "["+pid+"]", "[<pid>]"))
		}
		return l
	}
	return code, lines(out.String()), lines(errOut.String())
}

// A model whose Load fails at start-up stops the server, and its error
// reaches the terminal once: after the shutdown lines, printed by the main
// from what Run returns, with exit status 1, as KServe's server ends with
// the traceback of a load() that raised. Run also logged it, in an ERROR
// "Stopping the model server error=…" line, so the main's print repeated
// it.
func TestLoadErrorAtStart_ReportedOnce(t *testing.T) {
	port := freePorts(t, 1)[0]
	const loadErr = "read weights.bin: no such file or directory"
	code, stdout, stderr := runToExit(t, []string{loadErrEnv + "=" + loadErr},
		"--enable_grpc=false", "--max_asyncio_workers=2", fmt.Sprintf("--http_port=%d", port))
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Equal(t, []string{
		"kserve INFO [<source>] Registering model: echo",
		"kserve INFO [<source>] Setting max asyncio worker threads as 2",
		"uvicorn.error INFO:     Started server process [<pid>]",
		"uvicorn.error INFO:     Waiting for application startup.",
		fmt.Sprintf("kserve INFO [<source>] Starting HTTP server on [::]:%d", port),
		"uvicorn.error INFO:     Application startup complete.",
		fmt.Sprintf("uvicorn.error INFO:     Uvicorn running on http://0.0.0.0:%d (Press CTRL+C to quit)", port),
		"kserve INFO [<source>] Stopping the model server",
		"uvicorn.error INFO:     Shutting down",
		"uvicorn.error INFO:     Waiting for application shutdown.",
		"uvicorn.error INFO:     Application shutdown complete.",
		"uvicorn.error INFO:     Finished server process [<pid>]",
		"load model echo: " + loadErr,
	}, stderr)
	assert.Equal(t, 1, strings.Count(strings.Join(stderr, "\n"), loadErr))
}

// An HTTP port another process holds stops the server before its models
// load, the error once, printed by the main from what Run returns (Run
// logs none of the errors it returns), with exit status 1 as uvicorn's
// sys.exit(1).
func TestPortInUseAtStart_ReportedOnce(t *testing.T) {
	held, err := net.Listen("tcp", ":0")
	require.NoError(t, err)
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	code, stdout, stderr := runToExit(t, nil, "--enable_grpc=false", "--max_asyncio_workers=2", fmt.Sprintf("--http_port=%d", port))
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Equal(t, []string{
		"kserve INFO [<source>] Registering model: echo",
		"kserve INFO [<source>] Setting max asyncio worker threads as 2",
		"uvicorn.error INFO:     Started server process [<pid>]",
		"uvicorn.error INFO:     Waiting for application startup.",
		fmt.Sprintf("listen on http port %d: listen tcp :%d: bind: address already in use", port, port),
	}, stderr)
}

// The lines KServe 0.20's server writes as it starts and, on SIGTERM, stops
// (recorded from its real process with scripts/kserve-diff-grpc.py's
// set-up): uvicorn's on "uvicorn.error", then KServe's for its gRPC server.
// Log pipelines and start scripts wait for "Application startup complete."
// or "Uvicorn running on".
func TestProcess_StartAndStopLinesAsKServe(t *testing.T) {
	ports := freePorts(t, 2)
	p := startProc(t, nil, fmt.Sprintf("--http_port=%d", ports[0]), fmt.Sprintf("--grpc_port=%d", ports[1]))
	require.Eventually(t, func() bool { return strings.Contains(p.out.String(), "Uvicorn running on") },
		10*time.Second, 10*time.Millisecond, "server started: %s", p.out)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, p.wait(t, 10*time.Second), p.out.String())
	pid := p.cmd.Process.Pid
	uv := fmt.Sprintf(" %d uvicorn.error INFO:     ", pid)
	ks := fmt.Sprintf(" %d kserve INFO [", pid)
	// In this order; KServe's own lines carry their file:function():line.
	want := []string{
		uv + fmt.Sprintf("Started server process [%d]\n", pid),
		uv + "Waiting for application startup.\n",
		ks, "] Starting gRPC server with 4 workers\n",
		ks, fmt.Sprintf("] Starting gRPC server on [::]:%d\n", ports[1]),
		uv + "Application startup complete.\n",
		uv + fmt.Sprintf("Uvicorn running on http://0.0.0.0:%d (Press CTRL+C to quit)\n", ports[0]),
		ks, "] Stopping the model server\n",
		uv + "Shutting down\n",
		uv + "Waiting for application shutdown.\n",
		uv + "Application shutdown complete.\n",
		uv + fmt.Sprintf("Finished server process [%d]\n", pid),
	}
	out := p.out.String()
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		require.GreaterOrEqual(t, i, 0, "%q after the lines before it in:\n%s", w, out)
		rest = rest[i+len(w):]
	}
	for _, w := range []string{"] Stopping the grpc server\n", "] Waiting for gRPC server shutdown\n", "] gRPC server shutdown complete\n"} {
		assert.Contains(t, out, w)
	}
}

// A bad flag stops the server as KServe's argparse does: the usage block,
// then "prog: error: …" with the program's base name, once, and status 2.
func TestServe_BadFlagIsArgparseError(t *testing.T) {
	p := startProc(t, []string{"COLUMNS=80"}, "--http_port=abc")
	require.Equal(t, 2, p.wait(t, time.Minute), p.out.String())
	prog := filepath.Base(os.Args[0])
	out := p.out.String()
	assert.True(t, strings.HasPrefix(out, "usage: "+prog+" [--http_port HTTP_PORT] [--grpc_port GRPC_PORT]\n"), out) // KServe's parser: no -h
	assert.Contains(t, out, "\n"+strings.Repeat(" ", len("usage: "+prog+" "))+"[--workers WORKERS]", "wrapped under the program name")
	assert.True(t, strings.HasSuffix(out, "[--gc_min_heap GC_MIN_HEAP]\n"+prog+": error: argument --http_port: invalid int value: 'abc'\n"), out)
	assert.Equal(t, 1, strings.Count(out, "invalid int value"), out)
}

// --help goes to standard output, as argparse's does, and exits 0.
func TestServe_HelpOnStdout(t *testing.T) {
	cmd := exec.Command(os.Args[0], "--help")
	cmd.Env = append(os.Environ(), serveEnv+"=1", "COLUMNS=80")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	assert.True(t, strings.HasPrefix(stdout.String(), "usage: "+filepath.Base(os.Args[0])+" [-h] [--http_port HTTP_PORT]"), stdout.String())
	assert.Contains(t, stdout.String(), "\noptions:\n  -h, --help\n")
	assert.Empty(t, stderr.String())
}

// A server that downloaded its model for STORAGE_URI records, as it stops,
// that the model was in use until then: use is otherwise recorded at
// start, and a model served for longer than the cache keeps unused ones
// would be removed by the next start of another model.
func TestStop_MarksCachedModelUsed(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"1"`)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.WriteString(w, "model")
	}))
	defer origin.Close()
	cacheHome := t.TempDir()
	p := startProc(t, []string{"STORAGE_URI=" + origin.URL + "/model.onnx", "XDG_CACHE_HOME=" + cacheHome},
		"--enable_grpc=false", fmt.Sprintf("--http_port=%d", freePorts(t, 1)[0]))
	require.Eventually(t, func() bool { return strings.Contains(p.out.String(), "Starting HTTP server on") },
		20*time.Second, 10*time.Millisecond, "serving: %s", p.out)
	records, err := filepath.Glob(filepath.Join(cacheHome, "kserve-gen", "storage", "model.onnx-*.json"))
	require.NoError(t, err)
	require.Len(t, records, 1, p.out.String())
	// As if the server had been serving for two months.
	b, err := os.ReadFile(records[0])
	require.NoError(t, err)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(b, &rec))
	rec["last_used"] = time.Now().Add(-60 * 24 * time.Hour).UTC().Format(time.RFC3339Nano)
	b, err = json.Marshal(rec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(records[0], b, 0o644))

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, p.wait(t, 20*time.Second), p.out.String())
	b, err = os.ReadFile(records[0])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rec))
	used, err := time.Parse(time.RFC3339Nano, rec["last_used"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), used, time.Minute, "last_used after the stop")
}
