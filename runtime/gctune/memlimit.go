package gctune

import (
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"

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
	Skipped   string  // why no limit was set, when Bytes is 0
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
	return s
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
// Runtime's arenas, other cgo allocations) is not counted by the Go limit,
// so a server holding large models in C memory should lower AUTOMEMLIMIT or
// set GOMEMLIMIT itself.
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
	c, err := limit()
	switch {
	case errors.Is(err, memlimit.ErrNoLimit):
		l.Skipped = "the container's memory is not limited"
		return l, nothing, nil
	case err != nil:
		l.Skipped = "no container memory limit found (" + err.Error() + ")"
		return l, nothing, nil
	case c == 0 || c > math.MaxInt64:
		l.Skipped = "the container's memory is not limited"
		return l, nothing, nil
	}
	l.Container = c
	l.Bytes = max(int64(float64(c)*l.Ratio)/int64(l.Processes), 1)
	prev := debug.SetMemoryLimit(l.Bytes)
	return l, func() { debug.SetMemoryLimit(prev) }, nil
}
