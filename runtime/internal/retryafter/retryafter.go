// Package retryafter reads an HTTP Retry-After header, which the runtime's
// REST client and the storage package's token requests both honour.
package retryafter

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Parse is the wait a Retry-After value asks for: delay-seconds or an HTTP
// date (RFC 9110, section 10.2.3), never negative; 0 for an empty or
// unreadable value. Callers cap it as their protocol requires.
func Parse(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
