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
	"fmt"
	"log/slog"
	"math"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/status"
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
	// KeepaliveTime is how long a connection may send the server nothing
	// before the server pings it, and KeepaliveTimeout how long it then
	// waits for any frame before it closes the connection. A client that
	// has stopped reading (a hung process, a stuck proxy) answers no ping,
	// so its connection, and the answers queued on it, go within their
	// sum; with grpc-go's defaults (2 h and 20 s) they stayed for over two
	// hours. A healthy client's library answers pings by itself, however
	// long its call runs. 0 means DefaultKeepaliveTime and
	// DefaultKeepaliveTimeout; grpc-go raises a time under 1 s to 1 s.
	KeepaliveTime, KeepaliveTimeout time.Duration
	// HandshakeTimeout is how long a new connection has to finish its TLS
	// and HTTP/2 handshake (a gRPC client sends its preface at once); the
	// server passes --read_header_timeout, REST's limit on a client that
	// connects and sends nothing. grpc-go's default, and grpcio's (KServe),
	// is 120 s, for which a client that opens connections and stays silent
	// holds each one, a goroutine and a file descriptor. 0 leaves it.
	HandshakeTimeout time.Duration
	// ServerOptions are extra grpc-go options (TLS credentials, …); they
	// come after the server's own, so a grpc.KeepaliveParams here wins.
	ServerOptions []grpc.ServerOption
}

// Keepalive defaults: a connection that answers nothing is closed within
// 50 s, for a ping per half minute on an idle connection.
const (
	DefaultKeepaliveTime    = 30 * time.Second
	DefaultKeepaliveTimeout = 20 * time.Second
)

// Server is the gRPC transport.
type Server struct {
	dp     *dataplane.Dataplane
	opts   Options
	log    *slog.Logger
	grpc   *grpc.Server
	health *healthService
	// maxSend is --grpc_max_send_message_length, resolved (messageLimit).
	maxSend int

	quitOnce sync.Once
	quit     chan struct{}
}

// MaxHeaderListSize is the most metadata a call may carry, in HTTP/2's
// measure (each field's name and value plus 32 bytes): gRPC C core's
// DEFAULT_MAX_HEADER_LIST_SIZE, which KServe's grpcio server advertises
// and enforces. Options.ServerOptions may set another
// (grpc.MaxHeaderListSize).
const MaxHeaderListSize = 16 << 10

// New returns a gRPC transport over dp with the inference, health and
// reflection services registered.
func New(dp *dataplane.Dataplane, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HealthPollInterval <= 0 {
		opts.HealthPollInterval = time.Second
	}
	if opts.KeepaliveTime <= 0 {
		opts.KeepaliveTime = DefaultKeepaliveTime
	}
	if opts.KeepaliveTimeout <= 0 {
		opts.KeepaliveTimeout = DefaultKeepaliveTimeout
	}
	s := &Server{dp: dp, opts: opts, log: opts.Logger, quit: make(chan struct{}), maxSend: messageLimit(opts.MaxSendMessageLength)}
	s.health = newHealthService(dp, opts.HealthPollInterval, s.quit)

	sopts := []grpc.ServerOption{
		// The send limit is not grpc-go's, which holds every service to it:
		// limitUnary and limitStream apply it to all but reflection, whose
		// answers are the service descriptors (grpc_predict_v2.proto's is
		// about 4.3 KB), so grpcurl works under a small limit too.
		grpc.MaxSendMsgSize(math.MaxInt32),
		grpc.MaxRecvMsgSize(messageLimit(opts.MaxReceiveMessageLength)),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: opts.KeepaliveTime, Timeout: opts.KeepaliveTimeout}),
		// KServe's grpcio server holds a call's metadata to gRPC C core's
		// 16 KiB hard limit and advertises it, so clients refuse larger
		// calls before sending them; grpc-go's default, 16 MiB a stream,
		// let a client pin megabytes of headers on each of its streams.
		// Streams stay unlimited in number, as grpcio leaves them.
		grpc.MaxHeaderListSize(MaxHeaderListSize),
		grpc.ChainUnaryInterceptor(s.logCall), // and limitUnary
		grpc.ChainStreamInterceptor(s.limitStream),
		// A request that does not decode is logged and counted
		// (refusedRequest), which grpc-go leaves to no code of ours.
		grpc.ForceServerCodecV2(newRequestCodec(s.refusedRequest)),
	}
	if opts.MaxThreads > 0 {
		sopts = append(sopts, grpc.NumStreamWorkers(uint32(opts.MaxThreads)))
	}
	if opts.HandshakeTimeout > 0 {
		sopts = append(sopts, grpc.ConnectionTimeout(opts.HandshakeTimeout))
	}
	sopts = append(sopts, opts.ServerOptions...)
	s.grpc = grpc.NewServer(sopts...)
	// The services' unary methods report a message grpc-go refuses
	// (watchReceive); pb.RegisterGRPCInferenceServiceServer and
	// healthpb.RegisterHealthServer register the descriptors as generated.
	s.grpc.RegisterService(s.watchReceive(&pb.GRPCInferenceService_ServiceDesc), &service{dp: dp, log: s.log, health: s.health, maxSend: s.maxSend})
	s.grpc.RegisterService(s.watchReceive(&healthpb.Health_ServiceDesc), s.health)
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

