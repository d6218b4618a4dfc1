package grpcserver_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/grpcserver"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/metrics"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/pb/pbconv"

	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

func requireStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	require.Error(t, err)
	st, ok := grpcstatus.FromError(err)
	require.True(t, ok, "not a gRPC status: %v", err)
	assert.Equal(t, code, st.Code(), "code of %q", st.Message())
	assert.Equal(t, msg, st.Message())
}

func TestServerLiveReadyMetadata(t *testing.T) {
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"))
	ctx := ctxT(t)

	live, err := f.client.ServerLive(ctx, &pb.ServerLiveRequest{})
	require.NoError(t, err)
	assert.True(t, live.GetLive())

	ready, err := f.client.ServerReady(ctx, &pb.ServerReadyRequest{})
	require.NoError(t, err)
	assert.True(t, ready.GetReady())

	md, err := f.client.ServerMetadata(ctx, &pb.ServerMetadataRequest{})
	require.NoError(t, err)
	assert.Equal(t, "kserve", md.GetName())
	assert.Equal(t, "0.1.0", md.GetVersion())
	assert.Equal(t, []string{"model_repository_extension"}, md.GetExtensions())
}

func TestServerReady_FalseWhileAModelIsNotReady(t *testing.T) {
	m := newPassthrough("passthrough")
	m.ready.Store(false)
	f := start(t, grpcserver.Options{}, m)
	ready, err := f.client.ServerReady(ctxT(t), &pb.ServerReadyRequest{})
	require.NoError(t, err)
	assert.False(t, ready.GetReady())
}

func TestModelReady(t *testing.T) {
	notReady := newPassthrough("loading")
	notReady.ready.Store(false)
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"), notReady)
	ctx := ctxT(t)

	r, err := f.client.ModelReady(ctx, &pb.ModelReadyRequest{Name: "passthrough"})
	require.NoError(t, err)
	assert.True(t, r.GetReady())

	// Not ready is ready=false, not an error (KServe; REST answers 503).
	r, err = f.client.ModelReady(ctx, &pb.ModelReadyRequest{Name: "loading", Version: "7"})
	require.NoError(t, err)
	assert.False(t, r.GetReady())

	_, err = f.client.ModelReady(ctx, &pb.ModelReadyRequest{Name: "nope"})
	requireStatus(t, err, codes.NotFound, "Model with name nope does not exist.")
}

func TestModelMetadata(t *testing.T) {
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"), failing{})
	ctx := ctxT(t)

	md, err := f.client.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "passthrough"})
	require.NoError(t, err)
	want := &pb.ModelMetadataResponse{
		Name: "passthrough", Platform: "go",
		Inputs:  []*pb.ModelMetadataResponse_TensorMetadata{{Name: "input-0", Datatype: "FP32", Shape: []int64{-1, 4}}},
		Outputs: []*pb.ModelMetadataResponse_TensorMetadata{{Name: "output-0", Datatype: "FP32", Shape: []int64{-1, 4}}},
	}
	assert.True(t, proto.Equal(want, md), "got %v", md)

	md, err = f.client.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "failing"})
	require.NoError(t, err)
	assert.True(t, proto.Equal(&pb.ModelMetadataResponse{Name: "failing"}, md), "got %v", md)

	_, err = f.client.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "nope"})
	requireStatus(t, err, codes.NotFound, "Model with name nope does not exist.")
}

// The reference exchange grpc_small.json → grpc_small.resp.json, recorded
// against KServe 0.20 with a pass-through model (the id is a fresh uuid4).
const (
	referenceRequest  = `{"model_name":"passthrough","inputs":[{"name":"input-0","datatype":"FP32","shape":["1","4"],"contents":{"fp32_contents":[1.0,2.0,3.0,4.0]}}]}`
	referenceResponse = `{"modelName":"passthrough","id":"b5556f44-e7ed-4329-852a-3c3dafeab42d","outputs":[{"name":"output-0","datatype":"FP32","shape":["1","4"],"contents":{"fp32Contents":[1,2,3,4]}}]}`
)

func TestModelInfer_ReferenceExchange(t *testing.T) {
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"))
	var req pb.ModelInferRequest
	require.NoError(t, protojson.Unmarshal([]byte(referenceRequest), &req))

	resp, err := f.client.ModelInfer(ctxT(t), &req)
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, resp.GetId())

	var want pb.ModelInferResponse
	require.NoError(t, protojson.Unmarshal([]byte(referenceResponse), &want))
	want.Id = resp.GetId()
	assert.True(t, proto.Equal(&want, resp), "got %v", resp)
}

