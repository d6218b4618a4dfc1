package onnx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
)

// helperEnv makes the test binary act as a fresh process that only
// initialises an Env and prints the result (see TestMain).
const helperEnv = "KSERVE_GEN_ONNX_TEST_HELPER"

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestCandidates(t *testing.T) {
	loader := []Candidate{
		{Path: "libonnxruntime.so.1", Source: "dynamic loader search path"},
		{Path: "libonnxruntime.so", Source: "dynamic loader search path"},
	}
	cache := func(dir string) Candidate {
		return Candidate{Path: dir + "/onnxruntime/1.29.0/libonnxruntime.so", Source: "kserve-gen cache (scripts/setup-onnx.sh)", File: true}
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []Candidate
	}{
		{"override wins alone", map[string]string{EnvLibraryPath: "/opt/ort/lib.so", "HOME": "/home/u"},
			[]Candidate{{Path: "/opt/ort/lib.so", Source: EnvLibraryPath, File: true}}},
		{"cache variable", map[string]string{EnvCache: "/c", "HOME": "/home/u"}, append([]Candidate{cache("/c")}, loader...)},
		{"home cache", map[string]string{"HOME": "/home/u"}, append([]Candidate{cache("/home/u/.cache/kserve-gen")}, loader...)},
		{"no home", map[string]string{}, loader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Candidates(mapEnv(tc.env)))
		})
	}
}

func TestLibraryError_NamesEveryPlaceAndTheFix(t *testing.T) {
	err := error(&LibraryError{Attempts: []Attempt{
		{Candidate{Path: "/c/onnxruntime/1.29.0/libonnxruntime.so", Source: "kserve-gen cache (scripts/setup-onnx.sh)", File: true}, errors.New("no such file")},
		{Candidate{Path: "libonnxruntime.so.1", Source: "dynamic loader search path"}, errors.New("not found")},
	}})
	assert.True(t, errors.Is(err, ErrLibraryNotFound))
	assert.Equal(t, `ONNX Runtime library not found (need ONNX Runtime >= 1.24; kserve-gen installs 1.29.0). Looked at:
  - /c/onnxruntime/1.29.0/libonnxruntime.so [kserve-gen cache (scripts/setup-onnx.sh)]: no such file
  - libonnxruntime.so.1 [dynamic loader search path]: not found
Install it with scripts/setup-onnx.sh (run from the kserve-gen repository; add --gpu for the CUDA execution provider), or set ONNXRUNTIME_SHARED_LIBRARY_PATH to the path of libonnxruntime.so.`, err.Error())
}

func TestExplainLoadError_TooOldLibrary(t *testing.T) {
	// The binding's error for a library without C API 24 (ONNX Runtime 1.22).
	err := explainLoadError(errors.New("Platform-specific initialization failed: Error setting ORT API base: 2"))
	assert.Equal(t, "the library is too old: onnxruntime_go v1.27.0 needs C API 24, i.e. ONNX Runtime >= 1.24 (Platform-specific initialization failed: Error setting ORT API base: 2)", err.Error())
}

