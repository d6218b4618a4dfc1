package deploy

import (
	"strconv"
)

// Prometheus Operator's PodMonitor (monitoring.coreos.com/v1): the way a
// Prometheus run by the operator (kube-prometheus-stack) is told what to
// scrape; it ignores the prometheus.io annotations.
const (
	APIVersionMonitoringV1 = "monitoring.coreos.com/v1"
	KindPodMonitor         = "PodMonitor"
)

// Names KServe and Knative give the pods and ports a PodMonitor finds.
const (
	// labelInferenceService is on every pod of an InferenceService, each
	// component's and each mode's.
	labelInferenceService = "serving.kserve.io/inferenceservice"
	// labelComponent says which component a pod runs (predictor,
	// transformer).
	labelComponent = "component"
	// labelKnativeRevision is on every pod Knative runs: it tells a
	// Knative pod from a Standard-mode one when the mode is the cluster's.
	labelKnativeRevision = "serving.knative.dev/revision"
	// portAggregateMetrics is the port KServe's pod webhook adds to
	// queue-proxy (serving.kserve.io/enable-metric-aggregation), serving
	// the model server's metrics and queue-proxy's own.
	portAggregateMetrics = "aggr-metric"
)

// PodMonitor is monitoring.coreos.com/v1 PodMonitor (the fields kserve-gen
// sets; our own structs, as for KServe's types).
type PodMonitor struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   ObjectMeta     `json:"metadata"`
	Spec       PodMonitorSpec `json:"spec"`
}

// PodMonitorSpec is monitoringv1.PodMonitorSpec.
type PodMonitorSpec struct {
	Selector            LabelSelector        `json:"selector"`
	PodMetricsEndpoints []PodMetricsEndpoint `json:"podMetricsEndpoints"`
}

// LabelSelector is metav1.LabelSelector (matchLabels only).
type LabelSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

// PodMetricsEndpoint is monitoringv1.PodMetricsEndpoint.
type PodMetricsEndpoint struct {
	Port        string          `json:"port,omitempty"`
	Path        string          `json:"path"`
	Relabelings []RelabelConfig `json:"relabelings,omitempty"`
}

// RelabelConfig is monitoringv1.RelabelConfig: one Prometheus relabeling
// step, applied to each target the pod discovery finds.
type RelabelConfig struct {
	Action       string   `json:"action,omitempty"`
	SourceLabels []string `json:"sourceLabels,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	TargetLabel  string   `json:"targetLabel,omitempty"`
	Replacement  string   `json:"replacement,omitempty"`
}

// podMonitor selects the InferenceService's pods and scrapes, per mode:
//   - Knative: queue-proxy's aggregate port (aggr-metric), which KServe's
//     webhook adds when metric aggregation is on (isvcAnnotations) and which
//     carries the model server's metrics and queue-proxy's;
//   - Standard: the model server's own port. The pod may not declare it
//     (Knative needs no port, a gRPC pod outside Standard mode declares
//     only h2c), so the endpoint takes the one target Prometheus' pod
//     discovery makes per port of the kserve-container (one, port-free,
//     when it declares none; the first port's when it declares several,
//     as a Standard-mode gRPC pod does) and points its address at the
//     server's port.
//
// With the cluster's default mode both endpoints are there: pods Knative
// runs (a serving.knative.dev/revision label) are left to the first.
// Standard mode scrapes only components running a server of ours: a
// predictor from one of KServe's runtimes serves its metrics on a port
// only its runtime knows.
func (o *Options) podMonitor() *PodMonitor {
	var eps []PodMetricsEndpoint
	if o.DeploymentMode != ModeStandard {
		eps = append(eps, PodMetricsEndpoint{Port: portAggregateMetrics, Path: metricsPath})
	}
	if o.DeploymentMode != ModeKnative {
		if o.Predictor == nil {
			eps = append(eps, o.directEndpoint("predictor", o.HTTPPort, o.exposedPorts()))
		} else {
			eps = append(eps, o.directEndpoint("transformer", o.HTTPPort, o.exposedPorts()))
			if o.Predictor.ModelFormat == "" {
				eps = append(eps, o.directEndpoint("predictor", DefaultHTTPPort, o.transformerPredictorPorts()))
			}
		}
	}
	return &PodMonitor{
		APIVersion: APIVersionMonitoringV1,
		Kind:       KindPodMonitor,
		Metadata:   o.meta(o.Name, o.Namespace, nil),
		Spec: PodMonitorSpec{
			Selector:            LabelSelector{MatchLabels: map[string]string{labelInferenceService: o.Name}},
			PodMetricsEndpoints: eps,
		},
	}
}

// directEndpoint scrapes the kserve-container of component's pods on
// port; exposed are the ports that container declares.
func (o *Options) directEndpoint(component string, port int, exposed []Port) PodMetricsEndpoint {
	p := strconv.Itoa(port)
	r := []RelabelConfig{
		{Action: "keep", SourceLabels: []string{prometheusLabel("pod_label_" + labelComponent)}, Regex: component},
		{Action: "keep", SourceLabels: []string{"__meta_kubernetes_pod_container_name"}, Regex: ContainerName},
	}
	if len(exposed) > 1 {
		// Pod discovery makes a target of each declared port (Standard
		// mode's h2c and http1): keep one, the others would scrape the
		// same address again.
		r = append(r, RelabelConfig{Action: "keep", SourceLabels: []string{"__meta_kubernetes_pod_container_port_name"}, Regex: exposed[0].Name})
	}
	if o.DeploymentMode == ModeDefault {
		r = append(r, RelabelConfig{Action: "drop", SourceLabels: []string{prometheusLabel("pod_labelpresent_" + labelKnativeRevision)}, Regex: "true"})
	}
	// An IPv6 address needs brackets before the port.
	r = append(r,
		RelabelConfig{SourceLabels: []string{"__meta_kubernetes_pod_ip"}, Regex: `([0-9.]+)`, TargetLabel: "__address__", Replacement: "${1}:" + p},
		RelabelConfig{SourceLabels: []string{"__meta_kubernetes_pod_ip"}, Regex: `(.*:.*)`, TargetLabel: "__address__", Replacement: "[${1}]:" + p},
	)
	return PodMetricsEndpoint{Path: metricsPath, Relabelings: r}
}

// prometheusLabel is the meta label Prometheus' Kubernetes discovery names
// a pod's property by: __meta_kubernetes_ and the name with every
// character outside [a-zA-Z0-9_] made an underscore.
func prometheusLabel(name string) string {
	b := []byte("__meta_kubernetes_" + name)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}
