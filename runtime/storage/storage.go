// Package storage turns a model's STORAGE_URI into a local directory, the
// way KServe's storage package (kserve_storage.Storage.download) does:
// sources on the pod's file system are used where they are; http(s)://
// files (unpacked when they are archives), hf:// repositories, gs://, s3://
// and Azure Blob objects, and the /models folder of oci:// modelcar images
// are downloaded into a cache that a restart revalidates instead of
// downloading again.
//
// The other remote schemes (hdfs://, Azure File, ...) are not
// downloaded here: on a cluster the KServe storage-initializer (STORAGE_URI on
// the InferenceService) downloads them into /mnt/models before the server
// starts, so Resolve returns /mnt/models when it holds files and says so
// otherwise.
//
// Resolve only resolves: it removes nothing else from the cache, so a
// start is not held up by deleting gigabytes. The cache is kept in bounds
// by Resolver.Trim, which removes the models unused for 30 days and the
// replaced versions no process holds; a server calls it once it is ready,
// in the background, with a context that ends at shutdown, and a program
// that resolves without serving calls it whenever it suits, or never.
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Default mount points of a KServe pod.
const (
	// DefaultModelsRoot is where the storage-initializer downloads a model and
	// where the controller mounts a pvc:// claim's sub-path.
	DefaultModelsRoot = "/mnt/models"
	// DefaultPVCRoot is where older controllers mounted a pvc:// claim.
	DefaultPVCRoot = "/mnt/pvc"
)

// URI prefixes.
const (
	filePrefix = "file://"
	pvcPrefix  = "pvc://"
)

// ErrUnsupportedScheme is returned (wrapped) for a remote URI that has not
// been downloaded to the models root.
var ErrUnsupportedScheme = errors.New("storage scheme not supported")

// ErrNotFound is returned (wrapped) when a local source does not exist, or
// a remote one answers no: not there, or not for these credentials (a
// bucket's 401/403/404, a token endpoint refusing them). A cached copy is
// not served for it.
var ErrNotFound = errors.New("model source not found")

// Error is a resolution error. Its text is KServe's message where KServe has
// one, so logs read the same; errors.Is matches its Kind (ErrNotFound,
// ErrUnsupportedScheme, ErrInvalidURI).
type Error struct {
	Msg  string
	Kind error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func newError(kind error, format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...), Kind: kind}
}

// ErrInvalidURI is returned (wrapped) for a malformed URI.
var ErrInvalidURI = errors.New("invalid storage uri")

// Resolver resolves storage URIs against a pod's mount points. The zero
// value uses DefaultModelsRoot and DefaultPVCRoot, downloads into the
// user's cache folder and logs nothing; tests point the roots at temporary
// directories.
type Resolver struct {
	ModelsRoot string // default /mnt/models
	PVCRoot    string // default /mnt/pvc

	// CacheDir keeps the downloads: per URI, a folder of versions, each a
	// model folder, and a small JSON record naming the current one and how
	// to revalidate it (see versions.go). Default: <user cache dir>/kserve-gen/storage
	// ($XDG_CACHE_HOME or ~/.cache), else <temp dir>/kserve-gen-storage-<uid>
	// (private to the user).
	CacheDir string
	// Client makes the downloads; default: http.DefaultTransport's settings
	// (proxy from the environment) without transparent decompression.
	Client *http.Client
	// StallTimeout abandons a download that receives nothing for this long
	// (default DefaultStallTimeout); the whole download has no limit.
	StallTimeout time.Duration
	// Getenv reads the environment KServe's storage package reads: the
	// <host>-headers variables, the S3, Cloud Storage and Azure settings
	// and credentials (default os.Getenv). The cloud SDKs this uses read
	// a few variables of their own from the process's environment
	// whatever Getenv says: the AWS SDK's AWS_ROLE_ARN,
	// AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_* and AWS_ENDPOINT_URL_*,
	// and GCE_METADATA_HOST.
	Getenv func(string) string
	// Logger gets KServe's download log lines (default: none).
	Logger *slog.Logger

	progressInterval time.Duration // between progress lines (tests); default 10 s
	listPageSize     int           // S3 max-keys, Azure maxresults (tests); default the service's
	// azureEndpoint maps an account to its blob endpoint (an emulator in
	// tests); default https://<account>.blob.core.windows.net.
	azureEndpoint func(account string) string
	// backoffTimer times the waits between a managed identity's token
	// requests (tests: at once, recording them, or never); default
	// time.After.
	backoffTimer func(time.Duration) <-chan time.Time
	// gceProductName is the file naming the machine's product (tests);
	// default /sys/class/dmi/id/product_name, "Google Compute Engine" on
	// GCE and GKE.
	gceProductName string
	// uses collects the cache entries one Resolve call locks (useEntry).
	uses *entryUses
	// removing, when set, is called as Trim is about to remove each file
	// or folder (tests: to stop it there, deterministically).
	removing func(path string)
}

