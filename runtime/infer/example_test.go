package infer_test

import (
	"fmt"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// One Predict serves both protocols: the same tensor is a v2 output, and
// for a v1 request its rows are the predictions (numpy's tolist).
func ExamplePredictResponse() {
	scores := infer.NewTensor("scores", []int64{2, 2}, []float32{0.9, 0.1, 0.2, 0.8})

	v1 := &infer.Request{Protocol: infer.ProtocolV1, IsJSON: true, Body: []byte(`{"instances":[[1],[2]]}`)}
	resp, err := infer.PredictResponse(v1, "clf", scores)
	if err != nil {
		panic(err)
	}
	body, err := infer.AppendJSON(nil, resp.Body)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(body))

	v2 := &infer.Request{Protocol: infer.ProtocolV2, ID: "req-1"}
	resp, err = infer.PredictResponse(v2, "clf", scores)
	if err != nil {
		panic(err)
	}
	body, err = infer.AppendResponseJSON(nil, resp)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(body))
	// Output:
	// {"predictions":[[0.9,0.1],[0.2,0.8]]}
	// {"model_name":"clf","model_version":null,"id":"req-1","parameters":null,"outputs":[{"name":"scores","shape":[2,2],"datatype":"FP32","parameters":null,"data":[0.9,0.1,0.2,0.8]}]}
}

// Text models take and give BYTES tensors. Over JSON each element must be
// UTF-8; other bytes go out with the binary extension (or gRPC).
func ExampleNewStrings() {
	t := infer.NewStrings("text", []int64{2}, []string{"héllo", "wörld"})
	s, err := t.AsStrings()
	if err != nil {
		panic(err)
	}
	fmt.Println(t.Datatype, t.Shape, s)

	raw := infer.NewTensor("blob", []int64{1}, [][]byte{{0xff, 0xfe}})
	_, err = infer.AppendResponseJSON(nil, &infer.Response{Outputs: []*infer.Tensor{raw}})
	fmt.Println(err)
	// Output:
	// BYTES [2] [héllo wörld]
	// Failed to encode "b'\xff\xfe'" using UTF-8. Please use binary_data=True, if you want to pass a byte array. (output 'blob', element 0)
}

// Parameters hold what JSON or gRPC sent: int64 for a number without a
// fraction, float64 otherwise. Float64 and Int64 read a number either way.
func ExampleParameters() {
	req, err := infer.DecodeRequest([]byte(`{"parameters":{"temperature":1,"top_p":0.9,"top_k":3.0,"stream":true},
		"inputs":[{"name":"prompt","shape":[1],"datatype":"BYTES","data":["hi"]}]}`), nil)
	if err != nil {
		panic(err)
	}
	p := req.Parameters
	_, isFloat := p["temperature"].(float64)
	temperature, _ := p.Float64("temperature")
	topP, _ := p.Float64("top_p")
	topK, _ := p.Int64("top_k")
	stream, _ := p.Bool("stream")
	_, ok := p.Float64("missing")
	fmt.Println(isFloat, temperature, topP, topK, stream, ok)
	// Output: false 1 0.9 3 true false
}
