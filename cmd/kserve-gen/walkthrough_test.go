package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/deploy"
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

			srv := startServer(t, server, dir, nil)
			code, got := postJSON(t, srv.URL+path, body)
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, want, got, "the README's expected output")
			if tmpl == "rest" {
				code, _ = postJSON(t, srv.URL+path, []byte(`{"instances":`)) // an error, so that the error counter has a series
				assert.Equal(t, http.StatusBadRequest, code)
				checkDashboardMetrics(t, srv.URL, false)
			}
			if tmpl == "onnx" {
				checkClassification(t, dir, srv.URL)
				checkBatching(t, server, dir, path, want, body)
			}
		})
	}
}

// TestNew_GRPCFlagProjectsGetTheClient: a rest project made with --grpc
// had no gRPC request in its README (the grpc template's client/ was the
// grpc template's alone), and its cluster command was a REST curl to a
// service that exposes only its gRPC port. Now every project serving gRPC
// has client/: its tests pass, and go run ./client, as the README says,
// prints the README's expected output from a real server.
func TestNew_GRPCFlagProjectsGetTheClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a generated project")
	}
	work, bin := buildCLI(t)
	runIn(t, work, bin, "new", "rg", "--template", "rest", "--protocol", "v2", "--grpc", "--yes")
	dir := filepath.Join(work, "rg")
	runIn(t, dir, "go", "test", "./...")
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	assert.Contains(t, string(readme), "Over gRPC, with the client in `client/`:\n\n```bash\ngo run ./client\n```\n\nIt prints the same response as JSON.")
	assert.Contains(t, string(readme), "SERVICE_HOSTNAME=${SERVICE_HOSTNAME} go run ./client\n")

	server := filepath.Join(dir, "rg")
	runIn(t, dir, "go", "build", "-o", server, ".")
	_, want, _ := readmeRequest(t, dir)
	grpcPort := freePort(t)
	startServer(t, server, dir, nil, "--enable_grpc=true", fmt.Sprintf("--grpc_port=%d", grpcPort))
	cmd := exec.Command("go", "run", "./client")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly", "INGRESS_HOST=127.0.0.1", fmt.Sprintf("INGRESS_PORT=%d", grpcPort))
	out, err := cmd.Output()
	require.NoError(t, err, "go run ./client: %s", out)
	assert.Equal(t, want+"\n", string(out), "the README's expected output, over gRPC")
}

// readmeClassify matches the classification example of a generated onnx
// README: the request after -d and the end of the answer after "# …".
var readmeClassify = regexp.MustCompile("(?m)^curl -H \"Content-Type: application/json\" http://localhost:8080(/\\S+) -d '(\\{.*\"classification\".*\\})'\n# …(.*)$")

// checkClassification sends the README's classification example (the
// Open Inference Protocol's classification extension) and checks the
// answer ends as the README says.
func checkClassification(t *testing.T, dir, url string) {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	m := readmeClassify.FindSubmatch(readme)
	require.NotNil(t, m, "the README's classification example")
	code, got := postJSON(t, url+string(m[1]), m[2])
	assert.Equal(t, http.StatusOK, code, got)
	assert.True(t, strings.HasSuffix(got, string(m[3])), "answer %s, README %s", got, m[3])
}

// checkBatching serves a generated onnx project with dynamic batching
// (onnx.RegisterFlags' --max_batch_size and --max_queue_delay): concurrent
// README requests, merged into batches, each get the README's answer.
func checkBatching(t *testing.T, bin, dir, path, want string, body []byte) {
	t.Helper()
	srv := startServer(t, bin, dir, nil, "--max_batch_size=8", "--max_queue_delay=20ms")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(body))
			if !assert.NoError(t, err) {
				return
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			assert.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, want, string(got), "the README's answer, from a batch")
		}()
	}
	wg.Wait()
	checkDashboardMetrics(t, srv.URL, true)
	name := filepath.Base(dir)
	assert.Contains(t, srv.stop(t), "] Model "+name+" batches requests: up to 8 rows per call, the oldest waiting at most 20ms for its batch to fill, 1 call(s) at once\n")
}

// dashboardMetric finds the metric names in the dashboard's queries.
var dashboardMetric = regexp.MustCompile(`\b(?:kserve|request|process|go)_[a-z_]+\b`)