func TestModelInfer_RequestIDAndParametersRoundTrip(t *testing.T) {
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"))
	req := &pb.ModelInferRequest{
		ModelName: "passthrough", Id: "req-1",
		Parameters: map[string]*pb.InferParameter{
			"b": {ParameterChoice: &pb.InferParameter_BoolParam{BoolParam: true}},
			"i": {ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: -7}},
			"s": {ParameterChoice: &pb.InferParameter_StringParam{StringParam: "pd"}},
			"d": {ParameterChoice: &pb.InferParameter_DoubleParam{DoubleParam: 0.5}},
			"u": {ParameterChoice: &pb.InferParameter_Uint64Param{Uint64Param: 9}},
		},
		Inputs: []*pb.ModelInferRequest_InferInputTensor{{
			Name: "x", Datatype: "INT64", Shape: []int64{2},
			Parameters: map[string]*pb.InferParameter{"content_type": {ParameterChoice: &pb.InferParameter_StringParam{StringParam: "np"}}},
			Contents:   &pb.InferTensorContents{Int64Contents: []int64{1, 2}},
		}},
	}
	resp, err := f.client.ModelInfer(ctxT(t), req)
	require.NoError(t, err)
	assert.Equal(t, "req-1", resp.GetId())
	// uint64 9 arrives as int64 9 and goes back as int64_param.
	wantParams := map[string]*pb.InferParameter{
		"b": {ParameterChoice: &pb.InferParameter_BoolParam{BoolParam: true}},
		"i": {ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: -7}},
		"s": {ParameterChoice: &pb.InferParameter_StringParam{StringParam: "pd"}},
		"d": {ParameterChoice: &pb.InferParameter_DoubleParam{DoubleParam: 0.5}},
		"u": {ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: 9}},
	}
	assert.True(t, proto.Equal(&pb.ModelInferResponse{Parameters: wantParams}, &pb.ModelInferResponse{Parameters: resp.GetParameters()}), "got %v", resp.GetParameters())
	assert.Equal(t, "np", resp.GetOutputs()[0].GetParameters()["content_type"].GetStringParam())
}

// datatypeCases holds one tensor of every datatype with awkward values.
func datatypeCases() []*infer.Tensor {
	return []*infer.Tensor{
		infer.NewTensor("bool", []int64{3}, []bool{true, false, true}),
		infer.NewTensor("u8", []int64{3}, []uint8{0, 7, 255}),
		infer.NewTensor("u16", []int64{3}, []uint16{0, 7, 65535}),
		infer.NewTensor("u32", []int64{3}, []uint32{0, 7, math.MaxUint32}),
		infer.NewTensor("u64", []int64{3}, []uint64{0, 7, math.MaxUint64}),
		infer.NewTensor("i8", []int64{3}, []int8{-128, 0, 127}),
		infer.NewTensor("i16", []int64{3}, []int16{-32768, 0, 32767}),
		infer.NewTensor("i32", []int64{3}, []int32{math.MinInt32, 0, math.MaxInt32}),
		infer.NewTensor("i64", []int64{3}, []int64{math.MinInt64, 0, math.MaxInt64}),
		infer.NewTensor("fp16", []int64{3}, []infer.Float16{infer.Float16From(-1.5), 0, infer.Float16From(65504)}),
		infer.NewTensor("fp32", []int64{1, 3}, []float32{-1.5, float32(math.Inf(1)), math.SmallestNonzeroFloat32}),
		infer.NewTensor("fp64", []int64{3, 1}, []float64{-1.5, math.MaxFloat64, math.SmallestNonzeroFloat64}),
		infer.NewTensor("bytes", []int64{3}, [][]byte{[]byte("héllo"), {}, {0, 0xff, 0}}),
	}
}

