package onnx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// TensorInfo describes one model input or output.
type TensorInfo struct {
	// Name is the tensor's name in the ONNX graph.
	Name string
	// Datatype is the Open Inference Protocol datatype of its elements.
	Datatype infer.Datatype
	// Shape has -1 for each dynamic dimension; ONNX Runtime does not report
	// the names of symbolic dimensions.
	Shape []int64
}

// SessionOptions configure a Session. The zero value runs on the CUDA
// provider when it loads and on the CPU otherwise, with one intra-op thread
// per available CPU.
type SessionOptions struct {
	// Device selects the execution provider (see DeviceKind).
	Device Device
	// IntraOpThreads is the size of ONNX Runtime's thread pool for one
	// operator; 0 means the CPUs this process may use (cgroup quota aware,
	// unlike ONNX Runtime's own default, which counts the node's cores).
	IntraOpThreads int
	// InterOpThreads is used by parallel execution mode only; 0 means 1.
	InterOpThreads int
	// AllowSpinning lets idle pool threads spin waiting for work: lower
	// latency for back-to-back runs, but CPU burnt while idle. Off by default
	// so a server at rest uses no CPU.
	AllowSpinning bool
	// GPUMemLimit caps the CUDA provider's memory arena in bytes (0: no cap).
	GPUMemLimit int64
	// ConvAlgoSearch is how the CUDA provider picks each convolution's cuDNN
	// algorithm the first time it meets an input shape: "exhaustive" (ONNX
	// Runtime's default, also for ""; benchmarks every algorithm, the
	// fastest kernels but a stall on each new shape), "heuristic" (cuDNN's
	// guess, no stall) or "default" (a fixed algorithm). See
	// ParseConvAlgoSearch.
	ConvAlgoSearch string
	// Warmup is the sample run once before the session is returned, so the
	// first request does not pay for lazy initialisation. Nil runs zeros of
	// each input's declared shape, with dynamic dimensions set to 1; a model
	// that rejects those only logs a warning, whereas a failing Warmup
	// sample fails the session.
	Warmup []*infer.Tensor
	// NoWarmup skips the warm-up run.
	NoWarmup bool
	// ProfilePrefix, when set, makes ONNX Runtime write a JSON profile
	// (every node run, with its execution provider) to
	// <prefix>_<timestamp>.json when the session is closed.
	ProfilePrefix string
}

// Session is one loaded ONNX model. Run is safe for concurrent use (ONNX
// Runtime allows concurrent runs of one session); Close is not.
type Session struct {
	env      *Env
	path     string
	sess     *ort.DynamicAdvancedSession
	inputs   []TensorInfo
	outputs  []TensorInfo
	shared   [][]string // see sharedDims
	device   Device
	provider string
	threads  int
	free     chan *ort.RunOptions
}

// NewSession loads the model file at path.
func (e *Env) NewSession(ctx context.Context, path string, opts SessionOptions) (*Session, error) {
	if err := e.initFor(ctx); err != nil {
		return nil, err
	}
	g, err := e.readInfo(ctx, path)
	if err != nil {
		return nil, err
	}
	return e.newSession(ctx, g, opts)
}

// graph is what the sessions of one model file are created from.
type graph struct {
	path    string
	in, out []TensorInfo
	// ortOut names the outputs asked of ONNX Runtime, in out's order: out's
	// names, except for FP16 outputs, which a rewritten model (data)
	// returns as float32 under other names (see widenOutputs).
	ortOut []string
	data   []byte
	// shared names the input dimensions that must agree (see sharedDims).
	shared [][]string
}

// open creates an ONNX Runtime session of g with so.
func (g *graph) open(so *ort.SessionOptions) (*ort.DynamicAdvancedSession, error) {
	if g.data == nil {
		return ort.NewDynamicAdvancedSession(g.path, names(g.in), g.ortOut, so)
	}
	// Loaded from memory, ONNX Runtime resolves external data against
	// this folder (and refuses paths that leave it), as it would against
	// the model file's own folder.
	if err := so.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", filepath.Dir(g.path)); err != nil {
		return nil, fmt.Errorf("set external data folder: %w", err)
	}
	return ort.NewDynamicAdvancedSessionWithONNXData(g.data, names(g.in), g.ortOut, so)
}

