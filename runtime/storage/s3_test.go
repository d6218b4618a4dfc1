package storage

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/internal/freeport"
	"github.com/kserve-gen/kserve-gen/runtime/internal/testcert"
)

// s3rver's default credentials.
const (
	s3rverKey    = "S3RVER"
	s3rverSecret = "S3RVER"
)

// s3rver is a running s3rver, an S3-compatible server in Node.js installed
// by scripts/setup-emulators.sh: an implementation of the protocol that is not
// ours (listings, continuation tokens, errors, paths). It checks the access
// key of a SigV4 request but not the signature itself (it implements V2
// verification only); the signature comes from AWS's own signer package.
type s3rver struct {
	url    string
	client *http.Client // default http.DefaultClient
}

func startS3rver(t *testing.T, buckets ...string) *s3rver {
	t.Helper()
	bin := emulator(t, "s3rver", "s3rver")
	port := freeTCPPort(t)
	args := []string{"-d", t.TempDir(), "-a", "127.0.0.1", "-p", fmt.Sprint(port), "--silent", "--no-vhost-buckets"}
	for _, b := range buckets {
		args = append(args, "--configure-bucket", b)
	}
	// Its continuation tokens use a cipher OpenSSL 3 keeps in the legacy
	// provider.
	out := startProcess(t, bin, args, "NODE_OPTIONS=--openssl-legacy-provider")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(t, addr, out)
	return &s3rver{url: "http://" + addr}
}

// put uploads an object with a signed PUT, as any S3 client does.
func (s *s3rver) put(t *testing.T, bucket, key, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, s.url+"/"+bucket+"/"+key, strings.NewReader(body))
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: s3rverKey, SecretAccessKey: s3rverSecret},
		req, hash, "s3", "us-east-1", time.Now()))
	c := s.client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "PUT %s", key)
}

func s3Env(t *testing.T, s *s3rver) *downloadEnv {
	d := newDownloadEnv(t)
	d.env["AWS_ENDPOINT_URL"] = s.url
	d.env["AWS_ACCESS_KEY_ID"] = s3rverKey
	d.env["AWS_SECRET_ACCESS_KEY"] = s3rverSecret
	isolateAWS(t, d)
	return d
}

// isolateAWS keeps a test's AWS SDK from the machine's configuration: no
// shared files, no instance metadata (the chain's last resort), and none
// of the variables the SDK reads from the process environment itself.
func isolateAWS(t *testing.T, d *downloadEnv) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	d.env["AWS_SHARED_CREDENTIALS_FILE"] = none
	d.env["AWS_CONFIG_FILE"] = none
	d.env["AWS_EC2_METADATA_DISABLED"] = "true"
	for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_EC2_METADATA_SERVICE_ENDPOINT"} {
		t.Setenv(k, "") // restored when the test ends
		require.NoError(t, os.Unsetenv(k))
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestS3_PrefixDownloadedAndRevalidated(t *testing.T) {
	s := startS3rver(t, "models")
	s.put(t, "models", "iris/model.onnx", "weights")
	s.put(t, "models", "iris/sub/labels.txt", "setosa")
	s.put(t, "models", "iris/empty", "") // an empty file, downloaded as KServe does
	s.put(t, "models", "iris/sub", "")   // a folder's placeholder without its "/", skipped
	s.put(t, "models", "irises/other.onnx", "not this one")
	d := s3Env(t, s)
	ctx := context.Background()

	dir, err := d.resolver().Resolve(ctx, "s3://models/iris")
	require.NoError(t, err)
	assert.Equal(t, []string{"empty=", "model.onnx=weights", "sub/labels.txt=setosa"}, tree(t, dir))
	logs := d.logs.take()
	assert.Regexp(t, `^INFO Copying contents of s3://models/iris \(listing [0-9a-f]{12}, 3 files\) to local$`, logs[0])

	again, err := d.resolver().Resolve(ctx, "s3://models/iris")
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	assert.Regexp(t, `^INFO s3://models/iris is at listing [0-9a-f]{12}, downloaded on \S+; using `, d.logs.take()[0])

	s.put(t, "models", "iris/model.onnx", "retrained")
	again, err = d.resolver().Resolve(ctx, "s3://models/iris")
	require.NoError(t, err)
	assert.Equal(t, []string{"empty=", "model.onnx=retrained", "sub/labels.txt=setosa"}, tree(t, again))
	assert.Equal(t, []string{"empty=", "model.onnx=weights", "sub/labels.txt=setosa"}, tree(t, dir), "the version this process serves, unchanged")
}

