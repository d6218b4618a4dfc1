// Package status defines the error kinds of the KServe data plane and how
// each transport reports them. Errors are values with a kind; the REST and
// gRPC transports map kinds to HTTP status codes and gRPC codes in one table
// each, so a behaviour fixed once is fixed for both.
package status

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// Kind classifies a data-plane error.
type Kind int

const (
	// KindInternal is any error without a kind: HTTP 500, gRPC INTERNAL.
	KindInternal Kind = iota
	// KindInvalidInput is KServe's InvalidInput: HTTP 400, gRPC INVALID_ARGUMENT.
	KindInvalidInput
	// KindModelNotFound is KServe's ModelNotFound: HTTP 404, gRPC NOT_FOUND.
	KindModelNotFound
	// KindModelNotReady is KServe's ModelNotReady: HTTP 503, gRPC UNAVAILABLE.
	KindModelNotReady
	// KindServerNotReady is KServe's ServerNotReady: HTTP 503, gRPC UNAVAILABLE.
	KindServerNotReady
	// KindServerNotLive is KServe's ServerNotLive: HTTP 503, gRPC UNAVAILABLE.
	KindServerNotLive
	// KindInferenceError is KServe's InferenceError: HTTP 500, gRPC
	// INVALID_ARGUMENT (KServe's own inconsistency, kept for compatibility).
	KindInferenceError
	// KindNotImplemented is Python's NotImplementedError: HTTP 501, gRPC UNIMPLEMENTED.
	KindNotImplemented
	// KindUnsupportedProtocol is KServe's UnsupportedProtocol: HTTP 501, gRPC INVALID_ARGUMENT.
	KindUnsupportedProtocol
	// KindPayloadTooLarge is a request body over the configured limit: HTTP 413,
	// gRPC RESOURCE_EXHAUSTED (KServe has no limit).
	KindPayloadTooLarge
	// KindUnprocessable is a request body that fails schema validation
	// (FastAPI's RequestValidationError): HTTP 422 {"detail": [...]}, gRPC
	// INVALID_ARGUMENT.
	KindUnprocessable
	// KindUnavailable is an upstream (predictor) that cannot be reached: HTTP 503,
	// gRPC UNAVAILABLE (KServe answers 500 here; issue #4262).
	KindUnavailable
	// KindOverloaded is a request turned away because too many already wait
	// for a model slot (--max_queued_requests): HTTP 503 with Retry-After,
	// gRPC UNAVAILABLE with grpc-retry-pushback-ms, both of which clients
	// and gateways retry.
	KindOverloaded
	// KindUpstreamTimeout is an upstream (predictor) that did not answer in
	// time (--predictor_request_timeout_seconds, a client's timeout): HTTP
	// 504 Gateway Timeout, gRPC DEADLINE_EXCEEDED. KServe answers 500
	// "ReadTimeout : ..." here; 504 tells a server that is slow to answer
	// apart from one that failed, and from a client that gave up (499).
	KindUpstreamTimeout
	// KindUnsupportedMediaType is a request body in a form the server does
	// not read, such as a Content-Encoding other than gzip or deflate:
	// HTTP 415 Unsupported Media Type. gRPC answers an unknown
	// grpc-encoding itself, with UNIMPLEMENTED, which this kind maps to
	// should one reach it.
	KindUnsupportedMediaType
	// KindHeadersTooLarge is a request whose headers are more than a
	// server takes: HTTP 431 Request Header Fields Too Large (net/http's
	// own answer to headers over its limit), gRPC RESOURCE_EXHAUSTED
	// (grpcio's answer to metadata over its limit). A transformer answers
	// it when its predictor refuses the headers it forwards.
	KindHeadersTooLarge
)

