//go:build unix

package runtime_test

import (
	"context"
	"fmt"
	"io"
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

	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
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
