package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/kserve-gen/kserve-gen/runtime/internal/retryafter"
)

// A user-assigned managed identity, as azure-identity's
// ManagedIdentityCredential (in DefaultAzureCredential, after the
// environment's service principal and workload identity) gets its token:
// from App Service's or Functions' local endpoint when IDENTITY_ENDPOINT
// and IDENTITY_HEADER are set, else from the Instance Metadata Service
// (IMDS) of the VM or AKS node.
const (
	// azureResource is azureScope as a resource, what the managed identity
	// endpoints take (azure-identity's _scopes_to_resource drops
	// "/.default").
	azureResource = "https://storage.azure.com"
	// imdsAuthority is IMDS's address; AZURE_POD_IDENTITY_AUTHORITY_HOST
	// replaces it, as azure-identity's imds.py reads it.
	imdsAuthority = "http://169.254.169.254"
	imdsTokenPath = "/metadata/identity/oauth2/token"
	// imdsConnectTimeout is azure-identity's connection_timeout for IMDS:
	// off Azure, the link-local address may drop the packets, and a start
	// should not wait for the system's TCP timeout to say so.
	imdsConnectTimeout = 2 * time.Second
)

// azureManagedIdentity is the managed identity client stands for, where
// the environment says to ask for its token. The hosting environments
// azure-identity knows besides App Service and IMDS (Service Fabric, Azure
// Arc, Cloud Shell, Azure Machine Learning) are refused by name, rather
// than taken for IMDS, which they do not serve.
func (r Resolver) azureManagedIdentity(ctx context.Context, client, clientVar string) (*azureSignInConfig, error) {
	s := &azureSignInConfig{client: client, from: []string{clientVar}}
	query := url.Values{"resource": {azureResource}, "client_id": {client}}
	header := http.Header{}
	var tokenURL string
	var retry identityRetry
	endpoint, header2 := r.getenv("IDENTITY_ENDPOINT"), r.getenv("IDENTITY_HEADER")
	switch {
	case endpoint != "" && header2 != "" && r.getenv("IDENTITY_SERVER_THUMBPRINT") == "":
		// azure-identity's app_service.py: API version 2019-08-01, the
		// header's value as X-IDENTITY-HEADER.
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, newError(ErrInvalidURI, "IDENTITY_ENDPOINT %q: want the http:// URL of App Service's managed identity endpoint", endpoint)
		}
		query.Set("api-version", "2019-08-01")
		header.Set("X-IDENTITY-HEADER", header2)
		tokenURL, s.via, retry = endpoint, "IDENTITY_ENDPOINT ("+shownURL(endpoint)+")", appServiceRetry()
	case endpoint != "" || r.getenv("MSI_ENDPOINT") != "":
		return nil, newError(ErrInvalidURI, "%s is set for a managed identity, and %s: a managed identity of Service Fabric, Azure Arc, Cloud Shell or Azure Machine Learning, which is not supported here; %s",
			clientVar, managedEnvironment(r.getenv), azureCredentialsHint)
	default:
		authority, via := r.getenv("AZURE_POD_IDENTITY_AUTHORITY_HOST"), "AZURE_POD_IDENTITY_AUTHORITY_HOST"
		if authority == "" {
			authority, via = imdsAuthority, "IMDS"
		}
		query.Set("api-version", "2018-02-01")
		header.Set("Metadata", "true") // IMDS refuses a request without it (a server-side request forgery guard)
		tokenURL, s.via, retry = strings.TrimRight(authority, "/")+imdsTokenPath, via+" ("+strings.TrimRight(authority, "/")+")", imdsRetry()
	}
	// A link-local endpoint is never reached through a proxy. The token
	// requests, and the waits between them, end with the download's
	// context: the source serves this fetch only.
	probe, tokenHTTP := r.metadataTokenClient()
	after := r.backoffTimer
	if after == nil {
		after = time.After
	}
	src := &managedIdentitySource{ctx: ctx, client: tokenHTTP, url: tokenURL + "?" + query.Encode(), header: header, retry: retry, after: after}
	s.source = &probedTokens{probe: probe, source: oauth2.ReuseTokenSource(nil, src), describe: s.tokenError}
	return s, nil
}

