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

// tokenProbe notes how the token requests of one token fetch ended, so
// that a token that could not be had tells a token endpoint that could not
// be reached, or failed on its side, from one that refused the
// credentials, or credentials that never made a request (a key that does
// not parse, a token file that cannot be read). The first is a source that
// cannot be asked, which a cached copy outlasts (listFailed); the others
// are configuration errors no cache may hide. The errors do not say which:
// the oauth2 packages flatten a connection error into text (the jwt flow
// of a service account key does).
type tokenProbe struct {
	mu       sync.Mutex
	outcome  tokenOutcome // of the fetch's last token request
	endpoint string       // its URL, when tokenUnanswered
	// refusal is its answer when it said no (4xx), with the start of its
	// body as read: the flows that flatten an answer into text
	// (impersonation, an external account's token exchange: `oauth2/google:
	// status code 403: {...}`, the source token's refusal quoted in
	// another's) are worded from it as the others are.
	refusal *oauth2.RetrieveError
}

// tokenOutcome is how a fetch's last token request ended.
type tokenOutcome int

const (
	tokenNotAsked   tokenOutcome = iota // no request: the credentials failed before one
	tokenAnswered                       // an answer, not a failure on the endpoint's side: a refusal, if the token failed
	tokenUnanswered                     // no answer, or a failure on the endpoint's side (5xx, 408, 429, an answer cut short)
)

// tokenClient is the client token requests go through: the resolver's (a
// proxy, a test's stand-in endpoint), no credentials following a redirect
// elsewhere, and each request noted in the returned probe.
func (r Resolver) tokenClient() (*tokenProbe, *http.Client) {
	p := &tokenProbe{}
	c := r.withTransport(func(rt http.RoundTripper) http.RoundTripper { return &probeTransport{base: rt, probe: p} })
	return p, noAuthElsewhere(c)
}

// metadataTokenClient is tokenClient for a machine's own metadata endpoint
// (GCE's metadata server, Azure's IMDS): without a proxy (withoutProxy).
func (r Resolver) metadataTokenClient() (*tokenProbe, *http.Client) {
	r.Client = withoutProxy(r.client())
	return r.tokenClient()
}

func (p *tokenProbe) note(outcome tokenOutcome, endpoint string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outcome, p.endpoint, p.refusal = outcome, endpoint, nil
}

// refused notes an answer saying no, its body as the reader reads it.
func (p *tokenProbe) refused(resp *http.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outcome, p.endpoint, p.refusal = tokenAnswered, "", &oauth2.RetrieveError{Response: resp}
}

// read adds b to the refusal's body, up to 4 KiB.
func (p *tokenProbe) read(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refusal != nil && len(p.refusal.Body) < 4096 {
		p.refusal.Body = append(p.refusal.Body, b[:min(len(b), 4096-len(p.refusal.Body))]...)
	}
}

// withAnswer gives err the last token request's refusal, if it was one, as
// an *oauth2.RetrieveError after err's own (tokenAnswer takes the first).
func (p *tokenProbe) withAnswer(err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refusal == nil {
		return err
	}
	return &answeredError{err: err, answer: p.refusal}
}

// answeredError is a token's error and the refusal the probe saw.
type answeredError struct {
	err    error
	answer *oauth2.RetrieveError
}

func (e *answeredError) Error() string   { return e.err.Error() }
func (e *answeredError) Unwrap() []error { return []error{e.err, e.answer} }

// failed gives err, a token's error (an *Error), the kind the fetch's last
// token request makes it, in a *tokenFailure: ErrDownload when the
// endpoint could not be reached or failed on its side, the failure naming
// the endpoint; ErrNotFound when the endpoint answered no, as a bucket's
// 401 is; ErrInvalidURI when no request was made, as an unreadable
// credentials file is.
func (p *tokenProbe) failed(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	p.mu.Lock()
	outcome, endpoint := p.outcome, p.endpoint
	p.mu.Unlock()
	switch outcome {
	case tokenUnanswered:
		return &tokenFailure{endpoint: endpoint, err: &Error{Msg: e.Msg, Kind: ErrDownload}}
	case tokenAnswered:
		return &tokenFailure{err: &Error{Msg: e.Msg, Kind: ErrNotFound}}
	}
	return &tokenFailure{err: &Error{Msg: e.Msg, Kind: ErrInvalidURI}}
}

// tokenFailure is a token that could not be had, at sign-in or for any
// request after it: its message is err's, of the kind tokenProbe.failed
// gave it; endpoint, when the token endpoint could not be reached, is for
// the warning of serving a cached copy instead.
type tokenFailure struct {
	endpoint string
	err      error
}

func (e *tokenFailure) Error() string { return e.err.Error() }
func (e *tokenFailure) Unwrap() error { return e.err }

