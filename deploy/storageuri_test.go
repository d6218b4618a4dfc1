package deploy

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/project"
)

// storageURISettings are the two settings a storage URI comes from, as a
// flag and as the project file's field, and where each puts the URI.
var storageURISettings = []struct {
	name string
	set  func(o *Options, uri string)
	file map[string]string
	// setting is how errors name it.
	setting string
}{
	{"storage-uri flag", func(o *Options, uri string) { o.StorageURI = uri }, nil, "--storage-uri"},
	{"storage-uri field", func(o *Options, uri string) { o.StorageURI = uri },
		map[string]string{"storage-uri": "deploy.storageUri"}, "kserve-gen.yaml deploy.storageUri"},
	{"predictor-storage-uri flag", func(o *Options, uri string) {
		o.Predictor = &project.Predictor{ModelFormat: "sklearn", StorageURI: uri}
	}, nil, "--predictor-storage-uri"},
	{"predictor-storage-uri field", func(o *Options, uri string) {
		o.Predictor = &project.Predictor{Image: "registry.example.com/team/predictor:v1", StorageURI: uri}
	}, map[string]string{"predictor-storage-uri": "deploy.predictor.storageUri"}, "kserve-gen.yaml deploy.predictor.storageUri"},
}

// A storage URI KServe's storage initializer cannot download passed deploy,
// and the pod then failed in its init container ("Cannot recognize storage
// type for foo/model", a bucket-less s3:// in boto3, ...) long after kubectl
// apply. Each form gets one error, naming the setting as the user wrote it
// and saying what is accepted.
func TestValidate_StorageURIKServeCannotDownload(t *testing.T) {
	const forms = "gs://BUCKET[/PATH], s3://BUCKET[/PATH], pvc://CLAIM[/PATH], hf://ORG/REPO[:REVISION], http(s)://HOST/PATH/FILE (Azure Blob and File URLs too), hdfs://PATH, webhdfs://PATH, oci://IMAGE (a modelcar), or a path under /mnt/models"
	const outside = ": a local path outside /mnt/models, which KServe's storage initializer cannot find: it runs in a container of its own, where /mnt/models, the folder it fills, is the only path of the pod (" +
		`it fails with "Cannot recognize storage type"); give a volume's files as pvc://CLAIM/PATH, or no storage URI to serve the model in the image`
	const instead = "give the model's own URI (s3://, gs://, pvc://CLAIM/PATH, hf://, https://...), or no storage URI to serve the model in the image"
	tests := []struct{ uri, want string }{
		{"foo/model", ": not a URI KServe's storage initializer can download: no scheme, and not an absolute path; give " + forms},
		{"s3:bucket/model", ": not a URI KServe's storage initializer can download: no scheme, and not an absolute path; give " + forms},
		{"/models/iris", outside},
		{"/mnt/pvc/iris", outside},
		{"/mnt/models/../iris", outside},
		{"file:///models/iris", outside},
		{"file://models/iris", outside},
		// kserve_storage.py's download takes the models root, which exists
		// in the initializer's container, and every file:// URI for local:
		// _download_local finds the root empty and a path under it missing.
		{"/mnt/models", `: the folder KServe's storage initializer fills: it finds it empty and fails with "Failed to fetch model. No model found in /mnt/models."; ` + instead},
		{"/mnt/models/", `: the folder KServe's storage initializer fills: it finds it empty and fails with "Failed to fetch model. No model found in /mnt/models/."; ` + instead},
		{"file:///mnt/models", `: KServe's storage initializer looks for a file:// path in its own container, where /mnt/models is the empty folder it is to fill, so it fails with "Failed to fetch model. No model found in file:///mnt/models."; ` + instead},
		{"file:///mnt/models/iris", `: KServe's storage initializer looks for a file:// path in its own container, where /mnt/models is the empty folder it is to fill, so it fails with "Local path file:///mnt/models/iris does not exist."; ` + instead},
		{"s3://", ": no bucket: want s3://BUCKET[/PATH]"},
		{"s3:///model", ": no bucket: want s3://BUCKET[/PATH]"},
		{"gs://", ": no bucket: want gs://BUCKET[/PATH]"},
		{"gs:///x", ": no bucket: want gs://BUCKET[/PATH]"},
		{"pvc://", ": no claim name: want pvc://CLAIM[/PATH], a PersistentVolumeClaim in the InferenceService's namespace"},
		{"pvc:///models/iris", ": no claim name: want pvc://CLAIM[/PATH], a PersistentVolumeClaim in the InferenceService's namespace"},
		{"pvc://Models/iris", `: "Models" is not a Kubernetes name (try "models"): a claim's name is lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (each part between dots too), at most 253 characters`},
		{"hf://", ": want hf://ORG/REPO[:REVISION], exactly one '/' between the organization and the repository (KServe's storage initializer downloads the whole repository)"},
		{"hf://bert", ": want hf://ORG/REPO[:REVISION], exactly one '/' between the organization and the repository (KServe's storage initializer downloads the whole repository)"},
		{"hf://org/", ": want hf://ORG/REPO[:REVISION], exactly one '/' between the organization and the repository (KServe's storage initializer downloads the whole repository)"},
		{"hf://org/model/onnx", ": want hf://ORG/REPO[:REVISION], exactly one '/' between the organization and the repository (KServe's storage initializer downloads the whole repository)"},
		{"hf://org/:main", ": want hf://ORG/REPO[:REVISION], exactly one '/' between the organization and the repository (KServe's storage initializer downloads the whole repository)"},
		{"https:///model.onnx", ": no host: want http(s)://HOST/PATH/FILE"},
		{"https://example.com", ": no file name: KServe's storage initializer downloads one file from an http(s) URL (and unpacks a .tar, .tar.gz, .tgz or .zip archive), so the path must end in it: want http(s)://HOST/PATH/FILE"},
		{"https://example.com/models/", ": no file name: KServe's storage initializer downloads one file from an http(s) URL (and unpacks a .tar, .tar.gz, .tgz or .zip archive), so the path must end in it: want http(s)://HOST/PATH/FILE"},
		{"hdfs://", ": no path: want hdfs://PATH"},
		{"webhdfs://", ": no path: want webhdfs://PATH"},
		{"S3://bucket/model", ": KServe's storage initializer reads schemes in lower case only: write s3://bucket/model"},
		{"Https://example.com/m.onnx", ": KServe's storage initializer reads schemes in lower case only: write https://example.com/m.onnx"},
	}
	for _, s := range storageURISettings {
		for _, tt := range tests {
			t.Run(s.name+" "+tt.uri, func(t *testing.T) {
				o := validOptions()
				s.set(&o, tt.uri)
				o.FileFields = s.file
				err := o.Validate()
				require.Error(t, err)
				assert.Equal(t, s.setting+" "+tt.uri+tt.want, err.Error())
			})
		}
	}

	// Spaces around a URI are kept by KServe, so it read " gs://b/m" as
	// a local path; quoted, for they would not show.
	o := validOptions()
	o.StorageURI = " gs://b/m"
	assert.EqualError(t, o.Validate(), `--storage-uri " gs://b/m": spaces around the URI, which KServe's storage initializer keeps (it fails with "Cannot recognize storage type"); drop them`)
}

