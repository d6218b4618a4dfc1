package validate

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/kserve/kserve/pkg/apis/serving/v1beta1"
	"github.com/kserve/kserve/pkg/constants"
	kservedeployment "github.com/kserve/kserve/pkg/controller/v1beta1/inferenceservice/reconcilers/deployment"
	kservepod "github.com/kserve/kserve/pkg/webhook/admission/pod"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus-operator/prometheus-operator/pkg/assets"
	"github.com/prometheus-operator/prometheus-operator/pkg/operator"
	prompkg "github.com/prometheus-operator/prometheus-operator/pkg/prometheus"
	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/util/strutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"
)

// component is one component's pods as checkStream found them.
type component struct {
	name    string // KServe's component label: predictor, transformer
	ext     *v1beta1.ComponentExtensionSpec
	podSpec corev1.PodSpec
	// runtimeAnn are the serving runtime's pod annotations (KServe merges
	// them under the InferenceService's).
	runtimeAnn map[string]string
	// ours: the pod runs a kserve-gen server (its readiness probe's port
	// is the server's REST port).
	ours bool
}

// checkPodMonitor follows the PodMonitor the way a cluster would, with the
// real code of each step except Kubernetes itself: the Prometheus
// Operator's own validation and scrape-config generation turn it into
// Prometheus configuration, which Prometheus' own parser loads; each
// component's pod, as KServe builds it (its Deployment reconciler in
// Standard mode; in Knative mode the pod Knative makes, stood in for by its
// labels and queue-proxy's ports) and as KServe's pod webhook then mutates
// it (metrics aggregation), goes through Prometheus' own Kubernetes pod
// discovery and target relabeling. Each pod must yield exactly one target:
// queue-proxy's aggregation port on a Knative pod, the server's own port
// on a Standard-mode pod of ours (IPv4 and IPv6), and none on a
// Standard-mode pod of one of KServe's runtimes, whose metrics port only
// that runtime knows. With the cluster's default mode, pods of both kinds
// are checked.
func checkPodMonitor(t *testing.T, isvc *v1beta1.InferenceService, pm *monitoringv1.PodMonitor, components []component) {
	t.Helper()
	ns := cmpOr(pm.Namespace, "default")
	pm = pm.DeepCopy()
	pm.Namespace = ns
	assert.Equal(t, isvc.Name, pm.Name)
	assert.Equal(t, map[string]string{constants.InferenceServicePodLabelKey: isvc.Name}, pm.Spec.Selector.MatchLabels)

	scrapeConfigs := podMonitorScrapeConfigs(t, pm)

	modes := []string{isvc.Annotations[constants.DeploymentMode]}
	if modes[0] == "" {
		modes = []string{string(constants.Knative), string(constants.Standard)}
	}
	for _, mode := range modes {
		for _, c := range components {
			for _, ip := range []string{"10.20.30.40", "fd00::2a"} {
				pod := componentPod(t, isvc, c, mode, ns, ip)
				var got []string
				for _, sc := range scrapeConfigs {
					targets, errs := scrape.TargetsFromGroup(podTargets(pod), sc, nil, labels.NewBuilder(labels.EmptyLabels()))
					require.Empty(t, errs)
					for _, tgt := range targets {
						// A target relabeling dropped is kept, without
						// labels, for Prometheus' list of dropped targets.
						if !tgt.Labels(labels.NewBuilder(labels.EmptyLabels())).IsEmpty() {
							got = append(got, tgt.URL().String())
						}
					}
				}
				var want []string
				host := ip
				if strings.Contains(ip, ":") {
					host = "[" + ip + "]"
				}
				switch {
				case mode != string(constants.Standard):
					want = []string{fmt.Sprintf("http://%s:%s/metrics", host, constants.QueueProxyAggregatePrometheusMetricsPort)}
				case c.ours:
					want = []string{fmt.Sprintf("http://%s:%s/metrics", host, c.podSpec.Containers[0].ReadinessProbe.HTTPGet.Port.String())}
				}
				assert.Equal(t, want, got, "%s mode, %s pod at %s: the targets Prometheus scrapes", mode, c.name, ip)
			}
		}
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// podMonitorScrapeConfigs runs the operator's validation (a PodMonitor it
// rejects is dropped from the configuration) and configuration generator,
// and loads the result with Prometheus' own parser.
func podMonitorScrapeConfigs(t *testing.T, pm *monitoringv1.PodMonitor) []*promconfig.ScrapeConfig {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	p := &monitoringv1.Prometheus{
		ObjectMeta: metav1.ObjectMeta{Name: "k8s", Namespace: pm.Namespace},
		// The CRD's defaults, which the API server would fill in.
		Spec: monitoringv1.PrometheusSpec{
			CommonPrometheusFields: monitoringv1.CommonPrometheusFields{
				PodMonitorSelector: &metav1.LabelSelector{},
				ScrapeInterval:     "30s",
			},
			EvaluationInterval: "30s",
		},
	}
	store := assets.NewTestStoreBuilder()
	rs, err := prompkg.NewResourceSelector(logger, p, store, nil, operator.NewMetrics(promclient.NewRegistry()), record.NewFakeRecorder(10))
	require.NoError(t, err)
	selected, err := rs.SelectPodMonitors(ctx, func(namespace string, _ k8slabels.Selector, appendFn cache.AppendFunc) error {
		if namespace == pm.Namespace {
			appendFn(pm)
		}
		return nil
	})
	require.NoError(t, err)
	valid := selected.ValidResources()
	require.Len(t, valid, 1, "the Prometheus Operator rejects the PodMonitor: %+v", selected)

	cg, err := prompkg.NewConfigGenerator(logger, p)
	require.NoError(t, err)
	out, err := cg.GenerateServerConfiguration(p, nil, valid, nil, nil, store, nil, nil, nil, nil)
	require.NoError(t, err)
	// This module's Prometheus cannot build its Kubernetes discovery (see
	// podTargets), so the discovery block is checked here and taken out
	// before Prometheus' parser loads the rest.
	// The operator's config-reloader sidecar fills in its variables
	// before Prometheus reads the file: this is shard 0 of one.
	out = []byte(strings.NewReplacer(
		"$("+operator.ShardEnvVar+")", "0",
		"$("+operator.PodNameEnvVar+")", "prometheus-k8s-0",
	).Replace(string(out)))
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(out, &doc))
	for _, sc := range doc["scrape_configs"].([]any) {
		sc := sc.(map[string]any)
		sds := sc["kubernetes_sd_configs"].([]any)
		require.Len(t, sds, 1)
		sd := sds[0].(map[string]any)
		assert.Equal(t, "pod", sd["role"])
		assert.Equal(t, map[string]any{"names": []any{pm.Namespace}}, sd["namespaces"], "the PodMonitor's own namespace")
		delete(sc, "kubernetes_sd_configs")
	}
	stripped, err := yaml.Marshal(doc)
	require.NoError(t, err)
	// The operator's package sets this process-wide variable to legacy
	// names (pkg/operator/rules.go) and this Prometheus' parser insists on
	// UTF-8; in a cluster each runs in its own process.
	//lint:ignore SA1019 the variable the operator's package set (above)
	saved := model.NameValidationScheme
	//lint:ignore SA1019 what a Prometheus server runs with
	model.NameValidationScheme = model.UTF8Validation
	//lint:ignore SA1019 restored for the tests that follow
	t.Cleanup(func() { model.NameValidationScheme = saved })
	cfg, err := promconfig.Load(string(stripped), logger)
	require.NoError(t, err, "Prometheus loads the operator's configuration:\n%s", out)
	scs, err := cfg.GetScrapeConfigs()
	require.NoError(t, err)
	require.Len(t, scs, len(pm.Spec.PodMetricsEndpoints), "one scrape job per endpoint:\n%s", out)
	return scs
}

// componentPod is the pod KServe (and, in Knative mode, Knative) runs for
// c, after KServe's pod webhook has added metrics aggregation.
func componentPod(t *testing.T, isvc *v1beta1.InferenceService, c component, mode, ns, ip string) *corev1.Pod {
	t.Helper()
	// The component's labels, as KServe's component reconcilers set them
	// (buildObjectMeta), and its annotations.
	meta := metav1.ObjectMeta{
		Name:      isvc.Name + "-" + c.name,
		Namespace: ns,
		Labels: map[string]string{
			constants.InferenceServicePodLabelKey: isvc.Name,
			constants.KServiceComponentLabel:      c.name,
		},
		Annotations: podAnnotations(c.runtimeAnn, isvc, c.ext),
	}

	pod := &corev1.Pod{}
	if mode == string(constants.Standard) {
		r, err := kservedeployment.NewDeploymentReconciler(fake.NewClientBuilder().Build(), scheme(t), meta, metav1.ObjectMeta{},
			c.ext, c.podSpec.DeepCopy(), nil, nil)
		require.NoError(t, err)
		require.Len(t, r.DeploymentList, 1)
		tmpl := r.DeploymentList[0].Spec.Template
		pod.ObjectMeta, pod.Spec = *tmpl.ObjectMeta.DeepCopy(), *tmpl.Spec.DeepCopy()
	} else {
		// Knative's revision pod: its labels, the user container's port
		// renamed user-port, and queue-proxy with Knative's ports.
		pod.ObjectMeta = *meta.DeepCopy()
		pod.Labels["serving.knative.dev/revision"] = meta.Name + "-00001"
		pod.Labels["serving.knative.dev/service"] = meta.Name
		pod.Spec = *c.podSpec.DeepCopy()
		user := &pod.Spec.Containers[0]
		port := int32(8080)
		if len(user.Ports) > 0 {
			port = user.Ports[0].ContainerPort
		}
		user.Ports = []corev1.ContainerPort{{Name: "user-port", ContainerPort: port, Protocol: corev1.ProtocolTCP}}
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "queue-proxy", Ports: []corev1.ContainerPort{
			{Name: "http-queueadm", ContainerPort: 8022, Protocol: corev1.ProtocolTCP},
			{Name: "http-autometric", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
			{Name: "http-usermetric", ContainerPort: 9091, Protocol: corev1.ProtocolTCP},
			{Name: "queue-port", ContainerPort: 8012, Protocol: corev1.ProtocolTCP},
		}})
	}
	pod.Name, pod.Namespace = meta.Name+"-abc12", ns
	require.NoError(t, (&kservepod.MetricsAggregator{EnableMetricAggregation: "false", EnablePrometheusScraping: "false"}).InjectMetricsAggregator(pod))
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}
	return pod
}

