// Command grpc-client is the Go version of KServe's custom-model
// grpc_client.py: it reads an image from a v1 JSON request file
// ({"instances":[{"image":{"b64":"..."}}]}), sends its bytes as a BYTES
// input "input-0" of shape [1] to the model over the Open Inference
// Protocol on gRPC, and prints the response.
//
//	INGRESS_HOST=localhost INGRESS_PORT=8081 MODEL_NAME=custom-model go run . -input ../input.json
//
// SERVICE_HOSTNAME, when set, is sent as the HTTP/2 authority (the Host an
// ingress routes on), like the Python client's target-name override.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
	"unicode/utf8"

	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

func main() {
	input := flag.String("input", "../input.json", "v1 request file holding instances[0].image.b64")
	timeout := flag.Duration("timeout", 60*time.Second, "call timeout")
	flag.Parse()
	if err := run(context.Background(), os.Getenv, *input, *timeout, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "grpc-client:", err)
		os.Exit(1)
	}
}

func getenvOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// run sends the request and writes the response to out.
func run(ctx context.Context, getenv func(string) string, input string, timeout time.Duration, out io.Writer) error {
	image, err := readImage(input)
	if err != nil {
		return err
	}
	target := getenvOr(getenv, "INGRESS_HOST", "localhost") + ":" + getenvOr(getenv, "INGRESS_PORT", "8081")
	opts := []client.GRPCOption{client.WithGRPCTimeout(timeout)}
	if host := getenv("SERVICE_HOSTNAME"); host != "" {
		opts = append(opts, client.WithAuthority(host))
	}
	c, err := client.NewGRPC(target, opts...)
	if err != nil {
		return err
	}
	defer c.Close()

	req := &infer.Request{
		ModelName: getenvOr(getenv, "MODEL_NAME", "custom-model"),
		Inputs:    []*infer.Tensor{infer.NewTensor("input-0", []int64{1}, [][]byte{image})},
	}
	resp, err := c.Infer(ctx, req)
	if err != nil {
		return fmt.Errorf("infer on %s: %w", target, err)
	}
	return printResponse(out, resp)
}

// readImage returns the decoded instances[0].image.b64 of a v1 request file.
func readImage(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var body struct {
		Instances []struct {
			Image struct {
				B64 string `json:"b64"`
			} `json:"image"`
		} `json:"instances"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(body.Instances) == 0 || body.Instances[0].Image.B64 == "" {
		return nil, errors.New(path + `: want {"instances":[{"image":{"b64":"<base64>"}}]}`)
	}
	img, err := base64.StdEncoding.DecodeString(body.Instances[0].Image.B64)
	if err != nil {
		return nil, fmt.Errorf("%s: instances[0].image.b64: %w", path, err)
	}
	return img, nil
}

// printResponse writes the response as v2 JSON; BYTES outputs print as
// strings when they are UTF-8, else as base64.
func printResponse(out io.Writer, resp *infer.Response) error {
	type tensor struct {
		Name     string         `json:"name"`
		Shape    []int64        `json:"shape"`
		Datatype infer.Datatype `json:"datatype"`
		Data     any            `json:"data"`
	}
	v := struct {
		ID        string   `json:"id"`
		ModelName string   `json:"model_name"`
		Outputs   []tensor `json:"outputs"`
	}{ID: resp.ID, ModelName: resp.ModelName}
	for _, t := range resp.Outputs {
		data := t.Data
		if d, ok := data.([]uint8); ok { // not base64: numbers, like every other datatype
			w := make([]uint16, len(d))
			for i, x := range d {
				w[i] = uint16(x)
			}
			data = w
		}
		if d, ok := data.([][]byte); ok {
			data = bytesData(d)
		}
		if t.Datatype == infer.FP16 {
			f, err := t.Float64s()
			if err != nil {
				return err
			}
			data = f
		}
		v.Outputs = append(v.Outputs, tensor{Name: t.Name, Shape: t.Shape, Datatype: t.Datatype, Data: data})
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// bytesData returns BYTES elements as strings when all are UTF-8 (JSON
// strings), else as [][]byte (base64 in JSON).
func bytesData(d [][]byte) any {
	s := make([]string, len(d))
	for i, b := range d {
		if !utf8.Valid(b) {
			return d
		}
		s[i] = string(b)
	}
	return s
}
