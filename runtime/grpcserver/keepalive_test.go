package grpcserver_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kserve-gen/kserve-gen/runtime/grpcserver"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

// A client that stops reading (a hung process, a stuck proxy) answers none
// of the server's keepalive pings: the server closes its connection, and
// whatever was queued on it, after KeepaliveTime + KeepaliveTimeout rather
// than grpc-go's two hours. Here the client talks through a proxy that,
// once told to hang, passes nothing more to the client and nothing to the
// server, and only notices when the server closes its side.
func TestHungClientConnectionIsClosed(t *testing.T) {
	f := start(t, grpcserver.Options{KeepaliveTime: time.Second, KeepaliveTimeout: 500 * time.Millisecond}, newPassthrough("passthrough"))

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { lis.Close() })
	hang := make(chan struct{})
	serverClosed := make(chan struct{})
	go func() {
		client, err := lis.Accept()
		if err != nil {
			return
		}
		defer client.Close()
		upstream, err := net.Dial("tcp", f.addr)
		if err != nil {
			return
		}
		defer upstream.Close()
		// Once it hears nothing, the client sends nothing either (no ping
		// acknowledgements, no window updates).
		go func() { _, _ = io.Copy(upstream, client) }()
		buf := make([]byte, 32<<10)
		for {
			n, err := upstream.Read(buf)
			if err != nil {
				close(serverClosed)
				return
			}
			select {
			case <-hang: // the client reads nothing more
			default:
				if _, err := client.Write(buf[:n]); err != nil {
					return
				}
			}
		}
	}()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = pb.NewGRPCInferenceServiceClient(conn).ServerLive(ctxT(t), &pb.ServerLiveRequest{})
	require.NoError(t, err)

	close(hang)
	select {
	case <-serverClosed:
	case <-time.After(15 * time.Second): // a hang guard, not a speed limit: grpc-go's default would wait 2 h
		t.Fatal("the server still holds the connection of a client that answers nothing")
	}
}
