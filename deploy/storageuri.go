package deploy

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/kserve-gen/kserve-gen/project"
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

// multiModelEnv set to "true" on a custom predictor's container makes it a
// multi-model server (constants.CustomSpecMultiModelServerEnvVarKey, read
// by IsMMSPredictor): KServe injects its model agent, which loads
// TrainedModels into /mnt/models, instead of the storage initializer
// (CommonStorageInitialization returns early on the agent's annotation).
const multiModelEnv = "MULTI_MODEL_SERVER"

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
// cannot download. setting names where it came from (o.setting); agent is
// set where KServe's model agent, not the initializer, serves the pod
// (Options.multiModel). A scheme it does not know is left to
// storageURIWarning: a cluster may add one with a ClusterStorageContainer.
func validateStorageURI(setting, uri string, agent bool) error {
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
		return validateLocalPath(bad, uri, "", agent)
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
		// _download_local strips file:// and links the path's files into
		// /mnt/models, so the path has to exist in the initializer's
		// container.
		return validateLocalPath(bad, rest, uri, agent)
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

// validateLocalPath refuses a local path (fileURI is the file:// URI it
// came from, or "") that KServe's storage initializer fails on. It runs in
// a container of its own, where the models root, the empty folder it
// fills, is the only path of the pod, and Storage.download (kserve_storage.py)
// takes a URI for local when it starts with file:// or exists there:
//   - a path outside the root: not found, and no scheme it knows;
//   - file:// anything, and the root itself: local, so _download_local
//     links its files into the root, and fails on a path that is not
//     there ("Local path ... does not exist.") or on the root, found
//     empty ("Failed to fetch model. No model found in ...").
//
// A path under the root, which does not exist there, is left as it is for
// KServe's multi-model agent to fill ("Don't need to download models if
// this InferenceService is running in the multi-model serving mode"):
// storageURIWarning tells what that means for a single model. Where the
// agent serves the pod (agent), the initializer does not run at all, and
// any path under the root is the agent's.
func validateLocalPath(bad func(string, ...any) error, p, fileURI string, agent bool) error {
	root, below := inModelsRoot(p)
	if !root && !below {
		return bad(`a local path outside %s, which KServe's storage initializer cannot find: it runs in a container of its own, where %s, the folder it fills, is the only path of the pod (it fails with "Cannot recognize storage type"); `+
			"give a volume's files as pvc://CLAIM/PATH, or no storage URI to serve the model in the image", modelsRoot, modelsRoot)
	}
	if agent {
		return nil
	}
	const instead = "give the model's own URI (s3://, gs://, pvc://CLAIM/PATH, hf://, https://...), or no storage URI to serve the model in the image"
	if fileURI != "" {
		fails := fmt.Sprintf("Local path %s does not exist.", fileURI)
		if root {
			fails = fmt.Sprintf("Failed to fetch model. No model found in %s.", fileURI)
		}
		return bad("KServe's storage initializer looks for a file:// path in its own container, where %s is the empty folder it is to fill, so it fails with %q; %s", modelsRoot, fails, instead)
	}
	if root {
		return bad("the folder KServe's storage initializer fills: it finds it empty and fails with %q; %s", "Failed to fetch model. No model found in "+p+".", instead)
	}
	return nil
}

// storageURIWarning warns of a scheme KServe's storage initializer does not
// know, which validateStorageURI lets pass: KServe's controller refuses it
// unless a ClusterStorageContainer of the cluster claims it, which only the
// cluster can tell. It also warns of oci+fetch:// and oci+native://, which
// the controller of the KServe release deploy/validate checks against
// refuses, while newer ones may not.
//
// And it warns of a path under the models root (which validateStorageURI
// lets pass) where KServe's model agent does not serve the pod (agent
// false): the storage initializer downloads nothing for it, leaving it to
// the agent of multi-model serving (Storage.download's MODEL_MOUNT_DIRS
// case), so the server finds the folder empty.
func storageURIWarning(setting, uri string, agent bool) string {
	if _, below := inModelsRoot(uri); below && !agent {
		return fmt.Sprintf("%s %s: KServe's storage initializer downloads nothing for a path under %s, which it leaves to the model agent of KServe's multi-model serving (%s=true in a custom predictor's env, with TrainedModels), "+
			"so the server finds %s empty, and a model it loads from there (an onnx project's) is missing; give the model's own URI (s3://, gs://, pvc://CLAIM/PATH, hf://, https://...), or no storage URI to serve the model in the image",
			setting, uri, modelsRoot, multiModelEnv, modelsRoot)
	}
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

// inModelsRoot reports whether p, an absolute path, is the models root
// itself (root) or a path under it (below).
func inModelsRoot(p string) (root, below bool) {
	if !strings.HasPrefix(p, "/") {
		return false, false
	}
	c := path.Clean(p)
	return c == modelsRoot, strings.HasPrefix(c, modelsRoot+"/")
}

// multiModel reports whether KServe serves the pod with its model agent
// instead of the storage initializer: a custom predictor (not a serving
// runtime's, not a transformer) with multiModelEnv=true in its env.
func (o *Options) multiModel() bool {
	if o.Runtime != nil || o.Predictor != nil {
		return false
	}
	return slices.ContainsFunc(o.Env, func(e project.EnvVar) bool { return e.Name == multiModelEnv && e.Value == "true" })
}
