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
	cfg, err := p.Parse([]string{"--model_name", "cls", "--device", "cuda:1", "--replicas=3", "--intra_op_threads", "2", "--gpu_mem_limit", "1073741824"}, func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, "cls", cfg.ModelName)
	assert.Equal(t, &Flags{Device: "cuda:1", Replicas: 3, IntraOpThreads: 2, GPUMemLimit: 1 << 30}, f)

	var c modelConfig
	for _, o := range f.Options() {
		o(&c)
	}
	assert.Equal(t, modelConfig{device: "cuda:1", replicas: 3, session: SessionOptions{IntraOpThreads: 2, GPUMemLimit: 1 << 30}}, c)
}

func TestFlags_Defaults(t *testing.T) {
	p := config.NewParser("onnx-server")
	f := RegisterFlags(p.FlagSet())
	_, err := p.Parse(nil, func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, &Flags{Device: "auto", Replicas: 1}, f)
}
