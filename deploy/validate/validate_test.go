package validate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kserve/kserve/pkg/apis/serving/v1alpha1"
	"github.com/kserve/kserve/pkg/apis/serving/v1beta1"
	kservebatcher "github.com/kserve/kserve/pkg/batcher"
	"github.com/kserve/kserve/pkg/constants"
	kservedeployment "github.com/kserve/kserve/pkg/controller/v1beta1/inferenceservice/reconcilers/deployment"
	kserveraw "github.com/kserve/kserve/pkg/controller/v1beta1/inferenceservice/reconcilers/raw"
	isvcutils "github.com/kserve/kserve/pkg/controller/v1beta1/inferenceservice/utils"
	kfslogger "github.com/kserve/kserve/pkg/logger"
	kservetypes "github.com/kserve/kserve/pkg/types"
	kservepod "github.com/kserve/kserve/pkg/webhook/admission/pod"
	srwebhook "github.com/kserve/kserve/pkg/webhook/admission/servingruntime"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/pkg/apis"
	pkgnet "knative.dev/pkg/network"
	knconfig "knative.dev/serving/pkg/apis/config"
	knservingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"

	"github.com/kserve-gen/kserve-gen/deploy"
	"github.com/kserve-gen/kserve-gen/project"
)

const goldenDir = "../testdata/golden"

// projectGoldenDir holds kserve-gen new's golden projects.
const projectGoldenDir = "../../testdata/golden"

// manifests is one YAML stream decoded strictly into KServe's own types.
type manifests struct {
	isvc     *v1beta1.InferenceService
	runtimes []client.Object // *v1alpha1.ServingRuntime or *v1alpha1.ClusterServingRuntime
	trigger  *eventingv1.Trigger
	configs  []*corev1.ConfigMap // --dashboard
	podMon   *monitoringv1.PodMonitor
}

// strictDecode converts a YAML document to JSON with sigs.k8s.io/yaml
// (duplicate keys are errors) and decodes it into KServe's type with
// unknown fields rejected: a misspelt or misplaced field fails here.
func strictDecode(doc []byte, into any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return fmt.Errorf("YAML to JSON: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("decode %T: %w", into, err)
	}
	return nil
}

// decodeStream splits a multi-document stream the way kubectl does and
// decodes every document by kind.
func decodeStream(t *testing.T, data []byte) manifests {
	t.Helper()
	var m manifests
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		var tm struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		require.NoError(t, yaml.Unmarshal(doc, &tm))
		switch tm.APIVersion + "/" + tm.Kind {
		case "serving.kserve.io/v1beta1/InferenceService":
			require.Nil(t, m.isvc, "one InferenceService per stream")
			m.isvc = &v1beta1.InferenceService{}
			require.NoError(t, strictDecode(doc, m.isvc))
		case "serving.kserve.io/v1alpha1/ServingRuntime":
			sr := &v1alpha1.ServingRuntime{}
			require.NoError(t, strictDecode(doc, sr))
			m.runtimes = append(m.runtimes, sr)
		case "serving.kserve.io/v1alpha1/ClusterServingRuntime":
			csr := &v1alpha1.ClusterServingRuntime{}
			require.NoError(t, strictDecode(doc, csr))
			m.runtimes = append(m.runtimes, csr)
		case "v1/ConfigMap":
			cm := &corev1.ConfigMap{}
			require.NoError(t, strictDecode(doc, cm))
			m.configs = append(m.configs, cm)
		case "monitoring.coreos.com/v1/PodMonitor":
			require.Nil(t, m.podMon, "one PodMonitor per stream")
			m.podMon = &monitoringv1.PodMonitor{}
			require.NoError(t, strictDecode(doc, m.podMon))
		case "eventing.knative.dev/v1/Trigger":
			require.Nil(t, m.trigger, "one Trigger per stream")
			m.trigger = &eventingv1.Trigger{}
			require.NoError(t, strictDecode(doc, m.trigger))
		default:
			t.Fatalf("unexpected object %s %s", tm.APIVersion, tm.Kind)
		}
	}
	require.NotNil(t, m.isvc, "every stream has an InferenceService")
	return m
}

func scheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	require.NoError(t, v1alpha1.AddToScheme(s))
	require.NoError(t, v1beta1.AddToScheme(s))
	return s
}

// knativeContext enables the Knative features kserve-gen's output may use;
// they are off in a default Knative install (see docs/deploy.md).
func knativeContext(t *testing.T) context.Context {
	t.Helper()
	features, err := knconfig.NewFeaturesConfigFromMap(map[string]string{
		knconfig.FeaturePodSpecNodeSelector: "enabled",
		knconfig.FeaturePodSpecTolerations:  "enabled",
	})
	require.NoError(t, err)
	return knconfig.ToContext(context.Background(), &knconfig.Config{Features: features})
}

func runtimeSpec(o client.Object) (string, v1alpha1.ServingRuntimeSpec) {
	switch rt := o.(type) {
	case *v1alpha1.ServingRuntime:
		return rt.Name, rt.Spec
	case *v1alpha1.ClusterServingRuntime:
		return rt.Name, rt.Spec
	}
	panic(fmt.Sprintf("not a runtime: %T", o))
}

// checkStream runs every check that works without a cluster on one stream.
func checkStream(t *testing.T, data []byte) {
	m := decodeStream(t, data)
	ctx := context.Background()
	for _, cm := range m.configs {
		checkDashboard(t, cm, m.isvc.Namespace)
	}
	// KEDA's Prometheus trigger gets the query as written: it must parse.
	if as := m.isvc.Spec.Predictor.AutoScaling; as != nil {
		for _, metric := range as.Metrics {
			if metric.External != nil && metric.External.Metric.Backend == "prometheus" {
				_, err := parser.ParseExpr(metric.External.Metric.Query)
				assert.NoError(t, err, "KEDA query %s", metric.External.Metric.Query)
			}
		}
	}

	// 1. The InferenceService validating webhook's own logic.
	warnings, err := (&v1beta1.InferenceServiceValidator{}).ValidateCreate(ctx, m.isvc)
	require.NoError(t, err, "KServe InferenceService validation")
	assert.Empty(t, warnings)

	// 2. PROTOCOL (custom predictor) or protocolVersion (model) is one KServe knows.
	pred := m.isvc.Spec.Predictor
	if pred.Model != nil {
		assert.Contains(t, []constants.InferenceServiceProtocol{constants.ProtocolV1, constants.ProtocolV2, constants.ProtocolGRPCV2}, pred.Model.GetProtocol())
	} else {
		custom := v1beta1.NewCustomPredictor(&pred.PodSpec)
		require.NoError(t, custom.Validate())
		assert.Contains(t, []constants.InferenceServiceProtocol{constants.ProtocolV1, constants.ProtocolV2}, custom.GetProtocol())
		assert.NotNil(t, custom.GetContainer(m.isvc.ObjectMeta, &pred.ComponentExtensionSpec, nil), "a container named kserve-container")
	}

	// 3. The pod KServe would build. With a runtime of ours: the runtime
	// webhook accepts it, the InferenceService selects it, and the
	// controller's own merge + {{.Name}} substitution produce the predictor
	// pod. With a model format and no runtime of ours (a transformer's
	// predictor), one of KServe's built-in runtimes must serve it.
	podSpec := corev1.PodSpec(pred.PodSpec)
	ours := true
	var rtAnn map[string]string
	if pred.Model != nil {
		if len(m.runtimes) == 0 {
			podSpec, rtAnn = builtinRuntimePod(t, m)
			ours = false
			checkRuntimeScraping(t, m.isvc, &pred.ComponentExtensionSpec, rtAnn, podSpec)
		} else {
			require.Len(t, m.runtimes, 1)
			podSpec = runtimePod(t, m)
			_, rt := runtimeSpec(m.runtimes[0])
			rtAnn = rt.Annotations
		}
	}
	checkServerPod(t, m.isvc, &pred.ComponentExtensionSpec, podSpec, ours)
	if ours {
		checkScraping(t, m.isvc, &pred.ComponentExtensionSpec, rtAnn, podSpec)
	}
	components := []component{{name: string(v1beta1.PredictorComponent), ext: &pred.ComponentExtensionSpec, podSpec: podSpec, runtimeAnn: rtAnn, ours: ours}}

	// 4. A transformer: KServe's custom transformer accepts it and, given
	// the predictor's service, adds --predictor_host and nothing we already
	// set; the pod passes the same checks.
	if tr := m.isvc.Spec.Transformer; tr != nil {
		custom := v1beta1.NewCustomTransformer(&tr.PodSpec)
		require.NoError(t, custom.Validate())
		assert.Contains(t, []constants.InferenceServiceProtocol{constants.ProtocolV1, constants.ProtocolV2}, custom.GetProtocol())
		ours := slices.Clone(tr.Containers[0].Args)
		c := custom.GetContainer(m.isvc.ObjectMeta, &tr.ComponentExtensionSpec, nil, constants.PredictorServiceName(m.isvc.Name))
		require.NotNil(t, c)
		host := constants.PredictorServiceName(m.isvc.Name) + "." + m.isvc.Namespace
		assert.Equal(t, append(ours, constants.ArgumentPredictorHost, host), c.Args, "KServe adds only --predictor_host")
		assert.Len(t, slices.DeleteFunc(slices.Clone(c.Args), func(a string) bool { return !strings.HasPrefix(a, "--predictor_protocol=") }), 1)
		checkServerPod(t, m.isvc, &tr.ComponentExtensionSpec, corev1.PodSpec(tr.PodSpec), true)
		checkScraping(t, m.isvc, &tr.ComponentExtensionSpec, nil, corev1.PodSpec(tr.PodSpec))
		components = append(components, component{name: string(v1beta1.TransformerComponent), ext: &tr.ComponentExtensionSpec, podSpec: corev1.PodSpec(tr.PodSpec), ours: true})
	}

	// 5. In Standard mode, the Service KServe's raw reconciler makes for
	// each component.
	if m.isvc.Annotations[constants.DeploymentMode] == string(constants.Standard) {
		for _, c := range components {
			checkStandardService(t, m.isvc, c)
		}
	}

	// 6. A Knative Eventing Trigger in front of it.
	if m.trigger != nil {
		checkTrigger(t, m)
	}

	// 7. The PodMonitor leads a Prometheus to each pod's metrics.
	if m.podMon != nil {
		checkPodMonitor(t, m.isvc, m.podMon, components)
	}
}

