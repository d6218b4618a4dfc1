// Package deploy builds the Kubernetes manifests that run a kserve-gen
// project on KServe: an InferenceService (serving.kserve.io/v1beta1) with a
// custom predictor container, or a reusable ServingRuntime /
// ClusterServingRuntime (v1alpha1) plus an InferenceService that uses it,
// or, for a transformer project, an InferenceService whose transformer is
// the project's container in front of a given predictor.
//
// Manifests are typed Go values rendered to YAML (Render); nothing is
// produced from string templates. Options.Validate reports every invalid
// setting or combination with an error naming the option.
package deploy

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kserve-gen/kserve-gen/project"
)

// Default ports of the KServe model server (contract §3), also the ports
// the kserve-gen runtime listens on by default.
const (
	DefaultHTTPPort = 8080
	DefaultGRPCPort = 8081
)

// DefaultStartupTimeout is how long the startup probe waits for the model to
// load before Kubernetes restarts the container.
const DefaultStartupTimeout = 10 * time.Minute

// DefaultPreStopSleep is how many seconds a Standard-mode server container
// sleeps in its preStop hook before Kubernetes sends it SIGTERM (see
// Options.PreStopSleep). Kubernetes takes a deleted pod out of its
// Service's endpoints as it sends SIGTERM, and kube-proxy on each node and
// the ingress gateways act on that a moment later, usually within a second
// or two; until then they still send new connections to the pod, and a
// server that stopped accepting at SIGTERM refuses them. 5 s covers that
// with room to spare, and costs only 5 s more per pod stop (a rollout does
// not wait for old pods to finish terminating).
const DefaultPreStopSleep = 5

// maxPreStopSleep bounds Options.PreStopSleep (seconds).
const maxPreStopSleep = 3600

// knativeMaxRevisionTimeout is Knative's default max-revision-timeout-seconds
// (knative.dev/serving config-defaults, DefaultMaxRevisionTimeoutSeconds).
const knativeMaxRevisionTimeout = 600

// Deployment modes (the serving.kserve.io/deploymentMode annotation).
// KServe's own validation applies Knative autoscaler rules unless the mode
// is Standard, so the mode decides which scale metrics are valid.
const (
	ModeDefault  = ""         // the cluster's default; validated like Knative
	ModeKnative  = "Knative"  // serverless: Knative Service, scale to zero, canary
	ModeStandard = "Standard" // raw Deployment + HPA
)

// Port names for the exposed container ports: the ones Knative accepts for
// its one port, and the ones KServe's Standard-mode Service marks as gRPC
// (appProtocol kubernetes.io/h2c for a name containing h2c) or not.
const (
	PortNameHTTP1 = "http1"
	PortNameH2C   = "h2c"
)

// Knative reserves these ports for its queue-proxy sidecar and profiling
// (knative.dev/serving pkg/apis/serving reservedPorts); the model server must
// not listen on them.
var knativeReservedPorts = []int{8012, 8013, 8022, 8112, 9090, 9091}

// agentPort is where KServe's agent sidecar, injected with a logger or a
// batcher, listens in the pod (constants.InferenceServiceDefaultAgentPort).
const agentPort = 9081

// Port is an exposed container port.
type Port struct {
	Name          string // http1 or h2c
	ContainerPort int
}

func (p Port) String() string { return fmt.Sprintf("%s=%d", p.Name, p.ContainerPort) }

// Options is everything `kserve-gen deploy` can set. FromProject fills it
// from kserve-gen.yaml; the CLI then overrides single fields from flags.
type Options struct {
	Name      string // InferenceService and model name
	Namespace string // empty: kubectl's current namespace
	Image     string // container image; required

	Protocol string // v1 or v2
	GRPC     bool   // expose the gRPC (Open Inference Protocol v2) endpoint

	HTTPPort int // --http_port; REST, probes and /metrics are served here
	GRPCPort int // --grpc_port when GRPC is on
	// Ports overrides the exposed container ports, the first being the
	// one the InferenceService's URL leads to. Empty derives them: with
	// GRPC h2c on GRPCPort, followed in Standard mode by http1 on HTTPPort
	// (unless a Logger is on); otherwise none (Knative's default, 8080) or
	// http1 on a non-default HTTPPort. Knative exposes exactly one port;
	// KServe's Standard mode exposes each on the component's Service.
	Ports []Port

	Workers int // --workers; 0 means 1
	// MaxQueuedRequests is the server's --max_queued_requests (0: not set,
	// no bound): requests beyond it get a retryable 503.
	MaxQueuedRequests int
	StorageURI        string // STORAGE_URI env (custom predictor) or model.storageUri (serving runtime)
	LogLevel          string // KSERVE_LOGLEVEL
	Env               []project.EnvVar
	Args              []string // extra model-server arguments, appended after kserve-gen's own

	Resources project.Resources
	GPU       int // nvidia.com/gpu limit
	// ONNXDevice: the server is an onnx project's, which takes --device.
	// It gets --device=cuda when GPUs are requested, so a pod whose CUDA
	// does not work fails at start instead of serving on the CPU, and
	// --device=cpu otherwise, so a CPU pod does not look for CUDA at all.
	ONNXDevice bool
	// OpenAI: the server is an openai project's, which serves OpenAI's API
	// over REST alone (runtime/openai): no gRPC endpoint, protocol v1. Its
	// InferenceService is a custom predictor like a rest project's: the
	// OpenAI routes are on the HTTP port, and the v1 readiness probe is
	// answered for a model without Predict.
	OpenAI bool
	// TimeSeries: the server is a timeseries project's, which serves
	// KServe's time-series API over REST alone (runtime/timeseries), as
	// OpenAI's does: no gRPC endpoint, protocol v1, the v1 readiness probe
	// answered for a model without Predict.
	TimeSeries bool

	DeploymentMode       string // "", Knative or Standard
	MinReplicas          *int
	MaxReplicas          int // 0: no limit
	ScaleMetric          string
	ScaleTarget          int // 0: KServe's default
	CanaryTrafficPercent *int
	ContainerConcurrency int // Knative's hard limit per pod; 0: none
	Timeout              int // request timeout, seconds; 0: the platform's default
	// PreStopSleep is the seconds each container running a kserve-gen
	// server sleeps in a preStop hook before it gets SIGTERM, in Standard
	// mode (DefaultPreStopSleep when nil; 0: no hook), so that a pod being
	// stopped keeps serving until the endpoints have caught up. Knative
	// refuses the hook, and needs none: its queue-proxy has one of its own.
	PreStopSleep *int

	// Logger, when set, sends requests and/or responses to a CloudEvents
	// sink (KServe's agent); Batcher, when set, batches requests in front
	// of the server (KServe's agent). Both are sidecars KServe injects.
	Logger  *project.Logger
	Batcher *project.Batcher

	// Trigger, when set, adds a Knative Eventing Trigger that delivers a
	// broker's matching events to the v1 :predict endpoint.
	Trigger *project.Trigger

	ServiceAccountName string
	NodeSelector       map[string]string
	Tolerations        []project.Toleration

	// Metrics adds the Prometheus scrape annotations for /metrics.
	Metrics bool
	// PrometheusURL is the Prometheus KEDA queries when a Standard-mode
	// deployment scales on concurrency or rps (the server's own metrics).
	PrometheusURL string
	// Dashboard adds a ConfigMap with kserve-gen's Grafana dashboard,
	// labelled for Grafana's dashboard sidecar.
	Dashboard bool
	// PodMonitor adds a Prometheus Operator PodMonitor scraping the
	// server's metrics (needs Metrics: in Knative mode it scrapes the
	// aggregation port the annotations have KServe add).
	PodMonitor bool
	// StartupTimeout bounds model loading (startup probe); 0 means DefaultStartupTimeout.
	StartupTimeout time.Duration

	// Runtime, when set, emits a ServingRuntime or ClusterServingRuntime and
	// an InferenceService that selects it by model format.
	Runtime *RuntimeOptions

	// Predictor, when set, makes the project's container a transformer
	// (spec.transformer) in front of this predictor; every other option
	// describes the transformer. FromProject sets it for transformer
	// projects. Its Protocol defaults to Protocol.
	Predictor *project.Predictor

	// FileFields says which settings came from the project file: it maps
	// the flag that sets one ("storage-uri") to the file's field
	// ("deploy.storageUri"), so that Validate's error about a bad value
	// names where the user wrote it. FromProject fills it; a caller that
	// overrides a setting from its flag deletes the flag's entry. An env
	// variable's entry is "env NAME", a node selector's "node-selector KEY";
	// "logger" (deploy.logger, which may be empty: the cluster's default
	// sink) has no flag of its own.
	FileFields map[string]string
}

