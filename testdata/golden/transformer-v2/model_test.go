package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/forward"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// The transformer's answer for input.json ("Hello from kserve-gen, KServe!!!")
// when the predictor is a `kserve-gen new --template rest` model.
const (
	v1Request = `{"instances":[{"text":"Hello from kserve-gen, KServe!!!"}]}`
	v1Want    = `{"predictions":[[0.46875,0.25,0.1875,0.0625,0.03125]]}`
	v2Request = `{"id":"test-1","inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["Hello from kserve-gen, KServe!!!"]}]}`
	v2Want    = `{"model_name":"custom-transformer-v2","model_version":null,"id":"test-1","parameters":null,"outputs":[{"name":"output-0","shape":[1,5],"datatype":"FP32","parameters":null,"data":[0.46875,0.25,0.1875,0.0625,0.03125]}]}`
)

// predictor stands in for the predictor the transformer calls: a real
// server running the rest template's scoring (the share of bytes per
// 16 byte ranges, top 5, in percent) under the transformer's model name,
// as KServe addresses the predictor.
type predictor struct{ name string }

func (p *predictor) Name() string                   { return p.name }
func (p *predictor) Load(ctx context.Context) error { return nil }
func (p *predictor) Ready() bool                    { return true }

func (p *predictor) Predict(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	var images [][]byte
	if req.Protocol == infer.ProtocolV1 {
		var body struct {
			Instances []struct {
				Image struct{ B64 string } `json:"image"`
			} `json:"instances"`
		}
		if err := req.DecodeBody(&body); err != nil {
			return nil, err
		}
		for _, inst := range body.Instances {
			img, err := base64.StdEncoding.DecodeString(inst.Image.B64)
			if err != nil {
				return nil, runtime.InvalidInput(err.Error())
			}
			images = append(images, img)
		}
	} else {
		in := req.Input("input-0")
		if in == nil {
			return nil, runtime.InvalidInput("predictor: no input-0")
		}
		var err error
		if images, err = in.AsBytes(); err != nil {
			return nil, err
		}
	}
	rows := make([][]float32, len(images))
	for i, img := range images {
		row := make([]float32, 16)
		for _, b := range img {
			row[b/16] += 100 / float32(len(img))
		}
		slices.Sort(row)
		slices.Reverse(row)
		rows[i] = row[:5]
	}
	if req.Protocol == infer.ProtocolV1 {
		return runtime.PredictResponse(req, p.name, rows)
	}
	return runtime.PredictResponse(req, p.name, infer.NewTensor("output-0", []int64{int64(len(rows)), 5}, slices.Concat(rows...)))
}