// checkTrigger: Knative Eventing's own defaulting and validation accept the
// Trigger, and it delivers to the InferenceService's v1 :predict endpoint,
// where the server (PROTOCOL v1) takes CloudEvents.
func checkTrigger(t *testing.T, m manifests) {
	t.Helper()
	tr := m.trigger.DeepCopy()
	ctx := context.Background()
	tr.SetDefaults(ctx)
	if ferr := tr.Validate(ctx).Filter(apis.ErrorLevel); ferr != nil {
		t.Fatalf("Knative rejects the Trigger: %v", ferr)
	}
	assert.Equal(t, m.isvc.Namespace, tr.Namespace)
	ref := tr.Spec.Subscriber.Ref
	require.NotNil(t, ref)
	assert.Equal(t, "serving.kserve.io/v1beta1", ref.APIVersion)
	assert.Equal(t, "InferenceService", ref.Kind)
	assert.Equal(t, m.isvc.Name, ref.Name)
	require.NotNil(t, tr.Spec.Subscriber.URI)
	assert.Equal(t, "/v1/models/"+m.isvc.Name+":predict", tr.Spec.Subscriber.URI.String())
	require.NotNil(t, tr.Spec.Filter)
	assert.NotEmpty(t, tr.Spec.Filter.Attributes["type"], "a type filter keeps the server's answers from coming back")
	c := m.isvc.Spec.Predictor.Containers
	if m.isvc.Spec.Transformer != nil {
		c = m.isvc.Spec.Transformer.Containers
	}
	if len(c) == 1 {
		assert.Contains(t, c[0].Env, corev1.EnvVar{Name: "PROTOCOL", Value: "v1"})
	}
}

// checkServerPod checks one model-server pod. Where we wrote the container
// (ours): the model name on the wire is the InferenceService name and the
// probes wait for the model. Always: Knative would accept the pod
// (serverless modes): one port at most, named h2c/http1, probes valid
// after Knative defaulting, with the component's concurrency and timeout
// as KServe's ksvc reconciler passes them (Knative bounds the timeout by
// its max-revision-timeout-seconds, 600 by default).
func checkServerPod(t *testing.T, isvc *v1beta1.InferenceService, ext *v1beta1.ComponentExtensionSpec, podSpec corev1.PodSpec, ours bool) {
	t.Helper()
	require.Len(t, podSpec.Containers, 1)
	c := podSpec.Containers[0]
	assert.Equal(t, constants.InferenceServiceContainerName, c.Name)
	assert.NotContains(t, strings.Join(c.Args, " "), "{{")
	if ours {
		assert.Contains(t, c.Args, "--model_name="+isvc.Name, "the model name on the wire is the InferenceService name")
		require.NotNil(t, c.ReadinessProbe)
		require.NotNil(t, c.StartupProbe)
		assert.Contains(t, c.ReadinessProbe.HTTPGet.Path, "/models/"+isvc.Name)
		// Knative sets PORT to the exposed port and a kserve-gen image's
		// Procfile passes --http_port=${PORT:-8080}: REST stays on the
		// probes' port only if the args pin it.
		if len(c.Ports) > 0 && int(c.Ports[0].ContainerPort) != c.ReadinessProbe.HTTPGet.Port.IntValue() {
			assert.Contains(t, c.Args, fmt.Sprintf("--http_port=%d", c.ReadinessProbe.HTTPGet.Port.IntValue()), "Knative sets PORT=%d", c.Ports[0].ContainerPort)
		}
	}
	if ours && isvc.Annotations[constants.DeploymentMode] == string(constants.Standard) {
		checkStandardShutdown(t, isvc, ext, podSpec)
	}
	if isvc.Annotations[constants.DeploymentMode] != string(constants.Standard) {
		rs := &knservingv1.RevisionSpec{PodSpec: podSpec, ContainerConcurrency: ext.ContainerConcurrency, TimeoutSeconds: ext.TimeoutSeconds}
		kctx := knativeContext(t)
		rs.SetDefaults(kctx)
		// Warnings (e.g. "Kubernetes default value is insecure" for the
		// unset securityContext) do not block admission; errors do.
		if ferr := rs.Validate(kctx).Filter(apis.ErrorLevel); ferr != nil {
			t.Fatalf("Knative rejects the pod: %v", ferr)
		}
		// Knative gives the pod the revision timeout (KServe's timeout,
		// passed on above) as its termination grace period
		// (knative.dev/serving pkg/reconciler/revision/resources
		// BuildPodSpec, a package this module leaves out for its
		// dependencies); a server of ours drains for as long, so a request
		// allowed the timeout is not cut by the server first.
		if ours && ext.TimeoutSeconds != nil {
			assert.Equal(t, time.Duration(*ext.TimeoutSeconds)*time.Second, serverGracePeriod(t, c.Args), "the server's --grace_period is the timeout: %v", c.Args)
		}
	}
}

// checkStandardShutdown: the Deployment KServe's reconciler builds for a
// Standard-mode pod of ours keeps the server serving for a preStop sleep
// while the pod leaves the endpoints (else the connections kube-proxy and
// the gateways still send were refused: the server stops accepting at
// SIGTERM), then gives it time to drain for its --grace_period and unload
// its models within as long again (at least 5 s) before Kubernetes
// SIGKILLs it; Kubernetes' 30 s default did not. Kubernetes counts the
// hook within the grace period, and refuses a sleep longer than it
// (validateSleepAction).
func checkStandardShutdown(t *testing.T, isvc *v1beta1.InferenceService, ext *v1beta1.ComponentExtensionSpec, podSpec corev1.PodSpec) {
	t.Helper()
	meta := metav1.ObjectMeta{Name: isvc.Name + "-component", Namespace: isvc.Namespace, Labels: map[string]string{}, Annotations: map[string]string{}}
	r, err := kservedeployment.NewDeploymentReconciler(fake.NewClientBuilder().Build(), scheme(t), meta, metav1.ObjectMeta{}, ext, podSpec.DeepCopy(), nil, nil)
	require.NoError(t, err)
	require.NotEmpty(t, r.DeploymentList)
	for _, d := range r.DeploymentList {
		got := d.Spec.Template.Spec.TerminationGracePeriodSeconds
		require.NotNil(t, got)
		c := d.Spec.Template.Spec.Containers[0]
		require.NotNil(t, c.Lifecycle, "Deployment %s: no preStop hook on %s", d.Name, c.Name)
		require.NotNil(t, c.Lifecycle.PreStop)
		require.NotNil(t, c.Lifecycle.PreStop.Sleep, "Kubernetes' sleep action: no shell needed in the image")
		sleep := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
		assert.Positive(t, sleep)
		assert.LessOrEqual(t, c.Lifecycle.PreStop.Sleep.Seconds, *got, "Kubernetes refuses a sleep longer than the grace period")
		grace := serverGracePeriod(t, podSpec.Containers[0].Args)
		need := sleep + grace + max(grace, 5*time.Second)
		assert.GreaterOrEqual(t, time.Duration(*got)*time.Second, need, "terminationGracePeriodSeconds %d: the server sleeps %s before SIGTERM, drains for %s and unloads within %s", *got, sleep, grace, max(grace, 5*time.Second))
	}
}

// serverGracePeriod is the --grace_period a kserve-gen server reads from
// args (the last one wins), or its default, 30 s.
func serverGracePeriod(t *testing.T, args []string) time.Duration {
	t.Helper()
	grace := 30 * time.Second
	for i, a := range args {
		v, ok := strings.CutPrefix(strings.TrimLeft(a, "-"), "grace_period")
		switch {
		case !strings.HasPrefix(a, "-") || !ok:
			continue
		case v == "" && i+1 < len(args):
			v = args[i+1]
		case strings.HasPrefix(v, "="):
			v = v[1:]
		default:
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			d, err := time.ParseDuration(v)
			require.NoError(t, err, "--grace_period %q", v)
			f = d.Seconds()
		}
		grace = time.Duration(f * float64(time.Second))
	}
	return grace
}

// podAnnotations are a component pod's annotations as KServe's component
// reconcilers merge them (buildObjectMeta): the component's over the
// InferenceService's over the serving runtime's.
func podAnnotations(runtimeAnn map[string]string, isvc *v1beta1.InferenceService, ext *v1beta1.ComponentExtensionSpec) map[string]string {
	ann := map[string]string{}
	maps.Copy(ann, runtimeAnn)
	maps.Copy(ann, isvc.Annotations)
	maps.Copy(ann, ext.Annotations)
	return ann
}

// checkScraping follows the Prometheus annotations of a pod running our
// server through KServe's pod webhook (its metrics aggregator, with the
// cluster's defaults off and on) and checks that they lead a Prometheus to
// the server's /metrics: in Standard mode the server's own port; otherwise
// queue-proxy's aggregation port, with queue-proxy told the server's port.
// Knative adds queue-proxy to the pod before the webhook sees it; here a
// bare container of that name stands in for it.
func checkScraping(t *testing.T, isvc *v1beta1.InferenceService, ext *v1beta1.ComponentExtensionSpec, runtimeAnn map[string]string, podSpec corev1.PodSpec) {
	t.Helper()
	if _, ok := isvc.Annotations[constants.SetPrometheusAnnotation]; !ok {
		return // --no-metrics
	}
	c := podSpec.Containers[0]
	require.NotNil(t, c.ReadinessProbe)
	serverPort := c.ReadinessProbe.HTTPGet.Port.String()
	standard := isvc.Annotations[constants.DeploymentMode] == string(constants.Standard)
	for _, clusterDefault := range []string{"false", "true"} {
		pod := &corev1.Pod{Spec: *podSpec.DeepCopy()}
		pod.Annotations = podAnnotations(runtimeAnn, isvc, ext)
		if !standard {
			pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "queue-proxy"})
		}
		ma := &kservepod.MetricsAggregator{EnableMetricAggregation: clusterDefault, EnablePrometheusScraping: clusterDefault}
		require.NoError(t, ma.InjectMetricsAggregator(pod))
		ann := pod.Annotations
		assert.Equal(t, "true", ann["prometheus.io/scrape"], "cluster default %s", clusterDefault)
		assert.Equal(t, "/metrics", ann[constants.PrometheusPathAnnotationKey], "cluster default %s", clusterDefault)
		if standard {
			assert.Equal(t, serverPort, ann[constants.PrometheusPortAnnotationKey],
				"Standard mode (no queue-proxy; cluster default %s): Prometheus must scrape the server's port", clusterDefault)
			continue
		}
		assert.Equal(t, constants.QueueProxyAggregatePrometheusMetricsPort, ann[constants.PrometheusPortAnnotationKey], "cluster default %s", clusterDefault)
		qp := pod.Spec.Containers[len(pod.Spec.Containers)-1]
		assert.Contains(t, qp.Env, corev1.EnvVar{Name: constants.KServeContainerPrometheusMetricsPortEnvVarKey, Value: serverPort},
			"queue-proxy aggregates the server's metrics (cluster default %s)", clusterDefault)
		assert.Contains(t, qp.Env, corev1.EnvVar{Name: constants.KServeContainerPrometheusMetricsPathEnvVarKey, Value: "/metrics"})
	}
}