// setting names where the value of a setting came from, for an error
// about it: "kserve-gen.yaml deploy.storageUri" when it was read from the
// project file, else the flag, "--storage-uri". key is a FileFields key.
func (o *Options) setting(key string) string {
	if field, ok := o.FileFields[key]; ok {
		return project.FileName + " " + field
	}
	flag, _, _ := strings.Cut(key, " ") // "env NAME": --env
	return "--" + flag
}

// RuntimeOptions describes a reusable serving runtime.
type RuntimeOptions struct {
	Cluster            bool   // ClusterServingRuntime instead of a namespaced ServingRuntime
	Name               string // runtime name; default Options.Name
	ModelFormat        string // supported model format; default Options.Name
	ModelFormatVersion string // optional format version
}

// FromProject returns Options for the project file f with kserve-gen's
// defaults (standard ports, Prometheus annotations on).
func FromProject(f *project.File) Options {
	o := Options{
		Name:      f.Name,
		Image:     f.Image,
		Protocol:  f.Protocol,
		GRPC:      f.GRPC,
		HTTPPort:  DefaultHTTPPort,
		GRPCPort:  DefaultGRPCPort,
		Resources: f.Resources,
		GPU:       f.GPU,
		Metrics:   true,

		ONNXDevice: f.Template == project.TemplateONNX,
		OpenAI:     f.Template == project.TemplateOpenAI,
		TimeSeries: f.Template == project.TemplateTimeSeries,
	}
	o.FileFields = fileFields(f)
	if d := f.Deploy; d != nil {
		o.Namespace = d.Namespace
		o.Workers = d.Workers
		o.MaxQueuedRequests = d.MaxQueuedRequests
		o.StorageURI = d.StorageURI
		o.LogLevel = d.LogLevel
		o.Env = slices.Clone(d.Env)
		o.DeploymentMode = d.DeploymentMode
		if d.MinReplicas != nil {
			m := *d.MinReplicas
			o.MinReplicas = &m
		}
		o.MaxReplicas = d.MaxReplicas
		o.ScaleMetric = d.ScaleMetric
		o.ScaleTarget = d.ScaleTarget
		o.PrometheusURL = d.PrometheusURL
		o.ServiceAccountName = d.ServiceAccountName
		if len(d.NodeSelector) > 0 {
			o.NodeSelector = make(map[string]string, len(d.NodeSelector))
			for k, v := range d.NodeSelector {
				o.NodeSelector[k] = v
			}
		}
		o.Tolerations = slices.Clone(d.Tolerations)
		o.ContainerConcurrency = d.ContainerConcurrency
		o.Timeout = d.Timeout
		if d.PreStopSleep != nil {
			v := *d.PreStopSleep
			o.PreStopSleep = &v
		}
		if d.Logger != nil {
			l := *d.Logger
			l.MetadataHeaders = slices.Clone(l.MetadataHeaders)
			o.Logger = &l
		}
		if d.Batcher != nil {
			b := *d.Batcher
			o.Batcher = &b
		}
		if d.Trigger != nil {
			o.Trigger = &project.Trigger{Broker: d.Trigger.Broker, Filter: maps.Clone(d.Trigger.Filter)}
		}
	}
	if f.Template == project.TemplateTransformer {
		o.Predictor = &project.Predictor{}
		if f.Deploy != nil && f.Deploy.Predictor != nil {
			*o.Predictor = *f.Deploy.Predictor
		}
	}
	return o
}

// fileFields maps the flag of each setting f gives a value to f's field
// (Options.FileFields). Only values the file holds are listed: a setting it
// leaves out is the flags' (or the default), and an error about it, such
// as a missing image, names the flag.
func fileFields(f *project.File) map[string]string {
	fields := map[string]string{"name": "name", "protocol": "protocol", "gpu": "gpu"}
	set := func(flag, field string, ok bool) {
		if ok {
			fields[flag] = field
		}
	}
	set("image", "image", f.Image != "")
	set("grpc", "grpc", f.GRPC)
	r := f.Resources
	set("cpu-request", "resources.requests.cpu", r.Requests.CPU != "")
	set("cpu-limit", "resources.limits.cpu", r.Limits.CPU != "")
	set("memory-request", "resources.requests.memory", r.Requests.Memory != "")
	set("memory-limit", "resources.limits.memory", r.Limits.Memory != "")
	d := f.Deploy
	if d == nil {
		return fields
	}
	set("namespace", "deploy.namespace", d.Namespace != "")
	set("workers", "deploy.workers", d.Workers != 0)
	set("max-queued-requests", "deploy.maxQueuedRequests", d.MaxQueuedRequests != 0)
	set("storage-uri", "deploy.storageUri", d.StorageURI != "")
	set("log-level", "deploy.logLevel", d.LogLevel != "")
	for _, e := range d.Env {
		fields["env "+e.Name] = "deploy.env"
	}
	set("deployment-mode", "deploy.deploymentMode", d.DeploymentMode != "")
	set("min-replicas", "deploy.minReplicas", d.MinReplicas != nil)
	set("max-replicas", "deploy.maxReplicas", d.MaxReplicas != 0)
	set("scale-metric", "deploy.scaleMetric", d.ScaleMetric != "")
	set("scale-target", "deploy.scaleTarget", d.ScaleTarget != 0)
	set("prometheus-url", "deploy.prometheusUrl", d.PrometheusURL != "")
	set("service-account", "deploy.serviceAccountName", d.ServiceAccountName != "")
	for k := range d.NodeSelector {
		fields["node-selector "+k] = "deploy.nodeSelector"
	}
	// The file's tolerations come first; --toleration's are added after
	// them, and named by their flag.
	for i := range d.Tolerations {
		fields[fmt.Sprintf("toleration %d", i)] = "deploy.tolerations"
	}
	set("container-concurrency", "deploy.containerConcurrency", d.ContainerConcurrency != 0)
	set("timeout", "deploy.timeout", d.Timeout != 0)
	set("pre-stop-sleep", "deploy.preStopSleep", d.PreStopSleep != nil)
	if l := d.Logger; l != nil {
		fields["logger"] = "deploy.logger"
		set("logger-url", "deploy.logger.url", l.URL != "")
		set("logger-mode", "deploy.logger.mode", l.Mode != "")
		set("logger-header", "deploy.logger.metadataHeaders", len(l.MetadataHeaders) > 0)
	}
	if b := d.Batcher; b != nil {
		fields["batcher"] = "deploy.batcher"
		set("batcher-max-batch-size", "deploy.batcher.maxBatchSize", b.MaxBatchSize != 0)
		set("batcher-max-latency", "deploy.batcher.maxLatency", b.MaxLatency != 0)
		set("batcher-timeout", "deploy.batcher.timeout", b.Timeout != 0)
	}
	if t := d.Trigger; t != nil {
		set("trigger", "deploy.trigger.broker", t.Broker != "")
		set("trigger-filter", "deploy.trigger.filter", len(t.Filter) > 0)
	}
	if p := d.Predictor; p != nil {
		set("predictor-image", "deploy.predictor.image", p.Image != "")
		set("predictor-model-format", "deploy.predictor.modelFormat", p.ModelFormat != "")
		set("predictor-model-format-version", "deploy.predictor.modelFormatVersion", p.ModelFormatVersion != "")
		set("predictor-storage-uri", "deploy.predictor.storageUri", p.StorageURI != "")
		set("predictor-protocol", "deploy.predictor.protocol", p.Protocol != "")
	}
	return fields
}