func TestModelInfer_EveryDatatypeTypedAndRaw(t *testing.T) {
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"))
	for _, raw := range []bool{false, true} {
		for _, in := range datatypeCases() {
			name := string(in.Datatype) + map[bool]string{false: "/typed", true: "/raw"}[raw]
			t.Run(name, func(t *testing.T) {
				req, err := pbconv.FromRequest(&infer.Request{ModelName: "passthrough", Inputs: []*infer.Tensor{in}}, raw)
				require.NoError(t, err)
				wantRaw := raw || in.Datatype == infer.FP16
				assert.Equal(t, wantRaw, len(req.GetRawInputContents()) == 1)

				resp, err := f.client.ModelInfer(ctxT(t), req)
				require.NoError(t, err)
				// Raw in, raw out; FP16 forces raw; otherwise typed contents.
				assert.Equal(t, wantRaw, len(resp.GetRawOutputContents()) == 1, "raw output contents")
				assert.Equal(t, !wantRaw, resp.GetOutputs()[0].GetContents() != nil, "typed output contents")

				got, err := pbconv.Response(resp)
				require.NoError(t, err)
				require.Len(t, got.Outputs, 1)
				out := got.Outputs[0]
				assert.Equal(t, "output-0", out.Name)
				assert.Equal(t, in.Datatype, out.Datatype)
				assert.Equal(t, in.Shape, out.Shape)
				assert.Equal(t, in.Data, out.Data)
			})
		}
	}
}

func TestModelInfer_RawWireLayout(t *testing.T) {
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"))
	raw := make([]byte, 0, 8)
	raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(1.25))
	raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(-2))
	str := []byte{3, 0, 0, 0, 'a', 'b', 'c', 0, 0, 0, 0}
	resp, err := f.client.ModelInfer(ctxT(t), &pb.ModelInferRequest{
		ModelName: "passthrough",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: "f", Datatype: "FP32", Shape: []int64{2}},
			{Name: "s", Datatype: "BYTES", Shape: []int64{2}},
		},
		RawInputContents: [][]byte{raw, str},
	})
	require.NoError(t, err)
	assert.Equal(t, [][]byte{raw, str}, resp.GetRawOutputContents())
	assert.Nil(t, resp.GetOutputs()[0].GetContents())
}

func TestModelInfer_InvalidRequests(t *testing.T) {
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"))
	fp32 := func(name string, shape []int64, v ...float32) *pb.ModelInferRequest_InferInputTensor {
		return &pb.ModelInferRequest_InferInputTensor{Name: name, Datatype: "FP32", Shape: shape, Contents: &pb.InferTensorContents{Fp32Contents: v}}
	}
	cases := []struct {
		name string
		req  *pb.ModelInferRequest
		code codes.Code
		msg  string
	}{
		{
			name: "raw count mismatch",
			req: &pb.ModelInferRequest{ModelName: "passthrough",
				Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "FP32", Shape: []int64{1}}, {Name: "b", Datatype: "FP32", Shape: []int64{1}}},
				RawInputContents: [][]byte{{0, 0, 0, 0}}},
			code: codes.InvalidArgument,
			msg:  "the number of inputs (2) does not match the expected number of raw input contents (1) for model 'passthrough'.",
		},
		{
			name: "contents and raw",
			req: &pb.ModelInferRequest{ModelName: "passthrough",
				Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32("a", []int64{1}, 1)}, RawInputContents: [][]byte{{0, 0, 0, 0}}},
			code: codes.InvalidArgument,
			msg:  "contents field must not be specified when using raw_input_contents for input 'a' for model 'passthrough'",
		},
		{
			name: "raw size",
			req: &pb.ModelInferRequest{ModelName: "passthrough",
				Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "FP32", Shape: []int64{1, 3}}}, RawInputContents: [][]byte{make([]byte, 8)}},
			code: codes.InvalidArgument,
			msg:  "input 'a' with datatype FP32 and shape [1, 3] needs 12 bytes of raw contents, but 8 were given",
		},
		{
			name: "raw bytes truncated",
			req: &pb.ModelInferRequest{ModelName: "passthrough",
				Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "s", Datatype: "BYTES", Shape: []int64{1}}}, RawInputContents: [][]byte{{9, 0, 0, 0, 'x'}}},
			code: codes.InvalidArgument,
			msg:  "input 's': raw BYTES element 0 declares 9 bytes, but only 1 remain",
		},
		{
			name: "raw bytes count",
			req: &pb.ModelInferRequest{ModelName: "passthrough",
				Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "s", Datatype: "BYTES", Shape: []int64{2}}}, RawInputContents: [][]byte{{1, 0, 0, 0, 'x'}}},
			code: codes.InvalidArgument,
			msg:  "input 's' with datatype BYTES and shape [2] needs 2 elements, but its raw contents hold 1",
		},
		{
			name: "bad datatype",
			req: &pb.ModelInferRequest{ModelName: "passthrough",
				Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "FLOAT", Shape: []int64{1}}}},
			code: codes.InvalidArgument,
			msg:  "invalid datatype FLOAT for input a",
		},
		{
			name: "fp16 typed",
			req: &pb.ModelInferRequest{ModelName: "passthrough",
				Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "h", Datatype: "FP16", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}},
			code: codes.InvalidArgument,
			msg:  "input 'h' has datatype FP16, which has no typed contents field: send FP16 data in raw contents",
		},
		{
			name: "wrong contents field",
			req: &pb.ModelInferRequest{ModelName: "passthrough",
				Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "FP32", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp64Contents: []float64{1}}}}},
			code: codes.InvalidArgument,
			msg:  "input 'a' has datatype FP32, so its data belongs in fp32_contents, not fp64_contents",
		},
		{
			name: "shape mismatch",
			req:  &pb.ModelInferRequest{ModelName: "passthrough", Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32("a", []int64{2, 2}, 1, 2, 3)}},
			code: codes.InvalidArgument,
			msg:  "input a: shape [2, 2] expects 4 elements, but 3 were given",
		},
		{
			name: "int8 out of range",
			req: &pb.ModelInferRequest{ModelName: "passthrough",
				Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "INT8", Shape: []int64{2}, Contents: &pb.InferTensorContents{IntContents: []int32{1, 300}}}}},
			code: codes.InvalidArgument,
			msg:  "input a: data element 1 is 300, not an integer in range for 8 bits as datatype INT8 needs",
		},
		{
			name: "unknown model",
			req:  &pb.ModelInferRequest{ModelName: "nope", Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32("a", []int64{1}, 1)}},
			code: codes.NotFound,
			msg:  "Model with name nope does not exist.",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.client.ModelInfer(ctxT(t), c.req)
			requireStatus(t, err, c.code, c.msg)
		})
	}
}

