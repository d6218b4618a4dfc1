package deploy

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kserve-gen/kserve-gen/project"
)

// Names KServe and Knative give meaning to.
const (
	// ContainerName is the container KServe treats as the model server.
	ContainerName = "kserve-container"

	envStorageURI = "STORAGE_URI"     // read by KServe's storage initializer
	envProtocol   = "PROTOCOL"        // custom predictor's protocol, v1 or v2
	envLogLevel   = "KSERVE_LOGLEVEL" // model server log level

	annotationDeploymentMode  = "serving.kserve.io/deploymentMode"
	annotationAutoscalerClass = "serving.kserve.io/autoscalerClass"
	// KServe's pod mutator reads these to scrape the model server's own
	// /metrics next to queue-proxy's (metric aggregation).
	annotationPrometheusPort    = "prometheus.kserve.io/port"
	annotationPrometheusPath    = "prometheus.kserve.io/path"
	annotationEnableScraping    = "serving.kserve.io/enable-prometheus-scraping"
	annotationEnableAggregation = "serving.kserve.io/enable-metric-aggregation"
	// The common convention Prometheus' annotation-based pod discovery
	// keeps targets by (the Prometheus community Helm chart's
	// kubernetes-pods job). KServe's webhook sets the port and path but
	// never scrape, so without it such a Prometheus ignores the pods.
	annotationScrape  = "prometheus.io/scrape"
	annotationPodPort = "prometheus.io/port"
	annotationPodPath = "prometheus.io/path"

	labelManagedBy = "app.kubernetes.io/managed-by"

	resourceGPU = corev1.ResourceName("nvidia.com/gpu")

	metricsPath = "/metrics"

	// startupPeriod is the startup probe's period; the failure threshold is
	// derived from StartupTimeout.
	startupPeriod = 5 * time.Second

	// modelNamePlaceholder is replaced by KServe with the InferenceService
	// name when it builds a pod from a ServingRuntime
	// (ReplacePlaceholders executes the container as a Go template over the
	// InferenceService's metadata).
	modelNamePlaceholder = "{{.Name}}"
)

// Manifests validates o and returns the objects to apply, in apply order:
// the serving runtime (when o.Runtime is set) before the InferenceService.
func Manifests(o Options) ([]any, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var objs []any
	switch {
	case o.Predictor != nil:
		objs = []any{o.transformerInferenceService()}
	case o.Runtime == nil:
		objs = []any{o.customInferenceService()}
	default:
		rt := o.servingRuntime()
		objs = []any{rt, o.runtimeInferenceService(rt)}
	}
	if o.Trigger != nil {
		objs = append(objs, o.trigger())
	}
	if o.PodMonitor {
		objs = append(objs, o.podMonitor())
	}
	if o.Dashboard {
		objs = append(objs, o.dashboard())
	}
	return objs, nil
}

// trigger subscribes the InferenceService to a broker: Knative resolves the
// InferenceService's address (it is Addressable) and posts each matching
// event to its v1 :predict endpoint, which answers with a CloudEvent that
// the broker takes back in as a new event.
func (o *Options) trigger() *Trigger {
	t := &Trigger{
		APIVersion: APIVersionEventingV1,
		Kind:       KindTrigger,
		Metadata:   o.meta(o.Name, o.Namespace, nil),
		Spec: TriggerSpec{
			Broker: o.Trigger.Broker,
			Subscriber: Destination{
				Ref: &KReference{APIVersion: APIVersionV1beta1, Kind: KindInferenceService, Name: o.Name},
				URI: "/v1/models/" + o.Name + ":predict",
			},
		},
	}
	if len(o.Trigger.Filter) > 0 {
		t.Spec.Filter = &TriggerFilter{Attributes: maps.Clone(o.Trigger.Filter)}
	}
	return t
}

// Render validates o and returns its manifests as YAML, one document per
// object separated by "---".
func Render(o Options) ([]byte, error) {
	objs, err := Manifests(o)
	if err != nil {
		return nil, err
	}
	return MarshalYAML(objs...)
}