// checkRuntimeScraping: a predictor from one of KServe's runtimes keeps the
// metrics port its runtime names (Triton's differs from our servers'), so
// in Knative mode queue-proxy aggregates from there; in Standard mode it is
// not pointed at any port (KServe's webhook would name queue-proxy's).
func checkRuntimeScraping(t *testing.T, isvc *v1beta1.InferenceService, ext *v1beta1.ComponentExtensionSpec, runtimeAnn map[string]string, podSpec corev1.PodSpec) {
	t.Helper()
	if _, ok := isvc.Annotations[constants.SetPrometheusAnnotation]; !ok {
		return // --no-metrics
	}
	pod := &corev1.Pod{Spec: *podSpec.DeepCopy()}
	pod.Annotations = podAnnotations(runtimeAnn, isvc, ext)
	standard := isvc.Annotations[constants.DeploymentMode] == string(constants.Standard)
	if !standard {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "queue-proxy"})
	}
	require.NoError(t, (&kservepod.MetricsAggregator{EnableMetricAggregation: "false", EnablePrometheusScraping: "false"}).InjectMetricsAggregator(pod))
	if standard {
		assert.NotContains(t, pod.Annotations, constants.PrometheusPortAnnotationKey, "Standard mode: no port for a runtime's predictor")
		assert.NotContains(t, pod.Annotations, "prometheus.io/scrape")
		return
	}
	want, ok := runtimeAnn[constants.KserveContainerPrometheusPortKey]
	if !ok {
		want = "8080" // KServe's default for a runtime naming none
	}
	qp := pod.Spec.Containers[len(pod.Spec.Containers)-1]
	assert.Contains(t, qp.Env, corev1.EnvVar{Name: constants.KServeContainerPrometheusMetricsPortEnvVarKey, Value: want},
		"queue-proxy aggregates the runtime's own metrics port")
}

// builtinRuntimes are the ClusterServingRuntimes KServe v0.16.0 installs,
// read from the module's own config/runtimes.
func builtinRuntimes(t *testing.T) []client.Object {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/kserve/kserve").Output()
	require.NoError(t, err, "locate the kserve module")
	files, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "config", "runtimes", "kserve-*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "KServe's built-in runtimes")
	var runtimes []client.Object
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		csr := &v1alpha1.ClusterServingRuntime{}
		require.NoError(t, yaml.Unmarshal(data, csr), f)
		runtimes = append(runtimes, csr)
	}
	return runtimes
}

// builtinRuntimePod is the predictor pod KServe builds for a model format
// from its built-in runtimes: one must support the format and protocol.
func builtinRuntimePod(t *testing.T, m manifests) (corev1.PodSpec, map[string]string) {
	t.Helper()
	ctx := context.Background()
	cl := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(builtinRuntimes(t)...).Build()
	model := m.isvc.Spec.Predictor.Model
	candidates, err := model.GetSupportingRuntimes(ctx, cl, m.isvc.Namespace, false, false)
	require.NoError(t, err)
	require.NotEmpty(t, candidates, "no KServe runtime serves model format %q over %s", model.ModelFormat.Name, model.GetProtocol())
	pod := mergedPod(t, m.isvc, candidates[0].Spec)
	if model.GetProtocol() == constants.ProtocolGRPCV2 {
		// Knative routes to the one declared port: it must be the
		// runtime's gRPC port, named h2c (the runtimes declare none).
		want := runtimeGRPCPort(t, candidates[0].Name, candidates[0].Spec)
		assert.Equal(t, []corev1.ContainerPort{{Name: "h2c", ContainerPort: want, Protocol: corev1.ProtocolTCP}}, pod.Containers[0].Ports,
			"%s over grpc-v2 on %s", model.ModelFormat.Name, candidates[0].Name)
	}
	return pod, candidates[0].Spec.Annotations
}

// runtimeGRPCPort is where a built-in runtime serves gRPC: its --grpc-port
// argument (Triton), or TorchServe's grpc_inference_port in the
// config.properties of KServe's own TorchServe samples.
func runtimeGRPCPort(t *testing.T, name string, rt v1alpha1.ServingRuntimeSpec) int32 {
	t.Helper()
	for _, a := range rt.Containers[0].Args {
		if v, ok := strings.CutPrefix(a, "--grpc-port="); ok {
			p, err := strconv.Atoi(v)
			require.NoError(t, err)
			return int32(p)
		}
	}
	require.Equal(t, "kserve-torchserve", name, "a runtime whose gRPC port this test does not know")
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/kserve/kserve").Output()
	require.NoError(t, err, "locate the kserve module")
	props, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "docs", "samples", "v1beta1", "torchserve", "v2", "config.properties"))
	require.NoError(t, err)
	match := regexp.MustCompile(`(?m)^grpc_inference_port=(\d+)$`).FindSubmatch(props)
	require.NotNil(t, match, "grpc_inference_port in TorchServe's config.properties")
	p, err := strconv.Atoi(string(match[1]))
	require.NoError(t, err)
	return int32(p)
}

// Every model format one of KServe's built-in runtimes is picked for over
// grpc-v2 can be a transformer's predictor over gRPC, reached on that
// runtime's gRPC port (builtinRuntimePod checks the port); a format none
// serves over gRPC is refused.
func TestTransformerGRPCPredictorOnEveryBuiltinRuntime(t *testing.T) {
	n := 0
	for _, obj := range builtinRuntimes(t) {
		rt := obj.(*v1alpha1.ClusterServingRuntime)
		if !slices.Contains(rt.Spec.ProtocolVersions, constants.ProtocolGRPCV2) {
			continue
		}
		for _, f := range rt.Spec.SupportedModelFormats {
			if f.AutoSelect == nil || !*f.AutoSelect {
				continue
			}
			version := ""
			if f.Version != nil {
				version = *f.Version
			}
			o := deploy.Options{Name: "tx", Namespace: "ns", Image: "registry.example.com/tx:v1", Protocol: "v2", HTTPPort: 8080, GRPCPort: 8081,
				Predictor: &project.Predictor{ModelFormat: f.Name, ModelFormatVersion: version, StorageURI: "gs://bucket/model", Protocol: project.ProtocolGRPCV2}}
			t.Run(rt.Name+"/"+f.Name+"/"+version, func(t *testing.T) {
				data, err := deploy.Render(o)
				require.NoError(t, err)
				checkStream(t, data)
			})
			n++
		}
	}
	assert.Equal(t, 6, n, "Triton's five auto-selected formats and TorchServe's pytorch")

	o := deploy.Options{Name: "tx", Image: "registry.example.com/tx:v1", Protocol: "v2", HTTPPort: 8080, GRPCPort: 8081,
		Predictor: &project.Predictor{ModelFormat: "sklearn", StorageURI: "gs://bucket/model", Protocol: project.ProtocolGRPCV2}}
	assert.ErrorContains(t, o.Validate(), "none of KServe's built-in runtimes serves model format sklearn over gRPC")
}

// mergedPod is the controller's merge of a runtime and the
// InferenceService's predictor, then placeholder substitution: the pod
// KServe runs.
func mergedPod(t *testing.T, isvc *v1beta1.InferenceService, rt v1alpha1.ServingRuntimeSpec) corev1.PodSpec {
	t.Helper()
	_, container, podSpec, err := isvcutils.MergeServingRuntimeAndInferenceServiceSpecs(
		rt.Containers, isvc.Spec.Predictor.Model.Container, isvc, constants.InferenceServiceContainerName,
		rt.ServingRuntimePodSpec, isvc.Spec.Predictor.PodSpec)
	require.NoError(t, err)
	require.NoError(t, isvcutils.ReplacePlaceholders(container, isvc.ObjectMeta))
	podSpec.Containers = []corev1.Container{*container}
	return *podSpec
}

// runtimePod reproduces the predictor reconciler's buildPodSpec.
func runtimePod(t *testing.T, m manifests) corev1.PodSpec {
	t.Helper()
	ctx := context.Background()
	s := scheme(t)
	rtName, rtSpec := runtimeSpec(m.runtimes[0])
	namespace := m.isvc.Namespace

	// The runtime admission webhook, with a fake API server that already
	// holds this runtime (a re-apply) and one of KServe's built-ins.
	builtin := &v1alpha1.ClusterServingRuntime{}
	builtin.Name = "kserve-sklearnserver"
	autoSelect, priority := true, int32(1)
	builtin.Spec.SupportedModelFormats = []v1alpha1.SupportedModelFormat{{Name: "sklearn", AutoSelect: &autoSelect, Priority: &priority}}
	builtin.Spec.Containers = []corev1.Container{{Name: constants.InferenceServiceContainerName, Image: "kserve/sklearnserver"}}
	cl := fake.NewClientBuilder().WithScheme(s).WithObjects(m.runtimes[0], builtin).Build()

	raw, err := json.Marshal(m.runtimes[0])
	require.NoError(t, err)
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		Operation: admissionv1.Create,
		Object:    runtime.RawExtension{Raw: raw},
	}}
	var resp admission.Response
	switch m.runtimes[0].(type) {
	case *v1alpha1.ServingRuntime:
		req.Namespace = namespace
		resp = (&srwebhook.ServingRuntimeValidator{Client: cl, Decoder: admission.NewDecoder(s)}).Handle(ctx, req)
	case *v1alpha1.ClusterServingRuntime:
		resp = (&srwebhook.ClusterServingRuntimeValidator{Client: cl, Decoder: admission.NewDecoder(s)}).Handle(ctx, req)
	}
	require.True(t, resp.Allowed, "runtime webhook denied: %+v", resp.Result)

	// Runtime selection: our runtime is the first candidate.
	model := m.isvc.Spec.Predictor.Model
	candidates, err := model.GetSupportingRuntimes(ctx, cl, namespace, false, false)
	require.NoError(t, err)
	require.NotEmpty(t, candidates, "no runtime supports model format %q", model.ModelFormat.Name)
	assert.Equal(t, rtName, candidates[0].Name)
	require.NotNil(t, model.Runtime)
	assert.Equal(t, rtName, *model.Runtime)

	return mergedPod(t, m.isvc, rtSpec)
}