// readInfo reads the model's input and output metadata. It costs a session
// without graph optimisation, created once per model (not per replica).
// A model with FP16 outputs is also read into memory and rewritten, once,
// to return them as float32 (see widenOutputs).
func (e *Env) readInfo(ctx context.Context, path string) (*graph, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("create session options: %w", err)
	}
	defer func() { _ = so.Destroy() }()
	if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll); err != nil {
		return nil, fmt.Errorf("set graph optimisation level: %w", err)
	}
	if err := so.SetIntraOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("set intra-op threads: %w", err)
	}
	ins, outs, err := ort.GetInputOutputInfoWithOptions(path, so)
	if err != nil {
		return nil, fmt.Errorf("read model %s: %w", path, err)
	}
	in, _, err := tensorInfos(path, "input", ins)
	if err != nil {
		return nil, err
	}
	out, skipped, err := tensorInfos(path, "output", outs)
	if err != nil {
		return nil, err
	}
	if len(skipped) > 0 {
		e.logFor(ctx).Warn(fmt.Sprintf("ONNX model %s: output %s is not served: the Open Inference Protocol carries tensors only (for scikit-learn's ZipMap, export with skl2onnx's options={'zipmap': False})", path, strings.Join(skipped, ", ")))
	}
	if err := checkScalars(path, in, out); err != nil {
		return nil, err
	}
	g := &graph{path: path, in: in, out: out, ortOut: names(out)}
	if dynamicDims(in) > 1 {
		// A file ONNX Runtime loaded but this cannot read (an .ort file)
		// is served without the check: ONNX Runtime still fails such a run.
		if dims, err := inputDimNames(path); err == nil {
			g.shared = sharedDims(in, dims)
		} else {
			e.logFor(ctx).Debug(fmt.Sprintf("ONNX model %s: names of its input dimensions not read: %v", path, err))
		}
	}
	var half []string
	for _, t := range out {
		if t.Datatype == infer.FP16 {
			half = append(half, t.Name)
		}
	}
	if len(half) == 0 {
		return g, nil
	}
	model, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	}
	if g.data, g.ortOut, err = widenedModel(model, out, half); err != nil {
		return nil, fmt.Errorf("model %s: FP16 outputs %s: %w", path, strings.Join(half, ", "), err)
	}
	e.logFor(ctx).Debug(fmt.Sprintf("ONNX model %s: FP16 outputs %s are read through a Cast to float32 added in memory and narrowed back exactly", path, strings.Join(half, ", ")))
	return g, nil
}

// widenedModel rewrites model to return the FP16 outputs half as float32 and
// returns it with the output names to ask ONNX Runtime for, in out's order.
func widenedModel(model []byte, out []TensorInfo, half []string) ([]byte, []string, error) {
	data, renamed, err := widenOutputs(model, half)
	if err != nil {
		return nil, nil, err
	}
	ortOut := names(out)
	for i, n := range ortOut {
		if r, ok := renamed[n]; ok {
			ortOut[i] = r
		}
	}
	return data, ortOut, nil
}

// tensorInfos describes a model's inputs or outputs. An output that is not
// a tensor (scikit-learn's ZipMap: a sequence of maps) is left out, named
// in skipped, and ONNX Runtime is not asked for it; an input that is not
// is an error, as is a model left with no outputs.
func tensorInfos(path, kind string, infos []ort.InputOutputInfo) (out []TensorInfo, skipped []string, err error) {
	out = make([]TensorInfo, 0, len(infos))
	for _, info := range infos {
		if info.OrtValueType != ort.ONNXTypeTensor {
			if kind == "output" {
				skipped = append(skipped, fmt.Sprintf("%s (a %s)", info.Name, valueKind(info.OrtValueType)))
				continue
			}
			return nil, nil, fmt.Errorf("model %s: %s %q is a %s; only tensors can be served", path, kind, info.Name, valueKind(info.OrtValueType))
		}
		dt, ok := datatypeOf(info.DataType)
		if !ok {
			return nil, nil, fmt.Errorf("model %s: %s %q has element type %s, which the Open Inference Protocol cannot carry", path, kind, info.Name, info.DataType)
		}
		t := TensorInfo{Name: info.Name, Datatype: dt, Shape: []int64(info.Dimensions.Clone())}
		if t.Shape == nil {
			t.Shape = []int64{}
		}
		out = append(out, t)
	}
	if kind == "output" && len(out) == 0 {
		return nil, nil, fmt.Errorf("model %s: no output is a tensor (%s); only tensors can be served", path, strings.Join(skipped, ", "))
	}
	return out, skipped, nil
}

