package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// echo answers with its first input renamed output-0, so the test sees
// exactly what the client sent.
type echo struct{}

func (echo) Name() string                   { return "iris-gpu" }
func (echo) Load(ctx context.Context) error { return nil }
func (echo) Ready() bool                    { return true }
func (echo) Predict(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	out := *req.Inputs[0]
	out.Name = "output-0"
	return &infer.Response{ID: req.ID, ModelName: "iris-gpu", Outputs: []*infer.Tensor{&out}}, nil
}

// TestClient sends the project's input.json over gRPC to a real server
// found through INGRESS_HOST and INGRESS_PORT, and checks what it prints.
func TestClient(t *testing.T) {
	srv := runtimetest.Start(t, echo{})
	host, port, err := net.SplitHostPort(srv.GRPCAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("INGRESS_HOST", host)
	t.Setenv("INGRESS_PORT", port)
	var out bytes.Buffer
	if err := run(context.Background(), &out, "../input.json"); err != nil {
		t.Fatal(err)
	}
	// The model's first input, as input.json gives it, back as output-0.
	body, err := os.ReadFile("../input.json")
	if err != nil {
		t.Fatal(err)
	}
	req, err := infer.DecodeRequest(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := *req.Inputs[0]
	first.Name = "output-0"
	answer, err := infer.AppendResponseJSON(nil, &infer.Response{ID: req.ID, ModelName: "iris-gpu", Outputs: []*infer.Tensor{&first}})
	if err != nil {
		t.Fatal(err)
	}
	want := string(answer) + "\n"
	if out.String() != want {
		t.Errorf("client printed\n%s\nwant\n%s", out.String(), want)
	}
}