// resourceFlags are the flags that set each of project.Resources'
// quantities, by the field's name within resources.
var resourceFlags = map[string]string{
	"requests.cpu":    "cpu-request",
	"limits.cpu":      "cpu-limit",
	"requests.memory": "memory-request",
	"limits.memory":   "memory-limit",
}

// Sentinel errors for the checks callers may want to branch on.
var (
	ErrImageRequired = errors.New("image is required: build and push one (the project README's \"Build the image\" shows how), then pass --image or set image in " + project.FileName)
	//lint:ignore ST1005 Knative is a proper name
	ErrOnePort = errors.New("Knative exposes exactly one container port")
	// ErrPredictorRequired: a transformer was given no predictor to call.
	ErrPredictorRequired = errors.New("a transformer needs the predictor it calls")
)

// exposedPorts returns the container's exposed ports, derived or
// explicit; the first is the one the InferenceService's URL leads to.
func (o *Options) exposedPorts() []Port {
	if len(o.Ports) > 0 {
		return o.Ports
	}
	if o.GRPC {
		ports := []Port{{Name: PortNameH2C, ContainerPort: o.GRPCPort}}
		if o.restBesideGRPC() {
			ports = append(ports, Port{Name: PortNameHTTP1, ContainerPort: o.HTTPPort})
		}
		return ports
	}
	if o.HTTPPort != DefaultHTTPPort {
		return []Port{{Name: PortNameHTTP1, ContainerPort: o.HTTPPort}}
	}
	return nil
}

// restBesideGRPC reports whether a gRPC server exposes its REST port
// after h2c by default. Knative routes to one port, h2c; KServe's Standard
// mode makes a Service port of every container port (createDefaultSvc:
// the first as port 80, behind the URL, each further one at its own
// number), so there REST is reachable through the Service too, for
// in-cluster clients and kubectl port-forward, as the server serves it
// anyway. Not with a logger: KServe's agent sits in front of the first
// port alone, and REST requests would reach the server unlogged.
func (o *Options) restBesideGRPC() bool {
	return o.DeploymentMode == ModeStandard && o.Logger == nil
}

// restOnly names the project kind (with its article), API and routes of a server that serves
// an API of its own over REST alone (openai, timeseries), whose model has
// no Predict; ok is false for any other.
func (o *Options) restOnly() (kind, api, routes string, ok bool) {
	switch {
	case o.OpenAI:
		return "an openai", "OpenAI's API", "/openai/v1/...", true
	case o.TimeSeries:
		return "a timeseries", "KServe's time-series API", "/v1/timeseries/...", true
	}
	return "", "", "", false
}

// Validate reports every invalid option and combination, one error each,
// joined with errors.Join.
func (o *Options) Validate() error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if err := o.validateName(); err != nil {
		fail("%s: %w", o.setting("name"), err)
	}
	if err := project.ValidateNamespace(o.Namespace); err != nil {
		fail("%s: %w", o.setting("namespace"), err)
	}
	if strings.TrimSpace(o.Image) == "" {
		errs = append(errs, ErrImageRequired)
	} else if err := validateImage(o.setting("image"), o.Image); err != nil {
		errs = append(errs, err)
	}
	if err := validateStorageURI(o.setting("storage-uri"), o.StorageURI, o.multiModel()); err != nil {
		errs = append(errs, err)
	}
	if err := project.ValidateProtocol(o.Protocol); err != nil {
		fail("%s: %w", o.setting("protocol"), err)
	}
	kind, api, routes, restOnly := o.restOnly()
	switch {
	case restOnly && o.GRPC:
		fail("%s: %s project serves %s over REST and has no gRPC endpoint; drop it", o.setting("grpc"), kind, api)
	case restOnly && o.Protocol == project.ProtocolV2:
		fail("%s: %s project serves %s (%s), not the Open Inference Protocol, and takes v1 alone", o.setting("protocol"), kind, api, routes)
	case o.GRPC && o.Protocol == project.ProtocolV1:
		from := ""
		if _, ok := o.FileFields["protocol"]; ok {
			from = fmt.Sprintf(" (%s is %s)", o.setting("protocol"), o.Protocol)
		}
		fail("%s: the gRPC endpoint speaks the Open Inference Protocol, so it needs --protocol=v2%s", o.setting("grpc"), from)
	}
	errs = append(errs, o.validatePorts()...)
	if o.MaxQueuedRequests < 0 {
		fail("%s: must be 0 (no bound) or more, got %d", o.setting("max-queued-requests"), o.MaxQueuedRequests)
	}
	if o.Workers < 0 {
		fail("%s: must be 1 or more, got %d", o.setting("workers"), o.Workers)
	}
	for i, e := range o.Env {
		if e.Name == "" {
			fail("%s #%d: name must not be empty", o.setting("env "), i+1)
		} else if err := validateEnvName(e.Name); err != nil {
			fail("%s: %w", o.setting("env "+e.Name), err)
		}
		if slices.Contains(reservedEnv, e.Name) {
			use := "--storage-uri, --protocol or --log-level"
			if _, ok := o.FileFields["env "+e.Name]; ok {
				use = "deploy.storageUri, protocol or deploy.logLevel"
			}
			fail("%s %s: set by kserve-gen itself; use %s", o.setting("env "+e.Name), e.Name, use)
		}
	}
	if l := strings.ToUpper(strings.TrimSpace(o.LogLevel)); l != "" && !slices.Contains(logLevels, l) {
		fail("%s: %q is not a log level the model server knows (KSERVE_LOGLEVEL; it would exit at start); choose %s or %s",
			o.setting("log-level"), o.LogLevel, strings.Join(logLevels[:len(logLevels)-1], ", "), logLevels[len(logLevels)-1])
	}
	errs = append(errs, o.validateArgs()...)
	if err := o.Resources.ValidateAs(func(field string) string { return o.setting(resourceFlags[field]) }); err != nil {
		errs = append(errs, err)
	}
	if o.GPU < 0 {
		fail("%s: must be 0 (CPU only) or more, got %d", o.setting("gpu"), o.GPU)
	}
	errs = append(errs, o.validateScaling()...)
	errs = append(errs, o.validateAgent()...)
	if o.Trigger != nil {
		errs = append(errs, o.validateTrigger()...)
	}
	// The API server checks these three in the pod spec, but only when
	// Knative or KServe creates the pods: kubectl apply takes the
	// InferenceService and the mistake shows up in its status alone.
	if sa := o.ServiceAccountName; sa != "" {
		if err := validateSubdomain(sa, "a service account's name"); err != nil {
			fail("%s: %w", o.setting("service-account"), err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.NodeSelector)) {
		if err := validateLabelKey(k); err != nil {
			fail("%s: %w", o.setting("node-selector "+k), err)
		} else if err := validateLabelValue(o.NodeSelector[k]); err != nil {
			fail("%s %s: %w", o.setting("node-selector "+k), k, err)
		}
	}
	for i, t := range o.Tolerations {
		if err := validateToleration(t); err != nil {
			key := fmt.Sprintf("toleration %d", i)
			if _, ok := o.FileFields[key]; ok {
				fail("%s #%d: %w", o.setting(key), i+1, err)
			} else {
				fail("--toleration %q: %w", formatToleration(t), err)
			}
		}
	}
	if o.StartupTimeout < 0 {
		fail("--startup-timeout: must not be negative, got %s", o.StartupTimeout)
	} else if o.StartupTimeout > 0 && o.StartupTimeout < startupPeriod {
		// Rounded up to one probe it would mean 5s, not what was asked:
		// most likely 1m or 1s meant, and a model that loads in less than
		// a probe's period needs no tighter bound.
		fail("--startup-timeout: must be at least %s, the startup probe's period, got %s", startupPeriod, o.StartupTimeout)
	}
	if o.Runtime != nil {
		if o.Runtime.Name != "" {
			if err := project.ValidateName(o.Runtime.Name); err != nil {
				fail("--runtime-name: %w", err)
			}
		}
		if err := validateModelFormat(o.Runtime.ModelFormat); err != nil {
			fail("--model-format: %w", err)
		}
	}
	if o.Predictor != nil {
		errs = append(errs, o.validatePredictor()...)
	}
	return errors.Join(errs...)
}