// valueKind names an ONNX value type in messages: "sequence", not
// ONNX Runtime's "ONNX_TYPE_SEQUENCE".
func valueKind(t ort.ONNXType) string {
	switch t {
	case ort.ONNXTypeSequence:
		return "sequence"
	case ort.ONNXTypeMap:
		return "map"
	case ort.ONNXTypeOptional:
		return "optional value"
	case ort.ONNXTypeSparseTensor:
		return "sparse tensor"
	}
	return t.String()
}

func names(infos []TensorInfo) []string {
	n := make([]string, len(infos))
	for i, t := range infos {
		n[i] = t.Name
	}
	return n
}

func (e *Env) sessionOptions(opts SessionOptions) (*ort.SessionOptions, int, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, 0, fmt.Errorf("create session options: %w", err)
	}
	intra := opts.IntraOpThreads
	if intra <= 0 {
		intra = config.AvailableCPUs()
	}
	inter := max(opts.InterOpThreads, 1)
	spin := "0"
	if opts.AllowSpinning {
		spin = "1"
	}
	err = errors.Join(
		so.SetIntraOpNumThreads(intra),
		so.SetInterOpNumThreads(inter),
		so.AddSessionConfigEntry("session.intra_op.allow_spinning", spin),
		so.AddSessionConfigEntry("session.inter_op.allow_spinning", spin),
	)
	if err == nil && opts.ProfilePrefix != "" {
		err = so.EnableProfiling(opts.ProfilePrefix)
	}
	if err != nil {
		_ = so.Destroy()
		return nil, 0, fmt.Errorf("set session options: %w", err)
	}
	return so, intra, nil
}

// appendCUDA adds the CUDA provider to so. A failure is remembered per Env
// and device, so later sessions do not try again, and logged once when the
// device is auto (an explicit cuda request returns the error instead).
func (e *Env) appendCUDA(ctx context.Context, so *ort.SessionOptions, opts SessionOptions) error {
	err := e.cudaFailure(opts.Device.ID)
	if err == nil {
		err = e.tryCUDA(so, opts)
	}
	if err != nil {
		e.noteCUDAFailure(ctx, opts.Device, err)
	}
	return err
}

func (e *Env) tryCUDA(so *ort.SessionOptions, opts SessionOptions) error {
	// ONNX Runtime looks for the provider next to itself; checking first gives
	// a clearer reason than its "Failed to load shared library".
	// (Only for a library loaded by path: a bare name was found by the
	// loader's search, in a folder not known here.)
	if provider := LibraryFor(runtime.GOOS).CUDAProvider; provider != "" && e.path != "" && filepath.Base(e.path) != e.path {
		p := filepath.Join(filepath.Dir(e.path), provider)
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s is not installed (run %s --gpu)", p, SetupCommand)
		}
	}
	cuda, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("create CUDA provider options: %w", err)
	}
	defer func() { _ = cuda.Destroy() }()
	settings := map[string]string{"device_id": strconv.Itoa(opts.Device.ID)}
	if opts.GPUMemLimit > 0 {
		settings["gpu_mem_limit"] = strconv.FormatInt(opts.GPUMemLimit, 10)
	}
	if search, _ := ParseConvAlgoSearch(opts.ConvAlgoSearch); search != "" {
		settings["cudnn_conv_algo_search"] = search
	}
	if err := cuda.Update(settings); err != nil {
		return fmt.Errorf("set CUDA provider options %v: %w", settings, err)
	}
	if err := so.AppendExecutionProviderCUDA(cuda); err != nil {
		// ONNX Runtime 1.29 fails at Update above with the loader's reason
		// (e.g. a missing CUDA 13 or cuDNN library); should it fail here
		// instead, its own log has the reason, quiet by default.
		return fmt.Errorf("append CUDA execution provider: %w (EnvOptions.ORTLogLevel slog.LevelWarn shows ONNX Runtime's own detail)", err)
	}
	return nil
}

