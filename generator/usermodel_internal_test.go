package generator

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kserve-gen/kserve-gen/onnxinfo"
)

func TestBatchDims(t *testing.T) {
	named := func(p string) onnxinfo.Dim { return onnxinfo.Dim{Size: -1, Param: p} }
	fixed := func(n int64) onnxinfo.Dim { return onnxinfo.Dim{Size: n} }
	// Silero VAD's inputs, plus a fixed-size parameter and a tensor whose
	// dynamic first dimension has a name of its own (PaddlePaddle names
	// every dynamic dimension apart).
	vs := []onnxinfo.Value{
		{Name: "input", Shape: []onnxinfo.Dim{named("batch"), named("sequence")}},
		{Name: "sr", Shape: []onnxinfo.Dim{}},
		{Name: "h", Shape: []onnxinfo.Dim{fixed(2), named("batch"), fixed(64)}},
		{Name: "mean", Shape: []onnxinfo.Dim{fixed(3)}},
		{Name: "other", Shape: []onnxinfo.Dim{named("p2o.DynamicDimension.3"), fixed(2)}},
	}
	assert.Equal(t, []batchDim{{"sr", "batch.NotBatched"}, {"h", "1"}, {"mean", "batch.NotBatched"}}, batchDims(vs, "batch"))
}
