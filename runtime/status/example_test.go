package status_test

import (
	"errors"
	"fmt"

	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// A model's error decides the status code through its kind, found through
// any wrapping; the client sees the kind's own message, not the wrapping
// text, which stays for logs and errors.Is / errors.As. An error without a
// kind is a 500 worded like KServe's generic handler: "<Go type> : <text>".
func Example() {
	err := fmt.Errorf("scoring row 3: %w", status.InvalidInput("age must be a number"))
	fmt.Println(status.HTTPCode(err), status.GRPCCode(err), status.Message(err))

	var se *status.Error
	fmt.Println(errors.As(err, &se), se.Kind, status.KindOf(err) == status.KindInvalidInput)

	disk := errors.New("disk full")
	wrapped := &status.Error{Kind: status.KindInferenceError, Message: "could not score", Err: disk}
	fmt.Println(status.HTTPCode(wrapped), status.Message(wrapped), errors.Is(wrapped, disk))

	fmt.Println(status.HTTPCode(disk), status.Message(disk))
	// Output:
	// 400 InvalidArgument age must be a number
	// true InvalidInput true
	// 500 could not score true
	// 500 Error : disk full
}
