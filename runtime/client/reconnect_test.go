package client_test

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

type liveServer struct {
	pb.UnimplementedGRPCInferenceServiceServer
}

func (liveServer) ServerLive(context.Context, *pb.ServerLiveRequest) (*pb.ServerLiveResponse, error) {
	return &pb.ServerLiveResponse{Live: true}, nil
}

// A call made once the server is back is served, not refused for as long
// as grpc-go's reconnect backoff lasts (up to two minutes after a long
// outage): a transformer whose predictor restarted answered 503 meanwhile.
func TestGRPC_ReconnectsAtOnceWhenTheServerIsBack(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close()) // nothing listens there now

	g, err := client.NewGRPC(addr, client.WithGRPCRetries(0))
	require.NoError(t, err)
	defer g.Close()
	_, err = g.IsServerLive(ctxT(t))
	require.Equal(t, status.KindUnavailable, status.KindOf(err), "server down: %v", err)

	lis, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := grpc.NewServer()
	pb.RegisterGRPCInferenceServiceServer(srv, liveServer{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	live, err := g.IsServerLive(ctxT(t))
	require.NoError(t, err, "server back")
	assert.True(t, live)
}

// A call whose retries ran out keeps the server's message, and says how
// many attempts were made, instead of grpc-go's wrapping of it ("max
// retries exhausted: failed after 3 attempts: rpc error: code = Unavailable
// desc = …").
func TestGRPC_RetriesExhaustedKeepTheMessage(t *testing.T) {
	m := &echo{name: "echo"}
	s := serve(t, m)
	g, err := client.NewGRPC(s.GRPCAddr, client.WithGRPCRetries(2))
	require.NoError(t, err)
	defer g.Close()
	_, err = g.Infer(ctxT(t), &infer.Request{ModelName: "echo", Parameters: infer.Parameters{"fail": int64(5)}, Inputs: tensors(true)[:1]})
	assert.Equal(t, status.KindUnavailable, status.KindOf(err))
	assert.Equal(t, "call 3 fails (3 attempts)", status.Message(err))
	assert.Equal(t, int64(3), m.calls.Load())
}
