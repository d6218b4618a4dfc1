package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/oauth2"
)

// tokenProbe notes how the token requests of a sign-in (gs:// credentials,
// an Azure service principal) ended, so that a first token that failed
// tells a token endpoint that could not be reached, or failed on its side,
// from one that refused the credentials, or credentials that never made a
// request (a key that does not parse, a token file that cannot be read).
// The first is a source that cannot be asked, which a cached copy outlasts
// (listFailed); the others are configuration errors no cache may hide.
// The errors do not say which: the oauth2 packages flatten a connection
// error into text (the jwt flow of a service account key does).
type tokenProbe struct {
	mu       sync.Mutex
	answered bool   // the last token request got an answer that is not a failure of the endpoint's side
	endpoint string // the last token request's URL when it got none, or a failure
}

// tokenClient is the client token requests go through: the resolver's (a
// proxy, a test's stand-in endpoint), no credentials following a redirect
// elsewhere, and each request noted in the returned probe.
func (r Resolver) tokenClient() (*tokenProbe, *http.Client) {
	p := &tokenProbe{}
	c := r.withTransport(func(rt http.RoundTripper) http.RoundTripper { return &probeTransport{base: rt, probe: p} })
	return p, noAuthElsewhere(c)
}

func (p *tokenProbe) note(endpoint string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endpoint, p.answered = endpoint, endpoint == ""
}

// failed gives err, the first token's error (an *Error), the kind the
// last token request makes it: ErrDownload when the endpoint could not be
// reached or failed on its side (5xx, 408, 429, an answer cut short),
// wrapped in a tokenUnreachable naming the endpoint; ErrNotFound when the
// endpoint answered no, as a bucket's 401 is; ErrInvalidURI when no
// request was made, as an unreadable credentials file is.
func (p *tokenProbe) failed(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	p.mu.Lock()
	endpoint, answered := p.endpoint, p.answered
	p.mu.Unlock()
	switch {
	case endpoint != "":
		return &tokenUnreachable{endpoint: endpoint, err: &Error{Msg: e.Msg, Kind: ErrDownload}}
	case answered:
		return &Error{Msg: e.Msg, Kind: ErrNotFound}
	}
	return &Error{Msg: e.Msg, Kind: ErrInvalidURI}
}

// tokenUnreachable is a first token that failed for want of reaching its
// endpoint: its message is the error's, and endpoint is for the warning
// of serving a cached copy instead.
type tokenUnreachable struct {
	endpoint string
	err      error
}

func (e *tokenUnreachable) Error() string { return e.err.Error() }
func (e *tokenUnreachable) Unwrap() error { return e.err }

// probeTransport notes in probe how each request ended.
type probeTransport struct {
	base  http.RoundTripper
	probe *tokenProbe
}

func (t *probeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	endpoint := shownURL(req.URL.String())
	resp, err := t.base.RoundTrip(req)
	switch {
	case err != nil:
		t.probe.note(endpoint)
		return nil, err
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests:
		t.probe.note(endpoint)
	default:
		t.probe.note("")
		resp.Body = &probeBody{ReadCloser: resp.Body, probe: t.probe, endpoint: endpoint}
	}
	return resp, nil
}

// probeBody notes an answer cut short as a request that got none.
type probeBody struct {
	io.ReadCloser
	probe    *tokenProbe
	endpoint string
}

func (b *probeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.probe.note(b.endpoint)
	}
	return n, err
}

// signInFailed decides what a failed sign-in means, as listFailed does
// for a listing: a token endpoint that could not be reached serves the
// cached copy of s, if there is one, with a warning; any other error, or
// no cached copy, is err.
func (r Resolver) signInFailed(ctx context.Context, s *snapshot, err error) (string, error) {
	var u *tokenUnreachable
	if !errors.As(err, &u) {
		return "", err
	}
	if r.openSnapshot(s) != nil {
		return "", err // no cache folder: nothing cached
	}
	return r.cannotAsk(ctx, s, fmt.Sprintf("Cannot get an access token from %s for %s", u.endpoint, s.uri), err)
}

// tokenAnswer says on one line how a token endpoint answered no: `the
// token endpoint answered 400 (invalid_grant): Invalid JWT Signature.`,
// the status, the OAuth error code and the description's first line (the
// rest of Entra's is trace and correlation ids), not the oauth2 package's
// quoting of the whole answer over several lines. ok is false when err
// carries no answer (a connection error, credentials that never made a
// request).
func tokenAnswer(err error) (answer string, ok bool) {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return "", false
	}
	code, detail := re.ErrorCode, re.ErrorDescription
	if code == "" {
		// The jwt flow of a service account key returns the answer
		// unparsed (jwt.jwtSource.Token); the others parse it.
		var body struct {
			Error       json.RawMessage `json:"error"`
			Description string          `json:"error_description"`
		}
		if json.Unmarshal(re.Body, &body) == nil && json.Unmarshal(body.Error, &code) == nil {
			detail = body.Description
		}
	}
	if code == "" {
		detail = string(re.Body) // not OAuth's JSON: a proxy's page, say
	}
	detail, _, _ = strings.Cut(strings.TrimSpace(detail), "\n")
	detail = strings.TrimSpace(detail)
	if len(detail) > 300 {
		detail = detail[:300] + "..."
	}
	answer = fmt.Sprintf("the token endpoint answered %d", re.Response.StatusCode)
	if code != "" {
		answer += " (" + code + ")"
	}
	if detail != "" {
		answer += ": " + detail
	}
	return answer, true
}

// bearerTransport sets a current OAuth token (a gs:// sign-in's, an Azure
// service principal's) on requests to origin (scheme and host) only: not
// on a redirect elsewhere, nor to plain http. tokenError words a token
// that could not be had; version, when set, is sent as x-ms-version (the
// Blob service REST version, which bearer tokens need at 2017-11-09 or
// later).
type bearerTransport struct {
	base       http.RoundTripper
	origin     *url.URL
	source     oauth2.TokenSource
	tokenError func(error) error
	version    string
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if leavesOrigin(t.origin, req.URL) {
		return t.base.RoundTrip(req)
	}
	tok, err := t.source.Token()
	if err != nil {
		return nil, t.tokenError(err)
	}
	req = req.Clone(req.Context())
	if t.version != "" {
		req.Header.Set("x-ms-version", t.version)
	}
	tok.SetAuthHeader(req)
	return t.base.RoundTrip(req)
}
