package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kserve-gen/kserve-gen/project"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

const goldenDir = "testdata/golden"

func intp(i int) *int { return &i }

// seedResources are the requests/limits of the seed's custom.yaml.
var seedResources = project.Resources{
	Requests: project.ResourceList{CPU: "1", Memory: "1Gi"},
	Limits:   project.ResourceList{CPU: "2", Memory: "2Gi"},
}

// goldenCases are the documented deployment shapes; deploy/validate checks
// every file against KServe's API types.
func goldenCases() map[string]Options {
	base := func(name, protocol string, grpc bool) Options {
		return FromProject(&project.File{
			Name: name, Module: "example.com/" + name, Template: project.TemplateREST,
			Protocol: protocol, GRPC: grpc, Resources: seedResources,
			Image: "docker.io/example/" + name + ":v1",
		})
	}

	// The seed's custom.yaml: REST, v1.
	rest := base("custom-model", project.ProtocolV1, false)

	// The seed's custom_grpc.yaml: only h2c is exposed.
	grpc := base("custom-model-grpc", project.ProtocolV2, true)

	// GPU with everything a production deployment tends to set.
	gpu := base("resnet", project.ProtocolV2, false)
	gpu.GPU = 1
	gpu.Namespace = "models"
	gpu.Workers = 2
	gpu.StorageURI = "s3://models/resnet/"
	gpu.LogLevel = "DEBUG"
	gpu.Env = []project.EnvVar{{Name: "OMP_NUM_THREADS", Value: "4"}}
	gpu.Args = []string{"--max_threads=8"}
	gpu.DeploymentMode = ModeKnative
	gpu.MinReplicas = intp(1)
	gpu.MaxReplicas = 4
	gpu.ScaleMetric = "concurrency"
	gpu.ScaleTarget = 8
	gpu.CanaryTrafficPercent = intp(20)
	gpu.ServiceAccountName = "models-reader"
	gpu.NodeSelector = map[string]string{"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
	gpu.Tolerations = []project.Toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}}
	gpu.StartupTimeout = 20 * time.Minute

	// Standard (raw Deployment) mode scaled on CPU by an HPA, on a custom port.
	standard := base("tabular", project.ProtocolV1, false)
	standard.HTTPPort = 9000
	standard.DeploymentMode = ModeStandard
	standard.MinReplicas = intp(2)
	standard.MaxReplicas = 10
	standard.ScaleMetric = "cpu"
	standard.ScaleTarget = 70
	standard.Metrics = false

	// Knative with the request options KServe applies around the server:
	// a concurrency limit, a timeout, payload logging and the batcher.
	agent := base("custom-model", project.ProtocolV1, false)
	agent.DeploymentMode = ModeKnative
	agent.ContainerConcurrency = 8
	agent.Timeout = 120
	agent.Logger = &project.Logger{URL: "http://message-dumper.default.svc.cluster.local", MetadataHeaders: []string{"X-Request-Id"}}
	agent.Batcher = &project.Batcher{MaxBatchSize: 32, MaxLatency: 500}

	// Knative Eventing: a broker's image events reach :predict as CloudEvents.
	trigger := base("custom-model", project.ProtocolV1, false)
	trigger.Namespace = "models"
	trigger.Trigger = &project.Trigger{Broker: "default", Filter: map[string]string{"type": "com.example.image", "source": "camera-1"}}

	// Standard mode scaling on the server's requests in flight, through KEDA.
	keda := base("custom-model", project.ProtocolV1, false)
	keda.Namespace = "models"
	keda.DeploymentMode = ModeStandard
	keda.MinReplicas = intp(1)
	keda.MaxReplicas = 8
	keda.ScaleMetric = "concurrency"
	keda.ScaleTarget = 8
	keda.PrometheusURL = "http://prometheus-operated.monitoring.svc:9090"
	keda.MaxQueuedRequests = 64 // nothing in front of a Standard pod bounds its queue

	// Standard mode with the Prometheus Operator's PodMonitor.
	standardPodMonitor := base("custom-model", project.ProtocolV2, true)
	standardPodMonitor.Namespace = "models"
	standardPodMonitor.DeploymentMode = ModeStandard
	standardPodMonitor.PodMonitor = true

	// With the Grafana dashboard for kserve-gen model servers.
	dashboard := base("custom-model", project.ProtocolV2, false)
	dashboard.Namespace = "models"
	dashboard.Dashboard = true
	dashboard.PodMonitor = true

	// A reusable namespaced runtime plus an InferenceService selecting it.
	runtime := base("custom-model", project.ProtocolV2, false)
	runtime.Namespace = "models"
	runtime.StorageURI = "pvc://models/custom-model/"
	runtime.LogLevel = "INFO"
	runtime.Runtime = &RuntimeOptions{Name: "kserve-gen-custom", ModelFormat: "custom", ModelFormatVersion: "1"}

	// A cluster-wide gRPC runtime.
	clusterGRPC := base("custom-model-grpc", project.ProtocolV2, true)
	clusterGRPC.GPU = 2
	clusterGRPC.Runtime = &RuntimeOptions{Cluster: true}

	// A transformer project in front of a predictor image (another
	// kserve-gen project); the service account reaches both pods.
	txf := FromProject(&project.File{
		Name: "custom-transformer", Module: "example.com/custom-transformer", Template: project.TemplateTransformer,
		Protocol: project.ProtocolV1, Resources: seedResources,
		Image: "docker.io/example/custom-transformer:v1",
		Deploy: &project.Deploy{
			ServiceAccountName: "models-reader",
			Predictor:          &project.Predictor{Image: "docker.io/example/custom-model:v1"},
		},
	})
	txf.MinReplicas = intp(1)

	// A v2 transformer in front of an ONNX model served by one of KServe's
	// runtimes (Triton, the one that speaks grpc-v2), called over gRPC.
	txfONNX := base("onnx-transformer", project.ProtocolV2, false)
	txfONNX.Predictor = &project.Predictor{
		ModelFormat: "onnx", StorageURI: "gs://kfserving-examples/models/onnx",
		Protocol: project.ProtocolGRPCV2,
	}
	txfONNX.PodMonitor = true

	return map[string]Options{
		"transformer":                  txf,
		"transformer-onnx-grpc":        txfONNX,
		"rest":                         rest,
		"grpc":                         grpc,
		"gpu":                          gpu,
		"standard-hpa":                 standard,
		"logger-batcher":               agent,
		"trigger":                      trigger,
		"dashboard":                    dashboard,
		"standard-keda":                keda,
		"standard-pod-monitor":         standardPodMonitor,
		"serving-runtime":              runtime,
		"cluster-serving-runtime-grpc": clusterGRPC,
	}
}

