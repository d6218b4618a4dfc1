package runtime_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// stepper panics "boom" in the step its request's X-Panic-In header names.
type stepper struct{}

func (stepper) Name() string               { return "stepper" }
func (stepper) Load(context.Context) error { return nil }
func (stepper) Ready() bool                { return true }
func (stepper) Preprocess(_ context.Context, req *infer.Request, h *runtime.Headers) (*infer.Request, error) {
	if h.Get("X-Panic-In") == "Preprocess" {
		panic("boom")
	}
	return req, nil
}
func (stepper) Predict(_ context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	if h.Get("X-Panic-In") == "Predict" {
		panic("boom")
	}
	return runtime.PredictResponse(req, "stepper", infer.NewTensor("y", []int64{1}, []float32{1}))
}
func (stepper) Postprocess(_ context.Context, resp *infer.Response, h *runtime.Headers) (*infer.Response, error) {
	if h.Get("X-Panic-In") == "Postprocess" {
		panic("boom")
	}
	return resp, nil
}

// A panic in the model pipeline is answered as KServe answers an exception
// nobody caught, "<Type> : <message>" (errors.py, generic_exception_handler),
// which names neither the model nor the step; the log line, one per
// request, names both before the stack, where KServe's traceback would.
func TestModelPanic_LogNamesModelAndStep(t *testing.T) {
	srv, logs := startLogged(t, stepper{}, runtimetest.WithGRPC())
	c := grpcClient(t, srv.GRPCAddr)
	for i, step := range []string{"Preprocess", "Predict", "Postprocess"} {
		t.Run(step, func(t *testing.T) {
			st, _, body := do(t, "POST", srv.URL+"/v2/models/stepper/infer", "application/json", []byte(v2Body), "X-Panic-In", step)
			assert.Equal(t, 500, st)
			assert.Equal(t, `{"error":"panic : boom"}`, body)
			st, _, body = do(t, "POST", srv.URL+"/v1/models/stepper:predict", "application/json", []byte(`{"instances":[1]}`), "X-Panic-In", step)
			assert.Equal(t, 500, st)
			assert.Equal(t, `{"error":"panic : boom"}`, body)
			_, err := c.ModelInfer(metadata.AppendToOutgoingContext(ctxT(t), "x-panic-in", step), &pb.ModelInferRequest{ModelName: "stepper",
				Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}})
			code, msg := grpcErr(t, err)
			assert.Equal(t, codes.Internal, code)
			assert.Equal(t, "panic : boom", msg)

			where := `\npanicked in ` + step + ` of model stepper:\ngoroutine `
			out := logs.String()
			assert.Equal(t, 2, strings.Count(out, `level=ERROR msg="Exception: panic : boom`+where), out)
			assert.Equal(t, 1, strings.Count(out, `level=ERROR msg="Internal server error: panic : boom, grpc_method: /inference.GRPCInferenceService/ModelInfer`+where), out)
			assert.Equal(t, 3*(i+1), strings.Count(out, "panic : boom"), "one line per request:\n%s", out)
		})
	}
}
