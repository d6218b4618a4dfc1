package rest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/metrics"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/rest"
)

type passthrough struct{}

func (passthrough) Name() string               { return "passthrough" }
func (passthrough) Load(context.Context) error { return nil }
func (passthrough) Ready() bool                { return true }
func (passthrough) Predict(_ context.Context, req *infer.Request, _ *model.Headers) (*infer.Response, error) {
	if req.Protocol == infer.ProtocolV1 {
		return infer.PredictResponse(req, "passthrough", req.RawInstances())
	}
	in := req.Inputs[0]
	return infer.PredictResponse(req, "passthrough", &infer.Tensor{Name: "output-0", Datatype: in.Datatype, Shape: in.Shape, Data: in.Data})
}

func benchHandler(b *testing.B, path string, body []byte, header ...string) {
	dp := dataplane.New(dataplane.Options{MaxConcurrency: 6, Metrics: metrics.New(), Latency: func(string, dataplane.Timings) {}})
	if err := dp.Register(passthrough{}, ""); err != nil {
		b.Fatal(err)
	}
	h := rest.New(dp, rest.Options{MaxRequestBodySize: 1 << 20})
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

func BenchmarkHandlerV1Small(b *testing.B) {
	benchHandler(b, "/v1/models/passthrough:predict", []byte(`{"instances":[[1.0,2.0,3.0,4.0]]}`))
}

func BenchmarkHandlerV2Small(b *testing.B) {
	benchHandler(b, "/v2/models/passthrough/infer", []byte(`{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP32","data":[1.0,2.0,3.0,4.0]}]}`))
}

// The same request gzipped (tritonclient's request_compression_algorithm):
// what decompressing costs a small body.
func BenchmarkHandlerV2SmallGzip(b *testing.B) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP32","data":[1.0,2.0,3.0,4.0]}]}`))
	_ = zw.Close()
	benchHandler(b, "/v2/models/passthrough/infer", buf.Bytes(), "Content-Encoding", "gzip")
}
