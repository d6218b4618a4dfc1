package storage

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bucketServer is a local stand-in for Cloud Storage's JSON API (list with
// pages, object metadata, alt=media downloads) and for Google's OAuth token
// endpoint, which checks the service account's signed JWT with its public
// key. Google's real endpoints cannot be reached from here.
type bucketServer struct {
	*httptest.Server
	key *rsa.PrivateKey

	mu        sync.Mutex
	objects   map[string]map[string]bucketObject // bucket -> name -> object
	private   map[string]bool
	media     int      // alt=media downloads
	authSeen  []string // Authorization of bucket requests
	tokenReqs int
	expiresIn int // seconds; default 3599
	// failFrom, when set, is the first token request (counting from 1)
	// answered failCode and failBody instead of a token.
	failFrom int
	failCode int
	failBody string
}

type bucketObject struct {
	content    string
	generation int
}

const testAccessToken = "ya29.stand-in"

func newBucketServer(t *testing.T) *bucketServer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	b := &bucketServer{key: key, objects: map[string]map[string]bucketObject{}, private: map[string]bool{}}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Close)
	return b
}

func (b *bucketServer) put(bucket, name, content string, generation int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.objects[bucket] == nil {
		b.objects[bucket] = map[string]bucketObject{}
	}
	b.objects[bucket][name] = bucketObject{content, generation}
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func (b *bucketServer) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.URL.Path == "/token" {
		b.tokenReqs++
		if b.failFrom > 0 && b.tokenReqs >= b.failFrom {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(b.failCode)
			_, _ = w.Write([]byte(b.failBody))
			return
		}
		b.token(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/storage/v1/b/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	bucket, rest, _ := strings.Cut(rest, "/o")
	b.authSeen = append(b.authSeen, r.Header.Get("Authorization"))
	objects, exists := b.objects[bucket]
	if !exists || b.private[bucket] && r.Header.Get("Authorization") != "Bearer "+testAccessToken {
		jsonError(w, http.StatusUnauthorized, "Anonymous caller does not have storage.objects.list access to the Google Cloud Storage bucket.")
		return
	}
	if rest == "" { // list
		prefix := r.URL.Query().Get("prefix")
		var names []string
		for n := range objects {
			if strings.HasPrefix(n, prefix) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		start, _ := strconv.Atoi(r.URL.Query().Get("pageToken"))
		end := min(start+2, len(names)) // pages of two
		items := []map[string]string{}
		for _, n := range names[start:end] {
			items = append(items, map[string]string{"name": n, "generation": strconv.Itoa(objects[n].generation), "size": strconv.Itoa(len(objects[n].content))})
		}
		resp := map[string]any{"kind": "storage#objects", "items": items}
		if end < len(names) {
			resp["nextPageToken"] = strconv.Itoa(end)
		}
		_ = json.NewEncoder(w).Encode(resp)
		return
	}
	name, err := url.PathUnescape(strings.TrimPrefix(rest, "/"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o, ok := objects[name]
	if !ok {
		jsonError(w, http.StatusNotFound, "No such object: "+bucket+"/"+name)
		return
	}
	if r.URL.Query().Get("alt") == "media" {
		b.media++
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte(o.content))
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"name": name, "generation": strconv.Itoa(o.generation), "size": strconv.Itoa(len(o.content))})
}

// token answers a JWT-bearer grant whose assertion the service account's
// key signed for this endpoint and the read-only storage scope.
func (b *bucketServer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
		return
	}
	parts := strings.Split(r.Form.Get("assertion"), ".")
	if len(parts) != 3 {
		http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		return
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	claimsJSON, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Iss, Scope, Aud string
	}
	_ = json.Unmarshal(claimsJSON, &claims)
	if rsa.VerifyPKCS1v15(&b.key.PublicKey, crypto.SHA256, digest[:], sig) != nil ||
		claims.Iss != "model-reader@project.iam.gserviceaccount.com" || claims.Scope != gcsReadScope || claims.Aud != b.URL+"/token" {
		http.Error(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	expires := b.expiresIn
	if expires == 0 {
		expires = 3599
	}
	_, _ = w.Write([]byte(`{"access_token":"` + testAccessToken + `","token_type":"Bearer","expires_in":` + strconv.Itoa(expires) + `}`))
}

// serviceAccountFile writes a service account key file for b's key and
// token endpoint.
func (b *bucketServer) serviceAccountFile(t *testing.T) string {
	return serviceAccountFileFor(t, b.key, b.URL+"/token")
}

// serviceAccountFileFor writes a service account key file for key and the
// token endpoint tokenURI.
func serviceAccountFileFor(t *testing.T, key *rsa.PrivateKey, tokenURI string) string {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	f := map[string]string{
		"type": "service_account", "project_id": "project", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "model-reader@project.iam.gserviceaccount.com", "client_id": "1",
		"token_uri": tokenURI,
	}
	data, err := json.Marshal(f)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "sa.json")
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func bucketEnv(t *testing.T, b *bucketServer) *downloadEnv {
	d := newDownloadEnv(t)
	d.env["STORAGE_EMULATOR_HOST"] = strings.TrimPrefix(b.URL, "http://")
	d.env["CLOUDSDK_CONFIG"] = t.TempDir() // no gcloud credentials
	t.Setenv(gceMetadataHostVar, "")       // no metadata server (read from the process's environment, as the metadata package reads it)
	return d
}

func TestGCS_PrefixDownloadedAndKeptWhileGenerationsStay(t *testing.T) {
	b := newBucketServer(t)
	b.put("kfserving-examples", "models/iris/", "", 1)    // a folder placeholder
	b.put("kfserving-examples", "models/iris/sub", "", 1) // one without its "/", named like the folder of other objects
	b.put("kfserving-examples", "models/iris/model.onnx", "weights", 1)
	b.put("kfserving-examples", "models/iris/sub/labels.txt", "setosa", 1)
	b.put("kfserving-examples", "models/iris/sub/more/x.bin", "x", 1)
	b.put("kfserving-examples", "models/irises/other.onnx", "not this one", 1)
	d := bucketEnv(t, b)
	uri := "gs://kfserving-examples/models/iris"
	ctx := context.Background()

	dir, err := d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=weights", "sub/labels.txt=setosa", "sub/more/x.bin=x"}, tree(t, dir))
	logs := d.logs.take()
	require.Len(t, logs, 4)
	assert.Equal(t, "INFO No Google credentials found; reading the bucket anonymously", logs[0])
	assert.Regexp(t, `^INFO Copying contents of gs://kfserving-examples/models/iris \(listing [0-9a-f]{12}, 3 files\) to local$`, logs[1])
	assert.Equal(t, 3, b.media)
	assert.Equal(t, []string{"", "", "", "", ""}, b.authSeen[:5], "anonymous")

	again, err := d.resolver().Resolve(ctx, uri+"/") // a trailing slash is the same folder
	require.NoError(t, err)
	assert.NotEqual(t, dir, again, "another URI, another cache entry")
	again, err = d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	assert.Equal(t, 6, b.media, "the second URI downloaded; the restart did not")

	b.put("kfserving-examples", "models/iris/model.onnx", "retrained", 2)
	again, err = d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	assert.NotEqual(t, dir, again, "a new version, in a folder of its own")
	dir = again
	assert.Equal(t, []string{"model.onnx=retrained", "sub/labels.txt=setosa", "sub/more/x.bin=x"}, tree(t, dir))
	assert.Equal(t, 7, b.media, "the object with a new generation only; the others reused")

	b.Close()
	d.logs.take()
	again, err = d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	assert.Regexp(t, `^WARN Cannot ask the bucket about gs://kfserving-examples/models/iris \(listing gs://kfserving-examples/models/iris: .*connection refused\); serving the copy of listing [0-9a-f]{12} downloaded \S+ from `, d.logs.take()[1])
}

func TestGCS_SingleObjectAndNothing(t *testing.T) {
	b := newBucketServer(t)
	b.put("bucket", "models/resnet.tar.gz", string(tarball(t, true, entry{name: "resnet/model.onnx", body: "w"})), 7)
	d := bucketEnv(t, b)
	dir, err := d.resolver().Resolve(context.Background(), "gs://bucket/models/resnet.tar.gz")
	require.NoError(t, err)
	assert.Equal(t, []string{"resnet/model.onnx=w"}, tree(t, dir), "unpacked, as KServe does")

	// KServe's message names only the URI; the rest says what was looked
	// for: the object itself, then the objects under it as a folder.
	_, err = d.resolver().Resolve(context.Background(), "gs://bucket/models/missing")
	assert.EqualError(t, err, "Failed to fetch model. No model found in gs://bucket/models/missing: bucket bucket has no object models/missing, nor any under models/missing/.")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = d.resolver().Resolve(context.Background(), "gs://bucket/missing/")
	assert.EqualError(t, err, "Failed to fetch model. No model found in gs://bucket/missing/: bucket bucket has no object under missing/.")
	assert.ErrorIs(t, err, ErrNotFound)
	b.put("empty", "models/", "", 1) // a folder placeholder, which is no model
	_, err = d.resolver().Resolve(context.Background(), "gs://empty")
	assert.EqualError(t, err, "Failed to fetch model. No model found in gs://empty: bucket empty has no object.")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = d.resolver().Resolve(context.Background(), "gs:///models")
	assert.EqualError(t, err, "storage uri gs:///models: want gs://<bucket>/<path>")
}

// Pages of the listing are followed to the end.
func TestGCS_ListingPages(t *testing.T) {
	b := newBucketServer(t)
	for i := range 5 {
		b.put("bucket", "m/part-"+strconv.Itoa(i), "p"+strconv.Itoa(i), 1)
	}
	d := bucketEnv(t, b)
	dir, err := d.resolver().Resolve(context.Background(), "gs://bucket/m")
	require.NoError(t, err)
	assert.Equal(t, []string{"part-0=p0", "part-1=p1", "part-2=p2", "part-3=p3", "part-4=p4"}, tree(t, dir))
}

// A private bucket needs credentials: anonymously it is an error saying so;
// with a service account key (GOOGLE_APPLICATION_CREDENTIALS) the token
// comes from the key's token endpoint and goes to the bucket.
func TestGCS_PrivateBucketAndServiceAccount(t *testing.T) {
	b := newBucketServer(t)
	b.put("private", "models/m/model.onnx", "secret", 1)
	b.private["private"] = true
	d := bucketEnv(t, b)
	_, err := d.resolver().Resolve(context.Background(), "gs://private/models/m")
	assert.EqualError(t, err, "gs://private/models/m: the bucket answered 401 (no such bucket, or it is not public: set GOOGLE_APPLICATION_CREDENTIALS, or run gcloud auth application-default login): Anonymous caller does not have storage.objects.list access to the Google Cloud Storage bucket.")

	d.env["GOOGLE_APPLICATION_CREDENTIALS"] = b.serviceAccountFile(t)
	dir, err := d.resolver().Resolve(context.Background(), "gs://private/models/m")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=secret"}, tree(t, dir))
	assert.Equal(t, 1, b.tokenReqs)
	assert.Equal(t, "Bearer "+testAccessToken, b.authSeen[len(b.authSeen)-1])

	// Tokens about to expire are renewed for each request, so a long
	// download outlives its first token.
	b.mu.Lock()
	b.expiresIn = 1
	b.objects["private"]["models/m/model.onnx"] = bucketObject{"retrained", 2}
	b.mu.Unlock()
	_, err = d.resolver().Resolve(context.Background(), "gs://private/models/m")
	require.NoError(t, err)
	assert.Equal(t, 1+3, b.tokenReqs, "renewed for the check at start, the listing and the download")

	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"type":"service_account","private_key":"not a key"}`), 0o600))
	d.env["GOOGLE_APPLICATION_CREDENTIALS"] = bad
	_, err = d.resolver().Resolve(context.Background(), "gs://private/models/m")
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "getting a Google access token with GOOGLE_APPLICATION_CREDENTIALS ("+bad+"): "), err.Error())
	assert.ErrorIs(t, err, ErrInvalidURI, "a key that does not parse is the file's fault, whatever the cache holds")
}

// A token endpoint that cannot be reached is a source that cannot be
// asked, as an unreachable bucket is: the cached copy is served with a
// warning naming the endpoint and why. One that refuses the key is an
// error even so (a configuration error is not hidden), as a bucket's 401
// is; and with nothing cached, the token's error is the error, before any
// listing.
func TestGCS_TokenEndpointUnreachableServesTheCache(t *testing.T) {
	b := newBucketServer(t)
	b.put("private", "models/m/model.onnx", "secret", 1)
	b.private["private"] = true
	d := bucketEnv(t, b)
	uri := "gs://private/models/m"
	ctx := context.Background()
	d.env["GOOGLE_APPLICATION_CREDENTIALS"] = b.serviceAccountFile(t)
	dir, err := d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	d.logs.take()
	asked := func() int {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.authSeen)
	}
	listed := asked()

	closed := fmt.Sprintf("http://127.0.0.1:%d/token", freeTCPPort(t))
	sa := serviceAccountFileFor(t, b.key, closed)
	d.env["GOOGLE_APPLICATION_CREDENTIALS"] = sa
	again, err := d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	logs := d.logs.take()
	require.Len(t, logs, 1)
	assert.Regexp(t, `^WARN Cannot get an access token from `+regexpQuote(closed)+` for gs://private/models/m \(getting a Google access token as model-reader@project\.iam\.gserviceaccount\.com with GOOGLE_APPLICATION_CREDENTIALS \(`+regexpQuote(sa)+
		`\): oauth2: cannot fetch token: Post "`+regexpQuote(closed)+`": dial tcp 127\.0\.0\.1:[0-9]+: connect: connection refused\); serving the copy of listing [0-9a-f]{12} downloaded \S+ from `+regexpQuote(dir)+`$`, logs[0])
	assert.Equal(t, listed, asked(), "no listing without a token")

	// Nothing cached: the token's error, as before.
	fresh := bucketEnv(t, b)
	fresh.env["GOOGLE_APPLICATION_CREDENTIALS"] = sa
	_, err = fresh.resolver().Resolve(ctx, uri)
	require.Error(t, err)
	assert.Regexp(t, `^getting a Google access token as model-reader@project\.iam\.gserviceaccount\.com with GOOGLE_APPLICATION_CREDENTIALS \(`+regexpQuote(sa)+`\): oauth2: cannot fetch token: Post "`+regexpQuote(closed)+`": dial tcp 127\.0\.0\.1:[0-9]+: connect: connection refused$`, err.Error())
	assert.ErrorIs(t, err, ErrDownload)
	assert.Equal(t, listed, asked(), "no listing without a token")

	// The endpoint refuses a key it does not know (a deleted one): an
	// error with the cached copy there.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	d.env["GOOGLE_APPLICATION_CREDENTIALS"] = serviceAccountFileFor(t, other, b.URL+"/token")
	_, err = d.resolver().Resolve(ctx, uri)
	// One line naming the key file, its service account, the status and
	// Google's error and description, not the oauth2 package's quoting of
	// the answer.
	assert.EqualError(t, err, "getting a Google access token as model-reader@project.iam.gserviceaccount.com with GOOGLE_APPLICATION_CREDENTIALS ("+d.env["GOOGLE_APPLICATION_CREDENTIALS"]+
		"): the token endpoint answered 400 (invalid_grant): Invalid JWT Signature.")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Empty(t, d.logs.take())
	assert.Equal(t, listed, asked(), "no listing without a token")
}

// A token renewed during the listing (one expiring as the server starts)
// is decided as the first one is: refused (a key deleted since), an error
// whatever is cached, for a cached copy would hide the revocation until
// the next restart; an endpoint failing on its side, the cached copy
// served with the warning naming the endpoint.
func TestGCS_TokenRefusedDuringTheListing(t *testing.T) {
	b := newBucketServer(t)
	b.put("private", "models/m/model.onnx", "secret", 1)
	b.private["private"] = true
	d := bucketEnv(t, b)
	d.env["GOOGLE_APPLICATION_CREDENTIALS"] = b.serviceAccountFile(t)
	uri := "gs://private/models/m"
	ctx := context.Background()
	dir, err := d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	d.logs.take()
	listed := func() int {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.authSeen)
	}
	before := listed()
	b.mu.Lock()
	b.expiresIn = 1 // renewed for each request, the listing's too
	b.failFrom, b.failCode, b.failBody = b.tokenReqs+2, http.StatusBadRequest, `{"error":"invalid_grant","error_description":"Invalid grant: account not found"}`
	b.mu.Unlock()
	_, err = d.resolver().Resolve(ctx, uri)
	assert.EqualError(t, err, "getting a Google access token as model-reader@project.iam.gserviceaccount.com with GOOGLE_APPLICATION_CREDENTIALS ("+d.env["GOOGLE_APPLICATION_CREDENTIALS"]+
		"): the token endpoint answered 400 (invalid_grant): Invalid grant: account not found")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Empty(t, d.logs.take(), "no cached copy served")
	assert.Equal(t, before, listed(), "the listing went without its token")

	b.mu.Lock()
	b.failFrom, b.failCode, b.failBody = b.tokenReqs+2, http.StatusServiceUnavailable, `{"error":"backend_error"}`
	b.mu.Unlock()
	again, err := d.resolver().Resolve(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	logs := d.logs.take()
	require.Len(t, logs, 1)
	assert.Regexp(t, `^WARN Cannot get an access token from `+regexpQuote(b.URL)+`/token for gs://private/models/m \(getting a Google access token as model-reader@project\.iam\.gserviceaccount\.com with GOOGLE_APPLICATION_CREDENTIALS \(`+
		regexpQuote(d.env["GOOGLE_APPLICATION_CREDENTIALS"])+`\): the token endpoint answered 503 \(backend_error\)\); serving the copy of listing [0-9a-f]{12} downloaded \S+ from `+regexpQuote(dir)+`$`, logs[0])
}

// STORAGE_ALLOW_PATTERNS and STORAGE_IGNORE_PATTERNS select the objects of
// a prefix by their path below it, and another selection is another cache
// entry.
func TestGCS_Patterns(t *testing.T) {
	b := newBucketServer(t)
	b.put("bucket", "m/model.onnx", "fp32", 1)
	b.put("bucket", "m/model_q4.onnx", "q4", 1)
	b.put("bucket", "m/docs/README.md", "hi", 1)
	d := bucketEnv(t, b)
	d.env["STORAGE_ALLOW_PATTERNS"] = "*.onnx"
	d.env["STORAGE_IGNORE_PATTERNS"] = `["*_q4*"]`
	dir, err := d.resolver().Resolve(context.Background(), "gs://bucket/m")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=fp32"}, tree(t, dir))

	d.env["STORAGE_IGNORE_PATTERNS"] = ""
	all, err := d.resolver().Resolve(context.Background(), "gs://bucket/m")
	require.NoError(t, err)
	assert.NotEqual(t, dir, all)
	assert.Equal(t, []string{"model.onnx=fp32", "model_q4.onnx=q4"}, tree(t, all))

	// Patterns that keep nothing say so, with how many objects they left
	// out: of the folder, or of the single object.
	d.env["STORAGE_ALLOW_PATTERNS"] = `["*.safetensors"]`
	_, err = d.resolver().Resolve(context.Background(), "gs://bucket/m")
	assert.EqualError(t, err, `Failed to fetch model. No model found in gs://bucket/m: STORAGE_ALLOW_PATTERNS ["*.safetensors"] and STORAGE_IGNORE_PATTERNS [] leave none of its 3 objects.`)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = d.resolver().Resolve(context.Background(), "gs://bucket/m/model.onnx")
	assert.EqualError(t, err, `Failed to fetch model. No model found in gs://bucket/m/model.onnx: STORAGE_ALLOW_PATTERNS ["*.safetensors"] and STORAGE_IGNORE_PATTERNS [] leave none of its 1 object.`)
}

// A token endpoint's refusal is one line whatever the credentials' flow:
// gcloud's user credentials (the oauth2 package parses Google's error),
// a service account key (the jwt flow leaves the answer unparsed), an
// answer with no description, and one that is not Google's JSON (a proxy's
// page), of which the first line is enough. Each is a refusal, no
// unreachable endpoint.
func TestGCS_TokenRefusalsOnOneLine(t *testing.T) {
	var mu sync.Mutex
	code, body := 0, ""
	answer := func(c int, b string) {
		mu.Lock()
		defer mu.Unlock()
		code, body = c, b
	}
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(tokens.Close)
	b := newBucketServer(t)
	d := bucketEnv(t, b)
	gcloud := filepath.Join(d.env["CLOUDSDK_CONFIG"], "application_default_credentials.json")
	require.NoError(t, os.WriteFile(gcloud, []byte(`{"type":"authorized_user","client_id":"764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com","client_secret":"d-FL95Q19q7MQmFpd7hHD0Ty","refresh_token":"1//revoked","token_uri":"`+tokens.URL+`/token"}`), 0o600))
	answer(http.StatusBadRequest, `{
  "error": "invalid_grant",
  "error_description": "Token has been expired or revoked."
}`)
	_, err := d.resolver().Resolve(context.Background(), "gs://private/m")
	assert.EqualError(t, err, "getting a Google access token with gcloud's application default credentials ("+gcloud+"): the token endpoint answered 400 (invalid_grant): Token has been expired or revoked.")
	assert.ErrorIs(t, err, ErrNotFound)

	d.env["GOOGLE_APPLICATION_CREDENTIALS"] = serviceAccountFileFor(t, b.key, tokens.URL+"/token")
	who := "getting a Google access token as model-reader@project.iam.gserviceaccount.com with GOOGLE_APPLICATION_CREDENTIALS (" + d.env["GOOGLE_APPLICATION_CREDENTIALS"] + "): "
	answer(http.StatusBadRequest, `{"error":"invalid_grant"}`)
	_, err = d.resolver().Resolve(context.Background(), "gs://private/m")
	assert.EqualError(t, err, who+"the token endpoint answered 400 (invalid_grant)")
	assert.ErrorIs(t, err, ErrNotFound)

	answer(http.StatusForbidden, "<html><title>403 Forbidden</title>\n<body>Request blocked by the proxy.</body></html>\n")
	_, err = d.resolver().Resolve(context.Background(), "gs://private/m")
	assert.EqualError(t, err, who+"the token endpoint answered 403: <html><title>403 Forbidden</title>")
	assert.ErrorIs(t, err, ErrNotFound)
}

// metadataServer stands in for the GCE/GKE metadata server (the real one
// answers on Google's machines only): it answers the default service
// account's token to a request with Metadata-Flavor: Google, as the real
// one requires, or code and body when code is set, and records each
// request's path, query and Metadata-Flavor.
type metadataServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
	code     int
	body     string
}

func newMetadataServer(t *testing.T) *metadataServer {
	m := &metadataServer{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.requests = append(m.requests, r.URL.RequestURI()+" "+r.Header.Get("Metadata-Flavor"))
		w.Header().Set("Metadata-Flavor", "Google")
		switch {
		case r.Header.Get("Metadata-Flavor") != "Google":
			http.Error(w, "Missing required header: Metadata-Flavor", http.StatusForbidden)
		case m.code != 0:
			w.WriteHeader(m.code)
			_, _ = w.Write([]byte(m.body))
		case r.URL.Path != "/computeMetadata/v1/instance/service-accounts/default/token":
			http.NotFound(w, r)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"` + testAccessToken + `","expires_in":3599,"token_type":"Bearer"}`))
		}
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *metadataServer) take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.requests
	m.requests = nil
	return r
}

func (m *metadataServer) answer(code int, body string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.code, m.body = code, body
}

const metadataTokenRequest = "/computeMetadata/v1/instance/service-accounts/default/token?scopes=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fdevstorage.read_only Google"

// With no credentials file, on GCE or GKE (GCE_METADATA_HOST set, as
// Google's libraries take it) the token is the metadata server's, for the
// read-only storage scope, and the bucket's requests carry it; the
// metadata server refusing (a pod whose Kubernetes service account is
// bound to no Google one, an instance without a service account) is one
// line naming it, an error even with a cached copy.
func TestGCS_MetadataServer(t *testing.T) {
	b := newBucketServer(t)
	b.put("private", "models/m/model.onnx", "secret", 1)
	b.private["private"] = true
	m := newMetadataServer(t)
	d := bucketEnv(t, b)
	host := strings.TrimPrefix(m.URL, "http://")
	t.Setenv(gceMetadataHostVar, host)
	uri := "gs://private/models/m"
	dir, err := d.resolver().Resolve(context.Background(), uri)
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=secret"}, tree(t, dir))
	assert.Equal(t, []string{metadataTokenRequest}, m.take(), "one token, for the read-only scope")
	assert.Equal(t, "INFO No Google credentials file found; signing in with GCE_METADATA_HOST's metadata server ("+host+")", d.logs.take()[0])
	assert.Equal(t, "Bearer "+testAccessToken, b.authSeen[len(b.authSeen)-1])

	who := "getting a Google access token with GCE_METADATA_HOST's metadata server (" + host + "): "
	m.answer(http.StatusForbidden, "Unable to generate access token; IAM returned 403 Forbidden: Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).\nThis error could be caused by a missing IAM policy binding on the target IAM service account.\n")
	_, err = d.resolver().Resolve(context.Background(), uri)
	assert.EqualError(t, err, who+"the metadata server answered 403: Unable to generate access token; IAM returned 403 Forbidden: Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
	assert.ErrorIs(t, err, ErrNotFound, "a refusal, the cached copy notwithstanding")
	assert.Empty(t, d.logs.take())

	m.answer(http.StatusNotFound, "")
	_, err = d.resolver().Resolve(context.Background(), uri)
	assert.EqualError(t, err, who+"the metadata server answered 404 for instance/service-accounts/default/token (no service account)")
	assert.ErrorIs(t, err, ErrNotFound)
}

// Whether the metadata server is there is decided without a request: by
// GCE_METADATA_HOST, else by the machine's DMI product name, as
// google-auth falls back to it. Google's: the token comes from
// 169.254.169.254 (the test's client dials the stand-in for it). Anything
// else: no request to the metadata server at all, and the bucket is read
// anonymously, as before; a start without credentials is no slower.
func TestGCS_MetadataServerOnlyOnGooglesMachines(t *testing.T) {
	b := newBucketServer(t)
	b.put("bucket", "models/m/model.onnx", "weights", 1)
	m := newMetadataServer(t)
	d := bucketEnv(t, b)
	var mu sync.Mutex
	var dialed []string
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialed = append(dialed, addr)
		mu.Unlock()
		if addr == "169.254.169.254:80" {
			addr = m.Listener.Addr().String()
		}
		return dialer.DialContext(ctx, network, addr)
	}}}
	product := filepath.Join(t.TempDir(), "product_name")
	resolve := func(name string) (string, error) {
		require.NoError(t, os.WriteFile(product, []byte(name+"\n"), 0o644))
		r := d.resolver()
		r.Client = client
		r.gceProductName = product
		return r.Resolve(context.Background(), "gs://bucket/models/m")
	}

	_, err := resolve("Google Compute Engine")
	require.NoError(t, err)
	assert.Equal(t, []string{metadataTokenRequest}, m.take())
	assert.Equal(t, "INFO No Google credentials file found; signing in with the metadata server (169.254.169.254)", d.logs.take()[0])
	assert.Equal(t, "Bearer "+testAccessToken, b.authSeen[len(b.authSeen)-1])

	mu.Lock()
	dialed = nil
	mu.Unlock()
	b.put("bucket", "models/m/model.onnx", "retrained", 2)
	dir, err := resolve("Standard PC (Q35 + ICH9, 2009)")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=retrained"}, tree(t, dir))
	assert.Empty(t, m.take(), "no request to the metadata server")
	assert.Equal(t, "INFO No Google credentials found; reading the bucket anonymously", d.logs.take()[0])
	assert.Equal(t, "", b.authSeen[len(b.authSeen)-1])
	mu.Lock()
	defer mu.Unlock()
	for _, addr := range dialed {
		assert.Equal(t, strings.TrimPrefix(b.URL, "http://"), addr, "the bucket only")
	}
}

// Credentials that impersonate a service account (gcloud auth
// application-default login --impersonate-service-account) refused, by
// IAM Credentials or at the source credentials' token endpoint, are one
// line with the status, the error's code and message, as a key's are,
// though the oauth2 package words these answers as text.
func TestGCS_ImpersonationRefusedOnOneLine(t *testing.T) {
	var mu sync.Mutex
	sourceRefused := false
	iam := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		switch {
		case r.URL.Path == "/token" && sourceRefused:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}`))
		case r.URL.Path == "/token":
			_, _ = w.Write([]byte(`{"access_token":"ya29.user","expires_in":3599,"token_type":"Bearer"}`))
		default: // generateAccessToken, as IAM Credentials answers a caller without the Token Creator role
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{
  "error": {
    "code": 403,
    "message": "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
    "status": "PERMISSION_DENIED"
  }
}
`))
		}
	}))
	t.Cleanup(iam.Close)
	b := newBucketServer(t)
	d := bucketEnv(t, b)
	gcloud := filepath.Join(d.env["CLOUDSDK_CONFIG"], "application_default_credentials.json")
	require.NoError(t, os.WriteFile(gcloud, []byte(`{"type":"impersonated_service_account",
"service_account_impersonation_url":"`+iam.URL+`/v1/projects/-/serviceAccounts/model-reader@project.iam.gserviceaccount.com:generateAccessToken",
"source_credentials":{"type":"authorized_user","client_id":"1.apps.googleusercontent.com","client_secret":"s","refresh_token":"1//r","token_uri":"`+iam.URL+`/token"}}`), 0o600))
	who := "getting a Google access token with gcloud's application default credentials (" + gcloud + "): "
	_, err := d.resolver().Resolve(context.Background(), "gs://private/m")
	assert.EqualError(t, err, who+"the token endpoint answered 403 (PERMISSION_DENIED): Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
	assert.ErrorIs(t, err, ErrNotFound)

	mu.Lock()
	sourceRefused = true
	mu.Unlock()
	_, err = d.resolver().Resolve(context.Background(), "gs://private/m")
	assert.EqualError(t, err, who+"the token endpoint answered 400 (invalid_grant): Token has been expired or revoked.")
	assert.ErrorIs(t, err, ErrNotFound)
}
