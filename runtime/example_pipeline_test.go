package runtime_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
)

// Summer is KServe's custom-model guide in Go: Preprocess turns the
// request into what Predict reads, Predict infers, Postprocess makes the
// answer friendlier. A request header comes in and a response header goes
// out, as the guide's model adds "prediction-time-latency".
type Summer struct{ ready atomic.Bool }

func (m *Summer) Name() string                   { return "summer" }
func (m *Summer) Load(ctx context.Context) error { m.ready.Store(true); return nil }
func (m *Summer) Ready() bool                    { return m.ready.Load() }

type rows struct {
	Instances [][]float64 `json:"instances"`
}

// Preprocess scales every value by the request's X-Scale header and hands
// Predict the scaled rows as a Payload, which DecodeBody (and Instances)
// then read in place of the body.
func (m *Summer) Preprocess(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Request, error) {
	scale := 1.0
	if s := h.Get("X-Scale"); s != "" {
		var err error
		if scale, err = strconv.ParseFloat(s, 64); err != nil {
			return nil, runtime.InvalidInputf("header X-Scale: %q is not a number", s) // a 400
		}
	}
	var body rows
	if err := req.DecodeBody(&body); err != nil {
		return nil, err // already the 400 the client should get
	}
	for _, row := range body.Instances {
		for i := range row {
			row[i] *= scale
		}
	}
	req.Payload = body
	return req, nil
}

// Predict sums each row.
func (m *Summer) Predict(ctx context.Context, req *infer.Request, h *runtime.Headers) (*infer.Response, error) {
	var body rows
	if err := req.DecodeBody(&body); err != nil { // the Payload Preprocess set
		return nil, err
	}
	sums := make([]float64, len(body.Instances))
	for i, row := range body.Instances {
		for _, v := range row {
			sums[i] += v
		}
	}
	h.Set("X-Rows", strconv.Itoa(len(sums))) // a response header (gRPC: header metadata)
	return runtime.PredictResponse(req, m.Name(), sums)
}

// Postprocess finds Predict's result in the Body PredictResponse made.
func (m *Summer) Postprocess(ctx context.Context, resp *infer.Response, h *runtime.Headers) (*infer.Response, error) {
	sums := resp.Body.(infer.Predictions).Predictions.([]float64)
	// The float 6 is written 6.0, as KServe writes a Python float (see
	// infer.Response.Body); a struct or []map[string]any would be too.
	out := make([]any, len(sums))
	for i, s := range sums {
		out[i] = map[string]any{"sum": s, "big": s > 10}
	}
	resp.Body = infer.Predictions{Predictions: out}
	return resp, nil
}

// A v1 model with Preprocess and Postprocess, reading a request header and
// setting a response header.
func Example_preprocessPostprocess() {
	cfg := config.Default()
	cfg.EnableGRPC = false
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := runtime.NewServer(cfg, runtime.WithHTTPListener(ln), runtime.WithLogOutput(io.Discard, io.Discard))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, &Summer{}) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		panic(err)
	}

	for _, scale := range []string{"2", "two"} {
		req, err := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/v1/models/summer:predict",
			strings.NewReader(`{"instances":[[1,2],[3,4]]}`))
		if err != nil {
			panic(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Scale", scale)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d X-Rows=%q %s\n", resp.StatusCode, resp.Header.Get("X-Rows"), b)
	}

	stop()
	if err := <-done; err != nil {
		panic(err)
	}
	// Output:
	// 200 X-Rows="2" {"predictions":[{"big":false,"sum":6.0},{"big":true,"sum":14.0}]}
	// 400 X-Rows="" {"error":"header X-Scale: \"two\" is not a number"}
}