// validateName checks the name against the rule and the limit of the
// mode and component it deploys as: KServe names the predictor (and a
// transformer) after it, and in Standard mode labels their pods with it
// (project.ValidateStandardName). The rule told is that limit, so that a
// name with a bad character is not told a limit it would then exceed.
func (o *Options) validateName() error {
	transformer, standard := o.Predictor != nil, o.DeploymentMode == ModeStandard
	max := project.MaxNameLength
	switch {
	case standard && transformer:
		max = project.MaxStandardTransformerNameLength
	case standard:
		max = project.MaxStandardNameLength
	case transformer:
		max = project.MaxTransformerNameLength
	}
	if len(o.Name) > project.MaxNameLength {
		// ValidateName would tell its own limit (the predictor's DNS
		// label), and a name shortened to it would fail on the mode's or
		// the transformer's.
		switch {
		case standard:
			return project.ValidateStandardName(o.Name, transformer)
		case transformer:
			return project.ValidateTransformerName(o.Name)
		}
	}
	if err := project.ValidateNameAtMost(o.Name, max); err != nil {
		return err
	}
	if standard {
		// For a transformer, under ValidateTransformerName's limit too.
		return project.ValidateStandardName(o.Name, transformer)
	}
	if transformer {
		return project.ValidateTransformerName(o.Name)
	}
	return nil
}

func validateModelFormat(f string) error {
	if strings.ContainsAny(f, " \t\n:") {
		return fmt.Errorf("%q must not contain spaces or ':'", f)
	}
	return nil
}

// validateImage checks an image reference with the parser and mode
// Knative's webhook uses.
func validateImage(flag, image string) error {
	if _, err := name.ParseReference(image, name.WeakValidation); err != nil {
		return fmt.Errorf("%s: %q is not an image reference like registry.example.com/team/model:v1: %w", flag, image, err)
	}
	return nil
}

// validateModelcarURI checks the image of an oci:// storage URI (and the
// oci+fetch:// and oci+native:// spellings): the node pulls it, and a
// reference it cannot parse fails there, as InvalidImageName, long after
// kubectl apply. validateStorageURI checks the other schemes.
func validateModelcarURI(flag, uri string) error {
	scheme, image, ok := strings.Cut(uri, "://")
	if !ok || (scheme != "oci" && scheme != "oci+fetch" && scheme != "oci+native") {
		return nil
	}
	return validateImage(flag+" "+uri, image)
}

// validatePredictor checks a transformer's predictor: exactly one of an
// image or a model format (with the storage URI its runtime loads from).
func (o *Options) validatePredictor() []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	p := o.Predictor
	if o.Runtime != nil {
		fail("--serving-runtime: a transformer project deploys as spec.transformer in front of its predictor, and serving runtimes hold predictors; run --serving-runtime in the predictor's project instead")
	}
	switch {
	case p.Image == "" && p.ModelFormat == "":
		fail("%w: --predictor-image IMAGE (a predictor container serving model %q, e.g. a kserve-gen rest project's image) or --predictor-model-format FORMAT with --predictor-storage-uri URI (one of KServe's serving runtimes, e.g. sklearn)", ErrPredictorRequired, o.Name)
	case p.Image != "" && p.ModelFormat != "":
		fail("%s and %s: give one; the predictor is either a container image or a model format served by a KServe runtime", o.setting("predictor-image"), o.setting("predictor-model-format"))
	case p.Image != "":
		if err := validateImage(o.setting("predictor-image"), p.Image); err != nil {
			errs = append(errs, err)
		}
	default:
		if err := validateModelFormat(p.ModelFormat); err != nil {
			fail("%s: %w", o.setting("predictor-model-format"), err)
		}
		if p.StorageURI == "" {
			need := "--predictor-storage-uri"
			if _, ok := o.FileFields["predictor-model-format"]; ok {
				need += " (deploy.predictor.storageUri)"
			}
			fail("%s %s needs %s: the serving runtime loads the model from there", o.setting("predictor-model-format"), p.ModelFormat, need)
		}
		if _, ok := builtinGRPCPorts[p.ModelFormat]; !ok && o.predictorProtocol() == project.ProtocolGRPCV2 {
			fail("--predictor-protocol grpc-v2: none of KServe's built-in runtimes serves model format %s over gRPC (Triton does onnx, tensorflow, tensorrt and triton; TorchServe pytorch); call it over v1 or v2, or give --predictor-image", p.ModelFormat)
		}
	}
	if err := validateStorageURI(o.setting("predictor-storage-uri"), p.StorageURI, false); err != nil {
		errs = append(errs, err)
	}
	if p.ModelFormatVersion != "" && p.ModelFormat == "" {
		fail("--predictor-model-format-version needs --predictor-model-format")
	}
	if p.Protocol != "" {
		if err := project.ValidatePredictorProtocol(p.Protocol); err != nil {
			fail("%s: %w", o.setting("predictor-protocol"), err)
		}
	}
	return errs
}

// builtinGRPCPorts are the gRPC ports of the built-in runtimes KServe
// v0.16 picks for a model format over grpc-v2 (config/runtimes): Triton's
// --grpc-port=9000, and TorchServe's grpc_inference_port, 7070 in KServe's
// samples' config.properties. The runtimes' containers declare no port, so
// the InferenceService must expose it as h2c.
var builtinGRPCPorts = map[string]int{"onnx": 9000, "tensorflow": 9000, "tensorrt": 9000, "triton": 9000, "pytorch": 7070}