// checkDashboardMetrics checks that every metric the Grafana dashboard of
// kserve-gen deploy --dashboard queries is one a generated server serves,
// so that no panel stays empty for a misspelt or missing name: with batched
// true the dynamic batcher's (kserve_batch_*), which only a batched server
// has, else all the others but a transformer's calls to its predictor
// (kserve_predictor_*, which runtime's TestPredictorRetriesAndFailuresInMetrics
// checks a transformer serves).
func checkDashboardMetrics(t *testing.T, url string, batched bool) {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, n := range dashboardMetric.FindAllString(deploy.DashboardJSON(), -1) {
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			n = strings.TrimSuffix(n, suffix)
		}
		if strings.HasPrefix(n, "kserve_predictor_") {
			continue
		}
		if strings.HasPrefix(n, "kserve_batch_") == batched {
			names[n] = true
		}
	}
	require.GreaterOrEqual(t, len(names), 4)
	for n := range names {
		assert.Contains(t, string(body), "\n# TYPE "+n+" ", "the dashboard queries %s", n)
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

// TestNew_ONNXModelFromHTTPStorageURI serves a generated onnx project's
// model from an http:// STORAGE_URI (a .tar.gz, as models are often
// published), run from a folder without ./model and with --workers 2: the
// supervisor downloads it once for both workers, the README's request gets
// the README's answer, and a restart revalidates instead of downloading.
func TestNew_ONNXModelFromHTTPStorageURI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a generated project")
	}
	work, bin := buildCLI(t)
	runIn(t, work, bin, "new", "remote-onnx", "--template", "onnx", "--yes")
	dir := filepath.Join(work, "remote-onnx")
	server := filepath.Join(dir, "remote-onnx")
	runIn(t, dir, "go", "build", "-o", server, ".")
	path, want, body := readmeRequest(t, dir)

	weights, err := os.ReadFile(filepath.Join(dir, "model", "model.onnx"))
	require.NoError(t, err)
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "iris/model.onnx", Mode: 0o644, Size: int64(len(weights))}))
	_, err = tw.Write(weights)
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	var mu sync.Mutex
	var statuses []int
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusOK
		if r.Header.Get("If-None-Match") == `"v1"` {
			status = http.StatusNotModified
		}
		mu.Lock()
		statuses = append(statuses, status)
		mu.Unlock()
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "application/gzip")
		w.WriteHeader(status)
		if status == http.StatusOK {
			_, _ = w.Write(tgz.Bytes())
		}
	}))
	defer origin.Close()
	uri := origin.URL + "/models/iris.tar.gz"
	cache := t.TempDir()

	elsewhere := t.TempDir() // no ./model here: the answer can only come from the download
	for run := 1; run <= 2; run++ {
		srv := startServer(t, server, elsewhere, []string{"STORAGE_URI=" + uri, "XDG_CACHE_HOME=" + cache}, "--workers=2", "--device=cpu")
		for range 4 { // both workers, most likely
			code, got := postJSON(t, srv.URL+path, body)
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, want, got, "run %d", run)
		}
		out := srv.stop(t)
		modelDir := filepath.Join(cache, "kserve-gen", "storage")
		assert.Contains(t, out, "Model directory from STORAGE_URI: "+modelDir+"/iris.tar.gz-", "run %d:\n%s", run, out)
		if run == 1 {
			assert.Contains(t, out, "Copying contents of "+uri+" to local")
			assert.Contains(t, out, "Unpacking: iris.tar.gz.tar")
		} else {
			assert.Contains(t, out, uri+" is not modified since its download on ")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []int{http.StatusOK, http.StatusNotModified}, statuses, "one download, one revalidation, none by the workers")
}

// TestNew_ONNXSampleProjectServesAnotherModel follows the onnx README's
// "serve your own model ... with go run . --model_dir=/path/to/folder":
// the sample project's v2 metadata listed the "label" output its
// Postprocess adds to the sample's "probs" for any model, so a model
// without "probs" was described with an output no answer has (and a
// request for it was refused after the model ran). Now the metadata is the
// served model's own, and the answer has exactly those outputs.
func TestNew_ONNXSampleProjectServesAnotherModel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a generated project")
	}
	work, bin := buildCLI(t)
	runIn(t, work, bin, "new", "swap", "--template", "onnx", "--yes")
	dir := filepath.Join(work, "swap")
	server := filepath.Join(dir, "swap")
	runIn(t, dir, "go", "build", "-o", server, ".")

	// The golden onnx-model project's model: outputs "sum" and "above".
	scorer, err := filepath.Abs(filepath.Join("..", "..", "testdata", "golden", "onnx-model"))
	require.NoError(t, err)
	body, err := os.ReadFile(filepath.Join(scorer, "input.json"))
	require.NoError(t, err)
	srv := startServer(t, server, dir, nil, "--model_dir="+filepath.Join(scorer, "model"), "--device=cpu")

	resp, err := http.Get(srv.URL + "/v2/models/swap")
	require.NoError(t, err)
	defer resp.Body.Close()
	var meta struct{ Outputs []struct{ Name string } }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&meta))
	var names []string
	for _, o := range meta.Outputs {
		names = append(names, o.Name)
	}
	assert.Equal(t, []string{"sum", "above"}, names, "the metadata's outputs")

	code, got := postJSON(t, srv.URL+"/v2/models/swap/infer", body)
	require.Equal(t, http.StatusOK, code, got)
	var answer struct{ Outputs []struct{ Name string } }
	require.NoError(t, json.Unmarshal([]byte(got), &answer))
	names = names[:0]
	for _, o := range answer.Outputs {
		names = append(names, o.Name)
	}
	assert.Equal(t, []string{"sum", "above"}, names, "the answer's outputs")
}

// server is a generated project's server process.
type server struct {
	URL  string
	cmd  *exec.Cmd
	logs *syncBuffer
}

// startServer starts bin in dir with env added and gRPC off, on a free
// port, and waits until it is ready; its output is logged if the test
// fails, and the process is killed at the end if stop was not called.
func startServer(t *testing.T, bin, dir string, env []string, args ...string) *server {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(bin, append([]string{fmt.Sprintf("--http_port=%d", port), "--enable_grpc=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	s := &server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, logs: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), s.logs.String())
		}
	})
	waitReady(t, s.URL+"/v2/health/ready")
	return s
}

// stop sends SIGTERM, checks that the server exits 0 (drained, unloaded),
// and returns its output.
func (s *server) stop(t *testing.T) string {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.NoError(t, s.cmd.Wait(), "exit status; output:\n%s", s.logs.String())
	return s.logs.String()
}

// syncBuffer is a bytes.Buffer a process's stdout and stderr can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
