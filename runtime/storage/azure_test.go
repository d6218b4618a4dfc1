package storage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
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
	base string // http://127.0.0.1:port/devstoreaccount1
}

func startAzurite(t *testing.T) *azurite {
	t.Helper()
	bin := emulator(t, "azurite", "azurite-blob")
	port := freeTCPPort(t)
	out := startProcess(t, bin, []string{"--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port),
		"--location", t.TempDir(), "--silent", "--skipApiVersionCheck", "--disableProductStyleUrl"})
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", port), out)
	return &azurite{base: fmt.Sprintf("http://127.0.0.1:%d/%s", port, azuriteAccount)}
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
	tr := &sharedKeyTransport{base: http.DefaultTransport, origin: originOf(rawURL), account: azuriteAccount, key: key}
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
	assert.Regexp(t, `^https://devstoreaccount1.blob.core.windows.net/private/models/iris: the container answered 40[34] \(no such container, or it is not public: add a shared access signature to the URI, or set AZURE_STORAGE_ACCESS_KEY\): `, err.Error())
	assert.Equal(t, "WARN Azure credentials or shared access signature token not found, retrying anonymous access", d.logs.take()[0])

	// A service principal (KServe's storage-initializer signs in with it)
	// is not used here, and both the warning and the error say so.
	d, r = azureEnv(t, a)
	d.env["AZ_CLIENT_ID"] = "00000000-0000-0000-0000-000000000001"
	d.env["AZ_CLIENT_SECRET"] = "s3cret"
	d.env["AZ_TENANT_ID"] = "tenant"
	_, err = r.Resolve(ctx, azureURI+"private/models/iris")
	require.Error(t, err)
	assert.Regexp(t, `^https://devstoreaccount1.blob.core.windows.net/private/models/iris: the container answered 40[34] \(no such container, or it is not public: add a shared access signature to the URI, or set AZURE_STORAGE_ACCESS_KEY \(AZ_CLIENT_ID, a service principal, is not used here\)\): `, err.Error())
	assert.Equal(t, "WARN Azure credentials or shared access signature token not found, retrying anonymous access: AZ_CLIENT_ID is set, but the Go server does not sign in as a service principal "+
		"(the storage-initializer does, on a cluster); add a shared access signature to the URI, or set AZURE_STORAGE_ACCESS_KEY", d.logs.take()[0])

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

	_, err = r.Resolve(ctx, azureURI+"public/nothing")
	assert.EqualError(t, err, "Failed to fetch model. No model found in https://devstoreaccount1.blob.core.windows.net/public/nothing.")
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
