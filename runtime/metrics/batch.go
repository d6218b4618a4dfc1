package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// BatchStats are a dynamic batcher's counters (runtime/batch's Stats).
type BatchStats struct {
	Queued                                       int
	Requests, Batches, Rows, Cancelled, Rejected int64
}

// AddBatcher exports the counters of a model's dynamic batcher, read from
// stats at every scrape, so batching costs the request path nothing;
// stats reports false while there is no batcher (before Load).
func (m *Metrics) AddBatcher(model string, stats func() (BatchStats, bool)) {
	m.batchOnce.Do(func() {
		m.batches = &batchCollector{}
		m.Registry.MustRegister(m.batches)
	})
	m.batches.mu.Lock()
	defer m.batches.mu.Unlock()
	m.batches.models = append(m.batches.models, batchSource{model, stats})
}

// batchCollector is one collector for every batched model: the registry
// refuses two collectors describing the same metrics.
type batchCollector struct {
	mu     sync.Mutex
	models []batchSource
}

type batchSource struct {
	name  string
	stats func() (BatchStats, bool)
}

var (
	batchCalls = prometheus.NewDesc("kserve_batch_calls_total",
		"calls of the model on a batch by the dynamic batcher; rate(kserve_batch_rows_total) / rate(kserve_batch_calls_total) is the mean batch size", []string{"model_name"}, nil)
	batchRows = prometheus.NewDesc("kserve_batch_rows_total",
		"rows the dynamic batcher passed to the model", []string{"model_name"}, nil)
	batchRequests = prometheus.NewDesc("kserve_batch_requests_total",
		"requests the dynamic batcher dispatched in a batch", []string{"model_name"}, nil)
	batchQueued = prometheus.NewDesc("kserve_batch_queued_requests",
		"requests waiting in the dynamic batcher's queue", []string{"model_name"}, nil)
	batchCancelled = prometheus.NewDesc("kserve_batch_cancelled_total",
		"queued requests whose client left before they were dispatched", []string{"model_name"}, nil)
	batchRejected = prometheus.NewDesc("kserve_batch_rejected_total",
		"requests refused because the batcher's queue was full", []string{"model_name"}, nil)
)

func (c *batchCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{batchCalls, batchRows, batchRequests, batchQueued, batchCancelled, batchRejected} {
		ch <- d
	}
}

func (c *batchCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	models := c.models
	c.mu.Unlock()
	for _, m := range models {
		s, ok := m.stats()
		if !ok {
			continue
		}
		counter := func(d *prometheus.Desc, v int64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), m.name)
		}
		counter(batchCalls, s.Batches)
		counter(batchRows, s.Rows)
		counter(batchRequests, s.Requests)
		counter(batchCancelled, s.Cancelled)
		counter(batchRejected, s.Rejected)
		ch <- prometheus.MustNewConstMetric(batchQueued, prometheus.GaugeValue, float64(s.Queued), m.name)
	}
}
