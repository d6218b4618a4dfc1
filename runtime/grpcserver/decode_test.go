package grpcserver_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/grpcserver"
	"github.com/kserve-gen/kserve-gen/runtime/metrics"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// withBadString is msg with string field num appended holding "caf\xe9",
// which is not UTF-8: grpcio, tritonclient and grpc-go's client refuse to
// send it, so it is built by hand here, as a client in another language
// or a broken proxy sends it.
func withBadString(msg []byte, num protowire.Number) []byte {
	b := protowire.AppendTag(msg, num, protowire.BytesType)
	return protowire.AppendString(b, "caf\xe9")
}

// A request message that does not decode is refused by grpc-go before the
// server's code runs, with grpc-go's INTERNAL, the code gRPC prescribes for
// "Error parsing request proto" (KServe's grpc.aio server answers UNKNOWN
// "Unexpected <class 'google.protobuf.message.DecodeError'>: …"). It is
// logged with the line of every other INTERNAL answer, naming the method,
// and a ModelInfer is counted as a failed request of the model it names.
func TestUndecodableRequest_IsLoggedAndCounted(t *testing.T) {
	m := metrics.New()
	dp := dataplane.New(dataplane.Options{MaxConcurrency: 8, Metrics: m})
	var logs runtimetest.LogBuffer
	f := startDP(t, dp, grpcserver.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, newPassthrough("passthrough"))
	w := newWire(t, f.addr)
	good := marshal(t, &pb.ModelInferRequest{ModelName: "passthrough", Inputs: []*pb.ModelInferRequest_InferInputTensor{{
		Name: "input-0", Datatype: "FP32", Shape: []int64{1, 4}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1, 2, 3, 4}}}}})

	const utf8Msg = "grpc: failed to unmarshal the received message: string field contains invalid UTF-8"
	const truncMsg = "grpc: failed to unmarshal the received message: proto: cannot parse invalid wire-format data"
	for _, tc := range []struct {
		name, method string
		payload      []byte
		msg, logged  string
	}{
		{"ModelInfer id", pb.GRPCInferenceService_ModelInfer_FullMethodName, withBadString(good, 3), utf8Msg,
			"grpc_method: /inference.GRPCInferenceService/ModelInfer"},
		{"ModelInfer truncated", pb.GRPCInferenceService_ModelInfer_FullMethodName, good[:len(good)-1], truncMsg,
			"grpc_method: /inference.GRPCInferenceService/ModelInfer"},
		{"ModelInfer unknown model", pb.GRPCInferenceService_ModelInfer_FullMethodName,
			withBadString(marshal(t, &pb.ModelInferRequest{ModelName: "nope"}), 3), utf8Msg,
			"grpc_method: /inference.GRPCInferenceService/ModelInfer"},
		{"ModelInfer no model name", pb.GRPCInferenceService_ModelInfer_FullMethodName, withBadString(nil, 3), utf8Msg,
			"grpc_method: /inference.GRPCInferenceService/ModelInfer"},
		{"ModelMetadata", pb.GRPCInferenceService_ModelMetadata_FullMethodName, withBadString(nil, 1), utf8Msg,
			"grpc_method: /inference.GRPCInferenceService/ModelMetadata"},
		// Check and Watch take the same message: the codec that sees it
		// cannot tell them apart.
		{"health Check", healthpb.Health_Check_FullMethodName, withBadString(nil, 1), utf8Msg,
			"grpc_method: /grpc.health.v1.Health/Check or /grpc.health.v1.Health/Watch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := w.call(t, tc.method, "", false, tc.payload, false)
			assert.Equal(t, codes.Internal, a.code)
			assert.Equal(t, tc.msg, despace(a.msg))
			assert.Contains(t, despace(logs.String()), `level=ERROR msg="Internal server error: `+tc.msg+`, `+tc.logged+`"`)
		})
	}
	assert.Equal(t, 6, strings.Count(logs.String(), "Internal server error: grpc: failed to unmarshal"), logs.String())

	// The two ModelInfer calls naming the served model, by their size as
	// received; the one naming no served model adds no series; the one
	// whose name could not be read is counted under no model.
	infer := map[string]string{"model_name": "passthrough", "protocol": "grpc-v2"}
	assert.Equal(t, 2.0, sample(t, m, "kserve_requests_total", map[string]string{"model_name": "passthrough", "protocol": "grpc-v2", "verb": "predict"}))
	assert.Equal(t, 2.0, sample(t, m, "kserve_request_errors_total", map[string]string{"model_name": "passthrough", "protocol": "grpc-v2", "code": "Internal"}))
	assert.Equal(t, 2.0, sample(t, m, "kserve_request_size_bytes", infer))
	assert.Equal(t, 0.0, sample(t, m, "kserve_response_size_bytes", infer))
	assert.Equal(t, -1.0, sample(t, m, "kserve_requests_total", map[string]string{"model_name": "nope"}))
	assert.Equal(t, 1.0, sample(t, m, "kserve_requests_total", map[string]string{"model_name": "", "protocol": "grpc-v2", "verb": "predict"}))
	assert.Equal(t, 1.0, sample(t, m, "kserve_request_errors_total", map[string]string{"model_name": "", "protocol": "grpc-v2", "code": "Internal"}))
	assert.Equal(t, 1.0, sample(t, m, "kserve_request_size_bytes", map[string]string{"model_name": "", "protocol": "grpc-v2"}))

	// The server serves on. (Not asserted: that the wire client kept one
	// connection; see TestRefusedRequest_IsLoggedAndCounted.)
	a := w.call(t, pb.GRPCInferenceService_ModelInfer_FullMethodName, "", false, good, false)
	require.Equal(t, codes.OK, a.code, a.msg)
}

// despace undoes protobuf-go's errors, which put a no-break space after
// "proto:" in some builds and a space in others so that nobody matches
// their text (internal/errors, detrand): the rune in a status message,
// written \u00a0 by slog's text handler.
func despace(s string) string {
	return strings.NewReplacer("\u00a0", " ", `\u00a0`, " ").Replace(s)
}
