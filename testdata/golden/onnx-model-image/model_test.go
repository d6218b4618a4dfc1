package main

import (
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// The signature kserve-gen read from pool.onnx (model/model.onnx),
// -1 for a dynamic dimension. TestMetadata checks that ONNX Runtime reads
// the model the same way: keep these in step when you replace the model.
var (
	inputs = []tensorMetadata{
		{Name: "pixels", Datatype: "FP32", Shape: []int64{-1, 3, 8, 8}}, // [batch,3,8,8]
	}
	outputs = []tensorMetadata{
		{Name: "pooled", Datatype: "FP32", Shape: []int64{-1, 3, 1, 1}}, // [batch,3,1,1]
	}
)

type tensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// sampleRequest is input.json: a 10×10 PNG test pattern for input
// pixels.
// Put a picture of yours in it (the README says how), and check real
// answers in TestInputJSON.
func sampleRequest(t *testing.T) []byte {
	t.Helper()
	body, err := os.ReadFile("input.json")
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestConformance runs the runtime's conformance kit against the model
// (health, readiness, metadata, errors; its inference exchange checks the
// request's inputs against the model's, and input.json sends images:
// TestInputJSON sends it).
func TestConformance(t *testing.T) {
	runtimetest.Run(t, NewPool("pool", "model"), runtimetest.WithGRPC())
}

// TestMetadata checks the v2 model metadata, which ONNX Runtime reads
// from the model, against the signature above.
func TestMetadata(t *testing.T) {
	srv := runtimetest.Start(t, NewPool("pool", "model"))
	resp := srv.Get(t, "/v2/models/pool")
	var meta struct {
		Platform        string
		Inputs, Outputs []tensorMetadata
	}
	if resp.Code != http.StatusOK || json.Unmarshal([]byte(resp.Body), &meta) != nil {
		t.Fatalf("GET /v2/models/pool: got %d %s, want 200 with metadata", resp.Code, resp.Body)
	}
	if meta.Platform != "onnxruntime_onnx" || !reflect.DeepEqual(meta.Inputs, inputs) || !reflect.DeepEqual(meta.Outputs, outputs) {
		t.Errorf("metadata: got %s, want platform onnxruntime_onnx, inputs %+v, outputs %+v", resp.Body, inputs, outputs)
	}
}

// TestInputJSON sends input.json the way the README's curl does and
// checks the answer has every output, with its datatype and fixed
// dimensions.
func TestInputJSON(t *testing.T) {
	srv := runtimetest.Start(t, NewPool("pool", "model"))
	resp := srv.Do(t, http.MethodPost, "/v2/models/pool/infer", "application/json", sampleRequest(t))
	var v2 struct{ Outputs []tensorMetadata }
	if resp.Code != http.StatusOK || json.Unmarshal([]byte(resp.Body), &v2) != nil {
		t.Fatalf("POST input.json: got %d %s, want 200", resp.Code, resp.Body)
	}
	checkOutputs(t, v2.Outputs)
}

// checkOutputs checks that an answer has every output of the model, in
// its order, with its datatype and fixed dimensions.
func checkOutputs(t *testing.T, got []tensorMetadata) {
	t.Helper()
	if len(got) != len(outputs) {
		t.Fatalf("got %d outputs, want %d: %+v", len(got), len(outputs), got)
	}
	for i, want := range outputs {
		ok := got[i].Name == want.Name && got[i].Datatype == want.Datatype && len(got[i].Shape) == len(want.Shape)
		for j := 0; ok && j < len(want.Shape); j++ {
			ok = want.Shape[j] < 0 || got[i].Shape[j] == want.Shape[j]
		}
		if !ok {
			t.Errorf("output %d: got %+v, want %+v (-1: any size)", i, got[i], want)
		}
	}
}

// TestNotAnImage checks that bytes that are not an image get a 400 naming
// them, and the server keeps serving.
func TestNotAnImage(t *testing.T) {
	srv := runtimetest.Start(t, NewPool("pool", "model"))
	resp := srv.PostJSON(t, "/v2/models/pool/infer", "{\"id\":\"not-an-image\",\"inputs\":[{\"name\":\"pixels\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"aGVsbG8=\"]}]}")
	want := "input pixels, image 0: not an image (PNG, JPEG, GIF, BMP or WebP)"
	var body struct{ Error string }
	if resp.Code != http.StatusBadRequest || json.Unmarshal([]byte(resp.Body), &body) != nil || body.Error != want {
		t.Errorf("not an image: got %d %s, want 400 with error %q", resp.Code, resp.Body, want)
	}
	if resp := srv.Get(t, "/v2/models/pool/ready"); resp.Code != http.StatusOK {
		t.Errorf("after the bad request: ready got %d %s, want 200", resp.Code, resp.Body)
	}
}

// TestBadInput checks that a request the model cannot take gets a 400
// naming what is wrong, and the server keeps serving.
func TestBadInput(t *testing.T) {
	srv := runtimetest.Start(t, NewPool("pool", "model"))
	resp := srv.PostJSON(t, "/v2/models/pool/infer", "{\"id\":\"pool-bad\",\"inputs\":[{\"name\":\"pixels\",\"shape\":[1,1,1,1],\"datatype\":\"FP64\",\"data\":[0]}]}")
	var body struct{ Error string }
	want := "input \"pixels\" has datatype FP64, but the model expects FP32"
	if resp.Code != http.StatusBadRequest || json.Unmarshal([]byte(resp.Body), &body) != nil || body.Error != want {
		t.Errorf("wrong datatype: got %d %s, want 400 with error %q", resp.Code, resp.Body, want)
	}
	if resp := srv.Get(t, "/v2/models/pool/ready"); resp.Code != http.StatusOK {
		t.Errorf("after the bad request: ready got %d %s, want 200", resp.Code, resp.Body)
	}
}
