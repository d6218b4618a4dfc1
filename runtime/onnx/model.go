package onnx

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kserve-gen/kserve-gen/runtime/batch"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Platform is the v2 model metadata platform of ONNX models (Triton's name).
const Platform = "onnxruntime_onnx"

// Model serves one ONNX file: it implements the runtime's Model, Predictor,
// MetadataProvider, PlatformProvider and Unloader, so
//
//	runtime.NewServer(cfg).Run(ctx, onnx.NewModel("cls", "/mnt/models"))
//
// serves the file over v1 (instances feed the first input, predictions are
// the first output), v2 REST and v2 gRPC, with the model's real tensor
// names, datatypes and shapes in its metadata.
type Model struct {
	name string
	path string
	cfg  modelConfig

	mu      sync.Mutex // serialises Load and Unload
	pool    atomic.Pointer[Pool]
	env     *Env
	inputs  []model.TensorMetadata
	outputs []model.TensorMetadata
	// labels names the first output's classes (LabelsFile), for the
	// classification extension.
	labels atomic.Pointer[outputLabels]
}

// outputLabels are one output's class names.
type outputLabels struct {
	output string
	names  []string
}

// LabelsFile, beside the model file, names the classes of the model's
// first output, one per line (line i is class i): the classification
// extension answers "0.97:1:cat" instead of "0.97:1" with it. A file with
// more or fewer names than the output's fixed last dimension is left out.
const LabelsFile = "labels.txt"

type modelConfig struct {
	env      *Env
	device   string
	replicas int
	session  SessionOptions
	logger   *slog.Logger
}

// Option configures a Model.
type Option func(*modelConfig)

// WithEnv shares env (one per process) instead of the model creating its own.
// A program serving several ONNX models should pass the same Env to all: the
// server loads models concurrently, and separate Envs would initialise
// ONNX Runtime's process-wide environment at the same moment (the later one
// then shares it, but the binding's own globals race). An Env created
// without EnvOptions.Logger logs the model's lines to model.Logger of
// Load's context: the server's, as for a model with its own Env.
func WithEnv(env *Env) Option { return func(c *modelConfig) { c.env = env } }

// WithDevice selects "auto" (default), "cpu", "cuda" or "cuda:N"; the value is
// checked by Load.
func WithDevice(device string) Option { return func(c *modelConfig) { c.device = device } }

// WithReplicas sets how many sessions serve requests in parallel (default 1).
func WithReplicas(n int) Option { return func(c *modelConfig) { c.replicas = n } }

// WithThreads sets the intra-op and inter-op thread counts of each replica
// (0 keeps the default: an equal share of the available CPUs, and 1).
func WithThreads(intra, inter int) Option {
	return func(c *modelConfig) { c.session.IntraOpThreads, c.session.InterOpThreads = intra, inter }
}

// WithSpinning lets ONNX Runtime's idle threads spin (off by default).
func WithSpinning(on bool) Option { return func(c *modelConfig) { c.session.AllowSpinning = on } }

// WithGPUMemLimit caps each replica's CUDA memory arena, in bytes (default
// 0: no cap).
func WithGPUMemLimit(bytes int64) Option {
	return func(c *modelConfig) { c.session.GPUMemLimit = bytes }
}

// WithConvAlgoSearch sets how the CUDA provider picks cuDNN convolution
// algorithms: "exhaustive" (default: the fastest kernels, found by timing
// them all the first time each input shape is seen, which stalls that
// request), "heuristic" or "default"; see SessionOptions.ConvAlgoSearch.
// The value is checked by Load.
func WithConvAlgoSearch(search string) Option {
	return func(c *modelConfig) { c.session.ConvAlgoSearch = search }
}

// WithWarmup replaces the zero-filled warm-up input with a sample request;
// Load fails if the sample does not run.
func WithWarmup(inputs ...*infer.Tensor) Option {
	return func(c *modelConfig) { c.session.Warmup = inputs }
}

// WithLogger sets the logger of the Env the model creates when none is
// shared with WithEnv. Without it the Env logs to model.Logger of Load's
// context: the server's "kserve" logger when the runtime serves the model.
func WithLogger(l *slog.Logger) Option { return func(c *modelConfig) { c.logger = l } }

