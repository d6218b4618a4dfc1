package gctune

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"

	"github.com/kserve-gen/kserve-gen/runtime/internal/bytesize"
)

// DefaultMemoryRatio is the share of the container's memory limit given to
// Go as its soft limit; the rest is head-room for memory Go does not count
// (thread stacks outside the heap, cgo, the kernel's page cache charge).
const DefaultMemoryRatio = 0.9

// MemoryLimit is what SetMemoryLimit decided.
type MemoryLimit struct {
	Bytes     int64   // the Go memory limit set; 0 when SetMemoryLimit set none
	Container uint64  // the container's memory limit; 0 when none was found
	Ratio     float64 // share of Container, split between Processes
	Processes int     // serving processes sharing the container (--workers N: N+1)
	Outside   uint64  // memory held outside Go when the models loaded (Less)
	Skipped   string  // why no limit was set, when Bytes is 0
}

// share is the process's part of the container's limit.
func (l MemoryLimit) share() int64 {
	return max(int64(float64(l.Container)*l.Ratio)/int64(max(l.Processes, 1)), 1)
}

// String is the log line for the decision.
func (l MemoryLimit) String() string {
	if l.Bytes == 0 {
		return "Go memory limit not set: " + l.Skipped
	}
	s := fmt.Sprintf("Go memory limit (GOMEMLIMIT) %s: %g%% of the container's %s memory limit",
		bytesize.Format(l.Bytes), math.Round(l.Ratio*1000)/10, bytesize.Format(int64(l.Container)))
	if l.Processes > 1 {
		s += fmt.Sprintf(" shared by %d serving processes", l.Processes)
	}
	if l.Outside > 0 {
		s += fmt.Sprintf(", less %s held outside Go", bytesize.Format(int64(l.Outside)))
	}
	return s
}

// Less lowers the limit SetMemoryLimit set by outside, the memory the
// process holds outside Go once its models are loaded (OutsideGo): ONNX
// Runtime's weights and arenas, other cgo allocations, the code of the
// binary and its libraries. The container's limit counts them, Go's limit
// does not, so without this a server whose model fills most of the
// container would let its Go heap grow far past what is left. Go keeps at
// least a tenth of its share; below that Less says so in warning. It does
// nothing when no limit was set.
func (l *MemoryLimit) Less(outside uint64) (warning string) {
	if l.Bytes == 0 {
		return ""
	}
	*l, warning = l.less(outside)
	debug.SetMemoryLimit(l.Bytes)
	return warning
}

// less is Less without applying the result.
func (l MemoryLimit) less(outside uint64) (MemoryLimit, string) {
	share := l.share()
	l.Outside = outside
	l.Bytes = share - int64(min(outside, uint64(share)))
	if floor := max(share/10, 1); l.Bytes < floor {
		l.Bytes = floor
		return l, fmt.Sprintf("The models hold %s outside Go, nearly all of this process's %s share of the container's memory: Go's memory limit stays at %s; raise the container's memory limit",
			bytesize.Format(int64(outside)), bytesize.Format(share), bytesize.Format(floor))
	}
	return l, ""
}

// Refresh re-reads the container's limit (limit) and the memory held
// outside Go (outside) and applies the result when it moved by more than 1 %,
// reporting whether it did: an ONNX Runtime arena that grew with larger
// batches, or a pod whose memory limit was resized in place. A limit that
// cannot be read, or is gone, leaves the last one in force.
func (l *MemoryLimit) Refresh(limit func() (uint64, error), outside func() (uint64, error)) (changed bool, warning string) {
	if l.Bytes == 0 {
		return false, ""
	}
	c, why := containerLimit(limit)
	if why != "" {
		return false, ""
	}
	o, err := outside()
	if err != nil {
		return false, ""
	}
	cur := *l
	cur.Container = c
	next, warning := cur.less(o)
	if d := next.Bytes - l.Bytes; max(d, -d) <= l.Bytes/100 && c == l.Container {
		return false, ""
	}
	*l = next
	debug.SetMemoryLimit(l.Bytes)
	return true, warning
}

// containerLimit reads the container's limit, or says why there is none
// to use: cgroup v1 reports "no limit" as a huge number, v2 as max.
func containerLimit(limit func() (uint64, error)) (uint64, string) {
	c, err := limit()
	switch {
	case errors.Is(err, memlimit.ErrNoLimit), err == nil && (c == 0 || c > math.MaxInt64):
		return 0, "the container's memory is not limited"
	case err != nil:
		return 0, "no container memory limit found (" + err.Error() + ")"
	}
	return c, ""
}

