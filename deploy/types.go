package deploy

import (
	corev1 "k8s.io/api/core/v1"
)

// The wrappers below mirror the parts of KServe's serving.kserve.io
// v1beta1 InferenceService and v1alpha1 ServingRuntime that kserve-gen
// writes, with the same JSON field names. They are our own small structs
// rather than KServe's types so the kserve module (≈90 MB of dependencies)
// stays out of the kserve-gen binary; the deploy/validate module decodes
// every golden file strictly into KServe's real types to prove the names
// match.
//
// ObjectMeta is also our own: metav1.ObjectMeta would print
// `creationTimestamp: null`, and Status is left out so no `status: {}` is
// printed.

// API group versions and kinds.
const (
	APIVersionV1beta1  = "serving.kserve.io/v1beta1"
	APIVersionV1alpha1 = "serving.kserve.io/v1alpha1"

	KindInferenceService      = "InferenceService"
	KindServingRuntime        = "ServingRuntime"
	KindClusterServingRuntime = "ClusterServingRuntime"
)

// ObjectMeta is the subset of metav1.ObjectMeta kserve-gen sets.
type ObjectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// InferenceService is serving.kserve.io/v1beta1 InferenceService.
type InferenceService struct {
	APIVersion string               `json:"apiVersion"`
	Kind       string               `json:"kind"`
	Metadata   ObjectMeta           `json:"metadata"`
	Spec       InferenceServiceSpec `json:"spec"`
}

// InferenceServiceSpec is v1beta1.InferenceServiceSpec (no explainer).
type InferenceServiceSpec struct {
	Predictor   PredictorSpec    `json:"predictor"`
	Transformer *TransformerSpec `json:"transformer,omitempty"`
}

// PredictorSpec is v1beta1.PredictorSpec: either Model (served by a
// ServingRuntime) or Containers (a custom predictor), plus the pod-level and
// component-extension fields KServe inlines into it.
type PredictorSpec struct {
	// v1beta1.ComponentExtensionSpec (inlined in KServe).
	MinReplicas          *int32              `json:"minReplicas,omitempty"`
	MaxReplicas          int32               `json:"maxReplicas,omitempty"`
	ScaleTarget          *int32              `json:"scaleTarget,omitempty"`
	ScaleMetric          string              `json:"scaleMetric,omitempty"`
	AutoScaling          *AutoScalingSpec    `json:"autoScaling,omitempty"`
	CanaryTrafficPercent *int64              `json:"canaryTrafficPercent,omitempty"`
	ContainerConcurrency *int64              `json:"containerConcurrency,omitempty"`
	TimeoutSeconds       *int64              `json:"timeout,omitempty"`
	Logger               *Logger             `json:"logger,omitempty"`
	Batcher              *Batcher            `json:"batcher,omitempty"`
	Annotations          map[string]string   `json:"annotations,omitempty"` // onto this component's pods
	Model                *Model              `json:"model,omitempty"`
	ServiceAccountName   string              `json:"serviceAccountName,omitempty"`
	NodeSelector         map[string]string   `json:"nodeSelector,omitempty"`
	Tolerations          []corev1.Toleration `json:"tolerations,omitempty"`
	// v1beta1.PodSpec's; Standard mode only (Knative refuses it).
	TerminationGracePeriodSeconds *int64             `json:"terminationGracePeriodSeconds,omitempty"`
	Containers                    []corev1.Container `json:"containers,omitempty"`
}

// Logger is v1beta1.LoggerSpec.
type Logger struct {
	URL             *string  `json:"url,omitempty"`
	Mode            string   `json:"mode"`
	MetadataHeaders []string `json:"metadataHeaders,omitempty"`
}

// Batcher is v1beta1.Batcher, less its timeout, which KServe v0.16 reads
// nowhere (Options.Validate refuses one).
type Batcher struct {
	MaxBatchSize *int `json:"maxBatchSize,omitempty"`
	MaxLatency   *int `json:"maxLatency,omitempty"`
}

// TransformerSpec is v1beta1.TransformerSpec: a predictor's component
// extension and pod fields, with Model always nil (a transformer is a
// custom container).
type TransformerSpec PredictorSpec

