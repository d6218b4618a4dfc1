package client_test

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/grpcserver"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// codings records, per call, the grpc-encoding of the requests the server
// received and of the answers it sent.
type codings struct {
	mu       sync.Mutex
	requests []string
	answers  []string
}

func (c *codings) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (c *codings) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (c *codings) HandleConn(context.Context, stats.ConnStats) {}
func (c *codings) HandleRPC(_ context.Context, s stats.RPCStats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch s := s.(type) {
	case *stats.InHeader:
		c.requests = append(c.requests, s.Compression)
	case *stats.OutHeader:
		c.answers = append(c.answers, s.Compression)
	}
}

// WithGRPCGzip sends every call's request gzipped, which the server reads
// and answers uncompressed; without it nothing is compressed.
func TestGRPC_Gzip(t *testing.T) {
	m := &echo{name: "echo"}
	m.ready.Store(true)
	dp := dataplane.New(dataplane.Options{})
	require.NoError(t, dp.Register(m, ""))
	rec := &codings{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpcserver.New(dp, grpcserver.Options{Logger: slog.New(slog.DiscardHandler), ServerOptions: []grpc.ServerOption{grpc.StatsHandler(rec)}})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(func() { _ = gs.Shutdown(context.Background()) })

	in := infer.NewTensor("x", []int64{2, 2}, []float32{1.5, -2, 3.25, 0})
	req := &infer.Request{ModelName: "echo", ID: "g", Inputs: []*infer.Tensor{in}}
	gz, err := client.NewGRPC(lis.Addr().String(), client.WithGRPCGzip())
	require.NoError(t, err)
	defer gz.Close()
	for _, opts := range [][]client.InferOption{nil, {client.WithJSONData()}} {
		resp, err := gz.Infer(ctxT(t), req, opts...)
		require.NoError(t, err)
		require.Len(t, resp.Outputs, 1)
		sameData(t, in, resp.Outputs[0])
	}
	ready, err := gz.IsModelReady(ctxT(t), "echo")
	require.NoError(t, err)
	assert.True(t, ready)

	plain, err := client.NewGRPC(lis.Addr().String())
	require.NoError(t, err)
	defer plain.Close()
	_, err = plain.Infer(ctxT(t), req)
	require.NoError(t, err)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Equal(t, []string{"gzip", "gzip", "gzip", ""}, rec.requests)
	assert.Equal(t, []string{"identity", "identity", "identity", ""}, rec.answers)
}
