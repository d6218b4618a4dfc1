package vision

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// Images returns the encoded images a request carries for the model input
// named input:
//
//   - v1: {"instances": [...]}, each instance {"image": {"b64": "..."}}
//     (KServe's custom predictor guide), {"b64": "..."} (TensorFlow's V1
//     HTTP API for binary values) or a base64 string;
//   - v2 over REST or gRPC: input as a BYTES tensor, one encoded image per
//     element (over JSON, base64 text: Decode accepts either).
//
// A v2 request whose input is not BYTES (a tensor the client computed
// itself) returns nil images and no error, so it can pass unchanged. A
// malformed instance is an InvalidInput error naming it.
func Images(req *infer.Request, input string) ([][]byte, error) {
	if req.Protocol != infer.ProtocolV1 {
		t := req.Input(input)
		if t == nil || t.Datatype != infer.BYTES {
			return nil, nil
		}
		images, err := t.AsBytes()
		if err != nil {
			return nil, status.InvalidInputf("input %s: %v", input, err)
		}
		return images, nil
	}
	var body struct {
		Instances []json.RawMessage `json:"instances"`
	}
	if err := req.DecodeBody(&body); err != nil {
		return nil, err
	}
	if len(body.Instances) == 0 {
		return nil, status.InvalidInputf(`expected "instances": [{"image": {"b64": "..."}}, ...], one image each`)
	}
	images := make([][]byte, len(body.Instances))
	for i, raw := range body.Instances {
		b64, err := instanceB64(raw)
		if err != nil {
			return nil, status.InvalidInputf("instances[%d]: %v", i, err)
		}
		img, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, status.InvalidInputf("instances[%d]: the image is not base64: %v", i, err)
		}
		if len(img) == 0 {
			return nil, status.InvalidInputf("instances[%d]: the image is empty", i)
		}
		images[i] = img
	}
	return images, nil
}

// instanceB64 is the base64 text of one v1 instance.
func instanceB64(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var inst struct {
		Image *struct {
			B64 *string `json:"b64"`
		} `json:"image"`
		B64 *string `json:"b64"`
	}
	if err := json.Unmarshal(raw, &inst); err == nil {
		switch {
		case inst.Image != nil && inst.Image.B64 != nil:
			return *inst.Image.B64, nil
		case inst.B64 != nil:
			return *inst.B64, nil
		}
	}
	return "", fmt.Errorf(`want {"image": {"b64": "..."}}, {"b64": "..."} or a base64 string, got %.40s`, raw)
}

// Apply replaces the images a request carries for input (see Images) with
// the tensor s makes of them, keeping the request's other inputs; a
// request without images for it is returned as it is. It is a model's
// Preprocess for an image input:
//
//	func (m *Model) Preprocess(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Request, error) {
//		return imageSpec.Apply(req, "x")
//	}
//
// An image that cannot be decoded is an InvalidInput error naming it
// (instances[i] in v1, the input and element in v2); errors.Is finds
// ErrNotImage or ErrTooLarge in it.
func (s Spec) Apply(req *infer.Request, input string) (*infer.Request, error) {
	if err := s.Check(); err != nil {
		return nil, err // the server's setting, not the client's request
	}
	images, err := Images(req, input)
	if err != nil || images == nil {
		return req, err
	}
	where := func(i int) string { return fmt.Sprintf("input %s, image %d", input, i) }
	if req.Protocol == infer.ProtocolV1 {
		where = func(i int) string { return fmt.Sprintf("instances[%d]", i) }
	}
	t, err := s.tensor(input, images, where)
	if err != nil {
		return nil, invalidImages(err)
	}
	for i, in := range req.Inputs {
		if in.Name == input {
			req.Inputs[i] = t
			return req, nil
		}
	}
	req.Inputs = append(req.Inputs, t)
	return req, nil
}
