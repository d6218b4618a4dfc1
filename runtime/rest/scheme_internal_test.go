package rest

import (
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// X-Forwarded-Proto is trusted from the loopback interface only (uvicorn's
// default --forwarded-allow-ips is 127.0.0.1): any other client could
// otherwise choose the scheme of the redirects it is sent.
func TestRequestScheme(t *testing.T) {
	cases := []struct {
		remote, proto string
		tls           bool
		want          string
	}{
		{"127.0.0.1:40000", "https", false, "https"},
		{"127.0.0.6:40000", " HTTPS ", false, "https"}, // Istio's inbound passthrough source
		{"[::1]:40000", "https", false, "https"},
		{"[::ffff:127.0.0.1]:40000", "https", false, "https"},
		{"10.1.2.3:40000", "https", false, "http"},
		{"127.0.0.1:40000", "ftp", false, "http"},
		{"127.0.0.1:40000", "", false, "http"},
		{"10.1.2.3:40000", "", true, "https"},
		{"127.0.0.1:40000", "http", true, "https"},
	}
	for _, c := range cases {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		assert.Equal(t, c.want, requestScheme(r), "%+v", c)
	}
}