// validateArgs refuses an --arg that overrides a server flag the rest of
// the manifest depends on: appended last, it would win, and the probes, the
// exposed port or the scrape annotations would point where the server is
// not. Other flags (--device, --workers) may be overridden. A token is taken
// as a flag when it starts with - or -- and names one exactly, as the
// server's parser does; a unique prefix (argparse's abbreviations) is not
// caught.
func (o *Options) validateArgs() []error {
	var errs []error
	for i, a := range o.Args {
		if a == "" && (i == 0 || !flagWithoutValue(o.Args[i-1])) {
			// Not a flag's value: a stray argument the server ignores.
			errs = append(errs, fmt.Errorf(`--arg "" (#%d): an empty argument, which the server ignores (with a warning); drop it, or give a flag an empty value as --arg=--NAME=`, i+1))
			continue
		}
		name, typed, matches := serverFlag(a)
		if name == "" {
			continue
		}
		// An abbreviation of several server flags (--grpc=1) stops the
		// server, unless the project defines that very flag itself (an
		// exact name wins): a --model of its own would be refused here.
		// So it is left to the server.
		if len(matches) <= 1 && (name == "h" || name == "help") {
			errs = append(errs, fmt.Errorf("--arg %s: the server takes it for --help, prints its usage and exits instead of serving; drop it", a))
			continue
		}
		var from, why string
		switch {
		case name == "model_name":
			from, why = "--name", "which the probes' path uses; pass --name instead"
		case name == "http_port":
			from, why = "--http-port", "which the probes, the exposed port and the metrics annotations use; pass --http-port instead"
		case name == "grpc_port" && o.GRPC:
			from, why = "--grpc-port", "which the exposed h2c port uses; pass --grpc-port instead"
		case name == "enable_grpc" && o.GRPC:
			from, why = "--grpc", "which the exposed h2c port needs; drop --grpc instead"
		default:
			continue
		}
		if typed != name {
			errs = append(errs, fmt.Errorf("--arg %s: the server reads --%s as --%s (a unique prefix of it, as KServe's argparse does), and kserve-gen sets --%s from %s, %s", a, typed, name, name, from, why))
			continue
		}
		errs = append(errs, fmt.Errorf("--arg %s: kserve-gen sets --%s from %s, %s", a, name, from, why))
	}
	// Standard mode's terminationGracePeriodSeconds is derived from it.
	if _, err := o.serverGracePeriod(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// serverFlags are the runtime's flags (runtime/config/parser.go), in the
// order it adds them: the server reads a unique prefix of one as that flag
// (--http=9000 is --http_port=9000), as KServe's argparse does, so
// validateArgs resolves an --arg's flag against them.
var serverFlags = []string{
	"http_port", "grpc_port", "workers", "max_threads", "max_asyncio_workers", "enable_grpc",
	"enable_docs_url", "enable_latency_logging", "configure_logging", "log_config_file",
	"access_log_format", "event-loop", "timeout-keep-alive", "model_name", "predictor_host",
	"protocol", "predictor_protocol", "predictor_use_ssl", "predictor_request_timeout_seconds",
	"grpc_max_send_message_length", "grpc_max_receive_message_length", "predictor_request_retries",
	"enable_predictor_health_check", "model_dir", "grace_period", "max_request_body_size",
	"read_header_timeout", "max_queued_requests", "gc_min_heap",
}

// onnxFlags are the flags an onnx project's server adds (runtime/onnx's
// RegisterFlags).
var onnxFlags = []string{"device", "replicas", "intra_op_threads", "inter_op_threads", "gpu_mem_limit", "cudnn_conv_algo_search", "max_batch_size", "max_queue_delay"}

// serverFlag is the server flag an argument sets, as the runtime's parser
// reads it: the name after - or --, or, after --, the one server flag that
// name is a prefix of (--http is --http_port). typed is the name as
// written; matches lists the flags (--http_port) a name that is not one
// is a prefix of: more than one, and the server refuses to start unless
// the project has a flag of that very name. name is "" for an argument
// that is not a flag.
func serverFlag(arg string) (name, typed string, matches []string) {
	if !strings.HasPrefix(arg, "-") {
		return "", "", nil
	}
	typed, _, _ = strings.Cut(strings.TrimPrefix(arg[1:], "-"), "=")
	if typed == "" || !strings.HasPrefix(arg, "--") || slices.Contains(serverFlags, typed) {
		return typed, typed, nil
	}
	// The parser's --help comes first, as in argparse.
	for _, f := range append([]string{"help"}, serverFlags...) {
		if strings.HasPrefix(f, typed) {
			matches = append(matches, "--"+f)
		}
	}
	if len(matches) == 1 {
		return strings.TrimPrefix(matches[0], "--"), typed, matches
	}
	return typed, typed, matches // the project's own flag, or one the server ignores
}

// flagWithoutValue reports whether arg is a flag whose value, if it takes
// one, is the next argument.
func flagWithoutValue(arg string) bool {
	return strings.HasPrefix(arg, "-") && !strings.Contains(arg, "=")
}

// reservedEnv are the variables kserve-gen sets from dedicated options.
var reservedEnv = []string{envStorageURI, envProtocol, envLogLevel}

// logLevels are the KSERVE_LOGLEVEL values the model server accepts, in
// any case (runtime/config's ParseLogLevel, the names Python's logging
// takes, as KServe's own servers do): on any other the server exits at
// start, and the pod goes into CrashLoopBackOff after kubectl apply took
// the InferenceService.
var logLevels = []string{"CRITICAL", "FATAL", "ERROR", "WARN", "WARNING", "INFO", "DEBUG", "NOTSET"}

func (o *Options) validatePorts() []error {
	var errs []error
	checkPort := func(flag string, p int) {
		if p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s: %d is not a port (1-65535)", flag, p))
		} else if slices.Contains(knativeReservedPorts, p) {
			errs = append(errs, fmt.Errorf("%s: %d is reserved by Knative's queue-proxy; reserved ports are %v", flag, p, knativeReservedPorts))
		} else if p == agentPort && (o.Logger != nil || o.Batcher != nil) {
			// Both would bind it in one pod: the agent fails, or the server.
			errs = append(errs, fmt.Errorf("%s: %d is where KServe's agent, which --logger-url and --batcher add to the pod, listens; choose another port", flag, p))
		}
	}
	checkPort("--http-port", o.HTTPPort)
	if o.GRPC {
		checkPort("--grpc-port", o.GRPCPort)
		if o.GRPCPort == o.HTTPPort {
			errs = append(errs, fmt.Errorf("--grpc-port: %d is also the HTTP port; REST and gRPC need their own ports", o.GRPCPort))
		}
	}
	ports := o.exposedPorts()
	list := make([]string, len(ports))
	for i, p := range ports {
		list[i] = p.String()
	}
	if len(ports) > 1 && o.DeploymentMode != ModeStandard {
		hint := "expose the REST port (http1) or, with --grpc, the gRPC port (h2c)"
		if o.GRPC {
			hint = "with --grpc only the h2c port is exposed; REST keeps running inside the pod for probes and metrics (KServe's Standard mode, --deployment-mode " + ModeStandard + ", exposes both)"
		}
		errs = append(errs, fmt.Errorf("--port: %w, got %d (%s): %s", ErrOnePort, len(ports), strings.Join(list, ", "), hint))
		return errs
	}
	if len(ports) > 1 {
		return append(errs, o.validateStandardPorts(ports, list)...)
	}
	for _, p := range ports {
		switch {
		case p.Name != PortNameHTTP1 && p.Name != PortNameH2C:
			errs = append(errs, o.portNameError(p))
		case o.GRPC && (p.Name != PortNameH2C || p.ContainerPort != o.GRPCPort):
			errs = append(errs, fmt.Errorf("--port: with --grpc the exposed port must be %s=%d (the gRPC port), got %s", PortNameH2C, o.GRPCPort, p))
		case !o.GRPC && (p.Name != PortNameHTTP1 || p.ContainerPort != o.HTTPPort):
			errs = append(errs, fmt.Errorf("--port: without --grpc the exposed port must be %s=%d (the REST port), got %s", PortNameHTTP1, o.HTTPPort, p))
		}
	}
	return errs
}

// portNameError says which names an exposed port may have, by the mode's
// rule: Knative accepts no other for its one port; KServe's Standard mode
// would take any name (and mark one containing grpc or h2c as gRPC on its
// Service), but kserve-gen tells the server's two listeners apart by them.
func (o *Options) portNameError(p Port) error {
	if o.DeploymentMode == ModeStandard {
		return fmt.Errorf("--port: name %q is not allowed; in %s mode a port is %s (REST, HTTP/1.1, on --http-port) or %s (gRPC, HTTP/2 cleartext, on --grpc-port)", p.Name, ModeStandard, PortNameHTTP1, PortNameH2C)
	}
	return fmt.Errorf("--port: name %q is not allowed; Knative accepts %s (HTTP/1.1) or %s (HTTP/2 cleartext, gRPC)", p.Name, PortNameHTTP1, PortNameH2C)
}

// validateStandardPorts checks several exposed ports, which KServe's
// Standard mode puts on the component's Service (createDefaultSvc): the
// first as port 80, which its ingress and the InferenceService's URL lead
// to, each further one at its own number. The server has one REST and one
// gRPC listener, so each name is there once, on its flag's port.
func (o *Options) validateStandardPorts(ports []Port, list []string) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	seen := map[string]bool{}
	for i, p := range ports {
		switch {
		case p.Name != PortNameHTTP1 && p.Name != PortNameH2C:
			errs = append(errs, o.portNameError(p))
			continue
		case seen[p.Name]:
			fail("--port: %s is given twice (%s); %s mode exposes each of %s (REST) and %s (gRPC) once at most", p.Name, strings.Join(list, ", "), ModeStandard, PortNameHTTP1, PortNameH2C)
			continue
		case p.Name == PortNameH2C && !o.GRPC:
			fail("--port %s: the server listens for gRPC only with --grpc (and --protocol %s)", p, project.ProtocolV2)
		case p.Name == PortNameH2C && p.ContainerPort != o.GRPCPort:
			fail("--port %s: the gRPC port is --grpc-port %d", p, o.GRPCPort)
		case p.Name == PortNameHTTP1 && p.ContainerPort != o.HTTPPort:
			fail("--port %s: the REST port is --http-port %d", p, o.HTTPPort)
		case i > 0 && p.ContainerPort == servicePort:
			// The API server refuses a Service with a port number twice,
			// after kubectl apply took the InferenceService.
			if len(o.Ports) == 0 {
				fail("--http-port %d: in %s mode with --grpc, KServe's Service exposes the gRPC port (%s) as its port %d and the REST port at its own number, %d as well; choose another --http-port, or pass --port %s=%d --port %s (REST behind the URL) or --port %s (gRPC alone)",
					p.ContainerPort, ModeStandard, ports[0], servicePort, servicePort, PortNameHTTP1, p.ContainerPort, ports[0], ports[0])
			} else {
				fail("--port %s: KServe's Service exposes the first port (%s) as its port %d and each further port at its own number, so %d would be there twice; list %s first, or choose another --%s-port",
					p, ports[0], servicePort, servicePort, p, map[string]string{PortNameHTTP1: "http", PortNameH2C: "grpc"}[p.Name])
			}
		}
		seen[p.Name] = true
	}
	return errs
}

