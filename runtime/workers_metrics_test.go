//go:build unix

package runtime_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

// scrapeFresh GETs /metrics on a connection of its own, so the kernel may
// hand it to any worker on the shared port, and checks that the answer is
// one Prometheus accepts: it parses, and no series (name and labels)
// appears twice, which Prometheus rejects as a duplicate sample.
func scrapeFresh(t *testing.T, port int) string {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://localhost:%d/metrics", port))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	text := string(b)
	p := expfmt.NewTextParser(model.UTF8Validation)
	_, err = p.TextToMetricFamilies(strings.NewReader(text))
	require.NoError(t, err, text)
	seen := map[string]bool{}
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		series := line[:strings.LastIndexByte(line, ' ')]
		require.False(t, seen[series], "duplicate series %s in:\n%s", series, text)
		seen[series] = true
	}
	return text
}

// sample is the value of the one series named exactly series (name and
// labels as written) in a scrape; -1 when there is none.
func sample(text, series string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}

// postMany sends n v1 predicts, each on a connection of its own, from
// several goroutines, so the kernel spreads them over the workers.
func postMany(t *testing.T, port, n int) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	url := fmt.Sprintf("http://localhost:%d/v1/models/echo:predict", port)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 4 {
				resp, err := c.Post(url, "application/json", strings.NewReader(`{"instances":[[1,2]]}`))
				if err != nil {
					errs <- err
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// --workers N: any worker answering /metrics answers for the whole pod:
// its siblings' REST requests and the parent's gRPC ones are in every
// scrape, summed into one series per label set. A worker killed and
// restarted does not take its counts with it: the totals never go back.
func TestWorkers_MetricsAreThePods(t *testing.T) {
	ports := freePorts(t, 2)
	p := startProc(t, nil, "--workers=3", fmt.Sprintf("--http_port=%d", ports[0]), fmt.Sprintf("--grpc_port=%d", ports[1]))
	require.Eventually(t, func() bool { return strings.Count(p.out.String(), "Starting HTTP server on") == 3 },
		30*time.Second, 10*time.Millisecond, "workers serving: %s", p.out)

	const m, k = 40, 5
	postMany(t, ports[0], m)
	gc, err := client.NewGRPC(fmt.Sprintf("localhost:%d", ports[1]))
	require.NoError(t, err)
	defer gc.Close()
	for range k {
		_, err := gc.Infer(context.Background(), &infer.Request{ModelName: "echo",
			Inputs: []*infer.Tensor{{Name: "x", Datatype: infer.FP32, Shape: []int64{1, 2}, Data: []float32{1, 2}}}})
		require.NoError(t, err)
	}

	check := func(rest float64) string {
		t.Helper()
		text := scrapeFresh(t, ports[0])
		assert.Equal(t, rest, sample(text, `kserve_requests_total{model_name="echo",protocol="v1",verb="predict"}`), text)
		assert.Equal(t, float64(k), sample(text, `kserve_requests_total{model_name="echo",protocol="grpc-v2",verb="predict"}`), text)
		assert.Equal(t, rest+k, sample(text, `request_predict_seconds_count{model_name="echo"}`), text)
		assert.Equal(t, rest+k, sample(text, `request_predict_seconds_bucket{model_name="echo",le="+Inf"}`), text)
		assert.Equal(t, rest, sample(text, `kserve_request_size_bytes_count{model_name="echo",protocol="v1"}`), text)
		assert.Equal(t, 0.0, sample(text, `kserve_requests_in_flight{model_name="echo"}`), text)
		return text
	}
	var text string
	for range 6 {
		text = check(m)
	}
	// The processes' own figures, one series each.
	for _, proc := range []string{"parent", "worker-0", "worker-1", "worker-2"} {
		assert.Regexp(t, `(?m)^process_cpu_seconds_total\{process="`+proc+`"\} `, text)
		assert.Regexp(t, `(?m)^go_goroutines\{process="`+proc+`"\} `, text)
	}

	// OpenMetrics, asked of a worker, comes back from the parent too, with
	// KServe's _created samples.
	req, err := http.NewRequest("GET", fmt.Sprintf("http://localhost:%d/metrics", ports[0]), nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	om, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(om), "\nrequest_predict_seconds_created{model_name=\"echo\"} "), string(om))
	assert.Contains(t, string(om), fmt.Sprintf("\nrequest_predict_seconds_count{model_name=\"echo\"} %d\n", m+k))
	assert.True(t, strings.HasSuffix(string(om), "# EOF\n"), string(om))

	// Kill worker 1; once its replacement serves, the counts are the same.
	pid := regexp.MustCompile(`Started worker 1 \(pid (\d+)\)`).FindStringSubmatch(p.out.String())
	require.NotNil(t, pid, p.out.String())
	n, _ := strconv.Atoi(pid[1])
	require.NoError(t, syscall.Kill(n, syscall.SIGKILL))
	require.Eventually(t, func() bool { return strings.Count(p.out.String(), "Starting HTTP server on") == 4 },
		30*time.Second, 10*time.Millisecond, "worker 1 restarted: %s", p.out)
	for range 3 {
		check(m)
	}
	postMany(t, ports[0], m)
	for range 3 {
		check(2 * m)
	}
	// The one WARNING is the supervisor's about the kill: no worker went
	// unanswered, no scrape failed.
	out := p.out.String()
	assert.Equal(t, 1, strings.Count(out, " WARNING "), out)
	assert.Contains(t, out, fmt.Sprintf("Worker 1 (pid %d) exited: signal: killed; restarting", n))
}

// routedPredictor is a gRPC predictor (grpc-go's server on loopback)
// answering by the request's id: "retry-…" is UNAVAILABLE on its first
// call and answered on the next, "fail-…" is UNAVAILABLE every time. It
// records the connections (peer addresses) each kind came on: a
// transformer worker calls it on a connection of its own.
type routedPredictor struct {
	pb.UnimplementedGRPCInferenceServiceServer

	mu    sync.Mutex
	seen  map[string]bool            // ids called before
	peers map[string]map[string]bool // "retry" / "fail" → peer addresses
}

func (p *routedPredictor) ModelInfer(ctx context.Context, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	kind, _, _ := strings.Cut(req.GetId(), "-")
	pr, _ := peer.FromContext(ctx)
	p.mu.Lock()
	first := !p.seen[req.GetId()]
	p.seen[req.GetId()] = true
	if p.peers[kind] == nil {
		p.peers[kind] = map[string]bool{}
	}
	p.peers[kind][pr.Addr.String()] = true
	p.mu.Unlock()
	if kind == "fail" || first {
		return nil, grpcstatus.Error(codes.Unavailable, "predictor is restarting")
	}
	return &pb.ModelInferResponse{ModelName: req.GetModelName(), Id: req.GetId(), Outputs: []*pb.ModelInferResponse_InferOutputTensor{{
		Name: "y", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}},
	}}}, nil
}