// customInferenceService is the seed's custom.yaml / custom_grpc.yaml shape:
// the predictor is our own container.
func (o *Options) customInferenceService() *InferenceService {
	c := o.container(o.Name, true, o.gracePeriodArgs()...)
	c.Env = o.env(true)
	c.Resources = o.resources()
	c.Lifecycle = o.lifecycle()
	p := o.predictor()
	p.Containers = []corev1.Container{c}
	return &InferenceService{
		APIVersion: APIVersionV1beta1,
		Kind:       KindInferenceService,
		Metadata:   o.meta(o.Name, o.Namespace, o.isvcAnnotations(true)),
		Spec:       InferenceServiceSpec{Predictor: p},
	}
}

// transformerInferenceService puts the project's container in front of its
// predictor (o.Predictor). KServe appends --predictor_host (the predictor's
// service) to the transformer's arguments; the predictor serves the same
// model name.
func (o *Options) transformerInferenceService() *InferenceService {
	c := o.container(o.Name, true, append([]string{"--predictor_protocol=" + o.predictorProtocol()}, o.gracePeriodArgs()...)...)
	c.Env = o.env(true)
	c.Resources = o.resources()
	c.Lifecycle = o.lifecycle()
	t := TransformerSpec(o.predictor())
	t.Containers = []corev1.Container{c}
	// The two components' servers may listen on different ports, and a
	// predictor from one of KServe's runtimes names its own metrics port
	// (Triton 8002, TorchServe 8082), which an InferenceService-wide
	// annotation would override: each component gets its own.
	t.Annotations = o.metricsAnnotations(o.HTTPPort)
	pred := o.transformerPredictor()
	if pred.Model == nil {
		pred.Annotations = o.metricsAnnotations(DefaultHTTPPort)
	}
	return &InferenceService{
		APIVersion: APIVersionV1beta1,
		Kind:       KindInferenceService,
		Metadata:   o.meta(o.Name, o.Namespace, o.isvcAnnotations(false)),
		Spec:       InferenceServiceSpec{Predictor: pred, Transformer: &t},
	}
}

// metricsAnnotations are the annotations naming where a server of ours
// on port serves its metrics, for one component's pods: for KServe's
// webhook, which has queue-proxy aggregate them (Knative), or for
// Prometheus itself (Standard mode: see isvcAnnotations).
func (o *Options) metricsAnnotations(port int) map[string]string {
	switch {
	case !o.Metrics:
		return nil
	case o.DeploymentMode == ModeStandard:
		// scrape only beside a port: a predictor from one of KServe's
		// runtimes gets none, rather than every port it declares scraped.
		return map[string]string{annotationScrape: "true", annotationPodPort: strconv.Itoa(port), annotationPodPath: metricsPath}
	default:
		return map[string]string{annotationPrometheusPort: strconv.Itoa(port), annotationPrometheusPath: metricsPath}
	}
}

func (o *Options) predictorProtocol() string {
	if o.Predictor.Protocol != "" {
		return o.Predictor.Protocol
	}
	return o.Protocol
}

