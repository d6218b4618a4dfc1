package metrics_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/metrics"
)

func scrape(t *testing.T, url, accept string) string {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, string(b))
	return string(b)
}

// KServe's four step histograms expose prometheus_client's (Python)
// DEFAULT_BUCKETS, contract §6, in both formats.
func TestStepHistograms_PrometheusClientBuckets(t *testing.T) {
	m := metrics.New()
	mm := m.ForModel("m")
	for _, o := range []interface{ Observe(float64) }{mm.Preprocess, mm.Predict, mm.Explain, mm.Postprocess} {
		o.Observe(0.06)
	}
	srv := httptest.NewServer(m.Handler(nil))
	defer srv.Close()
	want := []string{"0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5", "5", "7.5", "10", "+Inf"}
	wantOM := []string{"0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "5.0", "7.5", "10.0", "+Inf"}
	for _, f := range []struct {
		accept string
		want   []string
	}{{"", want}, {"application/openmetrics-text; version=1.0.0", wantOM}} {
		body := scrape(t, srv.URL, f.accept)
		for _, name := range []string{"request_preprocess_seconds", "request_predict_seconds", "request_explain_seconds", "request_postprocess_seconds"} {
			re := regexp.MustCompile(`(?m)^` + name + `_bucket\{model_name="m",le="([^"]+)"\} (\S+)`)
			var les []string
			for _, sm := range re.FindAllStringSubmatch(body, -1) {
				les = append(les, sm[1])
			}
			assert.Equal(t, f.want, les, "%s (Accept %q)", name, f.accept)
			// 0.06 s falls in 0.075, a bucket client_golang's DefBuckets lack.
			assert.Regexp(t, `(?m)^`+name+`_bucket\{model_name="m",le="0.075"\} 1$`, body)
			assert.Regexp(t, `(?m)^`+name+`_bucket\{model_name="m",le="0.05"\} 0$`, body)
		}
	}
}

// The histograms and counters carry KServe's _created samples in the
// OpenMetrics format; the text format has none (client_golang cannot write
// them there).
func TestCreatedSamples(t *testing.T) {
	m := metrics.New()
	mm := m.ForModel("m")
	mm.Predict.Observe(0.01)
	mm.Exchange(0, false, 10, 10, "")
	srv := httptest.NewServer(m.Handler(nil))
	defer srv.Close()
	om := scrape(t, srv.URL, "application/openmetrics-text; version=1.0.0")
	for _, name := range []string{"request_preprocess_seconds", "request_predict_seconds", "request_explain_seconds", "request_postprocess_seconds"} {
		assert.Regexp(t, `(?m)^`+name+`_created\{model_name="m"\} \d+\.\d+e\+09$`, om)
	}
	assert.Regexp(t, `(?m)^kserve_requests_created\{model_name="m",protocol="v1",verb="predict"\} \d`, om)
	assert.False(t, strings.Contains(scrape(t, srv.URL, ""), "_created"), "text format")
}

// A model's own metrics, registered with the default registry as
// client_golang's users do (prometheus.MustRegister, promauto), are on
// /metrics beside the server's, as a Python model's prometheus_client
// metrics are on KServe's (it serves the global REGISTRY); the process and
// Go runtime collectors appear once.
func TestModelMetricsOnTheDefaultRegistry(t *testing.T) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_model_tokens_total", Help: "tokens the model produced"})
	require.NoError(t, prometheus.Register(c))
	t.Cleanup(func() { prometheus.Unregister(c) })
	c.Add(3)
	m := metrics.New()
	m.ForModel("m").Predict.Observe(0.01)
	srv := httptest.NewServer(m.Handler(nil))
	defer srv.Close()
	body := scrape(t, srv.URL, "")
	assert.Contains(t, body, "# HELP test_model_tokens_total tokens the model produced\n# TYPE test_model_tokens_total counter\ntest_model_tokens_total 3\n")
	assert.Regexp(t, `(?m)^request_predict_seconds_count\{model_name="m"\} 1$`, body)
	for _, name := range []string{"go_goroutines", "go_gc_gomemlimit_bytes", "go_sched_gomaxprocs_threads", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		assert.Equal(t, 1, strings.Count(body, "\n# TYPE "+name+" "), name)
	}
}

