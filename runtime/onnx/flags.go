package onnx

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime/batch"
	"github.com/kserve-gen/kserve-gen/runtime/model"
)

// Flags are the command-line settings of an ONNX model server, for a main
// that adds them to KServe's flags:
//
//	p := config.NewParser("onnx-server")
//	f := onnx.RegisterFlags(p.FlagSet())
//	cfg, err := p.Parse(os.Args[1:], os.Getenv)
//	...
//	m := onnx.NewModel(cfg.ModelName, dir, f.Options()...)
type Flags struct {
	// Device, Replicas, IntraOpThreads, InterOpThreads, GPUMemLimit and
	// ConvAlgoSearch are --device, --replicas, --intra_op_threads,
	// --inter_op_threads, --gpu_mem_limit and --cudnn_conv_algo_search
	// (defaults "auto", 1, 0, 0, 0, "exhaustive"; see RegisterFlags),
	// passed to the model by Options.
	Device         string
	Replicas       int
	IntraOpThreads int
	InterOpThreads int
	GPUMemLimit    int64
	ConvAlgoSearch string
	// Dynamic batching (runtime/batch); MaxBatchSize 0 turns it off.
	MaxBatchSize  int
	MaxQueueDelay time.Duration
	// InputBatchDim and OutputBatchDim are not flags but the model's
	// shape: where each tensor's batch dimension is, for a model whose
	// batch is not dimension 0 everywhere (Silero VAD's state h is
	// [2, batch, 64], its sample rate a scalar: batch.NotBatched). Set
	// them before Serve; see batch.Options.
	InputBatchDim, OutputBatchDim map[string]int
}

// RegisterFlags adds --device, --replicas, --intra_op_threads,
// --inter_op_threads, --gpu_mem_limit, --cudnn_conv_algo_search,
// --max_batch_size and --max_queue_delay to fs.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.Device, "device", "auto", "Where ONNX models run: auto (CUDA when its provider loads, else CPU; the reason is logged once), cpu, cuda or cuda:N (fail if CUDA is unavailable).")
	fs.IntVar(&f.Replicas, "replicas", 1, "ONNX Runtime sessions per model: requests run in parallel up to this many.")
	fs.IntVar(&f.IntraOpThreads, "intra_op_threads", 0, "Threads per ONNX Runtime session for one operator (0: the CPUs available to the process, cgroup quota included, shared out between the replicas).")
	fs.IntVar(&f.InterOpThreads, "inter_op_threads", 0, "Threads per ONNX Runtime session across operators (0: 1).")
	fs.Int64Var(&f.GPUMemLimit, "gpu_mem_limit", 0, "The most GPU memory, in bytes, each session's CUDA arena may take (0: no limit).")
	fs.StringVar(&f.ConvAlgoSearch, "cudnn_conv_algo_search", "exhaustive", "How CUDA picks each convolution's cuDNN algorithm for a new input shape: exhaustive (time them all: fastest kernels, but the first request of each new shape waits), heuristic (cuDNN's guess, no wait) or default.")
	fs.IntVar(&f.MaxBatchSize, "max_batch_size", 0, "Dynamic batching: the most rows one ONNX Runtime call takes; requests are merged along dimension 0 (0: no batching).")
	fs.DurationVar(&f.MaxQueueDelay, "max_queue_delay", 0, "Dynamic batching: how long the oldest queued request may wait for a batch to fill (0: a batch goes as soon as a session is free).")
	return f
}

// Serve returns the model to serve: m itself, or m behind a dynamic batcher
// when --max_batch_size is set (one batch per replica at a time; a model
// with a fixed batch dimension lowers the max batch size when it loads, see
// batch.NewModel). m is an
// *onnx.Model or a type embedding one (which adds Preprocess or
// Postprocess: the batcher runs those per request).
//
// Serve checks the flags first (Validate), so that a mistyped value stops
// the server before it listens, naming the flag, instead of failing the
// model's load later.
func (f *Flags) Serve(m batch.Predictor) (model.Model, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.MaxBatchSize == 0 {
		return m, nil
	}
	return batch.NewModel(m, batch.Options{
		Name: m.Name(), MaxBatchSize: f.MaxBatchSize, MaxQueueDelay: f.MaxQueueDelay, Instances: max(f.Replicas, 1),
		InputBatchDim: f.InputBatchDim, OutputBatchDim: f.OutputBatchDim,
	})
}

// Validate reports every flag whose value cannot be served, in the form of
// KServe's argument errors ("argument --replicas: must be >= 1, got 0").
func (f *Flags) Validate() error {
	var errs []error
	if _, err := ParseDevice(f.Device); err != nil {
		errs = append(errs, fmt.Errorf("argument --device: %w", err))
	}
	for _, c := range []struct {
		flag   string
		v, min int64
	}{
		{"replicas", int64(f.Replicas), 1},
		{"intra_op_threads", int64(f.IntraOpThreads), 0},
		{"inter_op_threads", int64(f.InterOpThreads), 0},
		{"gpu_mem_limit", f.GPUMemLimit, 0},
		{"max_batch_size", int64(f.MaxBatchSize), 0},
	} {
		if c.v < c.min {
			errs = append(errs, fmt.Errorf("argument --%s: must be >= %d, got %d", c.flag, c.min, c.v))
		}
	}
	if _, err := ParseConvAlgoSearch(f.ConvAlgoSearch); err != nil {
		errs = append(errs, fmt.Errorf("argument --cudnn_conv_algo_search: %w", err))
	}
	if f.MaxQueueDelay < 0 {
		errs = append(errs, fmt.Errorf("argument --max_queue_delay: must be >= 0, got %s", f.MaxQueueDelay))
	}
	return errors.Join(errs...)
}

// Options turns the flags into model options.
func (f *Flags) Options() []Option {
	return []Option{
		WithDevice(f.Device),
		WithReplicas(f.Replicas),
		WithThreads(f.IntraOpThreads, f.InterOpThreads),
		WithGPUMemLimit(f.GPUMemLimit),
		WithConvAlgoSearch(f.ConvAlgoSearch),
	}
}
