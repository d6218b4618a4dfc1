package storage

// A client of the OCI distribution API, enough to pull an image: manifests,
// blobs, and Docker's token authentication with the credentials of Docker's
// config.json. It is written here rather than taken from oras-go or
// go-containerregistry because every model server links this package:
// those libraries compile about 90 KB of regular expressions (image
// references, digests) when the program starts, which stay live and are
// scanned by every garbage collection of the request path, for a download
// that most servers never make.

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Media types of image manifests and indexes: OCI's, and Docker's, which
// `docker build` with the classic builder pushes.
const (
	ociManifestType    = "application/vnd.oci.image.manifest.v1+json"
	ociIndexType       = "application/vnd.oci.image.index.v1+json"
	dockerManifestType = "application/vnd.docker.distribution.manifest.v2+json"
	dockerListType     = "application/vnd.docker.distribution.manifest.list.v2+json"
	dockerLayerType    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

// maxManifestBytes bounds a manifest or index read into memory (the limit
// registries and containerd apply).
const maxManifestBytes = 4 << 20

// ociRef is an image reference: registry/repository, a tag or a digest.
type ociRef struct {
	registry   string // as written: docker.io, ghcr.io, localhost:5000
	repository string
	tag        string
	digest     string // algorithm:hex; wins over the tag
}

func (r ociRef) String() string {
	if r.digest != "" {
		return r.registry + "/" + r.repository + "@" + r.digest
	}
	return r.registry + "/" + r.repository + ":" + r.tag
}

// reference is what the manifest is asked for by.
func (r ociRef) reference() string {
	if r.digest != "" {
		return r.digest
	}
	return r.tag
}

// host is where the registry's API answers: Docker Hub's name is not its
// API's host.
func (r ociRef) host() string {
	if r.registry == "docker.io" {
		return "registry-1.docker.io"
	}
	return r.registry
}

// parseOCI reads oci://<image reference> as `docker pull` reads an image
// name: no registry is Docker Hub's (oci://ubuntu is
// docker.io/library/ubuntu), no tag is :latest.
func parseOCI(uri string) (ociRef, error) {
	bad := func(why string) (ociRef, error) {
		return ociRef{}, newError(ErrInvalidURI, "storage uri %s: want oci://<registry>/<repository>[:<tag>|@<digest>]: %s", uri, why)
	}
	_, s, _ := strings.Cut(uri, "://") // oci://, oci+fetch://, oci+native://
	var ref ociRef
	if name, d, ok := strings.Cut(s, "@"); ok {
		if !validDigest(d) {
			return bad("the digest " + d + " is not sha256:<64 hex digits> or sha512:<128 hex digits>")
		}
		s, ref.digest = name, d
	}
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		s, ref.tag = s[:i], s[i+1:]
		if !validTag(ref.tag) {
			return bad("the tag " + ref.tag + " has characters other than letters, digits, _ . - or more than 128 of them")
		}
	}
	if ref.tag == "" {
		ref.tag = "latest"
	}
	first, rest, hasSlash := strings.Cut(s, "/")
	switch {
	case !hasSlash:
		ref.registry, ref.repository = "docker.io", "library/"+s
	case strings.ContainsAny(first, ".:") || first == "localhost":
		ref.registry, ref.repository = first, rest
	default:
		ref.registry, ref.repository = "docker.io", s
	}
	for _, part := range strings.Split(ref.repository, "/") {
		if !validPathComponent(part) {
			return bad("the repository " + ref.repository + " must be lowercase letters and digits, separated by / . _ or -")
		}
	}
	return ref, nil
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// validPathComponent: lowercase letters and digits, with . _ - between
// them (the distribution spec's grammar, loosely: repeated separators pass).
func validPathComponent(s string) bool {
	if s == "" || !isLowerAlnum(s[0]) || !isLowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func validTag(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && !('A' <= c && c <= 'Z') && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// validDigest accepts the digests this client can check: sha256 and sha512
// in lowercase hex.
func validDigest(d string) bool {
	algo, hexits, _ := strings.Cut(d, ":")
	switch {
	case algo == "sha256" && len(hexits) == 64, algo == "sha512" && len(hexits) == 128:
	default:
		return false
	}
	for i := 0; i < len(hexits); i++ {
		if c := hexits[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// verifier checks that content is the digest and size it was named by.
type verifier struct {
	want string
	size int64
	h    hash.Hash
	n    int64
}

func newVerifier(digest string, size int64) *verifier {
	v := &verifier{want: digest, size: size, h: sha256.New()}
	if strings.HasPrefix(digest, "sha512:") {
		v.h = sha512.New()
	}
	return v
}

func (v *verifier) Write(p []byte) (int, error) {
	v.n += int64(len(p))
	return v.h.Write(p)
}

func (v *verifier) digest() string {
	algo, _, _ := strings.Cut(v.want, ":")
	return algo + ":" + hex.EncodeToString(v.h.Sum(nil))
}

// check says whether what was written is the content named.
func (v *verifier) check() error {
	if v.size >= 0 && v.n != v.size {
		return fmt.Errorf("the content the registry sent does not match its descriptor (%d bytes, want %d)", v.n, v.size)
	}
	if got := v.digest(); got != v.want {
		return fmt.Errorf("the content the registry sent does not match its digest (got %s, want %s)", got, v.want)
	}
	return nil
}

// descriptor names a manifest or a blob.
type descriptor struct {
	MediaType string    `json:"mediaType"`
	Digest    string    `json:"digest"`
	Size      int64     `json:"size"`
	Platform  *platform `json:"platform,omitempty"`
}

type platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
}

// manifest is an image manifest (Layers) or an index (Manifests).
type manifest struct {
	MediaType string       `json:"mediaType"`
	Manifests []descriptor `json:"manifests"`
	Layers    []descriptor `json:"layers"`
}

// registryClient pulls from one repository of a registry.
type registryClient struct {
	r    Resolver
	ref  ociRef
	base string // <scheme>://<host>/v2/<repository>
	auth string // the Authorization header, once the registry asked for one
	cred *registryCredential
}

// registryCredential is what Docker's config.json holds for a registry.
type registryCredential struct {
	user, secret  string
	identityToken string // an OAuth2 refresh token (docker login to some registries)
}

func (r Resolver) registryClient(ref ociRef) *registryClient {
	scheme := "https"
	if isLoopback(ref.host()) {
		scheme = "http" // as Docker treats registries on 127.0.0.0/8
	}
	return &registryClient{r: r, ref: ref, base: scheme + "://" + ref.host() + "/v2/" + ref.repository}
}

// send sends a request, answering one authentication challenge: with a
// token from the registry's token service (Docker's scheme, which most
// registries use) or with Basic credentials. A 401 later (an expired
// token) is answered again.
func (c *registryClient) send(ctx context.Context, method, u string, header http.Header) (*transfer, error) {
	for attempt := 0; ; attempt++ {
		h := header.Clone()
		if h == nil {
			h = http.Header{}
		}
		if c.auth != "" {
			h.Set("Authorization", c.auth)
		}
		t, err := c.r.do(ctx, method, u, h, "")
		if err != nil || t.resp.StatusCode != http.StatusUnauthorized || attempt > 0 {
			return t, err
		}
		challenge := t.resp.Header.Get("WWW-Authenticate")
		t.close()
		if err := c.authenticate(ctx, challenge); err != nil {
			return nil, err
		}
	}
}

// statusError is a registry's answer other than the one expected.
type statusError struct {
	code int
	msg  string // the registry's error codes and messages
}

func (e *statusError) Error() string {
	if e.msg == "" {
		return fmt.Sprintf("%d %s", e.code, http.StatusText(e.code))
	}
	return fmt.Sprintf("%d %s", e.code, e.msg)
}

// registryStatus reads a registry's error body ({"errors":[{"code",
// "message"}]}).
func registryStatus(t *transfer) error {
	var body struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	b, _ := io.ReadAll(io.LimitReader(t.body, 64<<10))
	var msgs []string
	if json.Unmarshal(b, &body) == nil {
		for _, e := range body.Errors {
			msgs = append(msgs, strings.TrimSpace(e.Code+": "+e.Message))
		}
	}
	return &statusError{code: t.resp.StatusCode, msg: strings.Join(msgs, "; ")}
}

// authenticate answers a WWW-Authenticate challenge.
func (c *registryClient) authenticate(ctx context.Context, challenge string) error {
	scheme, params := parseChallenge(challenge)
	cred, err := c.credential(ctx)
	if err != nil {
		return err
	}
	switch strings.ToLower(scheme) {
	case "basic":
		if cred.user == "" {
			return &statusError{code: http.StatusUnauthorized, msg: "the registry wants a user name and password"}
		}
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cred.user+":"+cred.secret))
		return nil
	case "bearer":
		token, err := c.token(ctx, params, cred)
		if err != nil {
			return err
		}
		c.auth = "Bearer " + token
		return nil
	}
	return &statusError{code: http.StatusUnauthorized, msg: fmt.Sprintf("unsupported authentication challenge %q", challenge)}
}

// token gets a pull token for the repository from the realm the registry
// named: with the identity token (OAuth2 refresh grant), the user name and
// password (Basic), or anonymously.
func (c *registryClient) token(ctx context.Context, params map[string]string, cred registryCredential) (string, error) {
	realm, err := url.Parse(params["realm"])
	if err != nil || realm.Host == "" || realm.Scheme != "https" && realm.Scheme != "http" {
		return "", fmt.Errorf("the registry named the token service %q, which is not an http(s) URL", params["realm"])
	}
	if realm.Scheme == "http" && !strings.HasPrefix(c.base, "http://") {
		return "", fmt.Errorf("the registry named the token service %s, over plain HTTP, which would expose the credentials", realm.Redacted())
	}
	if ip, err := netip.ParseAddr(strings.Trim(realm.Hostname(), "[]")); err == nil && (ip.IsLinkLocalUnicast() || ip.IsUnspecified()) {
		return "", fmt.Errorf("the registry named the token service %s, a link-local address (a cloud metadata service)", realm.Redacted())
	}
	scope := "repository:" + c.ref.repository + ":pull"
	var t *transfer
	if cred.identityToken != "" {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {cred.identityToken}, "service": {params["service"]}, "scope": {scope}, "client_id": {"kserve-gen"}}
		t, err = c.r.post(ctx, realm.String(), form)
	} else {
		q := realm.Query()
		if s := params["service"]; s != "" {
			q.Set("service", s)
		}
		q.Set("scope", scope)
		realm.RawQuery = q.Encode()
		h := http.Header{}
		if cred.user != "" {
			h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred.user+":"+cred.secret)))
		}
		t, err = c.r.get(ctx, realm.String(), h)
	}
	if err != nil {
		return "", fmt.Errorf("asking %s for a token: %w", realm.Host, err)
	}
	defer t.close()
	if t.resp.StatusCode != http.StatusOK {
		return "", registryStatus(t)
	}
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(t.body, 1<<20)).Decode(&body); err != nil {
		return "", fmt.Errorf("reading the token from %s: %w", realm.Host, err)
	}
	if tok := firstNonEmpty(body.Token, body.AccessToken); tok != "" {
		return tok, nil
	}
	return "", fmt.Errorf("the token service %s answered no token", realm.Host)
}