// connections is how many connections requests of kind came on.
func (p *routedPredictor) connections(kind string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.peers[kind])
}

// --workers N in a transformer: each process counts its own retries and
// failures calling the predictor (the workers for the REST requests they
// serve, the parent for gRPC ones), and any worker's /metrics has the
// pod's sums.
func TestWorkers_TransformerPredictorMetricsAreThePods(t *testing.T) {
	p := &routedPredictor{seen: map[string]bool{}, peers: map[string]map[string]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	pb.RegisterGRPCInferenceServiceServer(srv, p)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	ports := freePorts(t, 2)
	proc := startProc(t, []string{transformerEnv + "=1"}, "--workers=2", fmt.Sprintf("--http_port=%d", ports[0]), fmt.Sprintf("--grpc_port=%d", ports[1]),
		"--predictor_host="+ln.Addr().String(), "--predictor_protocol=grpc-v2", "--predictor_request_retries=1")
	require.Eventually(t, func() bool { return strings.Count(proc.out.String(), "Starting HTTP server on") == 2 },
		30*time.Second, 10*time.Millisecond, "workers serving: %s", proc.out)

	// Each request on a connection of its own, which the kernel hands to
	// either worker, until each worker has made both kinds of call: a
	// retried one (1 retry) and a failed one (1 retry, then 1 failure).
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	post := func(id string) int {
		t.Helper()
		resp, err := c.Post(fmt.Sprintf("http://localhost:%d/v2/models/echo/infer", ports[0]), "application/json",
			strings.NewReader(`{"id":"`+id+`","inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[0]}]}`))
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	var retried, failed int
	for i := 0; i < 100 && (p.connections("retry") < 2 || p.connections("fail") < 2); i++ {
		if p.connections("retry") < 2 {
			require.Equal(t, http.StatusOK, post(fmt.Sprintf("retry-%d", i)))
			retried++
		}
		if p.connections("fail") < 2 {
			require.Equal(t, http.StatusServiceUnavailable, post(fmt.Sprintf("fail-%d", i)))
			failed++
		}
	}
	require.Equal(t, 2, p.connections("retry"), "both workers retried a call")
	require.Equal(t, 2, p.connections("fail"), "both workers failed a call")
	// And the parent, serving gRPC, on a connection of its own.
	gc, err := client.NewGRPC(fmt.Sprintf("localhost:%d", ports[1]), client.WithGRPCRetries(0))
	require.NoError(t, err)
	defer gc.Close()
	_, err = gc.Infer(context.Background(), &infer.Request{ModelName: "echo", ID: "fail-parent",
		Inputs: []*infer.Tensor{{Name: "x", Datatype: infer.FP32, Shape: []int64{1}, Data: []float32{0}}}})
	require.Equal(t, codes.Unavailable, grpcstatus.Code(err), "%v", err)
	failed++
	require.Equal(t, 3, p.connections("fail"), "the parent failed a call")

	want := fmt.Sprintf(`kserve_predictor_failures_total{code="Unavailable",model_name="echo",protocol="grpc-v2"} %d
kserve_predictor_retries_total{model_name="echo",protocol="grpc-v2"} %d
`, failed, retried+failed)
	for range 6 { // scrapes that reach either worker
		var got strings.Builder
		for l := range strings.Lines(scrapeFresh(t, ports[0])) {
			if strings.HasPrefix(l, "kserve_predictor_") {
				got.WriteString(l)
			}
		}
		assert.Equal(t, want, got.String())
	}
}
