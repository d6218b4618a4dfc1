// Package grpcserver serves the Open Inference Protocol over gRPC on top of
// the shared dataplane.
package grpcserver

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
)

// Options configure the gRPC server.
type Options struct {
	MaxSendMessageLength    int // --grpc_max_send_message_length
	MaxReceiveMessageLength int // --grpc_max_receive_message_length
	MaxThreads              int // --max_threads
	Logger                  *slog.Logger
}

// Server is the gRPC transport.
type Server struct {
	dp   *dataplane.Dataplane
	opts Options
}

// New returns a gRPC transport over dp.
func New(dp *dataplane.Dataplane, opts Options) *Server { return &Server{dp: dp, opts: opts} }

// Serve accepts connections on lis until Shutdown.
func (s *Server) Serve(lis net.Listener) error {
	return errors.New("grpcserver: not implemented yet")
}

// Shutdown stops accepting, drains in-flight RPCs until ctx ends, then stops.
func (s *Server) Shutdown(ctx context.Context) error { return nil }