// Every error kind reaches the client with its code and its message; KServe
// loses the message of not-ready and not-implemented errors.
func TestModelInfer_ModelErrorsKeepTheirMessage(t *testing.T) {
	f := start(t, grpcserver.Options{}, failing{})
	cases := []struct {
		kind string
		code codes.Code
		msg  string
	}{
		{"invalid", codes.InvalidArgument, "pixel values must be in [0, 1]"},
		{"inference", codes.InvalidArgument, "[507] CUDA out of memory"},
		{"notimplemented", codes.Unimplemented, "Could not find predictor_host."},
		{"notready", codes.Unavailable, "Model with name failing is not ready. still warming up"},
		{"unavailable", codes.Unavailable, "predictor 10.0.0.1:8080 is unreachable"},
		{"plain", codes.Internal, "Error : disk on fire"},
		{"panic", codes.Internal, "panic : boom"},
		{"v1body", codes.Internal, "model failing returned a v1 response body to a gRPC v2 request; return tensors (infer.PredictResponse)"},
		{"badoutput", codes.Internal, "model failing returned an invalid response: output o: shape [3] expects 3 elements, but 1 was given"},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			_, err := f.client.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "failing",
				Parameters: map[string]*pb.InferParameter{"kind": {ParameterChoice: &pb.InferParameter_StringParam{StringParam: c.kind}}}})
			requireStatus(t, err, c.code, c.msg)
		})
	}
}

func TestModelInfer_DeadlineExceeded(t *testing.T) {
	f := start(t, grpcserver.Options{}, failing{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := f.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "failing",
		Parameters: map[string]*pb.InferParameter{"kind": {ParameterChoice: &pb.InferParameter_StringParam{StringParam: "slow"}}}})
	st, _ := grpcstatus.FromError(err)
	assert.Equal(t, codes.DeadlineExceeded, st.Code())
}

