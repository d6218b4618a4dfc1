// Package headerval makes the response headers a model sets fit to send:
// the REST and gRPC transports send them alike.
package headerval

import (
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// ValidName reports whether k may be sent as a header (metadata) name;
// a model's header with another name is left out.
func ValidName(k string) bool { return httpguts.ValidHeaderFieldName(k) }

// Clean returns v with each control character of its values (a NUL, a
// line feed: bytes HTTP/1.1 and HTTP/2 refuse in a field value) replaced
// by a space. net/http writes a NUL as it is, and every client then
// refuses the whole response; grpc-go fails the call. v itself, the
// model's, is left as it is: a changed v is a copy.
func Clean(v []string) []string {
	cloned := false
	for i, s := range v {
		if httpguts.ValidHeaderFieldValue(s) {
			continue
		}
		if !cloned {
			v, cloned = slices.Clone(v), true
		}
		v[i] = strings.Map(func(r rune) rune {
			if (r < ' ' && r != '\t') || r == 0x7f {
				return ' '
			}
			return r
		}, s)
	}
	return v
}

// Sizes adds up a header list as HTTP/2 counts it (each name and value plus
// 32 bytes a field, RFC 9113 §6.5.2: what SETTINGS_MAX_HEADER_LIST_SIZE and
// grpc-go's and net/http's limits bound), and names the header that takes
// the most of it, the first name in order on a tie, so that a message
// blames the same header every time.
func Sizes(h map[string][]string) (total int, largestKey string, largest int) {
	for k, vs := range h {
		n := 0
		for _, v := range vs {
			n += len(k) + len(v) + 32
		}
		total += n
		if n > largest || n == largest && k < largestKey {
			largest, largestKey = n, k
		}
	}
	return total, largestKey, largest
}

// SetModelHeaders copies the headers a model set for its answer (the
// OpenAI and time-series requests' ResponseHeader) to dst, all but
// Content-Length, which net/http computes (as KServe recomputes it), and
// Content-Type, which the server sets; each value cleaned (Clean), since
// net/http writes control characters as they are and the answer would be
// refused whole.
func SetModelHeaders(dst, src map[string][]string) {
	for k, v := range src {
		if k == "Content-Length" || k == "Content-Type" {
			continue
		}
		dst[k] = Clean(v)
	}
}
