// Package grpcserver serves the Open Inference Protocol over gRPC
// (inference.GRPCInferenceService) on top of the shared dataplane, with the
// standard grpc.health.v1 Health service and server reflection, so that
// grpcurl and grpc_health_probe work without a proto file.
//
// It follows KServe's Python gRPC server (contract §2) except where KServe is
// buggy: every error carries its message, and a model that is not ready
// answers UNAVAILABLE instead of being loaded inline.
package grpcserver

import (
	"context"
	"log/slog"
	"math"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
)

// DefaultMaxMessageLength is KServe's default for
// --grpc_max_send_message_length and --grpc_max_receive_message_length.
const DefaultMaxMessageLength = 8 << 20

// Options configure the gRPC server.
type Options struct {
	// MaxSendMessageLength and MaxReceiveMessageLength bound message sizes
	// (--grpc_max_send_message_length, --grpc_max_receive_message_length);
	// larger messages fail with RESOURCE_EXHAUSTED. 0 means KServe's 8 MiB
	// default, -1 means no limit.
	MaxSendMessageLength    int
	MaxReceiveMessageLength int
	// MaxThreads is --max_threads: the number of long-lived goroutines
	// grpc-go keeps to run RPCs (grpc.NumStreamWorkers), which saves a
	// goroutine start per call. It does not limit concurrency: RPCs beyond
	// it get their own goroutine, and model calls are bounded by the
	// dataplane (--max_asyncio_workers). 0 disables the pool.
	MaxThreads int
	// Logger receives per-call debug lines and internal errors; nil uses slog.Default().
	Logger *slog.Logger
	// HealthPollInterval is how often a health Watch re-checks readiness
	// between load/unload events (a model's Ready may change by itself).
	// 0 means one second.
	HealthPollInterval time.Duration
	// ServerOptions are extra grpc-go options (TLS credentials, keepalive, …).
	ServerOptions []grpc.ServerOption
}

// Server is the gRPC transport.
type Server struct {
	dp     *dataplane.Dataplane
	opts   Options
	log    *slog.Logger
	grpc   *grpc.Server
	health *healthService

	quitOnce sync.Once
	quit     chan struct{}
}

// New returns a gRPC transport over dp with the inference, health and
// reflection services registered.
func New(dp *dataplane.Dataplane, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HealthPollInterval <= 0 {
		opts.HealthPollInterval = time.Second
	}
	s := &Server{dp: dp, opts: opts, log: opts.Logger, quit: make(chan struct{})}
	s.health = newHealthService(dp, opts.HealthPollInterval, s.quit)

	sopts := []grpc.ServerOption{
		grpc.MaxSendMsgSize(messageLimit(opts.MaxSendMessageLength)),
		grpc.MaxRecvMsgSize(messageLimit(opts.MaxReceiveMessageLength)),
		grpc.ChainUnaryInterceptor(s.logCall),
	}
	if opts.MaxThreads > 0 {
		sopts = append(sopts, grpc.NumStreamWorkers(uint32(opts.MaxThreads)))
	}
	sopts = append(sopts, opts.ServerOptions...)
	s.grpc = grpc.NewServer(sopts...)
	pb.RegisterGRPCInferenceServiceServer(s.grpc, &service{dp: dp, log: s.log, health: s.health, maxSend: messageLimit(opts.MaxSendMessageLength)})
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	return s
}

func messageLimit(n int) int {
	switch {
	case n == 0:
		return DefaultMaxMessageLength
	case n < 0:
		return math.MaxInt32
	}
	return n
}

// GRPCServer returns the underlying grpc.Server, to register more services
// before Serve.
func (s *Server) GRPCServer() *grpc.Server { return s.grpc }

// Serve accepts connections on lis until Shutdown; it returns nil after
// Shutdown.
func (s *Server) Serve(lis net.Listener) error { return s.grpc.Serve(lis) }

// drainSettle is how long Shutdown still waits, once ctx has ended, for a
// drain that has nothing left to wait for to finish by itself.
const drainSettle = 50 * time.Millisecond

// Shutdown stops accepting, reports NOT_SERVING to health watchers and ends
// their streams, drains in-flight RPCs until ctx ends, then closes every
// connection. It returns ctx's error when draining did not finish in time
// (and connections were closed on RPCs or clients still there).
func (s *Server) Shutdown(ctx context.Context) error {
	s.quitOnce.Do(func() { close(s.quit) })
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	// A drain that finishes as ctx ends is not a timeout. With nothing in
	// flight GracefulStop takes microseconds (a round trip to each idle
	// client), which a zero grace period would otherwise never give it.
	select {
	case <-done:
		return nil
	case <-time.After(drainSettle):
	}
	s.grpc.Stop()
	<-done
	return ctx.Err()
}

// logCall writes KServe's per-call line "grpc method: <full method>" at
// DEBUG (KServe logs it at INFO; at thousands of calls a second that line
// would cost more than the call). Enable it with KSERVE_LOGLEVEL=DEBUG.
func (s *Server) logCall(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.LogAttrs(ctx, slog.LevelDebug, "grpc method: "+info.FullMethod)
	}
	return handler(ctx, req)
}