// A context error is the caller's cancel or deadline only when the call's
// own context has ended: a predictor that did not answer in time is a
// server error, DEADLINE_EXCEEDED with its message and logged, and a
// deadline the model set itself is INTERNAL, not the caller's code.
func TestModelInfer_ContextErrorsOfTheServerAreServerErrors(t *testing.T) {
	var logs runtimetest.LogBuffer
	f := start(t, grpcserver.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, failing{})
	call := func(kind string) error {
		_, err := f.client.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "failing",
			Parameters: map[string]*pb.InferParameter{"kind": {ParameterChoice: &pb.InferParameter_StringParam{StringParam: kind}}}})
		return err
	}
	requireStatus(t, call("upstreamtimeout"), codes.DeadlineExceeded,
		"predictor 10.0.0.1:8081 (grpc-v2) did not answer within 1s (--predictor_request_timeout_seconds)")
	requireStatus(t, call("owndeadline"), codes.Internal,
		"deadlineExceededError : lookup in the feature store: context deadline exceeded")
	assert.Contains(t, logs.String(), `level=ERROR msg=Exception: error="predictor 10.0.0.1:8081 (grpc-v2) did not answer within 1s (--predictor_request_timeout_seconds): context deadline exceeded"`)
	// KServe's interceptor line for an unexpected error.
	assert.Contains(t, logs.String(), `level=ERROR msg="Internal server error: lookup in the feature store: context deadline exceeded, grpc_method: /inference.GRPCInferenceService/ModelInfer"`)
}

// KServe loads a not-ready model inline on ModelInfer (and ModelMetadata); we answer
// UNAVAILABLE with the message instead (documented in docs/grpc.md).
func TestModelInfer_NotReadyModelIsUnavailable(t *testing.T) {
	m := newPassthrough("passthrough")
	m.ready.Store(false)
	f := start(t, grpcserver.Options{}, m)
	_, err := f.client.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "passthrough"})
	requireStatus(t, err, codes.Unavailable, "Model with name passthrough is not ready.")
	assert.False(t, m.Ready(), "ModelInfer must not load the model")
	// Nor does a model not loaded describe its tensors (it may not know them).
	_, err = f.client.ModelMetadata(ctxT(t), &pb.ModelMetadataRequest{Name: "passthrough"})
	requireStatus(t, err, codes.Unavailable, "Model with name passthrough is not ready.")
}

func TestModelInfer_MetadataInResponseHeadersOut(t *testing.T) {
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"))
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "x-echo", "hello", "x-request-id", "r1")
	var header metadata.MD
	_, err := f.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "passthrough"}, grpc.Header(&header))
	require.NoError(t, err)
	assert.Equal(t, []string{"hello"}, header.Get("x-echoed"))
}

func TestMessageSizeLimits(t *testing.T) {
	f := start(t, grpcserver.Options{MaxReceiveMessageLength: 1024, MaxSendMessageLength: 2048}, newPassthrough("passthrough"))
	big := func(n int) *pb.ModelInferRequest {
		return &pb.ModelInferRequest{ModelName: "passthrough",
			Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "UINT8", Shape: []int64{int64(n)}}},
			RawInputContents: [][]byte{make([]byte, n)}}
	}
	_, err := f.client.ModelInfer(ctxT(t), big(900))
	require.NoError(t, err)

	_, err = f.client.ModelInfer(ctxT(t), big(1100))
	st, _ := grpcstatus.FromError(err)
	assert.Equal(t, codes.ResourceExhausted, st.Code())
	assert.Contains(t, st.Message(), "received message larger than max")

	// Under the receive limit, but the response is over the send limit: the
	// server says so itself, naming the flag, and counts the failure (the
	// response was never sent, so its size is not recorded).
	m := metrics.New()
	dp := dataplane.New(dataplane.Options{MaxConcurrency: 8, Metrics: m})
	g := startDP(t, dp, grpcserver.Options{MaxReceiveMessageLength: 4096, MaxSendMessageLength: 1024}, newPassthrough("passthrough"))
	_, err = g.client.ModelInfer(ctxT(t), big(1500))
	requireStatus(t, err, codes.ResourceExhausted, "response of 1602 bytes is larger than --grpc_max_send_message_length (1024)") // 1500 raw bytes, the uuid4 id, names, binary_data_size
	_, err = g.client.ModelInfer(ctxT(t), big(900))
	require.NoError(t, err)
	grpcV2 := map[string]string{"model_name": "passthrough", "protocol": "grpc-v2"}
	assert.Equal(t, 2.0, sample(t, m, "kserve_requests_total", map[string]string{"model_name": "passthrough", "protocol": "grpc-v2", "verb": "predict"}))
	assert.Equal(t, 1.0, sample(t, m, "kserve_request_errors_total", map[string]string{"model_name": "passthrough", "protocol": "grpc-v2", "code": "ResourceExhausted"}))
	assert.Equal(t, 1.0, sample(t, m, "kserve_response_size_bytes", grpcV2), "only the response that was sent")
}