func TestRender_Golden(t *testing.T) {
	cases := goldenCases()
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Render(opts)
			require.NoError(t, err)
			path := filepath.Join(goldenDir, name+".yaml")
			if *update {
				require.NoError(t, os.MkdirAll(goldenDir, 0o755))
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run `go test ./deploy -update` to create it")
			assert.Equal(t, string(want), string(got))
		})
	}

	// No golden file may be left over from a removed case.
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.yaml"))
	require.NoError(t, err)
	for _, f := range files {
		name := filepath.Base(f)
		_, ok := cases[name[:len(name)-len(".yaml")]]
		assert.True(t, ok, "stale golden file %s", f)
	}
}

// splitDocuments reads a multi-document stream the way kubectl does.
func splitDocuments(t *testing.T, data []byte) [][]byte {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		require.NoError(t, err)
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
}

// strictDecode converts one YAML document to JSON with sigs.k8s.io/yaml and
// decodes it rejecting unknown fields.
func strictDecode(t *testing.T, doc []byte, into any) {
	t.Helper()
	j, err := yaml.YAMLToJSONStrict(doc)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(into))
}

// Every golden file is standard Kubernetes YAML: documents split like
// kubectl splits them, each with apiVersion/kind/metadata.name, no status,
// no null creationTimestamp, and each decodes strictly back into the very
// object that was rendered.
func TestGolden_ParsesAsKubernetesYAML(t *testing.T) {
	for name, opts := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(goldenDir, name+".yaml"))
			require.NoError(t, err)
			objs, err := Manifests(opts)
			require.NoError(t, err)

			docs := splitDocuments(t, data)
			require.Len(t, docs, len(objs), "one document per object")
			if len(objs) > 1 {
				assert.Contains(t, string(data), "\n---\n")
			}
			for i, doc := range docs {
				var generic map[string]any
				require.NoError(t, yaml.UnmarshalStrict(doc, &generic))
				assert.NotEmpty(t, generic["apiVersion"])
				assert.NotEmpty(t, generic["kind"])
				assert.NotEmpty(t, generic["metadata"].(map[string]any)["name"])
				assert.NotContains(t, generic, "status")
				assert.NotContains(t, string(doc), "creationTimestamp")
				assert.NotContains(t, string(doc), "{}")
				assert.NotContains(t, string(doc), ": null")

				// Round trip: decoding the document into our own type
				// (unknown fields rejected) gives back the rendered object.
				// Compared as JSON because resource.Quantity caches its
				// string form.
				var back any
				switch objs[i].(type) {
				case *InferenceService:
					back = &InferenceService{}
				case *ServingRuntime:
					back = &ServingRuntime{}
				case *Trigger:
					back = &Trigger{}
				case *ConfigMap:
					back = &ConfigMap{}
				case *PodMonitor:
					back = &PodMonitor{}
				default:
					t.Fatalf("unexpected object %T", objs[i])
				}
				strictDecode(t, doc, back)
				want, err := json.Marshal(objs[i])
				require.NoError(t, err)
				got, err := json.Marshal(back)
				require.NoError(t, err)
				assert.JSONEq(t, string(want), string(got))
			}
		})
	}
}