// noteCUDAFailure remembers why CUDA failed on a device, and logs it the
// first time a session asking for auto falls back to the CPU because of it:
// a warning where the machine shows a GPU (something is missing), a plain
// line where it shows none. Every start of a CPU-only project on a laptop
// or a CPU node warned of a missing CUDA provider, with a set-up hint that
// cannot help there.
func (e *Env) noteCUDAFailure(ctx context.Context, d Device, err error) {
	if !e.rememberCUDAFailure(d, err) {
		return
	}
	if !e.gpuVisible() {
		e.logFor(ctx).Info("ONNX Runtime: no GPU on this machine (" + strings.Join(gpuDeviceGlobs, ", ") + "), running on CPU")
		return
	}
	e.logFor(ctx).Warn(fmt.Sprintf("ONNX Runtime: CUDA execution provider unavailable on GPU %d, running on CPU: %v", d.ID, err))
}

func (e *Env) newSession(ctx context.Context, g *graph, opts SessionOptions) (*Session, error) {
	path := g.path
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Checked here, not by the CUDA provider: a value it refused would read
	// as CUDA being unavailable and, with auto, move the model to the CPU.
	if _, err := ParseConvAlgoSearch(opts.ConvAlgoSearch); err != nil {
		return nil, err
	}
	so, threads, err := e.sessionOptions(opts)
	if err != nil {
		return nil, err
	}
	provider := ProviderCPU
	if opts.Device.Kind != DeviceCPU {
		if err := e.appendCUDA(ctx, so, opts); err == nil {
			provider = ProviderCUDA
		} else if opts.Device.Kind == DeviceCUDA {
			_ = so.Destroy()
			return nil, fmt.Errorf("device %s requested, but the CUDA execution provider is unavailable: %w", opts.Device, err)
		}
	}
	sess, err := g.open(so)
	_ = so.Destroy()
	if err != nil && provider == ProviderCUDA {
		err = fmt.Errorf("create session on %s: %w", opts.Device, err)
		if opts.Device.Kind == DeviceCUDA {
			return nil, err
		}
		// auto: CUDA loaded but could not take this model; use the CPU. Not
		// remembered for the device: other models may still run on it.
		if e.firstFallback(opts.Device, path) {
			e.logFor(ctx).Warn(fmt.Sprintf("ONNX Runtime: model %s cannot run on GPU %d, running it on CPU: %v", path, opts.Device.ID, err))
		}
		cpu := opts
		cpu.Device = Device{Kind: DeviceCPU}
		if so, threads, err = e.sessionOptions(cpu); err != nil {
			return nil, err
		}
		provider = ProviderCPU
		sess, err = g.open(so)
		_ = so.Destroy()
	}
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	s := &Session{
		env: e, path: path, sess: sess, inputs: g.in, outputs: g.out, shared: g.shared,
		device: opts.Device, provider: provider, threads: threads,
		free: make(chan *ort.RunOptions, 8),
	}
	if !opts.NoWarmup {
		if err := s.warmup(ctx, opts.Warmup); err != nil {
			if opts.Warmup != nil {
				_ = s.Close()
				return nil, fmt.Errorf("warm-up of %s: %w", path, err)
			}
			e.logFor(ctx).Warn(fmt.Sprintf("ONNX Runtime: warm-up of %s with zero inputs (dynamic dimensions = 1) failed, skipped; pass a sample to warm it up: %v", path, err))
		}
	}
	return s, nil
}

func (s *Session) warmup(ctx context.Context, sample []*infer.Tensor) error {
	if sample == nil {
		sample = Zeros(s.inputs, 1)
	}
	_, err := s.Run(ctx, sample)
	return err
}

