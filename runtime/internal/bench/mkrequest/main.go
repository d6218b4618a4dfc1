// Command mkrequest writes a serialized ModelInferRequest for load
// generators (ghz --binary-file): "small" is the reference exchange
// grpc_small.json (FP32 [1,4], typed contents); "fp32-224" is an FP32
// [1,3,224,224] image in raw_input_contents.
//
//	go run ./internal/bench/mkrequest -kind fp32-224 -model passthrough -o /tmp/req.bin
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

func main() {
	kind := flag.String("kind", "small", "small or fp32-224")
	model := flag.String("model", "passthrough", "model name")
	out := flag.String("o", "", "output file (required)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "mkrequest: -o is required")
		os.Exit(2)
	}
	var req *pb.ModelInferRequest
	switch *kind {
	case "small":
		req = &pb.ModelInferRequest{ModelName: *model, Inputs: []*pb.ModelInferRequest_InferInputTensor{{
			Name: "input-0", Datatype: "FP32", Shape: []int64{1, 4},
			Contents: &pb.InferTensorContents{Fp32Contents: []float32{1, 2, 3, 4}},
		}}}
	case "fp32-224":
		const n = 3 * 224 * 224
		raw := make([]byte, 0, 4*n)
		for i := range n {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(i%255)/255))
		}
		req = &pb.ModelInferRequest{ModelName: *model,
			Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "input-0", Datatype: "FP32", Shape: []int64{1, 3, 224, 224}}},
			RawInputContents: [][]byte{raw}}
	default:
		fmt.Fprintf(os.Stderr, "mkrequest: unknown -kind %q (small, fp32-224)\n", *kind)
		os.Exit(2)
	}
	b, err := proto.Marshal(req)
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkrequest:", err)
		os.Exit(1)
	}
}
