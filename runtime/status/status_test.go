package status_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Every kind has its HTTP status and gRPC code, in the one table each
// transport reads.
func TestCodes(t *testing.T) {
	cases := []struct {
		err  error
		http int
		grpc codes.Code
	}{
		{errors.New("plain"), http.StatusInternalServerError, codes.Internal},
		{status.InvalidInput("x"), http.StatusBadRequest, codes.InvalidArgument},
		{status.ModelNotFound("m"), http.StatusNotFound, codes.NotFound},
		{status.ModelNotReady("m", ""), http.StatusServiceUnavailable, codes.Unavailable},
		{status.ServerNotReady(""), http.StatusServiceUnavailable, codes.Unavailable},
		{status.New(status.KindServerNotLive, "x"), http.StatusServiceUnavailable, codes.Unavailable},
		{status.InferenceError("x", ""), http.StatusInternalServerError, codes.InvalidArgument},
		{status.NotImplemented("x"), http.StatusNotImplemented, codes.Unimplemented},
		{status.UnsupportedProtocol("v3"), http.StatusNotImplemented, codes.InvalidArgument},
		{status.New(status.KindPayloadTooLarge, "x"), http.StatusRequestEntityTooLarge, codes.ResourceExhausted},
		{status.Unprocessable(), http.StatusUnprocessableEntity, codes.InvalidArgument},
		{status.Unavailable("x", nil), http.StatusServiceUnavailable, codes.Unavailable},
		{status.New(status.KindOverloaded, "x"), http.StatusServiceUnavailable, codes.Unavailable},
		{status.UpstreamTimeout("x", nil), http.StatusGatewayTimeout, codes.DeadlineExceeded},
		{status.New(status.KindUnsupportedMediaType, "x"), http.StatusUnsupportedMediaType, codes.Unimplemented},
		{status.New(status.KindHeadersTooLarge, "x"), http.StatusRequestHeaderFieldsTooLarge, codes.ResourceExhausted},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%T/%v", c.err, c.err), func(t *testing.T) {
			if got := status.HTTPCode(c.err); got != c.http {
				t.Errorf("HTTPCode = %d, want %d", got, c.http)
			}
			if got := status.GRPCCode(c.err); got != c.grpc {
				t.Errorf("GRPCCode = %v, want %v", got, c.grpc)
			}
		})
	}
}

// An upstream timeout keeps its cause for errors.Is, and its message is
// the one clients see.
func TestUpstreamTimeout(t *testing.T) {
	err := fmt.Errorf("forward: %w", status.UpstreamTimeout("predictor p:1 (v2) did not answer within 1s", context.DeadlineExceeded))
	if status.KindOf(err) != status.KindUpstreamTimeout {
		t.Errorf("kind = %v", status.KindOf(err))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("errors.Is(err, context.DeadlineExceeded) = false")
	}
	if got := status.Message(err); got != "predictor p:1 (v2) did not answer within 1s" {
		t.Errorf("Message = %q", got)
	}
}

// quotaError is a model's own error type, named as KServe names an
// exception's class.
type quotaError struct{}

func (quotaError) Error() string { return "quota exceeded" }

// An error without a kind reads "<TypeName> : <message>", the type being
// the first down the chain that is not one of the standard library's
// unexported carriers (errors.New's, fmt.Errorf's, errors.Join's): those
// named nothing a client can use ("errorString : boom").
func TestMessageNamesTheErrorsType(t *testing.T) {
	_, dialErr := net.Dial("tcp", "127.0.0.1:0")
	if dialErr == nil {
		t.Fatal("dialling port 0 succeeded")
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{errors.New("boom"), "Error : boom"},
		{fmt.Errorf("feature store: %v", quotaError{}), "Error : feature store: quota exceeded"},
		{fmt.Errorf("feature store: %w", quotaError{}), "quotaError : feature store: quota exceeded"},
		{fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", dialErr)), "OpError : outer: inner: " + dialErr.Error()},
		{fmt.Errorf("two: %w, %w", errors.New("a"), quotaError{}), "Error : two: a, quota exceeded"},
		{errors.Join(quotaError{}, errors.New("b")), "quotaError : quota exceeded\nb"},
		{fmt.Errorf("lookup: %w", context.DeadlineExceeded), "deadlineExceededError : lookup: context deadline exceeded"},
		{&fs.PathError{Op: "open", Path: "w.bin", Err: fs.ErrNotExist}, "PathError : open w.bin: file does not exist"},
	} {
		if got := status.Message(c.err); got != c.want {
			t.Errorf("Message(%#v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// The log's text of an error adds the cause an *Error carries when its
// message does not say it (the client reads the message alone), but not a
// cause the text already holds, nor a panic's (its stack is logged).
func TestLogTextAddsTheCause(t *testing.T) {
	dial := errors.New("dial tcp 10.0.0.7:6379: connect: connection refused")
	for _, c := range []struct {
		err  error
		want string
	}{
		{&status.Error{Kind: status.KindInternal, Message: "feature store unavailable", Err: dial},
			"feature store unavailable: dial tcp 10.0.0.7:6379: connect: connection refused"},
		{fmt.Errorf("score: %w", &status.Error{Kind: status.KindInternal, Message: "feature store unavailable", Err: dial}),
			"score: feature store unavailable: dial tcp 10.0.0.7:6379: connect: connection refused"},
		{&status.Error{Kind: status.KindInternal, Message: "lookup: " + dial.Error(), Err: dial}, "lookup: " + dial.Error()},
		{status.New(status.KindInternal, "feature store unavailable"), "feature store unavailable"},
		{errors.New("boom"), "boom"},
		{status.Panic("Predict of model m", "boom", []byte("goroutine 1 [running]:\n")), "panic : boom"},
	} {
		if got := status.LogText(c.err); got != c.want {
			t.Errorf("LogText(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	if got := status.Message(&status.Error{Kind: status.KindInternal, Message: "feature store unavailable", Err: dial}); got != "feature store unavailable" {
		t.Errorf("Message = %q: the client reads the message alone", got)
	}
}
