package grpcserver_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/grpcserver"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

// A server with nothing to drain shuts down cleanly even when ctx has
// already ended (--grace_period=0): that is no timeout.
func TestShutdown_NothingToDrainIsNoTimeout(t *testing.T) {
	for range 10 {
		dp := dataplane.New(dataplane.Options{MaxConcurrency: 1})
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		srv := grpcserver.New(dp, grpcserver.Options{})
		served := make(chan error, 1)
		go func() { served <- srv.Serve(lis) }()
		// Serving for sure: a client got an answer (and has left).
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		_, err = pb.NewGRPCInferenceServiceClient(conn).ServerLive(ctxT(t), &pb.ServerLiveRequest{})
		require.NoError(t, err)
		require.NoError(t, conn.Close())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.NoError(t, srv.Shutdown(ctx))
		require.NoError(t, <-served)
	}
}

// When ctx ends with a call still in the model, Shutdown closes its
// connection and says the drain did not finish.
func TestShutdown_ClosesWhatIsLeftWhenCtxEnds(t *testing.T) {
	g := &gate{started: make(chan struct{}), release: make(chan struct{})}
	defer close(g.release)
	f := start(t, grpcserver.Options{}, g)
	errc := make(chan error, 1)
	go func() {
		_, err := f.client.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "gate"})
		errc <- err
	}()
	<-g.started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, f.srv.Shutdown(ctx), context.DeadlineExceeded)
	assert.Equal(t, codes.Unavailable, grpcstatus.Code(<-errc))
}
