package runtime_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/forward"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/model"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// flakyPredictor answers 503 / UNAVAILABLE while fails is positive, one
// less each call, then echoes its inputs.
type flakyPredictor struct {
	ready atomic.Bool
	fails atomic.Int64
}

func (m *flakyPredictor) Name() string { return "iris" }
func (m *flakyPredictor) Load(context.Context) error {
	m.ready.Store(true)
	return nil
}
func (m *flakyPredictor) Ready() bool { return m.ready.Load() }
func (m *flakyPredictor) Predict(_ context.Context, req *infer.Request, _ *model.Headers) (*infer.Response, error) {
	if m.fails.Add(-1) >= 0 {
		return nil, status.Unavailable("predictor is restarting", nil)
	}
	return &infer.Response{ModelName: "iris", Outputs: []*infer.Tensor{infer.NewTensor("y", []int64{1}, []float32{1})}}, nil
}

// predictorLines is the transformer's kserve_predictor_* samples.
func predictorLines(t *testing.T, ts *runtimetest.Server) string {
	t.Helper()
	resp := ts.Get(t, "/metrics")
	require.Equal(t, http.StatusOK, resp.Code)
	var out []string
	for l := range strings.Lines(resp.Body) {
		if strings.HasPrefix(l, "kserve_predictor_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// A transformer's retries to its predictor, and the calls that failed
// after their last attempt, are in its /metrics by model and predictor
// protocol: a flapping predictor no longer shows only as slower predicts.
func TestPredictorRetriesAndFailuresInMetrics(t *testing.T) {
	const body = `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[0]}]}`
	for _, tc := range []struct {
		proto, code string
		firstFails  int64 // failed attempts of the first call, retried until it succeeds
	}{
		{config.ProtocolV2, "503", 2},
		{config.ProtocolGRPCV2, "Unavailable", 1},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			p := &flakyPredictor{}
			ps := runtimetest.Start(t, p, runtimetest.WithGRPC())
			host := strings.TrimPrefix(ps.URL, "http://")
			if tc.proto == config.ProtocolGRPCV2 {
				host = ps.GRPCAddr
			}
			fm, err := forward.NewModel("iris", forward.Config{Host: host, Protocol: tc.proto, Timeout: 10 * time.Second, Retries: 3})
			require.NoError(t, err)
			ts := runtimetest.Start(t, fm)
			assert.Equal(t, fmt.Sprintf(`kserve_predictor_retries_total{model_name="iris",protocol="%s"} 0
`, tc.proto), predictorLines(t, ts), "the retries' series is there from the start, at 0")

			p.fails.Store(tc.firstFails)
			resp := ts.PostJSON(t, "/v2/models/iris/infer", body)
			require.Equal(t, http.StatusOK, resp.Code, resp.Body)
			p.fails.Store(100) // every attempt fails: 1 + 3 retries
			resp = ts.PostJSON(t, "/v2/models/iris/infer", body)
			require.Equal(t, http.StatusServiceUnavailable, resp.Code, resp.Body)

			assert.Equal(t, fmt.Sprintf(`kserve_predictor_failures_total{code="%s",model_name="iris",protocol="%s"} 1
kserve_predictor_retries_total{model_name="iris",protocol="%s"} %d
`, tc.code, tc.proto, tc.proto, tc.firstFails+3), predictorLines(t, ts))
		})
	}
}

// A predictor nobody answers for is a failure coded "unreachable", and a
// v1 predictor's calls are labelled protocol="v1".
func TestPredictorUnreachableInMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	host := ln.Addr().String()
	require.NoError(t, ln.Close())
	fm, err := forward.NewModel("iris", forward.Config{Host: host, Protocol: config.ProtocolV1, Timeout: 10 * time.Second, Retries: 1})
	require.NoError(t, err)
	ts := runtimetest.Start(t, fm)
	resp := ts.PostJSON(t, "/v1/models/iris:predict", `{"instances":[[1]]}`)
	require.Equal(t, http.StatusServiceUnavailable, resp.Code, resp.Body)
	assert.Equal(t, `kserve_predictor_failures_total{code="unreachable",model_name="iris",protocol="v1"} 1
kserve_predictor_retries_total{model_name="iris",protocol="v1"} 1
`, predictorLines(t, ts))
}
