package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pretrainedModel returns a model scripts/setup-onnx.sh --models installs.
func pretrainedModel(t *testing.T, name string) string {
	t.Helper()
	cache := os.Getenv("KSERVE_GEN_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		require.NoError(t, err)
		cache = filepath.Join(home, ".cache", "kserve-gen")
	}
	p := filepath.Join(cache, "models", name)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		if os.Getenv("KSERVE_GEN_REQUIRE_ONNX") != "" {
			t.Fatalf("%s is missing (run scripts/setup-onnx.sh --models); KSERVE_GEN_REQUIRE_ONNX is set", p)
		}
		t.Skipf("SKIPPED: %s is missing (run scripts/setup-onnx.sh --models)", p)
	}
	return p
}

// TestNew_PretrainedModelWalkthrough does what a user with an ONNX file
// does: kserve-gen new --model, go test ./... in the project (its tests
// check ONNX Runtime's metadata against the signature kserve-gen read),
// then serve it and send input.json with the README's curl. The models
// are real ones: PaddleOCR's text-direction classifier (one image input
// with dynamic height and width) and Silero VAD (four inputs, one an
// INT64 scalar, with shared symbolic dimensions: a batch of two rows).
func TestNew_PretrainedModelWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs generated projects")
	}
	work, bin := buildCLI(t)
	for _, c := range []struct {
		name, file, shape string
		outputs           map[string][]int64
		check             func(t *testing.T, outputs map[string][]float64)
		// batched: also serve with --max_batch_size (the batch dimensions
		// main.go takes from the model's dimension names).
		batched bool
		// labels: --labels with these class names; the classification
		// extension then names the top class.
		labels []string
	}{
		{"textdir", "ch_ppocr_mobile_v2.0_cls_infer.onnx", "x=1,3,48,192",
			map[string][]int64{"softmax_0.tmp_0": {1, 2}},
			func(t *testing.T, out map[string][]float64) {
				p := out["softmax_0.tmp_0"]
				assert.InDelta(t, 1, p[0]+p[1], 1e-5, "class probabilities %v", p)
			}, false, []string{"0", "180"}},
		// Two rows: the state h and c [2,batch,64] take the batch of 2
		// from input's --input-shape, their dimension of the same name.
		{"vad", "silero_vad.onnx", "input=2,512",
			map[string][]int64{"output": {2, 1}, "hn": {2, 2, 64}, "cn": {2, 2, 64}},
			func(t *testing.T, out map[string][]float64) {
				for _, speech := range out["output"] {
					assert.True(t, speech >= 0 && speech <= 1, "speech probability %v", speech)
				}
			}, true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			model := pretrainedModel(t, c.file)
			args := []string{"new", c.name, "--model", model, "--input-shape", c.shape, "--yes"}
			if c.labels != nil {
				labels := filepath.Join(t.TempDir(), "orientation.txt")
				require.NoError(t, os.WriteFile(labels, []byte(strings.Join(c.labels, "\n")+"\n"), 0o644))
				args = append(args, "--labels", labels)
			}
			runIn(t, work, bin, args...)
			dir := filepath.Join(work, c.name)
			runIn(t, dir, "go", "test", "./...")
			server := filepath.Join(dir, c.name)
			runIn(t, dir, "go", "build", "-o", server, ".")

			readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
			require.NoError(t, err)
			m := readmeCurl.FindSubmatch(readme)
			require.NotNil(t, m, "the README's curl command")
			body, err := os.ReadFile(filepath.Join(dir, "input.json"))
			require.NoError(t, err)

			srv := startServer(t, server, dir, nil, "--device=cpu")
			code, got := postJSON(t, srv.URL+string(m[1]), body)
			require.Equal(t, http.StatusOK, code, got)
			values := decodeOutputs(t, got, c.name, c.outputs)
			c.check(t, values)
			if c.labels != nil {
				// The classification extension, with model/labels.txt's names.
				var first string
				for name := range c.outputs {
					first = name
				}
				asked := bytes.TrimSuffix(bytes.TrimSpace(body), []byte("}"))
				asked = append(asked, []byte(`,"outputs":[{"name":"`+first+`","parameters":{"classification":1}}]}`)...)
				code, got := postJSON(t, srv.URL+string(m[1]), asked)
				require.Equal(t, http.StatusOK, code, got)
				assert.Regexp(t, `"datatype":"BYTES","parameters":null,"data":\["[01]\.\d{6}:[01]:(0|180)"\]`, got)
			}
			// Warmed up with input.json's shapes (--input-shape), not with
			// every dynamic dimension 1, which Silero VAD cannot take.
			logs := srv.stop(t)
			assert.Contains(t, logs, "ONNX model "+c.name+": model/model.onnx on CPUExecutionProvider")
			assert.NotContains(t, logs, "warm-up")
			if !c.batched {
				return
			}
			// Four requests at once, merged by the batcher along each
			// tensor's own batch dimension, each get the answer above.
			srv = startServer(t, server, dir, nil, "--device=cpu", "--max_batch_size=4", "--max_queue_delay=200ms")
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					code, got := postJSON(t, srv.URL+string(m[1]), body)
					if assert.Equal(t, http.StatusOK, code, got) {
						batched := decodeOutputs(t, got, c.name, c.outputs)
						for name, want := range values {
							assert.InDeltaSlice(t, want, batched[name], 1e-5, "%s: batched against alone", name)
						}
					}
				})
			}
			wg.Wait()
			assert.Contains(t, srv.stop(t), "Model "+c.name+" batches requests: up to 4 rows per call")
		})
	}
}