// Every committed golden file passes KServe's and Knative's checks: deploy's
// own, and the inferenceservice.yaml kserve-gen new writes in each golden
// project (every template's).
func TestGoldenFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 4, "REST, gRPC, GPU and serving-runtime goldens at least")
	projects, err := filepath.Glob(filepath.Join(projectGoldenDir, "*", "inferenceservice.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(projects), 9, "rest, grpc, onnx, transformer, openai, timeseries and their variants")
	for _, f := range append(files, projects...) {
		name, _ := filepath.Rel(filepath.Dir(filepath.Dir(f)), f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			checkStream(t, data)
		})
	}
}

// checkScaled adds the autoscaling its deployment mode allows (HPA on CPU
// in Standard mode, Knative rps with a canary otherwise) to o, renders it
// and checks the stream as subtest name.
func checkScaled(t *testing.T, name string, o deploy.Options) {
	t.Helper()
	if o.DeploymentMode == deploy.ModeStandard {
		o.ScaleMetric, o.ScaleTarget = "cpu", 60
	} else {
		canary := 10
		o.ScaleMetric, o.ScaleTarget, o.CanaryTrafficPercent = "rps", 50, &canary
	}
	t.Run(name, func(t *testing.T) {
		data, err := deploy.Render(o)
		require.NoError(t, err)
		checkStream(t, data)
	})
}

// Beyond the goldens: every combination of the options that change the
// shape of the output renders to manifests KServe and Knative accept.
func TestOptionMatrix(t *testing.T) {
	intp := func(i int) *int { return &i }
	n := 0
	for _, protocol := range []string{project.ProtocolV1, project.ProtocolV2} {
		for _, grpc := range []bool{false, true} {
			if grpc && protocol == project.ProtocolV1 {
				continue
			}
			for rtName, rt := range map[string]*deploy.RuntimeOptions{
				"custom":                nil,
				"ServingRuntime":        {},
				"ClusterServingRuntime": {Cluster: true, ModelFormatVersion: "2"},
			} {
				for _, mode := range []string{deploy.ModeDefault, deploy.ModeKnative, deploy.ModeStandard} {
					for _, gpu := range []int{0, 1} {
						o := deploy.Options{
							Name: "matrix-model", Namespace: "ns", Image: "registry.example.com/team/matrix-model@sha256:" + strings.Repeat("a", 64),
							Protocol: protocol, GRPC: grpc, HTTPPort: 8080, GRPCPort: 8081, GPU: gpu,
							DeploymentMode: mode, MinReplicas: intp(1), MaxReplicas: 3, Metrics: true, PodMonitor: true, ONNXDevice: true,
							StorageURI: "hf://org/model", LogLevel: "DEBUG",
							Env:          []project.EnvVar{{Name: "A", Value: "1"}},
							NodeSelector: map[string]string{"pool": "inference"},
							Tolerations:  []project.Toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}},
							Runtime:      rt,
							Timeout:      120,
							Logger:       &project.Logger{URL: "http://message-dumper.default.svc.cluster.local", Mode: "request", MetadataHeaders: []string{"X-Request-Id"}},
						}
						if mode != deploy.ModeStandard {
							o.ContainerConcurrency = 4 // Knative's; refused in Standard mode
						}
						switch {
						case protocol == project.ProtocolV1 && gpu == 0:
							// KServe's batcher batches v1 :predict only; deploy refuses it for v2,
							// and with a Trigger, whose events it strips of their attributes.
							o.Batcher = &project.Batcher{MaxBatchSize: 16}
						case protocol == project.ProtocolV1:
							o.Trigger = &project.Trigger{Broker: "default", Filter: map[string]string{"type": "com.example.request"}}
						}
						checkScaled(t, fmt.Sprintf("%s/grpc=%v/%s/mode=%q/gpu=%d", protocol, grpc, rtName, mode, gpu), o)
						n++
					}
				}
			}
		}
	}
	assert.Equal(t, 54, n)
}

// Every shape of a transformer project's deployment: its own protocol and
// gRPC endpoint, each kind of predictor, deployment mode and GPU.
func TestTransformerMatrix(t *testing.T) {
	intp := func(i int) *int { return &i }
	predictors := map[string]project.Predictor{
		"image":              {Image: "registry.example.com/team/predictor:v1"},
		"image over grpc-v2": {Image: "registry.example.com/team/predictor:v1", StorageURI: "s3://models/m", Protocol: project.ProtocolGRPCV2},
		"sklearn runtime":    {ModelFormat: "sklearn", ModelFormatVersion: "1", StorageURI: "gs://bucket/sklearn"},
		"triton over grpc":   {ModelFormat: "onnx", StorageURI: "gs://bucket/onnx", Protocol: project.ProtocolGRPCV2},
	}
	n := 0
	for _, protocol := range []string{project.ProtocolV1, project.ProtocolV2} {
		for _, grpc := range []bool{false, true} {
			if grpc && protocol == project.ProtocolV1 {
				continue
			}
			for pname, pred := range predictors {
				for _, mode := range []string{deploy.ModeDefault, deploy.ModeKnative, deploy.ModeStandard} {
					for _, gpu := range []int{0, 1} {
						o := deploy.Options{
							Name: "matrix-transformer", Namespace: "ns", Image: "registry.example.com/team/matrix-transformer:v1",
							// A transformer's REST port other than its
							// predictor's (8080) half of the time.
							Protocol: protocol, GRPC: grpc, HTTPPort: 8080 + 920*gpu, GRPCPort: 8081, GPU: gpu,
							DeploymentMode: mode, MinReplicas: intp(1), MaxReplicas: 3, Metrics: true, PodMonitor: true, ONNXDevice: true,
							ServiceAccountName: "sa",
							NodeSelector:       map[string]string{"pool": "inference"},
						}
						p := pred
						o.Predictor = &p
						if protocol == project.ProtocolV1 {
							// Events reach the transformer, which forwards plain v1.
							o.Trigger = &project.Trigger{Broker: "default", Filter: map[string]string{"type": "com.example.request"}}
							o.Logger = &project.Logger{Mode: "all"}
						}
						checkScaled(t, fmt.Sprintf("%s/grpc=%v/%s/mode=%q/gpu=%d", protocol, grpc, pname, mode, gpu), o)
						n++
					}
				}
			}
		}
	}
	assert.Equal(t, 72, n)
}

// terminationGracePeriodSeconds goes on Standard-mode pods alone: Knative
// sets it from the revision timeout and refuses a pod that sets it, so in
// Knative mode, and in the cluster's default mode, which may be Knative,
// it is left out.
func TestKnativeRefusesTerminationGracePeriod(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(goldenDir, "standard-keda.yaml"))
	require.NoError(t, err)
	m := decodeStream(t, data)
	ps := corev1.PodSpec(m.isvc.Spec.Predictor.PodSpec)
	require.NotNil(t, ps.TerminationGracePeriodSeconds, "Standard mode sets it")
	ps.Containers[0].Lifecycle = nil // refused on its own (TestPreStopSleepReachesTheDeploymentAndOnlyThere)
	rs := &knservingv1.RevisionSpec{PodSpec: ps}
	ctx := knativeContext(t)
	rs.SetDefaults(ctx)
	ferr := rs.Validate(ctx).Filter(apis.ErrorLevel)
	require.NotNil(t, ferr)
	assert.Contains(t, ferr.Error(), "must not set the field(s): terminationGracePeriodSeconds")

	for _, mode := range []string{deploy.ModeDefault, deploy.ModeKnative} {
		o := deploy.Options{Name: "m", Image: "registry.example.com/m:v1", Protocol: "v1", HTTPPort: 8080, GRPCPort: 8081, DeploymentMode: mode}
		objs, err := deploy.Manifests(o)
		require.NoError(t, err)
		assert.Nil(t, objs[0].(*deploy.InferenceService).Spec.Predictor.TerminationGracePeriodSeconds, "mode %q", mode)
	}
}

// The preStop sleep goes on Standard-mode pods alone, too: Knative refuses
// a lifecycle on the user container (its ContainerMask leaves the field
// out), as it gives the container queue-proxy's own preStop hook, which
// returns once queue-proxy has drained. KServe's Deployment reconciler
// keeps the hook the predictor's container carries.
func TestPreStopSleepReachesTheDeploymentAndOnlyThere(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(goldenDir, "standard-keda.yaml"))
	require.NoError(t, err)
	m := decodeStream(t, data)
	ps := corev1.PodSpec(m.isvc.Spec.Predictor.PodSpec)
	meta := metav1.ObjectMeta{Name: constants.PredictorServiceName(m.isvc.Name), Namespace: m.isvc.Namespace, Labels: map[string]string{}, Annotations: map[string]string{}}
	r, err := kservedeployment.NewDeploymentReconciler(fake.NewClientBuilder().Build(), scheme(t), meta, metav1.ObjectMeta{}, &m.isvc.Spec.Predictor.ComponentExtensionSpec, ps.DeepCopy(), nil, nil)
	require.NoError(t, err)
	require.Len(t, r.DeploymentList, 1)
	pod := r.DeploymentList[0].Spec.Template.Spec
	assert.Equal(t, &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}}}, pod.Containers[0].Lifecycle)
	assert.Equal(t, int64(5+30+30+5), *pod.TerminationGracePeriodSeconds, "the sleep, the drain, the unload and 5 s to exit")

	ps.TerminationGracePeriodSeconds = nil // refused on its own (TestKnativeRefusesTerminationGracePeriod)
	rs := &knservingv1.RevisionSpec{PodSpec: ps}
	ctx := knativeContext(t)
	rs.SetDefaults(ctx)
	ferr := rs.Validate(ctx).Filter(apis.ErrorLevel)
	require.NotNil(t, ferr)
	assert.Contains(t, ferr.Error(), "must not set the field(s): containers[0].lifecycle")

	for _, mode := range []string{deploy.ModeDefault, deploy.ModeKnative} {
		o := deploy.Options{Name: "m", Image: "registry.example.com/m:v1", Protocol: "v1", HTTPPort: 8080, GRPCPort: 8081, DeploymentMode: mode}
		objs, err := deploy.Manifests(o)
		require.NoError(t, err)
		assert.Nil(t, objs[0].(*deploy.InferenceService).Spec.Predictor.Containers[0].Lifecycle, "mode %q", mode)
	}
}

