package deploy

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
)

// The storage URI is checked against what KServe v0.16 does with it. The
// controller (isvcutils.ValidateStorageURI) passes any URI without a
// scheme and those with a prefix of SupportedStorageURIPrefixList, or one
// a ClusterStorageContainer claims; its webhook then runs the storage
// initializer (kserve_storage.py's Storage.download) on every URI but a
// pvc:// or oci:// one, in a container of its own that has the pod's
// /mnt/models alone, and rewrites the server's STORAGE_URI to
// /mnt/models. So a kserve-gen server never resolves the URI itself on a
// cluster: what the initializer refuses fails the pod, in its init
// container, long after kubectl apply.

// modelsRoot is where the storage initializer puts the model
// (constants.DefaultModelLocalMountPath).
const modelsRoot = "/mnt/models"

// storageURIForms are the URIs KServe's storage initializer downloads.
const storageURIForms = "gs://BUCKET[/PATH], s3://BUCKET[/PATH], pvc://CLAIM[/PATH], hf://ORG/REPO[:REVISION], " +
	"http(s)://HOST/PATH/FILE (Azure Blob and File URLs too), hdfs://PATH, webhdfs://PATH, oci://IMAGE (a modelcar), or a path under " + modelsRoot

// storageSchemes are the schemes kserve-gen knows a storage URI by: KServe's
// storage initializer's, and oci+fetch:// and oci+native://, KServe's newer
// spellings of a modelcar, which the kserve-gen server downloads too.
var storageSchemes = []string{"gs", "s3", "pvc", "hf", "http", "https", "hdfs", "webhdfs", "file", "oci", "oci+fetch", "oci+native"}

// uriScheme is RFC 3986's scheme: what precedes "://" in a URI.
var uriScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// azureURL matches the Azure Blob and File URLs the storage initializer
// downloads with Azure's client (_AZURE_BLOB_RE, _AZURE_FILE_RE), which
// name a folder as well as a file.
var azureURL = regexp.MustCompile(`^https://(.+?)\.(blob|file)\.core\.windows\.net/(.+)|^https://(.+?)\.z[0-9]{1,2}\.(blob|file)\.storage\.azure\.net/(.+)`)

// validateStorageURI refuses a storage URI KServe's storage initializer
// cannot download. setting names where it came from (o.setting). A scheme
// it does not know is left to storageURIWarning: a cluster may add one
// with a ClusterStorageContainer.
func validateStorageURI(setting, uri string) error {
	if uri == "" {
		return nil
	}
	if strings.TrimSpace(uri) != uri {
		return fmt.Errorf(`%s %q: spaces around the URI, which KServe's storage initializer keeps (it fails with "Cannot recognize storage type"); drop them`, setting, uri)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s %s: "+format, append([]any{setting, uri}, args...)...)
	}
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok || !uriScheme.MatchString(scheme) {
		if !strings.HasPrefix(uri, "/") {
			return bad("not a URI KServe's storage initializer can download: no scheme, and not an absolute path; give %s", storageURIForms)
		}
		return validateLocalPath(bad, uri)
	}
	switch scheme {
	case "gs", "s3":
		// The bucket is the host (kserve_storage's _download_gcs splits at
		// the first '/', _download_s3 takes urlparse's netloc).
		if bucket, _, _ := strings.Cut(rest, "/"); bucket == "" {
			return bad("no bucket: want %s://BUCKET[/PATH]", scheme)
		}
	case "pvc":
		// The webhook mounts the claim (utils.ParsePvcURI: the part up to
		// the first '/'); the API server refuses the pod for a bad name.
		claim, _, _ := strings.Cut(rest, "/")
		if claim == "" {
			return bad("no claim name: want pvc://CLAIM[/PATH], a PersistentVolumeClaim in the InferenceService's namespace")
		}
		if err := validateSubdomain(claim, "a claim's name"); err != nil {
			return bad("%w", err)
		}
	case "hf":
		// _download_hf: exactly one '/', neither side empty, and a model
		// name before an optional :revision.
		org, repo, _ := strings.Cut(rest, "/")
		if model, _, _ := strings.Cut(repo, ":"); org == "" || model == "" || strings.Contains(repo, "/") {
			return bad("want hf://ORG/REPO[:REVISION], exactly one '/' between the organization and the repository (KServe's storage initializer downloads the whole repository)")
		}
	case "http", "https":
		u, err := url.Parse(uri)
		if err != nil {
			return bad("not a URL: %w", err)
		}
		if u.Host == "" {
			return bad("no host: want http(s)://HOST/PATH/FILE")
		}
		// _download_from_uri saves the file under the path's last
		// element, and raises "No filename contained in URI" without one.
		if !azureURL.MatchString(uri) && (u.Path == "" || strings.HasSuffix(u.Path, "/")) {
			return bad("no file name: KServe's storage initializer downloads one file from an http(s) URL (and unpacks a .tar, .tar.gz, .tgz or .zip archive), so the path must end in it: want http(s)://HOST/PATH/FILE")
		}
	case "hdfs", "webhdfs":
		if rest == "" {
			return bad("no path: want %s://PATH", scheme)
		}
	case "file":
		// _download_local strips file:// and copies the path, which has to
		// exist in the initializer's container.
		return validateLocalPath(bad, rest)
	case "oci", "oci+fetch", "oci+native":
		return validateModelcarURI(setting, uri)
	default:
		if lower := strings.ToLower(scheme); slices.Contains(storageSchemes, lower) {
			// startswith, and the controller's prefixes, are case-sensitive.
			return bad("KServe's storage initializer reads schemes in lower case only: write %s://%s", lower, rest)
		}
	}
	return nil
}