// parseChallenge splits `Bearer realm="…",service="…",scope="a,b"` into
// its scheme and parameters (quoted values may hold commas).
func parseChallenge(h string) (string, map[string]string) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	params := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		key = strings.ToLower(strings.TrimSpace(key))
		var val string
		if strings.HasPrefix(after, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(after) && after[i] != '"'; i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
				}
				b.WriteByte(after[i])
			}
			val, rest = b.String(), after[min(i+1, len(after)):]
		} else {
			val, rest, _ = strings.Cut(after, ",")
			rest = "," + rest
		}
		params[key] = strings.TrimSpace(val)
		rest = strings.TrimLeft(strings.TrimSpace(rest), ",")
		rest = strings.TrimSpace(rest)
	}
	return scheme, params
}

// credential is the registry's entry in Docker's config.json: the file
// KSERVE_OCI_DOCKER_CONFIG names (what KServe's webhook mounts from the
// InferenceService's imagePullSecret), else $DOCKER_CONFIG/config.json or
// ~/.docker/config.json; a credential helper (credHelpers, credsStore) is
// run as Docker runs it. None is an anonymous pull; a file that cannot be
// read is a warning and an anonymous pull too, as a public image still
// works without it.
func (c *registryClient) credential(ctx context.Context) (registryCredential, error) {
	if c.cred != nil {
		return *c.cred, nil
	}
	c.cred = &registryCredential{}
	p := c.r.getenv(ociCredentialsEnv)
	if p == "" {
		dir := c.r.getenv("DOCKER_CONFIG")
		if dir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return *c.cred, nil
			}
			dir = filepath.Join(home, ".docker")
		}
		p = filepath.Join(dir, "config.json")
	}
	cred, err := readDockerCredential(ctx, p, c.ref.registry)
	if err != nil {
		c.r.logger().Warn(fmt.Sprintf("Cannot read registry credentials for %s (%v); pulling anonymously", c.ref.registry, err))
		return *c.cred, nil
	}
	*c.cred = cred
	return cred, nil
}