// NewModel returns a model named name serving path: an .onnx file, or a
// folder (such as the one STORAGE_URI was downloaded to) holding model.onnx
// or exactly one .onnx file. Nothing is loaded before Load.
func NewModel(name, path string, opts ...Option) *Model {
	m := &Model{name: name, path: path, cfg: modelConfig{replicas: 1}}
	for _, o := range opts {
		o(&m.cfg)
	}
	return m
}

// Name is the model's name.
func (m *Model) Name() string { return m.name }

// Ready reports whether the model is loaded.
func (m *Model) Ready() bool { return m.pool.Load() != nil }

// Load resolves the model file, creates the replicas on the chosen device and
// warms them up. Loading a loaded model does nothing.
func (m *Model) Load(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pool.Load() != nil {
		return nil
	}
	dev, err := ParseDevice(m.cfg.device)
	if err != nil {
		return err
	}
	file, err := ModelFile(m.path)
	if err != nil {
		return err
	}
	if m.env == nil {
		m.env = m.cfg.env
		if m.env == nil {
			l := m.cfg.logger
			if l == nil {
				l = model.Logger(ctx) // the server's, so these lines follow its logging configuration
			}
			m.env = NewEnv(EnvOptions{Logger: l})
		}
	}
	opts := m.cfg.session
	opts.Device = dev
	p, err := m.env.NewPool(ctx, file, m.cfg.replicas, opts)
	if err != nil {
		return err
	}
	m.inputs, m.outputs = metadata(p.Inputs()), metadata(p.Outputs())
	if err := m.loadLabels(ctx, filepath.Join(filepath.Dir(file), LabelsFile), p.Outputs()); err != nil {
		_ = p.Close(ctx)
		return err
	}
	m.env.logFor(ctx).Info(fmt.Sprintf("ONNX model %s: %s on %s (device %s), %d replica(s) x %d intra-op thread(s); inputs %s; outputs %s",
		m.name, file, p.Provider(), dev, p.Replicas(), p.Session(0).IntraOpThreads(), describe(p.Inputs()), describe(p.Outputs())))
	m.pool.Store(p)
	return nil
}

func metadata(infos []TensorInfo) []model.TensorMetadata {
	md := make([]model.TensorMetadata, len(infos))
	for i, t := range infos {
		md[i] = model.TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape}
	}
	return md
}

func describe(infos []TensorInfo) string {
	parts := make([]string, len(infos))
	for i, t := range infos {
		parts[i] = fmt.Sprintf("%s %s %s", t.Name, t.Datatype, infer.FormatShape(t.Shape))
	}
	return strings.Join(parts, ", ")
}

// ModelFile resolves path to one .onnx file: path itself when it is a file;
// for a folder, its model.onnx, or else its only .onnx file; and when the
// folder has none at its top (an archive unpacked with its own folder,
// resnet/model.onnx; a Hub repository's onnx/ folder), the only .onnx file
// below it, or else the only one named model.onnx.
func ModelFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("onnx model path: %w", err)
	}
	if !st.IsDir() {
		return path, nil
	}
	p := filepath.Join(path, "model.onnx")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	found, err := filepath.Glob(filepath.Join(path, "*.onnx"))
	if err != nil {
		return "", err
	}
	sort.Strings(found)
	switch len(found) {
	case 0:
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("onnx model path %s: the folder has %d .onnx files (%s) and no model.onnx; name the file to serve", path, len(found), strings.Join(found, ", "))
	}
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != path && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".onnx") {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("onnx model path %s: %w", path, err)
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("onnx model path %s: the folder has no .onnx file", path)
	case 1:
		return found[0], nil
	}
	// A Hub repository's onnx/ folder holds model.onnx beside its
	// quantised variants (model_fp16.onnx, model_q4.onnx, ...): the same rule
	// as at the top, model.onnx first.
	var named []string
	for _, f := range found {
		if filepath.Base(f) == "model.onnx" {
			named = append(named, f)
		}
	}
	if len(named) == 1 {
		return named[0], nil
	}
	return "", fmt.Errorf("onnx model path %s: the folder has no .onnx file at its top and %d below it (%s); name the file to serve (--model_dir=<folder>/<file>, or STORAGE_ALLOW_PATTERNS for a hf:// download)", path, len(found), strings.Join(found, ", "))
}

