package onnx

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/onnxgen"
	"github.com/kserve-gen/kserve-gen/runtime/pb"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

type served struct {
	url  string
	grpc pb.GRPCInferenceServiceClient
}

// serve runs a real model server (REST and gRPC on loopback) for models.
func serve(t testing.TB, models ...runtime.Model) served {
	t.Helper()
	srv := runtimetest.StartModels(t, models,
		runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithReadyTimeout(30*time.Second))
	conn, err := grpc.NewClient("passthrough:///"+srv.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return served{url: srv.URL, grpc: pb.NewGRPCInferenceServiceClient(conn)}
}

func httpDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestModel_ServesAnONNXFileOverV1V2AndGRPC(t *testing.T) {
	env := needEnv(t)
	mlp := onnxgen.NewMLP(4, 8, 3, true, 11)
	dir := t.TempDir()
	// A model folder as STORAGE_URI leaves it: the only .onnx file is served.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "classifier.onnx"), mlp.Model().Marshal(), 0o644))
	m := NewModel("mlp", dir, WithEnv(env), WithDevice("cpu"), WithReplicas(2))
	srv := serve(t, m)
	assert.Equal(t, ProviderCPU, m.Provider())
	assert.Equal(t, 2, m.Pool().Replicas())

	code, body := httpDo(t, "GET", srv.url+"/v2/models/mlp", "")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"name":"mlp","versions":null,"platform":"onnxruntime_onnx",
		"inputs":[{"name":"input","datatype":"FP32","shape":[-1,4]}],
		"outputs":[{"name":"probs","datatype":"FP32","shape":[-1,3]}]}`, body)

	md, err := srv.grpc.ModelMetadata(context.Background(), &pb.ModelMetadataRequest{Name: "mlp"})
	require.NoError(t, err)
	assert.Equal(t, "onnxruntime_onnx", md.Platform)
	assert.Equal(t, "input", md.Inputs[0].Name)
	assert.Equal(t, "FP32", md.Inputs[0].Datatype)
	assert.Equal(t, []int64{-1, 4}, md.Inputs[0].Shape)
	assert.Equal(t, []int64{-1, 3}, md.Outputs[0].Shape)

	x := []float32{0.5, -1, 2, 0.25, 1, 1, -0.5, 3}
	want := referenceMLP(mlp, x, 2)

	// v2 REST JSON.
	code, body = httpDo(t, "POST", srv.url+"/v2/models/mlp/infer",
		`{"id":"r1","inputs":[{"name":"input","datatype":"FP32","shape":[2,4],"data":[0.5,-1,2,0.25,1,1,-0.5,3]}]}`)
	require.Equal(t, 200, code, body)
	var v2 struct {
		ID      string `json:"id"`
		Model   string `json:"model_name"`
		Outputs []struct {
			Name     string    `json:"name"`
			Datatype string    `json:"datatype"`
			Shape    []int64   `json:"shape"`
			Data     []float64 `json:"data"`
		} `json:"outputs"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &v2))
	assert.Equal(t, "r1", v2.ID)
	assert.Equal(t, "mlp", v2.Model)
	require.Len(t, v2.Outputs, 1)
	assert.Equal(t, "probs", v2.Outputs[0].Name)
	assert.Equal(t, "FP32", v2.Outputs[0].Datatype)
	assert.Equal(t, []int64{2, 3}, v2.Outputs[0].Shape)
	assertClose(t, want, v2.Outputs[0].Data)

	// v1: instances feed the only input, predictions are the first output.
	code, body = httpDo(t, "POST", srv.url+"/v1/models/mlp:predict", `{"instances":[[0.5,-1,2,0.25],[1,1,-0.5,3]]}`)
	require.Equal(t, 200, code, body)
	var v1 struct {
		Predictions [][]float64 `json:"predictions"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &v1))
	require.Len(t, v1.Predictions, 2)
	assertClose(t, want, append(v1.Predictions[0], v1.Predictions[1]...))

	// gRPC with raw input contents (little-endian float32).
	raw := make([]byte, 4*len(x))
	for i, f := range x {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	resp, err := srv.grpc.ModelInfer(context.Background(), &pb.ModelInferRequest{
		ModelName: "mlp", Id: "g1",
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{2, 4}}},
		RawInputContents: [][]byte{raw},
	})
	require.NoError(t, err)
	assert.Equal(t, "g1", resp.Id)
	require.Len(t, resp.Outputs, 1)
	assert.Equal(t, []int64{2, 3}, resp.Outputs[0].Shape)
	var got []float64
	if len(resp.RawOutputContents) == 1 {
		for i := 0; i+4 <= len(resp.RawOutputContents[0]); i += 4 {
			got = append(got, float64(math.Float32frombits(binary.LittleEndian.Uint32(resp.RawOutputContents[0][i:]))))
		}
	} else {
		for _, f := range resp.Outputs[0].Contents.GetFp32Contents() {
			got = append(got, float64(f))
		}
	}
	assertClose(t, want, got)
}

func TestModel_BadRequestsAreClientErrors(t *testing.T) {
	env := needEnv(t)
	m := NewModel("mlp", writeModel(t, "mlp.onnx", onnxgen.NewMLP(4, 8, 3, true, 11).Model()), WithEnv(env), WithDevice("cpu"))
	scale := NewModel("scale", writeModel(t, "scale.onnx", onnxgen.Scale(3)), WithEnv(env), WithDevice("cpu"))
	srv := serve(t, m, scale)
	for _, tc := range []struct{ url, body, want string }{
		{"/v2/models/mlp/infer", `{"inputs":[{"name":"input","datatype":"FP64","shape":[1,4],"data":[1,2,3,4]}]}`,
			`{"error":"input \"input\" has datatype FP64, but the model expects FP32"}`},
		{"/v2/models/mlp/infer", `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,5],"data":[1,2,3,4,5]}]}`,
			`{"error":"input \"input\" has shape [1, 5], but the model expects [-1, 4] (dimension 1 must be 4)"}`},
		{"/v2/models/mlp/infer", `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}`,
			`{"error":"unexpected input \"x\": the model's inputs are input (FP32 [-1, 4])"}`},
		{"/v1/models/mlp:predict", `{"instances":[[1,2,3,4],[1,2,3]]}`,
			`{"error":"instances[1]: expected a list of 4 elements (instances must form a regular array of shape [2, 4]), got a list of 3 elements"}`},
		// An empty batch has no instance to take a shape from.
		{"/v1/models/mlp:predict", `{"instances":[]}`,
			`{"error":"\"instances\" is empty: send one instance per row of input \"input\" (FP32 [-1, 4])"}`},
		{"/v1/models/mlp:predict", `{"instances":[[1,2,"a",4]]}`,
			`{"error":"instances[0][2]: \"a\" is not a valid FP32 value for input \"input\""}`},
		{"/v1/models/scale:predict", `{"instances":[[1,2,3]]}`,
			`{"error":"model scale has 2 inputs (x FP32 [-1, 3], k INT64 []); the v1 protocol feeds only one, use the v2 protocol"}`},
	} {
		code, body := httpDo(t, "POST", srv.url+tc.url, tc.body)
		assert.Equal(t, 400, code, tc.body)
		assert.Equal(t, tc.want, body, tc.body)
	}
	// The scalar input over v2 JSON: shape [] and one value.
	code, body := httpDo(t, "POST", srv.url+"/v2/models/scale/infer",
		`{"id":"s","inputs":[{"name":"x","datatype":"FP32","shape":[1,3],"data":[1,-2,3]},{"name":"k","datatype":"INT64","shape":[],"data":[3]}],"outputs":[{"name":"positive"}]}`)
	require.Equal(t, 200, code, body)
	assert.Equal(t, `{"model_name":"scale","model_version":null,"id":"s","parameters":null,"outputs":[{"name":"positive","shape":[1,3],"datatype":"BOOL","parameters":null,"data":[true,false,true]}]}`, body)
}

func TestModel_FolderWithSeveralModelsNeedsAFile(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.onnx", "b.onnx"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), nil, 0o644))
	}
	_, err := ModelFile(dir)
	assert.EqualError(t, err, fmt.Sprintf("onnx model path %[1]s: the folder has 2 .onnx files (%[1]s/a.onnx, %[1]s/b.onnx) and no model.onnx; name the file to serve", dir))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.onnx"), nil, 0o644))
	got, err := ModelFile(dir)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "model.onnx"), got)
	_, err = ModelFile(t.TempDir())
	assert.ErrorContains(t, err, "the folder has no .onnx file")
}

// An archive unpacked with its own folder (resnet/model.onnx) is served
// from the folder it was unpacked into; hidden folders are not searched.
func TestModelFile_BelowTheTop(t *testing.T) {
	dir := t.TempDir()
	nested := filepath.Join(dir, "resnet", "v1", "resnet50.onnx")
	require.NoError(t, os.MkdirAll(filepath.Dir(nested), 0o755))
	require.NoError(t, os.WriteFile(nested, nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "resnet", "labels.txt"), nil, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".git"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".git", "old.onnx"), nil, 0o644))
	got, err := ModelFile(dir)
	require.NoError(t, err)
	assert.Equal(t, nested, got)

	other := filepath.Join(dir, "resnet", "resnet18.onnx")
	require.NoError(t, os.WriteFile(other, nil, 0o644))
	_, err = ModelFile(dir)
	assert.EqualError(t, err, fmt.Sprintf("onnx model path %[1]s: the folder has no .onnx file at its top and 2 below it (%[2]s, %[3]s); name the file to serve (--model_dir=<folder>/<file>, or STORAGE_ALLOW_PATTERNS for a hf:// download)", dir, other, nested))

	// Several below, one of them model.onnx (a Hub repository's onnx/
	// folder with its quantised variants): model.onnx.
	hub := t.TempDir()
	for _, n := range []string{"onnx/model.onnx", "onnx/model_fp16.onnx", "onnx/model_q4.onnx"} {
		require.NoError(t, os.MkdirAll(filepath.Join(hub, "onnx"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(hub, n), nil, 0o644))
	}
	got, err = ModelFile(hub)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(hub, "onnx", "model.onnx"), got)

	// One at the top wins over any below.
	top := filepath.Join(dir, "top.onnx")
	require.NoError(t, os.WriteFile(top, nil, 0o644))
	got, err = ModelFile(dir)
	require.NoError(t, err)
	assert.Equal(t, top, got)
}

func TestModel_InvalidDeviceFailsLoad(t *testing.T) {
	m := NewModel("m", "unused.onnx", WithDevice("tpu"))
	err := m.Load(context.Background())
	assert.EqualError(t, err, `invalid device "tpu": expected auto, cpu, cuda or cuda:N`)
	assert.False(t, m.Ready())
}

func TestModel_UnloadThenPredictIsNotReady(t *testing.T) {
	env := needEnv(t)
	m := NewModel("mlp", writeModel(t, "mlp.onnx", onnxgen.NewMLP(4, 8, 3, true, 11).Model()), WithEnv(env), WithDevice("cpu"))
	require.NoError(t, m.Load(context.Background()))
	require.True(t, m.Ready())
	require.NoError(t, m.Unload(context.Background()))
	assert.False(t, m.Ready())
	_, err := m.Predict(context.Background(), &infer.Request{Protocol: infer.ProtocolV2}, nil)
	assert.EqualError(t, err, "Model with name mlp is not ready.")
	require.NoError(t, m.Load(context.Background()), "a model can be loaded again")
	assert.True(t, m.Ready())
	require.NoError(t, m.Unload(context.Background()))
}

func assertClose(t *testing.T, want, got []float64) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		assert.InDelta(t, want[i], got[i], 1e-5, "element %d", i)
	}
}

// TestModel_ServesFP16Outputs: an FP16 output (read through a float32 Cast,
// see widenOutputs) reaches clients as the FP16 the model declares: raw
// bytes in the binary extension and over gRPC, numbers in v1, and over v2
// JSON the 400 KServe gives for FP16 (the protocol's JSON has no FP16).
func TestModel_ServesFP16Outputs(t *testing.T) {
	env := needEnv(t)
	g := &onnxgen.Model{Graph: onnxgen.Graph{
		Name:    "narrow",
		Nodes:   []onnxgen.Node{{Op: "Cast", Name: "narrow", Inputs: []string{"x"}, Outputs: []string{"half"}, Attrs: []onnxgen.Attr{onnxgen.IntAttr("to", int64(onnxgen.Float16))}}},
		Inputs:  []onnxgen.ValueInfo{{Name: "x", Elem: onnxgen.Float, Shape: onnxgen.Dims(-1, 2)}},
		Outputs: []onnxgen.ValueInfo{{Name: "half", Elem: onnxgen.Float16, Shape: onnxgen.Dims(-1, 2)}},
	}}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.onnx"), g.Marshal(), 0o644))
	srv := serve(t, NewModel("half", dir, WithEnv(env), WithDevice("cpu")))
	// 1, -2.5, 0.5, 65504 (the largest float16) as float16 bits
	want := []byte{0x00, 0x3c, 0x00, 0xc1, 0x00, 0x38, 0xff, 0x7b}
	request := func(params string) string {
		return `{"id":"h1",` + params + `"inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":[1,-2.5,0.5,65504]}]}`
	}

	code, body := httpDo(t, "GET", srv.url+"/v2/models/half", "")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"name":"half","versions":null,"platform":"onnxruntime_onnx",
		"inputs":[{"name":"x","datatype":"FP32","shape":[-1,2]}],
		"outputs":[{"name":"half","datatype":"FP16","shape":[-1,2]}]}`, body)

	code, body = httpDo(t, "POST", srv.url+"/v2/models/half/infer", request(`"parameters":{"binary_data_output":true},`))
	require.Equal(t, 200, code, body)
	head := `{"id":"h1","model_name":"half","model_version":null,"outputs":[{"name":"half","shape":[2,2],"datatype":"FP16","parameters":{"binary_data_size":8}}]}`
	assert.Equal(t, head+string(want), body)

	code, body = httpDo(t, "POST", srv.url+"/v2/models/half/infer", request(""))
	assert.Equal(t, 400, code)
	assert.Equal(t, `{"error":"Sending FP16 data via JSON is not supported. Please use the binary data format for output half"}`, body)

	code, body = httpDo(t, "POST", srv.url+"/v1/models/half:predict", `{"instances":[[1,-2.5],[0.5,65504]]}`)
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"predictions":[[1.0,-2.5],[0.5,65504.0]]}`, body)

	resp, err := srv.grpc.ModelInfer(context.Background(), &pb.ModelInferRequest{
		ModelName: "half", Id: "g1",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{2, 2},
			Contents: &pb.InferTensorContents{Fp32Contents: []float32{1, -2.5, 0.5, 65504}}}},
	})
	require.NoError(t, err)
	require.Len(t, resp.Outputs, 1)
	assert.Equal(t, "FP16", resp.Outputs[0].Datatype)
	assert.Equal(t, [][]byte{want}, resp.RawOutputContents)
}

// A model on a shared Env created without a Logger (the Env exists before
// the server has configured its logging) logs through the server's logging
// configuration, as a model with its own Env does. Its lines used to go to
// slog.Default(), in Go's log format, which a pipeline parsing
// --log_config_file's format cannot read.
func TestModel_SharedEnvLogsThroughTheServer(t *testing.T) {
	file := modelFile(t, "ch_ppocr_mobile_v2.0_cls_infer.onnx")
	env := NewEnv(EnvOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg := config.Default()
	cfg.EnableGRPC = false
	var stderr runtimetest.LogBuffer
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(io.Discard, &stderr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, NewModel("shared", file, WithEnv(env), WithDevice("cpu"))) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready")
	}
	cancel()
	require.NoError(t, <-done)
	line := `(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ kserve INFO \[\w+\.go:\S+\] `
	assert.Regexp(t, line+`ONNX Runtime \S+: sharing the environment already initialised in this process$`, stderr.String())
	assert.Regexp(t, line+`ONNX model shared: \S+ on CPUExecutionProvider \(device cpu\)`, stderr.String())
}
