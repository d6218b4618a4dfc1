package client

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// FailureCode names a failed call by its cause, for
// kserve_predictor_failures_total: the HTTP status a REST server answered,
// the gRPC code name, "unreachable" for a REST server that could not be
// reached, "timeout" for no answer in time, and "" for no error or one of
// the call itself.
func TestFailureCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{&HTTPError{StatusCode: 503, URL: "http://p/v2/models/m/infer", Message: "busy"}, "503"},
		{fmt.Errorf("infer: %w", &HTTPError{StatusCode: 404}), "404"},
		{grpcstatus.Error(codes.Unavailable, "connection refused"), "Unavailable"},
		{fmt.Errorf("infer: %w", grpcstatus.Error(codes.ResourceExhausted, "too big")), "ResourceExhausted"},
		{fmt.Errorf("infer: %w", context.DeadlineExceeded), "timeout"},
		{status.Unavailable("predictor p is not reachable", errors.New("dial tcp: connection refused")), "unreachable"},
		{errors.New("encode the request: bad"), ""},
	} {
		assert.Equal(t, tc.want, FailureCode(tc.err), "%v", tc.err)
	}
}