// An access key s3rver does not know is InvalidAccessKeyId, named in the
// error with where the credentials came from.
func TestS3_SignaturesAndCredentials(t *testing.T) {
	s := startS3rver(t, "models")
	s.put(t, "models", "m/model.onnx", "w")
	d := s3Env(t, s)
	d.env["AWS_ACCESS_KEY_ID"] = "AKIAUNKNOWN"
	_, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	require.Error(t, err)
	assert.Equal(t, "s3://models/m: the bucket answered 403 (no such bucket, or the credentials from AWS_ACCESS_KEY_ID may not read it): InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.", err.Error())
	assert.ErrorIs(t, err, ErrNotFound)

	// A profile of the shared credentials file.
	d = s3Env(t, s)
	delete(d.env, "AWS_ACCESS_KEY_ID")
	delete(d.env, "AWS_SECRET_ACCESS_KEY")
	creds := filepath.Join(t.TempDir(), "credentials")
	require.NoError(t, os.WriteFile(creds, []byte("[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n\n[local]\n# s3rver\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n"), 0o600))
	d.env["AWS_SHARED_CREDENTIALS_FILE"] = creds
	d.env["AWS_PROFILE"] = "local"
	dir, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=w"}, tree(t, dir))
}

func TestS3_ObjectArchivePagesAndNothing(t *testing.T) {
	s := startS3rver(t, "models", "empty")
	s.put(t, "models", "archives/resnet.tar.gz", string(tarball(t, true, entry{name: "resnet/model.onnx", body: "w"})))
	for i := range 5 {
		s.put(t, "models", fmt.Sprintf("parts/p%d", i), fmt.Sprint(i))
	}
	d := s3Env(t, s)
	ctx := context.Background()
	dir, err := d.resolver().Resolve(ctx, "s3://models/archives/resnet.tar.gz")
	require.NoError(t, err)
	assert.Equal(t, []string{"resnet/model.onnx=w"}, tree(t, dir), "one archive is unpacked")

	r := d.resolver()
	r.listPageSize = 2 // continuation tokens followed
	dir, err = r.Resolve(ctx, "s3://models/parts")
	require.NoError(t, err)
	assert.Equal(t, []string{"p0=0", "p1=1", "p2=2", "p3=3", "p4=4"}, tree(t, dir))

	_, err = d.resolver().Resolve(ctx, "s3://models/nothing")
	assert.EqualError(t, err, "Failed to fetch model. No model found in s3://models/nothing: "+s.url+"/models has no object nothing, nor any under nothing/.")
	_, err = d.resolver().Resolve(ctx, "s3://empty")
	assert.EqualError(t, err, "Failed to fetch model. No model found in s3://empty: "+s.url+"/empty has no object.")
	_, err = d.resolver().Resolve(ctx, "s3:///x")
	assert.EqualError(t, err, "storage uri s3:///x: want s3://<bucket>/<path>")
}

type recordTransport struct{ reqs []*http.Request }

