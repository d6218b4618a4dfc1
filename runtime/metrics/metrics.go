// Package metrics holds the server's Prometheus collectors: KServe's four
// step histograms (same names, help, label and buckets, contract §6) plus
// what KServe lacks: request and error counters, an in-flight gauge, request
// and response size histograms and the time requests wait for a worker.
package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one server's collectors in its own registry, so that two
// servers in one process never collide; /metrics also serves the
// process-wide default registry (see Handler).
type Metrics struct {
	Registry *prometheus.Registry
	// Default is the registry served beside Registry: the process and Go
	// runtime collectors client_golang registers there, and the model's own
	// metrics. New sets prometheus.DefaultGatherer.
	Default     prometheus.Gatherer
	preprocess  *prometheus.HistogramVec
	predict     *prometheus.HistogramVec
	explain     *prometheus.HistogramVec
	postprocess *prometheus.HistogramVec
	requests    *prometheus.CounterVec
	errors      *prometheus.CounterVec
	inFlight    *prometheus.GaugeVec
	reqSize     *prometheus.HistogramVec
	respSize    *prometheus.HistogramVec
	queue       *prometheus.HistogramVec
	// A transformer's calls to its predictor (ForPredictor).
	predictorRetries  *prometheus.CounterVec
	predictorFailures *prometheus.CounterVec
	// served marks the protocols (indexed like protocols) whose series
	// ForModel creates: a series for a protocol the server does not serve
	// could never move, and would read as "no traffic" on a dashboard.
	served    [3]bool
	batchOnce sync.Once
	batches   *batchCollector // registered by the first AddBatcher
}

// KServeBuckets are the buckets of KServe's four step histograms:
// prometheus_client's (Python) DEFAULT_BUCKETS, contract §6. They are not
// client_golang's prometheus.DefBuckets, which lack 0.075, 0.75 and 7.5.
var KServeBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// SizeBuckets are the size histograms' buckets: 64 B to 64 MiB (the default
// --max_request_body_size) in steps of 4×.
var SizeBuckets = prometheus.ExponentialBuckets(64, 4, 11)

// QueueBuckets are the queue-wait histogram's buckets: from 100 µs, since a
// wait that long already means every worker was busy, to KServe's 10 s.
var QueueBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Option configures New.
type Option func(*Metrics)

// ServesGRPC says whether the server serves gRPC, and so whether each
// model gets protocol="grpc-v2" series (New's default: it does). REST's v1
// and v2 series are always created.
func ServesGRPC(served bool) Option {
	return func(m *Metrics) { m.served[grpcV2] = served }
}

// New returns the collectors registered in a fresh registry. The process
// and Go runtime collectors are the default registry's: client_golang
// registers them there when it starts, so a second pair here would only
// repeat them (and hold another 50 KB of live heap, which every garbage
// collection scans).
func New(opts ...Option) *Metrics {
	hist := func(name, help string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: KServeBuckets}, []string{"model_name"})
	}
	m := &Metrics{
		Registry:    prometheus.NewRegistry(),
		Default:     prometheus.DefaultGatherer,
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
		reqSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kserve_request_size_bytes", Help: "size of inference request bodies (REST) and messages (gRPC), by model and protocol",
			Buckets: SizeBuckets,
		}, []string{"model_name", "protocol"}),
		respSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kserve_response_size_bytes", Help: "size of successful inference response bodies (REST) and messages (gRPC), by model and protocol",
			Buckets: SizeBuckets,
		}, []string{"model_name", "protocol"}),
		queue: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kserve_request_queue_seconds", Help: "time inference requests waited for one of the --max_asyncio_workers model slots, by model",
			Buckets: QueueBuckets,
		}, []string{"model_name"}),
		predictorRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kserve_predictor_retries_total", Help: "retries of a transformer's calls to its predictor (attempts after the first), by model and predictor protocol",
		}, []string{"model_name", "protocol"}),
		predictorFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kserve_predictor_failures_total", Help: "a transformer's calls to its predictor that failed after their last attempt, by model, predictor protocol and the predictor's status code",
		}, []string{"model_name", "protocol", "code"}),
		served: [3]bool{true, true, true},
	}
	for _, o := range opts {
		o(m)
	}
	m.Registry.MustRegister(m.preprocess, m.predict, m.explain, m.postprocess, m.requests, m.errors, m.inFlight,
		m.reqSize, m.respSize, m.queue, m.predictorRetries, m.predictorFailures)
	return m
}

// Handler serves the registry and the default one in the text or
// OpenMetrics format the Accept header asks for. OpenMetrics carries the
// counters' and histograms' _created samples, as KServe's prometheus_client
// writes them; the text format has no place for them in client_golang.
//
// The default registry is where a model's own metrics go
// (prometheus.MustRegister, promauto): KServe's /metrics serves
// prometheus_client's global REGISTRY, where a Python model's Counter
// lands, and so does this one. A metric that cannot be gathered (one named
// like a server metric with other labels or help, say) is left out of the
// scrape and logged to log (nil: not logged), rather than failing the
// whole scrape that autoscalers and dashboards read.
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	return HandlerFor(m.Gatherer(), log)
}

// Gatherer gathers what Handler serves: the registry and the default one.
func (m *Metrics) Gatherer() prometheus.Gatherer {
	if m.Default == nil {
		return m.Registry
	}
	return prometheus.Gatherers{m.Registry, m.Default}
}