// What KServe's storage initializer downloads (kserve_storage.py's
// download) still passes, without a warning.
func TestValidate_StorageURIKServeDownloads(t *testing.T) {
	for _, uri := range []string{
		"gs://bucket", "gs://kfserving-examples/models/sklearn/1.0/model", "s3://models", "s3://models/resnet/",
		"pvc://models", "pvc://models/custom-model/", "hf://org/model", "hf://org/model:main",
		"https://example.com/models/resnet.tar.gz", "http://minio:9000/m/model.onnx?x=1",
		"https://acct.blob.core.windows.net/models/", "https://acct.file.core.windows.net/share/models/",
		"hdfs://user/me/model", "webhdfs://user/me/model",
		"oci://registry.example.com/models/iris:v1",
	} {
		for _, s := range storageURISettings {
			o := validOptions()
			want := o.Warnings()
			s.set(&o, uri)
			o.FileFields = s.file
			assert.NoError(t, o.Validate(), "%s %s", s.name, uri)
			assert.Equal(t, want, o.Warnings(), "%s %s", s.name, uri)
		}
	}
}

// A path under /mnt/models passed without a word: KServe's storage
// initializer downloads nothing for it (kserve_storage.py's download
// leaves it to the model agent of multi-model serving), so the pod starts
// with /mnt/models empty and an onnx project's server has no model. It is
// a warning, not an error: a server whose Load does not read the folder
// still serves.
func TestWarnings_StorageURIUnderTheModelsRootIsNotDownloaded(t *testing.T) {
	const want = ": KServe's storage initializer downloads nothing for a path under /mnt/models, which it leaves to the model agent of KServe's multi-model serving (MULTI_MODEL_SERVER=true in a custom predictor's env, with TrainedModels), " +
		"so the server finds /mnt/models empty, and a model it loads from there (an onnx project's) is missing; give the model's own URI (s3://, gs://, pvc://CLAIM/PATH, hf://, https://...), or no storage URI to serve the model in the image"
	for _, s := range storageURISettings {
		for _, uri := range []string{"/mnt/models/iris", "/mnt/models/a/b/"} {
			o := validOptions()
			before := o.Warnings()
			s.set(&o, uri)
			o.FileFields = s.file
			require.NoError(t, o.Validate(), "%s %s", s.name, uri)
			assert.Equal(t, append(before, s.setting+" "+uri+want), o.Warnings(), "%s %s", s.name, uri)
		}
	}
}