// runFresh runs the test binary as a fresh process with env, returning what
// Env.Init reported there.
func runFresh(t *testing.T, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// GOCOVERDIR: a binary built with -cover would otherwise add a
	// "GOCOVERDIR not set" warning to what the child reports.
	cmd.Env = append([]string{helperEnv + "=1", "PATH=" + os.Getenv("PATH"), "GOCOVERDIR=" + t.TempDir()}, env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

func TestEnv_MissingLibraryNamesEveryPlaceLookedAt(t *testing.T) {
	home := t.TempDir()
	got := runFresh(t, "HOME="+home)
	if strings.HasPrefix(got, "loaded ") {
		t.Skipf("SKIPPED: this machine's dynamic loader finds an ONNX Runtime library by itself (%s)", got)
	}
	want := fmt.Sprintf(`ONNX Runtime library not found (need ONNX Runtime >= 1.24; kserve-gen installs 1.29.0). Looked at:
  - %[1]s/.cache/kserve-gen/onnxruntime/1.29.0/libonnxruntime.so [kserve-gen cache (scripts/setup-onnx.sh)]: no such file
  - libonnxruntime.so.1 [dynamic loader search path]: not found by the dynamic loader (Platform-specific initialization failed: Error loading ONNX shared library "libonnxruntime.so.1": libonnxruntime.so.1: cannot open shared object file: No such file or directory)
  - libonnxruntime.so [dynamic loader search path]: not found by the dynamic loader (Platform-specific initialization failed: Error loading ONNX shared library "libonnxruntime.so": libonnxruntime.so: cannot open shared object file: No such file or directory)
Install it with scripts/setup-onnx.sh (run from the kserve-gen repository; add --gpu for the CUDA execution provider), or set ONNXRUNTIME_SHARED_LIBRARY_PATH to the path of libonnxruntime.so.`, home)
	assert.Equal(t, want, got)
}

func TestEnv_OverrideIsTheOnlyPlaceWhenSet(t *testing.T) {
	dir := t.TempDir()
	notALib := filepath.Join(dir, "libonnxruntime.so")
	require.NoError(t, os.WriteFile(notALib, []byte("not a library"), 0o644))
	got := runFresh(t, "HOME="+dir, EnvLibraryPath+"="+notALib)
	assert.Equal(t, fmt.Sprintf(`ONNX Runtime library not found (need ONNX Runtime >= 1.24; kserve-gen installs 1.29.0). Looked at:
  - %[1]s [ONNXRUNTIME_SHARED_LIBRARY_PATH]: Platform-specific initialization failed: Error loading ONNX shared library "%[1]s": %[1]s: file too short
Install it with scripts/setup-onnx.sh (run from the kserve-gen repository; add --gpu for the CUDA execution provider), or set ONNXRUNTIME_SHARED_LIBRARY_PATH to the path of libonnxruntime.so.`, notALib), got)

	missing := filepath.Join(dir, "nope.so")
	got = runFresh(t, "HOME="+dir, EnvLibraryPath+"="+missing)
	assert.Contains(t, got, "  - "+missing+" [ONNXRUNTIME_SHARED_LIBRARY_PATH]: no such file\nInstall it with")
}

func TestEnv_FindsTheSetupCacheWithoutConfiguration(t *testing.T) {
	needEnv(t)
	dir := LibraryDir(os.Getenv)
	if _, err := os.Stat(filepath.Join(dir, "libonnxruntime.so")); err != nil {
		t.Skipf("SKIPPED: the library was found elsewhere, not in the set-up cache %s", dir)
	}
	got := runFresh(t, "HOME="+os.Getenv("HOME"), EnvCache+"="+os.Getenv(EnvCache))
	assert.Equal(t, "loaded "+ORTVersion, got)
}

// ONNX Runtime logs a failed run's error itself, in its own ANSI-coloured
// format, besides returning it; by default that copy must not reach stderr,
// where it would sit among the server's configured log lines.
func TestEnv_ORTWritesNoCopyOfReturnedErrorsByDefault(t *testing.T) {
	path := modelFile(t, clsFile)
	run := func(level string) (stdout, stderr string) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = []string{helperEnv + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
			EnvCache + "=" + os.Getenv(EnvCache), EnvLibraryPath + "=" + os.Getenv(EnvLibraryPath),
			helperFailRunEnv + "=" + path, helperORTLevelEnv + "=" + level, "GOCOVERDIR=" + t.TempDir()}
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		require.NoError(t, cmd.Run(), "stdout: %s\nstderr: %s", &out, &errOut)
		return out.String(), errOut.String()
	}
	const runErr = "run: ONNX Runtime: Error running network: Non-zero status code returned while running Conv node."

	stdout, stderr := run("")
	assert.Contains(t, stdout, runErr)
	assert.Empty(t, stderr)

	// Asked for, ONNX Runtime's own line is there: the default is what hides it.
	stdout, stderr = run("ERROR")
	assert.Contains(t, stdout, runErr)
	assert.Contains(t, stderr, "[E:onnxruntime:")
}

// A process that loads ONNX Runtime and runs a model leaves nothing in the
// temporary folder or the home folder: the library's telemetry (on by
// default in 1.29 on Linux) left mat-debug-<pid>.log and .ses in $TMPDIR and
// a device id and an event database in ~/.cache/Microsoft.
func TestEnv_LeavesNoTelemetryFiles(t *testing.T) {
	env := needEnv(t)
	if env.LibraryPath() == "" {
		t.Skip("the shared environment was initialised elsewhere: no library path to give a child")
	}
	home, tmp := t.TempDir(), t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{helperEnv + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + tmp,
		EnvLibraryPath + "=" + env.LibraryPath(), helperFailRunEnv + "=" + modelFile(t, clsFile), "GOCOVERDIR=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "loaded "+ORTVersion)
	for _, dir := range []string{home, tmp} {
		var left []string
		require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if p != dir {
				left = append(left, strings.TrimPrefix(p, dir+"/"))
			}
			return err
		}))
		assert.Empty(t, left, "left in %s", dir)
	}
}

