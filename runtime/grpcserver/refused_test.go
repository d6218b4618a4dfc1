package grpcserver_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding/gzip"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/grpcserver"
	"github.com/kserve-gen/kserve-gen/runtime/metrics"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// A request grpc-go refuses while reading it, before any code of the
// server's runs (one over --grpc_max_receive_message_length, as sent or
// decompressed, one that does not decompress), is logged once with the
// method it was sent to, and a ModelInfer is counted as a failed request
// of no model (model_name=""): the model name is in the part of the
// message grpc-go did not read, or did not give the server.
func TestRefusedRequest_IsLoggedAndCounted(t *testing.T) {
	const limit = 1 << 10
	m := metrics.New()
	dp := dataplane.New(dataplane.Options{MaxConcurrency: 8, Metrics: m})
	var logs runtimetest.LogBuffer
	// The line is logged after the client has its answer (grpc-go writes it
	// before the handler returns): each call waits for its line.
	lines := make(chan struct{}, 16)
	logged := func(t *testing.T) {
		t.Helper()
		select {
		case <-lines:
		case <-ctxT(t).Done():
			t.Fatalf("no line logged; the log:\n%s", logs.String())
		}
	}
	handler := notifying{slog.NewTextHandler(&logs, nil), lines}
	f := startDP(t, dp, grpcserver.Options{MaxReceiveMessageLength: limit, Logger: slog.New(handler)}, newPassthrough("passthrough"))
	w := newWire(t, f.addr)
	big := &pb.ModelInferRequest{ModelName: "passthrough",
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "UINT8", Shape: []int64{2000}}},
		RawInputContents: [][]byte{make([]byte, 2000)}}
	ready := marshal(t, &pb.ModelReadyRequest{Name: "passthrough"})
	const infer = "grpc_method: /inference.GRPCInferenceService/ModelInfer"

	// grpc-go's client, compressing with gzip, and sending past the limit.
	_, err := f.client.ModelInfer(ctxT(t), big)
	requireStatus(t, err, codes.ResourceExhausted, "grpc: received message larger than max (2032 vs. 1024)")
	logged(t)
	_, err = f.client.ModelInfer(ctxT(t), big, grpc.UseCompressor(gzip.Name))
	requireStatus(t, err, codes.ResourceExhausted, "grpc: received message after decompression larger than max 1024")
	logged(t)

	for _, tc := range []struct {
		name, method, coding string
		payload              []byte
		code                 codes.Code
		logged               string
	}{
		{"ModelInfer not gzip", pb.GRPCInferenceService_ModelInfer_FullMethodName, "gzip", marshal(t, big)[:100], codes.Internal,
			`level=ERROR msg="Internal server error: grpc: failed to decompress the message: gzip: invalid header, ` + infer + `"`},
		{"ModelInfer bad checksum", pb.GRPCInferenceService_ModelInfer_FullMethodName, "deflate", append(zlibbed(t, ready)[:len(zlibbed(t, ready))-3], 0, 0, 0), codes.Internal,
			`level=ERROR msg="Internal server error: grpc: failed to read decompressed data: zlib: invalid checksum, ` + infer + `"`},
		{"ModelReady not zlib", pb.GRPCInferenceService_ModelReady_FullMethodName, "deflate", ready, codes.Internal,
			`level=ERROR msg="Internal server error: grpc: failed to decompress the message: zlib: invalid header, grpc_method: /inference.GRPCInferenceService/ModelReady"`},
		{"health Check too large", healthpb.Health_Check_FullMethodName, "", make([]byte, limit+1), codes.ResourceExhausted,
			`level=WARN msg="Request refused: grpc: received message larger than max (1025 vs. 1024), grpc_method: /grpc.health.v1.Health/Check"`},
		{"health Watch not gzip", healthpb.Health_Watch_FullMethodName, "gzip", ready, codes.Internal,
			`level=ERROR msg="Internal server error: grpc: failed to decompress the message: gzip: invalid header, grpc_method: /grpc.health.v1.Health/Watch"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := w.call(t, tc.method, tc.coding, tc.coding != "", tc.payload, false)
			assert.Equal(t, tc.code, a.code, a.msg)
			logged(t)
			assert.Equal(t, 1, strings.Count(logs.String(), tc.logged+"\n"), logs.String())
		})
	}
	assert.Equal(t, 1, strings.Count(logs.String(), `level=WARN msg="Request refused: grpc: received message larger than max (2032 vs. 1024), `+infer+`"`+"\n"), logs.String())
	assert.Equal(t, 1, strings.Count(logs.String(), `level=WARN msg="Request refused: grpc: received message after decompression larger than max 1024, `+infer+`"`+"\n"), logs.String())
	assert.Equal(t, 7, strings.Count(logs.String(), "\n"), "one line a call:\n"+logs.String())

	// The four ModelInfer calls, under no model; their size is unknown.
	noModel := map[string]string{"model_name": "", "protocol": "grpc-v2"}
	assert.Equal(t, 4.0, sample(t, m, "kserve_requests_total", map[string]string{"model_name": "", "protocol": "grpc-v2", "verb": "predict"}))
	assert.Equal(t, 2.0, sample(t, m, "kserve_request_errors_total", map[string]string{"model_name": "", "protocol": "grpc-v2", "code": "ResourceExhausted"}))
	assert.Equal(t, 2.0, sample(t, m, "kserve_request_errors_total", map[string]string{"model_name": "", "protocol": "grpc-v2", "code": "Internal"}))
	assert.Equal(t, -1.0, sample(t, m, "kserve_request_size_bytes", noModel))
	assert.Equal(t, 0.0, sample(t, m, "kserve_requests_total", map[string]string{"model_name": "passthrough", "protocol": "grpc-v2", "verb": "predict"}))

	// The server serves on. (Not asserted: that the wire client kept one
	// connection. A call the server answers before reading its whole body
	// ends with the client resetting the stream, which net/http's HTTP/2
	// transport counts against the connection until a PING it sends with
	// the reset comes back (h2_bundle.go, pendingResets); on a loaded host
	// it dialled a second connection meanwhile: about one run in a hundred
	// under -race, with the server closing nothing.)
	a := w.call(t, pb.GRPCInferenceService_ModelReady_FullMethodName, "", false, ready, false)
	require.Equal(t, codes.OK, a.code, a.msg)
}

// notifying is a slog handler that signals each record once its inner
// handler has written it.
type notifying struct {
	slog.Handler
	ch chan<- struct{}
}

func (h notifying) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	h.ch <- struct{}{}
	return err
}
