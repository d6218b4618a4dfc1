package metrics

import (
	"cmp"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ProcessLabel is the label Merge adds to the series it keeps per process.
const ProcessLabel = "process"

// Source is one process's gathered metrics, for Merge.
type Source struct {
	// Process names the process in the ProcessLabel of its per-process
	// series ("parent", "worker-0", ...).
	Process  string
	Families []*dto.MetricFamily
}

// summedGauges are the server's gauges whose value for the pod is the sum
// of the processes' values, as prometheus_client's multiprocess mode sums
// a gauge declared with multiprocess_mode="livesum".
var summedGauges = map[string]bool{
	"kserve_requests_in_flight":    true,
	"kserve_batch_queued_requests": true,
}

// PerProcess says whether Merge keeps a family's series per process (with
// a ProcessLabel) rather than summing them: the Go runtime's and the
// process's own figures (go_*, process_*), whose sum is meaningless for
// most of them (start time, GOMAXPROCS, the memory limit); a gauge other
// than the server's summed ones (its meaning is the model's, so, as
// prometheus_client's default multiprocess_mode="all", one series per
// process); and what cannot be added (a summary's quantiles, a native
// histogram's buckets, untyped values).
func PerProcess(mf *dto.MetricFamily) bool {
	name := mf.GetName()
	if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
		return true
	}
	switch mf.GetType() {
	case dto.MetricType_COUNTER:
		return false
	case dto.MetricType_GAUGE:
		return !summedGauges[name]
	case dto.MetricType_HISTOGRAM:
		for _, m := range mf.GetMetric() {
			if m.GetHistogram().Schema != nil {
				return true
			}
		}
		return false
	default:
		return true
	}
}

// Cumulative returns the families of fams that only grow while a process
// lives and that Merge sums: the counters and classic histograms not kept
// per process. A process that is gone (a restarted worker) leaves these
// behind, so that the pod's totals never go back, as prometheus_client's
// multiprocess mode keeps a dead process's counters in its files.
func Cumulative(fams []*dto.MetricFamily) []*dto.MetricFamily {
	var out []*dto.MetricFamily
	for _, mf := range fams {
		t := mf.GetType()
		if (t == dto.MetricType_COUNTER || t == dto.MetricType_HISTOGRAM) && !PerProcess(mf) {
			out = append(out, mf)
		}
	}
	return out
}

// Merge merges several processes' metrics into the pod's, as
// prometheus_client's multiprocess mode does: counters, classic histograms
// and the server's summed gauges are summed per label set (the earliest
// _created kept); the families PerProcess names get a ProcessLabel with
// each source's Process instead. The result has one family per name, sorted
// by name, each with one series per label set, sorted: Prometheus rejects
// a scrape with two samples of one series. A family whose type differs
// from the one the first source gave it is left out (all processes run
// one binary, so that is a model registering a metric differently in
// different processes). The sources are not modified.
func Merge(sources ...Source) []*dto.MetricFamily {
	type family struct {
		mf         *dto.MetricFamily
		perProcess bool
		series     map[string]*dto.Metric
	}
	byName := map[string]*family{}
	for _, src := range sources {
		for _, mf := range src.Families {
			f := byName[mf.GetName()]
			if f == nil {
				f = &family{
					mf:         &dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type, Unit: mf.Unit},
					perProcess: PerProcess(mf),
					series:     map[string]*dto.Metric{},
				}
				byName[mf.GetName()] = f
			} else if f.mf.GetType() != mf.GetType() {
				continue
			}
			for _, m := range mf.GetMetric() {
				m = proto.Clone(m).(*dto.Metric)
				// A family that already has a "process" label of its own
				// keeps it, and is summed over it.
				if f.perProcess && !hasLabel(m, ProcessLabel) {
					m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(ProcessLabel), Value: proto.String(src.Process)})
					slices.SortFunc(m.Label, func(a, b *dto.LabelPair) int { return cmp.Compare(a.GetName(), b.GetName()) })
				}
				key := labelKey(m)
				if prev, ok := f.series[key]; ok {
					add(prev, m)
				} else {
					f.series[key] = m
				}
			}
		}
	}
	out := make([]*dto.MetricFamily, 0, len(byName))
	for _, f := range byName {
		keys := make([]string, 0, len(f.series))
		for k := range f.series {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			f.mf.Metric = append(f.mf.Metric, f.series[k])
		}
		out = append(out, f.mf)
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return cmp.Compare(a.GetName(), b.GetName()) })
	return out
}