// Zeros returns zero-filled tensors for infos, with every dynamic dimension
// set to dyn.
func Zeros(infos []TensorInfo, dyn int64) []*infer.Tensor {
	out := make([]*infer.Tensor, len(infos))
	for i, info := range infos {
		shape := make([]int64, len(info.Shape))
		for j, d := range info.Shape {
			if d < 0 {
				d = dyn
			}
			shape[j] = d
		}
		data := infer.MakeData(info.Datatype, int(infer.ShapeSize(shape)))
		if b, ok := data.([][]byte); ok {
			for j := range b {
				b[j] = []byte{}
			}
		}
		out[i] = &infer.Tensor{Name: info.Name, Datatype: info.Datatype, Shape: shape, Data: data}
	}
	return out
}

// Path is the model file.
func (s *Session) Path() string { return s.path }

// Inputs describes the model's inputs, in the model's order.
func (s *Session) Inputs() []TensorInfo { return s.inputs }

// Outputs describes the model's outputs, in the model's order.
func (s *Session) Outputs() []TensorInfo { return s.outputs }

// Provider is the execution provider the session was created with:
// ProviderCUDA or ProviderCPU. (With CUDA, nodes that the CUDA provider
// cannot run still run on the CPU, as ONNX Runtime always does.)
func (s *Session) Provider() string { return s.provider }

// IntraOpThreads is the thread count the session was created with.
func (s *Session) IntraOpThreads() int { return s.threads }

// Run runs the model. inputs are matched to the model's inputs by name and
// must have the model's datatype, rank and fixed dimensions; their data is
// read in place (not copied) and must not change during the call. Every
// model output is returned, in the model's order, as new tensors. A
// cancelled ctx stops the run (ONNX Runtime's terminate flag) and Run
// returns ctx's error.
func (s *Session) Run(ctx context.Context, inputs []*infer.Tensor) ([]*infer.Tensor, error) {
	ordered, err := s.order(inputs, nil)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("onnx run not started: %w", err)
	}
	vals := make([]ort.Value, len(ordered))
	defer destroyAll(vals)
	for i, t := range ordered {
		if vals[i], err = toValue(t); err != nil {
			if _, ok := errors.AsType[*status.Error](err); ok {
				return nil, err
			}
			return nil, status.InvalidInputf("input %s: %v", t.Name, err)
		}
	}
	outs := make([]ort.Value, len(s.outputs))
	defer destroyAll(outs)
	ro, release, err := s.runOptions(ctx)
	if err != nil {
		return nil, err
	}
	err = s.sess.RunWithOptions(vals, outs, ro)
	release()
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("onnx run stopped: %w", cerr)
		}
		return nil, &status.Error{Kind: status.KindInferenceError, Message: "ONNX Runtime: " + err.Error(), Err: err}
	}
	res := make([]*infer.Tensor, len(outs))
	for i, v := range outs {
		if res[i], err = fromValue(s.outputs[i].Name, v); err != nil {
			return nil, err
		}
		if s.outputs[i].Datatype == infer.FP16 {
			res[i] = narrowed(res[i]) // read as float32 (see widenOutputs)
		}
	}
	return res, nil
}

func destroyAll(vals []ort.Value) {
	for _, v := range vals {
		// The binding can leave a typed nil behind when it fails to make
		// a value (a nil *Tensor[T] in the interface): Destroy would
		// dereference it.
		if v != nil && !reflect.ValueOf(v).IsNil() {
			_ = v.Destroy()
		}
	}
}

// runOptions returns run options whose terminate flag is raised when ctx
// ends, and a release func to call once the run returned. Options are
// reused through a small free list: creating them is a cgo call.
func (s *Session) runOptions(ctx context.Context) (*ort.RunOptions, func(), error) {
	if ctx.Done() == nil {
		return nil, func() {}, nil
	}
	var ro *ort.RunOptions
	select {
	case ro = <-s.free:
	default:
		var err error
		if ro, err = ort.NewRunOptions(); err != nil {
			return nil, nil, fmt.Errorf("create run options: %w", err)
		}
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = ro.Terminate()
		close(fired)
	})
	return ro, func() {
		if !stop() {
			<-fired
			_ = ro.UnsetTerminate()
		}
		select {
		case s.free <- ro:
		default:
			_ = ro.Destroy()
		}
	}, nil
}

