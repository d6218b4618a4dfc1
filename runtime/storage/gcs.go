package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

const (
	gcsPrefix = "gs://"
	// DefaultGCSEndpoint is Google Cloud Storage's JSON API;
	// STORAGE_EMULATOR_HOST replaces it, as Google's client libraries do.
	DefaultGCSEndpoint = "https://storage.googleapis.com"
	gcsReadScope       = "https://www.googleapis.com/auth/devstorage.read_only"
)

// gcsObject is the part of an object's metadata this needs.
type gcsObject struct {
	Name       string `json:"name"`
	Generation string `json:"generation"`
	Size       string `json:"size"`
}

// size is the object's size, 0 when the listing has none (the JSON API
// sends it as a string).
func (o gcsObject) size() int64 {
	n, _ := strconv.ParseInt(o.Size, 10, 64)
	return n
}

// fetchGCS downloads gs://<bucket>/<path> as KServe's storage package does:
// every object under <path>/ with its folders below <path>, or, when there
// is none, the object named <path> itself (unpacked when it is an archive).
// Credentials are Application Default Credentials when there are any
// (GOOGLE_APPLICATION_CREDENTIALS, gcloud's application_default
// credentials file, or on GCE and GKE the metadata server's service
// account), else anonymous, which reads public buckets such as KServe's
// examples.
//
// Cached like the other downloads: a restart lists the objects again and
// downloads only when a name or a generation changed; an unreachable
// bucket, or token endpoint, serves the cached copy with a warning.
func (r Resolver) fetchGCS(ctx context.Context, uri string) (string, error) {
	bucket, objectPath, _ := strings.Cut(strings.TrimPrefix(uri, gcsPrefix), "/")
	if bucket == "" {
		return "", newError(ErrInvalidURI, "storage uri %s: want gs://<bucket>/<path>", uri)
	}
	endpoint := DefaultGCSEndpoint
	if host := r.getenv("STORAGE_EMULATOR_HOST"); host != "" {
		endpoint = host
		if !strings.Contains(host, "://") {
			endpoint = "http://" + host
		}
	}
	endpoint = strings.TrimRight(endpoint, "/")
	sel, err := r.selection()
	if err != nil {
		return "", err
	}
	snap := &snapshot{uri: uri, source: uri + sel.source(), name: bucket + "--" + path.Base("/"+objectPath), where: "the bucket", what: "listing", unpackSingle: true}
	signIn, err := r.gcsCredentials(ctx)
	if err != nil {
		return r.signInFailed(ctx, snap, err)
	}
	var header http.Header // none: the token rides on the transport
	authed := signIn != nil
	if authed {
		// Each request to the storage host gets a current token, so a
		// download longer than the token's hour goes on; redirects
		// elsewhere get none.
		origin := originOf(endpoint)
		r.Client = r.withTransport(func(rt http.RoundTripper) http.RoundTripper {
			return &bearerTransport{base: rt, origin: origin, source: signIn.source}
		})
	}
	if err := r.openSnapshot(snap); err != nil {
		return "", err
	}

	base := endpoint + "/storage/v1/b/" + url.PathEscape(bucket) + "/o"
	prefix := objectPath
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	objects, err := r.gcsList(ctx, base, prefix, uri, authed)
	if err != nil {
		return r.tokenFailed(ctx, snap, err)
	}
	var files []remoteFile
	var versions []string
	listed := 0 // before the patterns
	folders := folderNames(objects, func(o gcsObject) string { return o.Name })
	for _, o := range objects {
		rel := strings.TrimPrefix(o.Name, prefix)
		if rel == "" || strings.HasSuffix(rel, "/") || (o.Size == "0" && folders[o.Name]) {
			continue // a folder placeholder (KServe skips those ending in "/"; empty objects it downloads)
		}
		listed++
		if !sel.keep(rel) {
			continue
		}
		files = append(files, remoteFile{url: base + "/" + url.PathEscape(o.Name) + "?alt=media", rel: rel, version: o.Generation, size: o.size()})
		versions = append(versions, o.Name+"#"+o.Generation)
	}
	single := objectPath != "" && !strings.HasSuffix(objectPath, "/")
	if len(files) == 0 && single {
		// No folder of that name: the object itself.
		o, found, err := r.gcsObject(ctx, base, objectPath, uri, authed)
		if err != nil {
			return r.tokenFailed(ctx, snap, err)
		}
		if found {
			listed++
			if sel.keep(path.Base(o.Name)) {
				files = append(files, remoteFile{url: base + "/" + url.PathEscape(o.Name) + "?alt=media", rel: path.Base(o.Name), version: o.Generation, size: o.size()})
				versions = append(versions, o.Name+"#"+o.Generation)
			}
		}
	}
	if len(files) == 0 {
		// KServe names only the URI; the rest says which of the bucket,
		// the path and the patterns to check.
		switch {
		case listed > 0:
			return "", newError(ErrNotFound, "Failed to fetch model. No model found in %s: STORAGE_ALLOW_PATTERNS %q and STORAGE_IGNORE_PATTERNS %q leave none of its %s.",
				uri, sel.allow, sel.ignore, count(listed, "object"))
		case objectPath == "":
			return "", newError(ErrNotFound, "Failed to fetch model. No model found in %s: bucket %s has no object.", uri, bucket)
		case !single:
			return "", newError(ErrNotFound, "Failed to fetch model. No model found in %s: bucket %s has no object under %s.", uri, bucket, prefix)
		}
		return "", newError(ErrNotFound, "Failed to fetch model. No model found in %s: bucket %s has no object %s, nor any under %s.", uri, bucket, objectPath, prefix)
	}
	return r.downloadSnapshot(ctx, snap, listingVersion(versions), files, header)
}