func TestMessageSizeLimits_DefaultIs8MiBAndMinusOneIsUnlimited(t *testing.T) {
	req := func(n int) *pb.ModelInferRequest {
		return &pb.ModelInferRequest{ModelName: "passthrough",
			Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "UINT8", Shape: []int64{int64(n)}}},
			RawInputContents: [][]byte{make([]byte, n)}}
	}
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"))
	_, err := f.client.ModelInfer(ctxT(t), req(9<<20))
	st, _ := grpcstatus.FromError(err)
	assert.Equal(t, codes.ResourceExhausted, st.Code())

	g := start(t, grpcserver.Options{MaxSendMessageLength: -1, MaxReceiveMessageLength: -1}, newPassthrough("passthrough"))
	resp, err := g.client.ModelInfer(ctxT(t), req(9<<20))
	require.NoError(t, err)
	assert.Len(t, resp.GetRawOutputContents()[0], 9<<20)
}

func TestRepositoryLoadUnload(t *testing.T) {
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"))
	ctx := ctxT(t)

	un, err := f.client.RepositoryModelUnload(ctx, &pb.RepositoryModelUnloadRequest{ModelName: "passthrough"})
	require.NoError(t, err)
	assert.True(t, proto.Equal(&pb.RepositoryModelUnloadResponse{ModelName: "passthrough", IsUnloaded: true}, un))
	_, err = f.client.ModelReady(ctx, &pb.ModelReadyRequest{Name: "passthrough"})
	requireStatus(t, err, codes.NotFound, "Model with name passthrough does not exist.")
	_, err = f.client.RepositoryModelUnload(ctx, &pb.RepositoryModelUnloadRequest{ModelName: "passthrough"})
	requireStatus(t, err, codes.NotFound, "Model with name passthrough does not exist.")

	ld, err := f.client.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "passthrough"})
	require.NoError(t, err)
	assert.True(t, proto.Equal(&pb.RepositoryModelLoadResponse{ModelName: "passthrough", IsLoaded: true}, ld))
	r, err := f.client.ModelReady(ctx, &pb.ModelReadyRequest{Name: "passthrough"})
	require.NoError(t, err)
	assert.True(t, r.GetReady())

	_, err = f.client.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "nope"})
	requireStatus(t, err, codes.Unavailable, "Model with name nope is not ready.")
}

func TestHealth_CheckAndList(t *testing.T) {
	loading := newPassthrough("loading")
	loading.ready.Store(false)
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"), loading)
	h := healthpb.NewHealthClient(f.conn)
	ctx := ctxT(t)
	check := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		r, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		require.NoError(t, err)
		return r.GetStatus()
	}
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, check("passthrough"))
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, check("loading"))
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, check(""))
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, check("inference.GRPCInferenceService"))
	loading.ready.Store(true)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, check(""))
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, check("inference.GRPCInferenceService"))

	_, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"})
	requireStatus(t, err, codes.NotFound, `unknown service "nope": it is neither the server ("") nor a served model`)

	list, err := h.List(ctx, &healthpb.HealthListRequest{})
	require.NoError(t, err)
	got := map[string]healthpb.HealthCheckResponse_ServingStatus{}
	for k, v := range list.GetStatuses() {
		got[k] = v.GetStatus()
	}
	assert.Equal(t, map[string]healthpb.HealthCheckResponse_ServingStatus{
		"": healthpb.HealthCheckResponse_SERVING, "inference.GRPCInferenceService": healthpb.HealthCheckResponse_SERVING,
		"passthrough": healthpb.HealthCheckResponse_SERVING, "loading": healthpb.HealthCheckResponse_SERVING,
	}, got)
}

func TestHealth_WatchFollowsUnloadLoadAndShutdown(t *testing.T) {
	// A long poll interval: the updates below must come from load/unload events.
	f := start(t, grpcserver.Options{HealthPollInterval: time.Hour}, newPassthrough("passthrough"))
	h := healthpb.NewHealthClient(f.conn)
	stream, err := h.Watch(ctxT(t), &healthpb.HealthCheckRequest{Service: "passthrough"})
	require.NoError(t, err)
	next := func() healthpb.HealthCheckResponse_ServingStatus {
		r, err := stream.Recv()
		require.NoError(t, err)
		return r.GetStatus()
	}
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, next())

	_, err = f.client.RepositoryModelUnload(ctxT(t), &pb.RepositoryModelUnloadRequest{ModelName: "passthrough"})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVICE_UNKNOWN, next())

	_, err = f.client.RepositoryModelLoad(ctxT(t), &pb.RepositoryModelLoadRequest{ModelName: "passthrough"})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, next())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, f.srv.Shutdown(ctx))
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, next())
	require.NoError(t, <-f.served, "Serve returns nil after Shutdown")
}

