package storage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// azureVersion is the Blob service REST version the signed requests ask
// for (bearer tokens need 2017-11-09 or later).
const azureVersion = "2021-08-06"

// Sign-in as a service principal, as azure-identity does it for a
// BlobServiceClient: the client credentials grant for the Blob service's
// scope, with a client secret, or a certificate's signed JWT or a federated
// token as the assertion.
const (
	azureScope            = "https://storage.azure.com/.default"
	azureAssertionType    = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	azureDefaultAuthority = "https://login.microsoftonline.com/"
)

// azureBlob is the part of a List Blobs entry this needs.
type azureBlob struct {
	Name       string `xml:"Name"`
	Properties struct {
		Length int64  `xml:"Content-Length"`
		ETag   string `xml:"Etag"`
	} `xml:"Properties"`
}

// azureTarget is an Azure Blob URI taken apart.
type azureTarget struct {
	account   string
	base      string // the account's blob endpoint, no trailing slash
	container string
	prefix    string     // without leading or trailing "/"
	sas       url.Values // a shared access signature given in the URI, if any
}

// parseAzure takes https://<account>.blob.core.windows.net/<container>/<prefix>
// (or .zNN.blob.storage.azure.net) apart, as KServe does.
func (r Resolver) parseAzure(uri string) (azureTarget, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return azureTarget{}, newError(ErrInvalidURI, "storage uri %s: %v: want https://<account>.blob.core.windows.net/<container>/<path>", shownRaw(uri), unwrapURLError(err))
	}
	if u.Host == "" {
		return azureTarget{}, newError(ErrInvalidURI, "storage uri %s: want https://<account>.blob.core.windows.net/<container>/<path>", shownURI(u))
	}
	container, prefix, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if container == "" {
		return azureTarget{}, newError(ErrInvalidURI, "storage uri %s: no container: want https://<account>.blob.core.windows.net/<container>/<path>", shownURI(u))
	}
	account, _, _ := strings.Cut(u.Host, ".")
	t := azureTarget{account: account, base: "https://" + u.Host, container: container, prefix: strings.Trim(prefix, "/")}
	if r.azureEndpoint != nil {
		t.base = r.azureEndpoint(account) // an emulator (tests)
	}
	if u.RawQuery != "" {
		t.sas = u.Query()
	}
	return t, nil
}

