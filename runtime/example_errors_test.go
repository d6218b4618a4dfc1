package runtime_test

import (
	"errors"
	"fmt"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// A model's error decides the answer: InvalidInput and InvalidInputf are a
// 400 (gRPC INVALID_ARGUMENT) with their reason. The kind is found through
// %w wrapping, but the client reads the kind's own message, not the text
// the wrapping added. InferenceError is a 500 that gRPC answers as
// INVALID_ARGUMENT, as KServe does; an error without a kind is a 500 that
// reads as KServe's generic handler writes an exception, its Go type first;
// status.New with KindInternal is a 500 that reads as written.
func ExampleInvalidInputf() {
	for _, err := range []error{
		runtime.InvalidInputf("x must be [N, 3], got %v", []int64{2}),
		fmt.Errorf("decode image 3: %w", runtime.InvalidInput("not a PNG")),
		runtime.InferenceError("GPU out of memory", ""),
		errors.New("boom"),
		fmt.Errorf("feature store: %w", errors.New("connection refused")),
		status.New(status.KindInternal, "feature store unavailable"),
	} {
		fmt.Println(status.HTTPCode(err), status.GRPCCode(err), status.Message(err))
	}
	// Output:
	// 400 InvalidArgument x must be [N, 3], got [2]
	// 400 InvalidArgument not a PNG
	// 500 InvalidArgument GPU out of memory
	// 500 Internal Error : boom
	// 500 Internal Error : feature store: connection refused
	// 500 Internal feature store unavailable
}