// probedTokens is a sign-in's token source whose every token, the first at
// sign-in and those renewed during the listing or the downloads, fails
// with a *tokenFailure: describe names the credentials and says why, and
// the probe the kind.
type probedTokens struct {
	mu       sync.Mutex // one fetch at a time, so that the probe's notes are this fetch's
	probe    *tokenProbe
	source   oauth2.TokenSource
	describe func(error) error
}

func (t *probedTokens) Token() (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.probe.note(tokenNotAsked, "")
	tok, err := t.source.Token()
	if err != nil {
		return nil, t.probe.failed(t.describe(t.probe.withAnswer(err)))
	}
	return tok, nil
}

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
		t.probe.note(tokenUnanswered, endpoint)
		return nil, err
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests:
		t.probe.note(tokenUnanswered, endpoint)
	case resp.StatusCode >= 400:
		t.probe.refused(resp)
		resp.Body = &probeBody{ReadCloser: resp.Body, probe: t.probe, endpoint: endpoint, keep: true}
	default:
		t.probe.note(tokenAnswered, "")
		resp.Body = &probeBody{ReadCloser: resp.Body, probe: t.probe, endpoint: endpoint}
	}
	return resp, nil
}

// probeBody notes an answer cut short as a request that got none, and
// keeps the start of a refusal's.
type probeBody struct {
	io.ReadCloser
	probe    *tokenProbe
	endpoint string
	keep     bool
}

func (b *probeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.keep {
		b.probe.read(p[:n])
	}
	if err != nil && err != io.EOF {
		b.probe.note(tokenUnanswered, b.endpoint)
	}
	return n, err
}

// signInFailed decides what a failed sign-in means, before the cache is
// opened: see tokenFailed.
func (r Resolver) signInFailed(ctx context.Context, s *snapshot, err error) (string, error) {
	if ctx.Err() != nil {
		// Cancelled while the sign-in waited (a managed identity's
		// retries): the context's error, not the last answer's.
		return "", fmt.Errorf("downloading %s: %w", s.uri, ctx.Err())
	}
	var f *tokenFailure
	if !errors.As(err, &f) || f.endpoint == "" {
		return "", err
	}
	if r.openSnapshot(s) != nil {
		return "", err // no cache folder: nothing cached
	}
	return r.tokenFailed(ctx, s, err)
}

// tokenFailed decides what a failed listing means when its requests carry
// a sign-in's tokens, as listFailed does: a token endpoint that could not
// be reached serves the cached copy of s, if there is one, with a warning
// naming it. A token refused, at sign-in or renewed during the listing (a
// token expiring as it starts), is an error whatever is cached, as a
// bucket's 401 is: a revoked key or a deleted role is not hidden behind
// an old copy until the pod restarts.
func (r Resolver) tokenFailed(ctx context.Context, s *snapshot, err error) (string, error) {
	var f *tokenFailure
	if errors.As(err, &f) && f.endpoint != "" {
		return r.cannotAsk(ctx, s, fmt.Sprintf("Cannot get an access token from %s for %s", f.endpoint, s.uri), err)
	}
	return r.listFailed(ctx, s, err)
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
		// Google's APIs (IAM Credentials' generateAccessToken, which
		// impersonation calls) answer {"error": {"status", "message"}}.
		var api struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(re.Body, &body) != nil:
		case json.Unmarshal(body.Error, &code) == nil:
			detail = body.Description
		case json.Unmarshal(body.Error, &api) == nil && api.Message != "":
			code, detail = api.Status, api.Message
		}
	}
	if code == "" && detail == "" {
		detail = string(re.Body) // not OAuth's JSON: a proxy's page, say
	}
	detail = firstLine(detail)
	answer = fmt.Sprintf("the token endpoint answered %d", re.Response.StatusCode)
	if code != "" {
		answer += " (" + code + ")"
	}
	if detail != "" {
		answer += ": " + detail
	}
	return answer, true
}

// firstLine is s's first line, trimmed and cut at 300 bytes: enough of an
// error page or description to act on (the rest of Entra's is trace and
// correlation ids).
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	line = strings.TrimSpace(line)
	if len(line) > 300 {
		line = line[:300] + "..."
	}
	return line
}

// bearerTransport sets a current OAuth token (a gs:// sign-in's, an Azure
// service principal's) on requests to origin (scheme and host) only: not
// on a redirect elsewhere, nor to plain http. A token that could not be
// had is the request's error, as source gives it (a *tokenFailure, which
// the listing passes on); version, when set, is sent as x-ms-version (the
// Blob service REST version, which bearer tokens need at 2017-11-09 or
// later).
type bearerTransport struct {
	base    http.RoundTripper
	origin  *url.URL
	source  oauth2.TokenSource
	version string
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if leavesOrigin(t.origin, req.URL) {
		return t.base.RoundTrip(req)
	}
	tok, err := t.source.Token()
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	if t.version != "" {
		req.Header.Set("x-ms-version", t.version)
	}
	tok.SetAuthHeader(req)
	return t.base.RoundTrip(req)
}
