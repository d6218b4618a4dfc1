package runtime_test

import (
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// A model's typed accessors answer a request of another datatype with a
// message in the protocol's datatype names, over REST and gRPC alike: the
// client sent FP32 and knows nothing of []float32 or [][]byte. It used to
// read `tensor "x" has datatype FP32 ([]float32), not [][]byte`. An output
// whose data is not its datatype's is worded the same way.
func TestDatatypeErrorsNameDatatypes(t *testing.T) {
	models := []runtime.Model{
		&answerModel{name: "input-as", answer: func(req *infer.Request) (*infer.Response, error) {
			_, err := infer.InputAs[[]byte](req, "x")
			return nil, err
		}},
		&answerModel{name: "as", answer: func(req *infer.Request) (*infer.Response, error) {
			_, err := req.Inputs[0].AsInt64()
			return nil, err
		}},
		&answerModel{name: "mislabelled", answer: func(*infer.Request) (*infer.Response, error) {
			return &infer.Response{Outputs: []*infer.Tensor{{Name: "y", Datatype: infer.FP32, Shape: []int64{1}, Data: []int64{1}}}}, nil
		}},
	}
	rt := runtimetest.StartModels(t, models, runtimetest.WithLogOutput(io.Discard, io.Discard))
	c, err := client.NewGRPC(rt.GRPCAddr)
	require.NoError(t, err)
	defer c.Close()
	for _, tc := range []struct {
		model string
		code  int
		grpc  codes.Code
		msg   string
	}{
		{"input-as", 400, codes.InvalidArgument, `input "x" has datatype FP32, but the model expects BYTES`},
		{"as", 400, codes.InvalidArgument, `tensor "x" has datatype FP32, expected INT64`},
		{"mislabelled", 500, codes.Internal, `model mislabelled returned an invalid response: output y has datatype FP32 but holds INT64 data`},
	} {
		code, _, body := do(t, "POST", rt.URL+"/v2/models/"+tc.model+"/infer", "application/json", []byte(v2Body))
		var got struct{ Error string }
		require.NoError(t, json.Unmarshal([]byte(body), &got), body)
		assert.Equal(t, tc.code, code, tc.model)
		assert.Equal(t, tc.msg, got.Error, tc.model)

		_, err := c.Infer(context.Background(), &infer.Request{ModelName: tc.model, Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{1}, []float32{1})}})
		st, _ := grpcstatus.FromError(err)
		assert.Equal(t, tc.grpc, st.Code(), tc.model)
		assert.Equal(t, tc.msg, st.Message(), tc.model)
	}
}
