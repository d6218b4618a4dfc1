package onnx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
)

// The package's tests share one Env: ONNX Runtime allows one environment per
// process. envErr is why it could not be initialised (tests that need the
// library skip, loudly, with it).
var (
	testEnv    *Env
	envErr     error
	testLogMu  sync.Mutex
	testLogBuf bytes.Buffer
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		// A child process of TestEnv_*: report what a fresh process sees.
		os.Exit(helperMain())
	}
	testEnv = NewEnv(EnvOptions{Logger: slog.New(slog.NewTextHandler(lockedWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	envErr = testEnv.Init()
	if envErr != nil {
		fmt.Fprintf(os.Stderr, "\n*** runtime/onnx: ONNX Runtime is not installed: tests that need it are SKIPPED. Run scripts/setup-onnx.sh --models first. ***\n%v\n\n", envErr)
		if os.Getenv(requireEnv) != "" {
			// CI sets it, so a missing library cannot pass as skipped tests.
			fmt.Fprintf(os.Stderr, "%s is set: failing instead of skipping.\n", requireEnv)
			os.Exit(1)
		}
	}
	code := m.Run()
	if envErr == nil {
		if err := testEnv.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// helperMain is the child process of runFresh: it initialises a fresh Env
// and prints what it reported; with helperFailRunEnv naming a model file it
// then prints the error of a run ONNX Runtime rejects inside the graph.
func helperMain() int {
	opts := EnvOptions{Logger: slog.New(slog.DiscardHandler)}
	if l := os.Getenv(helperORTLevelEnv); l != "" {
		var level slog.Level
		if err := level.UnmarshalText([]byte(l)); err != nil {
			fmt.Print(err)
			return 1
		}
		opts.ORTLogLevel = &level
	}
	env := NewEnv(opts)
	if err := env.Init(); err != nil {
		fmt.Print(err)
		return 0
	}
	fmt.Print("loaded " + env.Version())
	if path := os.Getenv(helperFailRunEnv); path != "" {
		s, err := env.NewSession(context.Background(), path, SessionOptions{Device: Device{Kind: DeviceCPU}, IntraOpThreads: 1})
		if err != nil {
			fmt.Print("\n", err)
			return 1
		}
		defer s.Close()
		// The classifier takes [-1, 3, -1, -1]; a zero height passes the
		// shape check and fails in its first convolution.
		_, err = s.Run(context.Background(), []*infer.Tensor{infer.NewTensor("x", []int64{1, 3, 0, 2}, []float32{})})
		fmt.Print("\nrun: ", err)
	}
	return 0
}

// Child-process settings of helperMain.
const (
	helperORTLevelEnv = "KSERVE_GEN_ONNX_TEST_ORT_LEVEL"
	helperFailRunEnv  = "KSERVE_GEN_ONNX_TEST_FAIL_RUN"
)

// requireEnv turns a missing library from skipped tests into a failure.
const requireEnv = "KSERVE_GEN_REQUIRE_ONNX"

// lockedWriter collects the shared Env's log so tests can look for lines.
type lockedWriter struct{}

func (lockedWriter) Write(p []byte) (int, error) {
	testLogMu.Lock()
	defer testLogMu.Unlock()
	return testLogBuf.Write(p)
}

func envLog() string {
	testLogMu.Lock()
	defer testLogMu.Unlock()
	return testLogBuf.String()
}

// needEnv skips the test when the library is missing.
func needEnv(t testing.TB) *Env {
	t.Helper()
	if envErr != nil {
		t.Skipf("SKIPPED: ONNX Runtime library missing (run scripts/setup-onnx.sh): %v", envErr)
	}
	return testEnv
}

// modelFile returns a model installed by scripts/setup-onnx.sh --models.
func modelFile(t testing.TB, name string) string {
	t.Helper()
	needEnv(t)
	dir := filepath.Join(CacheDir(os.Getenv), "models")
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		if os.Getenv(requireEnv) != "" {
			t.Fatalf("%s is missing (run scripts/setup-onnx.sh --models); %s is set", p, requireEnv)
		}
		t.Skipf("SKIPPED: %s is missing (run scripts/setup-onnx.sh --models)", p)
	}
	return p
}

// writeModel writes a generated model into a temporary folder.
func writeModel(t testing.TB, name string, m *onnxgen.Model) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
