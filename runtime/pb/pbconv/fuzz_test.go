package pbconv_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/pb/pbconv"
)

// FuzzModelInferRequest feeds arbitrary ModelInferRequest bytes to the
// decoder: it must never panic, and whatever it accepts must encode back
// (raw, as it may contain FP16) and decode to the same tensors.
func FuzzModelInferRequest(f *testing.F) {
	seeds := []*pb.ModelInferRequest{
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "FP32", Shape: []int64{1, 2}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1, 2}}}}},
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "s", Datatype: "BYTES", Shape: []int64{1}}}, RawInputContents: [][]byte{{1, 0, 0, 0, 'x'}}},
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "h", Datatype: "FP16", Shape: []int64{2}}}, RawInputContents: [][]byte{{0, 0x3c, 0, 0x40}}},
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "i", Datatype: "INT8", Shape: []int64{2}, Contents: &pb.InferTensorContents{IntContents: []int32{-1, 5}}}},
			Parameters: map[string]*pb.InferParameter{"p": {ParameterChoice: &pb.InferParameter_DoubleParam{DoubleParam: 1.5}}}},
	}
	for _, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m pb.ModelInferRequest
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		req, err := pbconv.Request(&m)
		if err != nil {
			return
		}
		for _, in := range req.Inputs {
			if err := in.Validate("input"); err != nil {
				return // the dataplane rejects these (shape/size mismatch)
			}
		}
		back, err := pbconv.FromRequest(req, true)
		if err != nil {
			t.Fatalf("accepted request does not encode back: %v", err)
		}
		again, err := pbconv.Request(back)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		for i, in := range req.Inputs {
			if !sameTensor(in, again.Inputs[i]) {
				t.Fatalf("input %d changed: %+v != %+v", i, in, again.Inputs[i])
			}
		}
	})
}

func sameTensor(a, b *infer.Tensor) bool {
	ra, err1 := infer.EncodeRaw(a)
	rb, err2 := infer.EncodeRaw(b)
	return err1 == nil && err2 == nil && a.Name == b.Name && a.Datatype == b.Datatype && string(ra) == string(rb)
}
