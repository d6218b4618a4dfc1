package storage

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Azurite's development account, as Microsoft documents it for the emulator.
const (
	azuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// azurite is a running Azurite blob service (Microsoft's Azure Storage
// emulator, installed by scripts/setup-emulators.sh), which checks Shared Key
// and shared access signatures the way Azure does.
type azurite struct {
	base   string       // http://127.0.0.1:port/devstoreaccount1
	client *http.Client // trusting its certificate, over https
}

func startAzurite(t *testing.T) *azurite {
	t.Helper()
	bin := emulator(t, "azurite", "azurite-blob")
	port := freeTCPPort(t)
	out := startProcess(t, bin, []string{"--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port),
		"--location", t.TempDir(), "--silent", "--skipApiVersionCheck", "--disableProductStyleUrl"})
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", port), out)
	return &azurite{base: fmt.Sprintf("http://127.0.0.1:%d/%s", port, azuriteAccount), client: http.DefaultClient}
}

// startAzuriteOAuth runs Azurite over https with bearer tokens accepted
// (--oauth basic, which needs https): it decodes the token and checks its
// lifetime, issuer (https://sts.windows.net/...) and audience (the Blob
// service), not its signature, so a token from a stand-in endpoint does.
// It returns a client that trusts cert too.
func startAzuriteOAuth(t *testing.T, cert, key string) *azurite {
	t.Helper()
	bin := emulator(t, "azurite", "azurite-blob")
	port := freeTCPPort(t)
	out := startProcess(t, bin, []string{"--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port),
		"--location", t.TempDir(), "--silent", "--skipApiVersionCheck", "--disableProductStyleUrl",
		"--cert", cert, "--key", key, "--oauth", "basic"})
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", port), out)
	return &azurite{base: fmt.Sprintf("https://127.0.0.1:%d/%s", port, azuriteAccount), client: trustingClient(t, cert)}
}

// trustingClient is a client that trusts the certificate in cert.
func trustingClient(t *testing.T, cert string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(cert)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// do sends a request signed with the account key, as any Azure client does.
func (a *azurite) do(t *testing.T, method, rawURL, body string, header map[string]string) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if body != "" {
		req.Header.Set("Content-Length", fmt.Sprint(len(body)))
	}
	key, _ := base64.StdEncoding.DecodeString(azuriteKey)
	tr := &sharedKeyTransport{base: a.client.Transport, origin: originOf(rawURL), account: azuriteAccount, key: key}
	if tr.base == nil {
		tr.base = http.DefaultTransport
	}
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "%s %s", method, rawURL)
}

func (a *azurite) container(t *testing.T, name string, public bool) {
	h := map[string]string{}
	if public {
		h["x-ms-blob-public-access"] = "container"
	}
	a.do(t, http.MethodPut, a.base+"/"+name+"?restype=container", "", h)
}

func (a *azurite) put(t *testing.T, container, name, body string) {
	a.do(t, http.MethodPut, a.base+"/"+container+"/"+name, body, map[string]string{"x-ms-blob-type": "BlockBlob"})
}

// sas is a service shared access signature for reading and listing the
// container, made with the account key (the documented string to sign).
func (a *azurite) sas(container string) string { return a.sasFor(container, "rl") }

// sasFor is a service shared access signature with the permissions perms
// ("rl": read and list).
func (a *azurite) sasFor(container, perms string) string {
	expiry := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z")
	version := "2021-08-06"
	toSign := strings.Join([]string{perms, "", expiry, "/blob/" + azuriteAccount + "/" + container, "", "", "", version, "c", "", "", "", "", "", "", ""}, "\n")
	key, _ := base64.StdEncoding.DecodeString(azuriteKey)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(toSign))
	q := url.Values{"sv": {version}, "se": {expiry}, "sr": {"c"}, "sp": {perms}, "sig": {base64.StdEncoding.EncodeToString(m.Sum(nil))}}
	return q.Encode()
}

func azureEnv(t *testing.T, a *azurite) (*downloadEnv, Resolver) {
	d := newDownloadEnv(t)
	r := d.resolver()
	r.azureEndpoint = func(account string) string {
		require.Equal(t, azuriteAccount, account)
		return a.base
	}
	return d, r
}

const azureURI = "https://devstoreaccount1.blob.core.windows.net/"

// azureHint is what reads a private container, as the messages say it.
const azureHint = "add a shared access signature to the URI, set AZURE_STORAGE_ACCESS_KEY, set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_FEDERATED_TOKEN_FILE) for a service principal, or AZURE_CLIENT_ID alone for a managed identity on Azure"

var azureHintRE = regexp.QuoteMeta(azureHint)

