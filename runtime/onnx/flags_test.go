package onnx

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/config"
)

func TestFlags_ParsedWithKServeFlags(t *testing.T) {
	p := config.NewParser("onnx-server")
	f := RegisterFlags(p.FlagSet())
	cfg, err := p.Parse([]string{"--model_name", "cls", "--device", "cuda:1", "--replicas=3", "--intra_op_threads", "2", "--gpu_mem_limit", "1073741824", "--cudnn_conv_algo_search=Heuristic"}, func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, "cls", cfg.ModelName)
	assert.Equal(t, &Flags{Device: "cuda:1", Replicas: 3, IntraOpThreads: 2, GPUMemLimit: 1 << 30, ConvAlgoSearch: "Heuristic"}, f)

	var c modelConfig
	for _, o := range f.Options() {
		o(&c)
	}
	assert.Equal(t, modelConfig{device: "cuda:1", replicas: 3, session: SessionOptions{IntraOpThreads: 2, GPUMemLimit: 1 << 30, ConvAlgoSearch: "Heuristic"}}, c)
}

func TestFlags_Defaults(t *testing.T) {
	p := config.NewParser("onnx-server")
	f := RegisterFlags(p.FlagSet())
	_, err := p.Parse(nil, func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, &Flags{Device: "auto", Replicas: 1, ConvAlgoSearch: "exhaustive"}, f)
}

// Values that cannot be served stop Serve, every one named by its flag,
// before the server listens; before, --device=gpu and --replicas=0 failed
// the model's load after the server had started, naming no flag, and
// --max_batch_size=-1 silently turned batching off.
func TestFlags_ServeRefusesWhatCannotBeServed(t *testing.T) {
	p := config.NewParser("onnx-server")
	f := RegisterFlags(p.FlagSet())
	_, err := p.Parse([]string{"--device=gpu", "--replicas=0", "--intra_op_threads=-1", "--inter_op_threads=-2",
		"--gpu_mem_limit=-3", "--cudnn_conv_algo_search=fastest", "--max_batch_size=-1", "--max_queue_delay=-1ms"}, func(string) string { return "" })
	require.NoError(t, err)
	_, err = f.Serve(NewModel("m", t.TempDir()))
	require.Error(t, err)
	assert.Equal(t, `argument --device: invalid device "gpu": expected auto, cpu, cuda or cuda:N
argument --replicas: must be >= 1, got 0
argument --intra_op_threads: must be >= 0, got -1
argument --inter_op_threads: must be >= 0, got -2
argument --gpu_mem_limit: must be >= 0, got -3
argument --max_batch_size: must be >= 0, got -1
argument --cudnn_conv_algo_search: invalid cuDNN convolution algorithm search "fastest": expected exhaustive, heuristic or default
argument --max_queue_delay: must be >= 0, got -1ms`, err.Error())

	ok := &Flags{Device: "cuda:0", Replicas: 2}
	require.NoError(t, ok.Validate())
	m, err := ok.Serve(NewModel("m", t.TempDir()))
	require.NoError(t, err)
	assert.IsType(t, &Model{}, m, "no batching without --max_batch_size")
}