// A custom predictor with MULTI_MODEL_SERVER=true gets KServe's model
// agent, which fills /mnt/models with TrainedModels, and no storage
// initializer (CommonStorageInitialization returns early): a path under
// /mnt/models, the root and file:// included, is then neither refused nor
// warned of; one outside it still is, and a value other than "true", a
// transformer or a serving runtime's predictor gets no agent.
func TestValidate_StorageURIUnderTheModelsRootWithTheModelAgent(t *testing.T) {
	agent := func(value string) Options {
		o := validOptions()
		o.Env = append(o.Env, project.EnvVar{Name: "MULTI_MODEL_SERVER", Value: value})
		return o
	}
	for _, uri := range []string{"/mnt/models", "/mnt/models/iris", "file:///mnt/models", "file:///mnt/models/iris"} {
		o := agent("true")
		before := o.Warnings()
		o.StorageURI = uri
		require.NoError(t, o.Validate(), uri)
		assert.Equal(t, before, o.Warnings(), uri)
	}
	o := agent("true")
	o.StorageURI = "/models/iris"
	assert.ErrorContains(t, o.Validate(), "--storage-uri /models/iris: a local path outside /mnt/models")

	o = agent("1")
	o.StorageURI = "/mnt/models"
	assert.EqualError(t, o.Validate(), `--storage-uri /mnt/models: the folder KServe's storage initializer fills: it finds it empty and fails with "Failed to fetch model. No model found in /mnt/models."; give the model's own URI (s3://, gs://, pvc://CLAIM/PATH, hf://, https://...), or no storage URI to serve the model in the image`)

	o = agent("true")
	o.Runtime = &RuntimeOptions{Name: "kserve-gen-custom", ModelFormat: "custom"}
	o.StorageURI = "/mnt/models"
	assert.ErrorContains(t, o.Validate(), `--storage-uri /mnt/models: the folder KServe's storage initializer fills`)
}

// A scheme KServe's storage initializer does not know is KServe's
// controller's to refuse, unless the cluster has a ClusterStorageContainer
// for it (Kubeflow's Model Registry adds model-registry://): deploy cannot
// tell, so it warns, with the nearest known scheme where one is a slip
// away.
func TestWarnings_StorageURISchemeKServeDoesNotKnow(t *testing.T) {
	const unknown = ": KServe's storage initializer does not download %s:// (it downloads gs://, s3://, pvc://, hf://, http(s)://, hdfs://, webhdfs:// and oci://), and KServe's controller refuses the InferenceService (StorageURI not supported) unless the cluster has a ClusterStorageContainer for %s://, as Kubeflow's Model Registry adds for model-registry://"
	tests := []struct{ uri, want string }{
		{"model-registry://iris/v1", strings.ReplaceAll(unknown, "%s", "model-registry")},
		{"gcs://bucket/model", strings.ReplaceAll(unknown, "%s", "gcs") + "; did you mean gs://?"},
		{"htps://example.com/m.onnx", strings.ReplaceAll(unknown, "%s", "htps") + "; did you mean https://?"},
		// The kserve-gen server reads these, KServe v0.16's controller not.
		{"oci+fetch://registry.example.com/models/iris:v1", ": KServe's controller up to v0.16 refuses oci+fetch:// (StorageURI not supported: of the modelcar spellings it knows oci:// alone); " +
			"use a KServe release that knows oci+fetch://, or write oci://registry.example.com/models/iris:v1 for a modelcar"},
		{"oci+native://registry.example.com/models/iris:v1", ": KServe's controller up to v0.16 refuses oci+native:// (StorageURI not supported: of the modelcar spellings it knows oci:// alone); " +
			"use a KServe release that knows oci+native://, or write oci://registry.example.com/models/iris:v1 for a modelcar"},
	}
	for _, s := range storageURISettings {
		for _, tt := range tests {
			o := validOptions()
			want := o.Warnings()
			s.set(&o, tt.uri)
			o.FileFields = s.file
			require.NoError(t, o.Validate(), "%s %s", s.name, tt.uri)
			assert.Equal(t, append(want, s.setting+" "+tt.uri+tt.want), o.Warnings(), s.name)
		}
	}
}
