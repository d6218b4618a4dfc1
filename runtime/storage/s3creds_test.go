package storage

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// awsKey is a set of credentials a stand-in credential source hands out.
type awsKey struct{ id, secret, token string }

// standInS3 is a stand-in S3 for the credential tests: AWS cannot be
// reached from here, and s3rver knows one access key and checks no V4
// signature. It serves one object, m/model.onnx, to requests signed with a
// key it was told of (a session token included), checking the signature
// by signing the request again with that key's secret; it answers others
// 403, as S3 does.
type standInS3 struct {
	*httptest.Server
	mu      sync.Mutex
	keys    map[string]awsKey
	used    []string // the access key ids of the signed requests, in order
	regions []string // the regions they were signed for
}

var authorizationRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)

func newStandInS3(t *testing.T) *standInS3 {
	s := &standInS3{keys: map[string]awsKey{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code, msg := s.check(r); code != "" {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
			return
		}
		switch {
		case r.URL.Path == "/models" || r.URL.Path == "/models/":
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><IsTruncated>false</IsTruncated>`+
				`<Contents><Key>m/model.onnx</Key><Size>7</Size><ETag>"e1"</ETag></Contents></ListBucketResult>`)
		case r.URL.Path == "/models/m/model.onnx":
			fmt.Fprint(w, "weights")
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *standInS3) allow(k awsKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[k.id] = k
}

func (s *standInS3) usedKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.used...)
}

// check returns S3's error code and message for a request it refuses.
func (s *standInS3) check(r *http.Request) (code, msg string) {
	m := authorizationRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return "AccessDenied", "Access Denied"
	}
	s.mu.Lock()
	k, ok := s.keys[m[1]]
	s.mu.Unlock()
	if !ok {
		return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
	}
	if r.Header.Get("X-Amz-Security-Token") != k.token {
		return "InvalidToken", "The provided token is malformed or otherwise invalid."
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "AccessDenied", "no X-Amz-Date"
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	for _, h := range strings.Split(m[4], ";") {
		if h != "host" {
			again.Header.Set(h, r.Header.Get(h))
		}
	}
	again.Header.Del("Authorization")
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: k.id, SecretAccessKey: k.secret, SessionToken: k.token},
		again, r.Header.Get("X-Amz-Content-Sha256"), "s3", m[3], when); err != nil || again.Header.Get("Authorization") != r.Header.Get("Authorization") {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
	}
	s.mu.Lock()
	s.used = append(s.used, k.id)
	s.regions = append(s.regions, m[3])
	s.mu.Unlock()
	return "", ""
}

// s3CredsEnv is a download environment reading the stand-in S3 with no
// credentials of its own: each test names its source.
func s3CredsEnv(t *testing.T, s *standInS3) *downloadEnv {
	d := newDownloadEnv(t)
	isolateAWS(t, d)
	d.env["AWS_ENDPOINT_URL"] = s.URL
	t.Setenv("AWS_MAX_ATTEMPTS", "1") // the SDK's STS client: a refusal is not retried
	return d
}

// standInSTS answers AssumeRoleWithWebIdentity (the token must be token)
// and AssumeRole (signed with source's key) with next's key, as AWS STS
// does; refuse makes it answer 400 InvalidIdentityToken instead.
type standInSTS struct {
	*httptest.Server
	mu     sync.Mutex
	calls  []string
	refuse bool
}

func newStandInSTS(t *testing.T, s3 *standInS3, token string, source awsKey, next awsKey) *standInSTS {
	sts := &standInSTS{}
	sts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		action := r.PostForm.Get("Action")
		sts.mu.Lock()
		sts.calls = append(sts.calls, action+" "+r.PostForm.Get("RoleArn"))
		refuse := sts.refuse
		sts.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		deny := func(code, msg string) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r1</RequestId></ErrorResponse>`, code, msg)
		}
		switch {
		case refuse:
			deny("InvalidIdentityToken", "Token expired: current date/time 1700000000 must be before the expiration date/time 1690000000")
			return
		case action == "AssumeRoleWithWebIdentity" && r.PostForm.Get("WebIdentityToken") != token:
			deny("InvalidIdentityToken", "Incorrect token audience")
			return
		case action == "AssumeRole" && !strings.Contains(r.Header.Get("Authorization"), "Credential="+source.id+"/"):
			deny("InvalidClientTokenId", "The security token included in the request is invalid.")
			return
		}
		s3.allow(next)
		fmt.Fprintf(w, `<%sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><%sResult><Credentials>`+
			`<AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration>`+
			`</Credentials></%sResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></%sResponse>`,
			action, action, next.id, next.secret, next.token, time.Now().Add(time.Hour).UTC().Format(time.RFC3339), action, action)
	}))
	t.Cleanup(sts.Close)
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	return sts
}

