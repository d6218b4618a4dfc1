package storage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"
)

// azureVersion is the Blob service REST version the requests ask for.
const azureVersion = "2021-08-06"

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
// does: every non-empty blob whose name is <path> or lies under <path>/,
// with its folders below it (one archive unpacked). Unlike KServe, which
// lists by the bare prefix, models/iris does not take models/irises/... too.
//
// Credentials: a shared access signature in the URI's query, else
// AZURE_STORAGE_ACCESS_KEY (the account key; requests signed with Shared
// Key), else anonymous (a public container) with KServe's warning. Service
// principals (AZ_CLIENT_ID, AZURE_CLIENT_ID, ...) are not used here: on a
// cluster the storage-initializer downloads Azure models. Cached and
// revalidated by the listing's names and ETags.
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
	switch {
	case t.sas != nil:
	case key != "":
		secret, err := base64.StdEncoding.DecodeString(key)
		if err != nil {
			return "", newError(ErrInvalidURI, "AZURE_STORAGE_ACCESS_KEY: not a base64 account key: %v", err)
		}
		origin := originOf(t.base)
		r.Client = r.withTransport(func(rt http.RoundTripper) http.RoundTripper {
			return &sharedKeyTransport{base: rt, origin: origin, account: t.account, key: secret}
		})
	case r.azureServicePrincipal() != "":
		// KServe signs in as the service principal; this server does not,
		// and saying only "not found" sent users checking variables they
		// had set.
		r.logger().Warn(fmt.Sprintf("Azure credentials or shared access signature token not found, retrying anonymous access: %s is set, but the Go server does not sign in as a service principal (the storage-initializer does, on a cluster); %s",
			r.azureServicePrincipal(), azureCredentialsHint))
	default:
		r.logger().Warn("Azure credentials or shared access signature token not found, retrying anonymous access")
	}
	snap := &snapshot{uri: shown, source: cacheSource(u) + sel.source(), name: t.account + "--" + t.container + "--" + path.Base("/"+t.prefix),
		where: "the container", what: "listing", unpackSingle: true}
	if err := r.openSnapshot(snap); err != nil {
		return "", err
	}
	blobs, err := r.azureList(ctx, t, shown)
	if err != nil {
		return r.listFailed(ctx, snap, err)
	}
	var files []remoteFile
	var versions []string
	for _, b := range blobs {
		rel := ""
		switch {
		case b.Properties.Length == 0:
			continue // empty, as KServe skips
		case b.Name == t.prefix:
			rel = path.Base(b.Name)
		case t.prefix == "" || strings.HasPrefix(b.Name, t.prefix+"/"):
			rel = strings.TrimPrefix(strings.TrimPrefix(b.Name, t.prefix), "/")
		default:
			continue
		}
		if !sel.keep(rel) {
			continue
		}
		files = append(files, remoteFile{url: t.blobURL(b.Name), rel: rel, version: b.Properties.ETag, size: b.Properties.Length})
		versions = append(versions, b.Name+"#"+b.Properties.ETag)
	}
	if len(files) == 0 {
		return "", newError(ErrNotFound, "Failed to fetch model. No model found in %s.", shown)
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
// (List Blobs, following markers).
func (r Resolver) azureList(ctx context.Context, t azureTarget, shown string) ([]azureBlob, error) {
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
			return nil, azureError(shown, code, body, t.sas != nil || r.getenv("AZURE_STORAGE_ACCESS_KEY") != "", r.azureServicePrincipal())
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
const azureCredentialsHint = "add a shared access signature to the URI, or set AZURE_STORAGE_ACCESS_KEY"

// azureServicePrincipal names the service principal variable set
// (KServe's AZ_CLIENT_ID, or azure-identity's AZURE_CLIENT_ID), if any.
func (r Resolver) azureServicePrincipal() string {
	for _, k := range []string{"AZURE_CLIENT_ID", "AZ_CLIENT_ID"} {
		if r.getenv(k) != "" {
			return k
		}
	}
	return ""
}

// azureError turns an error answer into an error naming what to set;
// principal is the service principal variable set, if any (not used here).
func azureError(shown string, code int, body []byte, authed bool, principal string) error {
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
		hint := "no such container, or it is not public: " + azureCredentialsHint
		if principal != "" && !authed {
			hint += " (" + principal + ", a service principal, is not used here)"
		}
		if authed {
			hint = "no such container, or the signature or key may not read it"
		}
		return newError(ErrNotFound, "%s: the container answered %d (%s): %s", shown, code, hint, detail)
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