// limitUnary refuses an answer over --grpc_max_send_message_length with
// grpc-go's own status, measuring the message uncompressed as KServe's
// server does. ModelInfer checks its answer itself, naming the flag and
// counting the failure in its metrics.
func (s *Server) limitUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil || info.FullMethod == pb.GRPCInferenceService_ModelInfer_FullMethodName {
		return resp, err
	}
	if err := checkSize(resp, s.maxSend); err != nil {
		return nil, err
	}
	return resp, nil
}

// limitStream holds every stream's messages but reflection's to
// --grpc_max_send_message_length (limitUnary), reports a message grpc-go
// refuses (recvStream), and answers a compressed stream uncompressed
// (answerUncompressed).
func (s *Server) limitStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	answerUncompressed(ss.Context())
	rs := &recvStream{ServerStream: ss, s: s, method: info.FullMethod}
	if strings.HasPrefix(info.FullMethod, "/grpc.reflection.") {
		return clipStatus(handler(srv, rs))
	}
	return clipStatus(handler(srv, &limitedStream{ServerStream: rs, max: s.maxSend}))
}

// maxStatusMessage bounds an error's status message as the grpc-message
// trailer carries it, percent-encoded (grpc-go's encodeGrpcMessage): a
// byte outside printable ASCII, or '%', takes three, and a byte that is
// not UTF-8 nine (it goes out as U+FFFD). Clients bound the trailers they
// take (grpc-go at 16 MiB; gRPC's C core, under Python's and C++'s
// clients, refuses some over 8 KiB and all over 16 KiB by default), and
// grpc-go's refuses more by closing the connection, every call on it
// failing UNAVAILABLE; messages echo what a request held (names, shapes,
// values), which a request of megabytes makes megabytes long.
const maxStatusMessage = 4 << 10

// clipStatus cuts err's status message to maxStatusMessage, at a UTF-8
// character, saying how long it was. The beginning, which names the fault
// and where it is, is kept.
func clipStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := grpcstatus.FromError(err)
	if !ok {
		return err
	}
	msg := st.Message()
	if 9*len(msg) <= maxStatusMessage {
		return err // fits, however it is encoded
	}
	size := 0
	for i := 0; i < len(msg); {
		r, n := utf8.DecodeRuneInString(msg[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			size += 9 // sent as U+FFFD, three bytes percent-encoded
		case n > 1 || r < ' ' || r > '~' || r == '%':
			size += 3 * n
		default:
			size++
		}
		if size > maxStatusMessage {
			p := st.Proto()
			p.Message = fmt.Sprintf("%s … (cut; the message has %d bytes)", msg[:i], len(msg))
			return grpcstatus.ErrorProto(p)
		}
		i += n
	}
	return err
}

type limitedStream struct {
	grpc.ServerStream
	max int
}

func (l *limitedStream) SendMsg(m any) error {
	if err := checkSize(m, l.max); err != nil {
		return err
	}
	return l.ServerStream.SendMsg(m)
}

// checkSize refuses a message over limit bytes (uncompressed) with
// grpc-go's own answer to a message over its send limit.
func checkSize(m any, limit int) error {
	if pm, ok := m.(proto.Message); ok {
		if n := proto.Size(pm); n > limit {
			return grpcstatus.Errorf(codes.ResourceExhausted, "trying to send message larger than max (%d vs. %d)", n, limit)
		}
	}
	return nil
}

// logCall writes KServe's per-call line "grpc method: <full method>" at
// DEBUG (KServe logs it at INFO; at thousands of calls a second that line
// would cost more than the call). Enable it with KSERVE_LOGLEVEL=DEBUG.
//
// It answers a compressed call uncompressed, as KServe does
// (answerUncompressed).
//
// It also recovers a panic of the handler: grpc-go does not, and model code
// runs in more handlers than ModelInfer (whose pipeline recovers its own),
// a Ready or InputsMetadata among them. The call is answered INTERNAL
// "panic : <value>", logged with the stack, counted in the metrics when it
// is an inference, and the server serves on.
func (s *Server) logCall(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp = nil
			pe := status.Panic("gRPC method "+info.FullMethod, p, debug.Stack())
			s.log.ErrorContext(ctx, fmt.Sprintf("Internal server error: %s, grpc_method: %s", pe, info.FullMethod)+status.PanicStack(pe))
			err = grpcstatus.Error(codes.Internal, pe.Message)
			if m, ok := req.(*pb.ModelInferRequest); ok {
				// ModelInfer counts its own failures, on its way out; one
				// that panicked outside the pipeline (in encoding the
				// answer, or the model's error) never got there, and
				// kserve_request_errors_total would miss it. Here, not in
				// a defer of ModelInfer's: the hot path pays nothing.
				s.dp.Record(m.GetModelName(), infer.ProtocolGRPCV2, dataplane.Predict, proto.Size(m), -1, codes.Internal.String())
			}
		}
		err = clipStatus(err)
	}()
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.LogAttrs(ctx, slog.LevelDebug, "grpc method: "+info.FullMethod)
	}
	answerUncompressed(ctx)
	// One interceptor rather than a chain of two: grpc-go builds a
	// closure per link on every call.
	return s.limitUnary(ctx, req, info, handler)
}