// Resolve resolves uri with the default mount points.
func Resolve(ctx context.Context, uri string) (string, error) {
	return Resolver{}.Resolve(ctx, uri)
}

func (r Resolver) modelsRoot() string {
	if r.ModelsRoot == "" {
		return DefaultModelsRoot
	}
	return r.ModelsRoot
}

func (r Resolver) pvcRoot() string {
	if r.PVCRoot == "" {
		return DefaultPVCRoot
	}
	return r.PVCRoot
}

// Resolve returns the local directory (or file) uri refers to:
//
//   - a path under the PVC root that does not exist: "Cannot locate source
//     uri <uri> for PVC" (KServe's message);
//   - file://<path>, or any path that exists: the path itself; a missing
//     file:// path: "Local path <uri> does not exist.";
//   - a path under the models root: returned as is (KServe's multi-model
//     no-op; the model agent fills it);
//   - pvc://<claim>/<path>: <PVC root>/<path> if it exists, else the models
//     root, where current controllers mount the claim's sub-path;
//   - any remote scheme: the models root if the storage-initializer already
//     filled it;
//   - http(s)://host/.../file: the file downloaded into the cache (see
//     fetchHTTP), unpacked when it is a .tar, .tar.gz, .tgz or .zip;
//   - hf://<owner>/<model>[:<revision>]: the Hugging Face Hub repository
//     downloaded into the cache (see fetchHF);
//   - gs://<bucket>/<path>, s3://<bucket>/<path>, Azure Blob URLs: the
//     objects under the path, or the object, downloaded into the cache (see
//     fetchGCS, fetchS3, fetchAzure);
//   - oci://<image>: the image's /models folder downloaded into the cache
//     (see fetchOCI);
//   - any other remote scheme: an ErrUnsupportedScheme error.
func (r Resolver) Resolve(ctx context.Context, uri string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if uri == "" {
		return "", newError(ErrInvalidURI, "empty storage uri")
	}
	if under(uri, r.pvcRoot()) && !exists(uri) {
		return "", newError(ErrNotFound, "Cannot locate source uri %s for PVC", uri)
	}
	if strings.HasPrefix(uri, filePrefix) || exists(uri) {
		local := strings.Replace(uri, filePrefix, "", 1)
		if !exists(local) {
			return "", newError(ErrNotFound, "Local path %s does not exist.", uri)
		}
		return local, nil
	}
	if under(uri, r.modelsRoot()) {
		return uri, nil
	}
	if strings.HasPrefix(uri, pvcPrefix) {
		return r.resolvePVC(uri)
	}
	scheme, _, ok := strings.Cut(uri, "://")
	if !ok {
		return "", newError(ErrNotFound, "Local path %s does not exist.", uri)
	}
	if dirHasEntries(r.modelsRoot()) {
		return r.modelsRoot(), nil
	}
	if r.getenv(envModelInitMode) == modelInitAsync {
		return r.waitForModelsRoot(ctx, uri)
	}
	if r.Client == nil {
		r.Client = r.client() // one client, so the files of a download share connections
	}
	kind := scheme + "://"
	r.uses = &entryUses{} // before the method values below copy r
	var fetch func(context.Context, string) (string, error)
	if azureFileURL().MatchString(uri) {
		kind = "Azure File storage"
	} else if (scheme == "http" || scheme == "https") && isGitURL(uri) {
		kind = "a git repository" // KServe clones those; a GET would fetch a web page
	} else if azureBlobURL().MatchString(uri) {
		fetch = r.fetchAzure
	} else if scheme == "http" || scheme == "https" {
		fetch = r.fetchHTTP
	} else if scheme == "hf" {
		fetch = r.fetchHF
	} else if scheme == "gs" {
		fetch = r.fetchGCS
	} else if scheme == "s3" {
		fetch = r.fetchS3
	} else if scheme == "oci" || scheme == "oci+fetch" || scheme == "oci+native" {
		// oci+fetch:// and oci+native:// are KServe's newer spellings, which
		// choose how the cluster gets the image (storage-initializer, image
		// volume); off the cluster they are the same download.
		fetch = r.fetchOCI
	}
	if fetch != nil {
		dir, err := fetch(ctx, uri)
		for _, d := range r.uses.dirs {
			// The version returned, and its entry, stay held.
			doneWithEntry(d, err == nil && (d == dir || d == filepath.Dir(dir)))
		}
		for _, old := range r.uses.retired {
			r.retireLegacy(old)
		}
		if cache, cerr := r.cacheDir(); err == nil && cerr == nil {
			if e, ok := entryOf(cache, dir); ok {
				// Cheap (a record rewritten at most hourly), unlike the
				// removals of Trim, which the caller runs once it serves.
				if merr := markUsed(e, time.Now()); merr != nil {
					r.logger().Warn(fmt.Sprintf("Cannot record the use of %s in the model cache: %v", e, merr))
				}
			}
		}
		return dir, err
	}
	return "", newError(ErrUnsupportedScheme, "storage uri %s: %s is not supported yet: the Go server reads models from local paths, file://, pvc://, http(s)://, hf://, gs://, s3://, Azure Blob, oci:// and %s; "+
		"%s is downloaded by the KServe storage-initializer: set storageUri (or the STORAGE_URI env var of a custom container) "+
		"on the InferenceService and it downloads the model into %s before the server starts",
		shownURL(uri), kind, r.modelsRoot(), kind, r.modelsRoot())
}