// The REST golden keeps the seed custom.yaml's predictor: same container
// name, args and resources.
func TestRender_SeedCustomYAML(t *testing.T) {
	objs, err := Manifests(goldenCases()["rest"])
	require.NoError(t, err)
	isvc := objs[0].(*InferenceService)
	assert.Equal(t, "serving.kserve.io/v1beta1", isvc.APIVersion)
	assert.Equal(t, "InferenceService", isvc.Kind)
	c := isvc.Spec.Predictor.Containers[0]
	assert.Equal(t, "kserve-container", c.Name)
	assert.ElementsMatch(t, []string{"--workers=1", "--http_port=8080", "--model_name=custom-model"}, c.Args)
	assert.Empty(t, c.Ports, "REST on 8080 needs no port: Knative defaults to it")
	assert.Equal(t, "2", c.Resources.Limits.Cpu().String())
	assert.Equal(t, "2Gi", c.Resources.Limits.Memory().String())
	assert.Equal(t, "1", c.Resources.Requests.Cpu().String())
	assert.Equal(t, "1Gi", c.Resources.Requests.Memory().String())
	assert.Equal(t, "/v1/models/custom-model", c.ReadinessProbe.HTTPGet.Path)
}

func TestRender_GRPCExposesOnlyH2C(t *testing.T) {
	objs, err := Manifests(goldenCases()["grpc"])
	require.NoError(t, err)
	c := objs[0].(*InferenceService).Spec.Predictor.Containers[0]
	require.Len(t, c.Ports, 1)
	assert.Equal(t, "h2c", c.Ports[0].Name)
	assert.EqualValues(t, 8081, c.Ports[0].ContainerPort)
	assert.Contains(t, c.Args, "--grpc_port=8081")
	// Probes go to the pod-internal REST listener, Open Inference Protocol path.
	assert.Equal(t, "/v2/models/custom-model-grpc/ready", c.ReadinessProbe.HTTPGet.Path)
	assert.Equal(t, 8080, c.ReadinessProbe.HTTPGet.Port.IntValue())
	assert.Equal(t, c.ReadinessProbe.HTTPGet, c.StartupProbe.HTTPGet)
}

func TestRender_Deterministic(t *testing.T) {
	for name, opts := range goldenCases() {
		first, err := Render(opts)
		require.NoError(t, err)
		for range 20 {
			again, err := Render(opts)
			require.NoError(t, err)
			require.Equal(t, string(first), string(again), name)
		}
	}
}

func TestRender_DoesNotAliasOptions(t *testing.T) {
	opts := goldenCases()["gpu"]
	objs, err := Manifests(opts)
	require.NoError(t, err)
	p := objs[0].(*InferenceService).Spec.Predictor
	p.NodeSelector["changed"] = "yes"
	assert.NotContains(t, opts.NodeSelector, "changed")
}

func TestStartupProbe_FailureThresholdCoversTimeout(t *testing.T) {
	for _, tc := range []struct {
		timeout time.Duration
		want    int32
	}{{0, 120}, {time.Minute, 12}, {61 * time.Second, 13}, {time.Second, 1}} {
		o := goldenCases()["rest"]
		o.StartupTimeout = tc.timeout
		_, p := o.probes(project.ProtocolV1, DefaultHTTPPort, "m")
		assert.Equal(t, tc.want, p.FailureThreshold, tc.timeout)
		assert.EqualValues(t, 5, p.PeriodSeconds)
	}
}

func TestFromProject_Deploy(t *testing.T) {
	f := &project.File{
		Name: "m", Module: "m", Template: "rest", Protocol: "v1", Image: "img",
		Deploy: &project.Deploy{
			Namespace: "ns", Workers: 3, StorageURI: "gs://b/m", LogLevel: "WARNING",
			Env: []project.EnvVar{{Name: "A", Value: "1"}}, DeploymentMode: "Knative",
			MinReplicas: intp(0), MaxReplicas: 5, ScaleMetric: "rps", ScaleTarget: 100,
			ServiceAccountName: "sa", NodeSelector: map[string]string{"k": "v"},
			Tolerations: []project.Toleration{{Key: "k", Operator: "Equal", Value: "v", Effect: "NoExecute"}},
		},
	}
	o := FromProject(f)
	assert.Equal(t, "ns", o.Namespace)
	assert.Equal(t, 3, o.Workers)
	assert.Equal(t, "gs://b/m", o.StorageURI)
	assert.Equal(t, "WARNING", o.LogLevel)
	assert.Equal(t, []project.EnvVar{{Name: "A", Value: "1"}}, o.Env)
	assert.Equal(t, "Knative", o.DeploymentMode)
	assert.Equal(t, 0, *o.MinReplicas)
	assert.Equal(t, 5, o.MaxReplicas)
	assert.Equal(t, "rps", o.ScaleMetric)
	assert.Equal(t, 100, o.ScaleTarget)
	assert.Equal(t, "sa", o.ServiceAccountName)
	assert.Equal(t, map[string]string{"k": "v"}, o.NodeSelector)
	assert.Equal(t, f.Deploy.Tolerations, o.Tolerations)
	assert.Equal(t, DefaultHTTPPort, o.HTTPPort)
	assert.Equal(t, DefaultGRPCPort, o.GRPCPort)
	assert.True(t, o.Metrics)
	require.NoError(t, o.Validate())
	// Where each value was read, for errors about it; the file sets
	// neither a logger nor gRPC, so their flags name themselves.
	assert.Equal(t, "kserve-gen.yaml deploy.storageUri", o.setting("storage-uri"))
	assert.Equal(t, "kserve-gen.yaml deploy.env", o.setting("env A"))
	assert.Equal(t, "kserve-gen.yaml deploy.nodeSelector", o.setting("node-selector k"))
	assert.Equal(t, "kserve-gen.yaml image", o.setting("image"))
	assert.Equal(t, "--logger-url", o.setting("logger-url"))
	assert.Equal(t, "--grpc", o.setting("grpc"))
	assert.Equal(t, "--env", o.setting("env B"))

	// Options own their data.
	*f.Deploy.MinReplicas = 7
	f.Deploy.NodeSelector["k"] = "changed"
	assert.Equal(t, 0, *o.MinReplicas)
	assert.Equal(t, "v", o.NodeSelector["k"])
}

