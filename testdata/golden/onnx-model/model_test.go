package main

import (
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// The signature kserve-gen read from scorer.onnx (model/model.onnx),
// -1 for a dynamic dimension. TestMetadata checks that ONNX Runtime reads
// the model the same way: keep these in step when you replace the model.
var (
	inputs = []tensorMetadata{
		{Name: "features", Datatype: "FP32", Shape: []int64{-1, 4}}, // [batch,4]
		{Name: "bias", Datatype: "FP32", Shape: []int64{-1, 1}},     // [batch,1]
	}
	outputs = []tensorMetadata{
		{Name: "sum", Datatype: "FP32", Shape: []int64{-1, 4}},   // [batch,4]
		{Name: "above", Datatype: "BOOL", Shape: []int64{-1, 4}}, // [batch,4]
	}
)

type tensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// sampleRequest is input.json: zeros of each input's shape, every
// dynamic dimension 1.
// Put real values in it, and check real answers in
// TestInputJSON.
func sampleRequest(t *testing.T) []byte {
	t.Helper()
	body, err := os.ReadFile("input.json")
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestConformance runs the runtime's conformance kit against the model,
// with input.json as its inference request.
func TestConformance(t *testing.T) {
	runtimetest.Run(t, NewScorer("scorer", "model"),
		runtimetest.WithV2(string(sampleRequest(t)), ""),
		runtimetest.WithGRPC(), // health, metadata and input.json over gRPC too
	)
}

// TestMetadata checks the v2 model metadata, which ONNX Runtime reads
// from the model, against the signature above.
func TestMetadata(t *testing.T) {
	srv := runtimetest.Start(t, NewScorer("scorer", "model"))
	resp := srv.Get(t, "/v2/models/scorer")
	var meta struct {
		Platform        string
		Inputs, Outputs []tensorMetadata
	}
	if resp.Code != http.StatusOK || json.Unmarshal([]byte(resp.Body), &meta) != nil {
		t.Fatalf("GET /v2/models/scorer: got %d %s, want 200 with metadata", resp.Code, resp.Body)
	}
	if meta.Platform != "onnxruntime_onnx" || !reflect.DeepEqual(meta.Inputs, inputs) || !reflect.DeepEqual(meta.Outputs, outputs) {
		t.Errorf("metadata: got %s, want platform onnxruntime_onnx, inputs %+v, outputs %+v", resp.Body, inputs, outputs)
	}
}

// TestInputJSON sends input.json the way the README's curl does and
// checks the answer has every output, with its datatype and fixed
// dimensions.
func TestInputJSON(t *testing.T) {
	srv := runtimetest.Start(t, NewScorer("scorer", "model"))
	resp := srv.Do(t, http.MethodPost, "/v2/models/scorer/infer", "application/json", sampleRequest(t))
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

// TestBadInput checks that a request the model cannot take gets a 400
// naming what is wrong, and the server keeps serving.
func TestBadInput(t *testing.T) {
	srv := runtimetest.Start(t, NewScorer("scorer", "model"))
	resp := srv.PostJSON(t, "/v2/models/scorer/infer", "{\"id\":\"scorer-bad\",\"inputs\":[{\"name\":\"features\",\"shape\":[1,1],\"datatype\":\"FP64\",\"data\":[0]}]}")
	var body struct{ Error string }
	want := "input \"features\" has datatype FP64, but the model expects FP32"
	if resp.Code != http.StatusBadRequest || json.Unmarshal([]byte(resp.Body), &body) != nil || body.Error != want {
		t.Errorf("wrong datatype: got %d %s, want 400 with error %q", resp.Code, resp.Body, want)
	}
	if resp := srv.Get(t, "/v2/models/scorer/ready"); resp.Code != http.StatusOK {
		t.Errorf("after the bad request: ready got %d %s, want 200", resp.Code, resp.Body)
	}
}
