package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// referenceDir holds KServe 0.20's recorded exchanges (shared/ beside the
// repository, as CI checks it out); KSERVE_REFERENCE_DIR overrides it.
func referenceDir(t *testing.T) string {
	dir := os.Getenv("KSERVE_REFERENCE_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "reference", "kserve-0.20")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("KServe reference exchanges not found at %s (set KSERVE_REFERENCE_DIR): %v", dir, err)
	}
	return dir
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type proc struct {
	cmd  *exec.Cmd
	url  string
	out  *runtimetest.LogBuffer // stdout and stderr
	done chan error
}

// build compiles this example into a temporary folder, with env added to
// the go command's environment.
func build(t *testing.T, env ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "passthrough")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Run())
	return bin
}

// start builds and runs this example as a real process.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	bin := build(t)
	return run(t, func(args []string) *exec.Cmd { return exec.Command(bin, args...) }, args...)
}

// run starts the server command makes from its arguments (the ports and
// model name first, then args) and waits until it is ready; the test's end
// stops it with SIGTERM.
func run(t *testing.T, command func(args []string) *exec.Cmd, args ...string) *proc {
	t.Helper()
	port := freePort(t)
	args = append([]string{"--model_name=passthrough", fmt.Sprintf("--http_port=%d", port), fmt.Sprintf("--grpc_port=%d", freePort(t))}, args...)
	p := &proc{cmd: command(args), url: fmt.Sprintf("http://127.0.0.1:%d", port), out: &runtimetest.LogBuffer{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get(p.url + "/v2/health/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, 20*time.Second, 10*time.Millisecond, "server never became ready: %s", p.out)
	return p
}

// TestReferenceExchanges sends each request KServe 0.20 answered and
// expects the same status and body, the uuid "id" aside. The large FP32
// response is compared value by value: KServe prints float32 values widened
// to float64 (0.6026999950408936), we print the shortest float32 text
// (0.6027), which parses to the same float32.
func TestReferenceExchanges(t *testing.T) {
	dir := referenceDir(t)
	p := start(t)
	for _, c := range []struct{ name, path string }{
		{"v1_small", "/v1/models/passthrough:predict"},
		{"v2_small", "/v2/models/passthrough/infer"},
		{"v2_large", "/v2/models/passthrough/infer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, c.name+".json"))
			require.NoError(t, err)
			want, err := os.ReadFile(filepath.Join(dir, c.name+".resp.json"))
			require.NoError(t, err)
			resp, err := http.Post(p.url+c.path, "application/json", bytes.NewReader(body))
			require.NoError(t, err)
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, 200, resp.StatusCode)
			if c.name == "v2_large" {
				assertSameFloat32Response(t, want, got)
				return
			}
			assert.Equal(t, string(maskID(want)), string(maskID(got)))
		})
	}
}

func maskID(b []byte) []byte {
	i := bytes.Index(b, []byte(`"id":"`))
	if i < 0 {
		return b
	}
	j := bytes.IndexByte(b[i+6:], '"')
	return append(append(append([]byte{}, b[:i+6]...), "<uuid>"...), b[i+6+j:]...)
}

func assertSameFloat32Response(t *testing.T, want, got []byte) {
	var w, g map[string]any
	require.NoError(t, json.Unmarshal(want, &w))
	require.NoError(t, json.Unmarshal(got, &g))
	wd := w["outputs"].([]any)[0].(map[string]any)["data"].([]any)
	gd := g["outputs"].([]any)[0].(map[string]any)["data"].([]any)
	require.Len(t, gd, len(wd))
	for i := range wd {
		if float32(wd[i].(float64)) != float32(gd[i].(float64)) {
			t.Fatalf("value %d: KServe %v, ours %v", i, wd[i], gd[i])
		}
	}
	delete(w, "id")
	delete(g, "id")
	w["outputs"].([]any)[0].(map[string]any)["data"] = nil
	g["outputs"].([]any)[0].(map[string]any)["data"] = nil
	assert.Equal(t, w, g)
	// Same key order as KServe, up to the data.
	assert.Equal(t, string(maskID(want[:bytes.Index(want, []byte(`"data":`))])), string(maskID(got[:bytes.Index(got, []byte(`"data":`))])))
}

// TestSIGTERMUnderLoad: requests in flight when SIGTERM arrives all finish
// with 200, then the process exits 0 (KServe's graceful shutdown).
func TestSIGTERMUnderLoad(t *testing.T) {
	p := start(t, "--predict_delay=300ms")
	var ok, failed atomic.Int32
	var started sync.WaitGroup
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range 16 {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			resp, err := client.Post(p.url+"/v1/models/passthrough:predict", "application/json", strings.NewReader(`{"instances":[[1,2]]}`))
			if err != nil {
				failed.Add(1)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && string(b) == `{"predictions":[[1,2]]}` {
				ok.Add(1)
			} else {
				failed.Add(1)
			}
		}()
	}
	started.Wait()
	time.Sleep(100 * time.Millisecond) // all 16 are inside the 300 ms predict
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	wg.Wait()
	assert.Equal(t, int32(16), ok.Load())
	assert.Equal(t, int32(0), failed.Load())
	select {
	case err := <-p.done:
		assert.NoError(t, err, "exit status: %s", p.out)
		p.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("process did not exit after SIGTERM")
	}
}

// TestWorkers: --workers 2 serves REST from two processes on one port and
// restarts a worker that dies.
func TestWorkers(t *testing.T) {
	p := start(t, "--workers=2", "--enable_grpc=false")
	pids := func() map[string]bool {
		out, err := exec.Command("pgrep", "-P", fmt.Sprint(p.cmd.Process.Pid)).Output()
		require.NoError(t, err)
		m := map[string]bool{}
		for _, f := range strings.Fields(string(out)) {
			m[f] = true
		}
		return m
	}
	require.Eventually(t, func() bool { return len(pids()) == 2 }, 10*time.Second, 10*time.Millisecond)
	before := pids()
	var victim string
	for pid := range before {
		victim = pid
		break
	}
	require.NoError(t, exec.Command("kill", "-9", victim).Run())
	require.Eventually(t, func() bool {
		now := pids()
		return len(now) == 2 && !now[victim]
	}, 10*time.Second, 10*time.Millisecond, "worker not restarted")
	for range 20 {
		resp, err := http.Post(p.url+"/v1/models/passthrough:predict", "application/json", strings.NewReader(`{"instances":[1]}`))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
	}
}

// TestWorkers_RestartedWorkerJoinsWhenLoaded: a worker restarted after a
// crash takes connections only once its model is loaded. The kernel hands
// each new connection to any process on the shared port, so a worker that
// listened while loading would answer 503 to requests its sibling serves.
func TestWorkers_RestartedWorkerJoinsWhenLoaded(t *testing.T) {
	p := start(t, "--workers=2", "--enable_grpc=false", "--load_delay=1500ms")
	children := func() []string {
		out, _ := exec.Command("pgrep", "-P", fmt.Sprint(p.cmd.Process.Pid)).Output()
		return strings.Fields(string(out))
	}
	require.Eventually(t, func() bool { return len(children()) == 2 }, 10*time.Second, 10*time.Millisecond)
	victim := children()[0]
	require.NoError(t, exec.Command("kill", "-9", victim).Run())
	require.Eventually(t, func() bool {
		now := children()
		return len(now) == 2 && !slices.Contains(now, victim)
	}, 10*time.Second, 5*time.Millisecond, "worker not restarted")
	time.Sleep(200 * time.Millisecond) // the new worker is up and loading

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} // a new connection each time
	codes := map[int]int{}
	for range 60 {
		resp, err := client.Post(p.url+"/v1/models/passthrough:predict", "application/json", strings.NewReader(`{"instances":[1]}`))
		require.NoError(t, err)
		resp.Body.Close()
		codes[resp.StatusCode]++
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(t, map[int]int{200: 60}, codes, "answers while the restarted worker loads")
}

// TestWorkers_HungWorkerIsReplaced: a worker that stops answering (here
// stopped with SIGSTOP; a frozen or wedged process alike) keeps its share
// of the port's connections and answers none; the supervisor's heartbeat
// finds it within KServe's five seconds, kills it and starts another.
func TestWorkers_HungWorkerIsReplaced(t *testing.T) {
	p := start(t, "--workers=2", "--enable_grpc=false")
	children := func() []string {
		out, _ := exec.Command("pgrep", "-P", fmt.Sprint(p.cmd.Process.Pid)).Output()
		return strings.Fields(string(out))
	}
	listening := func(n int) func() bool {
		return func() bool { return strings.Count(p.out.String(), "Starting HTTP server on") == n }
	}
	require.Eventually(t, listening(2), 10*time.Second, 10*time.Millisecond, "both workers serving")
	victim := children()[0]
	require.NoError(t, exec.Command("kill", "-STOP", victim).Run())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("victim %s; output:\n%s", victim, p.out)
		}
	})
	stopped := time.Now()
	require.Eventually(t, func() bool {
		now := children()
		return len(now) == 2 && !slices.Contains(now, victim)
	}, 15*time.Second, 50*time.Millisecond, "hung worker not replaced")
	took := time.Since(stopped)
	assert.GreaterOrEqual(t, took, 4*time.Second, "replaced before the heartbeat timeout")
	require.Eventually(t, listening(3), 10*time.Second, 10*time.Millisecond, "the replacement serving")

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	for range 20 {
		resp, err := client.Post(p.url+"/v1/models/passthrough:predict", "application/json", strings.NewReader(`{"instances":[1]}`))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
	}
	assert.Regexp(t, `Worker \d \(pid `+victim+`\): no answer to the supervisor's heartbeat for 5s; killing and restarting it`, p.out.String())
}