// kserve-gen refuses two exposed ports because Knative does: the same pod
// with an extra port is rejected by Knative's own validation.
func TestKnativeRejectsSecondPort(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(goldenDir, "grpc.yaml"))
	require.NoError(t, err)
	m := decodeStream(t, data)
	ps := corev1.PodSpec(m.isvc.Spec.Predictor.PodSpec)
	ps.Containers[0].Ports = append(ps.Containers[0].Ports, corev1.ContainerPort{Name: "http1", ContainerPort: 8080})
	rs := &knservingv1.RevisionSpec{PodSpec: ps}
	ctx := knativeContext(t)
	rs.SetDefaults(ctx)
	ferr := rs.Validate(ctx).Filter(apis.ErrorLevel)
	require.NotNil(t, ferr)
	assert.Contains(t, ferr.Error(), "more than one container port is set")

	o := deploy.Options{Name: "m", Image: "i", Protocol: "v2", GRPC: true, HTTPPort: 8080, GRPCPort: 8081,
		Ports: []deploy.Port{{Name: "h2c", ContainerPort: 8081}, {Name: "http1", ContainerPort: 8080}}}
	assert.ErrorIs(t, o.Validate(), deploy.ErrOnePort)
}

// A gRPC runtime lists v2 as well as grpc-v2, and serves both: an
// InferenceService selecting it over v2 (written by hand: it names no port)
// gets a pod whose one routed port, Knative's default 8080, is the REST
// listener's; ours over grpc-v2 gets h2c on the gRPC port.
func TestGRPCServingRuntimeServesV2InferenceServices(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(goldenDir, "cluster-serving-runtime-grpc.yaml"))
	require.NoError(t, err)
	m := decodeStream(t, data)
	pod := runtimePod(t, m)
	assert.Equal(t, []corev1.ContainerPort{{Name: "h2c", ContainerPort: 8081, Protocol: corev1.ProtocolTCP}}, pod.Containers[0].Ports)

	v2 := constants.ProtocolV2
	m.isvc.Name = "rest-client"
	m.isvc.Spec.Predictor.Model.ProtocolVersion = &v2
	m.isvc.Spec.Predictor.Model.Ports = nil
	pod = runtimePod(t, m)
	assert.Empty(t, pod.Containers[0].Ports, "Knative routes to its default port, 8080")
	assert.Contains(t, pod.Containers[0].Args, "--http_port=8080")
	assert.Equal(t, "/v2/models/rest-client/ready", pod.Containers[0].ReadinessProbe.HTTPGet.Path)
}

// Two InferenceServices of an onnx project, one on a GPU and one on the CPU,
// share one serving runtime: KServe's own merge gives each server the
// device of its own resources.
func TestServingRuntimeDeviceFollowsEachInferenceService(t *testing.T) {
	var runtimes [2][]byte
	for gpu, want := range []string{"--device=cpu", "--device=cuda"} {
		o := deploy.FromProject(&project.File{Name: "iris", Module: "iris", Template: project.TemplateONNX, Protocol: project.ProtocolV2, GPU: gpu})
		o.Image, o.Namespace = "registry.example.com/iris:v1", "models"
		o.Runtime = &deploy.RuntimeOptions{Name: "onnx-go"}
		data, err := deploy.Render(o)
		require.NoError(t, err)
		checkStream(t, data)
		runtimes[gpu], _, _ = bytes.Cut(data, []byte("---\n"))
		pod := runtimePod(t, decodeStream(t, data))
		args := pod.Containers[0].Args
		assert.Equal(t, want, args[len(args)-1], "gpu=%d: %v", gpu, args)
		devices := 0
		for _, a := range args {
			if strings.HasPrefix(a, "--device") {
				devices++
			}
		}
		assert.Equal(t, 1, devices, "one --device: %v", args)
	}
	assert.Equal(t, string(runtimes[0]), string(runtimes[1]), "the runtime is the same whatever one InferenceService's GPUs")
}

// A header named for payload logging in any case (--logger-header
// x-request-id) reaches the CloudEvent's metadata through KServe's own
// logger handler, run behind a real socket as its agent runs it.
func TestLoggerHeaderReachesTheEventMetadata(t *testing.T) {
	o := deploy.Options{Name: "m", Image: "registry.example.com/m:v1", Protocol: "v1", HTTPPort: 8080, GRPCPort: 8081,
		Logger: &project.Logger{Mode: "request", MetadataHeaders: []string{"x-request-id"}}}
	data, err := deploy.Render(o)
	require.NoError(t, err)
	headers := decodeStream(t, data).isvc.Spec.Predictor.Logger.MetadataHeaders

	events := make(chan http.Header, 1)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		events <- r.Header.Clone()
	}))
	defer sink.Close()
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"predictions":[1]}`))
	}))
	defer model.Close()
	sinkURL, err := url.Parse(sink.URL)
	require.NoError(t, err)
	modelURL, err := url.Parse(model.URL)
	require.NoError(t, err)
	zl, err := zap.NewDevelopment()
	require.NoError(t, err)
	kfslogger.StartDispatcher(1, &kfslogger.MockStore{}, zl.Sugar())
	agent := httptest.NewServer(kfslogger.New(sinkURL, sinkURL, v1beta1.LogRequest, "m", "ns", "default", "predictor",
		httputil.NewSingleHostReverseProxy(modelURL), headers, "", nil, false))
	defer agent.Close()

	req, err := http.NewRequest(http.MethodPost, agent.URL+"/v1/models/m:predict", strings.NewReader(`{"instances":[1]}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header["x-request-id"] = []string{"abc-123"} // as a client may write it
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	select {
	case h := <-events:
		var metadata map[string][]string
		require.NoError(t, json.Unmarshal([]byte(h.Get("Ce-Metadata")), &metadata), "Ce-Metadata %q", h.Get("Ce-Metadata"))
		assert.Equal(t, map[string][]string{"X-Request-Id": {"abc-123"}}, metadata, "metadataHeaders %q", headers)
	case <-time.After(10 * time.Second):
		t.Fatal("no CloudEvent reached the sink")
	}
}

// deploy keeps --logger-url for an openai project, whose chats stream:
// KServe's own logger handler, run behind a real socket in front of the
// agent's reverse proxy as its agent runs them (cmd/agent buildServer),
// hands a stream on as it is written, and sends the response event once
// the stream has ended, holding the whole stream as the client got it and
// labelled with the request's content type. docs/deploy.md says so.
func TestLoggerPassesAStreamOnAndLogsItWhole(t *testing.T) {
	type event struct {
		header http.Header
		body   string
	}
	events := make(chan event, 1)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		events <- event{r.Header.Clone(), string(body)}
	}))
	defer sink.Close()
	const first, last = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}]}\n\n", "data: [DONE]\n\n"
	release := make(chan struct{})
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		_, _ = io.WriteString(w, first)
		w.(http.Flusher).Flush()
		select { // the rest once the client has read the first event
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, last)
	}))
	defer model.Close()
	sinkURL, err := url.Parse(sink.URL)
	require.NoError(t, err)
	modelURL, err := url.Parse(model.URL)
	require.NoError(t, err)
	zl, err := zap.NewDevelopment()
	require.NoError(t, err)
	kfslogger.StartDispatcher(1, &kfslogger.MockStore{}, zl.Sugar())
	// The agent's proxy has Knative's FlushInterval, 0; a ReverseProxy
	// flushes an event stream at every write whatever its interval.
	proxy := httputil.NewSingleHostReverseProxy(modelURL)
	agent := httptest.NewServer(kfslogger.New(sinkURL, sinkURL, v1beta1.LogResponse, "m", "ns", "default", "predictor",
		proxy, nil, "", nil, false))
	defer agent.Close()

	resp, err := http.Post(agent.URL+"/openai/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"Hello"}],"stream":true}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	got := make(chan string, 1)
	answer := bufio.NewReader(resp.Body)
	go func() {
		line, _ := answer.ReadString('\n')
		blank, _ := answer.ReadString('\n')
		got <- line + blank
	}()
	select {
	case event := <-got:
		assert.Equal(t, first, event)
	case <-time.After(10 * time.Second):
		t.Fatal("the first event did not pass the logger while the stream went on")
	}
	close(release)
	rest, err := io.ReadAll(answer)
	require.NoError(t, err)
	assert.Equal(t, last, string(rest))

	select {
	case e := <-events:
		assert.Equal(t, kfslogger.CEInferenceResponse, e.header.Get("Ce-Type"))
		assert.Equal(t, "application/json", e.header.Get("Content-Type"), "the request's content type, not text/event-stream")
		assert.Equal(t, first+last, e.body, "one event, the whole stream")
	case <-time.After(10 * time.Second):
		t.Fatal("no CloudEvent reached the sink")
	}
}

// deploy refuses --batcher for an openai project because KServe's own
// batcher passes every request that is not a v1 :predict through as it
// came, the OpenAI routes' among them: it would batch nothing.
func TestBatcherPassesOpenAIRequestsThrough(t *testing.T) {
	zl, err := zap.NewDevelopment()
	require.NoError(t, err)
	type seen struct {
		path, contentType, body string
	}
	requests := make(chan seen, 1)
	server := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		requests <- seen{r.URL.Path, r.Header.Get("Content-Type"), string(body)}
		_, _ = w.Write([]byte(`{"object":"chat.completion"}`))
	})
	agent := httptest.NewServer(kservebatcher.New(32, 5000, server, zl.Sugar()))
	defer agent.Close()

	const chat = `{"model":"m","messages":[{"role":"user","content":"Hello"}]}`
	resp, err := http.Post(agent.URL+"/openai/v1/chat/completions", "application/json", strings.NewReader(chat))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	// Had the batcher taken it, it would have answered a 400 ("no
	// instances in the request") or waited 5 s for a batch of 32.
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"object":"chat.completion"}`, string(body), "the server's own answer, not the batcher's")
	assert.Equal(t, seen{"/openai/v1/chat/completions", "application/json", chat}, <-requests, "as the client sent it")
}

// deploy refuses --trigger with --batcher because of what KServe's own
// batcher does to a binary-mode CloudEvent from the broker: the server gets
// the instances without the ce-* attributes, so it cannot answer with an
// event, and the broker gets plain JSON back.
func TestBatcherStripsCloudEvents(t *testing.T) {
	zl, err := zap.NewDevelopment()
	require.NoError(t, err)
	seen := make(chan http.Header, 1)
	server := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		w.Header().Set("Ce-Id", "answer-1") // what the server answers an event with
		_, _ = w.Write([]byte(`{"predictions":[1]}`))
	})
	agent := httptest.NewServer(kservebatcher.New(1, 10, server, zl.Sugar()))
	defer agent.Close()

	req, err := http.NewRequest(http.MethodPost, agent.URL+"/v1/models/m:predict", strings.NewReader(`{"instances":[1]}`))
	require.NoError(t, err)
	for k, v := range map[string]string{"Content-Type": "application/json", "Ce-Specversion": "1.0", "Ce-Id": "e-1", "Ce-Type": "com.example.request", "Ce-Source": "camera-1"} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, (<-seen).Get("Ce-Id"), "the server gets no event")
	assert.Empty(t, resp.Header.Get("Ce-Id"), "the broker gets no event back")
}

// A batcher without settings (--batcher alone) reaches KServe as a batcher:
// KServe turns the agent's batcher on for a non-nil Batcher, with the
// cluster's defaults for what it leaves unset.
func TestBatcherWithDefaultsIsOn(t *testing.T) {
	o := deploy.Options{Name: "m", Image: "registry.example.com/m:v1", Protocol: "v1", HTTPPort: 8080, GRPCPort: 8081,
		Batcher: &project.Batcher{}}
	data, err := deploy.Render(o)
	require.NoError(t, err)
	checkStream(t, data)
	m := decodeStream(t, data)
	require.NotNil(t, m.isvc.Spec.Predictor.Batcher, "KServe would inject no batcher:\n%s", data)
	assert.Equal(t, v1beta1.Batcher{}, *m.isvc.Spec.Predictor.Batcher)
}

// The strict decoder is what catches a misspelt field; prove it does.
func TestStrictDecodeRejectsUnknownFields(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(goldenDir, "rest.yaml"))
	require.NoError(t, err)
	bad := bytes.Replace(data, []byte("    containers:"), []byte("    minReplica: 1\n    containers:"), 1)
	err = strictDecode(bad, &v1beta1.InferenceService{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown field "minReplica"`)
}

