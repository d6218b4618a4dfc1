package infer

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTopClasses(t *testing.T) {
	labels := []string{"setosa", "versicolor", "virginica"}
	for _, c := range []struct {
		name   string
		in     *Tensor
		k      int
		labels []string
		want   *Tensor
	}{
		{"FP32 rows with labels", NewTensor("probs", []int64{2, 3}, []float32{0.1, 0.7, 0.2, 0.5, 0.25, 0.25}), 2, labels,
			NewStrings("probs", []int64{2, 2}, []string{"0.700000:1:versicolor", "0.200000:2:virginica", "0.500000:0:setosa", "0.250000:1:versicolor"})},
		{"ties in index order, k over the row", NewTensor("p", []int64{1, 3}, []float64{0.25, 0.5, 0.25}), 5, nil,
			NewStrings("p", []int64{1, 3}, []string{"0.500000:1", "0.250000:0", "0.250000:2"})},
		{"one row without a batch dimension", NewTensor("logits", []int64{4}, []int64{3, -1, 7, 0}), 1, nil,
			NewStrings("logits", []int64{1}, []string{"7:2"})},
		{"rows of more than one dimension", NewTensor("x", []int64{1, 2, 2}, []uint8{9, 200, 3, 4}), 2, []string{"a", "b"},
			NewStrings("x", []int64{1, 2}, []string{"200:1:b", "9:0:a"})},
		{"FP16", NewTensor("h", []int64{1, 2}, []Float16{Float16From(0.5), Float16From(1.5)}), 1, nil,
			NewStrings("h", []int64{1, 1}, []string{"1.500000:1"})},
		{"NaN ranks last", NewTensor("n", []int64{3}, []float32{float32(math.NaN()), 1, 2}), 3, nil,
			NewStrings("n", []int64{3}, []string{"2.000000:2", "1.000000:1", "nan:0"})},
		// C's %f (Triton's std::to_string), not Go's +Inf/-Inf/NaN.
		{"FP32 infinities and NaN as C prints them", NewTensor("f", []int64{5}, []float32{float32(math.Inf(-1)), float32(math.Inf(1)), float32(math.NaN()), float32(math.Copysign(math.NaN(), -1)), 1}), 5, nil,
			NewStrings("f", []int64{5}, []string{"inf:1", "1.000000:4", "-inf:0", "nan:2", "-nan:3"})},
		{"FP64 infinities", NewTensor("d", []int64{2}, []float64{math.Inf(-1), math.Inf(1)}), 2, nil,
			NewStrings("d", []int64{2}, []string{"inf:1", "-inf:0"})},
		{"FP16 overflow", NewTensor("h", []int64{2}, []Float16{Float16From(70000), Float16From(-70000)}), 2, nil,
			NewStrings("h", []int64{2}, []string{"inf:0", "-inf:1"})},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := TopClasses(c.in, c.k, c.labels)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
	_, err := TopClasses(NewStrings("s", []int64{1}, []string{"a"}), 1, nil)
	assert.EqualError(t, err, "output 's' is BYTES: the classification extension ranks numbers")
}

func TestClassify(t *testing.T) {
	resp := func() *Response {
		return &Response{Outputs: []*Tensor{
			NewTensor("probs", []int64{1, 3}, []float32{0.1, 0.7, 0.2}),
			NewTensor("embedding", []int64{1, 2}, []float32{3, 4}),
		}}
	}
	req := &Request{Outputs: []RequestedOutput{{Name: "probs", Parameters: Parameters{"classification": int64(2)}}, {Name: "embedding"}}}
	r := resp()
	require.NoError(t, Classify(req, r, func(output string) []string {
		if output == "probs" {
			return []string{"a", "b", "c"}
		}
		return nil
	}))
	assert.Equal(t, NewStrings("probs", []int64{1, 2}, []string{"0.700000:1:b", "0.200000:2:c"}), r.Outputs[0])
	assert.Equal(t, resp().Outputs[1], r.Outputs[1], "an output not asked to classify is left alone")

	// JSON numbers arrive as float64.
	r = resp()
	require.NoError(t, Classify(&Request{Outputs: []RequestedOutput{{Name: "probs", Parameters: Parameters{"classification": float64(1)}}}}, r, nil))
	assert.Equal(t, NewStrings("probs", []int64{1, 1}, []string{"0.700000:1"}), r.Outputs[0])

	for _, bad := range []any{int64(0), float64(1.5), true} {
		err := Classify(&Request{Outputs: []RequestedOutput{{Name: "probs", Parameters: Parameters{"classification": bad}}}}, resp(), nil)
		assert.EqualError(t, err, "output 'probs': the classification parameter must be a positive integer, got "+fmt.Sprint(bad))
	}
	// A string is not a number, even one that reads as one: say it was a string.
	err := Classify(&Request{Outputs: []RequestedOutput{{Name: "probs", Parameters: Parameters{"classification": "2"}}}}, resp(), nil)
	assert.EqualError(t, err, `output 'probs': the classification parameter must be a positive integer, got the string "2"`)
}

// A forwarded response keeps the outputs its server classified (BYTES) and
// has the numeric ones, from a server without the extension, classified.
func TestClassifyForwarded(t *testing.T) {
	req := &Request{Outputs: []RequestedOutput{
		{Name: "done", Parameters: Parameters{ClassificationParameter: int64(1)}},
		{Name: "raw", Parameters: Parameters{ClassificationParameter: int64(1)}},
	}}
	done := NewStrings("done", []int64{1, 1}, []string{"0.900000:0:cat"})
	resp := &Response{Outputs: []*Tensor{done, NewTensor("raw", []int64{1, 2}, []float32{0.25, 0.75})}}
	require.NoError(t, ClassifyForwarded(req, resp, nil))
	assert.Same(t, done, resp.Outputs[0])
	assert.Equal(t, NewStrings("raw", []int64{1, 1}, []string{"0.750000:1"}), resp.Outputs[1])

	// Classify itself still refuses to rank strings.
	err := Classify(req, &Response{Outputs: []*Tensor{done}}, nil)
	assert.EqualError(t, err, "output 'done' is BYTES: the classification extension ranks numbers")
}