// validateLocalPath refuses a path outside the models root: the storage
// initializer looks for it in its own container, where the models root is
// the only path of the pod (and a path under it is left as it is, for
// KServe's multi-model agent to fill).
func validateLocalPath(bad func(string, ...any) error, p string) error {
	if strings.HasPrefix(p, "/") {
		if c := path.Clean(p); c == modelsRoot || strings.HasPrefix(c, modelsRoot+"/") {
			return nil
		}
	}
	return bad(`a local path outside %s, which KServe's storage initializer cannot find: it runs in a container of its own, where %s, the folder it fills, is the only path of the pod (it fails with "Cannot recognize storage type"); `+
		"give a volume's files as pvc://CLAIM/PATH, or no storage URI to serve the model in the image", modelsRoot, modelsRoot)
}

// storageURIWarning warns of a scheme KServe's storage initializer does not
// know, which validateStorageURI lets pass: KServe's controller refuses it
// unless a ClusterStorageContainer of the cluster claims it, which only the
// cluster can tell. It also warns of oci+fetch:// and oci+native://, which
// the controller of the KServe release deploy/validate checks against
// refuses, while newer ones may not.
func storageURIWarning(setting, uri string) string {
	scheme, image, ok := strings.Cut(uri, "://")
	if scheme == "oci+fetch" || scheme == "oci+native" {
		// The kserve-gen server downloads these itself, but v0.16's
		// controller has oci:// alone in its list (SupportedStorageURIPrefixList).
		return fmt.Sprintf("%s %s: KServe's controller up to v0.16 refuses %s:// (StorageURI not supported: of the modelcar spellings it knows oci:// alone); "+
			"use a KServe release that knows %s://, or write oci://%s for a modelcar", setting, uri, scheme, scheme, image)
	}
	if !ok || !uriScheme.MatchString(scheme) || uri != strings.TrimSpace(uri) || slices.Contains(storageSchemes, strings.ToLower(scheme)) {
		return ""
	}
	w := fmt.Sprintf("%s %s: KServe's storage initializer does not download %s:// (it downloads gs://, s3://, pvc://, hf://, http(s)://, hdfs://, webhdfs:// and oci://), "+
		"and KServe's controller refuses the InferenceService (StorageURI not supported) unless the cluster has a ClusterStorageContainer for %s://, as Kubeflow's Model Registry adds for model-registry://",
		setting, uri, scheme, scheme)
	for _, s := range storageSchemes {
		if editDistance(scheme, s) == 1 {
			return w + "; did you mean " + s + "://?"
		}
	}
	return w
}
