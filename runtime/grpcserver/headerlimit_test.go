package grpcserver_test

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/kserve-gen/kserve-gen/runtime/grpcserver"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

// A call's metadata is held to KServe's grpcio limit, gRPC C core's
// default 16 KiB hard limit (DEFAULT_MAX_HEADER_LIST_SIZE), which its
// server advertises as SETTINGS_MAX_HEADER_LIST_SIZE. grpc-go's server
// took 16 MiB a stream, so a client holding many streams pinned
// megabytes of headers apiece. A grpc-go client (and grpcio's) reads the
// advertised limit and refuses to send a larger call, with the same error
// as against KServe; a client that sends it anyway has the stream reset.
func TestHeaderListSizeIsGrpciosHardLimit(t *testing.T) {
	f := start(t, grpcserver.Options{}, newPassthrough("passthrough"))
	req := &pb.ModelInferRequest{ModelName: "passthrough"}

	// Over grpcio's 8 KiB soft limit, where it rejects a share of calls
	// at random, but under the hard one: served, every time.
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "x-big", strings.Repeat("a", 12<<10))
	_, err := f.client.ModelInfer(ctx, req)
	require.NoError(t, err)

	ctx = metadata.AppendToOutgoingContext(ctxT(t), "x-big", strings.Repeat("a", 16<<10))
	_, err = f.client.ModelInfer(ctx, req)
	requireStatus(t, err, codes.Internal, "header list size to send violates the maximum size (16384 bytes) set by server")

	// A client that ignores the setting.
	conn, err := net.Dial("tcp", f.addr)
	require.NoError(t, err)
	defer conn.Close()
	// A bound on a broken server's silence, not a timing assertion.
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = conn.Write([]byte(http2.ClientPreface))
	require.NoError(t, err)
	fr := http2.NewFramer(conn, conn)
	require.NoError(t, fr.WriteSettings())

	first, err := fr.ReadFrame()
	require.NoError(t, err)
	settings, ok := first.(*http2.SettingsFrame)
	require.True(t, ok, "the server's preface is %T", first)
	size, ok := settings.Value(http2.SettingMaxHeaderListSize)
	assert.True(t, ok, "SETTINGS_MAX_HEADER_LIST_SIZE advertised")
	assert.Equal(t, uint32(16384), size)
	_, ok = settings.Value(http2.SettingMaxConcurrentStreams)
	assert.False(t, ok, "no stream limit, as grpcio advertises none")

	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, h := range [][2]string{
		{":method", "POST"}, {":scheme", "http"}, {":authority", f.addr},
		{":path", "/inference.GRPCInferenceService/ModelInfer"},
		{"content-type", "application/grpc"}, {"te", "trailers"},
		{"x-big", strings.Repeat("a", 16<<10)},
	} {
		require.NoError(t, enc.WriteField(hpack.HeaderField{Name: h[0], Value: h[1]}))
	}
	require.Less(t, block.Len(), 16384, "one HEADERS frame")
	require.NoError(t, fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true}))
	for {
		frame, err := fr.ReadFrame()
		require.NoError(t, err, "the server answers stream 1")
		if frame.Header().StreamID != 1 {
			continue // SETTINGS ACK, WINDOW_UPDATE, PING
		}
		rst, ok := frame.(*http2.RSTStreamFrame)
		require.True(t, ok, "stream 1 got %v, not RST_STREAM", frame)
		assert.Equal(t, http2.ErrCodeFrameSize, rst.ErrCode)
		return
	}
}
