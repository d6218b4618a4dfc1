package storage

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/kserve-gen/kserve-gen/runtime/internal/capool"
)

const s3Prefix = "s3://"

// emptySHA256 is the payload hash of a request without a body.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// s3Object is the part of a ListObjectsV2 entry this needs.
type s3Object struct {
	Key  string `xml:"Key"`
	Size int64  `xml:"Size"`
	ETag string `xml:"ETag"`
}

// s3Config is where and as whom to reach S3, from KServe's environment.
type s3Config struct {
	endpoint *url.URL // scheme and host; path-style unless virtual
	virtual  bool     // bucket.host (S3_USER_VIRTUAL_BUCKET, or AWS's own endpoint)
	region   string
	// creds signs the requests, refreshed as they expire (the SDK's
	// cache); nil: unsigned (awsAnonymousCredential=true).
	creds  aws.CredentialsProvider
	source string // where the credentials come from, for messages
	imds   bool   // creds is EC2 instance metadata, the chain's last resort
	// tls is how the endpoint's certificate is checked (S3_VERIFY_SSL,
	// AWS_CA_BUNDLE); nil: against the system's roots.
	tls *tls.Config
}

// fetchS3 downloads s3://<bucket>/<path> as KServe's storage package does:
// the object named <path> itself, or every object under <path>/ with its
// folders below it (folder placeholders skipped; a single archive
// unpacked). Unlike KServe, which lists by the bare prefix and so
// takes s3://b/models/iris to include models/irises/..., only <path> and
// <path>/... are taken.
//
// Requests are signed (SigV4) with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
// / AWS_SESSION_TOKEN, else the AWS SDK's default credential chain
// (loadAWSConfig), as boto3's; unsigned with awsAnonymousCredential=true;
// no credentials at all is botocore's "Unable to locate credentials".
// AWS_ENDPOINT_URL names an S3-compatible service (MinIO, Ceph; path-style
// addressing unless S3_USER_VIRTUAL_BUCKET=true), AWS_DEFAULT_REGION (or
// AWS_REGION, or the profile's region) the region, default us-east-1;
// S3_USE_ACCELERATE=true uses <bucket>.s3-accelerate.amazonaws.com.
//
// Cached like the other downloads, revalidated by the listing's keys and
// ETags; an unreachable bucket, or credentials endpoint, serves the cached
// copy with a warning.
func (r Resolver) fetchS3(ctx context.Context, uri string) (string, error) {
	bucket, objectPath, _ := strings.Cut(strings.TrimPrefix(uri, s3Prefix), "/")
	if bucket == "" {
		return "", newError(ErrInvalidURI, "storage uri %s: want s3://<bucket>/<path>", uri)
	}
	cfg, err := r.s3Config(ctx, bucket)
	if err != nil {
		return "", err
	}
	if cfg.tls != nil {
		r.Client = r.withTransport(func(rt http.RoundTripper) http.RoundTripper {
			t, ok := rt.(*http.Transport)
			if !ok {
				return rt // a caller's own transport decides what it trusts
			}
			t = t.Clone()
			t.TLSClientConfig = cfg.tls
			return t
		})
	}
	if cfg.creds != nil {
		r.Client = r.withTransport(func(rt http.RoundTripper) http.RoundTripper {
			return &sigV4Transport{base: rt, origin: &url.URL{Scheme: cfg.endpoint.Scheme, Host: cfg.host(bucket)}, creds: cfg.creds, source: cfg.source,
				region: cfg.region, signer: v4.NewSigner()}
		})
	}
	sel, err := r.selection()
	if err != nil {
		return "", err
	}
	snap := &snapshot{uri: uri, source: uri + " endpoint=" + cfg.endpoint.String() + sel.source(), name: bucket + "--" + path.Base("/"+objectPath),
		where: "the bucket", what: "listing", unpackSingle: true}
	if err := cfg.signIn(ctx); err != nil {
		if !errors.Is(err, ErrDownload) || r.openSnapshot(snap) != nil {
			return "", err
		}
		return r.cannotAsk(ctx, snap, fmt.Sprintf("Cannot get AWS credentials from %s for %s", cfg.source, uri), err)
	}
	if err := r.openSnapshot(snap); err != nil {
		return "", err
	}
	objects, err := r.s3List(ctx, cfg, bucket, objectPath, uri)
	if err != nil {
		return r.listFailed(ctx, snap, err)
	}
	folder := objectPath
	if folder != "" && !strings.HasSuffix(folder, "/") {
		folder += "/"
	}
	var files []remoteFile
	var versions []string
	listed := 0 // before the patterns
	folders := folderNames(objects, func(o s3Object) string { return o.Key })
	for _, o := range objects {
		if strings.HasSuffix(o.Key, "/") || (o.Size == 0 && folders[o.Key]) {
			continue // a folder placeholder (KServe skips those ending in "/"; an empty file it downloads)
		}
		rel := ""
		switch {
		case o.Key == objectPath:
			rel = path.Base(o.Key)
		case strings.HasPrefix(o.Key, folder):
			rel = strings.TrimPrefix(o.Key, folder)
		default:
			continue // models/irises/... for s3://b/models/iris
		}
		listed++
		if !sel.keep(rel) {
			continue
		}
		files = append(files, remoteFile{url: cfg.objectURL(bucket, o.Key), rel: rel, version: o.ETag, size: o.Size})
		versions = append(versions, o.Key+"#"+o.ETag)
		if o.Key == objectPath {
			files, versions = files[len(files)-1:], versions[len(versions)-1:] // the object itself, as KServe
			break
		}
	}
	if len(files) == 0 {
		// KServe names only the path; the URI, the endpoint and the
		// patterns say which of them to check.
		if listed > 0 {
			return "", newError(ErrNotFound, "Failed to fetch model. No model found in %s: STORAGE_ALLOW_PATTERNS %q and STORAGE_IGNORE_PATTERNS %q leave none of its %s.",
				uri, sel.allow, sel.ignore, count(listed, "object"))
		}
		if objectPath == "" {
			return "", newError(ErrNotFound, "Failed to fetch model. No model found in %s: %s has no object.", uri, cfg.bucketURL(bucket))
		}
		return "", newError(ErrNotFound, "Failed to fetch model. No model found in %s: %s has no object %s, nor any under %s.",
			uri, cfg.bucketURL(bucket), objectPath, folder)
	}
	return r.downloadSnapshot(ctx, snap, listingVersion(versions), files, nil)
}