// loadLabels reads the labels file, if there is one, for the first output.
func (m *Model) loadLabels(ctx context.Context, path string, outputs []TensorInfo) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || len(outputs) == 0 {
		m.labels.Store(nil)
		return nil
	}
	if err != nil {
		return fmt.Errorf("class labels: %w", err)
	}
	names := strings.Split(strings.TrimRight(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n"), "\n")
	// A file that does not fit the output is another model's (one left
	// beside model.onnx when the model was replaced, or by kserve-gen new
	// --force with another --model): naming this model's classes with it
	// would answer wrong labels, so it is left out, as kserve-gen new leaves
	// out a misfit labels.txt, and the answers stay "value:index".
	out := outputs[0]
	if n := len(out.Shape); n > 0 && out.Shape[n-1] > 0 && out.Shape[n-1] != int64(len(names)) {
		m.labels.Store(nil)
		m.env.logFor(ctx).Warn(fmt.Sprintf("ONNX model %s: class labels in %s left out: %d names for output %s, which has %d classes", m.name, path, len(names), out.Name, out.Shape[n-1]))
		return nil
	}
	m.labels.Store(&outputLabels{output: out.Name, names: names})
	m.env.logFor(ctx).Info(fmt.Sprintf("ONNX model %s: %d class labels from %s for output %s", m.name, len(names), path, out.Name))
	return nil
}

// Labels names the classes of the output LabelsFile is for (the
// classification extension); nil for other outputs or without the file.
func (m *Model) Labels(output string) []string {
	if l := m.labels.Load(); l != nil && l.output == output {
		return l.names
	}
	return nil
}

// Provider is the execution provider serving the model ("" before Load).
func (m *Model) Provider() string {
	if p := m.pool.Load(); p != nil {
		return p.Provider()
	}
	return ""
}

// Pool is the loaded replica pool (nil before Load), for callers that run
// the session directly, such as a dynamic batcher.
func (m *Model) Pool() *Pool { return m.pool.Load() }

// InputsMetadata is the v2 metadata of the model's inputs (after Load).
func (m *Model) InputsMetadata() []model.TensorMetadata { return m.inputs }

// OutputsMetadata is the v2 metadata of the model's outputs (after Load).
func (m *Model) OutputsMetadata() []model.TensorMetadata { return m.outputs }

// Platform is "onnxruntime_onnx".
func (m *Model) Platform() string { return Platform }

// Unload waits for running requests (up to ctx) and releases the replicas.
func (m *Model) Unload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pool.Swap(nil)
	if p == nil {
		return nil
	}
	return p.Close(ctx)
}

// PredictBatch runs a batch the dynamic batcher merged (runtime/batch), so
// batch.NewModel(onnx.NewModel(...), batch.Options{...}) serves an ONNX
// file with dynamic batching; v1 requests keep going through Predict.
// The requests of a merged batch are first checked one by one against the
// model's inputs (all but the size of their batch dimensions): a bad one
// fails alone (batch.RequestErrors), with an error about its own tensors,
// not the merged ones.
func (m *Model) PredictBatch(ctx context.Context, b *batch.Batch) ([]*infer.Tensor, error) {
	p := m.pool.Load()
	if p == nil {
		return nil, status.ModelNotReady(m.name, "")
	}
	if len(b.Requests) > 1 {
		bad := batch.RequestErrors{}
		for i, r := range b.Requests {
			if _, err := p.Session(0).order(r.Inputs, b.InputDim); err != nil {
				bad[i] = err
			}
		}
		if len(bad) > 0 {
			return nil, bad
		}
	}
	outs, err := p.Run(ctx, b.Inputs)
	if errors.Is(err, ErrPoolClosed) {
		return nil, status.ModelNotReady(m.name, "")
	}
	return outs, err
}

// Predict runs a v2 request (inputs by name; every output is returned and
// the transport keeps those the request names) or a v1 request (instances → first input, predictions =
// first output).
func (m *Model) Predict(ctx context.Context, req *infer.Request, _ *model.Headers) (*infer.Response, error) {
	p := m.pool.Load()
	if p == nil {
		return nil, status.ModelNotReady(m.name, "")
	}
	if req.Protocol == infer.ProtocolV1 {
		return m.predictV1(ctx, p, req)
	}
	outs, err := p.Run(ctx, req.Inputs)
	if errors.Is(err, ErrPoolClosed) {
		return nil, status.ModelNotReady(m.name, "")
	}
	if err != nil {
		return nil, err
	}
	return &infer.Response{ID: req.EnsureID(), ModelName: m.name, Outputs: outs}, nil // no model_version, as infer.PredictResponse
}