func hasLabel(m *dto.Metric, name string) bool {
	return slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == name })
}

// labelKey identifies a series within its family: its label pairs, which
// client_golang gathers sorted by name.
func labelKey(m *dto.Metric) string {
	var b strings.Builder
	for _, l := range m.GetLabel() {
		b.WriteString(l.GetName())
		b.WriteByte(0)
		b.WriteString(l.GetValue())
		b.WriteByte(0)
	}
	return b.String()
}

// add adds m's values into into, a series of the same family and labels.
func add(into, m *dto.Metric) {
	switch {
	case into.Counter != nil && m.Counter != nil:
		into.Counter.Value = proto.Float64(into.Counter.GetValue() + m.Counter.GetValue())
		into.Counter.CreatedTimestamp = earliest(into.Counter.CreatedTimestamp, m.Counter.CreatedTimestamp)
		into.Counter.Exemplar = nil
	case into.Gauge != nil && m.Gauge != nil:
		into.Gauge.Value = proto.Float64(into.Gauge.GetValue() + m.Gauge.GetValue())
	case into.Untyped != nil && m.Untyped != nil:
		into.Untyped.Value = proto.Float64(into.Untyped.GetValue() + m.Untyped.GetValue())
	case into.Histogram != nil && m.Histogram != nil:
		h, o := into.Histogram, m.Histogram
		h.SampleCount = proto.Uint64(h.GetSampleCount() + o.GetSampleCount())
		h.SampleSum = proto.Float64(h.GetSampleSum() + o.GetSampleSum())
		h.Bucket = addBuckets(h.Bucket, o.Bucket)
		h.CreatedTimestamp = earliest(h.CreatedTimestamp, o.CreatedTimestamp)
		h.Exemplars = nil
	case into.Summary != nil && m.Summary != nil:
		// Only reached for a summary with a "process" label of its own;
		// quantiles cannot be added, count and sum can.
		s, o := into.Summary, m.Summary
		s.SampleCount = proto.Uint64(s.GetSampleCount() + o.GetSampleCount())
		s.SampleSum = proto.Float64(s.GetSampleSum() + o.GetSampleSum())
		s.Quantile = nil
		s.CreatedTimestamp = earliest(s.CreatedTimestamp, o.CreatedTimestamp)
	}
}

// addBuckets adds two histograms' cumulative buckets. Processes of one
// binary have the same bounds; were they different, each bound gets the
// count of observations known to lie below it in each histogram.
func addBuckets(a, b []*dto.Bucket) []*dto.Bucket {
	bounds := make([]float64, 0, len(a)+len(b))
	for _, x := range append(slices.Clip(a), b...) {
		bounds = append(bounds, x.GetUpperBound())
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	out := make([]*dto.Bucket, len(bounds))
	for i, le := range bounds {
		out[i] = &dto.Bucket{UpperBound: proto.Float64(le), CumulativeCount: proto.Uint64(countBelow(a, le) + countBelow(b, le))}
	}
	return out
}

// countBelow is the cumulative count of the highest bucket of bs whose
// bound is at most le.
func countBelow(bs []*dto.Bucket, le float64) uint64 {
	var n uint64
	for _, b := range bs {
		if b.GetUpperBound() <= le {
			n = max(n, b.GetCumulativeCount())
		}
	}
	return n
}

// earliest is the earlier of two _created timestamps, either of them nil
// when unknown.
func earliest(a, b *timestamppb.Timestamp) *timestamppb.Timestamp {
	if a == nil || (b != nil && b.AsTime().Before(a.AsTime())) {
		return b
	}
	return a
}