func TestAzure_KeySASAndAnonymous(t *testing.T) {
	a := startAzurite(t)
	a.container(t, "private", false)
	a.put(t, "private", "models/iris/model.onnx", "weights")
	a.put(t, "private", "models/iris/sub/labels.txt", "setosa")
	a.put(t, "private", "models/irises/other.onnx", "not this one")
	ctx := context.Background()

	// No credentials: anonymous, which a private container refuses.
	d, r := azureEnv(t, a)
	_, err := r.Resolve(ctx, azureURI+"private/models/iris")
	require.Error(t, err)
	assert.Regexp(t, `^https://devstoreaccount1.blob.core.windows.net/private/models/iris: the container answered 40[34] \(no such container, or it is not public: `+azureHintRE+`\): `, err.Error())
	assert.Equal(t, "WARN Azure credentials or shared access signature token not found, retrying anonymous access", d.logs.take()[0])

	// A client id without a secret or a federated token file is a managed
	// identity, as in KServe's DefaultAzureCredential, not anonymous: off
	// Azure, where no IMDS answers, an error naming it, before any
	// request to the account, and the account key is not tried.
	d, r = azureEnv(t, a)
	d.env["AZ_CLIENT_ID"] = "00000000-0000-0000-0000-000000000001"
	d.env["AZ_TENANT_ID"] = "tenant"
	d.env["AZURE_STORAGE_ACCESS_KEY"] = azuriteKey
	closed := fmt.Sprintf("http://127.0.0.1:%d", freeTCPPort(t))
	d.env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = closed
	_, err = r.Resolve(ctx, azureURI+"private/models/iris")
	require.Error(t, err)
	assert.Regexp(t, `^getting an Azure access token as managed identity 00000000-0000-0000-0000-000000000001 \(AZ_CLIENT_ID\) via AZURE_POD_IDENTITY_AUTHORITY_HOST \(`+regexp.QuoteMeta(closed)+`\): dial tcp 127\.0\.0\.1:[0-9]+: connect: connection refused$`, err.Error())
	assert.ErrorIs(t, err, ErrDownload)
	assert.Empty(t, d.logs.take())

	// The account key: Shared Key signing, checked by Azurite.
	d, r = azureEnv(t, a)
	d.env["AZURE_STORAGE_ACCESS_KEY"] = azuriteKey
	dir, err := r.Resolve(ctx, azureURI+"private/models/iris")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=weights", "sub/labels.txt=setosa"}, tree(t, dir))

	d.env["AZURE_STORAGE_ACCESS_KEY"] = base64.StdEncoding.EncodeToString([]byte("a wrong key of the right form......"))
	_, err = r.Resolve(context.Background(), azureURI+"private/models/iris/model.onnx")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the container answered 403 (no such container, or the signature or key may not read it): AuthorizationFailure")

	// A shared access signature in the URI, checked by Azurite too; shown
	// as xxxxx.
	d, r = azureEnv(t, a)
	sas := a.sas("private")
	dir, err = r.Resolve(ctx, azureURI+"private/models/iris/model.onnx?"+sas)
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
	sig, err := url.ParseQuery(sas)
	require.NoError(t, err)
	logs := strings.Join(d.logs.take(), "\n")
	assert.Contains(t, logs, "sig=xxxxx")
	assert.NotContains(t, logs, sig.Get("sig"))
	assert.NotContains(t, logs, url.QueryEscape(sig.Get("sig")))

	// A signature Azurite did not issue is refused.
	bad := strings.Replace(sas, "sp=rl", "sp=rwl", 1)
	_, err = r.Resolve(ctx, azureURI+"private/models/iris/model.onnx?"+bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the container answered 403 (no such container, or the signature or key may not read it): AuthorizationFailure")
}

func TestAzure_PublicContainerCacheAndPages(t *testing.T) {
	a := startAzurite(t)
	a.container(t, "public", true)
	for i := range 5 {
		a.put(t, "public", fmt.Sprintf("parts/p%d", i), fmt.Sprint(i))
	}
	a.put(t, "public", "archives/resnet.tar.gz", string(tarball(t, true, entry{name: "resnet/model.onnx", body: "w"})))
	d, r := azureEnv(t, a)
	r.listPageSize = 2 // markers followed
	ctx := context.Background()
	dir, err := r.Resolve(ctx, azureURI+"public/parts")
	require.NoError(t, err)
	assert.Equal(t, []string{"p0=0", "p1=1", "p2=2", "p3=3", "p4=4"}, tree(t, dir))

	again, err := r.Resolve(ctx, azureURI+"public/parts")
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	logs := d.logs.take()
	assert.Regexp(t, `^INFO https://devstoreaccount1.blob.core.windows.net/public/parts is at listing [0-9a-f]{12}, downloaded on `, logs[len(logs)-1])

	dir, err = r.Resolve(ctx, azureURI+"public/archives/resnet.tar.gz")
	require.NoError(t, err)
	assert.Equal(t, []string{"resnet/model.onnx=w"}, tree(t, dir))

	// KServe's message names only the URI; the rest says what was looked
	// for, and how many blobs the patterns left out.
	_, err = r.Resolve(ctx, azureURI+"public/nothing")
	assert.EqualError(t, err, "Failed to fetch model. No model found in https://devstoreaccount1.blob.core.windows.net/public/nothing: container public has no blob nothing, nor any under nothing/.")
	assert.ErrorIs(t, err, ErrNotFound)
	a.container(t, "empty", true)
	_, err = r.Resolve(ctx, azureURI+"empty")
	assert.EqualError(t, err, "Failed to fetch model. No model found in https://devstoreaccount1.blob.core.windows.net/empty: container empty has no blob.")
	assert.ErrorIs(t, err, ErrNotFound)
	// An empty blob is a file, as for KServe (an __init__.py), unless it
	// names a folder of other blobs: a hierarchical namespace's directory,
	// which the Blob service lists as an empty blob.
	a.put(t, "public", "hns/iris", "")
	a.put(t, "public", "hns/iris/model.onnx", "w")
	a.put(t, "public", "hns/iris/__init__.py", "")
	dir, err = r.Resolve(ctx, azureURI+"public/hns")
	require.NoError(t, err)
	assert.Equal(t, []string{"iris/__init__.py=", "iris/model.onnx=w"}, tree(t, dir))
	d.env["STORAGE_ALLOW_PATTERNS"] = "*.safetensors"
	_, err = r.Resolve(ctx, azureURI+"public/parts")
	assert.EqualError(t, err, `Failed to fetch model. No model found in https://devstoreaccount1.blob.core.windows.net/public/parts: STORAGE_ALLOW_PATTERNS ["*.safetensors"] and STORAGE_IGNORE_PATTERNS [] leave none of its 5 blobs.`)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = r.Resolve(ctx, azureURI+"public/archives/resnet.tar.gz")
	assert.EqualError(t, err, `Failed to fetch model. No model found in https://devstoreaccount1.blob.core.windows.net/public/archives/resnet.tar.gz: STORAGE_ALLOW_PATTERNS ["*.safetensors"] and STORAGE_IGNORE_PATTERNS [] leave none of its 1 blob.`)
	delete(d.env, "STORAGE_ALLOW_PATTERNS")
	_, err = r.Resolve(ctx, azureURI)
	assert.EqualError(t, err, "storage uri https://devstoreaccount1.blob.core.windows.net/: no container: want https://<account>.blob.core.windows.net/<container>/<path>")
}

// A shared access signature that may list the container but not read its
// blobs fails on the first blob, and the error names the blob's URL with
// the signature as xxxxx, as everywhere else; a URI that does not parse is
// an error naming it so too (it was a nil pointer dereference).
func TestAzure_SignatureNotInErrors(t *testing.T) {
	a := startAzurite(t)
	a.container(t, "private", false)
	a.put(t, "private", "models/iris/model.onnx", "weights")
	sas := a.sasFor("private", "l")
	sig, err := url.ParseQuery(sas)
	require.NoError(t, err)
	d, r := azureEnv(t, a)
	_, err = r.Resolve(context.Background(), azureURI+"private/models/iris?"+sas)
	require.Error(t, err)
	assert.Regexp(t, `^URI: http://127\.0\.0\.1:[0-9]+/devstoreaccount1/private/models/iris/model\.onnx\?se=[^ ]+&sig=xxxxx&sp=l&sr=c&sv=2021-08-06 returned a 403 response code\.$`, err.Error())
	for _, s := range append(d.logs.take(), err.Error()) {
		assert.NotContains(t, s, sig.Get("sig"))
		assert.NotContains(t, s, url.QueryEscape(sig.Get("sig")))
	}

	_, err = r.Resolve(context.Background(), azureURI+"private/%zz?sig=S1G")
	require.Error(t, err)
	assert.Equal(t, `storage uri https://devstoreaccount1.blob.core.windows.net/private/%zz?xxxxx: invalid URL escape "%zz": want https://<account>.blob.core.windows.net/<container>/<path>`, err.Error())
	assert.ErrorIs(t, err, ErrInvalidURI)
}

// entraStandIn stands in for Microsoft Entra ID's token endpoint
// (AZURE_AUTHORITY_HOST points at it, over https): it checks the client
// credentials grant's form as Entra does and mints a token Azurite takes
// (the Blob service's audience, an sts.windows.net issuer, a lifetime;
// not signed, which Azurite does not check), or refuses with Entra's
// AADSTS JSON.
type entraStandIn struct {
	url            string
	tenant, client string
	secret         string

	mu         sync.Mutex      // guards the rest
	assertions map[string]bool // the federated tokens it trusts
	audience   string          // of the tokens it mints
	expiresIn  int
	down       bool         // answers 503, as Entra does in an outage
	forms      []url.Values // the requests' forms, in order
	// expireFrom, when set, is the first request (counting from 1, since
	// the last takeForms) whose secret Entra takes for expired.
	expireFrom int
	// appCert is the certificate registered for the client, whose signed
	// client assertions it takes.
	appCert *x509.Certificate
}

// set changes the stand-in's settings between requests.
func (e *entraStandIn) set(change func(*entraStandIn)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	change(e)
}

func startEntra(t *testing.T, cert, key string) *entraStandIn {
	t.Helper()
	e := &entraStandIn{tenant: "tenant-1", client: "client-1", secret: "s3cret", assertions: map[string]bool{},
		audience: "https://storage.azure.com", expiresIn: 3599}
	pair, err := tls.LoadX509KeyPair(cert, key)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(e.serve))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

func (e *entraStandIn) serve(w http.ResponseWriter, req *http.Request) {
	refuse := func(code int, errCode, description string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": errCode,
			"error_description": description + "\r\nTrace ID: 0a1b\r\nCorrelation ID: 2c3d\r\nTimestamp: 2026-01-01 00:00:00Z",
			"error_codes":       []int{0}, "trace_id": "0a1b"})
	}
	if req.Method != http.MethodPost || req.ParseForm() != nil {
		refuse(http.StatusBadRequest, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.")
		return
	}
	f := req.PostForm
	e.mu.Lock()
	e.forms = append(e.forms, f)
	trusted, audience, expiresIn, down := e.assertions[f.Get("client_assertion")], e.audience, e.expiresIn, e.down
	expired := e.expireFrom > 0 && len(e.forms) >= e.expireFrom
	certAssertion, certTrusted := e.checkCertAssertion(e.url+req.URL.Path, f.Get("client_assertion"))
	trusted = trusted || certTrusted
	e.mu.Unlock()
	switch {
	case certAssertion && !certTrusted:
		refuse(http.StatusUnauthorized, "invalid_client", "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.")
	case expired:
		refuse(http.StatusUnauthorized, "invalid_client", "AADSTS7000222: The provided client secret keys for app '"+e.client+"' are expired.")
	case down:
		refuse(http.StatusServiceUnavailable, "temporarily_unavailable", "AADSTS90033: A transient error has occurred. Please try again.")
	case req.URL.Path != "/"+e.tenant+"/oauth2/v2.0/token":
		refuse(http.StatusBadRequest, "invalid_request", "AADSTS90002: Tenant not found: "+req.URL.Path)
	case f.Get("grant_type") != "client_credentials" || f.Get("scope") != "https://storage.azure.com/.default":
		refuse(http.StatusBadRequest, "invalid_scope", "AADSTS70011: The provided request must include a 'scope' input parameter.")
	case f.Get("client_id") != e.client:
		refuse(http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application with identifier '"+f.Get("client_id")+"' was not found in the directory.")
	case f.Has("client_secret") && f.Get("client_secret") != e.secret:
		refuse(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
	case !f.Has("client_secret") && (f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || !trusted):
		refuse(http.StatusBadRequest, "invalid_client", "AADSTS700211: No matching federated identity record found for presented assertion.")
	default:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": expiresIn, "access_token": azureAccessToken(e.tenant, e.client, audience)})
	}
}

// azureAccessToken is a token as Entra mints it for client, which Azurite
// takes for audience (the Blob service's): an sts.windows.net issuer, a
// lifetime of an hour; not signed, which Azurite does not check.
func azureAccessToken(tenant, client, audience string) string {
	now := time.Now().Unix()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(map[string]any{
		"aud": audience, "iss": "https://sts.windows.net/" + tenant + "/", "appid": client,
		"iat": now - 60, "nbf": now - 60, "exp": now + 3600}) + ".c2lnbmF0dXJl"
}

// takeForms returns the forms received since the last call.
func (e *entraStandIn) takeForms() []url.Values {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.forms
	e.forms = nil
	return f
}

// headerRecorder records the Authorization scheme and x-ms-version of the
// requests that reach the network.
type headerRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (h *headerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	scheme, _, _ := strings.Cut(req.Header.Get("Authorization"), " ")
	h.mu.Lock()
	h.seen = append(h.seen, req.URL.Path+" "+scheme+" "+req.Header.Get("x-ms-version"))
	h.mu.Unlock()
	return h.base.RoundTrip(req)
}

// A service principal signs in as KServe's storage-initializer does: a
// client secret (KServe's AZ_* variables over azure-identity's AZURE_*),
// or an AKS workload identity's federated token file; each blob request
// carries the bearer token with a REST version that takes one, and
// Azurite checks the token's audience and issuer.
func TestAzure_ServicePrincipalAndWorkloadIdentity(t *testing.T) {
	cert, key := selfSignedCert(t)
	a := startAzuriteOAuth(t, cert, key)
	a.container(t, "private", false)
	a.put(t, "private", "models/iris/model.onnx", "weights")
	a.put(t, "private", "models/iris/sub/labels.txt", "setosa")
	e := startEntra(t, cert, key)
	ctx := context.Background()
	signedIn := func(env map[string]string) (*downloadEnv, Resolver, *headerRecorder) {
		d, r := azureEnv(t, a)
		rec := &headerRecorder{base: a.client.Transport}
		r.Client = &http.Client{Transport: rec}
		d.env["AZURE_AUTHORITY_HOST"] = e.url
		for k, v := range env {
			d.env[k] = v
		}
		return d, r, rec
	}

	// A client secret, as KServe's secret for a service principal sets it;
	// it comes before an account key, as in KServe (this one is wrong).
	d, r, rec := signedIn(map[string]string{"AZ_TENANT_ID": "tenant-1", "AZ_CLIENT_ID": "client-1", "AZ_CLIENT_SECRET": "s3cret",
		"AZURE_CLIENT_SECRET": "stale", "AZURE_STORAGE_ACCESS_KEY": base64.StdEncoding.EncodeToString([]byte("a wrong key of the right form......"))})
	dir, err := r.Resolve(ctx, azureURI+"private/models/iris")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=weights", "sub/labels.txt=setosa"}, tree(t, dir))
	assert.Equal(t, []url.Values{{"grant_type": {"client_credentials"}, "scope": {"https://storage.azure.com/.default"},
		"client_id": {"client-1"}, "client_secret": {"s3cret"}}}, e.takeForms())
	assert.Equal(t, "INFO Retrieved SP token credential for client_id: client-1", d.logs.take()[0])
	assert.Equal(t, []string{"/devstoreaccount1/private Bearer 2021-08-06", "/devstoreaccount1/private/models/iris/model.onnx Bearer 2021-08-06",
		"/devstoreaccount1/private/models/iris/sub/labels.txt Bearer 2021-08-06"}, blobRequests(rec.seen))

	// A token Azurite does not take (another audience) is refused, and the
	// error names the service principal.
	e.set(func(e *entraStandIn) { e.audience = "https://management.azure.com/" })
	_, r, _ = signedIn(map[string]string{"AZURE_TENANT_ID": "tenant-1", "AZURE_CLIENT_ID": "client-1", "AZURE_CLIENT_SECRET": "s3cret"})
	_, err = r.Resolve(ctx, azureURI+"private/models/iris")
	require.Error(t, err)
	assert.Regexp(t, `^https://devstoreaccount1.blob.core.windows.net/private/models/iris: the container answered 40[13] \(no such container, or client client-1 in tenant tenant-1 `+
		`\(AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET\) may not read it: it needs a role such as Storage Blob Data Reader on the account or container\): AuthenticationFailed: `, err.Error())
	e.set(func(e *entraStandIn) { e.audience = "https://storage.azure.com" })
	e.takeForms()

	// Workload identity: the webhook's AZURE_* variables and token file.
	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("federated-1\n"), 0o600))
	e.set(func(e *entraStandIn) { e.assertions["federated-1"] = true })
	d, r, rec = signedIn(map[string]string{"AZURE_TENANT_ID": "tenant-1", "AZURE_CLIENT_ID": "client-1", "AZURE_FEDERATED_TOKEN_FILE": tokenFile})
	dir, err = r.Resolve(ctx, azureURI+"private/models/iris/model.onnx")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
	assert.Equal(t, []url.Values{{"grant_type": {"client_credentials"}, "scope": {"https://storage.azure.com/.default"}, "client_id": {"client-1"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"federated-1"}}}, e.takeForms())
	assert.Equal(t, "INFO Retrieved SP token credential for client_id: client-1", d.logs.take()[0])
	assert.Equal(t, []string{"/devstoreaccount1/private Bearer 2021-08-06", "/devstoreaccount1/private/models/iris/model.onnx Bearer 2021-08-06"}, blobRequests(rec.seen))
}