func (s *standInSTS) callList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// IRSA: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, as EKS sets them, are
// exchanged at STS for the credentials that sign the requests; a refusal
// is one line naming the variables and STS's answer, cached copy or not,
// and an STS that cannot be reached lets the cached copy be served.
func TestS3_WebIdentityCredentials(t *testing.T) {
	s3 := newStandInS3(t)
	d := s3CredsEnv(t, s3)
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("eks-token"), 0o600))
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
	t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/model-reader")
	sts := newStandInSTS(t, s3, "eks-token", awsKey{}, awsKey{"ASIAWEBIDENTITY", "web-secret", "web-session"})

	dir, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
	assert.Equal(t, []string{"ASIAWEBIDENTITY", "ASIAWEBIDENTITY"}, s3.usedKeys(), "the listing and the object, signed with STS's key and session token")
	assert.Equal(t, []string{"AssumeRoleWithWebIdentity arn:aws:iam::123456789012:role/model-reader"}, sts.callList())

	source := "AWS_WEB_IDENTITY_TOKEN_FILE (" + tokenFile + ", AWS_ROLE_ARN arn:aws:iam::123456789012:role/model-reader)"
	sts.mu.Lock()
	sts.refuse = true
	sts.mu.Unlock()
	_, err = d.resolver().Resolve(context.Background(), "s3://models/m")
	assert.EqualError(t, err, "getting AWS credentials from "+source+": STS AssumeRoleWithWebIdentity answered 400 (InvalidIdentityToken): "+
		"Token expired: current date/time 1700000000 must be before the expiration date/time 1690000000")
	assert.ErrorIs(t, err, ErrNotFound)

	sts.Close()
	d.logs.take()
	again, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	logs := d.logs.take()
	require.NotEmpty(t, logs)
	assert.Regexp(t, `^WARN Cannot get AWS credentials from `+regexpQuote(source)+` for s3://models/m \(getting AWS credentials from `+regexpQuote(source)+
		`: STS AssumeRoleWithWebIdentity: dial tcp 127\.0\.0\.1:\d+: connect: connection refused\); serving the copy of listing [0-9a-f]{12} downloaded `, logs[0])
}

// EKS Pod Identity and ECS: the container credentials endpoint
// (AWS_CONTAINER_CREDENTIALS_FULL_URI, with its authorization token) hands
// out credentials that expire; each request asks the SDK's cache, which
// fetches new ones when they are about to expire, so a download that
// outlives them goes on signed.
func TestS3_ContainerCredentialsRefreshed(t *testing.T) {
	s3 := newStandInS3(t)
	d := s3CredsEnv(t, s3)
	var mu sync.Mutex
	handedOut := 0
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "pod-identity-token" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"code": "AccessDenied", "message": "bad token"}`)
			return
		}
		mu.Lock()
		handedOut++
		k := awsKey{fmt.Sprintf("ASIACONTAINER%d", handedOut), "container-secret", "container-session"}
		mu.Unlock()
		s3.allow(k)
		// Within the SDK's five-minute expiry window: the cache fetches
		// new credentials for every request, as it would an hour later.
		require.NoError(t, json.NewEncoder(w).Encode(map[string]string{"AccessKeyId": k.id, "SecretAccessKey": k.secret, "Token": k.token,
			"Expiration": time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}))
	}))
	t.Cleanup(endpoint.Close)
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.URL+"/v1/credentials")
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "pod-identity-token")

	dir, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
	used := s3.usedKeys()
	require.Len(t, used, 2, "the listing and the object")
	assert.NotEqual(t, used[0], used[1], "the object's request got credentials fresher than the listing's")
	assert.Regexp(t, `^ASIACONTAINER\d+$`, used[1])

	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "stale")
	_, err = d.resolver().Resolve(context.Background(), "s3://models/m")
	assert.EqualError(t, err, "getting AWS credentials from AWS_CONTAINER_CREDENTIALS_FULL_URI ("+endpoint.URL+"/v1/credentials): "+
		"the endpoint answered 401 (AccessDenied): bad token")
	assert.ErrorIs(t, err, ErrNotFound)

	endpoint.Close()
	d.logs.take()
	again, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	require.NoError(t, err, "the cached copy, served")
	assert.Equal(t, dir, again)
	assert.Regexp(t, `^WARN Cannot get AWS credentials from AWS_CONTAINER_CREDENTIALS_FULL_URI \(`+regexpQuote(endpoint.URL)+`/v1/credentials\) for s3://models/m \(`+
		`getting AWS credentials from .*: dial tcp 127\.0\.0\.1:\d+: connect: connection refused\); serving the copy`, d.logs.take()[0])
}

