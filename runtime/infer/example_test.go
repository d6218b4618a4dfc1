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
