package runtime_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime"
	"github.com/kserve-gen/kserve-gen/runtime/config"
	"github.com/kserve-gen/kserve-gen/runtime/runtimetest"
)

// TestOpenAPI_ListsWithHandlerRoutes: a route added with WithHandler is in
// /openapi.json, as FastAPI lists the routes added to KServe's app, so
// Swagger UI at /docs shows it and "Try it out" calls it; KServe's own
// routes and schemas are there too, docs off or on.
func TestOpenAPI_ListsWithHandlerRoutes(t *testing.T) {
	rt := runtimetest.Start(t, &echoModel{name: "echo"}, runtimetest.WithLogOutput(io.Discard, io.Discard),
		runtimetest.WithConfig(func(c *config.Config) { c.EnableGRPC = false }),
		runtimetest.WithServerOptions(runtime.WithHandler("POST /openai/v1/completions", http.NotFoundHandler())))

	code, hdr, body := do(t, "GET", rt.URL+"/openapi.json", "", nil)
	require.Equal(t, 200, code, "/openapi.json is served without --enable_docs_url, as by FastAPI")
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	var doc struct {
		Info       struct{ Title, Version string }
		Paths      map[string]map[string]json.RawMessage
		Components struct{ Schemas map[string]json.RawMessage }
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	assert.Equal(t, "KServe ModelServer", doc.Info.Title)
	assert.Equal(t, runtime.Version, doc.Info.Version)
	assert.JSONEq(t, `{"summary":"Completions","operationId":"completions_openai_v1_completions_post",`+
		`"responses":{"200":{"description":"Successful Response","content":{"application/json":{"schema":{}}}}}}`,
		string(doc.Paths["/openai/v1/completions"]["post"]))
	assert.Len(t, doc.Paths["/openai/v1/completions"], 1, "only the pattern's method")
	assert.Contains(t, doc.Paths, "/v2/models/{model_name}/infer")
	assert.Contains(t, doc.Components.Schemas, "InferenceRequest")
	code, _, _ = do(t, "GET", rt.URL+"/docs", "", nil)
	assert.Equal(t, 404, code, "Swagger UI stays off without --enable_docs_url")
}
