package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/forward"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// CustomTransformerV2 is the custom-transformer-v2 transformer: KServe's transformer pattern.
// Preprocess turns the client's request into the predictor's, the embedded
// forward.Model sends it to --predictor_host, and Postprocess turns the
// predictor's answer into the client's.
//
// This one takes text, sends it to a predictor as the seed's image payload
// (a `kserve-gen new --template rest` project is such a predictor), and
// turns the predictor's top-5 percentages into fractions. Replace
// Preprocess and Postprocess with your own steps.
type CustomTransformerV2 struct {
	*forward.Model
}

// NewCustomTransformerV2 returns the transformer; cfg says where the predictor is.
func NewCustomTransformerV2(name string, cfg forward.Config) (*CustomTransformerV2, error) {
	m, err := forward.NewModel(name, cfg)
	if err != nil {
		return nil, err
	}
	return &CustomTransformerV2{Model: m}, nil
}

// The server finds Preprocess and Postprocess by their method sets; these
// lines make a misspelt or mistyped one (PreProcess, another parameter
// list) a compile error instead of a step silently skipped.
var (
	_ runtime.Preprocessor  = (*CustomTransformerV2)(nil)
	_ runtime.Postprocessor = (*CustomTransformerV2)(nil)
)

// textBody is what clients send: {"instances": [{"text": "..."}]}. Its
// instances are decoded one by one, so an instance of another shape is
// named by its index rather than by encoding/json's Go types.
type textBody struct {
	Instances []json.RawMessage `json:"instances"`
}

// textInstance is one instance: {"text": "..."}.
type textInstance struct {
	Text *string `json:"text"`
}

// Preprocess encodes every text as the predictor's image input: v1
// {"image": {"b64": ...}} instances, or for v2 the BYTES input "text"
// renamed input-0.
func (m *CustomTransformerV2) Preprocess(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Request, error) {
	if req.Protocol != infer.ProtocolV1 {
		in := req.Input("text")
		if in == nil || in.Datatype != infer.BYTES {
			return nil, runtime.InvalidInput(`expected a BYTES input named "text"`)
		}
		// Checked here, while it is still the client's "text": the runtime
		// checks the request Preprocess returns, whose input is input-0.
		if err := in.Validate("input"); err != nil {
			return nil, err
		}
		texts, err := in.AsBytes()
		if err != nil {
			return nil, err
		}
		for i, text := range texts {
			if len(text) == 0 {
				return nil, runtime.InvalidInput(fmt.Sprintf("input text: element %d is empty", i))
			}
		}
		out := *in
		out.Name = "input-0"
		req.Inputs = []*infer.Tensor{&out}
		return req, nil
	}
	// KServe's "Expected "instances" to be a list", rather than
	// encoding/json's message naming textBody's Go types.
	if err := req.ParseV1(); err != nil {
		return nil, err
	}
	var body textBody
	if err := req.DecodeBody(&body); err != nil {
		return nil, err
	}
	if len(body.Instances) == 0 {
		return nil, runtime.InvalidInput(`expected "instances": [{"text": "..."}, ...]`)
	}
	type image struct {
		B64 string `json:"b64"`
	}
	instances := make([]map[string]image, len(body.Instances))
	for i, raw := range body.Instances {
		var inst textInstance
		if err := json.Unmarshal(raw, &inst); err != nil {
			return nil, runtime.InvalidInput(fmt.Sprintf(`instances[%d] is not {"text": "..."}`, i))
		}
		if inst.Text == nil || *inst.Text == "" {
			return nil, runtime.InvalidInput(fmt.Sprintf("instances[%d].text is missing or empty", i))
		}
		instances[i] = map[string]image{"image": {B64: base64.StdEncoding.EncodeToString([]byte(*inst.Text))}}
	}
	req.Payload = map[string]any{"instances": instances}
	return req, nil
}

// Postprocess turns the predictor's percentages into fractions of 1.
func (m *CustomTransformerV2) Postprocess(ctx context.Context, resp *infer.Response, h *runtime.Headers) (*infer.Response, error) {
	if raw, ok := resp.Body.(json.RawMessage); ok {
		var p struct {
			Predictions [][]float64 `json:"predictions"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, runtime.InferenceError(fmt.Sprintf("the predictor answered %s, not {\"predictions\": [[numbers]]}", raw), "")
		}
		for _, row := range p.Predictions {
			for i := range row {
				row[i] /= 100
			}
		}
		resp.Body = infer.Predictions{Predictions: p.Predictions}
		return resp, nil
	}
	for _, out := range resp.Outputs {
		data, err := out.AsFloat32()
		if err != nil {
			return nil, runtime.InferenceError(fmt.Sprintf("the predictor's output %s: %v", out.Name, err), "")
		}
		for i := range data {
			data[i] /= 100
		}
	}
	return resp, nil
}