// dockerConfig is the part of Docker's config.json with credentials.
type dockerConfig struct {
	Auths map[string]struct {
		Auth          string `json:"auth"`
		Username      string `json:"username"`
		Password      string `json:"password"`
		IdentityToken string `json:"identitytoken"`
	} `json:"auths"`
	CredHelpers map[string]string `json:"credHelpers"`
	CredsStore  string            `json:"credsStore"`
}

// dockerHubKey is the key Docker keeps Docker Hub's credentials under.
const dockerHubKey = "https://index.docker.io/v1/"

func readDockerCredential(ctx context.Context, p, registry string) (registryCredential, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return registryCredential{}, nil
	}
	if err != nil {
		return registryCredential{}, err
	}
	var cfg dockerConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return registryCredential{}, fmt.Errorf("%s: %w", p, err)
	}
	key := registry
	if registry == "docker.io" {
		key = dockerHubKey
	}
	if helper := cfg.CredHelpers[key]; helper != "" {
		return runCredentialHelper(ctx, helper, key)
	}
	for k, a := range cfg.Auths {
		if authsKeyHost(k) != authsKeyHost(key) {
			continue
		}
		cred := registryCredential{user: a.Username, secret: a.Password, identityToken: a.IdentityToken}
		if a.Auth != "" {
			dec, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return registryCredential{}, fmt.Errorf("%s: auths[%q].auth is not base64: %w", p, k, err)
			}
			user, secret, ok := strings.Cut(string(dec), ":")
			if !ok {
				return registryCredential{}, fmt.Errorf("%s: auths[%q].auth is not user:password", p, k)
			}
			cred.user, cred.secret = user, secret
		}
		if cred.user != "" || cred.identityToken != "" {
			return cred, nil
		}
	}
	if cfg.CredsStore != "" {
		return runCredentialHelper(ctx, cfg.CredsStore, key)
	}
	return registryCredential{}, nil
}

