package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	// Also registers gzip in grpc-go's process-wide registry, grpc-go's
	// way of installing a compressor, for WithGRPCGzip.
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/capool"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/pb/pbconv"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// GRPCOption configures a GRPCClient.
type GRPCOption func(*grpcConfig) error

type grpcConfig struct {
	creds    credentials.TransportCredentials
	useTLS   bool
	tls      *tls.Config
	timeout  time.Duration
	retries  int
	maxSend  int
	maxRecv  int
	gzip     bool // WithGRPCGzip
	onRetry  RetryObserver
	dialOpts []grpc.DialOption
}

// WithTLS uses TLS with cfg (nil: system roots). The default is plaintext (h2c).
func WithTLS(cfg *tls.Config) GRPCOption {
	return func(c *grpcConfig) error {
		c.useTLS = true
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		c.tls = cfg
		return nil
	}
}

// WithTLSFiles uses TLS with PEM files, like KServe's root_certificates,
// private_key and certificate_chain: rootCA verifies the server (empty:
// system roots); certChain and key, when both given, authenticate the client.
func WithTLSFiles(rootCA, key, certChain string) GRPCOption {
	return func(c *grpcConfig) error {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if rootCA != "" {
			pool, err := capool.Load(rootCA)
			if errors.Is(err, capool.ErrNoCertificate) {
				return fmt.Errorf("root certificates %w", err) // "root certificates FILE: no PEM ..."
			}
			if err != nil {
				return fmt.Errorf("read root certificates: %w", err)
			}
			cfg.RootCAs = pool
		}
		if (key == "") != (certChain == "") {
			return errors.New("client TLS needs both a private key and a certificate chain")
		}
		if key != "" {
			cert, err := tls.LoadX509KeyPair(certChain, key)
			if err != nil {
				// Both files named: crypto/tls's errors name neither ("tls:
				// private key does not match public key").
				return fmt.Errorf("load client certificate (certificate chain %s, private key %s): %w", certChain, key, err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		c.useTLS, c.tls = true, cfg
		return nil
	}
}

// WithCredentials uses explicit transport credentials (KServe's creds).
func WithCredentials(creds credentials.TransportCredentials) GRPCOption {
	return func(c *grpcConfig) error { c.creds = creds; return nil }
}

// WithGRPCTimeout bounds each call (default DefaultTimeout; 0: no bound).
func WithGRPCTimeout(d time.Duration) GRPCOption {
	return func(c *grpcConfig) error { c.timeout = d; return nil }
}

// WithGRPCRetries sets how many times a call failing with UNAVAILABLE is
// retried, with exponential backoff from 0.1 s to 1 s (default
// DefaultRetries). As grpc-go caps a call at 5 attempts, at most 4 retries
// apply. 0 disables retries.
//
// Infer retries in its own loop, with the REST client's backoff, so that
// each retry can be observed (WithGRPCRetryObserver) and a retry waits for
// a fresh connection as a first attempt does; the other calls retry
// through the channel's retry policy (grpc-go's, which retries invisibly).
// Both honour the server's grpc-retry-pushback-ms as gRPC's retry design
// (A6) says: a wait of that many milliseconds in place of the backoff, or,
// negative or not a number, no retry.
func WithGRPCRetries(n int) GRPCOption {
	return func(c *grpcConfig) error {
		if n < 0 {
			return fmt.Errorf("retries must be >= 0, got %d", n)
		}
		c.retries = n
		return nil
	}
}

// WithGRPCRetryObserver has fn told of each retry of Infer as it is made
// (see RetryObserver).
func WithGRPCRetryObserver(fn RetryObserver) GRPCOption {
	return func(c *grpcConfig) error { c.onRetry = fn; return nil }
}

// WithMaxMessageSize bounds sent and received messages in bytes (default:
// unlimited, as KServe's client).
func WithMaxMessageSize(send, recv int) GRPCOption {
	return func(c *grpcConfig) error { c.maxSend, c.maxRecv = send, recv; return nil }
}

// WithGRPCGzip compresses every call's request message with gzip
// (grpc-encoding: gzip): fewer bytes for a large request over a slow link,
// for some CPU on both ends. kserve-gen's server, KServe's (grpcio) and
// Triton's read such messages. Binary tensor data (the default, raw
// contents) compresses little. Answers come as the server sends them:
// kserve-gen's and KServe's send them uncompressed; another server's gzip
// answer is read too.
func WithGRPCGzip() GRPCOption {
	return func(c *grpcConfig) error { c.gzip = true; return nil }
}

// WithAuthority sends host as the HTTP/2 :authority (the Host an ingress
// routes on, KServe's SERVICE_HOSTNAME) and, with TLS, as the server name
// checked against the certificate.
func WithAuthority(host string) GRPCOption {
	return func(c *grpcConfig) error {
		if host != "" {
			c.dialOpts = append(c.dialOpts, grpc.WithAuthority(host))
		}
		return nil
	}
}

// WithDialOptions adds grpc-go dial options (interceptors, keepalive,
// authority override, …). A service config given here replaces the retry policy.
func WithDialOptions(opts ...grpc.DialOption) GRPCOption {
	return func(c *grpcConfig) error { c.dialOpts = append(c.dialOpts, opts...); return nil }
}

// GRPCClient is KServe's InferenceGRPCClient: the Open Inference Protocol
// over one gRPC channel. It is safe for concurrent use.
type GRPCClient struct {
	conn    *grpc.ClientConn
	stub    pb.GRPCInferenceServiceClient
	target  string
	timeout time.Duration
	retries int // Infer's, at most maxGRPCAttempts-1
	onRetry RetryObserver
}

// maxGRPCAttempts is grpc-go's cap on a call's attempts under a retry
// policy, which Infer's own retries keep to.
const maxGRPCAttempts = 5

// NewGRPC returns a client for target ("host:port", or any grpc-go target
// such as "dns:///host:port"). Like KServe, a target without a port gets
// :443 with TLS and :80 without. No connection is made until the first call.
func NewGRPC(target string, opts ...GRPCOption) (*GRPCClient, error) {
	c := grpcConfig{timeout: DefaultTimeout, retries: DefaultRetries, maxSend: math.MaxInt32, maxRecv: math.MaxInt32}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if target == "" {
		return nil, errors.New("grpc client: empty target")
	}
	target = withDefaultPort(target, c.useTLS || c.creds != nil)
	creds := c.creds
	if creds == nil {
		if c.useTLS {
			creds = credentials.NewTLS(c.tls)
		} else {
			creds = insecure.NewCredentials()
		}
	}
	callOpts := []grpc.CallOption{grpc.MaxCallSendMsgSize(c.maxSend), grpc.MaxCallRecvMsgSize(c.maxRecv)}
	if c.gzip {
		callOpts = append(callOpts, grpc.UseCompressor(gzip.Name))
	}
	dopts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(callOpts...),
	}
	if c.retries > 0 {
		dopts = append(dopts, grpc.WithDefaultServiceConfig(retryServiceConfig(c.retries)))
	} else {
		dopts = append(dopts, grpc.WithDisableRetry())
	}
	dopts = append(dopts, c.dialOpts...)
	conn, err := grpc.NewClient(target, dopts...)
	if err != nil {
		return nil, fmt.Errorf("grpc client for %s: %w", target, err)
	}
	return &GRPCClient{conn: conn, stub: pb.NewGRPCInferenceServiceClient(conn), target: target, timeout: c.timeout,
		retries: min(c.retries, maxGRPCAttempts-1), onRetry: c.onRetry}, nil
}

// withDefaultPort appends :443 (TLS) or :80 to a host without a port, as
// KServe's client does; grpc-go targets with a scheme are left alone.
func withDefaultPort(target string, tls bool) string {
	if strings.Contains(target, "://") || strings.HasPrefix(target, "unix:") {
		return target
	}
	if _, _, err := net.SplitHostPort(target); err == nil {
		return target
	}
	if tls {
		return target + ":443"
	}
	return target + ":80"
}

// retryServiceConfig is KServe's client retry policy, applied to every
// method of the inference service but ModelInfer, which Infer retries
// itself (grpc-go's retries cannot be observed one by one): grpc-go takes
// the configuration naming the method over the service's.
func retryServiceConfig(retries int) string {
	return fmt.Sprintf(`{"methodConfig":[{"name":[{"service":"inference.GRPCInferenceService"}],"retryPolicy":{`+
		`"maxAttempts":%d,"initialBackoff":"0.1s","maxBackoff":"1s","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}},`+
		`{"name":[{"service":"inference.GRPCInferenceService","method":"ModelInfer"}]}]}`,
		min(retries+1, maxGRPCAttempts))
}

// Conn returns the underlying channel (for other services such as health).
func (c *GRPCClient) Conn() *grpc.ClientConn { return c.conn }

// Close closes the channel.
func (c *GRPCClient) Close() error { return c.conn.Close() }

// rpc is one call: the caller's context and the one bounded by the
// client's timeout that the call runs with.
type rpc struct {
	name    string // "ModelInfer to host:port"
	caller  context.Context
	ctx     context.Context
	timeout time.Duration
}

// begin prepares a call of method under timeout d (0: the client's);
// cancel releases its context, after fail has looked at it.
func (c *GRPCClient) begin(ctx context.Context, method string, d time.Duration) (r rpc, cancel context.CancelFunc) {
	if d == 0 {
		d = c.timeout
	}
	c.reconnect(ctx)
	r = rpc{name: method + " to " + c.target, caller: ctx, ctx: ctx, timeout: d}
	if d <= 0 {
		return r, func() {}
	}
	r.ctx, cancel = context.WithTimeout(ctx, d)
	return r, cancel
}

// reconnectWait is how long a call waits for a fresh connection attempt
// when the last one failed: a server that is back accepts on loopback or in
// a cluster within milliseconds; one still down costs its callers this much
// more before they are told so.
const reconnectWait = 250 * time.Millisecond

// reconnect tries to connect now when the last connection attempt failed,
// and waits for it (at most reconnectWait, or ctx). Otherwise grpc-go
// refuses every call until its reconnect backoff ends, which grows to two
// minutes during a long outage, even once the server is back (its state
// stays TRANSIENT_FAILURE until a connection succeeds): a transformer kept
// answering 503, and failing its predictor health check, for that long
// after its predictor restarted.
func (c *GRPCClient) reconnect(ctx context.Context) {
	if c.conn.GetState() != connectivity.TransientFailure {
		return
	}
	c.conn.ResetConnectBackoff()
	wctx, cancel := context.WithTimeout(ctx, reconnectWait)
	defer cancel()
	for st := c.conn.GetState(); st == connectivity.TransientFailure || st == connectivity.Connecting; st = c.conn.GetState() {
		if !c.conn.WaitForStateChange(wctx, st) {
			return
		}
	}
}

// Infer sends req (a v2 request: typed Inputs) to the model req.ModelName.
// Inputs travel in raw_input_contents unless WithJSONData asks for typed
// contents. Errors keep the server's message and map back to status kinds
// (NOT_FOUND → KindModelNotFound, UNAVAILABLE → KindUnavailable, …).
func (c *GRPCClient) Infer(ctx context.Context, req *infer.Request, opts ...InferOption) (*infer.Response, error) {
	if req == nil || req.Protocol == infer.ProtocolV1 && len(req.Inputs) == 0 {
		return nil, status.InvalidInput("Invalid input format: gRPC needs a v2 request with typed inputs")
	}
	o := newCallOptions(opts)
	m, err := pbconv.FromRequest(req, !o.jsonData)
	if err != nil {
		return nil, err
	}
	call, cancel := c.begin(ctx, "ModelInfer", o.timeout)
	defer cancel()
	ctx = call.ctx
	if len(o.headers) != 0 {
		ctx = metadata.NewOutgoingContext(ctx, outgoingMD(ctx, o.headers))
	}
	var callOpts []grpc.CallOption
	var header metadata.MD
	if o.respHeaders != nil {
		callOpts = append(callOpts, grpc.Header(&header))
	}
	var trailer metadata.MD
	if c.retries > 0 {
		// For a retry, the wait an overloaded server asks for
		// (grpc-retry-pushback-ms), as grpc-go's retry policy honours it.
		callOpts = append(callOpts, grpc.Trailer(&trailer))
	}
	var resp *pb.ModelInferResponse
	attempt := 0
	for ; ; attempt++ {
		// grpc-go fills the trailer only when an attempt reached the server:
		// an attempt that failed to connect must not wait the pushback an
		// earlier attempt was given.
		trailer = nil
		resp, err = c.stub.ModelInfer(ctx, m, callOpts...)
		if err == nil || attempt >= c.retries || grpcstatus.Code(err) != codes.Unavailable {
			break
		}
		wait := backoff(attempt)
		if ms := trailer.Get("grpc-retry-pushback-ms"); len(ms) != 0 {
			n, e := strconv.Atoi(ms[0])
			if len(ms) > 1 || e != nil || n < 0 {
				// A pushback that is negative, not a number, or given more
				// than once is the server asking not to be retried (gRPC's
				// retry design, A6), as grpc-go's retry policy reads it
				// (clientStream.shouldRetry): its UNAVAILABLE is the answer.
				break
			}
			wait = min(time.Duration(n)*time.Millisecond, maxRetryAfter)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			// As grpc-go ends a retry cut short by the call's context.
			err = grpcstatus.FromContextError(ctx.Err()).Err()
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
		// A server that went away leaves the channel in
		// TRANSIENT_FAILURE, where the retry would fail at once.
		c.reconnect(ctx)
		if c.onRetry != nil {
			c.onRetry(attempt+1, call.fail(err))
		}
	}
	if o.respHeaders != nil {
		*o.respHeaders = headersFromMD(header)
	}
	if err != nil {
		err = call.fail(err)
		if attempt > 0 && attempt >= c.retries && status.KindOf(err) == status.KindUnavailable {
			err = withAttempts(err, attempt+1) // retries ran out, as grpc-go's wrapping says (statusMessage)
		}
		return nil, err
	}
	return pbconv.Response(resp)
}

func outgoingMD(ctx context.Context, h http.Header) metadata.MD {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	for k, v := range h {
		md.Append(strings.ToLower(k), v...)
	}
	return md
}

func headersFromMD(md metadata.MD) http.Header {
	h := make(http.Header, len(md))
	for k, v := range md {
		h[textproto.CanonicalMIMEHeaderKey(k)] = v
	}
	return h
}

// IsServerLive calls ServerLive.
func (c *GRPCClient) IsServerLive(ctx context.Context) (bool, error) {
	call, cancel := c.begin(ctx, "ServerLive", 0)
	defer cancel()
	r, err := c.stub.ServerLive(call.ctx, &pb.ServerLiveRequest{})
	if err != nil {
		return false, call.fail(err)
	}
	return r.GetLive(), nil
}

// IsServerReady calls ServerReady.
func (c *GRPCClient) IsServerReady(ctx context.Context) (bool, error) {
	call, cancel := c.begin(ctx, "ServerReady", 0)
	defer cancel()
	r, err := c.stub.ServerReady(call.ctx, &pb.ServerReadyRequest{})
	if err != nil {
		return false, call.fail(err)
	}
	return r.GetReady(), nil
}

// IsModelReady calls ModelReady; an unknown model is a KindModelNotFound error.
func (c *GRPCClient) IsModelReady(ctx context.Context, name string) (bool, error) {
	call, cancel := c.begin(ctx, "ModelReady", 0)
	defer cancel()
	r, err := c.stub.ModelReady(call.ctx, &pb.ModelReadyRequest{Name: name})
	if err != nil {
		return false, call.fail(err)
	}
	return r.GetReady(), nil
}

// ServerMetadata calls ServerMetadata.
func (c *GRPCClient) ServerMetadata(ctx context.Context) (*pb.ServerMetadataResponse, error) {
	call, cancel := c.begin(ctx, "ServerMetadata", 0)
	defer cancel()
	r, err := c.stub.ServerMetadata(call.ctx, &pb.ServerMetadataRequest{})
	return r, call.fail(err)
}

// ModelMetadata calls ModelMetadata.
func (c *GRPCClient) ModelMetadata(ctx context.Context, name string) (*pb.ModelMetadataResponse, error) {
	call, cancel := c.begin(ctx, "ModelMetadata", 0)
	defer cancel()
	r, err := c.stub.ModelMetadata(call.ctx, &pb.ModelMetadataRequest{Name: name})
	return r, call.fail(err)
}

// WaitForModelReady polls ModelReady every interval until the model is
// ready or ctx ends; unknown-model and unreachable-server answers count as
// not ready yet. It returns ctx's error, wrapped with the last answer, when
// the model did not become ready in time.
func (c *GRPCClient) WaitForModelReady(ctx context.Context, name string, interval time.Duration) error {
	return waitReady(ctx, interval, func(ctx context.Context) (bool, error) { return c.IsModelReady(ctx, name) })
}

func waitReady(ctx context.Context, interval time.Duration, check func(context.Context) (bool, error)) error {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	last := errors.New("no answer")
	for {
		ready, err := check(ctx)
		if err == nil && ready {
			return nil
		}
		switch {
		case err == nil:
			last = errors.New("not ready")
		case ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled):
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last answer: %v)", ctx.Err(), last)
		case <-t.C:
		}
	}
}

// fail turns the call's error into a status.Error. A call that ended
// because a context did says so (contextError); otherwise the error has the
// kind matching the gRPC code and the server's message, and the gRPC status
// stays reachable through errors.As / grpc status.FromError.
func (r rpc) fail(err error) error {
	if err == nil {
		return nil
	}
	st, ok := grpcstatus.FromError(err)
	if !ok {
		return err
	}
	var k status.Kind
	switch st.Code() {
	case codes.InvalidArgument:
		k = status.KindInvalidInput
	case codes.NotFound:
		k = status.KindModelNotFound
	case codes.Unavailable:
		k = status.KindUnavailable
	case codes.Unimplemented:
		k = status.KindNotImplemented
	case codes.ResourceExhausted:
		k = status.KindPayloadTooLarge
	case codes.DeadlineExceeded, codes.Canceled:
		// ended, not ctx.Err(): a server resets the stream (CANCEL) when the
		// deadline the call sent it passes, and that can arrive before our
		// own timer has fired.
		if ended(r.ctx) {
			return contextError(r.name, r.caller, r.timeout, err)
		}
		// The server's answer, with our contexts alive: a deadline of its
		// own passed (a transformer's predictor did not answer in time),
		// or it cancelled the call.
		k = status.KindInternal
		if st.Code() == codes.DeadlineExceeded {
			k = status.KindUpstreamTimeout
		}
	default:
		k = status.KindInternal
	}
	return &status.Error{Kind: k, Message: statusMessage(st, err), Err: err}
}

// statusMessage is the server's message in st. When retries ran out,
// grpc-go wraps the last attempt's error ("max retries exhausted: failed
// after 4 attempts: rpc error: code = Unavailable desc = …") and st's
// message is all of that text; the server's own message is kept then,
// followed by the number of attempts.
func statusMessage(st *grpcstatus.Status, err error) string {
	var inner interface{ GRPCStatus() *grpcstatus.Status }
	u := errors.Unwrap(err)
	if u == nil || !errors.As(u, &inner) {
		return st.Message()
	}
	var n int
	if _, e := fmt.Sscanf(err.Error(), "max retries exhausted: failed after %d attempts:", &n); e != nil {
		return st.Message()
	}
	return fmt.Sprintf("%s (%d attempts)", inner.GRPCStatus().Message(), n)
}