// transformerPredictor is the predictor a transformer calls: a model format
// KServe serves with one of its runtimes, or a container serving the model
// name on KServe's default ports. Scaling and placement options describe
// the transformer and stay off it; the service account goes to both, as it
// usually carries the storage credentials the predictor needs.
func (o *Options) transformerPredictor() PredictorSpec {
	p, protocol := o.Predictor, o.predictorProtocol()
	spec := PredictorSpec{ServiceAccountName: o.ServiceAccountName}
	if p.ModelFormat != "" {
		spec.Model = &Model{
			ModelFormat:     ModelFormat{Name: p.ModelFormat, Version: p.ModelFormatVersion},
			ProtocolVersion: protocol,
			StorageURI:      p.StorageURI,
		}
		if protocol == project.ProtocolGRPCV2 {
			// KServe's runtimes declare no port, so Knative would route
			// the transformer's gRPC calls to their REST port: expose the
			// runtime's gRPC port, as KServe's own gRPC samples do.
			spec.Model.Ports = []corev1.ContainerPort{{Name: PortNameH2C, ContainerPort: int32(builtinGRPCPorts[p.ModelFormat]), Protocol: corev1.ProtocolTCP}}
		}
		return spec
	}
	// The predictor's REST endpoint speaks v2 when it is called over gRPC.
	rest := protocol
	args := []string{"--model_name=" + o.Name}
	if protocol == project.ProtocolGRPCV2 {
		rest = project.ProtocolV2
		// --enable_grpc too: a kserve-gen rest project's image, the usual
		// predictor here, leaves gRPC off unless told. --http_port too:
		// Knative sets PORT to the exposed port (8081 here), and a kserve-gen
		// image's Procfile passes --http_port=${PORT:-8080}, so without it
		// REST asked for the gRPC port and the server refused to start.
		args = append(args, "--http_port="+strconv.Itoa(DefaultHTTPPort), "--grpc_port="+strconv.Itoa(DefaultGRPCPort), "--enable_grpc=true")
	}
	var ports []corev1.ContainerPort
	for _, p := range o.transformerPredictorPorts() {
		ports = append(ports, corev1.ContainerPort{Name: p.Name, ContainerPort: int32(p.ContainerPort), Protocol: corev1.ProtocolTCP})
	}
	var env []corev1.EnvVar
	if p.StorageURI != "" {
		env = append(env, corev1.EnvVar{Name: envStorageURI, Value: p.StorageURI})
	}
	env = append(env, corev1.EnvVar{Name: envProtocol, Value: rest})
	readiness, startup := o.probes(rest, DefaultHTTPPort, o.Name)
	if o.DeploymentMode == ModeStandard {
		// Usually a kserve-gen image, given no --grace_period.
		spec.TerminationGracePeriodSeconds = terminationGracePeriod(o.preStopSleep(), serverDefaultGracePeriod)
	}
	spec.Containers = []corev1.Container{{
		Name:           ContainerName,
		Image:          p.Image,
		Args:           args,
		Ports:          ports,
		Env:            env,
		ReadinessProbe: readiness,
		StartupProbe:   startup,
		Lifecycle:      o.lifecycle(),
	}}
	return spec
}

// transformerPredictorPorts are the ports a --predictor-image predictor
// exposes. Over REST none: Knative's default, 8080, and in Standard mode
// KServe's Service then points at 8080 too. Over grpc-v2 h2c on
// DefaultGRPCPort, first, where the transformer's --predictor_host (the
// Service's port 80) leads; in Standard mode REST follows it, on the
// Service at DefaultHTTPPort, as a --grpc project's own does
// (restBesideGRPC), so that in-cluster clients and kubectl port-forward
// reach the predictor's REST (v2) endpoint, e.g. to compare its answers
// with the transformer's. The server serves it anyway, for the probes. A
// logger does not stop it: that is the transformer's, whose agent
// KServe puts in the transformer's pods, not the predictor's.
func (o *Options) transformerPredictorPorts() []Port {
	if o.Predictor.ModelFormat != "" || o.predictorProtocol() != project.ProtocolGRPCV2 {
		return nil
	}
	ports := []Port{{Name: PortNameH2C, ContainerPort: DefaultGRPCPort}}
	if o.DeploymentMode == ModeStandard {
		ports = append(ports, Port{Name: PortNameHTTP1, ContainerPort: DefaultHTTPPort})
	}
	return ports
}