// authsKeyHost is the host an auths key is for: keys may be URLs
// ("https://index.docker.io/v1/").
func authsKeyHost(k string) string {
	if k == dockerHubKey || k == "docker.io" || k == "index.docker.io" || k == "registry-1.docker.io" {
		return dockerHubKey
	}
	k = strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://")
	host, _, _ := strings.Cut(k, "/")
	return host
}

// runCredentialHelper asks docker-credential-<helper> for the server's
// credentials, as Docker does; "not found" is no credentials.
func runCredentialHelper(ctx context.Context, helper, server string) (registryCredential, error) {
	cmd := exec.CommandContext(ctx, "docker-credential-"+helper, "get")
	cmd.Stdin = strings.NewReader(server)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(string(out)+stderr.String(), "credentials not found") {
			return registryCredential{}, nil
		}
		return registryCredential{}, fmt.Errorf("docker-credential-%s get: %w %s", helper, err, strings.TrimSpace(string(out)+stderr.String()))
	}
	var c struct{ Username, Secret string }
	if err := json.Unmarshal(out, &c); err != nil {
		return registryCredential{}, fmt.Errorf("docker-credential-%s get: %w", helper, err)
	}
	if c.Username == "<token>" {
		return registryCredential{identityToken: c.Secret}, nil
	}
	return registryCredential{user: c.Username, secret: c.Secret}, nil
}