// fetchAzure downloads an Azure Blob Storage URI as KServe's storage package
// does: every blob whose name is <path> or lies under <path>/, with its
// folders below it (folder placeholders and a hierarchical namespace's
// directories skipped, see folderNames; one archive unpacked). Unlike KServe, which
// lists by the bare prefix, models/iris does not take models/irises/... too.
//
// Credentials: a shared access signature in the URI's query, else a
// service principal's or managed identity's bearer token (azureSignIn: a
// client secret, AKS workload identity's federated token file, or IMDS),
// else AZURE_STORAGE_ACCESS_KEY
// (the account key; requests signed with Shared Key), else anonymous (a
// public container) with KServe's warning. Cached and revalidated by the
// listing's names and ETags.
func (r Resolver) fetchAzure(ctx context.Context, uri string) (string, error) {
	t, err := r.parseAzure(uri)
	if err != nil {
		return "", err
	}
	u, _ := url.Parse(uri)
	shown := shownURI(u)
	sel, err := r.selection()
	if err != nil {
		return "", err
	}
	key := r.getenv("AZURE_STORAGE_ACCESS_KEY")
	// denied is what a 401, 403 or 404 says besides that the container may
	// not exist.
	denied := "it is not public: " + azureCredentialsHint
	// KServe's order (_download_azure_blob): a service principal's token,
	// else the account key, else anonymous; a signature in the URI is
	// enough on its own here.
	snap := &snapshot{uri: shown, source: cacheSource(u) + sel.source(), name: t.account + "--" + t.container + "--" + path.Base("/"+t.prefix),
		where: "the container", what: "listing", unpackSingle: true}
	signIn, err := (*azureSignInConfig)(nil), error(nil)
	if t.sas == nil {
		if signIn, err = r.azureSignIn(ctx); err != nil {
			return r.signInFailed(ctx, snap, err)
		}
	}
	switch {
	case t.sas != nil:
		denied = "the signature or key may not read it"
	case signIn != nil:
		denied = signIn.String() + " may not read it: it needs a role such as Storage Blob Data Reader on the account or container"
		origin := originOf(t.base)
		r.Client = r.withTransport(func(rt http.RoundTripper) http.RoundTripper {
			return &bearerTransport{base: rt, origin: origin, source: signIn.source, version: azureVersion}
		})
	case key != "":
		secret, err := base64.StdEncoding.DecodeString(key)
		if err != nil {
			return "", newError(ErrInvalidURI, "AZURE_STORAGE_ACCESS_KEY: not a base64 account key: %v", err)
		}
		denied = "the signature or key may not read it"
		origin := originOf(t.base)
		r.Client = r.withTransport(func(rt http.RoundTripper) http.RoundTripper {
			return &sharedKeyTransport{base: rt, origin: origin, account: t.account, key: secret}
		})
	default:
		r.logger().Warn("Azure credentials or shared access signature token not found, retrying anonymous access")
	}
	if err := r.openSnapshot(snap); err != nil {
		return "", err
	}
	blobs, err := r.azureList(ctx, t, shown, denied)
	if err != nil {
		return r.tokenFailed(ctx, snap, err)
	}
	var files []remoteFile
	var versions []string
	listed := 0 // before the patterns
	folders := folderNames(blobs, func(b azureBlob) string { return b.Name })
	for _, b := range blobs {
		rel := ""
		switch {
		case b.Properties.Length == 0 && (folders[b.Name] || strings.HasSuffix(b.Name, "/")):
			continue // a folder placeholder, or a directory of a hierarchical namespace
		case b.Name == t.prefix:
			rel = path.Base(b.Name)
		case t.prefix == "" || strings.HasPrefix(b.Name, t.prefix+"/"):
			rel = strings.TrimPrefix(strings.TrimPrefix(b.Name, t.prefix), "/")
		default:
			continue // models/irises/... for models/iris
		}
		listed++
		if !sel.keep(rel) {
			continue
		}
		files = append(files, remoteFile{url: t.blobURL(b.Name), rel: rel, version: b.Properties.ETag, size: b.Properties.Length})
		versions = append(versions, b.Name+"#"+b.Properties.ETag)
	}
	if len(files) == 0 {
		// KServe names only the URI; the rest says which of the
		// container, the path and the patterns to check.
		switch {
		case listed > 0:
			return "", newError(ErrNotFound, "Failed to fetch model. No model found in %s: STORAGE_ALLOW_PATTERNS %q and STORAGE_IGNORE_PATTERNS %q leave none of its %s.",
				shown, sel.allow, sel.ignore, count(listed, "blob"))
		case t.prefix == "":
			return "", newError(ErrNotFound, "Failed to fetch model. No model found in %s: container %s has no blob.", shown, t.container)
		}
		return "", newError(ErrNotFound, "Failed to fetch model. No model found in %s: container %s has no blob %s, nor any under %s/.", shown, t.container, t.prefix, t.prefix)
	}
	return r.downloadSnapshot(ctx, snap, listingVersion(versions), files, nil)
}