func TestMarshalYAML_QuotesAmbiguousStrings(t *testing.T) {
	out, err := MarshalYAML(map[string]any{"a": "8080", "b": "true", "c": "null", "d": "plain", "e": 8080, "f": []string{}})
	require.NoError(t, err)
	assert.Equal(t, "a: \"8080\"\nb: \"true\"\nc: \"null\"\nd: plain\ne: 8080\nf: []\n", string(out))
	var back map[string]any
	require.NoError(t, yaml.Unmarshal(out, &back))
	assert.Equal(t, "8080", back["a"])
	assert.Equal(t, "true", back["b"])
}

func TestMarshalYAML_MultiDocument(t *testing.T) {
	out, err := MarshalYAML(map[string]int{"a": 1}, map[string]int{"b": 2})
	require.NoError(t, err)
	assert.Equal(t, "a: 1\n---\nb: 2\n", string(out))
}

func TestMarshalYAML_DropsEmptyObjects(t *testing.T) {
	out, err := MarshalYAML(map[string]any{"keep": 1, "empty": map[string]any{}, "nested": map[string]any{"inner": map[string]any{}}})
	require.NoError(t, err)
	assert.Equal(t, "keep: 1\n", string(out))
}

func TestMarshalYAML_Error(t *testing.T) {
	_, err := MarshalYAML(map[string]any{"f": func() {}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "encode map[string]interface {}")
}

func TestGoldenCases_CoverAcceptance(t *testing.T) {
	names := make([]string, 0)
	for n := range goldenCases() {
		names = append(names, n)
	}
	for _, required := range []string{"rest", "grpc", "gpu", "serving-runtime", "transformer"} {
		assert.True(t, slices.Contains(names, required), required)
	}
}

// docs/deploy.md shows the real output: its YAML blocks are the goldens.
func TestDocs_ShowGoldenOutput(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "deploy.md"))
	require.NoError(t, err)
	for _, name := range []string{"rest", "grpc", "serving-runtime", "transformer"} {
		want, err := os.ReadFile(filepath.Join(goldenDir, name+".yaml"))
		require.NoError(t, err)
		assert.Contains(t, string(doc), "```yaml\n"+string(want)+"```\n", "docs/deploy.md must show %s.yaml verbatim", name)
	}
}

// An onnx project's server is told its device: cuda when GPUs are
// requested (a broken CUDA fails the pod at start instead of serving on the
// CPU), cpu otherwise; other templates have no --device flag.
func TestRender_ONNXDeviceFollowsGPU(t *testing.T) {
	args := func(f project.File, change func(*Options)) []string {
		o := FromProject(&f)
		o.Image = "registry.example.com/iris:v1"
		if change != nil {
			change(&o)
		}
		objs, err := Manifests(o)
		require.NoError(t, err)
		return objs[0].(*InferenceService).Spec.Predictor.Containers[0].Args
	}
	onnx := project.File{Name: "iris", Module: "iris", Template: project.TemplateONNX, Protocol: project.ProtocolV2}
	assert.Equal(t, []string{"--model_name=iris", "--http_port=8080", "--workers=1", "--device=cpu"}, args(onnx, nil))
	gpu := onnx
	gpu.GPU = 1
	assert.Equal(t, []string{"--model_name=iris", "--http_port=8080", "--workers=1", "--device=cuda"}, args(gpu, nil))
	// deploy --gpu on a CPU project, and the user's own --device last (it wins).
	assert.Equal(t, []string{"--model_name=iris", "--http_port=8080", "--workers=1", "--device=cuda", "--device=auto"},
		args(onnx, func(o *Options) { o.GPU = 2; o.Args = []string{"--device=auto"} }))
	rest := project.File{Name: "iris", Module: "iris", Template: project.TemplateREST, Protocol: project.ProtocolV1, GPU: 1}
	assert.Equal(t, []string{"--model_name=iris", "--http_port=8080", "--workers=1"}, args(rest, nil))
}