// blobRequests is the recorded requests to the account's blob service,
// sorted (the downloads run in parallel).
func blobRequests(seen []string) []string {
	var c []string
	for _, s := range seen {
		if strings.HasPrefix(s, "/"+azuriteAccount+"/") {
			c = append(c, s)
		}
	}
	sort.Strings(c)
	return c
}

// Sign-in errors name the service principal, the variables it came from
// and Entra's AADSTS description (its first line), before any request to
// the account; a missing tenant or an http authority names the variable.
// The federated token file is read for every token: the kubelet rotates
// it. No emulator: nothing reaches the account.
func TestAzure_SignInErrorsAndTokenRotation(t *testing.T) {
	cert, key := selfSignedCert(t)
	e := startEntra(t, cert, key)
	account := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		t.Errorf("the account was asked %s before a token", req.URL)
		w.WriteHeader(http.StatusForbidden)
	}))
	t.Cleanup(account.Close)
	ctx := context.Background()
	resolve := func(env map[string]string) error {
		d := newDownloadEnv(t)
		r := d.resolver()
		r.Client = trustingClient(t, cert)
		r.azureEndpoint = func(string) string { return account.URL + "/" + azuriteAccount }
		d.env["AZURE_AUTHORITY_HOST"] = e.url + "/"
		for k, v := range env {
			d.env[k] = v
		}
		_, err := r.Resolve(ctx, azureURI+"private/models/iris")
		return err
	}

	err := resolve(map[string]string{"AZ_TENANT_ID": "tenant-1", "AZ_CLIENT_ID": "client-1", "AZ_CLIENT_SECRET": "wrong"})
	assert.EqualError(t, err, "getting an Azure access token as client client-1 in tenant tenant-1 (AZ_TENANT_ID, AZ_CLIENT_ID, AZ_CLIENT_SECRET): "+
		"the token endpoint answered 401 (invalid_client): AADSTS7000215: Invalid client secret provided.")
	err = resolve(map[string]string{"AZURE_TENANT_ID": "tenant-2", "AZURE_CLIENT_ID": "client-1", "AZ_CLIENT_SECRET": "s3cret"})
	assert.EqualError(t, err, "getting an Azure access token as client client-1 in tenant tenant-2 (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZ_CLIENT_SECRET): "+
		"the token endpoint answered 400 (invalid_request): AADSTS90002: Tenant not found: /tenant-2/oauth2/v2.0/token")
	err = resolve(map[string]string{"AZURE_CLIENT_ID": "client-1", "AZURE_CLIENT_SECRET": "s3cret"})
	assert.EqualError(t, err, "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are set, but not AZURE_TENANT_ID (or KServe's AZ_TENANT_ID): the tenant to sign in to")
	err = resolve(map[string]string{"AZURE_TENANT_ID": "tenant-1", "AZURE_CLIENT_ID": "client-1", "AZURE_CLIENT_SECRET": "s3cret", "AZURE_AUTHORITY_HOST": "http://127.0.0.1:1"})
	assert.EqualError(t, err, `AZURE_AUTHORITY_HOST "http://127.0.0.1:1": want an https:// URL, such as https://login.microsoftonline.com/`)

	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	wi := map[string]string{"AZURE_TENANT_ID": "tenant-1", "AZURE_CLIENT_ID": "client-1", "AZURE_FEDERATED_TOKEN_FILE": tokenFile}
	err = resolve(wi)
	assert.EqualError(t, err, "getting an Azure access token as client client-1 in tenant tenant-1 (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE): "+
		"reading AZURE_FEDERATED_TOKEN_FILE: open "+tokenFile+": no such file or directory")
	require.NoError(t, os.WriteFile(tokenFile, []byte("forged"), 0o600))
	err = resolve(wi)
	assert.EqualError(t, err, "getting an Azure access token as client client-1 in tenant tenant-1 (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE): "+
		"the token endpoint answered 400 (invalid_client): AADSTS700211: No matching federated identity record found for presented assertion.")
	e.takeForms()

	// Rotation: tokens that expire within oauth2's refresh margin are
	// fetched again for each use, each time with the file as it is then.
	e.set(func(e *entraStandIn) {
		e.expiresIn = 1
		e.assertions["federated-1"], e.assertions["federated-2"] = true, true
	})
	require.NoError(t, os.WriteFile(tokenFile, []byte("federated-1"), 0o600))
	d := newDownloadEnv(t)
	r := d.resolver()
	r.Client = trustingClient(t, cert)
	d.env["AZURE_AUTHORITY_HOST"] = e.url
	for k, v := range wi {
		d.env[k] = v
	}
	s, err := r.azureSignIn(ctx)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tokenFile, []byte("federated-2"), 0o600))
	_, err = s.source.Token()
	require.NoError(t, err)
	var got []string
	for _, f := range e.takeForms() {
		got = append(got, f.Get("client_assertion"))
	}
	assert.Equal(t, []string{"federated-1", "federated-2"}, got)

	// A client secret comes before the federated token file, as in
	// azure-identity's DefaultAzureCredential.
	d.env["AZ_CLIENT_SECRET"] = "s3cret"
	_, err = r.azureSignIn(ctx)
	require.NoError(t, err)
	forms := e.takeForms()
	require.Len(t, forms, 1)
	assert.Equal(t, "s3cret", forms[0].Get("client_secret"))
	assert.False(t, forms[0].Has("client_assertion"))
}