// gcsSignIn is the credentials a token comes from, for messages.
type gcsSignIn struct {
	from   string // GOOGLE_APPLICATION_CREDENTIALS, gcloud's file, or the metadata server
	file   string // the file, or the metadata server's host
	email  string // the service account's, if the file is a key
	source oauth2.TokenSource
}

// String names the credentials: `as <service account> with
// GOOGLE_APPLICATION_CREDENTIALS (<file>)`.
func (s *gcsSignIn) String() string {
	as := ""
	if s.email != "" {
		as = "as " + s.email + " "
	}
	return fmt.Sprintf("%swith %s (%s)", as, s.from, s.file)
}

// tokenError says why no token came, on one line: for a refusal, the
// status, Google's error code and description (tokenAnswer); else the
// error, its lines joined (the oauth2 packages flatten other answers into
// text, some over several lines).
func (s *gcsSignIn) tokenError(err error) error {
	if answer, ok := gceAnswer(err); ok {
		return newError(ErrDownload, "getting a Google access token %s: %s", s, answer)
	}
	if answer, ok := tokenAnswer(err); ok {
		return newError(ErrDownload, "getting a Google access token %s: %s", s, answer)
	}
	return newError(ErrDownload, "getting a Google access token %s: %s", s, strings.Join(strings.Fields(unwrapURLError(err).Error()), " "))
}

// gcsCredentials returns the Application Default Credentials to sign in
// with, in google.auth.default()'s order: GOOGLE_APPLICATION_CREDENTIALS,
// gcloud's application default credentials, the metadata server's service
// account on GCE or GKE (onGCE, which makes no request elsewhere); or nil
// (anonymous) when there are none, as KServe falls back to an anonymous
// client.
func (r Resolver) gcsCredentials(ctx context.Context) (*gcsSignIn, error) {
	file := r.getenv("GOOGLE_APPLICATION_CREDENTIALS")
	source := "GOOGLE_APPLICATION_CREDENTIALS"
	if file == "" {
		dir := r.getenv("CLOUDSDK_CONFIG")
		if dir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, nil
			}
			dir = filepath.Join(home, ".config", "gcloud")
		}
		file = filepath.Join(dir, "application_default_credentials.json")
		source = "gcloud's application default credentials"
		if _, err := os.Stat(file); err != nil {
			if r.onGCE() {
				return r.gceSignIn(ctx)
			}
			r.logger().Info("No Google credentials found; reading the bucket anonymously")
			return nil, nil
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, newError(ErrInvalidURI, "%s: %v", source, err)
	}
	// Token requests go through the resolver's client (a proxy, a test's
	// stand-in token endpoint), and outlive this call's context.
	probe, client := r.tokenClient()
	tokenCtx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, client)
	creds, err := google.CredentialsFromJSONWithType(tokenCtx, data, credentialsType(data), gcsReadScope)
	if err != nil {
		return nil, newError(ErrInvalidURI, "%s (%s): %v", source, file, err)
	}
	s := &gcsSignIn{from: source, file: file, email: clientEmail(data)}
	s.source = &probedTokens{probe: probe, source: creds.TokenSource, describe: s.tokenError}
	// Fetched now, so bad credentials are one clear error before any
	// listing; an unreachable token endpoint is one the cache may outlast.
	if _, err := s.source.Token(); err != nil {
		return nil, err
	}
	return s, nil
}

