package model

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Add works on fresh Headers (Response nil) and keeps earlier values; Set
// replaces them.
func TestHeaders_SetAndAdd(t *testing.T) {
	h := NewHeaders(nil)
	h.Add("Link", `</a>; rel="a"`)
	h.Add("link", `</b>; rel="b"`)
	h.Set("Prediction-Time-Latency", "1.5")
	assert.Equal(t, http.Header{
		"Link":                    {`</a>; rel="a"`, `</b>; rel="b"`},
		"Prediction-Time-Latency": {"1.5"},
	}, h.Response)
	h.Set("Link", "</c>")
	assert.Equal(t, []string{"</c>"}, h.Response.Values("Link"))
}