// spCachedModel is models/iris of a private container of Azurite (with
// OAuth), downloaded once with a service principal's token from the Entra
// stand-in, and so cached: what the token tests resolve again.
type spCachedModel struct {
	a      *azurite
	e      *entraStandIn
	d      *downloadEnv
	r      Resolver
	rec    *headerRecorder
	uri    string
	dir    string // the cached copy
	listed int    // blob requests made so far
}

func cacheWithServicePrincipal(t *testing.T) spCachedModel {
	t.Helper()
	cert, key := selfSignedCert(t)
	a := startAzuriteOAuth(t, cert, key)
	a.container(t, "private", false)
	a.put(t, "private", "models/iris/model.onnx", "weights")
	e := startEntra(t, cert, key)
	d, r := azureEnv(t, a)
	rec := &headerRecorder{base: a.client.Transport}
	r.Client = &http.Client{Transport: rec}
	d.env["AZURE_AUTHORITY_HOST"] = e.url
	for k, v := range map[string]string{"AZURE_TENANT_ID": "tenant-1", "AZURE_CLIENT_ID": "client-1", "AZURE_CLIENT_SECRET": "s3cret"} {
		d.env[k] = v
	}
	uri := azureURI + "private/models/iris"
	dir, err := r.Resolve(context.Background(), uri)
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
	d.logs.take()
	return spCachedModel{a: a, e: e, d: d, r: r, rec: rec, uri: uri, dir: dir, listed: len(blobRequests(rec.seen))}
}

