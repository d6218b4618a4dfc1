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

// The access log's client behind a proxy on the loopback interface is the
// one X-Forwarded-For names, as uvicorn's proxy-headers middleware makes
// it: the nearest untrusted address, port 0.
func TestClientAddr(t *testing.T) {
	cases := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"127.0.0.1:40000", nil, "127.0.0.1:40000"},
		{"127.0.0.1:40000", []string{"203.0.113.7"}, "203.0.113.7:0"},
		{"127.0.0.1:40000", []string{"203.0.113.7, 10.0.0.9"}, "10.0.0.9:0"},
		{"127.0.0.1:40000", []string{"203.0.113.7", "10.0.0.9, 127.0.0.1"}, "10.0.0.9:0"},
		{"127.0.0.1:40000", []string{"127.0.0.5, 127.0.0.1"}, "127.0.0.5:0"},
		{"[::1]:40000", []string{"2001:db8::1"}, "[2001:db8::1]:0"},
		{"10.1.2.3:40000", []string{"203.0.113.7"}, "10.1.2.3:40000"},
		{"127.0.0.1:40000", []string{" "}, "127.0.0.1:40000"},
	}
	for _, c := range cases {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{"X-Forwarded-For": c.xff}}
		assert.Equal(t, c.want, ClientAddr(r), "%+v", c)
	}
}