func TestParseDevice(t *testing.T) {
	for in, want := range map[string]Device{
		"": {Kind: DeviceAuto}, "auto": {Kind: DeviceAuto}, "CPU": {Kind: DeviceCPU},
		"cuda": {Kind: DeviceCUDA}, "cuda:0": {Kind: DeviceCUDA}, "cuda:3": {Kind: DeviceCUDA, ID: 3},
	} {
		got, err := ParseDevice(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, msg := range map[string]string{
		"gpu":     `invalid device "gpu": expected auto, cpu, cuda or cuda:N`,
		"cuda:x":  `invalid device "cuda:x": the GPU index after "cuda:" must be a number >= 0`,
		"cuda:-1": `invalid device "cuda:-1": the GPU index after "cuda:" must be a number >= 0`,
	} {
		_, err := ParseDevice(in)
		assert.EqualError(t, err, msg)
	}
	assert.Equal(t, "cuda:2", Device{Kind: DeviceCUDA, ID: 2}.String())
	assert.Equal(t, "cpu", Device{Kind: DeviceCPU}.String())
	assert.Equal(t, "auto", Device{}.String())
}

// fallbackEnv is an Env logging to log, on a machine that shows a GPU or
// not as gpuVisible says (faked: there is none here), and a model for it.
// A second Env shares the process's ONNX Runtime but has its own memory of
// CUDA failures and its own log.
func fallbackEnv(t *testing.T, gpuVisible bool) (env *Env, log *strings.Builder, model string) {
	t.Helper()
	needEnv(t)
	log = &strings.Builder{}
	env = NewEnv(EnvOptions{Logger: slog.New(slog.NewTextHandler(log, nil))})
	env.gpuVisible = func() bool { return gpuVisible }
	require.NoError(t, env.Init())
	return env, log, writeModel(t, "mlp.onnx", onnxgen.NewMLP(8, 16, 4, true, 1).Model())
}

// On a machine that shows a GPU, a CPU fallback is a warning with the
// reason.
func TestDevice_AutoFallsBackToCPULoggedOnce_CUDAFails(t *testing.T) {
	env, log, path := fallbackEnv(t, true)

	p, err := env.NewPool(context.Background(), path, 3, SessionOptions{Device: Device{Kind: DeviceAuto}})
	require.NoError(t, err)
	defer p.Close(context.Background())
	if p.Provider() == ProviderCUDA {
		t.Skip("SKIPPED: the CUDA provider works on this machine; TestGPU_* cover it")
	}
	assert.Equal(t, ProviderCPU, p.Provider())
	p2, err := env.NewPool(context.Background(), path, 2, SessionOptions{})
	require.NoError(t, err)
	defer p2.Close(context.Background())
	assert.Equal(t, ProviderCPU, p2.Provider())
	assert.Equal(t, 1, strings.Count(log.String(), "level=WARN msg=\"ONNX Runtime: CUDA execution provider unavailable on GPU 0, running on CPU: "), log.String())

	_, err = env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceCUDA}})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "device cuda:0 requested, but the CUDA execution provider is unavailable: "), err.Error())
	assert.Equal(t, 1, strings.Count(log.String(), "CUDA execution provider unavailable"), "an explicit cuda request fails instead of logging a fallback")
}

// On a machine that shows no GPU (a laptop, a CPU node) falling back is
// what is expected: one plain line, no warning of a missing provider with
// a set-up hint that cannot help there.
func TestDevice_AutoWithoutGPUIsAPlainLine(t *testing.T) {
	env, log, path := fallbackEnv(t, false)
	for range 2 {
		s, err := env.NewSession(context.Background(), path, SessionOptions{})
		require.NoError(t, err)
		if s.Provider() == ProviderCUDA {
			s.Close()
			t.Skip("SKIPPED: the CUDA provider works on this machine")
		}
		s.Close()
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	var fallback []string
	for _, l := range lines {
		if strings.Contains(l, "running on CPU") {
			fallback = append(fallback, l)
		}
	}
	require.Len(t, fallback, 1, log.String())
	assert.Regexp(t, `level=INFO msg="ONNX Runtime: no GPU on this machine \(/dev/nvidia\[0-9\]\*, /dev/dxg\), running on CPU"$`, fallback[0])
}

// The shared Env says once, in the server's log, which library it loaded
// and why that one (override, setup cache, ...).
func TestEnv_LogsTheLibraryItLoaded(t *testing.T) {
	needEnv(t)
	assert.Regexp(t, `msg="ONNX Runtime \d+\.\d+\.\d+ loaded from /\S+ \(.+\)"\n`, envLog())
	assert.Equal(t, 1, strings.Count(envLog(), " loaded from "))
}