// clientEmail is the service account a key file is for, "" for other
// credentials (gcloud's user credentials have none).
func clientEmail(data []byte) string {
	var f struct {
		ClientEmail string `json:"client_email"`
	}
	_ = json.Unmarshal(data, &f)
	return f.ClientEmail
}

// credentialsType is the "type" of a credentials file, for the typed (and
// so checked) constructor.
func credentialsType(data []byte) google.CredentialsType {
	var f struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(data, &f)
	return google.CredentialsType(f.Type)
}

// gcsList lists every object whose name starts with prefix.
func (r Resolver) gcsList(ctx context.Context, base, prefix, uri string, authed bool) ([]gcsObject, error) {
	var all []gcsObject
	page := ""
	seen := pageTokens{}
	for {
		q := url.Values{"prefix": {prefix}, "fields": {"items(name,generation,size),nextPageToken"}}
		if page != "" {
			q.Set("pageToken", page)
		}
		var list struct {
			Items         []gcsObject `json:"items"`
			NextPageToken string      `json:"nextPageToken"`
		}
		if _, err := r.gcsGet(ctx, base+"?"+q.Encode(), uri, authed, &list); err != nil {
			return nil, err
		}
		all = append(all, list.Items...)
		if list.NextPageToken == "" {
			return all, nil
		}
		page = list.NextPageToken
		if err := seen.follow(uri, page); err != nil {
			return nil, err
		}
	}
}

// gcsObject reads one object's metadata; found is false for a 404.
func (r Resolver) gcsObject(ctx context.Context, base, name, uri string, authed bool) (o gcsObject, found bool, err error) {
	code, err := r.gcsGet(ctx, base+"/"+url.PathEscape(name), uri, authed, &o)
	if code == http.StatusNotFound {
		return gcsObject{}, false, nil
	}
	return o, err == nil, err
}

// gcsGet GETs a JSON API document into v, returning the status code too.
func (r Resolver) gcsGet(ctx context.Context, u, uri string, authed bool, v any) (int, error) {
	t, err := r.get(ctx, u, nil)
	if err != nil {
		if errors.As(err, new(*tokenFailure)) {
			return 0, err // its own kind: a refused token is no unreachable bucket
		}
		return 0, newError(ErrDownload, "listing %s: %v", uri, err)
	}
	defer t.close()
	switch code := t.resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusNotFound:
		hint := "no such bucket, or it is not public: set GOOGLE_APPLICATION_CREDENTIALS, or run gcloud auth application-default login"
		if authed {
			hint = "no such bucket, or the credentials may not read it"
		}
		return code, newError(ErrNotFound, "%s: the bucket answered %d (%s): %s", uri, code, hint, gcsMessage(t.body))
	default:
		return code, newError(ErrDownload, "%s: the bucket answered %d: %s", uri, code, gcsMessage(t.body))
	}
	if err := json.NewDecoder(io.LimitReader(t.body, 64<<20)).Decode(v); err != nil {
		return http.StatusOK, t.readError(ctx, uri, fmt.Errorf("the bucket's listing: %w", err))
	}
	return http.StatusOK, nil
}

// gcsMessage is the message of a JSON API error body, or its start.
func gcsMessage(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 4096))
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	return strings.TrimSpace(string(b))
}
