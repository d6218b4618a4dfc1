package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/metrics"
)

// process is one process's registry with the kinds of metric Merge treats
// differently, each with the values given.
func process(t *testing.T, requests float64, predicts []float64, inFlight, goroutines, modelGauge float64) []*dto.MetricFamily {
	t.Helper()
	r := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kserve_requests_total", Help: "requests"}, []string{"model_name"})
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "request_predict_seconds", Help: "predict", Buckets: []float64{0.1, 1}}, []string{"model_name"})
	f := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kserve_requests_in_flight", Help: "in flight"}, []string{"model_name"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "go_goroutines", Help: "goroutines"})
	cpu := prometheus.NewCounter(prometheus.CounterOpts{Name: "process_cpu_seconds_total", Help: "cpu"})
	mg := prometheus.NewGauge(prometheus.GaugeOpts{Name: "my_model_version", Help: "a model's own gauge"})
	// A model's metric with a "process" label of its own: summed over it.
	own := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "my_model_steps_total", Help: "steps"}, []string{"process"})
	r.MustRegister(c, h, f, g, cpu, mg, own)
	c.WithLabelValues("m").Add(requests)
	for _, v := range predicts {
		h.WithLabelValues("m").Observe(v)
	}
	f.WithLabelValues("m").Set(inFlight)
	g.Set(goroutines)
	cpu.Add(goroutines / 10)
	mg.Set(modelGauge)
	own.WithLabelValues("tokenize").Add(requests)
	fams, err := r.Gather()
	require.NoError(t, err)
	return fams
}

func text(t *testing.T, fams []*dto.MetricFamily) string {
	t.Helper()
	var b strings.Builder
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range fams {
		require.NoError(t, enc.Encode(mf))
	}
	return b.String()
}

// Merge sums what adds up across processes and keeps the rest per process,
// one series per label set.
func TestMerge_SumsCountersHistogramsAndInFlightLabelsTheRest(t *testing.T) {
	parent := process(t, 2, []float64{0.0625, 0.5}, 1, 10, 7)
	worker := process(t, 3, []float64{0.0625, 0.0625, 5}, 2, 20, 7)
	parentText := text(t, parent)

	got := text(t, metrics.Merge(
		metrics.Source{Process: "parent", Families: parent},
		metrics.Source{Process: "worker-0", Families: worker},
		// A worker replaced since: only its counters and histograms stay.
		metrics.Source{Families: metrics.Cumulative(process(t, 4, []float64{0.5}, 3, 30, 7))},
	))
	assert.Equal(t, `# HELP go_goroutines goroutines
# TYPE go_goroutines gauge
go_goroutines{process="parent"} 10
go_goroutines{process="worker-0"} 20
# HELP kserve_requests_in_flight in flight
# TYPE kserve_requests_in_flight gauge
kserve_requests_in_flight{model_name="m"} 3
# HELP kserve_requests_total requests
# TYPE kserve_requests_total counter
kserve_requests_total{model_name="m"} 9
# HELP my_model_steps_total steps
# TYPE my_model_steps_total counter
my_model_steps_total{process="tokenize"} 9
# HELP my_model_version a model's own gauge
# TYPE my_model_version gauge
my_model_version{process="parent"} 7
my_model_version{process="worker-0"} 7
# HELP process_cpu_seconds_total cpu
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total{process="parent"} 1
process_cpu_seconds_total{process="worker-0"} 2
# HELP request_predict_seconds predict
# TYPE request_predict_seconds histogram
request_predict_seconds_bucket{model_name="m",le="0.1"} 3
request_predict_seconds_bucket{model_name="m",le="1"} 5
request_predict_seconds_bucket{model_name="m",le="+Inf"} 6
request_predict_seconds_sum{model_name="m"} 6.1875
request_predict_seconds_count{model_name="m"} 6
`, got)
	assert.Equal(t, parentText, text(t, parent), "the sources are left as they were")
}

// A family a process registered with another type is left out of the
// merge, rather than mixed into an invalid one.
func TestMerge_TypeMismatchKeepsTheFirst(t *testing.T) {
	r1, r2 := prometheus.NewRegistry(), prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"})
	c.Add(1)
	r1.MustRegister(c)
	r2.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_total", Help: "x"}))
	f1, err := r1.Gather()
	require.NoError(t, err)
	f2, err := r2.Gather()
	require.NoError(t, err)
	assert.Equal(t, "# HELP x_total x\n# TYPE x_total counter\nx_total 1\n",
		text(t, metrics.Merge(metrics.Source{Process: "a", Families: f1}, metrics.Source{Process: "b", Families: f2})))
}

// Histograms whose buckets differ are added bound by bound, each counting
// the observations known to lie below the bound.
func TestMerge_HistogramBucketsOfDifferentBounds(t *testing.T) {
	gather := func(buckets []float64, obs ...float64) []*dto.MetricFamily {
		r := prometheus.NewRegistry()
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h", Help: "h", Buckets: buckets})
		r.MustRegister(h)
		for _, v := range obs {
			h.Observe(v)
		}
		f, err := r.Gather()
		require.NoError(t, err)
		return f
	}
	got := text(t, metrics.Merge(
		metrics.Source{Process: "a", Families: gather([]float64{1, 10}, 0.5, 5)},
		metrics.Source{Process: "b", Families: gather([]float64{2}, 1.5)},
	))
	assert.Equal(t, `# HELP h h
# TYPE h histogram
h_bucket{le="1"} 1
h_bucket{le="2"} 2
h_bucket{le="10"} 3
h_bucket{le="+Inf"} 3
h_sum 7
h_count 3
`, got)
}
