// Package client holds Go counterparts of KServe's inference clients
// (kserve.inference_client): REST for the v1 and v2 protocols, with the
// binary tensor extension both ways, and gRPC for the Open Inference
// Protocol. Both take and return the runtime's own infer.Request and
// infer.Response, so a transformer forwards what it received without
// re-encoding by hand, and every datatype round-trips unchanged.
//
// Unlike KServe's clients, retries really apply (REST: connection errors and
// 503, waiting its Retry-After; gRPC: UNAVAILABLE, waiting its
// grpc-retry-pushback-ms, Infer in a loop of its own and the other calls
// through the channel's retry policy), and errors
// keep their kind: a 404 or NOT_FOUND from the server is a
// status.KindModelNotFound error carrying the server's message, a server
// that cannot be reached is status.KindUnavailable, and a call that got no
// answer in time is status.KindUpstreamTimeout naming the call and its
// target (and wrapping context.DeadlineExceeded).
package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"time"

	grpcstatus "google.golang.org/grpc/status"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// DefaultTimeout bounds one call (all its retries included) unless changed,
// as KServe's clients do (60 s).
const DefaultTimeout = 60 * time.Second

// DefaultRetries is KServe's default retry count for its clients.
const DefaultRetries = 3

// RetryObserver is told of each retry of a call as it is made: retry is 1
// for the first retry (the call's second attempt), and err is the error of
// the attempt before it. It runs on the caller's goroutine, before the
// attempt, and must be quick; a call that needs no retry never calls it.
// The client keeps no metrics of its own: a server counts retries with it
// (a transformer's kserve_predictor_retries_total).
type RetryObserver func(retry int, err error)

// InferOption customises one Infer call.
type InferOption func(*callOptions)

type callOptions struct {
	headers     http.Header
	respHeaders *http.Header
	jsonData    bool
	timeout     time.Duration
	stream      bool // a text/event-stream answer stays open for Response.Stream (v1 predict)
}

func newCallOptions(opts []InferOption) callOptions {
	var c callOptions
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithHeaders sends h with the call: as HTTP headers over REST, as metadata
// (lower-case keys) over gRPC.
func WithHeaders(h http.Header) InferOption {
	return func(c *callOptions) {
		if c.headers == nil {
			c.headers = http.Header{}
		}
		for k, v := range h {
			c.headers[textproto.CanonicalMIMEHeaderKey(k)] = append(c.headers[textproto.CanonicalMIMEHeaderKey(k)], v...)
		}
	}
}

// CaptureResponseHeaders stores the response's headers (REST) or header
// metadata (gRPC) in *h (KServe's response_headers argument).
func CaptureResponseHeaders(h *http.Header) InferOption {
	return func(c *callOptions) { c.respHeaders = h }
}

// WithJSONData sends tensor data as JSON lists (REST v2) or typed contents
// (gRPC) instead of the default binary extension / raw contents. FP16
// always travels binary, which is the only way the protocol allows.
func WithJSONData() InferOption {
	return func(c *callOptions) { c.jsonData = true }
}

// WithCallTimeout overrides the client's timeout for this call.
func WithCallTimeout(d time.Duration) InferOption {
	return func(c *callOptions) { c.timeout = d }
}

// backoff is the delay before retry n (0-based): 100 ms doubling to at most
// 1 s, the policy KServe's gRPC client configures.
func backoff(n int) time.Duration {
	d := 100 * time.Millisecond
	for i := 0; i < n && d < time.Second; i++ {
		d *= 2
	}
	return min(d, time.Second)
}

// contextError is the error of call ("ModelInfer to host:8081", "POST
// http://…") when it ended because a context did: the client's timeout
// (timeout) fired, or the caller's context ended. Deadlines are
// status.KindUpstreamTimeout. It wraps the context's error, so that
// errors.Is(err, context.DeadlineExceeded) (or context.Canceled) holds, and
// cause.
func contextError(call string, caller context.Context, timeout time.Duration, cause error) error {
	switch err := caller.Err(); {
	case errors.Is(err, context.Canceled):
		return &status.Error{Kind: status.KindInternal, Message: call + ": cancelled", Err: errors.Join(err, cause)}
	case err != nil || ended(caller):
		return status.UpstreamTimeout(call+": no answer before the caller's deadline", errors.Join(context.DeadlineExceeded, cause))
	default:
		return status.UpstreamTimeout(fmt.Sprintf("%s: no answer within %s", call, timeout), errors.Join(context.DeadlineExceeded, cause))
	}
}

// FailureCode names how a failed call ended, for counting failures by
// cause: the HTTP status code the server answered with ("503") over REST,
// the gRPC code name ("Unavailable", as codes.Code names it) over gRPC;
// "unreachable" when a REST server could not be reached or its answer
// could not be read (grpc-go reports that as "Unavailable"); "timeout"
// when no answer came within the client's timeout or the caller's
// deadline; "" for nil, and for an error of the call itself, before or
// after any exchange (a request that cannot be encoded, an answer that
// does not decode).
func FailureCode(err error) string {
	if err == nil {
		return ""
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return strconv.Itoa(he.StatusCode)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	var ge interface{ GRPCStatus() *grpcstatus.Status }
	if errors.As(err, &ge) {
		return ge.GRPCStatus().Code().String()
	}
	if status.KindOf(err) == status.KindUnavailable {
		return "unreachable"
	}
	return ""
}

// ended reports whether ctx has ended, or its deadline has passed even if
// its timer has not fired yet.
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}