// servicePort is the port KServe's Standard-mode Service gives the first
// container port (constants.CommonDefaultHttpPort), where its ingress
// sends the InferenceService's URL.
const servicePort = 80

var (
	knativeMetrics  = []string{"concurrency", "rps"}
	standardMetrics = []string{"cpu", "memory"}
	// kedaTargetUnit says what --scale-target counts for the metrics a
	// Standard-mode deployment scales on through KEDA.
	kedaTargetUnit = map[string]string{"concurrency": "requests in flight", "rps": "requests per second"}
)

// keda reports whether the deployment scales with KEDA on the server's own
// metrics: Knative's metric names (concurrency, rps) in Standard mode.
func (o *Options) keda() bool {
	return o.DeploymentMode == ModeStandard && slices.Contains(knativeMetrics, o.ScaleMetric)
}

// legacyModes are KServe's earlier deployment mode names, which v0.16's
// controller still reads as the new ones (constants.LegacyServerless and
// LegacyRawDeployment) and which many guides and clusters' configs still use.
var legacyModes = map[string]string{"Serverless": ModeKnative, "RawDeployment": ModeStandard}

// modeHint says which name to write for a deployment mode deploy refuses:
// the new name of a legacy one (in any case, as the user typed it), or the
// mode's own spelling when only the case differs. Nothing for any other value.
func modeHint(mode string) string {
	for legacy, to := range legacyModes {
		if strings.EqualFold(mode, legacy) {
			return fmt.Sprintf(" (%s is KServe's deprecated name for %s: use %s)", legacy, to, to)
		}
	}
	for _, m := range []string{ModeKnative, ModeStandard} {
		if strings.EqualFold(mode, m) {
			return fmt.Sprintf(" (the names are case-sensitive: use %s)", m)
		}
	}
	return ""
}

func (o *Options) validateScaling() []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch o.DeploymentMode {
	case ModeDefault, ModeKnative, ModeStandard:
	default:
		fail("%s: %q is not one of %s, %s%s", o.setting("deployment-mode"), o.DeploymentMode, ModeKnative, ModeStandard, modeHint(o.DeploymentMode))
	}
	if o.MinReplicas != nil && *o.MinReplicas < 0 {
		fail("%s: must be 0 or more, got %d", o.setting("min-replicas"), *o.MinReplicas)
	}
	if o.MaxReplicas < 0 {
		fail("%s: must be 0 (no limit) or more, got %d", o.setting("max-replicas"), o.MaxReplicas)
	}
	if o.MinReplicas != nil && o.MaxReplicas > 0 && *o.MinReplicas > o.MaxReplicas {
		fail("--min-replicas %d is more than --max-replicas %d", *o.MinReplicas, o.MaxReplicas)
	}
	if o.MinReplicas != nil && *o.MinReplicas == 0 && o.DeploymentMode == ModeStandard {
		fail("--min-replicas 0 (scale to zero) needs Knative; --deployment-mode=%s scales with an HPA, which needs at least 1", ModeStandard)
	}
	allowed := knativeMetrics
	if o.DeploymentMode == ModeStandard {
		allowed = append(slices.Clone(standardMetrics), knativeMetrics...)
	}
	if o.ScaleMetric != "" && !slices.Contains(allowed, o.ScaleMetric) {
		mode := o.DeploymentMode
		if mode == ModeDefault {
			mode = "default (validated as " + ModeKnative + ")"
		}
		fail("%s: %q is not supported in deployment mode %s; choose %s", o.setting("scale-metric"), o.ScaleMetric, mode, strings.Join(allowed, " or "))
	}
	if o.ScaleTarget < 0 || (o.ScaleTarget > 0 && o.ScaleMetric == "") {
		if o.ScaleTarget < 0 {
			fail("%s: must be 1 or more, got %d", o.setting("scale-target"), o.ScaleTarget)
		} else {
			fail("--scale-target needs --scale-metric")
		}
	}
	switch {
	case o.keda():
		// Standard mode has no queue-proxy to count requests: KEDA asks
		// Prometheus for the server's own metrics.
		if o.PrometheusURL == "" {
			fail("--scale-metric %s in deployment mode %s scales with KEDA on the model server's own metrics: give --prometheus-url, the Prometheus KEDA queries (e.g. http://prometheus-operated.monitoring.svc:9090)", o.ScaleMetric, ModeStandard)
		} else if u, err := url.Parse(o.PrometheusURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fail("%s: %q is not an http(s) URL", o.setting("prometheus-url"), o.PrometheusURL)
		}
		if o.Namespace == "" {
			fail("--scale-metric %s in deployment mode %s needs --namespace: KEDA's Prometheus query must select this namespace's pods", o.ScaleMetric, ModeStandard)
		}
		if o.ScaleTarget == 0 {
			fail("--scale-metric %s in deployment mode %s needs --scale-target: the %s per pod KEDA scales to", o.ScaleMetric, ModeStandard, kedaTargetUnit[o.ScaleMetric])
		}
		if o.Predictor != nil {
			fail("--scale-metric %s in deployment mode %s: transformer projects cannot scale on the server's metrics, which the predictor (a server of the same model name) reports too; use cpu or memory", o.ScaleMetric, ModeStandard)
		}
	case o.PrometheusURL != "":
		fail("--prometheus-url is for --scale-metric concurrency or rps with --deployment-mode %s (KEDA)", ModeStandard)
	}
	if o.PodMonitor && !o.Metrics {
		fail("--pod-monitor scrapes the metrics --no-metrics turns off (in Knative mode, the port the annotations have KServe add to queue-proxy); drop one of them")
	}
	if o.ScaleMetric == "cpu" && o.ScaleTarget > 100 {
		fail("%s: cpu is a utilization percentage, 1-100, got %d", o.setting("scale-target"), o.ScaleTarget)
	}
	if c := o.CanaryTrafficPercent; c != nil {
		if *c < 0 || *c > 100 {
			fail("--canary-traffic-percent: must be between 0 and 100, got %d", *c)
		}
		if o.DeploymentMode == ModeStandard {
			fail("--canary-traffic-percent needs Knative; --deployment-mode=%s has no traffic splitting", ModeStandard)
		}
	}
	return errs
}

// Logger modes KServe accepts (v1beta1.LoggerType).
var loggerModes = []string{"all", "request", "response"}