// servingRuntime is a reusable runtime: the container does not name the
// model, KServe fills {{.Name}} from each InferenceService using it.
func (o *Options) servingRuntime() *ServingRuntime {
	name, format := o.Name, o.Name
	if o.Runtime.Name != "" {
		name = o.Runtime.Name
	}
	if o.Runtime.ModelFormat != "" {
		format = o.Runtime.ModelFormat
	}
	kind, ns := KindServingRuntime, o.Namespace
	if o.Runtime.Cluster {
		kind, ns = KindClusterServingRuntime, ""
	}
	autoSelect := true
	protocols := []string{o.Protocol}
	if o.GRPC {
		protocols = append(protocols, project.ProtocolGRPCV2)
	}
	var ann map[string]string
	if o.Metrics {
		ann = map[string]string{
			annotationPrometheusPort: strconv.Itoa(o.HTTPPort),
			annotationPrometheusPath: metricsPath,
		}
	}
	// No --device: it follows each InferenceService's GPUs (runtimeInferenceService).
	c := o.container(modelNamePlaceholder, false)
	if o.GRPC {
		// The runtime serves v2 over REST too: an InferenceService over
		// grpc-v2 exposes h2c itself (runtimeInferenceService), one over v2
		// gets Knative's default port, REST's 8080. Exposing h2c here sent
		// a v2 InferenceService's REST calls to the gRPC port.
		c.Ports = nil
	}
	return &ServingRuntime{
		APIVersion: APIVersionV1alpha1,
		Kind:       kind,
		Metadata:   o.meta(name, ns, nil),
		Spec: ServingRuntimeSpec{
			SupportedModelFormats: []SupportedModelFormat{{
				Name:       format,
				Version:    o.Runtime.ModelFormatVersion,
				AutoSelect: &autoSelect,
			}},
			ProtocolVersions: protocols,
			Annotations:      ann,
			Containers:       []corev1.Container{c},
		},
	}
}

// runtimeInferenceService selects rt by model format (and names it
// explicitly, so another runtime claiming the format cannot win).
func (o *Options) runtimeInferenceService(rt *ServingRuntime) *InferenceService {
	protocol := o.Protocol
	if o.GRPC {
		protocol = project.ProtocolGRPCV2
	}
	f := rt.Spec.SupportedModelFormats[0]
	m := &Model{
		ModelFormat:     ModelFormat{Name: f.Name, Version: f.Version},
		Runtime:         rt.Metadata.Name,
		ProtocolVersion: protocol,
		StorageURI:      o.StorageURI,
		Env:             o.env(false),
		// On the InferenceService, as the termination grace period: the
		// runtime may serve InferenceServices in Knative mode too, which
		// refuses it. KServe merges it into the runtime's container.
		Lifecycle: o.lifecycle(),
	}
	// The runtime is shared and GPUs are this InferenceService's own, so
	// the device goes here: KServe appends these args to the runtime's.
	// A --device of the user's own (o.Args, on the runtime) is left alone,
	// as an appended one would override it.
	if d := o.deviceArg(); d != "" && !slices.ContainsFunc(o.Args, isFlagArg("device")) {
		m.Args = []string{d}
	}
	// So does --grace_period: the timeout is this InferenceService's.
	m.Args = append(m.Args, o.gracePeriodArgs()...)
	if o.GRPC {
		// The port Knative routes grpc-v2 to, which the runtime leaves to
		// each InferenceService (servingRuntime).
		m.Ports = o.containerPorts()
	}
	if r := o.resources(); len(r.Requests) > 0 || len(r.Limits) > 0 {
		m.Resources = &r
	}
	p := o.predictor()
	p.Model = m
	return &InferenceService{
		APIVersion: APIVersionV1beta1,
		Kind:       KindInferenceService,
		// The runtime names the port for KServe's webhook (Knative), as
		// KServe's own runtimes do; Standard mode's prometheus.io port is
		// a per-deployment choice and goes here.
		Metadata: o.meta(o.Name, o.Namespace, o.isvcAnnotations(o.DeploymentMode == ModeStandard)),
		Spec:     InferenceServiceSpec{Predictor: p},
	}
}

func (o *Options) meta(name, ns string, ann map[string]string) ObjectMeta {
	return ObjectMeta{
		Name:        name,
		Namespace:   ns,
		Labels:      map[string]string{labelManagedBy: "kserve-gen"},
		Annotations: ann,
	}
}