var kindNames = [...]string{
	KindInternal:             "Internal",
	KindInvalidInput:         "InvalidInput",
	KindModelNotFound:        "ModelNotFound",
	KindModelNotReady:        "ModelNotReady",
	KindServerNotReady:       "ServerNotReady",
	KindServerNotLive:        "ServerNotLive",
	KindInferenceError:       "InferenceError",
	KindNotImplemented:       "NotImplemented",
	KindUnsupportedProtocol:  "UnsupportedProtocol",
	KindPayloadTooLarge:      "PayloadTooLarge",
	KindUnprocessable:        "Unprocessable",
	KindUnavailable:          "Unavailable",
	KindOverloaded:           "Overloaded",
	KindUpstreamTimeout:      "UpstreamTimeout",
	KindUnsupportedMediaType: "UnsupportedMediaType",
	KindHeadersTooLarge:      "HeadersTooLarge",
}

// String names the kind as its constant without the prefix
// ("InvalidInput"), for logs and test failures, which would otherwise
// show a bare number.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// className names the kind as KServe's Python server names the exception
// class it raises for it (kserve.errors' InvalidInput, Python's
// NotImplementedError, FastAPI's RequestValidationError), for the places
// that print a class name. A kind KServe has no class for (it answers 500
// there, or has no limit) is named by its constant; KindInternal, an
// error with no kind of its own, as errors.New's is: "Error".
func (k Kind) className() string {
	switch k {
	case KindInternal:
		return "Error"
	case KindNotImplemented:
		return "NotImplementedError"
	case KindUnprocessable:
		return "RequestValidationError"
	}
	return k.String()
}

// OverloadRetryAfter is how long an overloaded server asks clients to wait
// before retrying (Retry-After, grpc-retry-pushback-ms).
const OverloadRetryAfter = time.Second

// Error is a data-plane error with a kind and the exact message clients see.
type Error struct {
	// Kind decides the HTTP status and gRPC code (HTTPCode, GRPCCode).
	Kind Kind
	// Message is the text clients see, as it is: {"error": Message} over
	// REST (unless Detail or DetailText is set), the status message over
	// gRPC. Errors that wrap an *Error show its Message, not their own text.
	Message string
	// Err is the optional cause, for errors.Is and errors.As. Clients do
	// not see it (they read Message); the ERROR line of a 5xx does, after
	// the message, unless the message already says it (LogText).
	Err error
	// Detail, for KindUnprocessable, is FastAPI's list of validation errors,
	// rendered over REST as {"detail": Detail}.
	Detail []ValidationDetail
	// DetailText, when set, is answered over REST as FastAPI's
	// {"detail": DetailText} instead of {"error": Message}: the error is one
	// FastAPI raises itself before KServe's handler runs, so KServe's
	// clients see FastAPI's body. Message keeps the whole reason for logs,
	// gRPC and Go callers.
	DetailText string
	// Stack, for a panic recovered in model code (Panic), is the goroutine
	// stack where it panicked: logged after the message (PanicStack), as
	// KServe logs an exception with its traceback, and never shown to
	// clients.
	Stack []byte
}

// Panic is the error of p, a panic recovered in model code: an internal
// error whose message, "panic : <p>", reads as KServe's "<Type> : <message>"
// for an exception nobody caught. stack is debug.Stack() taken in the
// deferred function that recovered, which still runs on the panicking
// frames, so the stack names the line that panicked. subject says whose
// code it was ("Predict of model m"), for the cause and the log line
// (PanicStack); clients are not told, as KServe's "<Type> : <message>"
// names no model or step.
func Panic(subject string, p any, stack []byte) *Error {
	return &Error{Kind: KindInternal, Message: fmt.Sprintf("panic : %v", p), Err: &panicCause{subject, p}, Stack: stack}
}

// panicCause is the cause of a Panic error: whose code panicked, with what.
type panicCause struct {
	subject string
	value   any
}

func (c *panicCause) Error() string { return fmt.Sprintf("%s panicked: %v", c.subject, c.value) }