// validateAgent checks the request options KServe applies around the
// model server: concurrency, timeout, payload logging and batching.
func (o *Options) validateAgent() []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.ContainerConcurrency < 0 {
		fail("%s: must be 0 (no limit) or more, got %d", o.setting("container-concurrency"), o.ContainerConcurrency)
	} else if o.ContainerConcurrency > 0 && o.DeploymentMode == ModeStandard {
		fail("--container-concurrency needs Knative (its queue-proxy enforces it); --deployment-mode=%s has none", ModeStandard)
	}
	if o.Timeout < 0 {
		fail("%s: must be 1 second or more, got %d", o.setting("timeout"), o.Timeout)
	}
	if s := o.PreStopSleep; s != nil {
		switch {
		case *s < 0:
			fail("%s: must be 0 (no delay) or more, got %d", o.setting("pre-stop-sleep"), *s)
		case *s > maxPreStopSleep:
			// Endpoints catch up in seconds; a larger value is a typo, and
			// one near the int64 limit made terminationGracePeriodSeconds
			// wrap to a negative number.
			fail("%s: at most %d seconds (an hour), got %d; a few seconds cover the endpoints catching up", o.setting("pre-stop-sleep"), maxPreStopSleep, *s)
		case *s == 0 || o.DeploymentMode == ModeStandard:
		case o.DeploymentMode == ModeKnative:
			// knative.dev/serving's ContainerMask drops lifecycle from a
			// user container (must not set the field(s)), and its
			// revision reconciler gives it queue-proxy's /wait-for-drain
			// hook instead.
			fail("%s %d: Knative refuses a lifecycle hook on the model server's container (%s is %s), and needs none: queue-proxy's own preStop hook keeps the server from seeing SIGTERM until queue-proxy has drained; drop it, or deploy with --deployment-mode %s",
				o.setting("pre-stop-sleep"), *s, o.setting("deployment-mode"), ModeKnative, ModeStandard)
		default:
			fail("%s %d is for %s mode, and without --deployment-mode the cluster's default mode may be %s, which refuses a lifecycle hook on the model server's container; pass --deployment-mode %s, or drop it",
				o.setting("pre-stop-sleep"), *s, ModeStandard, ModeKnative, ModeStandard)
		}
	}
	if l := o.Logger; l != nil {
		if l.Mode != "" && !slices.Contains(loggerModes, l.Mode) {
			fail("%s: %q is not one of %s", o.setting("logger-mode"), l.Mode, strings.Join(loggerModes, ", "))
		}
		if l.URL != "" {
			if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				fail("%s: %q is not an http(s) URL like http://message-dumper.default.svc.cluster.local", o.setting("logger-url"), l.URL)
			}
		}
		for _, h := range l.MetadataHeaders {
			if !validHeaderName(h) {
				fail("%s: %q is not an HTTP header name", o.setting("logger-header"), h)
			}
		}
	}
	if b := o.Batcher; b != nil {
		// KServe's batcher (its agent's pkg/batcher) merges only requests
		// whose path ends in :predict, reading {"instances": [...]}; a v2
		// or gRPC request goes through it as it came, so in front of a v2
		// server it would add a hop and batch nothing. So would it in front
		// of an openai project's, whose model has no Predict: its requests
		// go to /openai/v1/..., which the batcher passes through (KServe's
		// pkg/batcher BatchHandler.ServeHTTP), nor of a timeseries
		// project's, whose requests go to /v1/timeseries/forecast.
		kind, api, routes, restOnly := o.restOnly()
		switch {
		case restOnly:
			fail(`%s: KServe's batcher batches only v1 :predict requests ({"instances": [...]}) and passes the others through unbatched, and %s project serves %s (%s), which has no :predict, so it would batch nothing; drop it`, o.setting("batcher"), kind, api, routes)
		case o.Protocol != project.ProtocolV1:
			speaks := o.Protocol
			if o.GRPC {
				speaks += " and gRPC"
			}
			fail(`%s: KServe's batcher batches only v1 :predict requests ({"instances": [...]}) and passes the others through unbatched, and this server speaks %s; batch inside the server instead (runtime/batch; an onnx project takes --arg=--max_batch_size=N)`, o.setting("batcher"), speaks)
		}
		if b.MaxBatchSize < 0 {
			fail("%s: must be 1 or more, got %d", o.setting("batcher-max-batch-size"), b.MaxBatchSize)
		}
		if b.MaxLatency < 0 {
			fail("%s: must be 1 millisecond or more, got %d", o.setting("batcher-max-latency"), b.MaxLatency)
		}
		if b.Timeout != 0 {
			// v1beta1.Batcher has the field, but KServe v0.16 never reads
			// it: the agent's batcher takes only a size and a latency.
			fail("%s: KServe passes no timeout to its batcher (v0.16 reads the field nowhere), so %d would change nothing; a batch goes to the model once it holds --batcher-max-batch-size instances, or --batcher-max-latency after its first request", o.setting("batcher-timeout"), b.Timeout)
		}
	}
	return errs
}

// ceAttributeName is the CloudEvents rule for attribute names, which
// Knative's trigger filter enforces.
var ceAttributeName = regexp.MustCompile(`^[a-z0-9]+$`)

// defaultResponseType is the type of the events the model server answers
// CloudEvents with unless CE_TYPE says otherwise.
const defaultResponseType = "io.kserve.inference.response"

// validateTrigger checks the Knative Trigger: a broker name, attribute
// filters Knative accepts, and a type filter that cannot match the
// server's own answers, which the broker takes back in: without one each
// answer would be delivered to the model again, without end.
func (o *Options) validateTrigger() []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	tr := o.Trigger
	if tr.Broker == "" {
		fail("--trigger: the broker's name is required")
	} else if err := validateSubdomain(tr.Broker, "a broker's name"); err != nil {
		fail("%s: broker %w", o.setting("trigger"), err)
	}
	kind, api, routes, restOnly := o.restOnly()
	switch {
	case restOnly:
		// The Trigger's subscriber is the predictor's :predict, which an
		// openai or timeseries project's model (no Predict) answers with a
		// 500.
		fail("%s: KServe delivers the broker's events to the v1 endpoint (:predict), and %s project's model serves %s (%s) and no :predict; drop it", o.setting("trigger"), kind, api, routes)
	case o.Protocol != project.ProtocolV1:
		fail("--trigger: KServe takes CloudEvents on the v1 endpoint (:predict), and this server speaks %s; deploy a v1 project", o.Protocol)
	}
	if o.Batcher != nil {
		// KServe's batcher builds a new request from the merged
		// "instances" alone and answers {"predictions": ...} itself: the
		// ce-* headers never reach the server, which then answers plain
		// JSON, and the broker takes no event back.
		fail(`--trigger with --batcher: KServe's batcher passes on only the events' "instances", without their CloudEvent attributes, and answers plain JSON, so the server would answer no event and the broker would get none back; drop --batcher (a server can batch inside: runtime/batch)`)
	}
	keys := slices.Sorted(maps.Keys(tr.Filter))
	for _, k := range keys {
		if !ceAttributeName.MatchString(k) {
			fail("%s %s: not a CloudEvents attribute name (lower-case letters and digits)", o.setting("trigger-filter"), k)
		}
	}
	respType := defaultResponseType
	for _, e := range o.Env {
		if e.Name == "CE_TYPE" && e.Value != "" {
			respType = e.Value
		}
	}
	switch typ, ok := tr.Filter["type"]; {
	case !ok || typ == "":
		fail("--trigger needs --trigger-filter type=<the type of the events to predict on>: the server answers with events of type %s, which the broker delivers again, and without a type filter they would reach the model again, without end", respType)
	case typ == respType:
		fail("--trigger-filter type=%s is the type of the server's own answers (CE_TYPE), so each answer would be delivered to it again; filter on the type of the request events", typ)
	}
	return errs
}

// validHeaderName reports whether h is an HTTP field name (RFC 9110 token).
func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for _, c := range h {
		if c > 0x7e || c <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", c) {
			return false
		}
	}
	return true
}

var (
	tolerationOperators = []string{"", "Exists", "Equal"}
	tolerationEffects   = []string{"", "NoSchedule", "PreferNoSchedule", "NoExecute"}
)

// formatToleration writes t as --toleration takes it, KEY[=VALUE][:EFFECT]
// (the flag's own value, for an error about it).
func formatToleration(t project.Toleration) string {
	s := t.Key
	if t.Operator == "Equal" {
		s += "=" + t.Value
	}
	if t.Effect != "" {
		s += ":" + t.Effect
	}
	return s
}

func validateToleration(t project.Toleration) error {
	switch {
	case !slices.Contains(tolerationOperators, t.Operator):
		return fmt.Errorf("operator %q is not Exists or Equal", t.Operator)
	case !slices.Contains(tolerationEffects, t.Effect):
		return fmt.Errorf("effect %q is not NoSchedule, PreferNoSchedule or NoExecute", t.Effect)
	case t.Operator == "Exists" && t.Value != "":
		return fmt.Errorf("operator Exists takes no value, got %q", t.Value)
	case t.Key == "" && t.Operator != "Exists":
		return errors.New("an empty key needs operator Exists")
	}
	if t.Key != "" {
		if err := validateLabelKey(t.Key); err != nil {
			return fmt.Errorf("key %w", err)
		}
	}
	if err := validateLabelValue(t.Value); err != nil {
		return fmt.Errorf("value %w", err)
	}
	return nil
}

