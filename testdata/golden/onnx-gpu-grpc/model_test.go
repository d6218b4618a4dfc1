package main

import (
	"encoding/json"
	"math"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// The sample model/model.onnx: probs = softmax(input·W + B). These tests
// check ONNX Runtime's answers against this reference; update them with
// your model.
var (
	sampleW = [4][3]float64{{0.4, 0.1, -0.5}, {1.0, -0.3, -0.7}, {-1.2, 0.2, 1.0}, {-1.0, -0.2, 1.2}}
	sampleB = [3]float64{0.5, 1.0, -1.5}
)

func reference(x [4]float64) [3]float64 {
	var logits [3]float64
	sum := 0.0
	for j := range logits {
		logits[j] = sampleB[j]
		for i := range x {
			logits[j] += x[i] * sampleW[i][j]
		}
		logits[j] = math.Exp(logits[j])
		sum += logits[j]
	}
	for j := range logits {
		logits[j] /= sum
	}
	return logits
}

const (
	v1Request = `{"instances":[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}`
	v2Request = `{"id":"test-1","inputs":[{"name":"input","shape":[2,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2,6.7,3.0,5.2,2.3]}]}`
)

var rows = [][4]float64{{5.1, 3.5, 1.4, 0.2}, {6.7, 3.0, 5.2, 2.3}}

// TestConformance runs the runtime's conformance kit against the model
// (its metadata must be the ONNX file's real tensors).
func TestConformance(t *testing.T) {
	runtimetest.Run(t, NewIrisGpu("iris-gpu", "model"),
		runtimetest.WithV1(v1Request, ""),
		runtimetest.WithV2(v2Request, ""),
		runtimetest.WithGRPC(),
	)
}

// TestMetadata checks the v2 metadata describes both outputs of an answer:
// the model's "probs" and the "label" Postprocess adds.
func TestMetadata(t *testing.T) {
	srv := runtimetest.Start(t, NewIrisGpu("iris-gpu", "model"))
	resp := srv.Get(t, "/v2/models/iris-gpu")
	want := `"outputs":[{"name":"probs","datatype":"FP32","shape":[-1,3]},{"name":"label","datatype":"INT64","shape":[-1]}]`
	if resp.Code != http.StatusOK || !strings.Contains(resp.Body, want) {
		t.Errorf("GET /v2/models/iris-gpu: got %d %s, want 200 with %s", resp.Code, resp.Body, want)
	}
}

// TestPredict checks ONNX Runtime's probabilities against the reference
// and the label Postprocess adds, over v1 and v2.
func TestPredict(t *testing.T) {
	srv := runtimetest.Start(t, NewIrisGpu("iris-gpu", "model"))

	resp := srv.PostJSON(t, "/v1/models/iris-gpu:predict", v1Request)
	var v1 struct{ Predictions [][]float64 }
	if resp.Code != http.StatusOK || json.Unmarshal([]byte(resp.Body), &v1) != nil || len(v1.Predictions) != len(rows) {
		t.Fatalf("v1: got %d %s, want 200 with %d predictions", resp.Code, resp.Body, len(rows))
	}
	for i, x := range rows {
		checkProbs(t, "v1", v1.Predictions[i], reference(x))
	}

	resp = srv.PostJSON(t, "/v2/models/iris-gpu/infer", v2Request)
	var v2 struct {
		Outputs []struct {
			Name  string
			Shape []int64
			Data  []float64
		}
	}
	if resp.Code != http.StatusOK || json.Unmarshal([]byte(resp.Body), &v2) != nil || len(v2.Outputs) != 2 {
		t.Fatalf("v2: got %d %s, want 200 with outputs probs and label", resp.Code, resp.Body)
	}
	probs, label := v2.Outputs[0], v2.Outputs[1]
	if probs.Name != "probs" || label.Name != "label" || len(probs.Data) != 3*len(rows) || len(label.Data) != len(rows) {
		t.Fatalf("v2 outputs: %s", resp.Body)
	}
	for i, x := range rows {
		want := reference(x)
		checkProbs(t, "v2", probs.Data[3*i:3*i+3], want)
		best := 0
		for j := range want {
			if want[j] > want[best] {
				best = j
			}
		}
		if int(label.Data[i]) != best {
			t.Errorf("v2 label[%d] = %v, want %d", i, label.Data[i], best)
		}
	}
}

// TestInputJSON sends input.json the way the README's curl does.
func TestInputJSON(t *testing.T) {
	body, err := os.ReadFile("input.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := runtimetest.Start(t, NewIrisGpu("iris-gpu", "model"))
	resp := srv.Do(t, http.MethodPost, "/v2/models/iris-gpu/infer", "application/json", body)
	if resp.Code != http.StatusOK {
		t.Fatalf("POST input.json: got %d %s, want 200", resp.Code, resp.Body)
	}
}

// TestBadInput checks a request the model cannot take gets a 400.
func TestBadInput(t *testing.T) {
	srv := runtimetest.Start(t, NewIrisGpu("iris-gpu", "model"))
	resp := srv.PostJSON(t, "/v2/models/iris-gpu/infer", `{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`)
	if resp.Code != http.StatusBadRequest {
		t.Errorf("3 features instead of 4: got %d %s, want 400", resp.Code, resp.Body)
	}
}

func checkProbs(t *testing.T, what string, got []float64, want [3]float64) {
	t.Helper()
	for j := range want {
		if len(got) != 3 || math.Abs(got[j]-want[j]) > 1e-6 {
			t.Errorf("%s probs = %v, want %v (±1e-6)", what, got, want)
			return
		}
	}
}