// managedEnvironment names the variables that set up another hosting
// environment's managed identity, for the error refusing it.
func managedEnvironment(getenv func(string) string) string {
	var set []string
	for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET"} {
		if getenv(k) != "" {
			set = append(set, k)
		}
	}
	return strings.Join(set, ", ")
}

// identityRetry is how azure-identity retries a managed identity's token
// request (azure-core's RetryPolicy with the credential's settings): up to
// retries more attempts after an answer whose status retried takes, or
// after no answer (a refused connection, one not made within the
// connection timeout, an answer cut short) up to transport times (azure-core's
// retry_connect and retry_read); none before the first retry, then
// factor·2^(n-1) before the nth (get_backoff_time), at most max, factor
// taken from the last answer's status; an answer's Retry-After (seconds
// or a date) instead, when it gives one (azure-core waits any; this at
// most max, so that a wrong header cannot hold a start). With probe, no
// answer to the first request of the source is final, not retried: as
// DefaultAzureCredential, which KServe uses, first asks IMDS once without
// retries and takes no answer for "not on Azure" (ImdsCredential's
// _request_token within a credential chain), which must not cost a start
// the retries' minute.
type identityRetry struct {
	retries, transport int
	retried            func(status int) bool
	factor             func(status int) time.Duration
	max                time.Duration
	probe              bool
}

// imdsRetry is azure-identity's for IMDS (azure/identity/_credentials/
// imds.py: PIPELINE_SETTINGS, and ImdsRetryPolicy.is_retry, which recent
// versions add; KServe's storage package takes azure-identity >= 1.15): 5
// retries on 404 (an identity not yet assigned to a machine just
// started), 410 (IMDS being upgraded, which its documentation says lasts
// up to 70 s), 429 and 5xx, back-off factor 2 s (waits 0, 4, 8, 16, 32 s),
// 2.5 s after a 410 so that its waits (0, 5, 10, 20, 40 s) pass 70 s, at
// most 60 s. The Go SDK retries the same statuses
// (setIMDSRetryOptionDefaults in azidentity's
// managed_identity_client.go), 6 times from 2 s with jitter, at most 25 s.
func imdsRetry() identityRetry {
	return identityRetry{
		retries:   5,
		transport: 3,
		retried: func(status int) bool {
			return status == http.StatusNotFound || status == http.StatusGone || status == http.StatusTooManyRequests || status >= 500 && status <= 599
		},
		factor: func(status int) time.Duration {
			if status == http.StatusGone {
				return 2500 * time.Millisecond
			}
			return 2 * time.Second
		},
		max:   60 * time.Second,
		probe: true,
	}
}

// appServiceRetry is azure-core's default RetryPolicy, which App
// Service's credential (MsalManagedIdentityClient) leaves as it is: 3
// retries on 408, 429, 500, 502, 503, 504 and from 506 up (its
// _RETRY_CODES), back-off factor 0.8 s (waits 0, 1.6, 3.2 s), at most
// 120 s; a refused connection is retried too: IDENTITY_ENDPOINT says the
// endpoint is there.
func appServiceRetry() identityRetry {
	return identityRetry{
		retries:   3,
		transport: 3,
		retried: func(status int) bool {
			switch status {
			case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
				http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				return true
			}
			return status >= 506
		},
		factor: func(int) time.Duration { return 800 * time.Millisecond },
		max:    120 * time.Second,
	}
}

// wait is how long to wait before retry n (from 1) after an answer of
// status (0: none) with Retry-After retryAfter (0: none).
func (p identityRetry) wait(n, status int, retryAfter time.Duration) time.Duration {
	switch {
	case retryAfter > 0:
		return min(retryAfter, p.max)
	case n <= 1:
		return 0
	}
	return min(p.factor(status)<<(n-1), p.max)
}

// managedIdentitySource GETs a token from a managed identity endpoint
// (IMDS, App Service's), which answers the token as JSON with its expiry
// as epoch seconds (expires_on) or a lifetime (expires_in), either as a
// string or a number, retrying as retry says; after times the waits.
type managedIdentitySource struct {
	ctx    context.Context
	client *http.Client
	url    string
	header http.Header
	retry  identityRetry
	after  func(time.Duration) <-chan time.Time
	// answered is set once the endpoint has answered a request: no answer
	// after that is a failure to retry, not the probe's "not on Azure".
	answered bool
}