// A token endpoint that cannot be reached, or that fails on its side (a
// 503), is a source that cannot be asked, as an unreachable container is:
// the cached copy is served with a warning naming the endpoint and why.
// One that refuses the client secret, or a federated token file that
// cannot be read, is an error even so (a configuration error is not
// hidden), as a container's 401 is; and with nothing cached, the token's
// error is the error, before any listing.
func TestAzure_TokenEndpointUnreachableServesTheCache(t *testing.T) {
	sp := cacheWithServicePrincipal(t)
	a, e, d, r, rec, uri, dir, listed := sp.a, sp.e, sp.d, sp.r, sp.rec, sp.uri, sp.dir, sp.listed
	ctx := context.Background()
	who := "client client-1 in tenant tenant-1 (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)"

	closed := fmt.Sprintf("https://127.0.0.1:%d", freeTCPPort(t))
	d.env["AZURE_AUTHORITY_HOST"] = closed
	again, err := r.Resolve(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	logs := d.logs.take()
	require.Len(t, logs, 1)
	assert.Regexp(t, `^WARN Cannot get an access token from `+regexpQuote(closed)+`/tenant-1/oauth2/v2\.0/token for `+regexpQuote(uri)+` \(getting an Azure access token as `+regexpQuote(who)+
		`: dial tcp 127\.0\.0\.1:[0-9]+: connect: connection refused\); serving the copy of listing [0-9a-f]{12} downloaded \S+ from `+regexpQuote(dir)+`$`, logs[0])
	assert.Len(t, blobRequests(rec.seen), listed, "no listing without a token")

	// Nothing cached: the token's error, as before.
	fresh, fr := azureEnv(t, a)
	fr.Client = r.Client
	for k, v := range d.env {
		fresh.env[k] = v
	}
	_, err = fr.Resolve(ctx, uri)
	require.Error(t, err)
	assert.Regexp(t, `^getting an Azure access token as `+regexpQuote(who)+`: dial tcp 127\.0\.0\.1:[0-9]+: connect: connection refused$`, err.Error())
	assert.ErrorIs(t, err, ErrDownload)
	assert.Len(t, blobRequests(rec.seen), listed, "no listing without a token")

	// Entra in an outage (503): served too.
	d.env["AZURE_AUTHORITY_HOST"] = e.url
	e.set(func(e *entraStandIn) { e.down = true })
	again, err = r.Resolve(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	logs = d.logs.take()
	require.Len(t, logs, 1)
	assert.Regexp(t, `^WARN Cannot get an access token from `+regexpQuote(e.url)+`/tenant-1/oauth2/v2\.0/token for `+regexpQuote(uri)+` \(getting an Azure access token as `+regexpQuote(who)+
		`: the token endpoint answered 503 \(temporarily_unavailable\): AADSTS90033: A transient error has occurred\. Please try again\.\); serving the copy of listing [0-9a-f]{12} downloaded \S+ from `+regexpQuote(dir)+`$`, logs[0])
	e.set(func(e *entraStandIn) { e.down = false })

	// A refused secret, and a federated token file that is not there:
	// errors, the cached copy notwithstanding.
	d.env["AZURE_CLIENT_SECRET"] = "wrong"
	_, err = r.Resolve(ctx, uri)
	assert.EqualError(t, err, "getting an Azure access token as "+who+": the token endpoint answered 401 (invalid_client): AADSTS7000215: Invalid client secret provided.")
	assert.ErrorIs(t, err, ErrNotFound)
	delete(d.env, "AZURE_CLIENT_SECRET")
	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	d.env["AZURE_FEDERATED_TOKEN_FILE"] = tokenFile
	_, err = r.Resolve(ctx, uri)
	assert.EqualError(t, err, "getting an Azure access token as client client-1 in tenant tenant-1 (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE): "+
		"reading AZURE_FEDERATED_TOKEN_FILE: open "+tokenFile+": no such file or directory")
	assert.ErrorIs(t, err, ErrInvalidURI)
	assert.Empty(t, d.logs.take())
	assert.Len(t, blobRequests(rec.seen), listed, "no listing without a token")
}

// A token renewed during the listing (one expiring as the server starts)
// that Entra refuses (the secret expired since) is an error, the cached
// copy notwithstanding, as a refusal of the first token is.
func TestAzure_TokenRefusedDuringTheListing(t *testing.T) {
	sp := cacheWithServicePrincipal(t)
	e, d, r, rec, uri, listed := sp.e, sp.d, sp.r, sp.rec, sp.uri, sp.listed
	e.takeForms()

	// Tokens good for a second are renewed for each request: the sign-in's
	// is taken, the listing's refused.
	e.set(func(e *entraStandIn) {
		e.expiresIn = 1
		e.expireFrom = 2 // counting from the takeForms above
	})
	_, err := r.Resolve(context.Background(), uri)
	assert.EqualError(t, err, "getting an Azure access token as client client-1 in tenant tenant-1 (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET): "+
		"the token endpoint answered 401 (invalid_client): AADSTS7000222: The provided client secret keys for app 'client-1' are expired.")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Len(t, e.takeForms(), 2, "the sign-in's token, then the listing's")
	assert.Equal(t, []string{"INFO Retrieved SP token credential for client_id: client-1"}, d.logs.take(), "no cached copy served")
	assert.Len(t, blobRequests(rec.seen), listed, "the listing went without its token")
}

// imdsStandIn stands in for Azure's Instance Metadata Service (the real
// one answers on Azure's machines only; AZURE_POD_IDENTITY_AUTHORITY_HOST
// points at it, as azure-identity reads it) and for App Service's managed
// identity endpoint: it mints the token of an assigned identity to a
// request carrying the header the real ones require, refuses another
// identity with IMDS's answer, and records each request. Its script, when
// set, answers the next requests first, one status each: the transient
// answers azure-identity retries (an identity not yet assigned, IMDS being
// upgraded), or scriptDrop, an answer cut short.
type imdsStandIn struct {
	*httptest.Server
	mu       sync.Mutex
	assigned string   // the client id of the identity assigned to the machine
	requests []string // path?query and the guard header's value
	script   []int
	// retryAfter is the Retry-After of the script's answers, if any.
	retryAfter string
}

const scriptDrop = -1

// imdsAnswers are the bodies of IMDS's transient answers, in its OAuth
// error form.
var imdsAnswers = map[int]string{
	http.StatusNotFound:           `{"error":"invalid_request","error_description":"Identity not found"}`,
	http.StatusGone:               `{"error":"service_unavailable","error_description":"IMDS is being upgraded"}`,
	http.StatusTooManyRequests:    `{"error":"too_many_requests","error_description":"Too many requests"}`,
	http.StatusServiceUnavailable: `{"error":"service_unavailable","error_description":"The service is unavailable"}`,
}

func newIMDS(t *testing.T, assigned string) *imdsStandIn {
	m := &imdsStandIn{assigned: assigned}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		q := r.URL.Query()
		guard := r.Header.Get("Metadata")
		if r.URL.Path == "/appservice/token" {
			guard = r.Header.Get("X-IDENTITY-HEADER")
		}
		m.requests = append(m.requests, r.URL.Path+"?"+r.URL.RawQuery+" "+guard)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if len(m.script) > 0 {
			status := m.script[0]
			m.script = m.script[1:]
			if status == scriptDrop {
				// An answer cut short: net/http's client retries a request
				// whose connection closes before any answer itself.
				w.Header().Set("Content-Length", "1000")
				_, _ = w.Write([]byte(`{"access_token":`))
				_ = http.NewResponseController(w).Flush()
				panic(http.ErrAbortHandler)
			}
			if m.retryAfter != "" {
				w.Header().Set("Retry-After", m.retryAfter)
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(imdsAnswers[status]))
			return
		}
		switch {
		case r.URL.Path == "/metadata/identity/oauth2/token" && guard != "true":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"Required metadata header not specified"}`))
		case r.URL.Path == "/appservice/token" && guard != "app-service-secret":
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"statusCode":401,"message":"Unauthorized request"}`))
		case q.Get("client_id") != m.assigned:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"Identity not found"}`))
		default:
			// IMDS's numbers are strings.
			_, _ = fmt.Fprintf(w, `{"access_token":%q,"client_id":%q,"expires_in":"86399","expires_on":"%d","resource":%q,"token_type":"Bearer"}`,
				azureAccessToken("tenant-1", m.assigned, q.Get("resource")), m.assigned, time.Now().Add(24*time.Hour).Unix(), q.Get("resource"))
		}
	}))
	t.Cleanup(m.Close)
	return m
}

// answer sets the script and its Retry-After.
func (m *imdsStandIn) answer(retryAfter string, statuses ...int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.script, m.retryAfter = statuses, retryAfter
}

func (m *imdsStandIn) take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.requests
	m.requests = nil
	return r
}

// AZURE_CLIENT_ID alone is a user-assigned managed identity, as in
// azure-identity's DefaultAzureCredential: its token comes from IMDS
// (with Metadata: true, the client id and the Blob service as the
// resource), or from App Service's endpoint when IDENTITY_ENDPOINT and
// IDENTITY_HEADER are set, and each blob request carries it, which
// Azurite checks. An identity not assigned to the machine is one line
// naming it, before any request to the account.
func TestAzure_ManagedIdentity(t *testing.T) {
	cert, key := selfSignedCert(t)
	a := startAzuriteOAuth(t, cert, key)
	a.container(t, "private", false)
	a.put(t, "private", "models/iris/model.onnx", "weights")
	imds := newIMDS(t, "mi-client")
	ctx := context.Background()
	managed := func(env map[string]string) (*downloadEnv, Resolver, *headerRecorder) {
		d, r := azureEnv(t, a)
		rec := &headerRecorder{base: a.client.Transport}
		r.Client = &http.Client{Transport: rec}
		d.env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = imds.URL + "/"
		for k, v := range env {
			d.env[k] = v
		}
		return d, r, rec
	}

	d, r, rec := managed(map[string]string{"AZURE_CLIENT_ID": "mi-client"})
	dir, err := r.Resolve(ctx, azureURI+"private/models/iris")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
	assert.Equal(t, []string{"/metadata/identity/oauth2/token?api-version=2018-02-01&client_id=mi-client&resource=https%3A%2F%2Fstorage.azure.com true"}, imds.take())
	assert.Equal(t, "INFO Retrieved SP token credential for client_id: mi-client", d.logs.take()[0])
	assert.Equal(t, []string{"/devstoreaccount1/private Bearer 2021-08-06", "/devstoreaccount1/private/models/iris/model.onnx Bearer 2021-08-06"}, blobRequests(rec.seen))

	// Another identity than the machine's: IMDS's refusal, naming it.
	_, r, rec = managed(map[string]string{"AZ_CLIENT_ID": "other-client"})
	_, err = r.Resolve(ctx, azureURI+"private/models/iris")
	assert.EqualError(t, err, "getting an Azure access token as managed identity other-client (AZ_CLIENT_ID) via AZURE_POD_IDENTITY_AUTHORITY_HOST ("+imds.URL+"): "+
		"the token endpoint answered 400 (invalid_request): Identity not found")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Empty(t, blobRequests(rec.seen), "no request to the account")
	imds.take()

	// App Service and Functions: their local endpoint, with its header.
	d, r, rec = managed(map[string]string{"AZURE_CLIENT_ID": "mi-client", "IDENTITY_ENDPOINT": imds.URL + "/appservice/token", "IDENTITY_HEADER": "app-service-secret"})
	dir, err = r.Resolve(ctx, azureURI+"private/models/iris/model.onnx")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
	assert.Equal(t, []string{"/appservice/token?api-version=2019-08-01&client_id=mi-client&resource=https%3A%2F%2Fstorage.azure.com app-service-secret"}, imds.take())
	assert.Equal(t, "INFO Retrieved SP token credential for client_id: mi-client", d.logs.take()[0])
	assert.Equal(t, []string{"/devstoreaccount1/private Bearer 2021-08-06", "/devstoreaccount1/private/models/iris/model.onnx Bearer 2021-08-06"}, blobRequests(rec.seen))

	// The other hosting environments' managed identities are refused by name.
	_, r, _ = managed(map[string]string{"AZURE_CLIENT_ID": "mi-client", "IDENTITY_ENDPOINT": imds.URL + "/arc/token", "IMDS_ENDPOINT": imds.URL})
	_, err = r.Resolve(ctx, azureURI+"private/models/iris")
	assert.EqualError(t, err, "AZURE_CLIENT_ID is set for a managed identity, and IDENTITY_ENDPOINT, IMDS_ENDPOINT: a managed identity of Service Fabric, Azure Arc, Cloud Shell or Azure Machine Learning, which is not supported here; "+azureHint)
	assert.Empty(t, imds.take())
}

// backoffRecorder stands in for the timer between a managed identity's
// token requests: it records each wait and lets it pass at once, so that a
// test does not wait out IMDS's minute of retries; cancel, when set, is
// called at the wait numbered cancelAt (from 1), which then never passes.
type backoffRecorder struct {
	mu       sync.Mutex
	waits    []time.Duration
	cancelAt int
	cancel   context.CancelFunc
}

func (b *backoffRecorder) after(d time.Duration) <-chan time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waits = append(b.waits, d)
	if b.cancel != nil && len(b.waits) == b.cancelAt {
		b.cancel()
		return nil // never: only the context ends this wait
	}
	c := make(chan time.Time, 1)
	c <- time.Now()
	return c
}

func (b *backoffRecorder) take() []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.waits
	b.waits = nil
	return w
}

// A managed identity's token request is retried as azure-identity retries
// it (identityRetry): IMDS's 404 (an identity not yet assigned to a machine
// just started), 410 (IMDS being upgraded, waited out for more than its 70
// s), 429 (with its Retry-After) and 5xx, 5 times, after waits of 0, 4, 8,
// 16 and 32 s (0, 5, 10, 20, 40 after a 410); App Service's 408, 429 and
// 5xx 3 times, after 0, 1.6 and 3.2 s. Another refusal (400) is final at
// once, and so is no answer to the first request (off Azure: the
// client-id-alone case of TestAzure_KeySASAndAnonymous); no answer after
// IMDS has answered is retried. The final failure is one line counting the
// requests; a retry logs nothing. The stand-in IMDS and App Service
// endpoint are local servers: the real ones answer on Azure's machines
// only.
func TestAzure_ManagedIdentityRetries(t *testing.T) {
	cert, key := selfSignedCert(t)
	a := startAzuriteOAuth(t, cert, key)
	a.container(t, "private", false)
	a.put(t, "private", "models/iris/model.onnx", "weights")
	imds := newIMDS(t, "mi-client")
	// managed is a download as a managed identity whose endpoint first
	// answers script.
	managed := func(t *testing.T, env map[string]string, retryAfter string, script ...int) (*downloadEnv, Resolver, *backoffRecorder) {
		d, r := azureEnv(t, a)
		r.Client = a.client
		b := &backoffRecorder{}
		r.backoffTimer = b.after
		d.env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = imds.URL
		d.env["AZURE_CLIENT_ID"] = "mi-client"
		for k, v := range env {
			d.env[k] = v
		}
		imds.take()
		imds.answer(retryAfter, script...)
		return d, r, b
	}
	const imdsToken = "/metadata/identity/oauth2/token?api-version=2018-02-01&client_id=mi-client&resource=https%3A%2F%2Fstorage.azure.com true"
	const appServiceToken = "/appservice/token?api-version=2019-08-01&client_id=mi-client&resource=https%3A%2F%2Fstorage.azure.com app-service-secret"
	imdsFailed := "getting an Azure access token as managed identity mi-client (AZURE_CLIENT_ID) via AZURE_POD_IDENTITY_AUTHORITY_HOST (" + imds.URL + ")"
	appService := map[string]string{"IDENTITY_ENDPOINT": imds.URL + "/appservice/token", "IDENTITY_HEADER": "app-service-secret"}
	uri := azureURI + "private/models/iris"
	ctx := context.Background()

	t.Run("identity not yet assigned", func(t *testing.T) {
		d, r, b := managed(t, nil, "", http.StatusNotFound, http.StatusNotFound)
		dir, err := r.Resolve(ctx, uri)
		require.NoError(t, err)
		assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
		assert.Equal(t, []string{imdsToken, imdsToken, imdsToken}, imds.take())
		assert.Equal(t, []time.Duration{0, 4 * time.Second}, b.take())
		assert.Equal(t, []string{"INFO Retrieved SP token credential for client_id: mi-client"}, d.logs.take()[:1], "no line for the retries")
	})

	t.Run("IMDS upgraded for longer than it promises", func(t *testing.T) {
		// 6 requests, after waits of more than its 70 s in all, and one
		// line counting them.
		_, r, b := managed(t, nil, "", http.StatusGone, http.StatusGone, http.StatusGone, http.StatusGone, http.StatusGone, http.StatusGone, http.StatusGone)
		_, err := r.Resolve(ctx, uri)
		assert.EqualError(t, err, imdsFailed+" after 6 attempts: the token endpoint answered 410 (service_unavailable): IMDS is being upgraded")
		assert.ErrorIs(t, err, ErrNotFound)
		assert.Len(t, imds.take(), 6)
		waits := b.take()
		assert.Equal(t, []time.Duration{0, 5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second}, waits)
		total := time.Duration(0)
		for _, w := range waits {
			total += w
		}
		assert.GreaterOrEqual(t, total, 70*time.Second, "IMDS's documentation: an upgrade lasts up to 70 s")
	})

	t.Run("throttled, with a Retry-After", func(t *testing.T) {
		// That wait instead of the back-off's.
		_, r, b := managed(t, nil, "7", http.StatusTooManyRequests, http.StatusServiceUnavailable)
		_, err := r.Resolve(ctx, uri)
		require.NoError(t, err)
		assert.Len(t, imds.take(), 3)
		assert.Equal(t, []time.Duration{7 * time.Second, 7 * time.Second}, b.take())
	})

	t.Run("no answer after an answer", func(t *testing.T) {
		// One cut short, once IMDS has answered, is retried; a 503 and no
		// answer count as attempts together.
		_, r, b := managed(t, nil, "", http.StatusServiceUnavailable, scriptDrop)
		_, err := r.Resolve(ctx, uri)
		require.NoError(t, err)
		assert.Len(t, imds.take(), 3)
		assert.Equal(t, []time.Duration{0, 4 * time.Second}, b.take())
	})

	t.Run("no answer to the first request", func(t *testing.T) {
		// Not on Azure: not retried, as DefaultAzureCredential's probe of
		// IMDS is not (a refused connection: TestAzure_KeySASAndAnonymous).
		_, r, b := managed(t, nil, "", scriptDrop)
		_, err := r.Resolve(ctx, uri)
		assert.EqualError(t, err, imdsFailed+": unexpected EOF")
		assert.ErrorIs(t, err, ErrDownload)
		assert.Len(t, imds.take(), 1)
		assert.Empty(t, b.take())
	})

	t.Run("identity not the machine's", func(t *testing.T) {
		// 400 is not retried: one request, IMDS's refusal.
		_, r, b := managed(t, map[string]string{"AZURE_CLIENT_ID": "other-client"}, "")
		_, err := r.Resolve(ctx, uri)
		assert.EqualError(t, err, "getting an Azure access token as managed identity other-client (AZURE_CLIENT_ID) via AZURE_POD_IDENTITY_AUTHORITY_HOST ("+imds.URL+"): "+
			"the token endpoint answered 400 (invalid_request): Identity not found")
		assert.Len(t, imds.take(), 1)
		assert.Empty(t, b.take())
	})

	t.Run("App Service unavailable", func(t *testing.T) {
		_, r, b := managed(t, appService, "", http.StatusServiceUnavailable, http.StatusServiceUnavailable)
		_, err := r.Resolve(ctx, uri)
		require.NoError(t, err)
		assert.Equal(t, []string{appServiceToken, appServiceToken, appServiceToken}, imds.take())
		assert.Equal(t, []time.Duration{0, 1600 * time.Millisecond}, b.take())
	})

	t.Run("App Service 404", func(t *testing.T) {
		// Not among the statuses azure-core retries.
		_, r, b := managed(t, appService, "", http.StatusNotFound)
		_, err := r.Resolve(ctx, uri)
		assert.EqualError(t, err, "getting an Azure access token as managed identity mi-client (AZURE_CLIENT_ID) via IDENTITY_ENDPOINT ("+imds.URL+"/appservice/token): "+
			"the token endpoint answered 404 (invalid_request): Identity not found")
		assert.Len(t, imds.take(), 1)
		assert.Empty(t, b.take())
	})

	t.Run("cancelled while waiting", func(t *testing.T) {
		// The download returns at once with the context's error: the
		// second wait never passes by itself.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		_, r, b := managed(t, nil, "", http.StatusNotFound, http.StatusNotFound, http.StatusNotFound)
		b.cancel, b.cancelAt = cancel, 2
		done := make(chan error, 1)
		go func() {
			_, err := r.Resolve(cctx, uri)
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(time.Minute):
			t.Fatal("the download kept waiting for the managed identity after its context was cancelled")
		}
		assert.EqualError(t, err, "downloading "+uri+": context canceled")
		assert.ErrorIs(t, err, context.Canceled)
		assert.Len(t, imds.take(), 2)
		assert.Equal(t, []time.Duration{0, 4 * time.Second}, b.take())
	})
}

// checkCertAssertion reports whether assertion is a certificate's client
// assertion (a JWT naming the certificate by thumbprint), and whether it is
// one Entra takes: signed (RS256) by the registered certificate's key, the
// thumbprints its, for this token endpoint, issued by and about the
// client, not expired. e.mu is held.
func (e *entraStandIn) checkCertAssertion(tokenURL, assertion string) (isCert, trusted bool) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return false, false
	}
	var header struct {
		Alg     string `json:"alg"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	var claims struct {
		Aud, Iss, Sub, Jti string
		Exp, Nbf           int64
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	c, _ := base64.RawURLEncoding.DecodeString(parts[1])
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if json.Unmarshal(h, &header) != nil || header.X5tS256 == "" || json.Unmarshal(c, &claims) != nil {
		return false, false
	}
	if e.appCert == nil {
		return true, false
	}
	sha256Sum := sha256.Sum256(e.appCert.Raw)
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	now := time.Now().Unix()
	return true, header.Alg == "RS256" && header.X5tS256 == base64.RawURLEncoding.EncodeToString(sha256Sum[:]) &&
		rsa.VerifyPKCS1v15(e.appCert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig) == nil &&
		claims.Aud == tokenURL && claims.Iss == e.client && claims.Sub == e.client && claims.Jti != "" && claims.Nbf <= now && now < claims.Exp
}