// KServe's validation is live: a wrong PROTOCOL value is rejected.
func TestKServeValidationIsLive(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(goldenDir, "rest.yaml"))
	require.NoError(t, err)
	bad := bytes.Replace(data, []byte("value: v1"), []byte("value: V1"), 1)
	isvc := &v1beta1.InferenceService{}
	require.NoError(t, strictDecode(bad, isvc))
	_, err = (&v1beta1.InferenceServiceValidator{}).ValidateCreate(context.Background(), isvc)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "V1")
}

// checkDashboard checks the --dashboard ConfigMap: in the
// InferenceService's namespace, labelled for Grafana's sidecar, holding one
// dashboard whose every query is PromQL that Prometheus' own parser accepts
// (Grafana's $__rate_interval and variables substituted as Grafana does).
func checkDashboard(t *testing.T, cm *corev1.ConfigMap, namespace string) {
	t.Helper()
	assert.Equal(t, deploy.DashboardConfigMap, cm.Name)
	assert.Equal(t, namespace, cm.Namespace)
	assert.Equal(t, "1", cm.Labels["grafana_dashboard"])
	require.Len(t, cm.Data, 1)
	for key, text := range cm.Data {
		assert.True(t, strings.HasSuffix(key, ".json"), key)
		assert.Equal(t, deploy.DashboardJSON(), text)
	}
	checkDashboardQueries(t, deploy.DashboardJSON())
}

// grafanaVars are what Grafana puts in place of the dashboard's variables
// before sending a query.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$namespace", "models", "$model", "custom-model")

func checkDashboardQueries(t *testing.T, dashboard string) {
	t.Helper()
	var d struct {
		UID        string `json:"uid"`
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	dec := json.NewDecoder(strings.NewReader(dashboard))
	require.NoError(t, dec.Decode(&d))
	require.NotEmpty(t, d.UID)
	queries := 0
	ids := map[int]bool{}
	for _, p := range d.Panels {
		assert.False(t, ids[p.ID], "panel id %d twice", p.ID)
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		assert.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			_, err := parser.ParseExpr(grafanaVars.Replace(tg.Expr))
			assert.NoError(t, err, "panel %q: %s", p.Title, tg.Expr)
			queries++
		}
	}
	assert.GreaterOrEqual(t, queries, 15)
	// label_values(SELECTOR, LABEL) is Grafana's; its selector is PromQL.
	labelValues := regexp.MustCompile(`^label_values\((.+), (\w+)\)$`)
	vars := 0
	for _, v := range d.Templating.List {
		q, ok := v.Query.(map[string]any)
		if v.Type != "query" || !ok {
			continue
		}
		mt := labelValues.FindStringSubmatch(fmt.Sprint(q["query"]))
		require.NotNil(t, mt, "variable %s: %v", v.Name, q["query"])
		_, err := parser.ParseExpr(grafanaVars.Replace(mt[1]))
		assert.NoError(t, err, "variable %s", v.Name)
		vars++
	}
	assert.Equal(t, 2, vars, "namespace and model")
}

// The parser is strict: a query the dashboard could not run fails.
func TestDashboardQueriesAreChecked(t *testing.T) {
	_, err := parser.ParseExpr(grafanaVars.Replace(`sum by (le (rate(request_predict_seconds_bucket{model_name="$model"}[$__rate_interval]))`))
	assert.Error(t, err)
}

// KServe's storage-initializer mounts a storageUri's model at /mnt/models,
// and the server has to be told: a custom container through its STORAGE_URI
// variable (rewritten to /mnt/models), KServe's own runtimes through
// --model_dir=/mnt/models in their args. A runtime of ours got neither, so
// its server loaded the model baked into the image. Both shapes go through
// the injector's own code here (pvc://, which needs no credentials).
func TestStorageURIReachesTheServer(t *testing.T) {
	ctx := context.Background()
	for name, rt := range map[string]*deploy.RuntimeOptions{"custom": nil, "ServingRuntime": {}, "ClusterServingRuntime": {Cluster: true}} {
		t.Run(name, func(t *testing.T) {
			o := deploy.FromProject(&project.File{Name: "iris", Module: "iris", Template: project.TemplateONNX, Protocol: project.ProtocolV2})
			o.Image, o.Namespace, o.StorageURI, o.Runtime = "registry.example.com/iris:v1", "models", "pvc://models/iris/", rt
			out, err := deploy.Render(o)
			require.NoError(t, err)
			m := decodeStream(t, out)
			podSpec := corev1.PodSpec(m.isvc.Spec.Predictor.PodSpec)
			if rt != nil {
				podSpec = runtimePod(t, m)
			}
			cl := fake.NewClientBuilder().WithScheme(scheme(t)).Build()
			require.NoError(t, kservepod.CommonStorageInitialization(ctx, &kservepod.StorageInitializerParams{
				Namespace:       m.isvc.Namespace,
				StorageURIs:     []v1beta1.StorageUri{{Uri: o.StorageURI, MountPath: constants.DefaultModelLocalMountPath}},
				IsReadOnly:      true,
				PodSpec:         &podSpec,
				Client:          cl,
				Config:          &kservetypes.StorageInitializerConfig{},
				IsvcAnnotations: m.isvc.Annotations,
				StorageSpec:     &v1beta1.StorageSpec{},
				IsLegacyURI:     true,
			}))
			c := podSpec.Containers[0]
			require.Equal(t, constants.InferenceServiceContainerName, c.Name)
			assert.True(t, slices.ContainsFunc(c.VolumeMounts, func(v corev1.VolumeMount) bool { return v.MountPath == constants.DefaultModelLocalMountPath }),
				"the model is mounted at /mnt/models: %+v", c.VolumeMounts)
			told := slices.Contains(c.Args, "--model_dir="+constants.DefaultModelLocalMountPath) ||
				slices.Contains(c.Env, corev1.EnvVar{Name: constants.CustomSpecStorageUriEnvVarKey, Value: constants.DefaultModelLocalMountPath})
			assert.True(t, told, "the server is told the model is in /mnt/models: args %q, env %+v", c.Args, c.Env)
		})
	}
}

// In Standard mode KServe makes a Deployment and Service for each component
// and labels its pods app=isvc.<name>-predictor (or -transformer): a label
// value, at most 63 characters. Every name deploy accepts in Standard mode
// must give a Deployment the API server takes; KServe's own reconciler builds
// it here and apimachinery's validation checks its labels and selector.
func TestStandardModeNamesFitKServesLabels(t *testing.T) {
	for _, transformer := range []bool{false, true} {
		longest := 0
		for n := 40; n <= project.MaxNameLength; n++ {
			o := deploy.Options{
				Name: "m" + strings.Repeat("x", n-1), Namespace: "ns", Image: "registry.example.com/m:v1",
				Protocol: project.ProtocolV1, HTTPPort: 8080, GRPCPort: 8081, DeploymentMode: deploy.ModeStandard,
			}
			components := []string{constants.PredictorServiceName(o.Name)}
			if transformer {
				o.Predictor = &project.Predictor{Image: "registry.example.com/p:v1"}
				components = append(components, constants.TransformerServiceName(o.Name))
			}
			if o.Validate() != nil {
				continue
			}
			longest = n
			for _, component := range components {
				meta := metav1.ObjectMeta{Name: component, Namespace: o.Namespace, Labels: map[string]string{}, Annotations: map[string]string{}}
				r, err := kservedeployment.NewDeploymentReconciler(fake.NewClientBuilder().Build(), scheme(t), meta, metav1.ObjectMeta{},
					&v1beta1.ComponentExtensionSpec{}, &corev1.PodSpec{Containers: []corev1.Container{{Name: constants.InferenceServiceContainerName}}}, nil, nil)
				require.NoError(t, err)
				for _, d := range r.DeploymentList {
					errs := metav1validation.ValidateLabels(d.Spec.Template.Labels, field.NewPath("spec", "template", "metadata", "labels"))
					errs = append(errs, metav1validation.ValidateLabelSelector(d.Spec.Selector, metav1validation.LabelSelectorValidationOptions{}, field.NewPath("spec", "selector"))...)
					assert.Empty(t, errs, "deploy accepts the %d-character name %s in Standard mode, but the API server refuses KServe's Deployment %s", n, o.Name, d.Name)
				}
			}
		}
		want := project.MaxStandardNameLength
		if transformer {
			want = project.MaxStandardTransformerNameLength
		}
		assert.Equal(t, want, longest, "the longest name deploy accepts in Standard mode (transformer: %v)", transformer)
	}
}

// kserveConfigMap is inferenceservice-config as KServe v0.16.0 installs it
// (the module's config/configmap/inferenceservice.yaml).
func kserveConfigMap(t *testing.T) *corev1.ConfigMap {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/kserve/kserve").Output()
	require.NoError(t, err, "locate the kserve module")
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "config", "configmap", "inferenceservice.yaml"))
	require.NoError(t, err)
	cm := &corev1.ConfigMap{}
	require.NoError(t, utilyaml.Unmarshal(data, cm))
	require.Equal(t, constants.InferenceServiceConfigMapName, cm.Name)
	cm.Namespace = constants.KServeNamespace
	return cm
}

