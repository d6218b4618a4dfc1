package main

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// The stand-in model's answer to input.json ("Hello from kserve-gen, KServe!!!"):
// the top 5 of its 16 byte-range shares, in percent.
const (
	v1Request = `{"instances":[{"image":{"b64":"SGVsbG8gZnJvbSBrc2VydmUtZ2VuLCBLU2VydmUhISE="}}]}`
	v1Want    = `{"predictions":[[46.875,25.0,18.75,6.25,3.125]]}`
	v2Request = `{"id":"test-1","inputs":[{"name":"input-0","shape":[1],"datatype":"BYTES","data":["Hello from kserve-gen, KServe!!!"]}]}`
	v2Want    = `{"model_name":"custom-model-grpc","model_version":null,"id":"test-1","parameters":null,"outputs":[{"name":"output-0","shape":[1,5],"datatype":"FP32","parameters":null,"data":[46.875,25.0,18.75,6.25,3.125]}]}`
)

// TestConformance runs the runtime's conformance kit against the model:
// health, metadata, v1 and v2 and gRPC round trips and KServe's error bodies.
func TestConformance(t *testing.T) {
	runtimetest.Run(t, NewCustomModelGrpc("custom-model-grpc"),
		runtimetest.WithV1(v1Request, v1Want),
		runtimetest.WithV2(v2Request, v2Want),
		runtimetest.WithGRPC(),
	)
}

// TestInputJSON sends input.json the way the README's curl does.
func TestInputJSON(t *testing.T) {
	body, err := os.ReadFile("input.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := runtimetest.Start(t, NewCustomModelGrpc("custom-model-grpc"))
	resp := srv.Do(t, http.MethodPost, "/v2/models/custom-model-grpc/infer", "application/json", body)
	want := `{"model_name":"custom-model-grpc","model_version":null,"id":"custom-model-grpc-1","parameters":null,"outputs":[{"name":"output-0","shape":[1,5],"datatype":"FP32","parameters":null,"data":[46.875,25.0,18.75,6.25,3.125]}]}`
	if resp.Code != http.StatusOK || resp.Body != want {
		t.Fatalf("POST input.json: got %d %s, want 200 %s", resp.Code, resp.Body, want)
	}
	latency := resp.Header.Get("prediction-time-latency")
	if ms, err := strconv.ParseFloat(latency, 64); err != nil || ms < 0 {
		t.Errorf("prediction-time-latency header = %q, want milliseconds", latency)
	}
}

// TestBadImage checks that a broken request gets a 400 naming the problem.
func TestBadImage(t *testing.T) {
	srv := runtimetest.Start(t, NewCustomModelGrpc("custom-model-grpc"))
	v1, v2 := "/v1/models/custom-model-grpc:predict", "/v2/models/custom-model-grpc/infer"
	tests := []struct {
		name, path, body, want string
	}{
		{"not base64", v1, `{"instances":[{"image":{"b64":"%%%"}}]}`, `{"error":"instances[0].image.b64 is not base64: illegal base64 data at input byte 0"}`},
		{"no instances", v1, `{"instances":[]}`, `{"error":"expected \"instances\": [{\"image\": {\"b64\": \"...\"}}, ...]"}`},
		{"empty image", v1, `{"instances":[{"image":{"b64":""}}]}`, `{"error":"instances[0].image.b64 is empty"}`},
		{"not an image", v1, `{"instances":[{"image":{"b64":"AA=="}},[1.0,2.0]]}`, `{"error":"instances[1] is not {\"image\": {\"b64\": \"...\"}}"}`},
		{"not BYTES", v2, `{"inputs":[{"name":"input-0","shape":[2],"datatype":"FP32","data":[1,2]}]}`, `{"error":"input input-0 is FP32, expected BYTES with an image per element"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := srv.Do(t, http.MethodPost, tt.path, "application/json", []byte(tt.body))
			if resp.Code != http.StatusBadRequest || resp.Body != tt.want {
				t.Errorf("got %d %s, want 400 %s", resp.Code, resp.Body, tt.want)
			}
		})
	}
}

// TestGRPC sends the image over gRPC with the runtime's client, as the
// project's client/ program does, and checks the response headers arrive
// as gRPC metadata.
func TestGRPC(t *testing.T) {
	srv := runtimetest.Start(t, NewCustomModelGrpc("custom-model-grpc"))
	c, err := client.NewGRPC(srv.GRPCAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var headers http.Header
	resp, err := c.Infer(context.Background(), &infer.Request{
		ModelName: "custom-model-grpc",
		Inputs:    []*infer.Tensor{infer.NewTensor("input-0", []int64{1}, [][]byte{[]byte("Hello from kserve-gen, KServe!!!")})},
	}, client.CaptureResponseHeaders(&headers))
	if err != nil {
		t.Fatal(err)
	}
	out := resp.Output("output-0")
	if out == nil {
		t.Fatalf("no output-0 in %+v", resp)
	}
	got, err := out.AsFloat32()
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{46.875, 25, 18.75, 6.25, 3.125}
	if len(got) != len(want) || out.Shape[0] != 1 || out.Shape[1] != 5 {
		t.Fatalf("output-0 = %v shape %v, want %v shape [1 5]", got, out.Shape, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("output-0 = %v, want %v", got, want)
		}
	}
	if headers.Get("prediction-time-latency") == "" {
		t.Errorf("no prediction-time-latency in the response metadata %v", headers)
	}
}

func TestTop(t *testing.T) {
	got := top([]float32{1, 5, 3, 4, 2, 0}, 3)
	want := []float32{5, 4, 3}
	for i := range want {
		if len(got) != len(want) || got[i] != want[i] {
			t.Fatalf("top = %v, want %v", got, want)
		}
	}
}
