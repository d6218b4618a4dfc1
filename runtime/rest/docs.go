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
	// /docs is Swagger UI's page, as FastAPI's; FastAPI serves Swagger
	// UI's OAuth2 redirect page at /docs/oauth2-redirect, the asset
	// server at /docs/oauth2-redirect.html.
	var p string
	switch r.URL.Path {
	case "/docs":
		p = "/docs/"
	case "/docs/oauth2-redirect":
		p = "/docs/oauth2-redirect.html"
	}
	if p != "" {
		r2 := r.Clone(r.Context())
		r2.URL.Path = p
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

	openAPIOnce sync.Once
	openAPI     []byte // /openapi.json (openapi.go)
	openAPIErr  error
}
