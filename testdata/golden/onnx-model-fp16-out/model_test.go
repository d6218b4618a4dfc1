package main

import (
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// The signature kserve-gen read from halfout.onnx (model/model.onnx),
// -1 for a dynamic dimension. TestMetadata checks that ONNX Runtime reads
// the model the same way: keep these in step when you replace the model.
var (
	inputs = []tensorMetadata{
		{Name: "x", Datatype: "FP32", Shape: []int64{-1, 4}}, // [batch,4]
	}
	outputs = []tensorMetadata{
		{Name: "half", Datatype: "FP16", Shape: []int64{-1, 4}}, // [batch,4]
		{Name: "copy", Datatype: "FP32", Shape: []int64{-1, 4}}, // [batch,4]
	}
)

type tensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// sampleRequest is input.json: zeros of each input's shape, every
// dynamic dimension 1.
// It asks for the outputs in binary ("binary_data_output"): FP16 outputs
// (half) have no JSON form. The answer is a JSON
// header, then the outputs' bytes (see answerHeader).
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

// TestConformance runs the runtime's conformance kit against the model
// (health, readiness, metadata, errors; its inference exchange is JSON,
// which cannot carry FP16: TestInputJSON sends input.json).
func TestConformance(t *testing.T) {
	runtimetest.Run(t, NewHalfout("halfout", "model"))
}

// TestMetadata checks the v2 model metadata, which ONNX Runtime reads
// from the model, against the signature above.
func TestMetadata(t *testing.T) {
	srv := runtimetest.Start(t, NewHalfout("halfout", "model"))
	resp := srv.Get(t, "/v2/models/halfout")
	var meta struct {
		Platform        string
		Inputs, Outputs []tensorMetadata
	}
	if resp.Code != http.StatusOK || json.Unmarshal([]byte(resp.Body), &meta) != nil {
		t.Fatalf("GET /v2/models/halfout: got %d %s, want 200 with metadata", resp.Code, resp.Body)
	}
	if meta.Platform != "onnxruntime_onnx" || !reflect.DeepEqual(meta.Inputs, inputs) || !reflect.DeepEqual(meta.Outputs, outputs) {
		t.Errorf("metadata: got %s, want platform onnxruntime_onnx, inputs %+v, outputs %+v", resp.Body, inputs, outputs)
	}
}

// TestInputJSON sends input.json the way the README's curl does and
// checks the answer has every output, with its datatype and fixed
// dimensions.
func TestInputJSON(t *testing.T) {
	srv := runtimetest.Start(t, NewHalfout("halfout", "model"))
	resp := srv.Do(t, http.MethodPost, "/v2/models/halfout/infer", "application/json", sampleRequest(t))
	if resp.Code != http.StatusOK {
		t.Fatalf("POST input.json: got %d %s, want 200", resp.Code, resp.Body)
	}
	var v2 struct{ Outputs []tensorMetadata }
	if header := answerHeader(t, resp.Header, []byte(resp.Body)); json.Unmarshal(header, &v2) != nil {
		t.Fatalf("POST input.json: the answer's header %s is not JSON", header)
	}
	checkOutputs(t, v2.Outputs)
}

// answerHeader returns the JSON header of an answer in the binary tensor
// extension (its length in Inference-Header-Content-Length) and checks
// that the bytes after it are as many as its outputs' binary_data_size
// say.
func answerHeader(t *testing.T, h http.Header, body []byte) []byte {
	t.Helper()
	n, err := strconv.Atoi(h.Get("Inference-Header-Content-Length"))
	if err != nil || n < 0 || n > len(body) {
		t.Fatalf("answer of %d bytes with Inference-Header-Content-Length %q: want a binary answer", len(body), h.Get("Inference-Header-Content-Length"))
	}
	var sizes struct {
		Outputs []struct {
			Parameters struct {
				BinaryDataSize int `json:"binary_data_size"`
			}
		}
	}
	if err := json.Unmarshal(body[:n], &sizes); err != nil {
		t.Fatalf("answer header %q: %v", body[:n], err)
	}
	total := 0
	for _, o := range sizes.Outputs {
		total += o.Parameters.BinaryDataSize
	}
	if total != len(body)-n {
		t.Errorf("answer: %d bytes after the header, but its binary_data_size add up to %d", len(body)-n, total)
	}
	return body[:n]
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
	srv := runtimetest.Start(t, NewHalfout("halfout", "model"))
	resp := srv.PostJSON(t, "/v2/models/halfout/infer", "{\"id\":\"halfout-bad\",\"inputs\":[{\"name\":\"x\",\"shape\":[1,1],\"datatype\":\"FP64\",\"data\":[0]}]}")
	var body struct{ Error string }
	want := "input \"x\" has datatype FP64, but the model expects FP32"
	if resp.Code != http.StatusBadRequest || json.Unmarshal([]byte(resp.Body), &body) != nil || body.Error != want {
		t.Errorf("wrong datatype: got %d %s, want 400 with error %q", resp.Code, resp.Body, want)
	}
	if resp := srv.Get(t, "/v2/models/halfout/ready"); resp.Code != http.StatusOK {
		t.Errorf("after the bad request: ready got %d %s, want 200", resp.Code, resp.Body)
	}
}
