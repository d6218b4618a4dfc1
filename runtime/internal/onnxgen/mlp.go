package onnxgen

import (
	"math"
	"math/rand/v2"
)

// MLP is a two-layer perceptron: probs = softmax(relu(x·W1 + B1)·W2 + B2),
// softmax optional. Weights are row-major: W1 is In×Hidden, W2 is Hidden×Out.
type MLP struct {
	In, Hidden, Out int
	Softmax         bool
	W1, B1, W2, B2  []float32
}

// The MLP's tensor names.
const (
	MLPInput  = "input"
	MLPOutput = "probs"
)

// NewMLP returns an MLP with weights drawn from a seeded generator, so the
// same arguments always give the same model. Weights are scaled by
// 1/sqrt(fan-in) so activations stay in a moderate range.
func NewMLP(in, hidden, out int, softmax bool, seed uint64) *MLP {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	fill := func(n, fanIn int) []float32 {
		s := float32(1 / math.Sqrt(float64(fanIn)))
		v := make([]float32, n)
		for i := range v {
			v[i] = (r.Float32()*2 - 1) * s
		}
		return v
	}
	return &MLP{
		In: in, Hidden: hidden, Out: out, Softmax: softmax,
		W1: fill(in*hidden, in), B1: fill(hidden, in),
		W2: fill(hidden*out, hidden), B2: fill(out, hidden),
	}
}

// Model returns the ONNX graph: input "input" float32 [batch, In] with a
// symbolic batch dimension, output "probs" float32 [batch, Out].
func (m *MLP) Model() *Model {
	last := "logits"
	nodes := []Node{
		{Op: "MatMul", Name: "fc1", Inputs: []string{MLPInput, "W1"}, Outputs: []string{"h1"}},
		{Op: "Add", Name: "fc1_bias", Inputs: []string{"h1", "B1"}, Outputs: []string{"h1b"}},
		{Op: "Relu", Name: "relu", Inputs: []string{"h1b"}, Outputs: []string{"h1r"}},
		{Op: "MatMul", Name: "fc2", Inputs: []string{"h1r", "W2"}, Outputs: []string{"h2"}},
	}
	if m.Softmax {
		nodes = append(nodes,
			Node{Op: "Add", Name: "fc2_bias", Inputs: []string{"h2", "B2"}, Outputs: []string{last}},
			Node{Op: "Softmax", Name: "softmax", Inputs: []string{last}, Outputs: []string{MLPOutput}, Attrs: []Attr{IntAttr("axis", -1)}})
	} else {
		nodes = append(nodes, Node{Op: "Add", Name: "fc2_bias", Inputs: []string{"h2", "B2"}, Outputs: []string{MLPOutput}})
	}
	return &Model{Graph: Graph{
		Name:  "mlp",
		Nodes: nodes,
		Initializers: []Initializer{
			{Name: "W1", Dims: []int64{int64(m.In), int64(m.Hidden)}, Data: m.W1},
			{Name: "B1", Dims: []int64{int64(m.Hidden)}, Data: m.B1},
			{Name: "W2", Dims: []int64{int64(m.Hidden), int64(m.Out)}, Data: m.W2},
			{Name: "B2", Dims: []int64{int64(m.Out)}, Data: m.B2},
		},
		Inputs:  []ValueInfo{{Name: MLPInput, Elem: Float, Shape: Dims(-1, int64(m.In))}},
		Outputs: []ValueInfo{{Name: MLPOutput, Elem: Float, Shape: Dims(-1, int64(m.Out))}},
	}}
}
