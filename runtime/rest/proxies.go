package rest

import (
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the peers whose X-Forwarded-For and X-Forwarded-Proto
// headers are believed: uvicorn's --forwarded-allow-ips, which KServe's
// server takes from $FORWARDED_ALLOW_IPS. A nil *Proxies trusts the
// loopback interface, where a KServe pod's proxies connect from (Knative's
// queue-proxy on 127.0.0.1, Istio's inbound passthrough on 127.0.0.6):
// uvicorn's default, 127.0.0.1, widened to the whole interface.
type Proxies struct {
	all      bool
	prefixes []netip.Prefix
}

// ParseProxies reads uvicorn's --forwarded-allow-ips syntax: "*" trusts
// every peer, else a comma-separated list of IP addresses and networks
// ("10.0.0.0/8"). uvicorn also takes other words as literals, which match
// peers on a Unix socket; this server listens on TCP only, so such
// entries match nothing and are returned in ignored for a warning.
func ParseProxies(list string) (p *Proxies, ignored []string) {
	p = &Proxies{}
	if strings.TrimSpace(list) == "*" {
		p.all = true
		return p, nil
	}
	for e := range strings.SplitSeq(list, ",") {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
		case strings.Contains(e, "/"):
			// Python's ip_network is strict: host bits set are an error,
			// which uvicorn's _TrustedHosts turns into a literal.
			if pre, err := netip.ParsePrefix(e); err == nil && pre == pre.Masked() {
				p.prefixes = append(p.prefixes, pre)
			} else {
				ignored = append(ignored, e)
			}
		default:
			if a, err := netip.ParseAddr(e); err == nil {
				a = a.Unmap()
				p.prefixes = append(p.prefixes, netip.PrefixFrom(a, a.BitLen()))
			} else {
				ignored = append(ignored, e)
			}
		}
	}
	return p, ignored
}

// trusts reports whether a is one of the proxies.
func (p *Proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	if p == nil {
		return a.IsLoopback()
	}
	if p.all {
		return true
	}
	for _, pre := range p.prefixes {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// trustsPeer reports whether addr ("ip:port", http.Request.RemoteAddr) is
// one of the proxies.
func (p *Proxies) trustsPeer(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	return err == nil && p.trusts(ap.Addr())
}

// Scheme is the scheme the client used: https on a TLS connection, else
// the X-Forwarded-Proto of a trusted proxy (an ingress that terminates TLS
// before Knative's queue-proxy), else http. KServe's 307 redirects keep
// it: an http one would send the client off TLS, or into the ingress's own
// redirect to https, which turns a POST into a GET. The header from any
// other peer is ignored, as uvicorn does.
func (p *Proxies) Scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	s := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")))
	if (s == "https" || s == "http") && p.trustsPeer(r.RemoteAddr) {
		return s
	}
	return "http"
}

// ClientAddr is the client's address for the access log, as uvicorn's
// proxy-headers middleware makes it: from a trusted proxy that sets
// X-Forwarded-For, the nearest address in it that is not itself trusted
// (the leftmost when all are, or when every peer is trusted), with port 0;
// else r.RemoteAddr. On KServe the peer is always the queue-proxy, so
// without this every access line would name 127.0.0.1 where KServe's names
// the caller.
func (p *Proxies) ClientAddr(r *http.Request) string {
	xff := r.Header.Values("X-Forwarded-For")
	if len(xff) == 0 || !p.trustsPeer(r.RemoteAddr) {
		return r.RemoteAddr
	}
	hosts := strings.Split(strings.Join(xff, ","), ",")
	host := strings.TrimSpace(hosts[0])
	if p == nil || !p.all {
		for i := len(hosts) - 1; i >= 0; i-- {
			host = strings.TrimSpace(hosts[i])
			if a, err := netip.ParseAddr(host); err != nil || !p.trusts(a) {
				break
			}
		}
	}
	if host == "" {
		return r.RemoteAddr
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]" // an IPv6 address; the log writes it unbracketed
	}
	return host + ":0"
}
