package grpcserver_test

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/grpcserver"
	"github.com/kserve-gen/kserve-gen/runtime/metrics"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

// benchClient serves the pass-through model as the server does (metrics on,
// bounded concurrency) over a loopback listener.
func benchClient(b *testing.B) pb.GRPCInferenceServiceClient {
	b.Helper()
	dp := dataplane.New(dataplane.Options{MaxConcurrency: 6, Metrics: metrics.New()})
	if err := dp.Register(newPassthrough("passthrough"), ""); err != nil {
		b.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpcserver.New(dp, grpcserver.Options{MaxThreads: 4})
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		conn.Close()
		_ = srv.Shutdown(context.Background())
	})
	return pb.NewGRPCInferenceServiceClient(conn)
}

// BenchmarkModelInfer_Small is the reference request (FP32 [1,4], typed
// contents), 16 calls in flight.
func BenchmarkModelInfer_Small(b *testing.B) {
	c := benchClient(b)
	req := &pb.ModelInferRequest{ModelName: "passthrough", Inputs: []*pb.ModelInferRequest_InferInputTensor{{
		Name: "input-0", Datatype: "FP32", Shape: []int64{1, 4}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1, 2, 3, 4}},
	}}}
	b.SetParallelism(8) // 8 × GOMAXPROCS(2) = 16 streams on this VM
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.ModelInfer(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkModelInfer_RawFP32_224 is one FP32 [1,3,224,224] image in raw
// contents, one call at a time: ns/op is the round-trip latency.
func BenchmarkModelInfer_RawFP32_224(b *testing.B) {
	c := benchClient(b)
	const n = 3 * 224 * 224
	raw := make([]byte, 0, 4*n)
	for i := range n {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(i%255)/255))
	}
	req := &pb.ModelInferRequest{ModelName: "passthrough",
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "input-0", Datatype: "FP32", Shape: []int64{1, 3, 224, 224}}},
		RawInputContents: [][]byte{raw}}
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.ModelInfer(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