// In Standard mode KServe's raw reconciler makes each component's URL from
// inferenceservice-config's ingress domainTemplate, by default
// "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}" with Name the
// component (<name>-predictor, <name>-transformer), before it builds the
// Deployment: where that label is over 63 characters it fails and the
// InferenceService is never reconciled. deploy warns exactly then; the
// name and namespace each pass deploy's checks.
func TestHostLabelWarningMatchesKServesRawReconciler(t *testing.T) {
	clientset := k8sfake.NewSimpleClientset(kserveConfigMap(t))
	ctx := context.Background()
	warned := 0
	for _, transformer := range []bool{false, true} {
		for nsLen := 8; nsLen <= 20; nsLen++ {
			o := deploy.Options{
				Name: "m" + strings.Repeat("x", 37), Namespace: "n" + strings.Repeat("s", nsLen-1), Image: "registry.example.com/m:v1",
				Protocol: project.ProtocolV1, HTTPPort: 8080, GRPCPort: 8081, DeploymentMode: deploy.ModeStandard,
			}
			components := []string{constants.PredictorServiceName(o.Name)}
			if transformer {
				o.Predictor = &project.Predictor{Image: "registry.example.com/p:v1"}
				components = append(components, constants.TransformerServiceName(o.Name))
			}
			require.NoError(t, o.Validate())
			var failed []string
			for _, component := range components {
				meta := metav1.ObjectMeta{Name: component, Namespace: o.Namespace, Labels: map[string]string{}, Annotations: map[string]string{}}
				pod := &corev1.PodSpec{Containers: []corev1.Container{{Name: constants.InferenceServiceContainerName, Image: o.Image}}}
				_, err := kserveraw.NewRawKubeReconciler(ctx, fake.NewClientBuilder().Build(), clientset, scheme(t), meta, metav1.ObjectMeta{},
					&v1beta1.ComponentExtensionSpec{}, pod, nil, nil, nil, nil, nil, nil)
				if err != nil {
					assert.ErrorContains(t, err, "invalid domain name")
					failed = append(failed, component)
				}
			}
			warnings := o.Warnings()
			assert.Equal(t, len(failed) > 0, len(warnings) > 0, "namespace %s: KServe fails for %v; deploy warns %q", o.Namespace, failed, warnings)
			if len(failed) > 0 && len(warnings) > 0 {
				// The warning names the longest label, the last component's.
				assert.Contains(t, warnings[0], failed[len(failed)-1]+"-"+o.Namespace+",")
				warned++
			}
		}
	}
	assert.Positive(t, warned)
}

// standardService is the Service KServe's raw reconciler makes for one
// component in Standard mode (NewRawKubeReconciler, whose service
// reconciler's createDefaultSvc turns the container's ports into the
// Service's), with the inferenceservice-config KServe v0.16.0 installs.
func standardService(t *testing.T, isvc *v1beta1.InferenceService, c component) *corev1.Service {
	t.Helper()
	// The names KServe's component reconcilers give (predictor.go,
	// transformer.go): the Service's.
	name := constants.PredictorServiceName(isvc.Name)
	if c.name == string(v1beta1.TransformerComponent) {
		name = constants.TransformerServiceName(isvc.Name)
	}
	meta := metav1.ObjectMeta{Name: name, Namespace: cmpOr(isvc.Namespace, "default"), Labels: map[string]string{}, Annotations: map[string]string{}}
	r, err := kserveraw.NewRawKubeReconciler(context.Background(), fake.NewClientBuilder().Build(), k8sfake.NewSimpleClientset(kserveConfigMap(t)), scheme(t),
		meta, metav1.ObjectMeta{}, c.ext, c.podSpec.DeepCopy(), nil, nil, nil, nil, nil, nil)
	require.NoError(t, err)
	require.Len(t, r.Service.ServiceList, 1)
	return r.Service.ServiceList[0]
}

// checkStandardService: the Service of a Standard-mode component has each
// port name and number once (the API server refuses it otherwise, and the
// InferenceService never becomes ready), its first port is 80, where
// KServe's ingress sends the InferenceService's URL, and on a pod of ours
// every port leads to a port the server (or KServe's agent in front of it)
// listens on, marked kubernetes.io/h2c exactly where it speaks gRPC.
func checkStandardService(t *testing.T, isvc *v1beta1.InferenceService, c component) {
	t.Helper()
	svc := standardService(t, isvc, c)
	names, numbers := map[string]bool{}, map[int32]bool{}
	for _, p := range svc.Spec.Ports {
		assert.False(t, names[p.Name], "Service %s: port name %s twice: %+v", svc.Name, p.Name, svc.Spec.Ports)
		assert.False(t, numbers[p.Port], "Service %s: port %d twice: %+v", svc.Name, p.Port, svc.Spec.Ports)
		names[p.Name], numbers[p.Port] = true, true
	}
	require.NotEmpty(t, svc.Spec.Ports)
	assert.Equal(t, int32(constants.CommonDefaultHttpPort), svc.Spec.Ports[0].Port, "the InferenceService's URL leads to port 80")
	if !c.ours {
		return
	}
	server := c.podSpec.Containers[0]
	rest := server.ReadinessProbe.HTTPGet.Port.IntValue()
	grpcPort := -1
	if slices.Contains(server.Args, "--enable_grpc=true") {
		grpcPort = argPort(t, server.Args, "--grpc_port")
	}
	agent := c.ext.Logger != nil || c.ext.Batcher != nil
	for i, p := range svc.Spec.Ports {
		target := p.TargetPort.IntValue()
		speaksGRPC := target == grpcPort
		if i == 0 && agent {
			// KServe's agent proxies to the container's first port.
			assert.Equal(t, constants.InferenceServiceDefaultAgentPort, target, "Service %s: the agent takes the first port", svc.Name)
			speaksGRPC = len(server.Ports) > 0 && int(server.Ports[0].ContainerPort) == grpcPort
		} else {
			assert.Contains(t, []int{rest, grpcPort}, target, "Service %s port %s: nothing listens on %d", svc.Name, p.Name, target)
		}
		if speaksGRPC {
			assert.Equal(t, ptrTo("kubernetes.io/h2c"), p.AppProtocol, "Service %s port %s leads to gRPC", svc.Name, p.Name)
		} else {
			assert.Nil(t, p.AppProtocol, "Service %s port %s leads to REST", svc.Name, p.Name)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// argPort is the port a server flag (--grpc_port) sets in args.
func argPort(t *testing.T, args []string, flag string) int {
	t.Helper()
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			p, err := strconv.Atoi(v)
			require.NoError(t, err, a)
			return p
		}
	}
	t.Fatalf("no %s in %q", flag, args)
	return 0
}

// In Standard mode KServe exposes every port of the container on the
// component's Service (createDefaultSvc): the first as port 80, where its
// ingress sends the InferenceService's URL, each further one at its own
// number, kubernetes.io/h2c where the name says gRPC (isGrpcPort). So a
// gRPC project's REST port is reachable at <name>-predictor.<namespace>:8080
// beside gRPC behind the URL, as docs/deploy.md says; --port orders them,
// and with a logger KServe's agent takes the first port alone.
func TestStandardServiceExposesRESTBesideGRPC(t *testing.T) {
	h2c := func(port int32) corev1.ServicePort {
		return corev1.ServicePort{Name: "h2c", Port: port, TargetPort: intstr.FromInt32(8081), Protocol: corev1.ProtocolTCP, AppProtocol: ptrTo("kubernetes.io/h2c")}
	}
	http1 := func(port int32) corev1.ServicePort {
		return corev1.ServicePort{Name: "http1", Port: port, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}
	}
	for name, tt := range map[string]struct {
		ports     []deploy.Port
		logger    bool
		predictor *project.Predictor
		runtime   *deploy.RuntimeOptions
		// ofPredictor: the Service checked is the predictor's, which
		// the transformer calls, rather than the transformer's.
		ofPredictor bool
		want        []corev1.ServicePort
	}{
		"default":     {want: []corev1.ServicePort{h2c(80), http1(8080)}},
		"REST first":  {ports: []deploy.Port{{Name: "http1", ContainerPort: 8080}, {Name: "h2c", ContainerPort: 8081}}, want: []corev1.ServicePort{http1(80), h2c(8081)}},
		"gRPC alone":  {ports: []deploy.Port{{Name: "h2c", ContainerPort: 8081}}, want: []corev1.ServicePort{h2c(80)}},
		"transformer": {predictor: &project.Predictor{Image: "registry.example.com/p:v1"}, want: []corev1.ServicePort{h2c(80), http1(8080)}},
		// The transformer calls its predictor at the Service's port 80
		// (--predictor_host <name>-predictor.<namespace>), h2c over
		// grpc-v2; REST follows, as the project's own does.
		"transformer's predictor over grpc-v2": {predictor: &project.Predictor{Image: "registry.example.com/p:v1", Protocol: project.ProtocolGRPCV2}, ofPredictor: true,
			want: []corev1.ServicePort{h2c(80), http1(8080)}},
		// Its logger is the transformer's: the predictor runs no agent.
		"transformer's predictor over grpc-v2, logger": {predictor: &project.Predictor{Image: "registry.example.com/p:v1", Protocol: project.ProtocolGRPCV2}, ofPredictor: true, logger: true,
			want: []corev1.ServicePort{h2c(80), http1(8080)}},
		"transformer's predictor over v2": {predictor: &project.Predictor{Image: "registry.example.com/p:v1", Protocol: project.ProtocolV2}, ofPredictor: true,
			want: []corev1.ServicePort{{Name: "m-predictor", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}},
		"runtime":      {runtime: &deploy.RuntimeOptions{}, want: []corev1.ServicePort{h2c(80), http1(8080)}},
		"logger":       {logger: true, want: []corev1.ServicePort{func() corev1.ServicePort { p := h2c(80); p.TargetPort = intstr.FromInt32(9081); return p }()}},
		"logger, both": {logger: true, ports: []deploy.Port{{Name: "h2c", ContainerPort: 8081}, {Name: "http1", ContainerPort: 8080}}, want: []corev1.ServicePort{func() corev1.ServicePort { p := h2c(80); p.TargetPort = intstr.FromInt32(9081); return p }(), http1(8080)}},
	} {
		t.Run(name, func(t *testing.T) {
			o := deploy.Options{Name: "m", Namespace: "ns", Image: "registry.example.com/m:v1", Protocol: project.ProtocolV2, GRPC: true,
				HTTPPort: 8080, GRPCPort: 8081, DeploymentMode: deploy.ModeStandard, Metrics: true, PodMonitor: true, Ports: tt.ports, Predictor: tt.predictor, Runtime: tt.runtime}
			if tt.logger {
				o.Logger = &project.Logger{URL: "http://message-dumper.default.svc.cluster.local"}
			}
			data, err := deploy.Render(o)
			require.NoError(t, err)
			checkStream(t, data)
			m := decodeStream(t, data)
			c := component{name: string(v1beta1.PredictorComponent), ext: &m.isvc.Spec.Predictor.ComponentExtensionSpec, podSpec: corev1.PodSpec(m.isvc.Spec.Predictor.PodSpec), ours: true}
			switch {
			case tt.ofPredictor:
				c.podSpec = corev1.PodSpec(m.isvc.Spec.Predictor.PodSpec)
			case tt.predictor != nil:
				tr := m.isvc.Spec.Transformer
				c = component{name: string(v1beta1.TransformerComponent), ext: &tr.ComponentExtensionSpec, podSpec: corev1.PodSpec(tr.PodSpec), ours: true}
			case tt.runtime != nil:
				c.podSpec = runtimePod(t, m)
			}
			svc := standardService(t, m.isvc, c)
			assert.Equal(t, "m-"+c.name, svc.Name, "in-cluster clients call <name>-%s.<namespace>", c.name)
			assert.Equal(t, tt.want, svc.Spec.Ports)
		})
	}
}

// What KServe's agent does to gRPC calls on their way to the server when
// payload logging is on (--logger-url with --grpc: KServe points the agent
// at the container's first port, h2c, and proxies over h2c as its main
// does). A unary call passes, and is logged as its gRPC frame: content type
// application/grpc, a 5-byte length prefix and binary protobuf, not JSON.
// The logger reads each request whole before passing it on
// (LoggerHandler.ServeHTTP's io.ReadAll), so a stream's first message
// reaches the server only once the client has closed its side: a
// bidirectional stream whose client waits for an answer first (gRPC
// server reflection, which grpcurl uses without -proto) never gets one.
func TestLoggerBuffersGRPCStreams(t *testing.T) {
	events := make(chan *http.Request, 4)
	bodies := make(chan []byte, 4)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		events <- r
		bodies <- b
	}))
	defer sink.Close()

	var clientClosed atomic.Bool
	receivedBeforeClose := make(chan bool, 1)
	backend := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		m := new(wrapperspb.StringValue)
		if err := ss.RecvMsg(m); err != nil {
			return err
		}
		receivedBeforeClose <- !clientClosed.Load()
		return ss.SendMsg(m)
	}))
	hs := health.NewServer()
	hs.SetServingStatus("m", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(backend, hs)
	backendLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = backend.Serve(backendLn) }()
	defer backend.Stop()

	sinkURL, err := url.Parse(sink.URL)
	require.NoError(t, err)
	zl, err := zap.NewDevelopment()
	require.NoError(t, err)
	kfslogger.StartDispatcher(1, &kfslogger.MockStore{}, zl.Sugar())
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: backendLn.Addr().String()})
	proxy.Transport = pkgnet.NewAutoTransport(10, 10)
	agent := pkgnet.NewServer("", kfslogger.New(sinkURL, sinkURL, v1beta1.LogRequest, "m", "ns", "default", "predictor", proxy, nil, "", nil, false))
	agentLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = agent.Serve(agentLn) }()
	defer agent.Close()

	conn, err := grpc.NewClient(agentLn.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx := context.Background()

	// Unary: served, and logged as a binary gRPC frame.
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "m"})
	require.NoError(t, err, "a unary call passes through the agent")
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.Status)
	select {
	case r := <-events:
		body := <-bodies
		assert.Equal(t, "application/grpc", r.Header.Get("Content-Type"), "the event's data content type")
		require.GreaterOrEqual(t, len(body), 5)
		assert.Equal(t, byte(0), body[0], "gRPC's compressed flag: the frame as it was on the wire")
		msg := new(healthpb.HealthCheckRequest)
		require.NoError(t, proto.Unmarshal(body[5:], msg), "binary protobuf after the length prefix")
		assert.Equal(t, "m", msg.Service)
		assert.False(t, json.Valid(body), "not JSON")
	case <-time.After(10 * time.Second):
		t.Fatal("no CloudEvent reached the sink")
	}

	// Bidirectional stream: the server sees the first message only after
	// the client closed its side.
	cs, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, "/kservegen.test.Echo/Chat")
	require.NoError(t, err)
	require.NoError(t, cs.SendMsg(wrapperspb.String("hello")))
	clientClosed.Store(true)
	require.NoError(t, cs.CloseSend())
	reply := new(wrapperspb.StringValue)
	require.NoError(t, cs.RecvMsg(reply))
	assert.Equal(t, "hello", reply.Value)
	assert.False(t, <-receivedBeforeClose, "the agent passed the stream's first message on before the client closed its side")
}