// kserveDomainTemplate is the default of KServe's ingress domainTemplate
// (inferenceservice-config's ingress, v1beta1.DefaultDomainTemplate). In
// Standard mode KServe fills it with each component's name for the
// component's URL (the raw reconciler's createRawURL, before it makes the
// Deployment), so <name>-predictor-<namespace> is one DNS label.
const kserveDomainTemplate = "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"

// Warnings are problems the manifests may run into on the cluster, which
// deploy cannot tell for sure without it; Validate has passed.
func (o *Options) Warnings() []string {
	var warnings []string
	if o.DeploymentMode == ModeDefault {
		// Validate holds a name to Standard mode's limit only where the
		// mode is Standard; where it is the cluster's default, the name
		// may pass KServe and then the Deployment is refused.
		if err := project.ValidateStandardName(o.Name, o.Predictor != nil); err != nil {
			warnings = append(warnings, fmt.Sprintf("if the cluster's default deployment mode is %s: %s: %v; the API server would refuse KServe's Deployment and no pod would start: shorten %s, or pass --deployment-mode %s",
				ModeStandard, o.setting("name"), err, o.setting("name"), ModeKnative))
		}
	}
	if w := o.hostLabelWarning(); w != "" {
		warnings = append(warnings, w)
	}
	if o.DeploymentMode != ModeStandard && o.Timeout > knativeMaxRevisionTimeout {
		// KServe passes timeout to the Knative Service as its revision's
		// timeoutSeconds, which Knative's webhook bounds by the cluster's
		// max-revision-timeout-seconds (validateTimeoutSeconds): only the
		// cluster knows whether it was raised.
		setting := o.setting("timeout")
		warnings = append(warnings, fmt.Sprintf("%s %d: Knative refuses a revision timeout above its max-revision-timeout-seconds, %d unless knative-serving's config-defaults raises it, and KServe's Knative Service would then be refused, so the InferenceService never becomes ready; raise max-revision-timeout-seconds, or pass a %s of %d or less",
			setting, o.Timeout, knativeMaxRevisionTimeout, strings.TrimPrefix(setting, project.FileName+" "), knativeMaxRevisionTimeout))
	}
	if w := storageURIWarning(o.setting("storage-uri"), o.StorageURI, o.multiModel()); w != "" {
		warnings = append(warnings, w)
	}
	if o.Predictor != nil {
		if w := storageURIWarning(o.setting("predictor-storage-uri"), o.Predictor.StorageURI, false); w != "" {
			warnings = append(warnings, w)
		}
	}
	warnings = append(warnings, o.argWarnings()...)
	ports := o.exposedPorts()
	if o.Logger != nil && o.GRPC && len(ports) > 0 && ports[0].Name == PortNameH2C {
		// KServe's agent proxies the first exposed port, h2c here, through
		// its logger (pkg/logger LoggerHandler), which reads the request
		// body whole before it forwards it and logs it with its content
		// type.
		warnings = append(warnings, fmt.Sprintf("%s with %s: KServe's agent logs each gRPC call as its gRPC frame (content type application/grpc: a 5-byte length prefix and binary protobuf, not JSON), "+
			"and reads each request whole before passing it on, so a stream reaches the server only once the client has closed its side: unary calls such as ModelInfer pass, "+
			"but a bidirectional stream whose client waits for an answer, such as gRPC server reflection (grpcurl without -proto), never gets one",
			o.loggerSetting(), o.setting("grpc")))
	}
	if o.Logger != nil && len(ports) > 1 {
		// createDefaultSvc points the Service's first port, alone, at the
		// agent (InferenceServiceDefaultAgentPort).
		for _, p := range ports[1:] {
			warnings = append(warnings, fmt.Sprintf("--port %s with %s: KServe's agent, which logs the requests, sits in front of the first port alone (%s, the Service's port %d and the InferenceService's URL); requests to the Service's port %d reach the server directly and are not logged",
				p, o.loggerSetting(), ports[0], servicePort, p.ContainerPort))
		}
	}
	return warnings
}

// argWarnings warns of an --arg whose flag the server does not have but is
// a near miss of one it has: the server ignores an unknown argument, with
// a warning in its log alone (as KServe's parse_known_args does), so the
// setting silently does nothing. A name far from every flag may be the
// project's own (main.go) and is left alone.
func (o *Options) argWarnings() []string {
	known := append([]string{"help"}, serverFlags...)
	if o.ONNXDevice {
		known = append(known, onnxFlags...)
	}
	var warnings []string
	for _, a := range o.Args {
		_, typed, matches := serverFlag(a)
		if !strings.HasPrefix(a, "--") || typed == "" || len(matches) > 0 || slices.Contains(known, typed) {
			continue
		}
		best, bestDist := "", 3 // at most two edits away
		for _, f := range known {
			if d := editDistance(typed, f); d < bestDist {
				best, bestDist = f, d
			}
		}
		if best != "" {
			warnings = append(warnings, fmt.Sprintf("--arg %s: the model server has no --%s and ignores it (with a warning in its log), unless the project's main.go defines it; did you mean --%s?", a, typed, best))
		}
	}
	return warnings
}

// editDistance is the Levenshtein distance between a and b: the fewest
// single-byte insertions, deletions and substitutions that make one the
// other. (Here rather than a module: deploy/validate builds this package
// with its own go.sum.)
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// loggerSetting names the setting that turned payload logging on.
func (o *Options) loggerSetting() string {
	switch l := o.Logger; {
	case l.URL == "" && l.Mode != "":
		return o.setting("logger-mode")
	case l.URL == "" && len(l.MetadataHeaders) > 0:
		return o.setting("logger-header")
	case l.URL == "" && o.FileFields["logger"] != "":
		// An empty deploy.logger: the cluster's default sink, and no
		// field of its own to name.
		return o.setting("logger")
	default:
		return o.setting("logger-url")
	}
}

// hostLabelWarning: in Standard mode, with KServe's default ingress
// domainTemplate, a component's name and the namespace make one DNS label,
// which may not be over 63 characters. A longer one is accepted by kubectl
// apply, and then KServe's controller fails to reconcile the
// InferenceService on "invalid domain name" (GenerateDomainName). The name
// alone is checked by Validate; the namespace is known only when given
// (kubectl's current one is not read), and the cluster may set another
// template, so this is a warning. Knative's own default domain template,
// {{.Name}}.{{.Namespace}}.{{.Domain}}, keeps the two in labels of their
// own, and in Knative mode KServe's URL follows Knative's.
func (o *Options) hostLabelWarning() string {
	if o.Namespace == "" || o.DeploymentMode == ModeKnative {
		return ""
	}
	// The transformer's is the longer label, where there is one.
	component := "predictor"
	if o.Predictor != nil {
		component = "transformer"
	}
	label := o.Name + "-" + component + "-" + o.Namespace
	if len(label) <= validation.DNS1123LabelMaxLength {
		return ""
	}
	w := fmt.Sprintf("with KServe's default ingress domainTemplate (%s), the %s's host starts with the DNS label %s, %d characters, more than the %d DNS allows, and KServe fails to reconcile the InferenceService (invalid domain name), so it never becomes ready; shorten %s (%d characters) and %s (%d characters) by %d together, unless the cluster's inferenceservice-config sets another domainTemplate",
		kserveDomainTemplate, component, label, len(label), validation.DNS1123LabelMaxLength,
		o.setting("name"), len(o.Name), o.setting("namespace"), len(o.Namespace), len(label)-validation.DNS1123LabelMaxLength)
	if o.DeploymentMode == ModeDefault {
		w = "if the cluster's default deployment mode is " + ModeStandard + ": " + w
	}
	return w
}
