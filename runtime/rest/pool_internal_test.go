package rest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
)

type echoModel struct{}

func (echoModel) Name() string               { return "echo" }
func (echoModel) Load(context.Context) error { return nil }
func (echoModel) Ready() bool                { return true }
func (echoModel) Predict(_ context.Context, req *infer.Request, _ *model.Headers) (*infer.Response, error) {
	if req.Protocol == infer.ProtocolV1 {
		return infer.PredictResponse(req, "echo", req.RawInstances())
	}
	in := req.Inputs[0]
	return infer.PredictResponse(req, "echo", &infer.Tensor{Name: "output-0", Datatype: in.Datatype, Shape: in.Shape, Data: in.Data})
}

// heapAfterGC is the live heap once the collector has run.
func heapAfterGC() uint64 {
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// One large answer must not leave its encoding buffer in the handler's pool:
// small requests keep drawing it from there, so it would stay in the heap
// for as long as the pod serves traffic (one per request that was answering
// at once, for ever).
func TestLargeResponseBufferIsNotKeptForSmallRequests(t *testing.T) {
	// One P: the pool's per-P slot the handler puts to is the one the next
	// request gets from, as it is on a busy server's every P.
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(1))
	dp := dataplane.New(dataplane.Options{MaxConcurrency: 2})
	if err := dp.Register(echoModel{}, ""); err != nil {
		t.Fatal(err)
	}
	h := New(dp, Options{MaxRequestBodySize: 64 << 20})
	post := func(path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
		}
		return w
	}
	small := func() {
		for range 10 {
			post("/v2/models/echo/infer", `{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2]}]}`)
			post("/v1/models/echo:predict", `{"instances":[1,2]}`)
		}
	}
	const n = 1 << 20 // 1 Mi values: answers of 2–6 MB
	data := strings.TrimSuffix(strings.Repeat("1.5,", n), ",")
	bigV2 := fmt.Sprintf(`{"inputs":[{"name":"x","shape":[%d],"datatype":"FP32","data":[%s]}]}`, n, data)
	bigV1 := `{"instances":[` + data + `]}`

	small()
	before := heapAfterGC()
	for _, big := range []struct{ path, body string }{{"/v2/models/echo/infer", bigV2}, {"/v1/models/echo:predict", bigV1}} {
		if w := post(big.path, big.body); !bytes.Contains(w.Body.Bytes(), []byte("1.5,1.5")) {
			t.Fatalf("POST %s: answer without the data", big.path)
		}
		for range 4 { // small traffic across collections, as a server sees
			goruntime.GC()
			small()
		}
	}
	after := heapAfterGC()
	goruntime.KeepAlive(bigV1) // live in both measures
	goruntime.KeepAlive(bigV2)
	if grown := int64(after) - int64(before); grown > 1<<20 {
		t.Errorf("live heap grew by %d bytes after two large answers and 160 small requests (%d -> %d): their buffers stay pooled", grown, before, after)
	}
}
