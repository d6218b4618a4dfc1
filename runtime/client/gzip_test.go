package client_test

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// WithRESTGzip sends bodies gzipped, which the real server reads on v1,
// v2 JSON and the binary extension alike.
func TestREST_GzipRoundTrip(t *testing.T) {
	s := serve(t, &echo{name: "echo"})
	v1, err := client.NewREST(client.WithRESTGzip())
	require.NoError(t, err)
	resp, err := v1.Infer(ctxT(t), s.URL, &infer.Request{ModelName: "echo", IsJSON: true, Body: []byte(`{"instances":[[1,2],[3,4]]}`)})
	require.NoError(t, err)
	assert.Equal(t, `{"predictions":[[1,2],[3,4]]}`, string(resp.Body.(json.RawMessage)))

	v2, err := client.NewREST(client.WithProtocol(client.V2), client.WithRESTGzip())
	require.NoError(t, err)
	in := infer.NewTensor("x", []int64{2, 2}, []float32{1.5, -2, 3.25, 0})
	for _, opts := range [][]client.InferOption{nil, {client.WithJSONData()}} {
		resp, err := v2.Infer(ctxT(t), s.URL, &infer.Request{Protocol: infer.ProtocolV2, ModelName: "echo", ID: "g", Inputs: []*infer.Tensor{in}}, opts...)
		require.NoError(t, err)
		require.Len(t, resp.Outputs, 1)
		sameData(t, in, resp.Outputs[0])
	}
}

// What goes on the wire: the gzipped body with Content-Encoding: gzip
// (on every retry), nothing without the option; a 415 keeps its kind.
func TestREST_GzipOnTheWire(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		got = append(got, r.Header.Get("Content-Encoding")+" "+string(b))
		w.Header().Set("Content-Type", "application/json")
		if len(got) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // retried, gzipped again
			_, _ = w.Write([]byte(`{"error":"later"}`))
			return
		}
		if strings.Contains(string(b), "br") {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			_, _ = w.Write([]byte(`{"error":"Unsupported Content-Encoding 'br'"}`))
			return
		}
		_, _ = w.Write([]byte(`{"predictions":[1]}`))
	}))
	t.Cleanup(srv.Close)
	gz, err := client.NewREST(client.WithRESTGzip(), client.WithRESTRetries(1))
	require.NoError(t, err)
	_, err = gz.Infer(ctxT(t), srv.URL, &infer.Request{ModelName: "m", IsJSON: true, Body: []byte(`{"instances":[1]}`)})
	require.NoError(t, err)
	plain, err := client.NewREST()
	require.NoError(t, err)
	_, err = plain.Infer(ctxT(t), srv.URL, &infer.Request{ModelName: "m", IsJSON: true, Body: []byte(`{"instances":[2]}`)})
	require.NoError(t, err)
	assert.Equal(t, []string{`gzip {"instances":[1]}`, `gzip {"instances":[1]}`, ` {"instances":[2]}`}, got)

	_, err = plain.Infer(ctxT(t), srv.URL, &infer.Request{ModelName: "m", IsJSON: true, Body: []byte(`{"instances":["br"]}`)})
	require.Error(t, err)
	assert.Equal(t, status.KindUnsupportedMediaType, status.KindOf(err))
	assert.Equal(t, `Unsupported Content-Encoding 'br'`, err.Error())
}