func (r *recordTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.reqs = append(r.reqs, req)
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// The signing transport's requests carry a SigV4 signature that a verifier
// written here from the specification (canonical request, string to sign,
// derived key) accepts; s3rver does not check V4 signatures, and S3 rejects
// a wrong one. Requests to another host, or to the same host over plain
// http (a redirect downgrading the connection), go unsigned.
func TestS3_SignatureVerifiesIndependently(t *testing.T) {
	rec := &recordTransport{}
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	tr := &sigV4Transport{base: rec, origin: originOf("https://bucket.s3.eu-west-1.amazonaws.com"), creds: credentials.StaticCredentialsProvider{Value: creds}, region: "eu-west-1", signer: v4.NewSigner()}
	req, err := http.NewRequest(http.MethodGet, "https://bucket.s3.eu-west-1.amazonaws.com/?list-type=2&prefix=models%2Firis", nil)
	require.NoError(t, err)
	_, err = tr.RoundTrip(req)
	require.NoError(t, err)
	signed := rec.reqs[0]
	assert.Empty(t, req.Header.Get("Authorization"), "the caller's request is not modified")

	auth := signed.Header.Get("Authorization")
	m := regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/(\d{8})/eu-west-1/s3/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`).FindStringSubmatch(auth)
	require.NotNil(t, m, auth)
	date, signedHeaders, signature := m[1], m[2], m[3]
	assert.Equal(t, "host;x-amz-content-sha256;x-amz-date", signedHeaders)
	assert.Equal(t, emptySHA256, signed.Header.Get("X-Amz-Content-Sha256"))
	amzDate := signed.Header.Get("X-Amz-Date")

	var canonHeaders strings.Builder
	for _, h := range strings.Split(signedHeaders, ";") {
		v := signed.Header.Get(h)
		if h == "host" {
			v = signed.URL.Host
		}
		canonHeaders.WriteString(h + ":" + strings.TrimSpace(v) + "\n")
	}
	canonical := strings.Join([]string{"GET", "/", "list-type=2&prefix=models%2Firis", canonHeaders.String(), signedHeaders, emptySHA256}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	scope := date + "/eu-west-1/s3/aws4_request"
	stringToSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := hmacSHA256([]byte("AWS4"+creds.SecretAccessKey), date)
	for _, part := range []string{"eu-west-1", "s3", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	assert.Equal(t, hex.EncodeToString(hmacSHA256(key, stringToSign)), signature)

	other, err := http.NewRequest(http.MethodGet, "https://elsewhere.example/blob", nil)
	require.NoError(t, err)
	_, err = tr.RoundTrip(other)
	require.NoError(t, err)
	assert.Empty(t, rec.reqs[1].Header.Get("Authorization"))

	plain, err := http.NewRequest(http.MethodGet, "http://bucket.s3.eu-west-1.amazonaws.com/?list-type=2", nil)
	require.NoError(t, err)
	_, err = tr.RoundTrip(plain)
	require.NoError(t, err)
	assert.Empty(t, rec.reqs[2].Header.Get("Authorization"), "no signature over plain http")
}

func TestS3_Patterns(t *testing.T) {
	s := startS3rver(t, "models")
	s.put(t, "models", "m/model.onnx", "fp32")
	s.put(t, "models", "m/model_fp16.onnx", "fp16")
	s.put(t, "models", "m/tokenizer/vocab.txt", "a b")
	d := s3Env(t, s)
	d.env["STORAGE_ALLOW_PATTERNS"] = "model.onnx, tokenizer/"
	dir, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=fp32", "tokenizer/vocab.txt=a b"}, tree(t, dir))

	d.env["STORAGE_ALLOW_PATTERNS"] = "*.safetensors"
	_, err = d.resolver().Resolve(context.Background(), "s3://models/m")
	assert.EqualError(t, err, `Failed to fetch model. No model found in s3://models/m: STORAGE_ALLOW_PATTERNS ["*.safetensors"] and STORAGE_IGNORE_PATTERNS [] leave none of its 3 objects.`)
}

// emulator is the path of an emulator's command installed by
// scripts/setup-emulators.sh; the test skips (or, with
// KSERVE_GEN_REQUIRE_EMULATORS set, as test.sh does, fails) without it.
func emulator(t *testing.T, name, command string) string {
	t.Helper()
	cache := os.Getenv("KSERVE_GEN_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "kserve-gen")
	}
	bin := filepath.Join(cache, name, "node_modules", ".bin", command)
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("KSERVE_GEN_REQUIRE_EMULATORS") != "" {
			t.Fatalf("%s is not installed at %s (scripts/setup-emulators.sh), and KSERVE_GEN_REQUIRE_EMULATORS is set", name, bin)
		}
		t.Skipf("%s is not installed at %s: run scripts/setup-emulators.sh", name, bin)
	}
	return bin
}