// blobURL is the URL of blob name, with the URI's shared access signature.
func (t azureTarget) blobURL(name string) string {
	segments := strings.Split(name, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	u := t.base + "/" + url.PathEscape(t.container) + "/" + strings.Join(segments, "/")
	if t.sas != nil {
		u += "?" + t.sas.Encode()
	}
	return u
}

// azureList lists the container's blobs whose names start with the prefix
// (List Blobs, following markers); denied is azureError's.
func (r Resolver) azureList(ctx context.Context, t azureTarget, shown, denied string) ([]azureBlob, error) {
	var all []azureBlob
	marker := ""
	seen := pageTokens{}
	for {
		q := url.Values{"restype": {"container"}, "comp": {"list"}}
		for k, v := range t.sas {
			q[k] = v
		}
		if t.prefix != "" {
			q.Set("prefix", t.prefix)
		}
		if marker != "" {
			q.Set("marker", marker)
		}
		if r.listPageSize > 0 {
			q.Set("maxresults", fmt.Sprint(r.listPageSize))
		}
		tr, err := r.get(ctx, t.base+"/"+url.PathEscape(t.container)+"?"+q.Encode(), nil)
		if err != nil {
			if errors.As(err, new(*tokenFailure)) {
				return nil, err // its own kind: a refused token is no unreachable container
			}
			return nil, newError(ErrDownload, "listing %s: %v", shown, err)
		}
		body, err := io.ReadAll(io.LimitReader(tr.body, 64<<20))
		if err != nil {
			err = tr.readError(ctx, shown, err)
		}
		code := tr.resp.StatusCode
		tr.close()
		if err != nil {
			return nil, err
		}
		if code != http.StatusOK {
			return nil, azureError(shown, code, body, denied)
		}
		var page struct {
			Blobs struct {
				Blob []azureBlob `xml:"Blob"`
			} `xml:"Blobs"`
			NextMarker string `xml:"NextMarker"`
		}
		if err := xml.Unmarshal(body, &page); err != nil {
			return nil, newError(ErrDownload, "%s: the container's listing: %v", shown, err)
		}
		all = append(all, page.Blobs.Blob...)
		if page.NextMarker == "" {
			return all, nil
		}
		marker = page.NextMarker
		if err := seen.follow(shown, marker); err != nil {
			return nil, err
		}
	}
}

// azureCredentialsHint is what reads a private container here.
const azureCredentialsHint = "add a shared access signature to the URI, set AZURE_STORAGE_ACCESS_KEY, set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_FEDERATED_TOKEN_FILE) for a service principal, or AZURE_CLIENT_ID alone for a managed identity on Azure"

// azureVar reads KServe's AZ_<name>, which its storage-initializer copies
// over azure-identity's AZURE_<name> (_get_azure_storage_token), else
// AZURE_<name>; from is the variable it came from.
func (r Resolver) azureVar(name string) (value, from string) {
	for _, k := range []string{"AZ_" + name, "AZURE_" + name} {
		if v := r.getenv(k); v != "" {
			return v, k
		}
	}
	return "", ""
}

// azureSignInConfig is a service principal or a managed identity to sign
// in as, and where its settings came from.
type azureSignInConfig struct {
	tenant, client string
	from           []string // the variables: tenant, client, credential; the client's alone for a managed identity
	via            string   // a managed identity's token endpoint, for messages: `IMDS (http://169.254.169.254)`
	source         oauth2.TokenSource
}

// String names the service principal or managed identity and its
// variables, for messages.
func (s *azureSignInConfig) String() string {
	if s.via != "" {
		return fmt.Sprintf("managed identity %s (%s) via %s", s.client, strings.Join(s.from, ", "), s.via)
	}
	return fmt.Sprintf("client %s in tenant %s (%s)", s.client, s.tenant, strings.Join(s.from, ", "))
}

// azureSignIn returns the service principal or managed identity the
// environment configures, or nil for none (no client id, which is when
// KServe makes a DefaultAzureCredential), with its first token already
// fetched so that a refusal is one clear error before any listing. As in
// DefaultAzureCredential, a client secret, then a certificate (its
// EnvironmentCredential), come before AZURE_FEDERATED_TOKEN_FILE (its
// WorkloadIdentityCredential,
// which AKS workload identity's webhook sets up), and with neither the
// client id is a user-assigned managed identity (its
// ManagedIdentityCredential: azureManagedIdentity); the Azure CLI and the
// other developer sign-ins it would go on to are not asked.
func (r Resolver) azureSignIn(ctx context.Context) (*azureSignInConfig, error) {
	client, clientVar := r.azureVar("CLIENT_ID")
	if client == "" {
		return nil, nil
	}
	secret, credVar := r.azureVar("CLIENT_SECRET")
	certFile := r.getenv("AZURE_CLIENT_CERTIFICATE_PATH")
	tokenFile := r.getenv("AZURE_FEDERATED_TOKEN_FILE")
	switch {
	case secret != "":
	case certFile != "":
		credVar = "AZURE_CLIENT_CERTIFICATE_PATH"
	case tokenFile != "":
		credVar = "AZURE_FEDERATED_TOKEN_FILE"
	default:
		s, err := r.azureManagedIdentity(ctx, client, clientVar)
		if err != nil {
			return nil, err
		}
		return r.azureFirstToken(s)
	}
	tenant, tenantVar := r.azureVar("TENANT_ID")
	if tenant == "" {
		return nil, newError(ErrInvalidURI, "%s and %s are set, but not AZURE_TENANT_ID (or KServe's AZ_TENANT_ID): the tenant to sign in to", clientVar, credVar)
	}
	authority, err := r.azureAuthority()
	if err != nil {
		return nil, err
	}
	s := &azureSignInConfig{tenant: tenant, client: client, from: []string{tenantVar, clientVar, credVar}}
	// Token requests go through the resolver's client (a proxy, a test's
	// stand-in endpoint), and outlive this call's context.
	probe, tokenHTTP := r.tokenClient()
	tokenCtx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, tokenHTTP)
	tokenURL := authority + url.PathEscape(tenant) + "/oauth2/v2.0/token"
	var source oauth2.TokenSource
	switch credVar {
	case "AZURE_CLIENT_CERTIFICATE_PATH":
		cert, err := loadAzureCertificate(certFile)
		if err != nil {
			return nil, newError(ErrInvalidURI, "AZURE_CLIENT_CERTIFICATE_PATH (%s): %v", certFile, err)
		}
		source = oauth2.ReuseTokenSource(nil, &assertionTokenSource{ctx: tokenCtx, client: client, tokenURL: tokenURL,
			assertion: func() (string, error) { return cert.assertion(client, tokenURL) }})
	case "AZURE_FEDERATED_TOKEN_FILE":
		// Read for every token: the kubelet rotates it.
		source = oauth2.ReuseTokenSource(nil, &assertionTokenSource{ctx: tokenCtx, client: client, tokenURL: tokenURL,
			assertion: func() (string, error) {
				assertion, err := os.ReadFile(tokenFile)
				if err != nil {
					return "", fmt.Errorf("reading AZURE_FEDERATED_TOKEN_FILE: %w", err)
				}
				return strings.TrimSpace(string(assertion)), nil
			}})
	default:
		conf := &clientcredentials.Config{ClientID: client, ClientSecret: secret, TokenURL: tokenURL,
			Scopes: []string{azureScope}, AuthStyle: oauth2.AuthStyleInParams}
		source = conf.TokenSource(tokenCtx)
	}
	s.source = &probedTokens{probe: probe, source: source, describe: s.tokenError}
	return r.azureFirstToken(s)
}