// PanicStack is what the server logs after err's message: for a panic
// recovered in model code (Panic), the code that panicked on a line of
// its own ("panicked in Predict of model m:"), then the stack where it
// panicked, as KServe logs an exception's traceback; "" for any other
// error. The line says which model and step without reading the stack,
// whose frames name the model's Go type, not the name it is served as.
func PanicStack(err error) string {
	var e *Error
	if !errors.As(err, &e) || len(e.Stack) == 0 {
		return ""
	}
	where := ""
	if c, ok := e.Err.(*panicCause); ok {
		where = "\npanicked in " + c.subject + ":"
	}
	return where + "\n" + string(e.Stack)
}

// ValidationDetail is one pydantic validation error, with pydantic's JSON
// field names: its type ("missing"), its location (["body", "inputs", 0]),
// message, the input found there, and the type's context.
type ValidationDetail struct {
	Type  string         `json:"type"`
	Loc   []any          `json:"loc"`
	Msg   string         `json:"msg"`
	Input any            `json:"input"`
	Ctx   map[string]any `json:"ctx,omitempty"`
}

// Unprocessable returns a 422 validation error.
func Unprocessable(details ...ValidationDetail) *Error {
	msg := "request validation failed"
	if len(details) > 0 {
		msg = fmt.Sprintf("%s: %v", details[0].Msg, details[0].Loc)
	}
	return &Error{Kind: KindUnprocessable, Message: msg, Detail: details}
}

// Error returns Message, without the cause: what clients see.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// LogText is err's text for the server's log: its text and, where an
// *Error down its chain carries a cause that text does not already say,
// that cause after a colon. A client reads Message alone ("feature store
// unavailable": a cause such as a dial error may name internal hosts); the
// operator reading the ERROR line needs the cause too. A panic's cause is
// not added: its stack, which PanicStack adds, names where it happened.
func LogText(err error) string {
	text := err.Error()
	var e *Error
	if errors.As(err, &e) && e.Err != nil && e.Stack == nil {
		if cause := e.Err.Error(); cause != "" && !strings.Contains(text, cause) {
			text += ": " + cause
		}
	}
	return text
}

// New returns an error of kind k with message msg.
func New(k Kind, msg string) *Error { return &Error{Kind: k, Message: msg} }

// Newf returns an error of kind k with a formatted message.
func Newf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// InvalidInput is KServe's InvalidInput(reason).
func InvalidInput(reason string) *Error { return New(KindInvalidInput, reason) }

// InvalidInputf is InvalidInput with a formatted reason.
func InvalidInputf(format string, args ...any) *Error { return Newf(KindInvalidInput, format, args...) }

// ModelNotFound is KServe's ModelNotFound(name).
func ModelNotFound(name string) *Error {
	return Newf(KindModelNotFound, "Model with name %s does not exist.", name)
}

// ModelNotReady is KServe's ModelNotReady(name, detail).
func ModelNotReady(name, detail string) *Error {
	msg := fmt.Sprintf("Model with name %s is not ready.", name)
	if detail != "" {
		msg += " " + detail
	}
	return New(KindModelNotReady, msg)
}

// ServerNotReady is KServe's ServerNotReady(detail).
func ServerNotReady(detail string) *Error {
	msg := "Server is not ready."
	if detail != "" {
		msg += " " + detail
	}
	return New(KindServerNotReady, msg)
}

// InferenceError is KServe's InferenceError(reason, status): the message is
// prefixed with "[status] " when status is set.
func InferenceError(reason, status string) *Error {
	if status != "" {
		reason = "[" + status + "] " + reason
	}
	return New(KindInferenceError, reason)
}

// NotImplemented is Python's NotImplementedError(msg).
func NotImplemented(msg string) *Error { return New(KindNotImplemented, msg) }

// UnsupportedProtocol is KServe's UnsupportedProtocol(protocol).
func UnsupportedProtocol(protocol string) *Error {
	return Newf(KindUnsupportedProtocol, "Unsupported protocol %s.", protocol)
}