// decodeOutputs decodes a v2 answer of the model name to the README's
// request, checks each output's shape against shapes (and that it is FP32
// without NaN), and returns the outputs' values by name.
func decodeOutputs(t *testing.T, body, name string, shapes map[string][]int64) map[string][]float64 {
	t.Helper()
	var resp struct {
		ModelName string `json:"model_name"`
		ID        string
		Outputs   []struct {
			Name     string
			Shape    []int64
			Datatype string
			Data     []float64
		}
	}
	require.NoError(t, json.Unmarshal([]byte(body), &resp))
	assert.Equal(t, name, resp.ModelName)
	assert.Equal(t, name+"-1", resp.ID)
	values := map[string][]float64{}
	for _, o := range resp.Outputs {
		assert.Equal(t, shapes[o.Name], o.Shape, o.Name)
		assert.Equal(t, "FP32", o.Datatype, o.Name)
		for _, v := range o.Data {
			assert.False(t, math.IsNaN(v), o.Name)
		}
		values[o.Name] = o.Data
	}
	assert.Len(t, values, len(shapes), "every output")
	return values
}

// TestNew_ImageWalkthrough: kserve-gen new --model with PaddleOCR's
// classifier and --image symmetric (its own preprocessing). The project's
// tests pass; its server, sent a picture as the README says to send a
// photo (its echo command, then curl), as a v2 BYTES input and as v1
// {"image": {"b64": ...}}, answers as it answers the tensor PaddleOCR's
// preprocessing makes of that picture, which the test computes itself.
func TestNew_ImageWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a generated project")
	}
	work, bin := buildCLI(t)
	model := pretrainedModel(t, "ch_ppocr_mobile_v2.0_cls_infer.onnx")
	runIn(t, work, bin, "new", "orient", "--model", model, "--image", "symmetric", "--input-shape", "x=1,3,48,192", "--yes")
	dir := filepath.Join(work, "orient")
	runIn(t, dir, "go", "test", "./...")
	server := filepath.Join(dir, "orient")
	runIn(t, dir, "go", "build", "-o", server, ".")

	// A picture of the model's size (so stretching leaves it as it is):
	// dark bars on a light ground, darker to the right.
	const h, w = 48, 192
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	tensor := make([]float32, 3*h*w)
	for y := range h {
		for x := range w {
			v := uint8(230)
			if (x/12)%2 == 0 && y > 12 && y < 36 {
				v = uint8(40 + x/4)
			}
			px := color.RGBA{v, v, uint8(255 - int(v)/2), 255}
			img.SetRGBA(x, y, px)
			for c, b := range []uint8{px.R, px.G, px.B} {
				tensor[c*h*w+y*w+x] = (float32(b)/255 - 0.5) / 0.5
			}
		}
	}
	var picture bytes.Buffer
	require.NoError(t, png.Encode(&picture, img))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "photo.jpg"), picture.Bytes(), 0o644))

	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	echo := regexp.MustCompile(`(?m)^echo '.*' > input\.json$`).Find(readme)
	require.NotNil(t, echo, "the README's command for a photo of one's own")
	runIn(t, dir, "bash", "-c", string(echo))
	m := readmeCurl.FindSubmatch(readme)
	require.NotNil(t, m, "the README's curl command")
	body, err := os.ReadFile(filepath.Join(dir, "input.json"))
	require.NoError(t, err)

	srv := startServer(t, server, dir, nil, "--device=cpu")
	probs := func(body []byte) []float64 {
		t.Helper()
		code, got := postJSON(t, srv.URL+string(m[1]), body)
		require.Equal(t, http.StatusOK, code, got)
		var resp struct{ Outputs []struct{ Data []float64 } }
		require.NoError(t, json.Unmarshal([]byte(got), &resp))
		require.Len(t, resp.Outputs, 1)
		require.Len(t, resp.Outputs[0].Data, 2)
		return resp.Outputs[0].Data
	}
	asTensor, err := json.Marshal(map[string]any{"inputs": []any{map[string]any{"name": "x", "shape": []int{1, 3, h, w}, "datatype": "FP32", "data": tensor}}})
	require.NoError(t, err)
	want := probs(asTensor)
	assert.InDeltaSlice(t, want, probs(body), 1e-6, "the README's photo request against the tensor")
	b64 := base64.StdEncoding.EncodeToString(picture.Bytes())
	assert.InDeltaSlice(t, want, probs([]byte(`{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["`+b64+`"]}]}`)), 1e-6, "v2 BYTES")
	code, got := postJSON(t, srv.URL+"/v1/models/orient:predict", []byte(`{"instances":[{"image":{"b64":"`+b64+`"}}]}`))
	require.Equal(t, http.StatusOK, code, got)
	var v1 struct{ Predictions [][]float64 }
	require.NoError(t, json.Unmarshal([]byte(got), &v1))
	require.Len(t, v1.Predictions, 1)
	assert.InDeltaSlice(t, want, v1.Predictions[0], 1e-6, "v1 image.b64")
	t.Logf("p(0°), p(180°) = %v", want)
	srv.stop(t)

	// With the dynamic batcher, v1 and v2 pictures meet in one batch and
	// each gets its own answer.
	srv = startServer(t, server, dir, nil, "--device=cpu", "--max_batch_size=4", "--max_queue_delay=200ms")
	v1Body := []byte(`{"instances":[{"image":{"b64":"` + b64 + `"}}]}`)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			if i%2 == 0 {
				code, got := postJSON(t, srv.URL+string(m[1]), body)
				if assert.Equal(t, http.StatusOK, code, got) {
					assert.Contains(t, got, `"shape":[1,2]`)
				}
				return
			}
			code, got := postJSON(t, srv.URL+"/v1/models/orient:predict", v1Body)
			var v1 struct{ Predictions [][]float64 }
			if assert.Equal(t, http.StatusOK, code, got) && assert.NoError(t, json.Unmarshal([]byte(got), &v1)) && assert.Len(t, v1.Predictions, 1, got) {
				assert.InDeltaSlice(t, want, v1.Predictions[0], 1e-5, "batched v1 image.b64")
			}
		})
	}
	wg.Wait()
	assert.Contains(t, srv.stop(t), "Model orient batches requests: up to 4 rows per call")
}