// azureFirstToken fetches s's first token, so that a refusal is one clear
// error before any listing; an unreachable endpoint is one the cache may
// outlast (signInFailed).
func (r Resolver) azureFirstToken(s *azureSignInConfig) (*azureSignInConfig, error) {
	if _, err := s.source.Token(); err != nil {
		return nil, err
	}
	r.logger().Info(fmt.Sprintf("Retrieved SP token credential for client_id: %s", s.client)) // KServe's line, whatever the credential
	return s, nil
}

// azureAuthority is AZURE_AUTHORITY_HOST (another cloud), default Azure's
// public cloud, ending in "/". As azure-identity's normalize_authority, a
// bare host is taken as https and another scheme refused: the client
// secret travels in the request.
func (r Resolver) azureAuthority() (string, error) {
	host := r.getenv("AZURE_AUTHORITY_HOST")
	if host == "" {
		return azureDefaultAuthority, nil
	}
	authority := strings.TrimRight(strings.TrimSpace(host), "/")
	if !strings.Contains(authority, "://") {
		authority = "https://" + authority
	}
	if u, err := url.Parse(authority); err != nil || u.Scheme != "https" || u.Host == "" {
		return "", newError(ErrInvalidURI, "AZURE_AUTHORITY_HOST %q: want an https:// URL, such as %s", host, azureDefaultAuthority)
	}
	return authority + "/", nil
}

