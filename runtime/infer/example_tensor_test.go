package infer_test

import (
	"fmt"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// A model reads a v2 input as the typed slice its datatype holds. InputAs
// and As return errors that are already the 400 a client should get: they
// name the missing input (and those the request has) or the datatype sent.
func ExampleInputAs() {
	req, err := infer.DecodeRequest([]byte(`{"inputs":[
		{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4]]},
		{"name":"ids","shape":[2],"datatype":"INT64","data":[7,8]}]}`), nil)
	if err != nil {
		panic(err)
	}

	x, err := infer.InputAs[float32](req, "x") // nested JSON lists arrive flat, row-major
	fmt.Println(x, req.Input("x").Shape, err)

	_, err = infer.InputAs[float32](req, "ids") // INT64, not FP32
	fmt.Println(status.HTTPCode(err), err)

	_, err = infer.InputAs[float32](req, "y")
	fmt.Println(status.HTTPCode(err), err)

	ids, err := req.Input("ids").Float64s() // any numeric datatype, converted
	fmt.Println(ids, err)
	// Output:
	// [1 2 3 4] [2 2] <nil>
	// 400 input "ids" has datatype INT64, but the model expects FP32
	// 400 missing input "y": the request's inputs are ["x", "ids"]
	// [7 8] <nil>
}

// A v2 output is a Tensor: NewTensor takes the data flat, row-major, with
// the shape to report, and infers the datatype from the slice. Validate
// checks what the server checks before it answers.
func ExampleNewTensor() {
	y := infer.NewTensor("y", []int64{2, 3}, []int64{1, 2, 3, 4, 5, 6})
	fmt.Println(y.Name, y.Datatype, y.Shape, y.Len(), y.Validate("output"))

	resp, err := infer.AppendResponseJSON(nil, &infer.Response{ModelName: "m", ID: "1", Outputs: []*infer.Tensor{y}})
	fmt.Println(string(resp), err)

	bad := infer.NewTensor("z", []int64{2, 2}, []float32{1, 2, 3})
	fmt.Println(bad.Validate("output"))
	// Output:
	// y INT64 [2 3] 6 <nil>
	// {"model_name":"m","model_version":null,"id":"1","parameters":null,"outputs":[{"name":"y","shape":[2,3],"datatype":"INT64","parameters":null,"data":[1,2,3,4,5,6]}]} <nil>
	// output z: shape [2, 2] expects 4 elements, but 3 were given
}

// A model that can read only one layout says so with InputShaped (or
// Tensor.CheckShape): -1 is a dimension of any size, as in the model's
// metadata. A request of another shape, rank or datatype gets a 400 naming
// the input, the shape sent and the shape expected.
func ExampleInputShaped() {
	req, err := infer.DecodeRequest([]byte(`{"inputs":[
		{"name":"x","shape":[2,3],"datatype":"FP32","data":[[1,2,3],[4,5,6]]}]}`), nil)
	if err != nil {
		panic(err)
	}

	x, err := infer.InputShaped[float32](req, "x", -1, 3) // any number of rows of 3
	fmt.Println(x, err)

	_, err = infer.InputShaped[float32](req, "x", -1, 3, 224, 224)
	fmt.Println(status.HTTPCode(err), err)

	err = req.Input("x").CheckShape(-1, 4) // rows of 4
	fmt.Println(status.HTTPCode(err), err)
	// Output:
	// [1 2 3 4 5 6] <nil>
	// 400 input "x" has shape [2, 3] (rank 2), but the model expects rank 4: [-1, 3, 224, 224]
	// 400 input "x" has shape [2, 3], but the model expects [-1, 4] (dimension 1 must be 4)
}
