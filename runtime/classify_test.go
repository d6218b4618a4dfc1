package runtime_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/forward"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// irisClassifier answers every request with class probabilities for two
// rows, and names its classes (model.Labeler).
type irisClassifier struct{ ready atomic.Bool }

func (m *irisClassifier) Name() string { return "iris" }
func (m *irisClassifier) Load(context.Context) error {
	m.ready.Store(true)
	return nil
}
func (m *irisClassifier) Ready() bool { return m.ready.Load() }
func (m *irisClassifier) Predict(_ context.Context, req *infer.Request, _ *runtime.Headers) (*infer.Response, error) {
	return &infer.Response{ID: req.ID, Outputs: []*infer.Tensor{
		infer.NewTensor("probs", []int64{2, 3}, []float32{0.1, 0.7, 0.2, 0.6, 0.3, 0.1}),
		infer.NewTensor("score", []int64{2}, []float32{0.5, 0.25}),
	}}, nil
}
func (m *irisClassifier) Labels(output string) []string {
	if output == "probs" {
		return []string{"setosa", "versicolor", "virginica"}
	}
	return nil
}

// TestClassificationExtension asks for an output's top classes over REST
// and gRPC: the answer has them as BYTES "value:index:label" strings in
// place of the values, other outputs as they are, and a bad count is a 400
// naming the output.
func TestClassificationExtension(t *testing.T) {
	srv := runtimetest.Start(t, &irisClassifier{})
	resp := srv.PostJSON(t, "/v2/models/iris/infer", `{"id":"1","inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[0]}],`+
		`"outputs":[{"name":"probs","parameters":{"classification":2}},{"name":"score"}]}`)
	assert.Equal(t, http.StatusOK, resp.Code)
	assert.Equal(t, `{"model_name":"iris","model_version":null,"id":"1","parameters":null,"outputs":[`+
		`{"name":"probs","shape":[2,2],"datatype":"BYTES","parameters":null,"data":["0.700000:1:versicolor","0.200000:2:virginica","0.600000:0:setosa","0.300000:1:versicolor"]},`+
		`{"name":"score","shape":[2],"datatype":"FP32","parameters":null,"data":[0.5,0.25]}]}`, resp.Body)

	resp = srv.PostJSON(t, "/v2/models/iris/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[0]}],"outputs":[{"name":"probs","parameters":{"classification":0}}]}`)
	assert.Equal(t, http.StatusBadRequest, resp.Code)
	assert.Equal(t, `{"error":"output 'probs': the classification parameter must be a positive integer, got 0"}`, resp.Body)

	gc, err := client.NewGRPC(srv.GRPCAddr)
	require.NoError(t, err)
	defer gc.Close()
	got, err := gc.Infer(context.Background(), &infer.Request{ModelName: "iris",
		Inputs:  []*infer.Tensor{infer.NewTensor("x", []int64{1}, []float32{0})},
		Outputs: []infer.RequestedOutput{{Name: "score", Parameters: infer.Parameters{"classification": int64(1)}}}})
	require.NoError(t, err)
	require.Len(t, got.Outputs, 1)
	strs, err := got.Outputs[0].AsStrings()
	require.NoError(t, err)
	assert.Equal(t, []string{"0.500000:0"}, strs, "a rank-1 output is one row; score has no labels")
	assert.Equal(t, []int64{1}, got.Outputs[0].Shape)
}

// TestClassificationThroughATransformer asks a transformer (forward.Model)
// for an output's top classes. The request's outputs, parameters included,
// go on to the predictor, which answers the extension with its own labels;
// the transformer answers what a client asking the predictor directly gets,
// over every predictor protocol, instead of classifying the predictor's
// BYTES answer a second time (a 400 "output 'probs' is BYTES: the
// classification extension ranks numbers").
func TestClassificationThroughATransformer(t *testing.T) {
	ps := runtimetest.Start(t, &irisClassifier{})
	const body = `{"id":"1","inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[0]}],` +
		`"outputs":[{"name":"probs","parameters":{"classification":2}},{"name":"score"}]}`
	direct := ps.PostJSON(t, "/v2/models/iris/infer", body)
	require.Equal(t, http.StatusOK, direct.Code, direct.Body)
	for _, proto := range []string{config.ProtocolV2, config.ProtocolGRPCV2} {
		t.Run(proto, func(t *testing.T) {
			host := strings.TrimPrefix(ps.URL, "http://")
			if proto == config.ProtocolGRPCV2 {
				host = ps.GRPCAddr
			}
			fm, err := forward.NewModel("iris", forward.Config{Host: host, Protocol: proto, Timeout: 5 * time.Second})
			require.NoError(t, err)
			ts := runtimetest.Start(t, fm)
			resp := ts.PostJSON(t, "/v2/models/iris/infer", body)
			assert.Equal(t, http.StatusOK, resp.Code)
			assert.Equal(t, direct.Body, resp.Body)
		})
	}
}
