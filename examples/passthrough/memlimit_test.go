package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runImage is the local Debian image scripts/setup-buildpacks.sh makes
// (kserve-gen build's run image). With KSERVE_GEN_REQUIRE_BUILDPACKS=1 (CI)
// its absence fails the test.
func runImage(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "kserve-gen/cnb-run").Output()
	image, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if err != nil || image == "" {
		if os.Getenv("KSERVE_GEN_REQUIRE_BUILDPACKS") == "1" {
			t.Fatalf("no Docker engine with the kserve-gen/cnb-run image (scripts/setup-buildpacks.sh makes it): %v %s", err, out)
		}
		t.Skip("no Docker engine with the kserve-gen/cnb-run image; scripts/setup-buildpacks.sh makes it")
	}
	return image
}

// inContainer runs the example in a container of the Docker engine with a
// memory limit (docker run --memory, a real cgroup limit, v1 or v2 as the
// host has it), on the host's network so that the test reaches its ports.
func inContainer(t *testing.T, memory string, args ...string) *proc {
	t.Helper()
	p, _ := inContainerWith(t, []string{"--memory", memory}, args...)
	return p
}

// inContainerWith is inContainer with any docker run options; it also
// returns the container's name.
func inContainerWith(t *testing.T, dockerOpts []string, args ...string) (*proc, string) {
	t.Helper()
	image := runImage(t)
	bin := build(t, "CGO_ENABLED=0") // static: runs on the image's libc, whatever the host's
	name := fmt.Sprintf("kserve-gen-memlimit-%d", time.Now().UnixNano())
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	run := run(t, func(args []string) *exec.Cmd {
		opts := append([]string{"run", "--rm", "--name", name, "--network", "host"}, dockerOpts...)
		opts = append(opts, "-v", filepath.Dir(bin)+":/pt:ro", "--entrypoint", "/pt/passthrough", image)
		return exec.Command("docker", append(opts, args...)...)
	}, args...)
	return run, name
}

func goMemLimit(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	// One series per process: unlabelled for one process, with a process
	// label under --workers (the pod's /metrics keeps go_* per process).
	out := map[string]float64{}
	for _, l := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(l, "go_gc_gomemlimit_bytes")
		if !ok || rest == "" || rest[0] != ' ' && rest[0] != '{' {
			continue
		}
		labels, value, _ := strings.Cut(rest, " ")
		if rest[0] == ' ' {
			labels, value = "", rest[1:]
		}
		v, err := strconv.ParseFloat(value, 64)
		require.NoError(t, err, "%s", l)
		out[labels] = v
	}
	if len(out) == 0 {
		t.Fatalf("no go_gc_gomemlimit_bytes in /metrics:\n%s", body)
	}
	return out
}

// memLimitLine is the server's log line, once its models are loaded: the
// Go memory limit, the container's limit and share, and what the process
// holds outside Go (code, libraries; a model's C memory) taken off it.
var memLimitLine = regexp.MustCompile(`\] Go memory limit \(GOMEMLIMIT\) ([\d.]+) MiB: 90% of the container's ([\d.]+ [MG]iB) memory limit(?: shared by (\d) serving processes)?, less ([\d.]+) MiB held outside Go\n`)

// memLimitLines waits for n memory-limit lines and returns them.
func memLimitLines(t *testing.T, p *proc, n int) [][]string {
	t.Helper()
	var lines [][]string
	require.Eventually(t, func() bool {
		lines = memLimitLine.FindAllStringSubmatch(p.out.String(), -1)
		return len(lines) == n
	}, 10*time.Second, 10*time.Millisecond, "%d memory-limit lines in:\n%s", n, p.out)
	return lines
}

// checkLine checks one memory-limit line: the limit plus what is held
// outside Go is the process's share (within the line's rounding), and the
// part outside Go is there but small for this server.
func checkLine(t *testing.T, l []string, container, processes string, share float64) {
	t.Helper()
	limit, _ := strconv.ParseFloat(l[1], 64)
	outside, _ := strconv.ParseFloat(l[4], 64)
	assert.Equal(t, container, l[2])
	assert.Equal(t, processes, l[3])
	assert.InDelta(t, share, limit+outside, 0.15, "%s", l[0])
	assert.True(t, outside > 0 && outside < 64, "outside Go: %v MiB", outside)
}