// KServe's batcher sends the server a request of its own for each batch
// (batchPredict: httptest.NewRequest with the merged instances), so none of
// the clients' headers reach the model on :predict — no Authorization, no
// X-Request-Id, no trace context, not even Content-Type; other paths pass
// through with theirs. docs/deploy.md says so in the batcher's section.
func TestBatcherDropsRequestHeaders(t *testing.T) {
	zl, err := zap.NewDevelopment()
	require.NoError(t, err)
	seen := make(chan http.Header, 1)
	server := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		_, _ = w.Write([]byte(`{"predictions":[1]}`))
	})
	agent := httptest.NewServer(kservebatcher.New(1, 10, server, zl.Sugar()))
	defer agent.Close()
	sent := map[string]string{
		"Content-Type": "application/json", "Authorization": "Bearer t", "X-Request-Id": "r-1",
		"Traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "X-Tenant": "acme",
	}
	for _, path := range []string{"/v1/models/m:predict", "/v1/models/m"} {
		req, err := http.NewRequest(http.MethodPost, agent.URL+path, strings.NewReader(`{"instances":[1]}`))
		require.NoError(t, err)
		for k, v := range sent {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		got := <-seen
		for k, v := range sent {
			if strings.HasSuffix(path, ":predict") {
				assert.Empty(t, got.Get(k), "%s on %s", k, path)
			} else {
				assert.Equal(t, v, got.Get(k), "%s on %s", k, path)
			}
		}
	}
}

// deploy refuses a storage URI KServe's storage initializer cannot download
// and warns of a scheme it does not know. What it passes without a warning
// must pass KServe's controller (isvcutils.ValidateStorageURI, which leaves
// the InferenceService unready with "StorageURI not supported" otherwise),
// and what it warns of is refused there unless a ClusterStorageContainer
// claims the scheme, as the warning says.
func TestStorageURIsDeployPassesKServeTakes(t *testing.T) {
	ctx := context.Background()
	none := fake.NewClientBuilder().WithScheme(scheme(t)).Build()
	check := func(uri string) ([]string, error) {
		o := deploy.FromProject(&project.File{Name: "iris", Module: "iris", Template: project.TemplateREST, Protocol: project.ProtocolV2})
		o.Image, o.Namespace = "registry.example.com/iris:v1", "models"
		without := o.Warnings()
		o.StorageURI = uri
		return slices.DeleteFunc(o.Warnings(), func(w string) bool { return slices.Contains(without, w) }), o.Validate()
	}
	for _, uri := range []string{
		"gs://bucket", "gs://kfserving-examples/models/sklearn/1.0/model", "s3://models/resnet/",
		"pvc://models", "pvc://models/custom-model/", "hf://org/model", "hf://org/model:main",
		"https://example.com/models/resnet.tar.gz", "http://minio:9000/m/model.onnx",
		"https://acct.blob.core.windows.net/models/", "hdfs://user/me/model", "webhdfs://user/me/model",
		"oci://registry.example.com/models/iris:v1",
	} {
		warnings, err := check(uri)
		require.NoError(t, err, uri)
		require.Empty(t, warnings, uri)
		assert.NoError(t, isvcutils.ValidateStorageURI(ctx, &uri, none), uri)
	}
	for _, uri := range []string{"model-registry://iris/v1", "gcs://bucket/model"} {
		warnings, err := check(uri)
		require.NoError(t, err, uri)
		require.Len(t, warnings, 1, uri)
		assert.ErrorContains(t, isvcutils.ValidateStorageURI(ctx, &uri, none), "storageUri, must be one of", uri)

		prefix := uri[:strings.Index(uri, "://")+len("://")]
		claimed := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(&v1alpha1.ClusterStorageContainer{
			ObjectMeta: metav1.ObjectMeta{Name: "custom"},
			Spec: v1alpha1.StorageContainerSpec{
				Container:           corev1.Container{Name: constants.StorageInitializerContainerName, Image: "registry.example.com/initializer:v1"},
				SupportedUriFormats: []v1alpha1.SupportedUriFormat{{Prefix: prefix}},
				WorkloadType:        v1alpha1.InitContainer,
			},
		}).Build()
		assert.NoError(t, isvcutils.ValidateStorageURI(ctx, &uri, claimed), uri)
	}
	// A path under /mnt/models passes KServe's controller, which takes any
	// URI without a scheme; its storage initializer then downloads nothing
	// (kserve_storage.py leaves it to the multi-model agent), which the
	// warning says.
	for _, uri := range []string{"/mnt/models/iris"} {
		warnings, err := check(uri)
		require.NoError(t, err, uri)
		require.Len(t, warnings, 1, uri)
		assert.Contains(t, warnings[0], "KServe's storage initializer downloads nothing for a path under /mnt/models", uri)
		assert.NoError(t, isvcutils.ValidateStorageURI(ctx, &uri, none), uri)
	}
	// The models root itself and file:// URIs pass the controller too, but
	// the initializer fails on them in the pod's init container
	// (_download_local): deploy refuses them before kubectl apply.
	for _, uri := range []string{"/mnt/models", "file:///mnt/models/iris"} {
		_, err := check(uri)
		require.ErrorContains(t, err, "KServe's storage initializer", uri)
		assert.NoError(t, isvcutils.ValidateStorageURI(ctx, &uri, none), uri)
	}
	// KServe's newer modelcar spellings, which the kserve-gen server reads
	// and v0.16's controller does not know: a warning, and refused there.
	for _, uri := range []string{"oci+fetch://registry.example.com/models/iris:v1", "oci+native://registry.example.com/models/iris:v1"} {
		warnings, err := check(uri)
		require.NoError(t, err, uri)
		require.Len(t, warnings, 1, uri)
		assert.Contains(t, warnings[0], "KServe's controller up to v0.16 refuses", uri)
		assert.ErrorContains(t, isvcutils.ValidateStorageURI(ctx, &uri, none), "storageUri, must be one of", uri)
	}
}