// A transformer calling a model-format predictor over grpc-v2 reaches it
// through the one port Knative routes to, which KServe's runtimes leave to
// the InferenceService (their containers declare none, so Knative sent the
// gRPC calls to the REST port): the predictor's model exposes the gRPC port
// of the built-in runtime KServe picks for the format, named h2c, as
// KServe's own Triton and TorchServe gRPC samples do.
func TestRender_TransformerGRPCPredictorExposesItsRuntimesGRPCPort(t *testing.T) {
	ports := func(format, protocol string) ([]corev1.ContainerPort, error) {
		o := validOptions()
		o.Protocol = project.ProtocolV2
		o.Predictor = &project.Predictor{ModelFormat: format, StorageURI: "gs://bucket/model", Protocol: protocol}
		objs, err := Manifests(o)
		if err != nil {
			return nil, err
		}
		return objs[0].(*InferenceService).Spec.Predictor.Model.Ports, nil
	}
	for format, port := range map[string]int32{"onnx": 9000, "tensorflow": 9000, "tensorrt": 9000, "triton": 9000, "pytorch": 7070} {
		got, err := ports(format, project.ProtocolGRPCV2)
		require.NoError(t, err)
		assert.Equal(t, []corev1.ContainerPort{{Name: PortNameH2C, ContainerPort: port, Protocol: corev1.ProtocolTCP}}, got, format)
		got, err = ports(format, project.ProtocolV2)
		require.NoError(t, err)
		assert.Nil(t, got, "%s over v2: the runtime's REST port, Knative's default", format)
	}
	_, err := ports("sklearn", project.ProtocolGRPCV2)
	assert.EqualError(t, err, "--predictor-protocol grpc-v2: none of KServe's built-in runtimes serves model format sklearn over gRPC (Triton does onnx, tensorflow, tensorrt and triton; TorchServe pytorch); call it over v1 or v2, or give --predictor-image")
}

// A gRPC serving runtime lists v2 and grpc-v2, so it must serve both: the
// runtime runs REST and gRPC and exposes no port (REST on Knative's default
// 8080 for a v2 InferenceService), and an InferenceService over grpc-v2
// exposes h2c itself, as KServe's own gRPC samples do for Triton. A runtime
// exposing h2c routed a v2 InferenceService's REST calls to the gRPC port.
func TestRender_GRPCServingRuntimeLeavesTheGRPCPortToTheInferenceService(t *testing.T) {
	objs, err := Manifests(goldenCases()["cluster-serving-runtime-grpc"])
	require.NoError(t, err)
	rt, isvc := objs[0].(*ServingRuntime), objs[1].(*InferenceService)
	assert.Equal(t, []string{project.ProtocolV2, project.ProtocolGRPCV2}, rt.Spec.ProtocolVersions)
	c := rt.Spec.Containers[0]
	assert.Nil(t, c.Ports)
	assert.Equal(t, []string{"--model_name={{.Name}}", "--http_port=8080", "--grpc_port=8081", "--enable_grpc=true", "--workers=1"}, c.Args)
	assert.Equal(t, project.ProtocolGRPCV2, isvc.Spec.Predictor.Model.ProtocolVersion)
	assert.Equal(t, []corev1.ContainerPort{{Name: PortNameH2C, ContainerPort: 8081, Protocol: corev1.ProtocolTCP}}, isvc.Spec.Predictor.Model.Ports)
}

// A serving runtime is shared by every InferenceService that selects it,
// and GPUs are each InferenceService's own resources: the device goes with
// them, on the InferenceService's model (KServe appends its args to the
// runtime's), so the runtime is the same whatever --gpu, and applying one
// deployment's output does not move the others' servers to another device.
func TestRender_ServingRuntimeLeavesTheDeviceToEachInferenceService(t *testing.T) {
	render := func(gpu int, args ...string) (*ServingRuntime, *InferenceService) {
		o := FromProject(&project.File{Name: "iris", Module: "iris", Template: project.TemplateONNX, Protocol: project.ProtocolV2, GPU: gpu})
		o.Image = "registry.example.com/iris:v1"
		o.Runtime = &RuntimeOptions{Name: "onnx-go"}
		o.Args = args
		objs, err := Manifests(o)
		require.NoError(t, err)
		return objs[0].(*ServingRuntime), objs[1].(*InferenceService)
	}
	cpuRT, cpu := render(0)
	gpuRT, gpu := render(1)
	assert.Equal(t, cpuRT, gpuRT, "the runtime does not depend on one InferenceService's GPUs")
	assert.Equal(t, []string{"--model_name={{.Name}}", "--http_port=8080", "--workers=1"}, cpuRT.Spec.Containers[0].Args)
	assert.Equal(t, []string{"--device=cpu"}, cpu.Spec.Predictor.Model.Args)
	assert.Equal(t, []string{"--device=cuda"}, gpu.Spec.Predictor.Model.Args)

	// The user's own --device stays where --arg goes, the runtime, and
	// is not overridden by one appended from the InferenceService.
	rt, isvc := render(1, "--device=cuda:1")
	assert.Equal(t, []string{"--model_name={{.Name}}", "--http_port=8080", "--workers=1", "--device=cuda:1"}, rt.Spec.Containers[0].Args)
	assert.Nil(t, isvc.Spec.Predictor.Model.Args)
	_, isvc = render(1, "-device", "cpu")
	assert.Nil(t, isvc.Spec.Predictor.Model.Args, "Go's flag package reads -device VALUE too")
	_, isvc = render(1, "--device_id=1", "device=cpu")
	assert.Equal(t, []string{"--device=cuda"}, isvc.Spec.Predictor.Model.Args, "neither sets --device")
}