// A profile of ~/.aws/config with credential_process runs the command
// and signs with what it prints; a command that fails is an error naming
// the profile and the command's words.
func TestS3_CredentialProcessProfile(t *testing.T) {
	s3 := newStandInS3(t)
	s3.allow(awsKey{"AKIDPROCESS", "process-secret", "process-session"})
	d := s3CredsEnv(t, s3)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.sh")
	require.NoError(t, os.WriteFile(good, []byte("#!/bin/sh\n"+
		`echo '{"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "process-secret", "SessionToken": "process-session"}'`+"\n"), 0o755))
	bad := filepath.Join(dir, "bad.sh")
	require.NoError(t, os.WriteFile(bad, []byte("#!/bin/sh\nexit 1\n"), 0o755))
	configFile := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(configFile, []byte("[profile vault]\ncredential_process = "+good+"\nregion = eu-central-1\n\n[profile sealed]\ncredential_process = "+bad+"\n"), 0o600))
	d.env["AWS_CONFIG_FILE"] = configFile
	d.env["AWS_PROFILE"] = "vault"

	out, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, out))
	assert.Equal(t, []string{"AKIDPROCESS", "AKIDPROCESS"}, s3.usedKeys())
	s3.mu.Lock()
	assert.Equal(t, []string{"eu-central-1", "eu-central-1"}, s3.regions, "the profile's region")
	s3.mu.Unlock()

	d.env["AWS_PROFILE"] = "sealed"
	_, err = d.resolver().Resolve(context.Background(), "s3://models/m")
	// The SDK shows the command's stderr on the server's (for MFA
	// prompts); the error says how it ended, and where to look.
	assert.EqualError(t, err, `getting AWS credentials from the AWS profile "sealed" (credential_process): process provider error: error in credential_process: exit status 1 `+
		`(credential_process's standard error is in the server's log above)`)
	assert.ErrorIs(t, err, ErrInvalidURI)

	d.env["AWS_PROFILE"] = "nobody"
	_, err = d.resolver().Resolve(context.Background(), "s3://models/m")
	assert.EqualError(t, err, "AWS_PROFILE nobody: The config profile (nobody) could not be found in "+configFile+" or "+d.env["AWS_SHARED_CREDENTIALS_FILE"])
}

// A profile of IAM Identity Center (sso_session) whose session was never
// started, or has expired, says to log in again.
func TestS3_SSOProfileNotLoggedIn(t *testing.T) {
	d := s3CredsEnv(t, newStandInS3(t))
	home := t.TempDir()
	t.Setenv("HOME", home) // where the SDK, as the AWS CLI, caches SSO tokens
	configFile := filepath.Join(home, "config")
	require.NoError(t, os.WriteFile(configFile, []byte("[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Reader\n\n"+
		"[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"), 0o600))
	d.env["AWS_CONFIG_FILE"] = configFile
	d.env["AWS_PROFILE"] = "dev"
	_, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	require.Error(t, err)
	assert.Regexp(t, `^getting AWS credentials from the AWS profile "dev" \(sso_session corp\): failed to read cached SSO token file, open `+
		regexpQuote(filepath.Join(home, ".aws", "sso", "cache"))+`/[0-9a-f]{40}\.json: no such file or directory; `+
		`the SSO session has expired or was never started: run aws sso login with the profile$`, err.Error())
	assert.ErrorIs(t, err, ErrInvalidURI)
}

// An assume-role profile (role_arn with source_profile) signs its STS
// AssumeRole request with the source profile's keys, and the bucket's
// requests with the role's.
func TestS3_AssumeRoleProfile(t *testing.T) {
	s3 := newStandInS3(t)
	d := s3CredsEnv(t, s3)
	base := awsKey{"AKIDBASE", "base-secret", ""}
	newStandInSTS(t, s3, "", base, awsKey{"ASIAROLE", "role-secret", "role-session"})
	configFile := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(configFile, []byte("[profile base]\naws_access_key_id = "+base.id+"\naws_secret_access_key = "+base.secret+
		"\n\n[profile reader]\nrole_arn = arn:aws:iam::123456789012:role/model-reader\nsource_profile = base\n"), 0o600))
	d.env["AWS_CONFIG_FILE"] = configFile
	d.env["AWS_PROFILE"] = "reader"

	dir, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
	assert.Equal(t, []string{"ASIAROLE", "ASIAROLE"}, s3.usedKeys(), "the role's key, not the source profile's")
}