func TestHealth_WatchPollsModelReadiness(t *testing.T) {
	m := newPassthrough("passthrough")
	m.ready.Store(false)
	f := start(t, grpcserver.Options{HealthPollInterval: 10 * time.Millisecond}, m)
	stream, err := healthpb.NewHealthClient(f.conn).Watch(ctxT(t), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	r, err := stream.Recv()
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, r.GetStatus())
	m.ready.Store(true)
	r, err = stream.Recv()
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, r.GetStatus())
}

func TestReflection_ListsServices(t *testing.T) {
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"))
	stream, err := reflectionpb.NewServerReflectionClient(f.conn).ServerReflectionInfo(ctxT(t))
	require.NoError(t, err)
	require.NoError(t, stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}))
	resp, err := stream.Recv()
	require.NoError(t, err)
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	assert.Subset(t, names, []string{"inference.GRPCInferenceService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"})

	// The descriptor of our service is served too, so grpcurl needs no proto.
	require.NoError(t, stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "inference.GRPCInferenceService"}}))
	resp, err = stream.Recv()
	require.NoError(t, err)
	require.NotEmpty(t, resp.GetFileDescriptorResponse().GetFileDescriptorProto())
	assert.True(t, strings.Contains(string(resp.GetFileDescriptorResponse().GetFileDescriptorProto()[0]), "ModelInferRequest"))
}

// --grpc_max_send_message_length bounds the answers of the inference and
// health services, not those of reflection, which are the service
// descriptors (grpc_predict_v2.proto's is about 4.3 KB): under a smaller
// limit grpcurl used to fail on every call with ResourceExhausted
// "trying to send message larger than max (4280 vs. 1000)".
func TestReflection_UnderASmallSendLimit(t *testing.T) {
	f := start(t, grpcserver.Options{MaxSendMessageLength: 40}, newPassthrough("passthrough"))
	stream, err := reflectionpb.NewServerReflectionClient(f.conn).ServerReflectionInfo(ctxT(t))
	require.NoError(t, err)
	require.NoError(t, stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "inference.GRPCInferenceService"}}))
	resp, err := stream.Recv()
	require.NoError(t, err)
	require.NotEmpty(t, resp.GetFileDescriptorResponse().GetFileDescriptorProto())
	assert.Greater(t, proto.Size(resp), 40)

	// Everything else keeps the limit, with grpc-go's message.
	md, err := f.client.ServerMetadata(ctxT(t), &pb.ServerMetadataRequest{})
	want := &pb.ServerMetadataResponse{Name: "kserve", Version: "0.1.0", Extensions: []string{"model_repository_extension"}}
	requireStatus(t, err, codes.ResourceExhausted, fmt.Sprintf("trying to send message larger than max (%d vs. 40)", proto.Size(want)))
	assert.Nil(t, md)
	_, err = f.client.ModelReady(ctxT(t), &pb.ModelReadyRequest{Name: "passthrough"})
	require.NoError(t, err)

	// Health's stream too: its answers fit, a limit of 1 byte refuses them.
	watch := func(f *fixture) (*healthpb.HealthCheckResponse, error) {
		w, err := healthpb.NewHealthClient(f.conn).Watch(ctxT(t), &healthpb.HealthCheckRequest{})
		require.NoError(t, err)
		return w.Recv()
	}
	r, err := watch(f)
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, r.GetStatus())
	tiny := start(t, grpcserver.Options{MaxSendMessageLength: 1}, newPassthrough("passthrough"))
	_, err = watch(tiny)
	requireStatus(t, err, codes.ResourceExhausted, "trying to send message larger than max (2 vs. 1)")
}

func TestShutdown_DrainsInFlightCalls(t *testing.T) {
	g := &gate{started: make(chan struct{}), release: make(chan struct{})}
	f := start(t, grpcserver.Options{}, g)
	errc := make(chan error, 1)
	go func() {
		_, err := f.client.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "gate"})
		errc <- err
	}()
	<-g.started // the call is in the model now
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- f.srv.Shutdown(ctx)
	}()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a call was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(g.release)
	require.NoError(t, <-errc, "the in-flight call completes")
	require.NoError(t, <-shut)
	require.NoError(t, <-f.served)
}