// Exposing a container's gRPC port turns its gRPC server on: a kserve-gen
// rest project's main.go defaults --enable_grpc to false, so a manifest
// that routes to h2c:8081 without the flag pointed at a port nothing
// listened on (kserve-gen deploy --grpc in a rest project, or a transformer
// calling a rest project's image over grpc-v2).
func TestRender_GRPCTurnsTheServersGRPCOn(t *testing.T) {
	rest := FromProject(&project.File{Name: "custom-model", Module: "custom-model", Template: project.TemplateREST, Protocol: project.ProtocolV1})
	rest.Image = "docker.io/example/custom-model:v1"
	rest.GRPC, rest.Protocol = true, project.ProtocolV2
	objs, err := Manifests(rest)
	require.NoError(t, err)
	assert.Equal(t, []string{"--model_name=custom-model", "--http_port=8080", "--grpc_port=8081", "--enable_grpc=true", "--workers=1"},
		objs[0].(*InferenceService).Spec.Predictor.Containers[0].Args)

	rest.Runtime = &RuntimeOptions{}
	objs, err = Manifests(rest)
	require.NoError(t, err)
	assert.Contains(t, objs[0].(*ServingRuntime).Spec.Containers[0].Args, "--enable_grpc=true")

	txf := goldenCases()["transformer"]
	txf.Predictor.Protocol = project.ProtocolGRPCV2
	objs, err = Manifests(txf)
	require.NoError(t, err)
	assert.Equal(t, []string{"--model_name=custom-transformer", "--http_port=8080", "--grpc_port=8081", "--enable_grpc=true"},
		objs[0].(*InferenceService).Spec.Predictor.Containers[0].Args)

	rest = FromProject(&project.File{Name: "custom-model", Module: "custom-model", Template: project.TemplateREST, Protocol: project.ProtocolV1})
	rest.Image = "docker.io/example/custom-model:v1"
	objs, err = Manifests(rest)
	require.NoError(t, err)
	assert.NotContains(t, objs[0].(*InferenceService).Spec.Predictor.Containers[0].Args, "--enable_grpc=true", "REST-only manifests leave gRPC to the project")
}

// Knative sets PORT to a container's exposed port, and a kserve-gen image's
// Procfile passes --http_port=${PORT:-8080}. A container that exposes a
// port other than the one its probes use must therefore pin --http_port
// itself: a transformer's predictor image called over grpc-v2 exposed h2c
// 8081 without it, so REST asked for 8081 too and the server exited at
// start ("argument --grpc_port: 8081 is also --http_port").
func TestRender_ExposedPortPinsHTTPPort(t *testing.T) {
	cases := goldenCases()
	txf := cases["transformer"]
	txf.Predictor = &project.Predictor{Image: txf.Predictor.Image, Protocol: project.ProtocolGRPCV2}
	cases["transformer predictor over grpc-v2"] = txf
	for name, o := range cases {
		objs, err := Manifests(o)
		require.NoError(t, err, name)
		var containers []corev1.Container
		for _, obj := range objs {
			switch obj := obj.(type) {
			case *InferenceService:
				containers = append(containers, obj.Spec.Predictor.Containers...)
				if obj.Spec.Transformer != nil {
					containers = append(containers, obj.Spec.Transformer.Containers...)
				}
			case *ServingRuntime:
				containers = append(containers, obj.Spec.Containers...)
			}
		}
		for _, c := range containers {
			if len(c.Ports) == 0 || c.ReadinessProbe == nil {
				continue
			}
			knativePort := c.Ports[0].ContainerPort
			probePort := c.ReadinessProbe.HTTPGet.Port.IntValue()
			if int(knativePort) != probePort {
				assert.Contains(t, c.Args, "--http_port="+strconv.Itoa(probePort), "%s: %s exposes %d, so Knative sets PORT=%d", name, c.Image, knativePort, knativePort)
			}
		}
	}
}

// KServe downloads a runtime InferenceService's storageUri into /mnt/models
// but passes the runtime's container no STORAGE_URI and no --model_dir (its
// own runtimes hard-code --model_dir=/mnt/models), so a kserve-gen onnx
// server loaded the model baked into its image instead of the one named.
// The InferenceService carries STORAGE_URI, which KServe's
// storage-initializer rewrites to /mnt/models; without a storageUri the
// runtime is left to serve its image's model.
func TestRender_ServingRuntimeTellsTheServerItsModel(t *testing.T) {
	o := goldenCases()["serving-runtime"]
	objs, err := Manifests(o)
	require.NoError(t, err)
	model := objs[1].(*InferenceService).Spec.Predictor.Model
	assert.Equal(t, "pvc://models/custom-model/", model.StorageURI)
	assert.Contains(t, model.Env, corev1.EnvVar{Name: "STORAGE_URI", Value: "pvc://models/custom-model/"})
	assert.NotContains(t, objs[0].(*ServingRuntime).Spec.Containers[0].Args, "--model_dir=/mnt/models")

	o.StorageURI = ""
	objs, err = Manifests(o)
	require.NoError(t, err)
	for _, e := range objs[1].(*InferenceService).Spec.Predictor.Model.Env {
		assert.NotEqual(t, "STORAGE_URI", e.Name)
	}
}

