package rest

import (
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// X-Forwarded-Proto is trusted from the configured proxies only (the
// loopback interface by default; uvicorn's default --forwarded-allow-ips
// is 127.0.0.1): any other client could otherwise choose the scheme of the
// redirects it is sent.
func TestProxies_Scheme(t *testing.T) {
	nets, _ := ParseProxies("10.0.0.0/8, 192.0.2.1")
	all, _ := ParseProxies(" * ")
	cases := []struct {
		proxies       *Proxies
		remote, proto string
		tls           bool
		want          string
	}{
		{nil, "127.0.0.1:40000", "https", false, "https"},
		{nil, "127.0.0.6:40000", " HTTPS ", false, "https"}, // Istio's inbound passthrough source
		{nil, "[::1]:40000", "https", false, "https"},
		{nil, "[::ffff:127.0.0.1]:40000", "https", false, "https"},
		{nil, "10.1.2.3:40000", "https", false, "http"},
		{nil, "127.0.0.1:40000", "ftp", false, "http"},
		{nil, "127.0.0.1:40000", "", false, "http"},
		{nil, "10.1.2.3:40000", "", true, "https"},
		{nil, "127.0.0.1:40000", "http", true, "https"},
		{nets, "10.1.2.3:40000", "https", false, "https"},
		{nets, "[::ffff:10.1.2.3]:40000", "https", false, "https"},
		{nets, "192.0.2.1:40000", "https", false, "https"},
		{nets, "192.0.2.2:40000", "https", false, "http"},
		{nets, "127.0.0.1:40000", "https", false, "http"}, // a list replaces the default
		{all, "203.0.113.7:40000", "https", false, "https"},
	}
	for _, c := range cases {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		assert.Equal(t, c.want, c.proxies.Scheme(r), "%+v", c)
	}
}

// The access log's client behind a trusted proxy is the one
// X-Forwarded-For names, as uvicorn's proxy-headers middleware makes it:
// the nearest untrusted address, port 0; with "*", the leftmost.
func TestProxies_ClientAddr(t *testing.T) {
	nets, _ := ParseProxies("10.0.0.0/8,127.0.0.1")
	all, _ := ParseProxies("*")
	cases := []struct {
		proxies *Proxies
		remote  string
		xff     []string
		want    string
	}{
		{nil, "127.0.0.1:40000", nil, "127.0.0.1:40000"},
		{nil, "127.0.0.1:40000", []string{"203.0.113.7"}, "203.0.113.7:0"},
		{nil, "127.0.0.1:40000", []string{"203.0.113.7, 10.0.0.9"}, "10.0.0.9:0"},
		{nil, "127.0.0.1:40000", []string{"203.0.113.7", "10.0.0.9, 127.0.0.1"}, "10.0.0.9:0"},
		{nil, "127.0.0.1:40000", []string{"127.0.0.5, 127.0.0.1"}, "127.0.0.5:0"},
		{nil, "[::1]:40000", []string{"2001:db8::1"}, "[2001:db8::1]:0"},
		{nil, "10.1.2.3:40000", []string{"203.0.113.7"}, "10.1.2.3:40000"},
		{nil, "127.0.0.1:40000", []string{" "}, "127.0.0.1:40000"},
		// An ingress inside the cluster network in front of the pod (raw
		// deployment): its own hops are skipped, the caller named.
		{nets, "10.1.2.3:40000", []string{"203.0.113.7, 10.0.0.9, 10.4.4.4"}, "203.0.113.7:0"},
		{nets, "10.1.2.3:40000", []string{"10.0.0.9, 10.4.4.4"}, "10.0.0.9:0"},
		{nets, "192.0.2.9:40000", []string{"203.0.113.7"}, "192.0.2.9:40000"},
		{all, "192.0.2.9:40000", []string{"203.0.113.7, 198.51.100.1"}, "203.0.113.7:0"},
	}
	for _, c := range cases {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{"X-Forwarded-For": c.xff}}
		assert.Equal(t, c.want, c.proxies.ClientAddr(r), "%+v", c)
	}
}

// Entries uvicorn would keep as literals (Unix socket paths, host names, a
// network with host bits set, which Python's ip_network refuses) match no
// TCP peer: they are returned for the server's warning, and the rest of
// the list still applies.
func TestParseProxies_Ignored(t *testing.T) {
	p, ignored := ParseProxies("10.0.0.1, ingress.local, 10.0.0.1/8,, /tmp/proxy.sock, ::1")
	assert.Equal(t, []string{"ingress.local", "10.0.0.1/8", "/tmp/proxy.sock"}, ignored)
	r := &http.Request{RemoteAddr: "[::1]:1", Header: http.Header{"X-Forwarded-Proto": {"https"}}}
	assert.Equal(t, "https", p.Scheme(r))
	r.RemoteAddr = "10.0.0.2:1"
	assert.Equal(t, "http", p.Scheme(r))
}
