package rest

import (
	"net/http"
	"sync"

	"github.com/swaggest/swgui/v5emb"
)

// serveDocs serves Swagger UI (assets embedded in the swgui module, no CDN)
// over /openapi.json.
func (h *Handler) serveDocs(w http.ResponseWriter, r *http.Request) {
	h.docsOnce.Do(func() {
		h.docs = v5emb.New("KServe ModelServer", "/openapi.json", "/docs/")
	})
	if r.URL.Path == "/docs" {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/docs/"
		r = r2
	}
	h.docs.ServeHTTP(&docsWriter{ResponseWriter: w, h: h}, r)
}

// docsWriter turns the asset server's plain-text 404 for an unknown path
// under /docs/ into the {"detail":"Not Found"} every other unknown path
// gets.
type docsWriter struct {
	http.ResponseWriter
	h        *Handler
	notFound bool
}

func (d *docsWriter) WriteHeader(code int) {
	if code == http.StatusNotFound {
		d.notFound = true
		hdr := d.ResponseWriter.Header()
		hdr.Del("X-Content-Type-Options")
		d.h.detail(d.ResponseWriter, http.StatusNotFound)
		return
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *docsWriter) Write(b []byte) (int, error) {
	if d.notFound {
		return len(b), nil // the plain-text body, replaced
	}
	return d.ResponseWriter.Write(b)
}

type docsState struct {
	docsOnce sync.Once
	docs     http.Handler
}

// openAPIDocument describes the REST routes (always served, as FastAPI does).
func openAPIDocument() []byte { return []byte(openAPI) }

const openAPI = `{"openapi":"3.1.0","info":{"title":"KServe ModelServer","version":"0.1.0"},"paths":{` +
	`"/":{"get":{"summary":"Liveness","responses":{"200":{"description":"{\"status\":\"alive\"}"}}}},` +
	`"/metrics":{"get":{"summary":"Prometheus metrics","responses":{"200":{"description":"text exposition"}}}},` +
	`"/v1/models":{"get":{"summary":"List models","responses":{"200":{"description":"{\"models\":[...]}"}}}},` +
	`"/v1/models/{model_name}":{"get":{"summary":"Model ready (v1)","parameters":[{"name":"model_name","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"{\"name\":..,\"ready\":true}"},"404":{"description":"unknown model"},"503":{"description":"not ready"}}}},` +
	`"/v1/models/{model_name}:predict":{"post":{"summary":"Predict (v1)","parameters":[{"name":"model_name","in":"path","required":true,"schema":{"type":"string"}}],"requestBody":{"content":{"application/json":{"schema":{"type":"object","example":{"instances":[[1.0,2.0,3.0,4.0]]}}},"application/cloudevents+json":{"schema":{"type":"object","example":{"specversion":"1.0","id":"1","source":"example","type":"com.example.request","time":"2026-01-01T00:00:00Z","data":{"instances":[[1.0,2.0,3.0,4.0]]}}}}}},"responses":{"200":{"description":"{\"predictions\":[...]}; a CloudEvent (binary: ce-* headers, or structured) when the request was one"}}}},` +
	`"/v1/models/{model_name}:explain":{"post":{"summary":"Explain (v1)","parameters":[{"name":"model_name","in":"path","required":true,"schema":{"type":"string"}}],"requestBody":{"content":{"application/json":{"schema":{"type":"object"}}}},"responses":{"200":{"description":"explanation"}}}},` +
	`"/v2":{"get":{"summary":"Server metadata","responses":{"200":{"description":"{\"name\":\"kserve\",...}"}}}},` +
	`"/v2/health/live":{"get":{"summary":"Server live","responses":{"200":{"description":"{\"live\":true}"}}}},` +
	`"/v2/health/ready":{"get":{"summary":"Server ready (all models ready)","responses":{"200":{"description":"{\"ready\":true}"},"503":{"description":"not ready"}}}},` +
	`"/v2/models":{"get":{"summary":"List models","responses":{"200":{"description":"{\"models\":[...]}"}}}},` +
	`"/v2/models/{model_name}":{"get":{"summary":"Model metadata","parameters":[{"name":"model_name","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"metadata"},"404":{"description":"unknown model"}}}},` +
	`"/v2/models/{model_name}/ready":{"get":{"summary":"Model ready","parameters":[{"name":"model_name","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"ready"},"503":{"description":"not ready"}}}},` +
	`"/v2/models/{model_name}/infer":{"post":{"summary":"Infer (Open Inference Protocol)","parameters":[{"name":"model_name","in":"path","required":true,"schema":{"type":"string"}}],"requestBody":{"content":{"application/json":{"schema":{"type":"object","example":{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP32","data":[1.0,2.0,3.0,4.0]}]}}},"application/octet-stream":{"schema":{"type":"string","format":"binary"}}}},"responses":{"200":{"description":"InferenceResponse"}}}},` +
	`"/v2/repository/models/{model_name}/load":{"post":{"summary":"Load model","parameters":[{"name":"model_name","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"{\"name\":..,\"load\":true}"}}}},` +
	`"/v2/repository/models/{model_name}/unload":{"post":{"summary":"Unload model","parameters":[{"name":"model_name","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"{\"name\":..,\"unload\":true}"}}}}` +
	`}}`
