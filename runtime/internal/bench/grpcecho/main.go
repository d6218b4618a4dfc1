// Command grpcecho is the floor for gRPC benchmarks: a bare grpc-go server
// whose /inference.GRPCInferenceService/ModelInfer handler returns the
// request's bytes unchanged, with no protobuf decoding, no model and no
// dataplane. A ModelInferRequest's bytes decode as a valid
// ModelInferResponse (model_name, id and the tensors share field numbers),
// so load generators see a well-formed answer. scripts/bench-grpc.sh runs it
// beside examples/passthrough to measure what the runtime adds.
//
//	go run ./internal/bench/grpcecho -addr 127.0.0.1:9081
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// rawCodec passes message bytes through untouched.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	// grpc-go may reuse data after Unmarshal returns; keep a copy.
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

var _ encoding.Codec = rawCodec{}

func echo(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	var b []byte
	if err := dec(&b); err != nil {
		return nil, err
	}
	return &b, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9081", "listen address")
	flag.Parse()
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.MaxRecvMsgSize(8<<20), grpc.MaxSendMsgSize(8<<20))
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: "inference.GRPCInferenceService",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "ModelInfer", Handler: echo}},
	}, struct{}{})
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		s.Stop()
	}()
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