// order matches inputs to the model's inputs and checks each one. With
// batchDim, the size of each input's batch dimension (batchDim(name), or
// batch.NotBatched) is not checked: one request of a batch still to be
// merged.
func (s *Session) order(inputs []*infer.Tensor, batchDim func(name string) int) ([]*infer.Tensor, error) {
	out := make([]*infer.Tensor, len(s.inputs))
	for _, t := range inputs {
		i := s.inputIndex(t.Name)
		if i < 0 {
			return nil, status.InvalidInputf("unexpected input %q: the model's inputs are %s", t.Name, s.inputList())
		}
		if out[i] != nil {
			return nil, status.InvalidInputf("input %q given twice", t.Name)
		}
		free := -1
		if batchDim != nil {
			free = batchDim(t.Name)
		}
		if err := s.inputs[i].check(t, free); err != nil {
			return nil, err
		}
		out[i] = t
	}
	for i, t := range out {
		if t == nil {
			return nil, status.InvalidInputf("missing input %q: the model's inputs are %s", s.inputs[i].Name, s.inputList())
		}
	}
	if err := checkSharedDims(s.shared, out); err != nil {
		return nil, err
	}
	return out, nil
}

// dynamicDims counts the dynamic dimensions of infos.
func dynamicDims(infos []TensorInfo) int {
	n := 0
	for _, t := range infos {
		for _, d := range t.Shape {
			if d < 0 {
				n++
			}
		}
	}
	return n
}

func (s *Session) inputIndex(name string) int {
	for i, in := range s.inputs {
		if in.Name == name {
			return i
		}
	}
	return -1
}

func (s *Session) inputList() string {
	parts := make([]string, len(s.inputs))
	for i, in := range s.inputs {
		parts[i] = fmt.Sprintf("%s (%s %s)", in.Name, in.Datatype, infer.FormatShape(in.Shape))
	}
	return strings.Join(parts, ", ")
}

// check verifies a request tensor against the model's declaration; the size
// of dimension free (-1: none) is not checked.
func (info TensorInfo) check(t *infer.Tensor, free int) error {
	if t.Datatype != info.Datatype {
		return status.InvalidInputf("input %q has datatype %s, but the model expects %s", t.Name, t.Datatype, info.Datatype)
	}
	if len(t.Shape) != len(info.Shape) {
		return status.InvalidInputf("input %q has shape %s (rank %d), but the model expects rank %d: %s", t.Name, infer.FormatShape(t.Shape), len(t.Shape), len(info.Shape), infer.FormatShape(info.Shape))
	}
	for i, d := range info.Shape {
		if d >= 0 && t.Shape[i] != d && i != free {
			return status.InvalidInputf("input %q has shape %s, but the model expects %s (dimension %d must be %d)", t.Name, infer.FormatShape(t.Shape), infer.FormatShape(info.Shape), i, d)
		}
	}
	if err := t.Validate("input"); err != nil {
		return err
	}
	if len(t.Shape) == 0 && noScalar(t.Datatype) {
		return errNoScalar(t)
	}
	if d, ok := t.Data.([][]byte); ok {
		if i := nulElement(d); i >= 0 {
			return errNUL(t.Name, i)
		}
	}
	return nil
}

// Close releases the session. No Run may be in progress or start later.
func (s *Session) Close() error {
	for {
		select {
		case ro := <-s.free:
			_ = ro.Destroy()
			continue
		default:
		}
		break
	}
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	if err != nil {
		return fmt.Errorf("destroy session %s: %w", s.path, err)
	}
	return nil
}

// ParseConvAlgoSearch checks a cuDNN convolution algorithm search setting
// (SessionOptions.ConvAlgoSearch, --cudnn_conv_algo_search) and returns the
// CUDA provider's spelling of it: "EXHAUSTIVE", "HEURISTIC" or "DEFAULT",
// and "" for "" (the provider's default, exhaustive). Case is ignored.
func ParseConvAlgoSearch(s string) (string, error) {
	switch v := strings.ToUpper(s); v {
	case "", "EXHAUSTIVE", "HEURISTIC", "DEFAULT":
		return v, nil
	}
	return "", fmt.Errorf("invalid cuDNN convolution algorithm search %q: expected exhaustive, heuristic or default", s)
}
