package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// sizer answers with the byte length of its BYTES input as FP32 [1,1] and
// the input itself.
type sizer struct{}

func (sizer) Name() string               { return "custom-model" }
func (sizer) Load(context.Context) error { return nil }
func (sizer) Ready() bool                { return true }
func (sizer) Predict(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	b, err := req.Inputs[0].AsBytes()
	if err != nil {
		return nil, err
	}
	return &infer.Response{ID: "fixed-id", ModelName: "custom-model", Outputs: []*infer.Tensor{
		infer.NewTensor("output-0", []int64{1, 1}, []float32{float32(len(b[0]))}),
		infer.NewTensor("output-1", []int64{1}, b),
	}}, nil
}

func TestRun_SendsTheImageAndPrintsTheResponse(t *testing.T) {
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := runtime.NewServer(config.Default(), runtime.WithGRPCListener(gl), runtime.WithHTTPListener(hl), runtime.WithLogger(slog.New(slog.DiscardHandler)))
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, sizer{}) }()
	t.Cleanup(func() { cancel(); <-done })
	<-srv.Ready()

	input := filepath.Join(t.TempDir(), "input.json")
	if err := os.WriteFile(input, []byte(`{"instances":[{"image":{"b64":"aGVsbG8="}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(gl.Addr().String())
	env := map[string]string{"INGRESS_HOST": "127.0.0.1", "INGRESS_PORT": port}
	var out bytes.Buffer
	if err := run(context.Background(), func(k string) string { return env[k] }, input, 5*time.Second, &out); err != nil {
		t.Fatal(err)
	}
	want := `{
  "id": "fixed-id",
  "model_name": "custom-model",
  "outputs": [
    {
      "name": "output-0",
      "shape": [
        1,
        1
      ],
      "datatype": "FP32",
      "data": [
        5
      ]
    },
    {
      "name": "output-1",
      "shape": [
        1
      ],
      "datatype": "BYTES",
      "data": [
        "hello"
      ]
    }
  ]
}
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestReadImage_Errors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"instances":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := readImage(bad)
	if want := bad + `: want {"instances":[{"image":{"b64":"<base64>"}}]}`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
