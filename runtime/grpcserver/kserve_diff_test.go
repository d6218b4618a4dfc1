package grpcserver_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/kserve-gen/kserve-gen/runtime/grpcserver"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/pb/pbconv"
)

// echoFirst is examples/passthrough's model: its first input comes back as
// output-0 through infer.PredictResponse (KServe's get_predict_response).
type echoFirst struct{}

func (echoFirst) Name() string               { return "passthrough" }
func (echoFirst) Load(context.Context) error { return nil }
func (echoFirst) Ready() bool                { return true }
func (echoFirst) Predict(_ context.Context, req *infer.Request, _ *model.Headers) (*infer.Response, error) {
	in := req.Inputs[0]
	return infer.PredictResponse(req, "passthrough", &infer.Tensor{Datatype: in.Datatype, Shape: in.Shape, Data: in.Data})
}

// TestModelInfer_AsKServeAnswers holds answers of KServe 0.20's Python
// ModelServer, recorded with scripts/kserve-diff-grpc.py from a
// passthrough model: raw outputs carry their size in binary_data_size
// (to_grpc's set_data_from_numpy(binary_data=True)), and a request's
// model_version is not echoed (get_predict_response leaves it out).
func TestModelInfer_AsKServeAnswers(t *testing.T) {
	f := start(t, grpcserver.Options{}, echoFirst{})
	for _, tc := range []struct{ name, req, want string }{
		{"raw FP32",
			`{"model_name":"passthrough","id":"a","inputs":[{"name":"input-0","datatype":"FP32","shape":["2"]}],"raw_input_contents":["AADAPwAAAMA="]}`,
			`{"model_name":"passthrough","id":"a","outputs":[{"name":"output-0","datatype":"FP32","shape":["2"],"parameters":{"binary_data_size":{"int64_param":"8"}}}],"raw_output_contents":["AADAPwAAAMA="]}`},
		{"raw BYTES",
			`{"model_name":"passthrough","id":"b","inputs":[{"name":"input-0","datatype":"BYTES","shape":["2"]}],"raw_input_contents":["AgAAAGFiAAAAAA=="]}`,
			`{"model_name":"passthrough","id":"b","outputs":[{"name":"output-0","datatype":"BYTES","shape":["2"],"parameters":{"binary_data_size":{"int64_param":"10"}}}],"raw_output_contents":["AgAAAGFiAAAAAA=="]}`},
		{"raw empty",
			`{"model_name":"passthrough","id":"c","inputs":[{"name":"input-0","datatype":"FP32","shape":["0"]}],"raw_input_contents":[""]}`,
			`{"model_name":"passthrough","id":"c","outputs":[{"name":"output-0","datatype":"FP32","shape":["0"],"parameters":{"binary_data_size":{"int64_param":"0"}}}],"raw_output_contents":[""]}`},
		{"typed model_version",
			`{"model_name":"passthrough","model_version":"1","id":"d","inputs":[{"name":"input-0","datatype":"FP32","shape":["1","2"],"contents":{"fp32_contents":[1,2]}}]}`,
			`{"model_name":"passthrough","id":"d","outputs":[{"name":"output-0","datatype":"FP32","shape":["1","2"],"contents":{"fp32_contents":[1,2]}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var req pb.ModelInferRequest
			require.NoError(t, protojson.Unmarshal([]byte(tc.req), &req))
			resp, err := f.client.ModelInfer(ctxT(t), &req)
			require.NoError(t, err)
			var want pb.ModelInferResponse
			require.NoError(t, protojson.Unmarshal([]byte(tc.want), &want))
			require.True(t, proto.Equal(&want, resp), "got %v", protojson.Format(resp))

			// Our client reads the tensor without the encoding's parameter.
			got, err := pbconv.Response(resp)
			require.NoError(t, err)
			require.Nil(t, got.Outputs[0].Parameters)
		})
	}
}