// startPredictor serves the stand-in predictor and returns its host:port.
func startPredictor(t *testing.T) string {
	srv := runtimetest.Start(t, &predictor{name: "custom-transformer-v2"})
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func newTransformer(t *testing.T, predictorHost, protocol string) *CustomTransformerV2 {
	m, err := NewCustomTransformerV2("custom-transformer-v2", forward.Config{Host: predictorHost, Protocol: protocol, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestConformance runs the runtime's conformance kit against the
// transformer in front of a real predictor.
func TestConformance(t *testing.T) {
	host := startPredictor(t)
	runtimetest.Run(t, newTransformer(t, host, "v2"), runtimetest.WithV2(v2Request, v2Want))
}

// TestInputJSON sends input.json the way the README's curl does.
func TestInputJSON(t *testing.T) {
	body, err := os.ReadFile("input.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := runtimetest.Start(t, newTransformer(t, startPredictor(t), "v2"))
	resp := srv.Do(t, http.MethodPost, "/v2/models/custom-transformer-v2/infer", "application/json", body)
	want := strings.Replace(v2Want, `"id":"test-1"`, `"id":"custom-transformer-v2-1"`, 1)
	if resp.Code != http.StatusOK || resp.Body != want {
		t.Fatalf("POST input.json: got %d %s, want 200 %s", resp.Code, resp.Body, want)
	}
}

// TestInputJSONOverGRPC sends input.json through a transformer that calls
// its predictor over gRPC (--predictor_protocol=grpc-v2), as the README's
// gRPC predictor runs.
func TestInputJSONOverGRPC(t *testing.T) {
	body, err := os.ReadFile("input.json")
	if err != nil {
		t.Fatal(err)
	}
	predictor := runtimetest.Start(t, &predictor{name: "custom-transformer-v2"})
	srv := runtimetest.Start(t, newTransformer(t, predictor.GRPCAddr, "grpc-v2"))
	resp := srv.Do(t, http.MethodPost, "/v2/models/custom-transformer-v2/infer", "application/json", body)
	want := strings.Replace(v2Want, `"id":"test-1"`, `"id":"custom-transformer-v2-1"`, 1)
	if resp.Code != http.StatusOK || resp.Body != want {
		t.Fatalf("POST input.json: got %d %s, want 200 %s", resp.Code, resp.Body, want)
	}
}

// TestBadInput checks that a broken request gets a 400 naming the problem
// before anything reaches the predictor.
func TestBadInput(t *testing.T) {
	srv := runtimetest.Start(t, newTransformer(t, startPredictor(t), "v1"))
	for body, want := range map[string]string{
		`{"instances":[]}`:                 `{"error":"expected \"instances\": [{\"text\": \"...\"}, ...]"}`,
		`{"instances":[{"text":""}]}`:      `{"error":"instances[0].text is missing or empty"}`,
		`{"instances":[{"txt":"a"}]}`:      `{"error":"instances[0].text is missing or empty"}`,
		`{"instances":[{"text":"a"},"b"]}`: `{"error":"instances[1] is not {\"text\": \"...\"}"}`,
		`{"instances":{"text":"a"}}`:       `{"error":"Expected \"instances\" to be a list"}`,
	} {
		resp := srv.Do(t, http.MethodPost, "/v1/models/custom-transformer-v2:predict", "application/json", []byte(body))
		if resp.Code != http.StatusBadRequest || resp.Body != want {
			t.Errorf("POST %s: got %d %s, want 400 %s", body, resp.Code, resp.Body, want)
		}
	}
}

// TestBadV2Input checks that a broken v2 request gets a 400 naming the
// client's input, "text", not the predictor's input-0 it becomes.
func TestBadV2Input(t *testing.T) {
	srv := runtimetest.Start(t, newTransformer(t, startPredictor(t), "v2"))
	for body, want := range map[string]string{
		`{"inputs":[{"name":"text","shape":[2],"datatype":"BYTES","data":["a"]}]}`:    `{"error":"input text: shape [2] expects 2 elements, but 1 was given"}`,
		`{"inputs":[{"name":"text","shape":[2],"datatype":"BYTES","data":["a",""]}]}`: `{"error":"input text: element 1 is empty"}`,
		`{"inputs":[{"name":"text","shape":[1],"datatype":"FP32","data":[1]}]}`:       `{"error":"expected a BYTES input named \"text\""}`,
	} {
		resp := srv.Do(t, http.MethodPost, "/v2/models/custom-transformer-v2/infer", "application/json", []byte(body))
		if resp.Code != http.StatusBadRequest || resp.Body != want {
			t.Errorf("POST %s: got %d %s, want 400 %s", body, resp.Code, resp.Body, want)
		}
	}
}

// TestRunErrors checks that the command's errors say what to fix: the
// --predictor_host hint only when the flag is missing.
func TestRunErrors(t *testing.T) {
	t.Setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
	for args, want := range map[string]string{
		"": "Could not find predictor_host. (pass --predictor_host=HOST:PORT, the predictor this transformer calls)",
		"--predictor_host=localhost:8443 --predictor_use_ssl=true": "$REQUESTS_CA_BUNDLE, the CAs trusted with --predictor_use_ssl: open /nonexistent/ca.pem: no such file or directory",
	} {
		if err := run(strings.Fields(args)); err == nil || err.Error() != want {
			t.Errorf("run(%q): got %v, want %s", args, err, want)
		}
	}
}

// TestPredictorDown checks that a predictor that cannot be reached is a
// 503 naming it, not a 500.
func TestPredictorDown(t *testing.T) {
	srv := runtimetest.Start(t, newTransformer(t, "127.0.0.1:1", "v1"))
	resp := srv.Do(t, http.MethodPost, "/v1/models/custom-transformer-v2:predict", "application/json", []byte(v1Request))
	if resp.Code != http.StatusServiceUnavailable || !strings.Contains(resp.Body, "127.0.0.1:1") {
		t.Errorf("got %d %s, want 503 naming the predictor 127.0.0.1:1", resp.Code, resp.Body)
	}
}