// isvcAnnotations are the InferenceService's annotations; KServe copies
// them onto every component's pods. withPort adds where the server's
// metrics are (metricsAnnotations for o.HTTPPort) when every pod runs our
// server there; otherwise the runtime or each component names it.
func (o *Options) isvcAnnotations(withPort bool) map[string]string {
	ann := map[string]string{}
	if o.DeploymentMode != ModeDefault {
		ann[annotationDeploymentMode] = o.DeploymentMode
	}
	switch {
	case o.keda():
		ann[annotationAutoscalerClass] = "keda"
	case o.DeploymentMode == ModeStandard && o.ScaleMetric != "":
		// KServe validates cpu/memory targets only for the HPA class.
		ann[annotationAutoscalerClass] = "hpa"
	}
	if o.Metrics {
		// Knative: queue-proxy scrapes the model server and serves both
		// sets of metrics on one port, which the webhook names. KServe's
		// webhook points prometheus.io/port at queue-proxy (9088 with
		// aggregation, else 9091) whatever the mode, and a Standard-mode
		// pod has no queue-proxy: Prometheus would scrape a closed port. So
		// there the webhook is told to leave the pod alone, and
		// metricsAnnotations name the model server's own port.
		aggregate := strconv.FormatBool(o.DeploymentMode != ModeStandard)
		ann[annotationEnableScraping] = aggregate
		ann[annotationEnableAggregation] = aggregate
		if o.DeploymentMode != ModeStandard {
			ann[annotationScrape] = "true"
		}
		if withPort {
			maps.Copy(ann, o.metricsAnnotations(o.HTTPPort))
		}
	}
	if len(ann) == 0 {
		return nil
	}
	return ann
}

// kedaQuery is the Prometheus query KEDA scales on: the whole deployment's
// requests in flight (concurrency) or answered per second (rps), from the
// model server's own metrics. KEDA's Prometheus trigger is an AverageValue
// metric, so the replicas are the query's value divided by the threshold
// (--scale-target): the target per pod, as Knative's.
func (o *Options) kedaQuery() string {
	sel := fmt.Sprintf(`{namespace=%q,model_name=%q}`, o.Namespace, o.Name)
	if o.ScaleMetric == "rps" {
		return "sum(rate(kserve_requests_total" + sel + "[1m]))"
	}
	return "sum(kserve_requests_in_flight" + sel + ")"
}

// predictor holds the component-extension and pod-level settings shared by
// both shapes.
func (o *Options) predictor() PredictorSpec {
	p := PredictorSpec{
		MaxReplicas:        int32(o.MaxReplicas),
		ScaleMetric:        o.ScaleMetric,
		ServiceAccountName: o.ServiceAccountName,
		NodeSelector:       maps.Clone(o.NodeSelector),
	}
	if o.MinReplicas != nil {
		v := int32(*o.MinReplicas)
		p.MinReplicas = &v
	}
	if o.ScaleTarget > 0 {
		v := int32(o.ScaleTarget)
		p.ScaleTarget = &v
	}
	if o.keda() {
		// KServe refuses scaleMetric with KEDA: the metric is a query.
		p.ScaleMetric, p.ScaleTarget = "", nil
		p.AutoScaling = &AutoScalingSpec{Metrics: []MetricsSpec{{
			Type: "External",
			External: &ExternalMetricSource{
				Metric: ExternalMetrics{Backend: "prometheus", ServerAddress: o.PrometheusURL, Query: o.kedaQuery()},
				Target: MetricTarget{Type: "Value", Value: strconv.Itoa(o.ScaleTarget)},
			},
		}}}
	}
	if o.CanaryTrafficPercent != nil {
		v := int64(*o.CanaryTrafficPercent)
		p.CanaryTrafficPercent = &v
	}
	if o.ContainerConcurrency > 0 {
		v := int64(o.ContainerConcurrency)
		p.ContainerConcurrency = &v
	}
	if o.Timeout > 0 {
		v := int64(o.Timeout)
		p.TimeoutSeconds = &v
	}
	if o.DeploymentMode == ModeStandard {
		// Validate has refused a --grace_period it cannot read.
		grace, _ := o.serverGracePeriod()
		p.TerminationGracePeriodSeconds = terminationGracePeriod(o.preStopSleep(), grace)
	}
	if l := o.Logger; l != nil {
		// KServe's webhook refuses an empty mode; "all" is its documented default.
		p.Logger = &Logger{Mode: cmp.Or(l.Mode, "all")}
		// KServe's agent keeps a request header only when its name as
		// net/http's r.Header holds it (canonical: X-Request-Id) is in
		// the list, compared exactly: x-request-id never matched.
		for _, h := range l.MetadataHeaders {
			p.Logger.MetadataHeaders = append(p.Logger.MetadataHeaders, http.CanonicalHeaderKey(h))
		}
		if l.URL != "" {
			u := l.URL
			p.Logger.URL = &u
		}
	}
	if b := o.Batcher; b != nil {
		p.Batcher = &Batcher{MaxBatchSize: positive(b.MaxBatchSize), MaxLatency: positive(b.MaxLatency)}
	}
	for _, t := range o.Tolerations {
		p.Tolerations = append(p.Tolerations, corev1.Toleration{
			Key:      t.Key,
			Operator: corev1.TolerationOperator(t.Operator),
			Value:    t.Value,
			Effect:   corev1.TaintEffect(t.Effect),
		})
	}
	return p
}