// podTargets is what Prometheus' Kubernetes service discovery (role pod)
// makes of pod: one target per declared container port, addressed
// podIP:port, and one port-free target per container declaring none,
// under the pod's meta labels. It is written from Prometheus' documented
// pod role (configuration.md, <kubernetes_sd_config>) rather than run: the
// discovery package of the Prometheus this module can build does not
// compile against the client-go KServe v0.16.0 needs.
func podTargets(pod *corev1.Pod) *targetgroup.Group {
	g := &targetgroup.Group{Source: "pod/" + pod.Namespace + "/" + pod.Name, Labels: model.LabelSet{
		"__meta_kubernetes_namespace":     model.LabelValue(pod.Namespace),
		"__meta_kubernetes_pod_name":      model.LabelValue(pod.Name),
		"__meta_kubernetes_pod_ip":        model.LabelValue(pod.Status.PodIP),
		"__meta_kubernetes_pod_phase":     model.LabelValue(pod.Status.Phase),
		"__meta_kubernetes_pod_ready":     "true",
		"__meta_kubernetes_pod_uid":       model.LabelValue(pod.UID),
		"__meta_kubernetes_pod_host_ip":   "192.0.2.1",
		"__meta_kubernetes_pod_node_name": "node-1",
	}}
	for k, v := range pod.Labels {
		name := strutil.SanitizeLabelName(k)
		g.Labels[model.LabelName("__meta_kubernetes_pod_label_"+name)] = model.LabelValue(v)
		g.Labels[model.LabelName("__meta_kubernetes_pod_labelpresent_"+name)] = "true"
	}
	for k, v := range pod.Annotations {
		name := strutil.SanitizeLabelName(k)
		g.Labels[model.LabelName("__meta_kubernetes_pod_annotation_"+name)] = model.LabelValue(v)
		g.Labels[model.LabelName("__meta_kubernetes_pod_annotationpresent_"+name)] = "true"
	}
	for _, c := range pod.Spec.Containers {
		base := model.LabelSet{
			"__meta_kubernetes_pod_container_name":  model.LabelValue(c.Name),
			"__meta_kubernetes_pod_container_image": model.LabelValue(c.Image),
			"__meta_kubernetes_pod_container_init":  "false",
		}
		if len(c.Ports) == 0 {
			base[model.AddressLabel] = model.LabelValue(pod.Status.PodIP)
			g.Targets = append(g.Targets, base)
			continue
		}
		for _, p := range c.Ports {
			t := base.Clone()
			port := strconv.Itoa(int(p.ContainerPort))
			t[model.AddressLabel] = model.LabelValue(net.JoinHostPort(pod.Status.PodIP, port))
			t["__meta_kubernetes_pod_container_port_name"] = model.LabelValue(p.Name)
			t["__meta_kubernetes_pod_container_port_number"] = model.LabelValue(port)
			t["__meta_kubernetes_pod_container_port_protocol"] = model.LabelValue(p.Protocol)
			g.Targets = append(g.Targets, t)
		}
	}
	return g
}
