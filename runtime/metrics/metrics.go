// Package metrics holds the server's Prometheus collectors: KServe's four
// step histograms (same names, help, label and buckets, contract §6) plus
// request and error counters and an in-flight gauge KServe lacks.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one server's collectors in its own registry (no process-wide
// default registry, so two servers in one process never collide).
type Metrics struct {
	Registry    *prometheus.Registry
	preprocess  *prometheus.HistogramVec
	predict     *prometheus.HistogramVec
	explain     *prometheus.HistogramVec
	postprocess *prometheus.HistogramVec
	requests    *prometheus.CounterVec
	errors      *prometheus.CounterVec
	inFlight    *prometheus.GaugeVec
}

// New returns the collectors registered in a fresh registry together with
// the process and Go runtime collectors.
func New() *Metrics {
	hist := func(name, help string) *prometheus.HistogramVec {
		// prometheus.DefBuckets are prometheus_client's default buckets
		// (0.005 ... 10 seconds), the ones KServe's histograms use.
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: prometheus.DefBuckets}, []string{"model_name"})
	}
	m := &Metrics{
		Registry:    prometheus.NewRegistry(),
		preprocess:  hist("request_preprocess_seconds", "pre-process request latency"),
		predict:     hist("request_predict_seconds", "predict request latency"),
		explain:     hist("request_explain_seconds", "explain request latency"),
		postprocess: hist("request_postprocess_seconds", "post-process request latency"),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kserve_requests_total", Help: "inference requests received, by model, protocol and verb",
		}, []string{"model_name", "protocol", "verb"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kserve_request_errors_total", Help: "inference requests that failed, by model, protocol and status code",
		}, []string{"model_name", "protocol", "code"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kserve_requests_in_flight", Help: "inference requests being processed, by model",
		}, []string{"model_name"}),
	}
	m.Registry.MustRegister(m.preprocess, m.predict, m.explain, m.postprocess, m.requests, m.errors, m.inFlight,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	return m
}

// Handler serves the registry in the text or OpenMetrics format the
// Accept header asks for.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Model is one model's pre-resolved observers, so the hot path does no
// label lookups.
type Model struct {
	m           *Metrics
	name        string
	Preprocess  prometheus.Observer
	Predict     prometheus.Observer
	Explain     prometheus.Observer
	Postprocess prometheus.Observer
	InFlight    prometheus.Gauge
	requests    [3][2]prometheus.Counter // [protocol][verb]
}

// ForModel resolves the observers for a model name. The label is the
// model's own name, not an alias it is registered under (as KServe).
func (m *Metrics) ForModel(name string) *Model {
	mm := &Model{
		m: m, name: name,
		Preprocess:  m.preprocess.WithLabelValues(name),
		Predict:     m.predict.WithLabelValues(name),
		Explain:     m.explain.WithLabelValues(name),
		Postprocess: m.postprocess.WithLabelValues(name),
		InFlight:    m.inFlight.WithLabelValues(name),
	}
	for p, proto := range []string{"v1", "v2", "grpc-v2"} {
		for v, verb := range []string{"predict", "explain"} {
			mm.requests[p][v] = m.requests.WithLabelValues(name, proto, verb)
		}
	}
	return mm
}

// Request counts one request; protocol is 0 v1, 1 v2, 2 grpc-v2; explain
// selects the verb.
func (mm *Model) Request(protocol int, explain bool) {
	v := 0
	if explain {
		v = 1
	}
	if protocol >= 0 && protocol < 3 {
		mm.requests[protocol][v].Inc()
	}
}

// Error counts one failed request with its status code (HTTP code or gRPC code name).
func (mm *Model) Error(protocol, code string) {
	mm.m.errors.WithLabelValues(mm.name, protocol, code).Inc()
}

// Since observes the time since start on o.
func Since(o prometheus.Observer, start time.Time) time.Duration {
	d := time.Since(start)
	o.Observe(d.Seconds())
	return d
}