// positive returns &v for v > 0, else nil (KServe's default).
func positive(v int) *int {
	if v <= 0 {
		return nil
	}
	return &v
}

// container is the model server container; modelName is the literal name
// or KServe's {{.Name}} placeholder. device adds an onnx server's --device
// (deviceArg); a serving runtime's container leaves it to each
// InferenceService. extra arguments go before the user's own (o.Args),
// which come last so they can override.
func (o *Options) container(modelName string, device bool, extra ...string) corev1.Container {
	workers := o.Workers
	if workers == 0 {
		workers = 1
	}
	args := []string{
		"--model_name=" + modelName,
		"--http_port=" + strconv.Itoa(o.HTTPPort),
	}
	if o.GRPC {
		// The exposed port must be served whatever the image's own default:
		// a project made without gRPC (kserve-gen new --template rest)
		// turns it off in its main.go.
		args = append(args, "--grpc_port="+strconv.Itoa(o.GRPCPort), "--enable_grpc=true")
	}
	args = append(args, "--workers="+strconv.Itoa(workers))
	if o.MaxQueuedRequests > 0 {
		args = append(args, "--max_queued_requests="+strconv.Itoa(o.MaxQueuedRequests))
	}
	if d := o.deviceArg(); d != "" && device {
		args = append(args, d)
	}
	args = append(args, extra...)
	args = append(args, o.Args...)

	readiness, startup := o.probes(o.Protocol, o.HTTPPort, modelName)
	return corev1.Container{
		Name:           ContainerName,
		Image:          o.Image,
		Args:           args,
		Ports:          o.containerPorts(),
		ReadinessProbe: readiness,
		StartupProbe:   startup,
	}
}

// containerPorts is the exposed port (exposedPorts) as the container lists it.
func (o *Options) containerPorts() []corev1.ContainerPort {
	var ports []corev1.ContainerPort
	for _, p := range o.exposedPorts() {
		ports = append(ports, corev1.ContainerPort{
			Name:          p.Name,
			ContainerPort: int32(p.ContainerPort),
			Protocol:      corev1.ProtocolTCP,
		})
	}
	return ports
}

// deviceArg is an onnx server's --device: cuda when GPUs are requested, so
// a pod whose CUDA does not work fails at start instead of serving on the
// CPU, else cpu; "" for other servers, which have no such flag.
func (o *Options) deviceArg() string {
	switch {
	case !o.ONNXDevice:
		return ""
	case o.GPU > 0:
		return "--device=cuda"
	default:
		return "--device=cpu"
	}
}

// isFlagArg returns a func reporting whether an argument sets the server
// flag --name (Go's flag package takes -name too, and a value in the next
// argument; the runtime takes a unique prefix of its own flags, --grace).
func isFlagArg(name string) func(arg string) bool {
	return func(arg string) bool {
		n, _, _ := serverFlag(arg)
		return n == name
	}
}