// limitOf waits for n memory-limit lines and checks each.
func limitOf(t *testing.T, p *proc, n int, container string, processes string, share float64) {
	t.Helper()
	for _, l := range memLimitLines(t, p, n) {
		checkLine(t, l, container, processes, share)
	}
}

// In a container with a memory limit the server gives Go 90 % of it as its
// soft limit (GOMEMLIMIT), less what the process holds outside Go once its
// model is loaded, says so in its log, and /metrics shows it.
func TestMemoryLimitFromTheContainer(t *testing.T) {
	p := inContainer(t, "256m")
	limitOf(t, p, 1, "256.0 MiB", "", 230.4) // 0.9 × 256 MiB
	limits := goMemLimit(t, p.url)
	require.Len(t, limits, 1)
	v := limits[""]
	assert.True(t, v < 241591910 && v > 241591910-64<<20, "go_gc_gomemlimit_bytes %v: 0.9 × 256 MiB less what is outside Go", v)
	resp, err := http.Post(p.url+"/v1/models/passthrough:predict", "application/json", strings.NewReader(`{"instances":[[1,2]]}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
}

// --workers N: the N REST workers and the supervisor (which serves gRPC)
// share the container, so each of the N+1 gets 1/(N+1) of the share.
func TestMemoryLimitSharedByWorkers(t *testing.T) {
	p := inContainer(t, "1g", "--workers=2")
	limitOf(t, p, 3, "1.0 GiB", "3", 307.2) // 0.9 × 1 GiB / 3
	limits := goMemLimit(t, p.url)
	assert.Len(t, limits, 3, "the parent's and each worker's: %v", limits)
	for process, v := range limits {
		assert.True(t, v < 322122547 && v > 322122547-64<<20, "go_gc_gomemlimit_bytes%s %v", process, v)
	}
}

// A container resized in place (docker update; Kubernetes' in-place pod
// resize) gets a new Go memory limit at the next refresh.
func TestMemoryLimitFollowsAResize(t *testing.T) {
	p, name := inContainerWith(t, []string{"--memory", "256m", "--memory-swap", "1g", "-e", "KSERVE_GEN_MEMLIMIT_REFRESH=100ms"})
	checkLine(t, memLimitLines(t, p, 1)[0], "256.0 MiB", "", 230.4)
	out, err := exec.Command("docker", "update", "--memory", "512m", "--memory-swap", "1g", name).CombinedOutput()
	require.NoError(t, err, "%s", out)
	// Refreshes before the resize may log too (what is outside Go moves a
	// little); the last line must come to show the new limit.
	var last []string
	require.Eventually(t, func() bool {
		lines := memLimitLine.FindAllStringSubmatch(p.out.String(), -1)
		last = lines[len(lines)-1]
		return last[2] == "512.0 MiB"
	}, 10*time.Second, 10*time.Millisecond, "no line for the resized container in:\n%s", p.out)
	checkLine(t, last, "512.0 MiB", "", 460.8) // 0.9 × 512 MiB
}

// An explicit GOMEMLIMIT is the user's choice and stays; a bad AUTOMEMLIMIT
// stops the server with a message naming it.
func TestMemoryLimit_UserSettings(t *testing.T) {
	runImage(t)
	bin := build(t, "CGO_ENABLED=0")
	docker := func(env string) *exec.Cmd {
		return exec.Command("docker", "run", "--rm", "--memory", "256m", "--network", "none", "-e", env,
			"-v", filepath.Dir(bin)+":/pt:ro", "--entrypoint", "/pt/passthrough", runImage(t), "--model_name=passthrough", "--http_port=18080", "--grpc_port=18081")
	}
	out, err := docker("AUTOMEMLIMIT=90%").CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), `AUTOMEMLIMIT="90%": want the share of the container's memory limit Go may use, in (0, 1] (e.g. 0.8), or off`)

	p := run(t, func(args []string) *exec.Cmd {
		bin := build(t, "CGO_ENABLED=0")
		return exec.Command("docker", append([]string{"run", "--rm", "--memory", "256m", "--network", "host", "-e", "GOMEMLIMIT=100MiB",
			"-v", filepath.Dir(bin) + ":/pt:ro", "--entrypoint", "/pt/passthrough", runImage(t)}, args...)...)
	})
	assert.NotContains(t, p.out.String(), "Go memory limit")
	assert.Equal(t, map[string]float64{"": 1.048576e+08}, goMemLimit(t, p.url))
}
