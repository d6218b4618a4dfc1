package rest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kserve-gen/kserve-gen/runtime/rest"
)

// TestModelVersionQuery: KServe's metadata, ready and infer handlers take
// model_version as an optional query parameter (/openapi.json lists it)
// and answer 501 to any version, as to the /versions/ paths; an empty one
// is no version. The model is still looked up after it, so the version
// check comes first.
func TestModelVersionQuery(t *testing.T) {
	url := startREST(t, rest.Options{})
	const versioning = `{"error":"Model versioning not supported yet."}`
	const body = `{"id":"1","inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`
	for _, c := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"GET", "/v2/models/passthrough?model_version=1", "", 501, versioning},
		{"GET", "/v2/models/nope?model_version=1", "", 501, versioning},
		{"GET", "/v2/models/passthrough/ready?model_version=1", "", 501, versioning},
		{"POST", "/v2/models/passthrough/infer?model_version=1", body, 501, versioning},
		{"GET", "/v2/models/passthrough/ready?model_version=1&model_version=", "", 200, `{"name":"passthrough","ready":true}`},
		{"GET", "/v2/models/passthrough/ready?model_version=", "", 200, `{"name":"passthrough","ready":true}`},
		{"GET", "/v2/models/passthrough/ready?version=1", "", 200, `{"name":"passthrough","ready":true}`},
		{"POST", "/v2/models/passthrough/infer?model_version=", body, 200,
			`{"model_name":"passthrough","model_version":null,"id":"1","parameters":null,"outputs":[{"name":"output-0","shape":[1],"datatype":"FP32","parameters":null,"data":[1.0]}]}`},
	} {
		req, err := http.NewRequest(c.method, url+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != c.code || string(b) != c.want {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, resp.StatusCode, b, c.code, c.want)
		}
	}
}