// The server's shutdown timing (runtime/server.go's shutdown).
const (
	// serverDefaultGracePeriod is its --grace_period default (KServe's).
	serverDefaultGracePeriod = 30 * time.Second
	// serverMinUnload is the least time Unload gets (minUnloadTime).
	serverMinUnload = 5 * time.Second
	// exitMargin is left for the process to exit once the models are
	// unloaded.
	exitMargin = 5 * time.Second
)

// terminationGracePeriod is the pod's terminationGracePeriodSeconds for a
// server stopping with grace after a preStop hook sleeping preStop seconds
// (Kubernetes counts the hook within the grace period): after SIGTERM the
// server drains for up to grace, then waits for models still loading and
// unloads them within max(grace, 5 s). Kubernetes' default, 30 s,
// SIGKILLed a server with the default grace period in the middle of its
// unload (or its drain).
func terminationGracePeriod(preStop int, grace time.Duration) *int64 {
	g := int64((max(grace, 0) + time.Second - 1) / time.Second) // whole seconds, rounded up
	s := int64(preStop) + g + max(g, int64(serverMinUnload/time.Second)) + int64(exitMargin/time.Second)
	return &s
}

// preStopSleep is how long a container running a kserve-gen server sleeps
// before SIGTERM (Options.PreStopSleep): only in Standard mode, where
// nothing else holds SIGTERM back while the pod leaves the endpoints.
// Knative's queue-proxy does (its preStop hook returns once it has
// drained), and Knative refuses a lifecycle of ours; the cluster's default
// mode may be Knative.
func (o *Options) preStopSleep() int {
	switch {
	case o.DeploymentMode != ModeStandard:
		return 0
	case o.PreStopSleep != nil:
		return max(*o.PreStopSleep, 0) // Validate refuses a negative one
	default:
		return DefaultPreStopSleep
	}
}

// lifecycle is the server container's preStop hook: Kubernetes' sleep
// action (no shell or sleep binary needed in the image), during which the
// server keeps serving the connections the endpoints' stragglers still
// send. nil when there is no sleep.
func (o *Options) lifecycle() *corev1.Lifecycle {
	s := o.preStopSleep()
	if s == 0 {
		return nil
	}
	return &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: int64(s)}}}
}

// serverGracePeriod is the --grace_period the server runs with: the user's
// own (o.Args; the last one wins, as in the server's flag parsing), else
// --timeout's (gracePeriodArgs), else the server's default. The error names
// an --arg whose value the server would refuse.
func (o *Options) serverGracePeriod() (time.Duration, error) {
	grace := serverDefaultGracePeriod
	if o.Timeout > 0 {
		grace = time.Duration(o.Timeout) * time.Second
	}
	isGrace := isFlagArg("grace_period")
	for i, a := range o.Args {
		if !isGrace(a) {
			continue
		}
		arg, v, ok := a, "", false
		if _, v, ok = strings.Cut(a, "="); !ok && i+1 < len(o.Args) {
			v = o.Args[i+1]
			arg += " " + v
		}
		d, err := parseSeconds(v)
		if err != nil {
			return 0, fmt.Errorf("--arg %s: not seconds (30, 2.5) or a duration (1m30s); the server would refuse to start", arg)
		}
		grace = d
	}
	return grace, nil
}

// parseSeconds reads a --grace_period value as the server does
// (runtime/config's secondsValue): seconds, or a Go duration.
func parseSeconds(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) >= math.MaxInt64/float64(time.Second) {
			return 0, fmt.Errorf("%q is out of range", v)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(v)
}

// gracePeriodArgs is --grace_period=--timeout when a timeout is set and the
// user's own args (o.Args) do not set it. The server lets in-flight
// requests run for --grace_period after SIGTERM (default 30 s) and then
// closes their connections: a request allowed --timeout 120 s was cut 30 s
// after SIGTERM. Knative gives the pod the timeout as its termination grace
// period too (knative.dev/serving BuildPodSpec), so the drain fits in it.
func (o *Options) gracePeriodArgs() []string {
	if o.Timeout <= 0 || slices.ContainsFunc(o.Args, isFlagArg("grace_period")) {
		return nil
	}
	return []string{"--grace_period=" + strconv.Itoa(o.Timeout)}
}