// appCertificate makes a self-signed certificate for an app registration,
// its key, and write, which writes the PEM blocks named in parts
// ("CERTIFICATE", "PRIVATE KEY", "RSA PRIVATE KEY") of the certificate and
// a key to a file, as Azure's tools write them in one.
func appCertificate(t *testing.T) (*x509.Certificate, *rsa.PrivateKey, func(key *rsa.PrivateKey, parts ...string) string) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	write := func(k *rsa.PrivateKey, parts ...string) string {
		var out []byte
		for _, p := range parts {
			switch p {
			case "CERTIFICATE":
				out = append(out, pem.EncodeToMemory(&pem.Block{Type: p, Bytes: der})...)
			case "PRIVATE KEY":
				b, err := x509.MarshalPKCS8PrivateKey(k)
				require.NoError(t, err)
				out = append(out, pem.EncodeToMemory(&pem.Block{Type: p, Bytes: b})...)
			case "RSA PRIVATE KEY":
				out = append(out, pem.EncodeToMemory(&pem.Block{Type: p, Bytes: x509.MarshalPKCS1PrivateKey(k)})...)
			}
		}
		f := filepath.Join(t.TempDir(), "app.pem")
		require.NoError(t, os.WriteFile(f, out, 0o600))
		return f
	}
	return cert, key, write
}

