package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"
)

const (
	// gceMetadataHostVar moves the metadata server, as Google's libraries
	// take it (a GKE metadata server emulator, a test's stand-in).
	gceMetadataHostVar = "GCE_METADATA_HOST"
	gceMetadataIP      = "169.254.169.254"
	// gceProductNameFile names the machine's product: "Google Compute
	// Engine" on GCE and GKE nodes.
	gceProductNameFile = "/sys/class/dmi/id/product_name"
	// gceTokenPath is the metadata server's token of the instance's (or, on
	// GKE with Workload Identity, the pod's) service account.
	gceTokenPath = "instance/service-accounts/default/token"
	// gceEarlyExpiry renews a metadata token this long before it expires,
	// as google.ComputeTokenSource does: the metadata server caches a
	// token for at least 4 minutes, so asking sooner gets the same one.
	gceEarlyExpiry = 225 * time.Second
)

// onGCE reports, without a network request, whether the metadata server
// of GCE, GKE or Cloud Run is there to ask: GCE_METADATA_HOST is set, or
// the machine's DMI product name is Google's. google.auth.default(), which
// KServe's storage.Client() calls, pings the metadata server first, which
// off Google's cloud costs every start its timeout; the metadata
// package's OnGCE races a request to it with a DNS lookup. Both fall back
// to the product name (google-auth's detect_gce_residency_linux, the
// metadata package's systemInfoSuggestsGCE, neither of them exported),
// which is all this reads. GCE_METADATA_HOST is read from the process's
// environment, not Getenv: the metadata package, which sends the
// requests, reads it there, and the two must agree.
func (r Resolver) onGCE() bool {
	if os.Getenv(gceMetadataHostVar) != "" {
		return true
	}
	name := r.gceProductName
	if name == "" {
		name = gceProductNameFile
	}
	b, err := os.ReadFile(name)
	return err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "Google")
}

// gceSignIn signs in with the metadata server's service account, its first
// token already fetched so that a refusal is one clear error before any
// listing.
func (r Resolver) gceSignIn(ctx context.Context) (*gcsSignIn, error) {
	host, from := os.Getenv(gceMetadataHostVar), gceMetadataHostVar+"'s metadata server"
	if host == "" {
		host, from = gceMetadataIP, "the metadata server"
	}
	// Token requests go through the resolver's client (a test's stand-in)
	// without a proxy, noted by the probe, and outlive this call's context.
	probe, client := r.metadataTokenClient()
	src := &gceTokenSource{
		ctx:    context.WithoutCancel(ctx),
		client: metadata.NewWithOptions(&metadata.Options{Client: client}),
		wait:   r.StallTimeout,
	}
	if src.wait <= 0 {
		src.wait = DefaultStallTimeout
	}
	s := &gcsSignIn{from: from, file: host}
	s.source = &probedTokens{probe: probe, source: oauth2.ReuseTokenSourceWithExpiry(nil, src, gceEarlyExpiry), describe: s.tokenError}
	if _, err := s.source.Token(); err != nil {
		return nil, err
	}
	r.logger().Info(fmt.Sprintf("No Google credentials file found; signing in with %s (%s)", from, host))
	return s, nil
}

// gceTokenSource gets the service account's token from the metadata
// server, as google.ComputeTokenSource does, but through a client of the
// resolver's (that one uses the metadata package's own). The metadata
// package retries a 5xx or a refused connection itself; wait bounds each
// attempt, for a metadata server that takes the connection and never
// answers would otherwise hang the start.
type gceTokenSource struct {
	ctx    context.Context
	client *metadata.Client
	wait   time.Duration
}

func (g *gceTokenSource) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(g.ctx, g.wait)
	defer cancel()
	body, err := g.client.GetWithContext(ctx, gceTokenPath+"?"+url.Values{"scopes": {gcsReadScope}}.Encode())
	if err != nil {
		return nil, err
	}
	var res struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		return nil, fmt.Errorf("the metadata server's token is not JSON: %w", err)
	}
	if res.AccessToken == "" || res.ExpiresIn <= 0 {
		return nil, errors.New("the metadata server's token has no access_token or expires_in")
	}
	return &oauth2.Token{AccessToken: res.AccessToken, TokenType: res.TokenType, Expiry: time.Now().Add(time.Duration(res.ExpiresIn) * time.Second)}, nil
}

// gceAnswer says on one line how the metadata server answered no, as
// tokenAnswer does for a token endpoint; ok is false when err carries no
// answer.
func gceAnswer(err error) (answer string, ok bool) {
	var notDefined metadata.NotDefinedError
	if errors.As(err, &notDefined) {
		return "the metadata server answered 404 for " + gceTokenPath + " (no service account)", true
	}
	var e *metadata.Error
	if !errors.As(err, &e) {
		return "", false
	}
	return fmt.Sprintf("the metadata server answered %d: %s", e.Code, firstLine(e.Message)), true
}