// Model is v1beta1.ModelSpec: the model format that selects a runtime and
// the per-deployment settings merged into the runtime's container.
type Model struct {
	ModelFormat     ModelFormat                  `json:"modelFormat"`
	Runtime         string                       `json:"runtime,omitempty"`
	ProtocolVersion string                       `json:"protocolVersion,omitempty"`
	StorageURI      string                       `json:"storageUri,omitempty"`
	Args            []string                     `json:"args,omitempty"` // appended to the runtime container's by KServe
	Ports           []corev1.ContainerPort       `json:"ports,omitempty"`
	Env             []corev1.EnvVar              `json:"env,omitempty"`
	Resources       *corev1.ResourceRequirements `json:"resources,omitempty"`
	Lifecycle       *corev1.Lifecycle            `json:"lifecycle,omitempty"` // Standard mode's preStop sleep
}

// ModelFormat is v1beta1.ModelFormat.
type ModelFormat struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Knative Eventing's Trigger (eventing.knative.dev/v1), the subset
// kserve-gen writes; deploy/validate decodes it into Knative's own type.
const (
	APIVersionEventingV1 = "eventing.knative.dev/v1"
	KindTrigger          = "Trigger"
)

// Trigger is eventing.knative.dev/v1 Trigger.
type Trigger struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Metadata   ObjectMeta  `json:"metadata"`
	Spec       TriggerSpec `json:"spec"`
}

// TriggerSpec is v1.TriggerSpec with an attribute filter.
type TriggerSpec struct {
	Broker     string         `json:"broker"`
	Filter     *TriggerFilter `json:"filter,omitempty"`
	Subscriber Destination    `json:"subscriber"`
}

// TriggerFilter is v1.TriggerFilter: exact matches on event attributes.
type TriggerFilter struct {
	Attributes map[string]string `json:"attributes"`
}

// Destination is knative.dev/pkg duckv1.Destination: an object's address,
// with a path relative to it.
type Destination struct {
	Ref *KReference `json:"ref"`
	URI string      `json:"uri,omitempty"`
}

// KReference is duckv1.KReference.
type KReference struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
}

// ServingRuntime is serving.kserve.io/v1alpha1 ServingRuntime or
// ClusterServingRuntime (the two share the spec).
type ServingRuntime struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Metadata   ObjectMeta         `json:"metadata"`
	Spec       ServingRuntimeSpec `json:"spec"`
}

// ServingRuntimeSpec is v1alpha1.ServingRuntimeSpec (single-model subset).
type ServingRuntimeSpec struct {
	SupportedModelFormats []SupportedModelFormat `json:"supportedModelFormats"`
	ProtocolVersions      []string               `json:"protocolVersions"`
	// v1alpha1.ServingRuntimePodSpec (inlined in KServe).
	Annotations  map[string]string   `json:"annotations,omitempty"`
	NodeSelector map[string]string   `json:"nodeSelector,omitempty"`
	Tolerations  []corev1.Toleration `json:"tolerations,omitempty"`
	Containers   []corev1.Container  `json:"containers"`
}

// SupportedModelFormat is v1alpha1.SupportedModelFormat.
type SupportedModelFormat struct {
	Name       string `json:"name"`
	Version    string `json:"version,omitempty"`
	AutoSelect *bool  `json:"autoSelect,omitempty"`
}

// KindConfigMap is the core v1 ConfigMap's kind.
const KindConfigMap = "ConfigMap"

// ConfigMap is core v1 ConfigMap (our own struct for the same reason as
// ObjectMeta: no creationTimestamp line).
type ConfigMap struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   ObjectMeta        `json:"metadata"`
	Data       map[string]string `json:"data"`
}

// AutoScalingSpec is v1beta1.AutoScalingSpec: the metrics KEDA (or an HPA)
// scales on. kserve-gen writes one External Prometheus metric for KEDA.
type AutoScalingSpec struct {
	Metrics []MetricsSpec `json:"metrics"`
}

// MetricsSpec is v1beta1.MetricsSpec (External only).
type MetricsSpec struct {
	Type     string                `json:"type"`
	External *ExternalMetricSource `json:"external,omitempty"`
}

// ExternalMetricSource is v1beta1.ExternalMetricSource.
type ExternalMetricSource struct {
	Metric ExternalMetrics `json:"metric"`
	Target MetricTarget    `json:"target"`
}

// ExternalMetrics is v1beta1.ExternalMetrics: KServe turns it into a KEDA
// trigger of type Backend with serverAddress and query.
type ExternalMetrics struct {
	Backend       string `json:"backend"`
	ServerAddress string `json:"serverAddress"`
	Query         string `json:"query"`
}

// MetricTarget is v1beta1.MetricTarget with a Value (a MetricQuantity,
// written as a string): KServe passes it on as the KEDA trigger's threshold.
type MetricTarget struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}
