package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// CustomModelV2 is the custom-model-v2 model. It has the shape of KServe's Python
// custom predictor: Load runs once before the server reports ready, then
// every request goes Preprocess → Predict → Postprocess.
//
// The "model" here is a stand-in so the project runs end to end: it scores
// each image by the share of its bytes in each of 16 ranges and returns the
// top 5 scores, where the seed's AlexNet returns its top 5 logits. Replace
// Load and Predict with your model; keep the tests in model_test.go in step.
type CustomModelV2 struct {
	name  string
	ready atomic.Bool
	// buckets is the stand-in's only "weight", set by Load.
	buckets int
}

// NewCustomModelV2 returns the model, to be loaded by the server.
func NewCustomModelV2(name string) *CustomModelV2 {
	return &CustomModelV2{name: name}
}

// The server finds Predict, Preprocess and Postprocess by their method
// sets; these lines make a misspelt or mistyped one (PreProcess, another
// parameter list) a compile error instead of a step silently skipped.
var (
	_ runtime.Predictor     = (*CustomModelV2)(nil)
	_ runtime.Preprocessor  = (*CustomModelV2)(nil)
	_ runtime.Postprocessor = (*CustomModelV2)(nil)
)

// Name is the name the model is served under.
func (m *CustomModelV2) Name() string { return m.name }

// Ready reports whether Load has finished; readiness probes ask it.
func (m *CustomModelV2) Ready() bool { return m.ready.Load() }

// Load loads the model into memory: read weights, build sessions, warm up.
// For weights from --model_dir or $STORAGE_URI (downloaded when remote),
// have main.go make the server first, srv := runtime.NewServer(*cfg), call
// srv.ResolveModelDir(ctx) for the folder, pass it to NewCustomModelV2, then
// srv.Run(ctx, model).
func (m *CustomModelV2) Load(ctx context.Context) error {
	m.buckets = 16
	m.ready.Store(true)
	return nil
}

// v1Body is a v1 request. Its instances are decoded one by one, so an
// instance of another shape is named by its index rather than by
// encoding/json's Go types.
type v1Body struct {
	Instances []json.RawMessage `json:"instances"`
}

// v1Instance follows the TensorFlow V1 HTTP API for binary values,
// {"image": {"b64": "..."}}, like the seed's input.json.
type v1Instance struct {
	Image struct {
		B64 string `json:"b64"`
	} `json:"image"`
}

// Preprocess turns a v1 request's base64 images into a BYTES input tensor,
// so Predict reads v1 and v2 (REST or gRPC) requests the same way.
func (m *CustomModelV2) Preprocess(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Request, error) {
	if req.Protocol != infer.ProtocolV1 {
		return req, nil
	}
	var body v1Body
	if err := req.DecodeBody(&body); err != nil {
		return nil, err
	}
	if len(body.Instances) == 0 {
		return nil, runtime.InvalidInput(`expected "instances": [{"image": {"b64": "..."}}, ...]`)
	}
	images := make([][]byte, len(body.Instances))
	for i, raw := range body.Instances {
		var inst v1Instance
		if err := json.Unmarshal(raw, &inst); err != nil {
			return nil, runtime.InvalidInput(fmt.Sprintf(`instances[%d] is not {"image": {"b64": "..."}}`, i))
		}
		img, err := base64.StdEncoding.DecodeString(inst.Image.B64)
		if err != nil {
			return nil, runtime.InvalidInput(fmt.Sprintf("instances[%d].image.b64 is not base64: %v", i, err))
		}
		if len(img) == 0 {
			return nil, runtime.InvalidInput(fmt.Sprintf("instances[%d].image.b64 is empty", i))
		}
		images[i] = img
	}
	req.Inputs = []*infer.Tensor{infer.NewTensor("input-0", []int64{int64(len(images))}, images)}
	return req, nil
}

// Predict scores every image of the first input: a BYTES tensor with one
// image per element. The scores are one row of m.buckets per image.
func (m *CustomModelV2) Predict(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	start := time.Now()
	if len(req.Inputs) == 0 {
		return nil, runtime.InvalidInput("expected one BYTES input with an image per element")
	}
	in := req.Inputs[0]
	if in.Datatype != infer.BYTES {
		// Says what each element must hold, which AsBytes's error cannot.
		return nil, runtime.InvalidInput(fmt.Sprintf("input %s is %s, expected BYTES with an image per element", in.Name, in.Datatype))
	}
	images, err := in.AsBytes()
	if err != nil {
		return nil, err
	}
	scores := make([][]float32, len(images))
	for i, img := range images {
		if len(img) == 0 {
			return nil, runtime.InvalidInput(fmt.Sprintf("input %s: image %d is empty", in.Name, i))
		}
		// Counted in ints: a float32 stops counting at 2^24 (16 MiB of
		// one bucket's bytes), and the shares would no longer add up to 100.
		counts := make([]int, m.buckets)
		for _, b := range img {
			counts[int(b)*m.buckets/256]++
		}
		row := make([]float32, m.buckets)
		for k, n := range counts {
			row[k] = float32(n) * (100 / float32(len(img)))
		}
		scores[i] = row
	}
	// Custom response headers reach the client on v1 and v2 (REST headers,
	// gRPC metadata), as the seed's return_response_headers=True does.
	ms := float64(time.Since(start).Nanoseconds()) / 1e6
	h.Set("prediction-time-latency", strconv.FormatFloat(math.Round(ms*1e9)/1e9, 'f', -1, 64))
	if req.Protocol == infer.ProtocolV1 {
		return runtime.PredictResponse(req, m.name, scores)
	}
	return runtime.PredictResponse(req, m.name, infer.NewTensor("output-0", []int64{int64(len(scores)), int64(m.buckets)}, slices.Concat(scores...)))
}

// topK is how many scores Postprocess keeps per image (the seed's topk(output, 5)).
const topK = 5

// Postprocess keeps the top 5 scores of every image, highest first: v1
// answers {"predictions": [[...]]}, v2 an FP32 output-0 of shape [images, 5].
func (m *CustomModelV2) Postprocess(ctx context.Context, resp *infer.Response, h *runtime.Headers) (*infer.Response, error) {
	if p, ok := resp.Body.(infer.Predictions); ok {
		rows, ok := p.Predictions.([][]float32)
		if !ok {
			return nil, fmt.Errorf("postprocess: predictions are %T, want [][]float32", p.Predictions)
		}
		for i, row := range rows {
			rows[i] = top(row, topK)
		}
		resp.Body = infer.Predictions{Predictions: rows}
		return resp, nil
	}
	out := resp.Output("output-0")
	if out == nil || len(out.Shape) != 2 {
		return nil, fmt.Errorf("postprocess: want a 2-d output-0")
	}
	flat, err := out.AsFloat32()
	if err != nil {
		return nil, err
	}
	n, width := int(out.Shape[0]), int(out.Shape[1])
	k := min(topK, width)
	kept := make([]float32, 0, n*k)
	for i := range n {
		kept = append(kept, top(flat[i*width:(i+1)*width], k)...)
	}
	resp.Outputs = []*infer.Tensor{infer.NewTensor("output-0", []int64{int64(n), int64(k)}, kept)}
	return resp, nil
}

// top returns the k largest values of row, highest first.
func top(row []float32, k int) []float32 {
	sorted := slices.Clone(row)
	slices.SortFunc(sorted, func(a, b float32) int { return cmp.Compare(b, a) })
	return sorted[:min(k, len(sorted))]
}