// Unavailable reports an upstream that cannot be reached, wrapping the cause.
func Unavailable(msg string, cause error) *Error {
	return &Error{Kind: KindUnavailable, Message: msg, Err: cause}
}

// UpstreamTimeout reports an upstream that did not answer in time, wrapping
// the cause (which wraps context.DeadlineExceeded when a deadline of ours
// passed).
func UpstreamTimeout(msg string, cause error) *Error {
	return &Error{Kind: KindUpstreamTimeout, Message: msg, Err: cause}
}

// KindOf returns the kind of err; errors without one are KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Message is the text a client sees for err. Errors without a kind read
// "<TypeName> : <message>" like KServe's generic handler (see TypeName).
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return fmt.Sprintf("%s : %s", TypeName(err), err.Error())
}

// TypeName names err's type as KServe names an exception's class in what
// clients read: its generic handler's "<Type> : <message>" (Message), a
// repository load's "Error type: <Type> error msg: <message>". The
// standard library's unexported carriers (errors.New's errorString,
// fmt.Errorf's wrapError and wrapErrors, errors.Join's joinError) name
// nothing a client can use, so it is the name of the first error down the
// chain that is not one of them, without its package
// (fmt.Errorf("feature store: %w", err) with a *net.OpError is "OpError"),
// or "Error" when there is none, as for errors.New("boom"). An *Error is
// named by its kind as Python names the exception KServe raises for it
// (runtime.InvalidInput's is "InvalidInput"), not by Go's type.
func TypeName(err error) string {
	for err != nil {
		if e, ok := err.(*Error); ok {
			return e.Kind.className()
		}
		n := fmt.Sprintf("%T", err)
		switch n {
		case "*errors.errorString", "*fmt.wrapError", "*fmt.wrapErrors", "*errors.joinError":
		default:
			if i := strings.LastIndexByte(n, '.'); i >= 0 {
				return n[i+1:]
			}
			return strings.TrimPrefix(n, "*")
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			if errs := u.Unwrap(); len(errs) > 0 {
				err = errs[0]
				continue
			}
			err = nil
		default:
			err = nil
		}
	}
	return "Error"
}

// HTTPCode is the HTTP status for err (contract §5).
func HTTPCode(err error) int {
	switch KindOf(err) {
	case KindInvalidInput:
		return http.StatusBadRequest
	case KindModelNotFound:
		return http.StatusNotFound
	case KindModelNotReady, KindServerNotReady, KindServerNotLive, KindUnavailable, KindOverloaded:
		return http.StatusServiceUnavailable
	case KindNotImplemented, KindUnsupportedProtocol:
		return http.StatusNotImplemented
	case KindPayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case KindUnprocessable:
		return http.StatusUnprocessableEntity
	case KindUpstreamTimeout:
		return http.StatusGatewayTimeout
	case KindUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case KindHeadersTooLarge:
		return http.StatusRequestHeaderFieldsTooLarge
	default:
		return http.StatusInternalServerError
	}
}

// GRPCCode is the gRPC status code for err (contract §2).
func GRPCCode(err error) codes.Code {
	switch KindOf(err) {
	case KindInvalidInput, KindInferenceError, KindUnsupportedProtocol, KindUnprocessable:
		return codes.InvalidArgument
	case KindModelNotFound:
		return codes.NotFound
	case KindModelNotReady, KindServerNotReady, KindServerNotLive, KindUnavailable, KindOverloaded:
		return codes.Unavailable
	case KindNotImplemented, KindUnsupportedMediaType:
		return codes.Unimplemented
	case KindPayloadTooLarge, KindHeadersTooLarge:
		return codes.ResourceExhausted
	case KindUpstreamTimeout:
		return codes.DeadlineExceeded
	default:
		return codes.Internal
	}
}