// With no credentials anywhere KServe's boto3 raises botocore's
// NoCredentialsError rather than reading the bucket unsigned; so does
// this, saying what to set. awsAnonymousCredential=true reads it unsigned,
// and a bucket that refuses that says what else to set.
func TestS3_NoCredentials(t *testing.T) {
	s3 := newStandInS3(t)
	d := s3CredsEnv(t, s3)
	_, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	assert.EqualError(t, err, "Unable to locate credentials (botocore's NoCredentialsError): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "+
		"or AWS_PROFILE to a profile of ~/.aws/config or ~/.aws/credentials (aws configure, aws sso login), "+
		"or awsAnonymousCredential=true to read a public bucket unsigned")
	assert.ErrorIs(t, err, ErrNotFound)
	assertNoModelLeft(t, d.cache)

	d.env["awsAnonymousCredential"] = "True"
	_, err = d.resolver().Resolve(context.Background(), "s3://models/m")
	assert.EqualError(t, err, "s3://models/m: the bucket answered 403 (no such bucket, or it is not public and awsAnonymousCredential=true reads it unsigned: "+
		"set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, instead): AccessDenied: Access Denied")
	assert.Empty(t, s3.usedKeys())
}

// S3_USE_ACCELERATE=true sends the requests to
// <bucket>.s3-accelerate.amazonaws.com, as botocore's
// use_accelerate_endpoint; S3's endpoint rules refuse it with a custom
// endpoint, and with a bucket name that is no host name label. AWS cannot
// be reached from here: the requests are dialled to a local TLS server,
// which sees the host they were for.
func TestS3_Accelerate(t *testing.T) {
	client, hosts := awsStandIn(t)
	d := newDownloadEnv(t)
	isolateAWS(t, d)
	d.env["S3_USE_ACCELERATE"] = "true"
	d.env["AWS_DEFAULT_REGION"] = "eu-west-1"
	d.env["AWS_ACCESS_KEY_ID"] = "AKIDACCEL"
	d.env["AWS_SECRET_ACCESS_KEY"] = "secret"
	r := d.resolver()
	r.Client = client
	_, err := r.Resolve(context.Background(), "s3://models/m")
	assert.EqualError(t, err, "Failed to fetch model. No model found in s3://models/m: https://models.s3-accelerate.amazonaws.com has no object m, nor any under m/.")
	require.NotEmpty(t, hosts())
	assert.Regexp(t, `^models\.s3-accelerate\.amazonaws\.com / Credential=AKIDACCEL/\d{8}/eu-west-1/s3/aws4_request$`, hosts()[0])

	d.env["AWS_ENDPOINT_URL"] = "http://minio:9000"
	_, err = d.resolver().Resolve(context.Background(), "s3://models/m")
	assert.EqualError(t, err, "S3_USE_ACCELERATE=true with AWS_ENDPOINT_URL http://minio:9000: A custom endpoint cannot be combined with S3 Accelerate")
	delete(d.env, "AWS_ENDPOINT_URL")
	_, err = d.resolver().Resolve(context.Background(), "s3://models.v2/m")
	assert.EqualError(t, err, "S3_USE_ACCELERATE=true with the bucket models.v2: Path-style addressing cannot be used with S3 Accelerate (a bucket name with a dot)")
}