// A certificate credential (AZURE_CLIENT_CERTIFICATE_PATH, azure-identity's
// EnvironmentCredential): each token request carries a client assertion
// the certificate's key signs, which the stand-in Entra checks against
// the registered certificate, and Azurite the token. A certificate Entra
// does not know is its refusal on one line; a file without the key, or
// with another key, names the file before any request; a client secret
// comes first, as in EnvironmentCredential.
func TestAzure_CertificateCredential(t *testing.T) {
	cert, key := selfSignedCert(t)
	a := startAzuriteOAuth(t, cert, key)
	a.container(t, "private", false)
	a.put(t, "private", "models/iris/model.onnx", "weights")
	e := startEntra(t, cert, key)
	appCert, appKey, write := appCertificate(t)
	e.set(func(e *entraStandIn) { e.appCert = appCert })
	ctx := context.Background()
	signedIn := func(file string, more ...string) (*downloadEnv, Resolver, *headerRecorder) {
		d, r := azureEnv(t, a)
		rec := &headerRecorder{base: a.client.Transport}
		r.Client = &http.Client{Transport: rec}
		d.env["AZURE_AUTHORITY_HOST"] = e.url
		d.env["AZURE_TENANT_ID"], d.env["AZURE_CLIENT_ID"], d.env["AZURE_CLIENT_CERTIFICATE_PATH"] = "tenant-1", "client-1", file
		for i := 0; i+1 < len(more); i += 2 {
			d.env[more[i]] = more[i+1]
		}
		return d, r, rec
	}

	for _, keyType := range []string{"PRIVATE KEY", "RSA PRIVATE KEY"} {
		d, r, rec := signedIn(write(appKey, keyType, "CERTIFICATE"))
		dir, err := r.Resolve(ctx, azureURI+"private/models/iris")
		require.NoError(t, err, keyType)
		assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
		forms := e.takeForms()
		require.Len(t, forms, 1)
		assert.Equal(t, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", forms[0].Get("client_assertion_type"))
		assert.False(t, forms[0].Has("client_secret"))
		assert.Equal(t, "INFO Retrieved SP token credential for client_id: client-1", d.logs.take()[0])
		assert.Equal(t, []string{"/devstoreaccount1/private Bearer 2021-08-06", "/devstoreaccount1/private/models/iris/model.onnx Bearer 2021-08-06"}, blobRequests(rec.seen))
	}

	who := "getting an Azure access token as client client-1 in tenant tenant-1 (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_CERTIFICATE_PATH): "
	_, otherKey, writeOther := appCertificate(t)
	_, r, rec := signedIn(writeOther(otherKey, "CERTIFICATE", "PRIVATE KEY"))
	_, err := r.Resolve(ctx, azureURI+"private/models/iris")
	assert.EqualError(t, err, who+"the token endpoint answered 401 (invalid_client): AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Empty(t, blobRequests(rec.seen))
	e.takeForms()

	for _, c := range []struct {
		file, want string
	}{
		{write(appKey, "CERTIFICATE"), "no PRIVATE KEY in it, only the certificate"},
		{write(appKey, "PRIVATE KEY"), "no CERTIFICATE in it, only the private key"},
		{write(otherKey, "CERTIFICATE", "PRIVATE KEY"), "its private key is not the certificate's"},
		{write(appKey), "no PEM certificate and private key in it (a PKCS #12 .pfx file is not supported here: convert it with openssl pkcs12 -in <file> -nodes)"},
	} {
		_, r, _ := signedIn(c.file)
		_, err := r.Resolve(ctx, azureURI+"private/models/iris")
		assert.EqualError(t, err, "AZURE_CLIENT_CERTIFICATE_PATH ("+c.file+"): "+c.want)
		assert.ErrorIs(t, err, ErrInvalidURI)
	}
	assert.Empty(t, e.takeForms(), "no token request")

	_, r, _ = signedIn(write(appKey, "CERTIFICATE", "PRIVATE KEY"), "AZURE_CLIENT_SECRET", "s3cret")
	_, err = r.Resolve(ctx, azureURI+"private/models/iris")
	require.NoError(t, err)
	forms := e.takeForms()
	require.Len(t, forms, 1)
	assert.Equal(t, "s3cret", forms[0].Get("client_secret"), "the secret first")
}
