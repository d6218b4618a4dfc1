package model_test

import (
	"fmt"
	"net/http"

	"github.com/kserve-gen/kserve-gen/runtime/model"
)

// A model reads the request's headers (gRPC: its metadata) with Get and
// sets response headers (gRPC: header metadata) with Set and Add. The
// server builds the Headers; a test of Predict builds its own.
func ExampleHeaders() {
	h := model.NewHeaders(http.Header{"X-Tenant": {"acme"}})
	fmt.Printf("tenant %q, no response headers yet: %v\n", h.Get("x-tenant"), h.Response == nil)

	h.Set("prediction-time-latency", "12.5")
	h.Add("Link", "</v2/models/m>; rel=model")
	h.Add("Link", "</docs>; rel=help")
	fmt.Println(h.Response.Get("Prediction-Time-Latency"), len(h.Response.Values("Link")))
	// Output:
	// tenant "acme", no response headers yet: true
	// 12.5 2
}
