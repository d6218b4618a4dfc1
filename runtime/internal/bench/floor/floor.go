// Package floor holds the least a server can do with an ONNX serving
// benchmark's exchange — read the request, answer 8 bytes (PP-OCR cls's two
// probabilities) — over net/http and over grpc-go. Timed against a raw ONNX
// Runtime run, raw/(raw + floor latency) bounds the served/raw ratio any
// server reaches at one client on that machine: the loopback exchange is
// paid once per request and nothing overlaps it.
package floor

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

// Handler reads the whole body into a fresh buffer and answers its last 8
// bytes as application/octet-stream.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, max(r.ContentLength, 0))
		if _, err := io.ReadFull(r.Body, b); err != nil || len(b) < 8 {
			http.Error(w, "want a body of 8 bytes or more with its Content-Length", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", "8")
		_, _ = w.Write(b[len(b)-8:])
	})
}

// GRPC is Handler's gRPC counterpart: ModelInfer decodes the request (in
// grpc-go) and answers one 8-byte raw output; no dataplane, no model.
type GRPC struct {
	pb.UnimplementedGRPCInferenceServiceServer
}

// ModelInfer answers the first 8 bytes of the request's one raw input.
func (GRPC) ModelInfer(_ context.Context, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	raw := req.GetRawInputContents()
	if len(raw) != 1 || len(raw[0]) < 8 {
		return nil, errors.New("want one raw input of 8 bytes or more")
	}
	return &pb.ModelInferResponse{
		ModelName:         req.ModelName,
		Outputs:           []*pb.ModelInferResponse_InferOutputTensor{{Name: "softmax_0.tmp_0", Datatype: "FP32", Shape: []int64{1, 2}}},
		RawOutputContents: [][]byte{raw[0][:8]},
	}, nil
}