// HandlerFor serves g as Handler serves a Metrics' registries (the format
// from the Accept header, a metric that cannot be gathered left out and
// logged).
func HandlerFor(g prometheus.Gatherer, log *slog.Logger) http.Handler {
	opts := promhttp.HandlerOpts{EnableOpenMetrics: true, EnableOpenMetricsTextCreatedSamples: true, ErrorHandling: promhttp.ContinueOnError}
	if log != nil {
		opts.ErrorLog = errorLog{log}
	}
	return promhttp.HandlerFor(g, opts)
}

// errorLog is promhttp's error log on a slog.Logger.
type errorLog struct{ log *slog.Logger }

func (e errorLog) Println(v ...any) {
	e.log.Log(context.Background(), slog.LevelError, strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
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
	Queue       prometheus.Observer
	requests    [3][2]prometheus.Counter // [protocol][verb]
	reqSize     [3]prometheus.Observer   // [protocol]
	respSize    [3]prometheus.Observer
}

// protocols are the protocol label's values, indexed like infer.Protocol.
var protocols = [3]string{"v1", "v2", "grpc-v2"}

// grpcV2 is protocols' index of "grpc-v2".
const grpcV2 = 2

// ForModel resolves the observers for a model name. The label is the
// model's own name, not an alias it is registered under (as KServe). The
// protocol-labelled series are created, at 0, for the served protocols
// only; the others' observers stay nil.
func (m *Metrics) ForModel(name string) *Model {
	mm := &Model{
		m: m, name: name,
		Preprocess:  m.preprocess.WithLabelValues(name),
		Predict:     m.predict.WithLabelValues(name),
		Explain:     m.explain.WithLabelValues(name),
		Postprocess: m.postprocess.WithLabelValues(name),
		InFlight:    m.inFlight.WithLabelValues(name),
		Queue:       m.queue.WithLabelValues(name),
	}
	for p, proto := range protocols {
		if !m.served[p] {
			continue
		}
		for v, verb := range []string{"predict", "explain"} {
			mm.requests[p][v] = m.requests.WithLabelValues(name, proto, verb)
		}
		mm.reqSize[p] = m.reqSize.WithLabelValues(name, proto)
		mm.respSize[p] = m.respSize.WithLabelValues(name, proto)
	}
	return mm
}

// Exchange records one finished inference request: protocol is 0 v1, 1 v2,
// 2 grpc-v2; explain selects the verb; in and out are the request's and the
// response's sizes in bytes (negative: unknown, not observed); code is the
// status code of a failed request (an HTTP code or a gRPC code name), ""
// for a success. A protocol the server was not said to serve (see
// ServesGRPC) is not recorded.
func (mm *Model) Exchange(protocol int, explain bool, in, out int, code string) {
	if protocol < 0 || protocol >= len(protocols) {
		return
	}
	v := 0
	if explain {
		v = 1
	}
	req := mm.requests[protocol][v]
	if req == nil {
		return
	}
	req.Inc()
	if in >= 0 {
		mm.reqSize[protocol].Observe(float64(in))
	}
	if code != "" {
		mm.m.errors.WithLabelValues(mm.name, protocols[protocol], code).Inc()
	} else if out >= 0 {
		mm.respSize[protocol].Observe(float64(out))
	}
}

// Unnamed records a failed inference request whose model is not known
// under model_name="", the one name no served model has (the dataplane
// refuses to register it): a gRPC message grpc-go refused before the
// server could read its model_name. protocol, explain, in and code are as
// Exchange's. Its series appear with the first such request, not at 0
// from the start: they are not a model's.
func (m *Metrics) Unnamed(protocol int, explain bool, in int, code string) {
	if protocol < 0 || protocol >= len(protocols) || !m.served[protocol] {
		return
	}
	verb := "predict"
	if explain {
		verb = "explain"
	}
	m.requests.WithLabelValues("", protocols[protocol], verb).Inc()
	if in >= 0 {
		m.reqSize.WithLabelValues("", protocols[protocol]).Observe(float64(in))
	}
	m.errors.WithLabelValues("", protocols[protocol], code).Inc()
}

// Predictor counts a transformer's calls to its predictor
// (forward.Observer).
type Predictor struct {
	m               *Metrics
	model, protocol string
	retries         prometheus.Counter
}

// ForPredictor resolves the counters of model's calls to its predictor,
// which it reaches over protocol (the predictor protocol: v1, v2 or
// grpc-v2). The retries' series is created, at 0, now; a failure's, with
// the first failure of its code.
func (m *Metrics) ForPredictor(model, protocol string) *Predictor {
	return &Predictor{m: m, model: model, protocol: protocol, retries: m.predictorRetries.WithLabelValues(model, protocol)}
}

// Retry counts one retry.
func (p *Predictor) Retry() { p.retries.Inc() }

// Failure counts one call that failed after its last attempt, by how it
// ended (client.FailureCode).
func (p *Predictor) Failure(code string) {
	p.m.predictorFailures.WithLabelValues(p.model, p.protocol, code).Inc()
}

// Since observes the time since start on o.
func Since(o prometheus.Observer, start time.Time) time.Duration {
	d := time.Since(start)
	o.Observe(d.Seconds())
	return d
}
