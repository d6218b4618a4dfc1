package vision_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/vision"
)

// A white 4×2 PNG, as a client would send it.
func whitePNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 2))
	for y := range 2 {
		for x := range 4 {
			img.Set(x, y, color.White)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// Spec.Apply is a model's Preprocess: the images a v1 or v2 request carries
// for the input become the tensor the model takes.
func ExampleSpec_Apply() {
	spec := vision.Symmetric // stretched, values in [-1, 1]
	spec.Height, spec.Width = 2, 2

	b64 := base64.StdEncoding.EncodeToString(whitePNG())
	req := &infer.Request{Protocol: infer.ProtocolV1, IsJSON: true,
		Body: []byte(`{"instances":[{"image":{"b64":"` + b64 + `"}}]}`)}
	req, err := spec.Apply(req, "x")
	if err != nil {
		panic(err)
	}
	x := req.Input("x")
	fmt.Println(x.Name, x.Datatype, x.Shape, x.Data)

	bad := &infer.Request{Protocol: infer.ProtocolV1, IsJSON: true, Body: []byte(`{"instances":["bm90IGFuIGltYWdl"]}`)}
	_, err = spec.Apply(bad, "x")
	fmt.Println(err)
	// Output:
	// x FP32 [1 3 2 2] [1 1 1 1 1 1 1 1 1 1 1 1]
	// instances[0]: not an image (PNG, JPEG, GIF, BMP or WebP)
}
