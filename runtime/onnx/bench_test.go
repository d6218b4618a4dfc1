package onnx

import (
	"context"
	"image"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
)

// The benchmarks compare a raw ONNX Runtime loop (the binding alone, input
// tensor created once) with the Session wrapper on the same model, threads
// and input, so the difference is the wrapper's cost per request: name
// matching and checks, wrapping the request's slice, run options for
// cancellation, and turning outputs into infer tensors.
//
//	go test -run '^$' -bench . -benchtime 2s ./onnx/
//
// ONNX_BENCH_DEVICE (auto, cpu, cuda:N; default cpu) and
// ONNX_BENCH_THREADS (default 1) choose the device and intra-op threads.

func benchOptions(b *testing.B) SessionOptions {
	dev, err := ParseDevice(os.Getenv("ONNX_BENCH_DEVICE"))
	if os.Getenv("ONNX_BENCH_DEVICE") == "" {
		dev = Device{Kind: DeviceCPU}
	}
	if err != nil {
		b.Fatal(err)
	}
	threads := 1
	if v := os.Getenv("ONNX_BENCH_THREADS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("ONNX_BENCH_THREADS: %v", err)
		}
		threads = n
	}
	return SessionOptions{Device: dev, IntraOpThreads: threads}
}

func BenchmarkCLS(b *testing.B) {
	path := modelFile(b, clsFile)
	benchModel(b, path, clsInput(renderText("Hello World 2026", false)))
}

// BenchmarkCLSBatch is the classifier on batches of images: where a GPU
// pays off, and what dynamic batching can gain on each device.
func BenchmarkCLSBatch(b *testing.B) {
	path := modelFile(b, clsFile)
	for _, batch := range []int{8, 32} {
		imgs := make([]*image.RGBA, batch)
		for i := range imgs {
			imgs[i] = renderText("Hello World 2026", i%2 == 1)
		}
		b.Run("batch"+strconv.Itoa(batch), func(b *testing.B) {
			benchModel(b, path, clsInput(imgs...))
		})
	}
}

func BenchmarkMLP784(b *testing.B) {
	needEnv(b)
	path := writeModel(b, "mlp784.onnx", onnxgen.NewMLP(784, 1024, 10, true, 5).Model())
	for _, batch := range []int{1, 32} {
		b.Run("batch"+strconv.Itoa(batch), func(b *testing.B) {
			benchModel(b, path, infer.NewTensor("input", []int64{int64(batch), 784}, randomInput(batch*784, 1)))
		})
	}
}

func benchModel(b *testing.B, path string, in *infer.Tensor) {
	env := needEnv(b)
	opts := benchOptions(b)
	s, err := env.NewSession(context.Background(), path, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Logf("provider %s, %d intra-op thread(s)", s.Provider(), s.IntraOpThreads())

	// The binding alone, with the same options as the session.
	so, _, err := env.sessionOptions(opts)
	if err != nil {
		b.Fatal(err)
	}
	if s.Provider() == ProviderCUDA {
		if err := env.appendCUDA(context.Background(), so, opts); err != nil {
			b.Fatal(err)
		}
	}
	raw, err := ort.NewDynamicAdvancedSession(path, names(s.Inputs()), names(s.Outputs()), so)
	_ = so.Destroy()
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Destroy()
	x, err := ort.NewTensor(ort.Shape(in.Shape), in.Data.([]float32))
	if err != nil {
		b.Fatal(err)
	}
	defer x.Destroy()
	rawIns := []ort.Value{x}
	rawOuts := make([]ort.Value, len(s.Outputs()))
	runRaw := func() {
		clear(rawOuts)
		if err := raw.Run(rawIns, rawOuts); err != nil {
			b.Fatal(err)
		}
		destroyAll(rawOuts)
	}
	// Warm both up with the benchmark's own input: the session's warm-up
	// ran zeros with dynamic dimensions of 1, and on CUDA the first run of
	// each new shape pays for cuDNN's algorithm search (about a second for
	// PP-OCR cls on an H200), which would otherwise land in the first
	// measured iteration.
	runRaw()
	if _, err := s.Run(context.Background(), []*infer.Tensor{in}); err != nil {
		b.Fatal(err)
	}

	b.Run("raw", func(b *testing.B) {
		for b.Loop() {
			runRaw()
		}
	})
	// paired alternates a raw run and a session run (cancellable context, as
	// a server's) and reports the median of each: on a loaded machine this
	// compares like with like far better than two separate benchmarks.
	b.Run("paired", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ins := []*infer.Tensor{in}
		var rawT, sessT []time.Duration
		for b.Loop() {
			t0 := time.Now()
			runRaw()
			t1 := time.Now()
			if _, err := s.Run(ctx, ins); err != nil {
				b.Fatal(err)
			}
			rawT = append(rawT, t1.Sub(t0))
			sessT = append(sessT, time.Since(t1))
		}
		r, w := median(rawT), median(sessT)
		b.ReportMetric(float64(r.Nanoseconds()), "raw-ns/run")
		b.ReportMetric(float64(w.Nanoseconds()), "session-ns/run")
		b.ReportMetric(float64(w.Nanoseconds())/float64(r.Nanoseconds()), "session/raw")
	})
	b.Run("session", func(b *testing.B) {
		ctx := context.Background()
		ins := []*infer.Tensor{in}
		for b.Loop() {
			if _, err := s.Run(ctx, ins); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("session-cancellable", func(b *testing.B) {
		// A server request's context can be cancelled: run options with the
		// terminate flag are attached.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ins := []*infer.Tensor{in}
		for b.Loop() {
			if _, err := s.Run(ctx, ins); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkMLPSmall shows the wrapper's fixed cost per call on a model
// that takes only a few microseconds.
func BenchmarkMLPSmall(b *testing.B) {
	needEnv(b)
	path := writeModel(b, "mlp_small.onnx", onnxgen.NewMLP(64, 128, 10, true, 5).Model())
	benchModel(b, path, infer.NewTensor("input", []int64{1, 64}, randomInput(64, 1)))
}