// modelReadyPath is the endpoint that answers 200 only once the model is
// loaded (contract §1.2/§1.3). Server-level health endpoints are always
// 200 and would send traffic to a pod whose model is still loading.
func modelReadyPath(protocol, modelName string) string {
	if protocol == project.ProtocolV1 {
		return "/v1/models/" + modelName
	}
	return "/v2/models/" + modelName + "/ready"
}

// probes returns the readiness and startup probes of a model server whose
// REST endpoint speaks protocol on port.
//
// They probe the REST port, also with --grpc: the server keeps its REST
// listener inside the pod even though Knative exposes only h2c, and Knative
// accepts a numeric probe port other than the exposed one (its queue-proxy
// probes it over HTTP/1.1 on localhost).
//
// Readiness leaves timing unset on purpose: Knative then probes
// aggressively until the first success (fast cold starts) and Kubernetes
// applies its defaults in Standard mode. The startup probe gives the model
// StartupTimeout to load before Kubernetes restarts the container;
// readiness takes over once it succeeds.
func (o *Options) probes(protocol string, port int, modelName string) (readiness, startup *corev1.Probe) {
	handler := func() corev1.ProbeHandler {
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: modelReadyPath(protocol, modelName),
			Port: intstr.FromInt32(int32(port)),
		}}
	}
	timeout := o.StartupTimeout
	if timeout == 0 {
		timeout = DefaultStartupTimeout
	}
	failures := int32((timeout + startupPeriod - 1) / startupPeriod)
	return &corev1.Probe{ProbeHandler: handler()}, &corev1.Probe{
		ProbeHandler:     handler(),
		PeriodSeconds:    int32(startupPeriod / time.Second),
		FailureThreshold: failures,
	}
}

// env returns the container environment. The custom predictor carries
// STORAGE_URI and PROTOCOL as variables (that is how KServe reads them from
// a custom container); with a serving runtime they are model fields, and
// STORAGE_URI is a variable as well: KServe mounts the model at /mnt/models
// but tells the runtime's container only through the runtime's own args
// (its built-in runtimes pass --model_dir=/mnt/models), so without it a
// kserve-gen server fell back to the model baked into its image. The
// storage-initializer rewrites a STORAGE_URI variable to /mnt/models, as for
// a custom predictor, and it stays per InferenceService, so one runtime
// still serves InferenceServices with and without a storageUri.
func (o *Options) env(custom bool) []corev1.EnvVar {
	var env []corev1.EnvVar
	if o.StorageURI != "" {
		env = append(env, corev1.EnvVar{Name: envStorageURI, Value: o.StorageURI})
	}
	if custom {
		env = append(env, corev1.EnvVar{Name: envProtocol, Value: o.Protocol})
	}
	if o.LogLevel != "" {
		env = append(env, corev1.EnvVar{Name: envLogLevel, Value: o.LogLevel})
	}
	for _, e := range o.Env {
		env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	return env
}

// resources converts the validated quantity strings; GPUs are a limit only
// (Kubernetes sets the request of an extended resource equal to its limit).
func (o *Options) resources() corev1.ResourceRequirements {
	list := func(l project.ResourceList) corev1.ResourceList {
		out := corev1.ResourceList{}
		if l.CPU != "" {
			out[corev1.ResourceCPU] = resource.MustParse(l.CPU)
		}
		if l.Memory != "" {
			out[corev1.ResourceMemory] = resource.MustParse(l.Memory)
		}
		return out
	}
	r := corev1.ResourceRequirements{
		Requests: list(o.Resources.Requests),
		Limits:   list(o.Resources.Limits),
	}
	if o.GPU > 0 {
		r.Limits[resourceGPU] = *resource.NewQuantity(int64(o.GPU), resource.DecimalSI)
	}
	if len(r.Requests) == 0 {
		r.Requests = nil
	}
	if len(r.Limits) == 0 {
		r.Limits = nil
	}
	return r
}