// attemptsError is a managed identity's token error after more than one
// request, for the message to count them (azureSignInConfig.tokenError).
type attemptsError struct {
	err      error
	attempts int
}

func (e *attemptsError) Error() string { return e.err.Error() }
func (e *attemptsError) Unwrap() error { return e.err }

func (m *managedIdentitySource) Token() (*oauth2.Token, error) {
	transportRetries := 0
	for attempt := 1; ; attempt++ {
		tok, status, retryAfter, err := m.request()
		if err == nil {
			return tok, nil
		}
		retry := attempt <= m.retry.retries && m.ctx.Err() == nil
		if status == 0 {
			transportRetries++
			retry = retry && transportRetries <= m.retry.transport && (m.answered || !m.retry.probe)
		} else {
			m.answered = true
			retry = retry && m.retry.retried(status)
		}
		if !retry {
			if attempt > 1 {
				err = &attemptsError{err: err, attempts: attempt}
			}
			return nil, err
		}
		// Nothing is logged for a retry: the final failure says how many
		// requests were made.
		select {
		case <-m.ctx.Done():
			return nil, &attemptsError{err: m.ctx.Err(), attempts: attempt}
		case <-m.after(m.retry.wait(attempt, status, retryAfter)):
		}
	}
}

// request makes one token request: the token, or the answer's status (0
// for none), its Retry-After and the error.
func (m *managedIdentitySource) request() (_ *oauth2.Token, status int, retryAfter time.Duration, _ error) {
	ctx, stop := connectWithin(m.ctx, imdsConnectTimeout)
	defer stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return nil, 0, 0, err
	}
	req.Header = m.header.Clone()
	resp, err := m.client.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && m.ctx.Err() == nil {
			err = cause
		}
		return nil, 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, 0, 0, err // an answer cut short is none
	}
	if resp.StatusCode != http.StatusOK {
		// Worded by tokenAnswer: IMDS answers OAuth's {"error",
		// "error_description"}.
		// Retry-After in seconds or as a date, as azure-core's
		// get_retry_after reads it.
		return nil, resp.StatusCode, retryafter.Parse(resp.Header.Get("Retry-After")), &oauth2.RetrieveError{Response: resp, Body: body}
	}
	var res struct {
		AccessToken string      `json:"access_token"`
		TokenType   string      `json:"token_type"`
		ExpiresOn   json.Number `json:"expires_on"`
		ExpiresIn   json.Number `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, resp.StatusCode, 0, fmt.Errorf("the managed identity endpoint's token is not JSON: %w", err)
	}
	tok := &oauth2.Token{AccessToken: res.AccessToken, TokenType: res.TokenType}
	if on, err := res.ExpiresOn.Int64(); err == nil && on > 0 {
		tok.Expiry = time.Unix(on, 0)
	} else if in, err := res.ExpiresIn.Int64(); err == nil && in > 0 {
		tok.Expiry = time.Now().Add(time.Duration(in) * time.Second)
	}
	if tok.AccessToken == "" || tok.Expiry.IsZero() {
		return nil, resp.StatusCode, 0, fmt.Errorf("the managed identity endpoint's token has no access_token, or neither expires_on nor expires_in")
	}
	return tok, resp.StatusCode, 0, nil
}

// connectWithin cancels the request of the returned context, with a cause
// saying so, when it has no connection within d; stop releases it.
func connectWithin(ctx context.Context, d time.Duration) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(d, func() { cancel(fmt.Errorf("no connection within %s", d)) })
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { timer.Stop() }})
	return ctx, func() {
		timer.Stop()
		cancel(nil)
	}
}

// withoutProxy is c without a proxy, for a machine's own metadata
// endpoint (GCE's metadata server, Azure's IMDS), which a proxy cannot
// reach: Google's metadata package sends its requests without one, and
// Microsoft's IMDS documentation says to bypass proxies. A client whose
// transport is not an *http.Transport (a caller's or a test's own) is
// kept as it is.
func withoutProxy(c *http.Client) *http.Client {
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return c
	}
	t = t.Clone()
	t.Proxy = nil
	cc := *c
	cc.Transport = t
	return &cc
}