// The server drains for --grace_period after SIGTERM (default 30 s), and a
// request may run for --timeout: with a longer timeout, a request still
// running at SIGTERM had its connection closed 30 s later, long before the
// timeout it was allowed. --grace_period follows --timeout on the server
// that timeout applies to (the predictor, the transformer, or, through a
// shared runtime, each InferenceService's model.args, which KServe appends
// to the runtime's), unless the user's own --arg sets it.
func TestRender_GracePeriodFollowsTimeout(t *testing.T) {
	render := func(o Options) []any {
		t.Helper()
		objs, err := Manifests(o)
		require.NoError(t, err)
		return objs
	}
	custom := goldenCases()["rest"]
	custom.Timeout = 120
	assert.Equal(t, []string{"--model_name=custom-model", "--http_port=8080", "--workers=1", "--grace_period=120"},
		render(custom)[0].(*InferenceService).Spec.Predictor.Containers[0].Args)

	custom.Args = []string{"--grace_period=45"}
	assert.Equal(t, []string{"--model_name=custom-model", "--http_port=8080", "--workers=1", "--grace_period=45"},
		render(custom)[0].(*InferenceService).Spec.Predictor.Containers[0].Args, "the user's own --grace_period is left alone")
	custom.Args = []string{"-grace_period", "45"}
	assert.Equal(t, []string{"--model_name=custom-model", "--http_port=8080", "--workers=1", "-grace_period", "45"},
		render(custom)[0].(*InferenceService).Spec.Predictor.Containers[0].Args)

	// The server reads --grace as --grace_period (a unique prefix): a
	// second --grace_period=120 before it was ignored by the server, and
	// the pod's grace period followed it instead of the user's 45.
	custom.Args = []string{"--grace=45"}
	assert.Equal(t, []string{"--model_name=custom-model", "--http_port=8080", "--workers=1", "--grace=45"},
		render(custom)[0].(*InferenceService).Spec.Predictor.Containers[0].Args, "the user's own --grace is left alone")

	custom.Timeout, custom.Args = 0, nil
	assert.NotContains(t, strings.Join(render(custom)[0].(*InferenceService).Spec.Predictor.Containers[0].Args, " "), "grace_period",
		"without --timeout the server keeps its default")

	txf := goldenCases()["transformer"]
	txf.Timeout = 300
	isvc := render(txf)[0].(*InferenceService)
	assert.Equal(t, []string{"--model_name=custom-transformer", "--http_port=8080", "--workers=1", "--predictor_protocol=v1", "--grace_period=300"},
		isvc.Spec.Transformer.Containers[0].Args)
	assert.Equal(t, []string{"--model_name=custom-transformer"}, isvc.Spec.Predictor.Containers[0].Args, "the timeout is the transformer's")

	rt := goldenCases()["serving-runtime"]
	rt.Timeout = 90
	objs := render(rt)
	assert.Equal(t, []string{"--model_name={{.Name}}", "--http_port=8080", "--workers=1"}, objs[0].(*ServingRuntime).Spec.Containers[0].Args,
		"the runtime is shared by InferenceServices with their own timeouts")
	assert.Equal(t, []string{"--grace_period=90"}, objs[1].(*InferenceService).Spec.Predictor.Model.Args)
	rt.Args = []string{"--grace_period=10"}
	assert.Nil(t, render(rt)[1].(*InferenceService).Spec.Predictor.Model.Args, "appended, it would override the user's own")
}

// After SIGTERM the server drains for --grace_period, then gives each
// model's Unload --grace_period again (at least 5 s): 60 s by default,
// twice the 30 s after which Kubernetes SIGKILLs a pod by default, so a
// Standard-mode pod was killed in the middle of its drain or unload.
// Standard mode sets the pod's terminationGracePeriodSeconds to cover both
// (and 5 s to exit) on every component running a kserve-gen server;
// Knative sets it itself from the timeout and refuses one of ours, and the
// cluster's default mode may be Knative.
func TestRender_StandardTerminationGraceCoversDrainAndUnload(t *testing.T) {
	grace := func(o Options) (pred, txf *int64) {
		t.Helper()
		objs, err := Manifests(o)
		require.NoError(t, err)
		for _, obj := range objs {
			if isvc, ok := obj.(*InferenceService); ok {
				pred = isvc.Spec.Predictor.TerminationGracePeriodSeconds
				if isvc.Spec.Transformer != nil {
					txf = isvc.Spec.Transformer.TerminationGracePeriodSeconds
				}
			}
		}
		return pred, txf
	}
	i64 := func(v int64) *int64 { return &v }
	o := goldenCases()["rest"]
	o.DeploymentMode = ModeStandard
	p, _ := grace(o)
	assert.Equal(t, i64(70), p, "5 s preStop sleep + 30 s drain + 30 s unload + 5 s")
	o.Timeout = 120
	p, _ = grace(o)
	assert.Equal(t, i64(250), p, "--grace_period=120 from --timeout")
	for args, want := range map[string]int64{"--grace_period=2.5": 18, "-grace_period 1m30s": 190, "--grace_period=0": 15, "--grace=2.5": 18, "--gra 1m30s": 190} {
		o.Args = strings.Fields(args)
		p, _ = grace(o)
		assert.Equal(t, i64(want), p, "the user's own %s", args)
	}
	o.Args = []string{"--grace_period=soon"}
	_, err := Manifests(o)
	assert.EqualError(t, err, `--arg --grace_period=soon: not seconds (30, 2.5) or a duration (1m30s); the server would refuse to start`)

	rt := goldenCases()["serving-runtime"]
	rt.DeploymentMode, rt.Timeout = ModeStandard, 40
	p, _ = grace(rt)
	assert.Equal(t, i64(90), p, "the InferenceService's --grace_period=40, on its own pod spec")

	txf := goldenCases()["transformer"]
	txf.DeploymentMode, txf.Timeout = ModeStandard, 60
	p, tx := grace(txf)
	assert.Equal(t, i64(130), tx)
	assert.Equal(t, i64(70), p, "the predictor image's server keeps its default")
	onnx := goldenCases()["transformer-onnx-grpc"]
	onnx.DeploymentMode = ModeStandard
	p, tx = grace(onnx)
	assert.Equal(t, i64(70), tx)
	assert.Nil(t, p, "a KServe runtime's server is not ours")

	for _, mode := range []string{ModeDefault, ModeKnative} {
		o.DeploymentMode, o.Args = mode, nil
		p, _ = grace(o)
		assert.Nil(t, p, "mode %q", mode)
	}
}