// awsStandIn stands in for AWS's S3 endpoints, which cannot be reached from
// here: the client it returns dials every request to a local TLS server
// that answers an empty listing, and hosts returns, for each request, the
// host and path it was for and the credential scope it was signed with.
func awsStandIn(t *testing.T) (client *http.Client, hosts func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Host+" "+r.URL.Path+" "+regexp.MustCompile(`Credential=[^,]+`).FindString(r.Header.Get("Authorization")))
		mu.Unlock()
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>`)
	}))
	t.Cleanup(srv.Close)
	transport := srv.Client().Transport.(*http.Transport).Clone()
	transport.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // #nosec G402 -- the stand-in's certificate is not AWS's
	return &http.Client{Transport: transport}, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// AWS_ENDPOINT_URL=https://s3.amazonaws.com, AWS's legacy global endpoint,
// with a region other than us-east-1 is addressed virtual-hosted, as
// KServe's get_S3_config does: path-style, a bucket outside us-east-1
// answers PermanentRedirect. In us-east-1 it stays path-style.
func TestS3_LegacyGlobalEndpointOutsideUSEast1IsVirtualHosted(t *testing.T) {
	for _, c := range []struct{ region, wantErr, wantHost string }{
		{"eu-west-1", "Failed to fetch model. No model found in s3://models/m: https://models.s3.amazonaws.com has no object m, nor any under m/.",
			`^models\.s3\.amazonaws\.com / Credential=AKIDLEGACY/\d{8}/eu-west-1/s3/aws4_request$`},
		{"us-east-1", "Failed to fetch model. No model found in s3://models/m: https://s3.amazonaws.com/models has no object m, nor any under m/.",
			`^s3\.amazonaws\.com /models/ Credential=AKIDLEGACY/\d{8}/us-east-1/s3/aws4_request$`},
	} {
		client, hosts := awsStandIn(t)
		d := newDownloadEnv(t)
		isolateAWS(t, d)
		d.env["AWS_ENDPOINT_URL"] = "https://s3.amazonaws.com"
		d.env["AWS_DEFAULT_REGION"] = c.region
		d.env["AWS_ACCESS_KEY_ID"] = "AKIDLEGACY"
		d.env["AWS_SECRET_ACCESS_KEY"] = "secret"
		r := d.resolver()
		r.Client = client
		_, err := r.Resolve(context.Background(), "s3://models/m")
		assert.EqualError(t, err, c.wantErr, c.region)
		require.NotEmpty(t, hosts(), c.region)
		assert.Regexp(t, c.wantHost, hosts()[0], c.region)
	}
}

// A CA bundle that holds no certificate, and one that is not there, are
// errors naming the file and the setting that named it, before any
// request.
func TestS3_CABundleErrors(t *testing.T) {
	d := newDownloadEnv(t)
	isolateAWS(t, d)
	d.env["AWS_ENDPOINT_URL"] = "https://minio.internal:9000"
	notPEM := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600))
	d.env["AWS_CA_BUNDLE"] = notPEM
	_, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	assert.EqualError(t, err, "the CA bundle "+notPEM+" (AWS_CA_BUNDLE) holds no PEM certificate")
	assert.ErrorIs(t, err, ErrInvalidURI)

	delete(d.env, "AWS_CA_BUNDLE")
	d.env["CA_BUNDLE_CONFIGMAP_NAME"] = "cabundle"
	d.env["CA_BUNDLE_VOLUME_MOUNT_POINT"] = t.TempDir()
	missing := filepath.Join(d.env["CA_BUNDLE_VOLUME_MOUNT_POINT"], "cabundle.crt")
	_, err = d.resolver().Resolve(context.Background(), "s3://models/m")
	assert.EqualError(t, err, "Failed to find ca bundle file("+missing+").: CA_BUNDLE_CONFIGMAP_NAME names it: open "+missing+": no such file or directory")
	assert.ErrorIs(t, err, ErrNotFound)
}

// On EC2, with nothing else configured, the instance's role signs the
// requests. Instance metadata that answers with no role, or fails, is no
// credentials (botocore's NoCredentialsError), asked once rather than the
// SDK's three times, so that starting away from EC2 costs no retries.
func TestS3_InstanceMetadata(t *testing.T) {
	s3 := newStandInS3(t)
	d := s3CredsEnv(t, s3)
	delete(d.env, "AWS_EC2_METADATA_DISABLED")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	t.Setenv("AWS_MAX_ATTEMPTS", "") // the SDK's default retries, which instance metadata is not to use
	var mu sync.Mutex
	asked, failing := 0, false
	imdsServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			fmt.Fprint(w, "imds-token")
			return
		case r.Header.Get("X-Aws-Ec2-Metadata-Token") != "imds-token":
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		asked++
		fail := failing
		mu.Unlock()
		switch {
		case fail:
			w.WriteHeader(http.StatusInternalServerError)
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/":
			fmt.Fprint(w, "model-reader")
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/model-reader":
			k := awsKey{"ASIAINSTANCE", "instance-secret", "instance-session"}
			s3.allow(k)
			require.NoError(t, json.NewEncoder(w).Encode(map[string]string{"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": k.id,
				"SecretAccessKey": k.secret, "Token": k.token, "Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
				"LastUpdated": time.Now().UTC().Format(time.RFC3339)}))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer imdsServer.Close()
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imdsServer.URL)

	dir, err := d.resolver().Resolve(context.Background(), "s3://models/m")
	require.NoError(t, err)
	assert.Equal(t, []string{"model.onnx=weights"}, tree(t, dir))
	assert.Equal(t, []string{"ASIAINSTANCE", "ASIAINSTANCE"}, s3.usedKeys())

	mu.Lock()
	asked, failing = 0, true
	mu.Unlock()
	_, err = d.resolver().Resolve(context.Background(), "s3://models/m")
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "Unable to locate credentials (botocore's NoCredentialsError): "), err.Error())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, asked, "the role asked for once, not retried")
}