// gate blocks Predict until release is closed.
type gate struct{ started, release chan struct{} }

func (*gate) Name() string               { return "gate" }
func (*gate) Load(context.Context) error { return nil }
func (*gate) Ready() bool                { return true }
func (g *gate) Predict(_ context.Context, req *infer.Request, _ *model.Headers) (*infer.Response, error) {
	close(g.started)
	<-g.release
	return &infer.Response{}, nil
}

func TestModelInfer_HeaderKeysAreCanonical(t *testing.T) {
	var got http.Header
	m := &headerSpy{seen: func(h http.Header) { got = h }}
	f := start(t, grpcserver.Options{}, m)
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "x-request-id", "r1", "x-b3-traceid", "b3", "authorization", "Bearer x", "x-custom-thing", "c")
	_, err := f.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "spy"})
	require.NoError(t, err)
	assert.Equal(t, []string{"r1"}, got["X-Request-Id"])
	assert.Equal(t, []string{"b3"}, got["X-B3-Traceid"])
	assert.Equal(t, []string{"Bearer x"}, got["Authorization"])
	assert.Equal(t, []string{"c"}, got["X-Custom-Thing"])
	assert.Equal(t, []string{"application/grpc"}, got["Content-Type"])
	assert.Contains(t, got.Get("User-Agent"), "grpc-go/")
	for k := range got {
		assert.False(t, strings.HasPrefix(k, ":"), "pseudo-header %s", k)
		assert.Equal(t, textproto.CanonicalMIMEHeaderKey(k), k)
	}
}

type headerSpy struct{ seen func(http.Header) }

func (*headerSpy) Name() string               { return "spy" }
func (*headerSpy) Load(context.Context) error { return nil }
func (*headerSpy) Ready() bool                { return true }
func (s *headerSpy) Predict(_ context.Context, req *infer.Request, h *model.Headers) (*infer.Response, error) {
	s.seen(h.Request)
	return &infer.Response{}, nil
}

// An error's status message is cut to a few KiB: it travels in the
// trailers, whose size the client bounds (grpc-go at 16 MiB, gRPC's C core,
// under Python's and C++'s clients, at 8 to 16 KiB), and messages echo what
// the request held. An input name of 3 million 'é' made an 18 MB
// grpc-message, which the client refused with COMPRESSION_ERROR, closing
// the connection and every call on it; a shape of 6 million dimensions did
// the same. The message keeps its beginning, which names the fault.
func TestLongStatusMessageIsCut(t *testing.T) {
	f := start(t, grpcserver.Options{MaxReceiveMessageLength: 64 << 20}, newPassthrough("passthrough"))
	name := strings.Repeat("é", 3<<20)
	_, err := f.client.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "passthrough",
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: name, Datatype: "XX", Shape: []int64{1}}},
		RawInputContents: [][]byte{{1}}})
	st, ok := grpcstatus.FromError(err)
	require.True(t, ok, "not a gRPC status: %v", err)
	require.Equal(t, codes.InvalidArgument, st.Code(), "%.200s", st.Message())
	assert.Equal(t, "invalid datatype XX for input "+strings.Repeat("é", 677)+" … (cut; the message has 6291486 bytes)", st.Message())

	// The connection is still there for the next call.
	live, err := f.client.ServerLive(ctxT(t), &pb.ServerLiveRequest{})
	require.NoError(t, err)
	assert.True(t, live.GetLive())
}

// A byte that is not UTF-8 takes nine bytes in grpc-message, not three:
// grpc-go sends it as U+FFFD, percent-encoded (%EF%BF%BD), and the client
// reads U+FFFD. Counted as three, a message of such bytes went out at up to
// 12 KiB, over the 8 KiB where gRPC's C core starts refusing trailers.
func TestStatusMessageOfInvalidUTF8IsCutAsSent(t *testing.T) {
	f := start(t, grpcserver.Options{}, failing{})
	_, err := f.client.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "failing",
		Parameters: map[string]*pb.InferParameter{"kind": {ParameterChoice: &pb.InferParameter_StringParam{StringParam: "notutf8"}}}})
	// "bad bytes: " is 11 bytes; 453 more at nine each make 4088.
	requireStatus(t, err, codes.InvalidArgument, "bad bytes: "+strings.Repeat("\uFFFD", 453)+" … (cut; the message has 3011 bytes)")
}
