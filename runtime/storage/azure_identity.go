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
		tokenURL, s.via = endpoint, "IDENTITY_ENDPOINT ("+shownURL(endpoint)+")"
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
		tokenURL, s.via = strings.TrimRight(authority, "/")+imdsTokenPath, via+" ("+strings.TrimRight(authority, "/")+")"
	}
	// A link-local endpoint is never reached through a proxy.
	probe, tokenHTTP := r.metadataTokenClient()
	src := &managedIdentitySource{ctx: context.WithoutCancel(ctx), client: tokenHTTP, url: tokenURL + "?" + query.Encode(), header: header}
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

// managedIdentitySource GETs a token from a managed identity endpoint
// (IMDS, App Service's), which answers the token as JSON with its expiry
// as epoch seconds (expires_on) or a lifetime (expires_in), either as a
// string or a number.
type managedIdentitySource struct {
	ctx    context.Context
	client *http.Client
	url    string
	header http.Header
}

func (m *managedIdentitySource) Token() (*oauth2.Token, error) {
	ctx, stop := connectWithin(m.ctx, imdsConnectTimeout)
	defer stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header = m.header.Clone()
	resp, err := m.client.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && m.ctx.Err() == nil {
			err = cause
		}
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		// Worded by tokenAnswer: IMDS answers OAuth's {"error",
		// "error_description"}.
		return nil, &oauth2.RetrieveError{Response: resp, Body: body}
	}
	var res struct {
		AccessToken string      `json:"access_token"`
		TokenType   string      `json:"token_type"`
		ExpiresOn   json.Number `json:"expires_on"`
		ExpiresIn   json.Number `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("the managed identity endpoint's token is not JSON: %w", err)
	}
	tok := &oauth2.Token{AccessToken: res.AccessToken, TokenType: res.TokenType}
	if on, err := res.ExpiresOn.Int64(); err == nil && on > 0 {
		tok.Expiry = time.Unix(on, 0)
	} else if in, err := res.ExpiresIn.Int64(); err == nil && in > 0 {
		tok.Expiry = time.Now().Add(time.Duration(in) * time.Second)
	}
	if tok.AccessToken == "" || tok.Expiry.IsZero() {
		return nil, fmt.Errorf("the managed identity endpoint's token has no access_token, or neither expires_on nor expires_in")
	}
	return tok, nil
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
