package onnxgen

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