func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsLoopback()
}

var manifestAccept = strings.Join([]string{ociManifestType, ociIndexType, dockerManifestType, dockerListType}, ", ")

// resolve asks which manifest reference names now (HEAD: Docker Hub does
// not count it against its pull limit), falling back to fetching it when
// the registry does not say.
func (c *registryClient) resolve(ctx context.Context, reference string) (string, error) {
	t, err := c.send(ctx, http.MethodHead, c.base+"/manifests/"+reference, http.Header{"Accept": {manifestAccept}})
	if err != nil {
		return "", err
	}
	t.close()
	if t.resp.StatusCode == http.StatusOK {
		if d := t.resp.Header.Get("Docker-Content-Digest"); validDigest(d) {
			return d, nil
		}
	}
	_, d, err := c.manifest(ctx, reference, -1)
	return d.Digest, err
}

// manifest fetches a manifest by tag or digest and checks it against its
// digest: the one asked for, else the one the registry names, else its
// own sha256 (size -1: not known).
func (c *registryClient) manifest(ctx context.Context, reference string, size int64) (manifest, descriptor, error) {
	var m manifest
	t, err := c.send(ctx, http.MethodGet, c.base+"/manifests/"+reference, http.Header{"Accept": {manifestAccept}})
	if err != nil {
		return m, descriptor{}, err
	}
	defer t.close()
	if t.resp.StatusCode != http.StatusOK {
		return m, descriptor{}, registryStatus(t)
	}
	body, err := io.ReadAll(io.LimitReader(t.body, maxManifestBytes+1))
	if err != nil {
		return m, descriptor{}, err
	}
	if len(body) > maxManifestBytes {
		return m, descriptor{}, fmt.Errorf("the manifest is larger than %d bytes", maxManifestBytes)
	}
	want := reference
	if !validDigest(want) {
		want = t.resp.Header.Get("Docker-Content-Digest")
		if !validDigest(want) {
			sum := sha256.Sum256(body)
			want = "sha256:" + hex.EncodeToString(sum[:])
		}
	}
	v := newVerifier(want, size)
	_, _ = v.Write(body)
	if err := v.check(); err != nil {
		return m, descriptor{}, err
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return m, descriptor{}, fmt.Errorf("reading the manifest: %w", err)
	}
	mt, _, _ := mime.ParseMediaType(t.resp.Header.Get("Content-Type"))
	if m.MediaType == "" {
		m.MediaType = mt
	}
	return m, descriptor{MediaType: m.MediaType, Digest: want, Size: int64(len(body))}, nil
}

// blob GETs a blob (registries redirect to storage, which gets no
// credentials).
func (c *registryClient) blob(ctx context.Context, d descriptor) (*transfer, error) {
	t, err := c.send(ctx, http.MethodGet, c.base+"/blobs/"+d.Digest, nil)
	if err != nil {
		return nil, err
	}
	if t.resp.StatusCode != http.StatusOK {
		defer t.close()
		return nil, registryStatus(t)
	}
	return t, nil
}