// freeTCPPort returns a port for an emulator to listen on (freeport.Ports:
// one no parallel test's own listener can take before the emulator binds
// it).
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ports, err := freeport.Ports(1)
	require.NoError(t, err)
	return ports[0]
}

// startProcess runs bin until the test ends, its output collected.
func startProcess(t *testing.T, bin string, args []string, env ...string) *bytes.Buffer {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return &out
}

// waitListening waits for a server to accept connections on addr.
func waitListening(t *testing.T, addr string, out fmt.Stringer) {
	t.Helper()
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 30*time.Second, 20*time.Millisecond, "%s did not start: %s", addr, out)
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key, PEM, as
// an S3-compatible service on a private network often has; it returns the
// two files.
func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	return testcert.New(t, "minio.local").Files(t)
}

// An S3-compatible service over TLS with a certificate of a private CA, as
// KServe's S3 secrets describe it: S3_VERIFY_SSL=0 does not check the
// certificate, AWS_CA_BUNDLE (or a CA bundle config map's mount) names
// the CA to check it against, and with neither the error says which to
// set. KServe's controller hands the endpoint to a pod as S3_ENDPOINT
// (host:port) and S3_USE_HTTPS too, which a shell may set alone.
func TestS3_TLSVerificationAndEndpointSettings(t *testing.T) {
	cert, key := selfSignedCert(t)
	bin := emulator(t, "s3rver", "s3rver")
	port := freeTCPPort(t)
	out := startProcess(t, bin, []string{"-d", t.TempDir(), "-a", "127.0.0.1", "-p", fmt.Sprint(port), "--silent", "--no-vhost-buckets",
		"--cert", cert, "--key", key, "--configure-bucket", "models"}, "NODE_OPTIONS=--openssl-legacy-provider")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(t, addr, out)
	plain := startS3rver(t, "models")
	plain.put(t, "models", "m/model.onnx", "w")
	pool := x509.NewCertPool()
	pemBytes, err := os.ReadFile(cert)
	require.NoError(t, err)
	require.True(t, pool.AppendCertsFromPEM(pemBytes))
	tlsPut := &s3rver{url: "https://" + addr, client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	tlsPut.put(t, "models", "m/model.onnx", "w")
	ctx := context.Background()

	d := s3Env(t, plain)
	d.env["AWS_ENDPOINT_URL"] = tlsPut.url
	_, err = d.resolver().Resolve(ctx, "s3://models/m")
	require.Error(t, err)
	assert.Equal(t, "listing s3://models/m: tls: failed to verify certificate: x509: certificate signed by unknown authority; "+
		"set AWS_CA_BUNDLE to the file of the CA that signed https://"+addr+"'s certificate, or S3_VERIFY_SSL=0 not to check it", err.Error())

	for _, env := range []map[string]string{
		{"S3_VERIFY_SSL": "0"},
		{"S3_VERIFY_SSL": "False"},
		{"AWS_CA_BUNDLE": cert},
		{"CA_BUNDLE_CONFIGMAP_NAME": "cabundle", "CA_BUNDLE_VOLUME_MOUNT_POINT": filepath.Dir(cert), "AWS_CA_BUNDLE": ""},
	} {
		d := s3Env(t, plain)
		d.env["AWS_ENDPOINT_URL"] = tlsPut.url
		if env["CA_BUNDLE_CONFIGMAP_NAME"] != "" {
			require.NoError(t, os.Link(cert, filepath.Join(filepath.Dir(cert), "cabundle.crt")))
		}
		maps.Copy(d.env, env)
		dir, err := d.resolver().Resolve(ctx, "s3://models/m")
		require.NoError(t, err, "%v", env)
		assert.Equal(t, []string{"model.onnx=w"}, tree(t, dir), "%v", env)
	}

	d = s3Env(t, plain)
	d.env["AWS_ENDPOINT_URL"] = tlsPut.url
	d.env["AWS_CA_BUNDLE"] = filepath.Join(t.TempDir(), "missing.crt")
	_, err = d.resolver().Resolve(ctx, "s3://models/m")
	assert.EqualError(t, err, "Failed to find ca bundle file("+d.env["AWS_CA_BUNDLE"]+").: AWS_CA_BUNDLE names it: open "+d.env["AWS_CA_BUNDLE"]+": no such file or directory")

	d = s3Env(t, plain)
	delete(d.env, "AWS_ENDPOINT_URL")
	d.env["S3_ENDPOINT"] = strings.TrimPrefix(plain.url, "http://")
	d.env["S3_USE_HTTPS"] = "0"
	dir, err := d.resolver().Resolve(ctx, "s3://models/m")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=w"}, tree(t, dir))
	d.env["S3_ENDPOINT"] = addr
	d.env["S3_USE_HTTPS"] = "1"
	d.env["AWS_CA_BUNDLE"] = cert
	dir, err = d.resolver().Resolve(ctx, "s3://models/m")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=w"}, tree(t, dir))
}

// The model cache's removal line names a bucket's model as its record
// does: the URI, then the endpoint and patterns that select the copy,
// not all of it escaped as one URL (s3://models/m%20endpoint=...).
func TestS3_RemovalLineNamesTheModel(t *testing.T) {
	s := startS3rver(t, "models")
	s.put(t, "models", "m/model.onnx", "w")
	d := s3Env(t, s)
	d.env["STORAGE_ALLOW_PATTERNS"] = "*.onnx"
	dir, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	require.NoError(t, err)
	exitProcess()
	entry := filepath.Dir(dir)
	old := time.Now().Add(-40 * 24 * time.Hour)
	rec := recordOf(t, entry)
	rec["last_used"] = old.UTC()
	b, err := json.Marshal(rec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(entry+".json", b, 0o644))
	d.logs.take()

	o := newOrigin(t)
	o.put("/m/model.onnx", file{body: []byte("w"), contentType: "application/octet-stream"})
	_, err = d.start(context.Background(), o.URL+"/m/model.onnx")
	require.NoError(t, err)
	assert.Contains(t, d.logs.take(), `INFO Removed s3://models/m endpoint=`+s.url+` allow=["*.onnx"] ignore=[] (`+entry+`) from the model cache: 1 B, unused since `+
		old.UTC().Format(time.DateOnly)+", more than 30 days ago (KSERVE_GEN_CACHE_MAX_AGE sets how long)")
}

// An endpoint nothing answers at (a typo in AWS_ENDPOINT_URL, S3_ENDPOINT
// left out so the requests went elsewhere) says which endpoint was tried
// and what sets it: the dial error alone names an address, not a setting.
// No emulator: a closed port on loopback is the real failure.
func TestS3_UnreachableEndpointNamesTheSetting(t *testing.T) {
	d := newDownloadEnv(t)
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", freeTCPPort(t))
	d.env["AWS_ENDPOINT_URL"] = endpoint
	d.env["AWS_ACCESS_KEY_ID"] = s3rverKey
	d.env["AWS_SECRET_ACCESS_KEY"] = s3rverSecret
	isolateAWS(t, d)
	_, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "listing s3://models/m: "), err.Error())
	assert.Contains(t, err.Error(), "connection refused")
	assert.True(t, strings.HasSuffix(err.Error(), "; nothing answered at the S3 endpoint "+endpoint+
		": AWS_ENDPOINT_URL (or KServe's S3_ENDPOINT with S3_USE_HTTPS) sets it"), err.Error())
}