// tokenError names the service principal and why it could not sign in:
// for a refusal, the status, the error code and the AADSTS description's
// first line (tokenAnswer); for a managed identity's token asked more than
// once, how many times.
func (s *azureSignInConfig) tokenError(err error) error {
	who := s.String()
	var retried *attemptsError
	if errors.As(err, &retried) {
		who += fmt.Sprintf(" after %d attempts", retried.attempts) // a managed identity's, retried (identityRetry)
	}
	if answer, ok := tokenAnswer(err); ok {
		return newError(ErrDownload, "getting an Azure access token as %s: %s", who, answer)
	}
	return newError(ErrDownload, "getting an Azure access token as %s: %v", who, unwrapURLError(err))
}

// assertionTokenSource signs in with a client assertion made for each
// token: the federated token file's contents (workload identity), or a
// JWT the certificate signs (azureCertificate.assertion).
type assertionTokenSource struct {
	ctx              context.Context
	client, tokenURL string
	assertion        func() (string, error)
}

func (a *assertionTokenSource) Token() (*oauth2.Token, error) {
	assertion, err := a.assertion()
	if err != nil {
		return nil, err
	}
	conf := &clientcredentials.Config{ClientID: a.client, TokenURL: a.tokenURL, Scopes: []string{azureScope},
		AuthStyle: oauth2.AuthStyleInParams, EndpointParams: url.Values{
			"client_assertion_type": {azureAssertionType},
			"client_assertion":      {assertion},
		}}
	return conf.Token(a.ctx)
}

// azureError turns an error answer into an error naming what to set;
// denied is what a refusal says besides that the container may not exist
// (what to set, or that the credentials used may not read it).
func azureError(shown string, code int, body []byte, denied string) error {
	var e struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	_ = xml.Unmarshal(body, &e)
	msg, _, _ := strings.Cut(e.Message, "\n") // the first line; the rest is a request id and a time
	detail := strings.TrimSpace(e.Code + ": " + msg)
	if e.Code == "" {
		detail = strings.TrimSpace(string(body))
	}
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return newError(ErrNotFound, "%s: the container answered %d (no such container, or %s): %s", shown, code, denied, detail)
	}
	return newError(ErrDownload, "%s: the container answered %d: %s", shown, code, detail)
}

// sharedKeyTransport signs requests to origin (scheme and host) with the
// account key (the Blob service's Shared Key scheme); others (a redirect
// elsewhere, or to plain http) go unsigned.
type sharedKeyTransport struct {
	base    http.RoundTripper
	origin  *url.URL
	account string
	key     []byte
}

func (t *sharedKeyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if leavesOrigin(t.origin, req.URL) {
		return t.base.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", azureVersion)
	req.Header.Set("Authorization", "SharedKey "+t.account+":"+sharedKeySignature(req, t.account, t.key))
	return t.base.RoundTrip(req)
}

// sharedKeySignature is the Shared Key signature of req: HMAC-SHA256 of the
// string to sign (the verb, the standard headers, the x-ms- headers, the
// canonicalized resource) with the account key.
func sharedKeySignature(req *http.Request, account string, key []byte) string {
	h := req.Header
	length := h.Get("Content-Length")
	if length == "0" {
		length = ""
	}
	var ms []string
	for name := range h {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-ms-") {
			ms = append(ms, l+":"+strings.TrimSpace(strings.Join(h.Values(name), ",")))
		}
	}
	sort.Strings(ms)
	resource := "/" + account + req.URL.EscapedPath()
	q := req.URL.Query()
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	for _, name := range names {
		values := append([]string(nil), q[name]...)
		sort.Strings(values)
		resource += "\n" + strings.ToLower(name) + ":" + strings.Join(values, ",")
	}
	toSign := strings.Join([]string{
		req.Method, h.Get("Content-Encoding"), h.Get("Content-Language"), length, h.Get("Content-MD5"),
		h.Get("Content-Type"), "", h.Get("If-Modified-Since"), h.Get("If-Match"), h.Get("If-None-Match"),
		h.Get("If-Unmodified-Since"), h.Get("Range"),
	}, "\n") + "\n" + strings.Join(ms, "\n") + "\n" + resource
	m := hmac.New(sha256.New, key)
	m.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// originOf is base's scheme and host; an empty URL, which no request
// matches, when base is not a URL.
func originOf(base string) *url.URL {
	u, err := url.Parse(base)
	if err != nil {
		return &url.URL{}
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}
}
