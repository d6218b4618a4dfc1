//go:build linux

package main

import (
	"math"
	"testing"
)

func TestParseMetricsSumsFamiliesAndCountsSeries(t *testing.T) {
	m, series := parseMetrics([]byte(`# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 21
kserve_requests_in_flight{model_name="a"} 2
kserve_requests_in_flight{model_name="b",x="}"} 1
go_memstats_heap_inuse_bytes 2.5e+06
`))
	if series != 4 {
		t.Errorf("series = %d, want 4", series)
	}
	for name, want := range map[string]float64{"go_goroutines": 21, "kserve_requests_in_flight": 3, "go_memstats_heap_inuse_bytes": 2.5e6} {
		if m[name] != want {
			t.Errorf("%s = %v, want %v", name, m[name], want)
		}
	}
}

func TestSlopeIsPerUnitOfX(t *testing.T) {
	if got := slope([]float64{0, 1, 2, 3}, []float64{5, 7, 9, 11}); math.Abs(got-2) > 1e-9 {
		t.Errorf("slope = %v, want 2", got)
	}
	if got := slope([]float64{1}, []float64{3}); got != 0 {
		t.Errorf("slope of one point = %v, want 0", got)
	}
}