// KServe's modelcar injector sets MODEL_INIT_MODE=async on the server's
// container: the modelcar sidecar links its image's /models to /mnt/models
// once it runs, and kubelet starts it after the server, so the folder
// shows up a moment after the server looks. KServe's word for it is that
// the runtime "should wait and retry when starting up"; downloading the
// image instead repeats what the node already pulled, with the pod's
// credentials (often none: the node's pull secret is not the pod's).
const (
	envModelInitMode = "MODEL_INIT_MODE"
	modelInitAsync   = "async"
)

// modelsRootPoll is how often waitForModelsRoot looks at the models root.
const modelsRootPoll = 100 * time.Millisecond

// waitForModelsRoot waits until the models root holds an entry, or ctx
// ends; on a cluster the startup probe bounds the wait.
func (r Resolver) waitForModelsRoot(ctx context.Context, uri string) (string, error) {
	root, start := r.modelsRoot(), time.Now()
	r.logger().Info(fmt.Sprintf("Waiting for the model of %s to appear in %s (%s=%s)", shownURL(uri), root, envModelInitMode, modelInitAsync))
	tick := time.NewTicker(modelsRootPoll)
	defer tick.Stop()
	for !dirHasEntries(root) {
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("storage uri %s: waiting for %s (%s=%s): %w", shownURL(uri), root, envModelInitMode, modelInitAsync, ctx.Err())
		case <-tick.C:
		}
	}
	r.logger().Info(fmt.Sprintf("%s appeared after %s", root, time.Since(start).Round(time.Millisecond)))
	return root, nil
}

// isGitURL reports an http(s) URI whose path ends in .git, which KServe's
// storage package clones rather than downloads.
func isGitURL(uri string) bool {
	u, err := url.Parse(uri)
	return err == nil && strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), ".git")
}

// resolvePVC maps pvc://<claim>/<path> like the KServe controller:
// older controllers mount the claim at /mnt/pvc (model at /mnt/pvc/<path>),
// current ones mount <path> of the claim at /mnt/models.
func (r Resolver) resolvePVC(uri string) (string, error) {
	rest := strings.TrimPrefix(uri, pvcPrefix)
	claim, sub, _ := strings.Cut(rest, "/")
	if claim == "" {
		return "", newError(ErrInvalidURI, "invalid pvc uri %s: want pvc://<claim>/<path>", uri)
	}
	clean := path.Clean("/" + sub)
	legacy := filepath.Join(r.pvcRoot(), filepath.FromSlash(clean))
	if exists(legacy) {
		return legacy, nil
	}
	if exists(r.modelsRoot()) {
		return r.modelsRoot(), nil
	}
	return "", newError(ErrNotFound, "Cannot locate source uri %s for PVC (looked for %s and %s)", uri, legacy, r.modelsRoot())
}

// under reports whether p starts with root, as KServe's str.startswith does.
func under(p, root string) bool {
	return strings.HasPrefix(p, root)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func dirHasEntries(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) > 0
}

// count is n and the noun, plural unless n is 1: "1 layer", "3 files".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// folderNames returns every folder the objects' names imply: "a" and "a/b"
// for "a/b/c". An empty object named like one of them ("models/iris" beside
// "models/iris/model.onnx") marks a folder: an S3 tool's placeholder
// without its "/", or a directory of an Azure hierarchical namespace,
// which the Blob service lists as an empty blob. Any other empty object is
// a file a model may need (an __init__.py, an empty vocabulary), which
// KServe's storage-initializer downloads too.
func folderNames[T any](objects []T, name func(T) string) map[string]bool {
	folders := map[string]bool{}
	for _, o := range objects {
		n := name(o)
		for i := strings.LastIndexByte(n, '/'); i > 0; i = strings.LastIndexByte(n[:i], '/') {
			if folders[n[:i]] {
				break // and its parents, from an earlier name
			}
			folders[n[:i]] = true
		}
	}
	return folders
}
