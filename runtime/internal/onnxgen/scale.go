package onnxgen

import "strconv"

// Scale returns a model with a rank-0 input, for tests of scalar and
// non-float datatypes: inputs "x" float32 [batch, n] and "k" int64 scalar;
// outputs "y" = x·float(k) (float32 [batch, n]) and "positive" = y > 0
// (bool [batch, n]).
func Scale(n int64) *Model {
	return &Model{Graph: Graph{
		Name: "scale",
		Nodes: []Node{
			{Op: "Cast", Name: "k_float", Inputs: []string{"k"}, Outputs: []string{"kf"}, Attrs: []Attr{IntAttr("to", int64(Float))}},
			{Op: "Mul", Name: "scale", Inputs: []string{"x", "kf"}, Outputs: []string{"y"}},
			{Op: "Greater", Name: "sign", Inputs: []string{"y", "zero"}, Outputs: []string{"positive"}},
		},
		Initializers: []Initializer{{Name: "zero", Dims: []int64{}, Data: []float32{0}}},
		Inputs: []ValueInfo{
			{Name: "x", Elem: Float, Shape: Dims(-1, n)},
			{Name: "k", Elem: Int64, Shape: []Dim{}},
		},
		Outputs: []ValueInfo{
			{Name: "y", Elem: Float, Shape: Dims(-1, n)},
			{Name: "positive", Elem: Bool, Shape: Dims(-1, n)},
		},
	}}
}

// Chain returns a slow model for cancellation tests: n MatMuls in a row,
// all with the same d×d weight (scaled so values stay finite), from "x"
// float32 [batch, d] to "y".
func Chain(n int, d int64) *Model {
	w := make([]float32, d*d)
	for i := range d {
		w[i*d+i] = 1 // identity: values stay as they are
	}
	nodes := make([]Node, n)
	prev := "x"
	for i := range n {
		out := "h" + strconv.Itoa(i)
		if i == n-1 {
			out = "y"
		}
		nodes[i] = Node{Op: "MatMul", Name: "mm" + strconv.Itoa(i), Inputs: []string{prev, "w"}, Outputs: []string{out}}
		prev = out
	}
	return &Model{Graph: Graph{
		Name:         "chain",
		Nodes:        nodes,
		Initializers: []Initializer{{Name: "w", Dims: []int64{d, d}, Data: w}},
		Inputs:       []ValueInfo{{Name: "x", Elem: Float, Shape: Dims(-1, d)}},
		Outputs:      []ValueInfo{{Name: "y", Elem: Float, Shape: Dims(-1, d)}},
	}}
}

// Types returns a model for datatype tests: "half" float16 [n] is cast to
// "single" float32 [n], and "text" string [n] is passed through as "same".
func Types() *Model {
	return &Model{Graph: Graph{
		Name: "types",
		Nodes: []Node{
			{Op: "Cast", Name: "widen", Inputs: []string{"half"}, Outputs: []string{"single"}, Attrs: []Attr{IntAttr("to", int64(Float))}},
			{Op: "Identity", Name: "copy", Inputs: []string{"text"}, Outputs: []string{"same"}},
		},
		Inputs: []ValueInfo{
			{Name: "half", Elem: Float16, Shape: Dims(-1)},
			{Name: "text", Elem: String, Shape: Dims(-1)},
		},
		Outputs: []ValueInfo{
			{Name: "single", Elem: Float, Shape: Dims(-1)},
			{Name: "same", Elem: String, Shape: Dims(-1)},
		},
	}}
}

// ZipMap returns what scikit-learn classifiers export by default (skl2onnx's
// zipmap): "scores" = x (FP32 [batch, 3]) and "probabilities", the same
// scores as a sequence of maps from class label (10, 20, 30) to score,
// which the Open Inference Protocol cannot carry.
func ZipMap() *Model {
	return &Model{MLOpset: 1, Graph: Graph{
		Name: "zipmap",
		Nodes: []Node{
			{Op: "Identity", Name: "copy", Inputs: []string{"x"}, Outputs: []string{"scores"}},
			{Op: "ZipMap", Domain: "ai.onnx.ml", Name: "zipmap", Inputs: []string{"x"}, Outputs: []string{"probabilities"},
				Attrs: []Attr{{Name: "classlabels_int64s", Kind: AttrInts, Ints: []int64{10, 20, 30}}}},
		},
		Inputs: []ValueInfo{{Name: "x", Elem: Float, Shape: Dims(-1, 3)}},
		Outputs: []ValueInfo{
			{Name: "scores", Elem: Float, Shape: Dims(-1, 3)},
			{Name: "probabilities", Elem: Float, SeqOfMaps: true},
		},
	}}
}
