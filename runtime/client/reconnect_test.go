package client_test

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/kserve-gen/kserve-gen/runtime/client"
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