// DefaultRefresh is how often the server re-reads the container's memory
// limit and what is held outside Go (MemoryLimit.Refresh).
const DefaultRefresh = 30 * time.Second

// RefreshInterval is KSERVE_GEN_MEMLIMIT_REFRESH: a Go duration ("10s") or
// seconds ("10"), "0" or "off" to keep the limit set at start; unset,
// DefaultRefresh.
func RefreshInterval(getenv func(string) string) (time.Duration, error) {
	v := strings.TrimSpace(getenv("KSERVE_GEN_MEMLIMIT_REFRESH"))
	switch {
	case v == "":
		return DefaultRefresh, nil
	case v == "0" || strings.EqualFold(v, "off"):
		return 0, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n > 0 {
		return time.Duration(n * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("KSERVE_GEN_MEMLIMIT_REFRESH=%q: want how often to re-read the memory limit, e.g. 30s, or off", v)
}

// OutsideGo is the process's resident memory that the Go runtime does not
// manage: its resident set (/proc/self/statm) less what Go has mapped and
// not returned to the kernel (runtime/metrics). Go's part is counted
// generously (mapped pages need not be resident), so the result errs low.
func OutsideGo() (uint64, error) {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("read resident memory: %w", err)
	}
	fields := strings.Fields(string(data))
	if len(fields) < 2 {
		return 0, fmt.Errorf("read resident memory: unexpected /proc/self/statm %q", data)
	}
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read resident memory: %w", err)
	}
	rss := pages * uint64(os.Getpagesize())
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	goResident := s[0].Value.Uint64() - s[1].Value.Uint64()
	if rss <= goResident {
		return 0, nil
	}
	return rss - goResident, nil
}

// CgroupLimit is the container's memory limit read from the process's
// cgroup (v2 memory.max along the path, or v1 memory.limit_in_bytes, found
// through /proc/self/mountinfo), memlimit.ErrNoLimit when it is unlimited.
func CgroupLimit() (uint64, error) { return memlimit.FromCgroup() }

// SetMemoryLimit sets Go's soft memory limit to a share of the container's
// memory limit, as Go sets GOMAXPROCS from its CPU limit: without it a Go
// heap that grows (large requests, a burst of them) is collected by GOGC's
// pacing alone and the kernel kills the pod at the container's limit, where
// with it the collector works harder as the heap nears the limit instead.
//
// The share is DefaultMemoryRatio, or AUTOMEMLIMIT (a ratio in (0, 1], or
// "off": the variable of the widely used automemlimit package, whose cgroup
// reader this uses), divided by processes (with --workers N, N REST workers
// and the gRPC-serving supervisor share one container). An explicit
// GOMEMLIMIT wins and nothing is changed. Memory Go does not manage (ONNX
// Runtime's arenas, other cgo allocations) is not counted by the Go limit:
// once the models are loaded, Less takes it off.
//
// limit reports the container's limit (CgroupLimit on a server). restore
// puts back the limit in force before.
func SetMemoryLimit(getenv func(string) string, limit func() (uint64, error), processes int) (MemoryLimit, func(), error) {
	l := MemoryLimit{Ratio: DefaultMemoryRatio, Processes: max(processes, 1)}
	nothing := func() {}
	if v := getenv("GOMEMLIMIT"); v != "" {
		l.Skipped = "GOMEMLIMIT=" + v + " is set"
		return l, nothing, nil
	}
	if v := strings.TrimSpace(getenv("AUTOMEMLIMIT")); v != "" {
		if strings.EqualFold(v, "off") {
			l.Skipped = "AUTOMEMLIMIT=off"
			return l, nothing, nil
		}
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(r) || r <= 0 || r > 1 {
			return l, nothing, fmt.Errorf("AUTOMEMLIMIT=%q: want the share of the container's memory limit Go may use, in (0, 1] (e.g. 0.8), or off", v)
		}
		l.Ratio = r
	}
	c, why := containerLimit(limit)
	if why != "" {
		l.Skipped = why
		return l, nothing, nil
	}
	l.Container = c
	l.Bytes = l.share()
	prev := debug.SetMemoryLimit(l.Bytes)
	return l, func() { debug.SetMemoryLimit(prev) }, nil
}