// When Kubernetes deletes a pod it sends SIGTERM while the pod is being
// taken out of its Service's endpoints; kube-proxy and the gateways learn
// that a moment later, and meanwhile send new connections to a server that
// stopped accepting at SIGTERM: refused. In Standard mode each container
// running a kserve-gen server sleeps in a preStop hook first (Kubernetes'
// sleep action), serving as before, and the termination grace period,
// which counts the hook, grows by as much. Knative's queue-proxy has its
// own preStop hook and Knative refuses ours; the cluster's default mode
// may be Knative.
func TestRender_StandardPreStopSleep(t *testing.T) {
	preStop := func(seconds int64) *corev1.Lifecycle {
		return &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: seconds}}}
	}
	i64 := func(v int64) *int64 { return &v }
	isvc := func(o Options) *InferenceService {
		t.Helper()
		objs, err := Manifests(o)
		require.NoError(t, err)
		for _, obj := range objs {
			if isvc, ok := obj.(*InferenceService); ok {
				return isvc
			}
		}
		t.Fatal("no InferenceService")
		return nil
	}

	o := goldenCases()["rest"]
	o.DeploymentMode = ModeStandard
	p := isvc(o).Spec.Predictor
	assert.Equal(t, preStop(DefaultPreStopSleep), p.Containers[0].Lifecycle, "on by default in Standard mode")
	assert.Equal(t, i64(5+65), p.TerminationGracePeriodSeconds, "the sleep, then the drain and unload")
	o.PreStopSleep = intp(20)
	p = isvc(o).Spec.Predictor
	assert.Equal(t, preStop(20), p.Containers[0].Lifecycle)
	assert.Equal(t, i64(20+65), p.TerminationGracePeriodSeconds)
	o.PreStopSleep = intp(0)
	p = isvc(o).Spec.Predictor
	assert.Nil(t, p.Containers[0].Lifecycle, "0 turns it off")
	assert.Equal(t, i64(65), p.TerminationGracePeriodSeconds)

	// A serving runtime is shared by InferenceServices of any mode: the
	// hook goes on this one's model, which KServe merges into the
	// runtime's container.
	rt := goldenCases()["serving-runtime"]
	rt.DeploymentMode = ModeStandard
	objs, err := Manifests(rt)
	require.NoError(t, err)
	assert.Nil(t, objs[0].(*ServingRuntime).Spec.Containers[0].Lifecycle)
	assert.Equal(t, preStop(DefaultPreStopSleep), objs[1].(*InferenceService).Spec.Predictor.Model.Lifecycle)

	// A transformer and a predictor image run kserve-gen servers; a
	// KServe runtime's server is left as KServe makes it, as its
	// termination grace period is.
	txf := goldenCases()["transformer"]
	txf.DeploymentMode = ModeStandard
	spec := isvc(txf).Spec
	assert.Equal(t, preStop(DefaultPreStopSleep), spec.Transformer.Containers[0].Lifecycle)
	assert.Equal(t, preStop(DefaultPreStopSleep), spec.Predictor.Containers[0].Lifecycle)
	onnx := goldenCases()["transformer-onnx-grpc"]
	onnx.DeploymentMode = ModeStandard
	spec = isvc(onnx).Spec
	assert.Equal(t, preStop(DefaultPreStopSleep), spec.Transformer.Containers[0].Lifecycle)
	assert.Nil(t, spec.Predictor.Model.Lifecycle)

	for _, mode := range []string{ModeDefault, ModeKnative} {
		o := goldenCases()["rest"]
		o.DeploymentMode = mode
		assert.Nil(t, isvc(o).Spec.Predictor.Containers[0].Lifecycle, "mode %q", mode)
	}
}
