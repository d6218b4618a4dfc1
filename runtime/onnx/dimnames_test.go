package onnx

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// TestInputDimNames reads the names of the inputs' dimensions from the
// model files, and a file cut short is an error, not a panic or a guess.
func TestInputDimNames(t *testing.T) {
	silero := modelFile(t, sileroFile)
	got, err := inputDimNames(silero)
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{
		"input": {"batch", "sequence"},
		"sr":    nil,
		"h":     {"", "batch", ""},
		"c":     {"", "batch", ""},
	}, got)
	got, err = inputDimNames(modelFile(t, clsFile))
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"x": {"p2o.DynamicDimension.0", "", "p2o.DynamicDimension.1", "p2o.DynamicDimension.2"}}, got)

	data, err := os.ReadFile(silero)
	require.NoError(t, err)
	cut := filepath.Join(t.TempDir(), "cut.onnx")
	for _, n := range []int{len(data) / 2, len(data) - 1} {
		require.NoError(t, os.WriteFile(cut, data[:n], 0o600))
		_, err = inputDimNames(cut)
		assert.ErrorIs(t, err, errTruncated, "cut at %d of %d bytes", n, len(data))
	}
}

// TestSharedDims: only dynamic dimensions sharing a name with another are
// checked; the cls model's p2o names are all different.
func TestSharedDims(t *testing.T) {
	in := []TensorInfo{{Name: "input", Shape: []int64{-1, -1}}, {Name: "sr", Shape: []int64{}}, {Name: "h", Shape: []int64{2, -1, 64}}}
	names := map[string][]string{"input": {"batch", "sequence"}, "h": {"", "batch", ""}}
	assert.Equal(t, [][]string{{"batch", ""}, nil, {"", "batch", ""}}, sharedDims(in, names))
	assert.Nil(t, sharedDims([]TensorInfo{{Name: "x", Shape: []int64{-1, 3, -1, -1}}},
		map[string][]string{"x": {"p2o.DynamicDimension.0", "", "p2o.DynamicDimension.1", "p2o.DynamicDimension.2"}}))
}

func TestCheckSharedDims_OneInputTwice(t *testing.T) {
	shared := [][]string{{"", "n", "n"}}
	err := checkSharedDims(shared, []*infer.Tensor{infer.NewTensor("mask", []int64{1, 3, 4}, make([]bool, 12))})
	require.Error(t, err)
	assert.Equal(t, `input "mask" has shape [1, 3, 4]: the model names its dimensions 1 and 2 both "n", so they must be the same size`, err.Error())
	assert.NoError(t, checkSharedDims(shared, []*infer.Tensor{infer.NewTensor("mask", []int64{1, 3, 3}, make([]bool, 9))}))
}