// A model metric that clashes with a server metric (same name, other
// labels) is left out of the scrape and logged; the server's metrics are
// still served, with a 200, so autoscalers and dashboards keep them.
func TestClashingModelMetricLeavesTheScrapeStanding(t *testing.T) {
	clash := prometheus.NewCounter(prometheus.CounterOpts{Name: "kserve_requests_total", Help: "a model's own count"})
	require.NoError(t, prometheus.Register(clash))
	t.Cleanup(func() { prometheus.Unregister(clash) })
	clash.Inc()
	m := metrics.New()
	m.ForModel("m").Exchange(0, false, 10, 10, "")
	var logs bytes.Buffer
	srv := httptest.NewServer(m.Handler(slog.New(slog.NewTextHandler(&logs, nil))))
	defer srv.Close()
	body := scrape(t, srv.URL, "")
	assert.Regexp(t, `(?m)^kserve_requests_total\{model_name="m",protocol="v1",verb="predict"\} 1$`, body)
	assert.Contains(t, body, "\ngo_goroutines ")
	assert.Contains(t, logs.String(), "level=ERROR")
	assert.Contains(t, logs.String(), "kserve_requests_total")
}

// Without gRPC served, a grpc-v2 exchange (which such a server never
// sees) is dropped rather than panicking on the series ForModel left out,
// and leaves no grpc-v2 series, not even an error count.
func TestExchangeOnAProtocolNotServed(t *testing.T) {
	m := metrics.New(metrics.ServesGRPC(false))
	mm := m.ForModel("m")
	mm.Exchange(2, false, 10, 10, "")
	mm.Exchange(2, true, 10, -1, "Internal")
	mm.Exchange(1, false, 10, 20, "")
	srv := httptest.NewServer(m.Handler(nil))
	defer srv.Close()
	body := scrape(t, srv.URL, "")
	assert.Empty(t, regexp.MustCompile(`(?m)^.*protocol="grpc-v2".*$`).FindAllString(body, -1))
	assert.Contains(t, body, `kserve_requests_total{model_name="m",protocol="v2",verb="predict"} 1`+"\n")
	assert.Contains(t, body, `kserve_response_size_bytes_sum{model_name="m",protocol="v2"} 20`+"\n")
	// A recorded exchange and a dropped one allocate nothing (the hot path).
	assert.Zero(t, testing.AllocsPerRun(100, func() { mm.Exchange(1, false, 10, 20, "") }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { mm.Exchange(2, false, 10, 20, "") }))
}

// A request whose model is not known is counted under model_name="" (as
// the scrape writes it), the name no model has; its series appear with the
// first one; a protocol not served records nothing.
func TestUnnamed(t *testing.T) {
	m := metrics.New(metrics.ServesGRPC(false))
	m.ForModel("m")
	m.Unnamed(2, false, 10, "Internal") // not served
	srv := httptest.NewServer(m.Handler(nil))
	defer srv.Close()
	assert.NotContains(t, scrape(t, srv.URL, ""), `model_name=""`)

	m.Unnamed(1, false, -1, "413")
	m.Unnamed(1, true, 100, "400")
	body := scrape(t, srv.URL, "")
	assert.Equal(t, []string{
		`kserve_request_errors_total{code="400",model_name="",protocol="v2"} 1`,
		`kserve_request_errors_total{code="413",model_name="",protocol="v2"} 1`,
		`kserve_request_size_bytes_count{model_name="",protocol="v2"} 1`,
		`kserve_requests_total{model_name="",protocol="v2",verb="explain"} 1`,
		`kserve_requests_total{model_name="",protocol="v2",verb="predict"} 1`,
	}, regexp.MustCompile(`(?m)^[a-z_]+(_total|_count)\{.*model_name="".*$`).FindAllString(body, -1))
}