// s3Config reads KServe's S3 environment and the AWS SDK's configuration
// for bucket.
func (r Resolver) s3Config(ctx context.Context, bucket string) (s3Config, error) {
	var cfg s3Config
	tlsConfig, err := r.s3TLS()
	if err != nil {
		return cfg, err
	}
	cfg.tls = tlsConfig
	sdk, err := r.loadAWSConfig(ctx)
	if err != nil {
		return cfg, err
	}
	cfg.region = sdk.region
	raw, endpointVar := r.getenv("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL"
	if host := r.getenv("S3_ENDPOINT"); raw == "" && host != "" {
		// KServe's controller turns the s3-endpoint of a secret or
		// service account into S3_ENDPOINT and, for its storage package
		// (which reads only AWS_ENDPOINT_URL), AWS_ENDPOINT_URL:
		// https://<S3_ENDPOINT>, http:// when S3_USE_HTTPS is "0". A
		// shell with only KServe's S3_ENDPOINT set means that endpoint
		// too, not AWS.
		raw, endpointVar = "https://"+host, "S3_ENDPOINT"
		if r.getenv("S3_USE_HTTPS") == "0" {
			raw = "http://" + host
		}
	}
	// KServe's S3_USE_ACCELERATE is botocore's use_accelerate_endpoint,
	// which S3's endpoint rules (botocore's, the SDKs') refuse with a
	// custom endpoint and with a bucket that cannot be a host name's
	// label.
	accelerate := strings.EqualFold(r.getenv("S3_USE_ACCELERATE"), "true")
	switch {
	case accelerate && raw != "":
		return cfg, newError(ErrInvalidURI, "S3_USE_ACCELERATE=true with %s %s: A custom endpoint cannot be combined with S3 Accelerate", endpointVar, raw)
	case accelerate && strings.Contains(bucket, "."):
		return cfg, newError(ErrInvalidURI, "S3_USE_ACCELERATE=true with the bucket %s: Path-style addressing cannot be used with S3 Accelerate (a bucket name with a dot)", bucket)
	case accelerate:
		raw = "https://s3-accelerate.amazonaws.com"
		cfg.virtual = true
	case raw == "":
		raw = "https://s3." + cfg.region + ".amazonaws.com"
		cfg.virtual = true
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return cfg, newError(ErrInvalidURI, "%s %q: want a URL such as http://minio:9000", endpointVar, raw)
	}
	cfg.endpoint = &url.URL{Scheme: u.Scheme, Host: u.Host}
	if strings.EqualFold(r.getenv("S3_USER_VIRTUAL_BUCKET"), "true") {
		cfg.virtual = true
	}
	if raw == "https://s3.amazonaws.com" && cfg.region != "us-east-1" {
		// KServe's get_S3_config: AWS's legacy global endpoint with a
		// bucket outside us-east-1 answers a path-style request with a
		// PermanentRedirect; the bucket's own host name routes to its
		// region.
		cfg.virtual = true
	}
	// As whom: unsigned with awsAnonymousCredential=true (KServe's
	// UNSIGNED config); else the static keys of AWS_ACCESS_KEY_ID /
	// AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), first in botocore's
	// chain as in the SDK's; else the rest of the SDK's chain.
	switch id, secret := r.getenv("AWS_ACCESS_KEY_ID"), r.getenv("AWS_SECRET_ACCESS_KEY"); {
	case strings.EqualFold(r.getenv("awsAnonymousCredential"), "true"):
	case id != "" && secret != "":
		cfg.creds, cfg.source = credentials.NewStaticCredentialsProvider(id, secret, r.getenv("AWS_SESSION_TOKEN")), "AWS_ACCESS_KEY_ID"
	default:
		cfg.creds, cfg.source, cfg.imds = sdk.creds, sdk.source, sdk.imds
	}
	return cfg, nil
}

// s3TLS is how KServe's storage package checks the endpoint's certificate:
// not at all when S3_VERIFY_SSL is "0" or "false" (a MinIO with a
// self-signed certificate); else against the CA bundle AWS_CA_BUNDLE names,
// or, on a cluster with a CA bundle config map (CA_BUNDLE_CONFIGMAP_NAME),
// the cabundle.crt mounted at CA_BUNDLE_VOLUME_MOUNT_POINT; else nil, the
// system's roots. Like botocore's verify=<file>, a bundle replaces the
// system's roots rather than adding to them, so what works here works in
// the storage-initializer too.
func (r Resolver) s3TLS() (*tls.Config, error) {
	if v := strings.ToLower(r.getenv("S3_VERIFY_SSL")); v == "0" || v == "false" {
		r.logger().Warn("S3_VERIFY_SSL=" + r.getenv("S3_VERIFY_SSL") + ": the S3 endpoint's certificate is not checked")
		return &tls.Config{InsecureSkipVerify: true}, nil // #nosec G402 -- the user asked, as KServe lets them
	}
	file, from := r.getenv("AWS_CA_BUNDLE"), "AWS_CA_BUNDLE"
	if file == "" && r.getenv("CA_BUNDLE_CONFIGMAP_NAME") != "" {
		file, from = filepath.Join(r.getenv("CA_BUNDLE_VOLUME_MOUNT_POINT"), "cabundle.crt"), "CA_BUNDLE_CONFIGMAP_NAME"
	}
	if file == "" {
		return nil, nil
	}
	pool, err := capool.Load(file)
	if errors.Is(err, capool.ErrNoCertificate) {
		return nil, newError(ErrInvalidURI, "the CA bundle %s (%s) holds no PEM certificate", file, from)
	}
	if err != nil {
		// KServe's message, then which setting named the file.
		return nil, newError(ErrNotFound, "Failed to find ca bundle file(%s).: %s names it: %v", file, from, err)
	}
	r.logger().Info(fmt.Sprintf("ca bundle file(%s) exists.", file))
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// hint says what to set when err is the endpoint failing: its certificate
// failing the check (a private CA — MinIO, Ceph, an on-premises proxy — is
// the usual cause, and the x509 message alone names neither setting), or
// nothing answering at it (a typo in the endpoint, or none set, so the
// requests went to AWS; the dial error names an address, not a setting).
func (c s3Config) hint(err error) string {
	var verify *tls.CertificateVerificationError
	if errors.As(err, &verify) {
		return "; set AWS_CA_BUNDLE to the file of the CA that signed " + c.endpoint.String() + "'s certificate, or S3_VERIFY_SSL=0 not to check it"
	}
	var dns *net.DNSError
	var op *net.OpError
	if errors.As(err, &dns) || errors.As(err, &op) && op.Op == "dial" {
		return "; nothing answered at the S3 endpoint " + c.endpoint.String() + ": AWS_ENDPOINT_URL (or KServe's S3_ENDPOINT with S3_USE_HTTPS) sets it"
	}
	return ""
}

// host is the host requests for bucket go to.
func (c s3Config) host(bucket string) string {
	if c.virtual {
		return bucket + "." + c.endpoint.Host
	}
	return c.endpoint.Host
}

// bucketURL is the bucket's root URL, path-style or virtual-hosted.
func (c s3Config) bucketURL(bucket string) string {
	if c.virtual {
		return c.endpoint.Scheme + "://" + bucket + "." + c.endpoint.Host
	}
	return c.endpoint.Scheme + "://" + c.endpoint.Host + "/" + url.PathEscape(bucket)
}

// objectURL is the URL of key, each path segment escaped.
func (c s3Config) objectURL(bucket, key string) string {
	segments := strings.Split(key, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	return c.bucketURL(bucket) + "/" + strings.Join(segments, "/")
}

// s3List lists every object whose key starts with prefix (ListObjectsV2,
// following continuation tokens).
func (r Resolver) s3List(ctx context.Context, cfg s3Config, bucket, prefix, uri string) ([]s3Object, error) {
	var all []s3Object
	token := ""
	seen := pageTokens{}
	for {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}}
		if r.listPageSize > 0 {
			q.Set("max-keys", strconv.Itoa(r.listPageSize))
		}
		if token != "" {
			q.Set("continuation-token", token)
		}
		t, err := r.get(ctx, cfg.bucketURL(bucket)+"/?"+q.Encode(), nil)
		if err != nil {
			return nil, newError(ErrDownload, "listing %s: %v%s", uri, err, cfg.hint(err))
		}
		var page struct {
			Contents              []s3Object `xml:"Contents"`
			IsTruncated           bool       `xml:"IsTruncated"`
			NextContinuationToken string     `xml:"NextContinuationToken"`
		}
		err = r.s3Decode(ctx, t, cfg, uri, &page)
		t.close()
		if err != nil {
			return nil, err
		}
		all = append(all, page.Contents...)
		if !page.IsTruncated || page.NextContinuationToken == "" {
			return all, nil
		}
		token = page.NextContinuationToken
		if err := seen.follow(uri, token); err != nil {
			return nil, err
		}
	}
}

// s3Decode reads a listing answer into v, or the S3 error it is.
func (r Resolver) s3Decode(ctx context.Context, t *transfer, cfg s3Config, uri string, v any) error {
	body, err := io.ReadAll(io.LimitReader(t.body, 64<<20))
	if err != nil {
		return t.readError(ctx, uri, err)
	}
	if t.resp.StatusCode == http.StatusOK {
		if err := xml.Unmarshal(body, v); err != nil {
			return newError(ErrDownload, "%s: the bucket's listing: %v", uri, err)
		}
		return nil
	}
	var e struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	_ = xml.Unmarshal(body, &e)
	detail := strings.TrimSpace(e.Code + ": " + e.Message)
	if e.Code == "" {
		detail = strings.TrimSpace(string(body))
	}
	switch code := t.resp.StatusCode; {
	case code == http.StatusMovedPermanently || e.Code == "PermanentRedirect" || e.Code == "AuthorizationHeaderMalformed":
		return newError(ErrNotFound, "%s: the bucket answered %d (%s): it is in another region than %s; set AWS_DEFAULT_REGION", uri, code, detail, cfg.region)
	case code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusNotFound:
		hint := "no such bucket, or it is not public and awsAnonymousCredential=true reads it unsigned: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, instead"
		if cfg.creds != nil {
			hint = "no such bucket, or the credentials from " + cfg.source + " may not read it"
		}
		return newError(ErrNotFound, "%s: the bucket answered %d (%s): %s", uri, code, hint, detail)
	default:
		return newError(ErrDownload, "%s: the bucket answered %d: %s", uri, code, detail)
	}
}

// sigV4Transport signs requests to origin (scheme and host) with AWS
// Signature Version 4; others (a redirect elsewhere, or to plain http) go
// unsigned.
type sigV4Transport struct {
	base   http.RoundTripper
	origin *url.URL
	creds  aws.CredentialsProvider // asked for each request: it refreshes what expires during a long download
	source string                  // names creds, for its errors
	region string
	signer *v4.Signer
}

func (t *sigV4Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if leavesOrigin(t.origin, req.URL) {
		return t.base.RoundTrip(req)
	}
	creds, err := t.creds.Retrieve(req.Context())
	if err != nil {
		return nil, awsCredentialsError(t.source, err)
	}
	req = req.Clone(req.Context())
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	if err := t.signer.SignHTTP(req.Context(), creds, req, emptySHA256, "s3", t.region, time.Now()); err != nil {
		return nil, fmt.Errorf("signing the S3 request: %w", err)
	}
	return t.base.RoundTrip(req)
}
