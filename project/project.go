// Package project reads, writes and validates kserve-gen.yaml, the project
// file that `kserve-gen new` writes at the root of a generated project and
// that `kserve-gen build` and `kserve-gen deploy` read back.
package project

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// FileName is the project file's name in the project root.
const FileName = "kserve-gen.yaml"

// Templates a project can be generated from.
const (
	TemplateREST        = "rest"
	TemplateGRPC        = "grpc"
	TemplateONNX        = "onnx"
	TemplateTransformer = "transformer"
	// TemplateOpenAI serves OpenAI's API (chat, completions) on KServe's
	// OpenAI routes (runtime/openai), over REST only.
	TemplateOpenAI = "openai"
	// TemplateTimeSeries serves forecasts on KServe's time-series routes
	// (runtime/timeseries), over REST only.
	TemplateTimeSeries = "timeseries"
)

// Templates lists the accepted Template values, in help-text order.
var templates = []string{TemplateREST, TemplateGRPC, TemplateONNX, TemplateTransformer, TemplateOpenAI, TemplateTimeSeries}

// Templates returns the accepted Template values.
func Templates() []string { return append([]string(nil), templates...) }

// Inference protocols. The values are the ones KServe's PROTOCOL variable and
// protocolVersion field accept (lower case).
const (
	ProtocolV1 = "v1"
	ProtocolV2 = "v2"
	// ProtocolGRPCV2 is the Open Inference Protocol over gRPC; a predictor
	// may be called with it (--predictor_protocol), a project's REST
	// endpoint never speaks it.
	ProtocolGRPCV2 = "grpc-v2"
)

// File is the content of kserve-gen.yaml.
//
// The required part describes what the generator produced; Deploy holds
// optional deployment defaults that `kserve-gen deploy` flags override.
type File struct {
	// Name is a DNS-1123 label (see ValidateName); it is the model name on
	// the wire and the InferenceService's name.
	Name string `json:"name"`
	// Module is the generated project's Go module path.
	Module string `json:"module"`
	// Template is the template the project was generated from: rest, grpc, onnx, transformer, openai or timeseries.
	Template string `json:"template"`
	// Protocol is the inference protocol the model speaks over REST: v1 or v2.
	Protocol string `json:"protocol"`
	// GRPC turns on the Open Inference Protocol (v2) gRPC endpoint; it needs Protocol v2.
	GRPC bool `json:"grpc"`
	// GPU is the number of nvidia.com/gpu devices; 0 runs on CPU.
	GPU int `json:"gpu"`
	// Resources are CPU and memory requests and limits.
	Resources Resources `json:"resources"`
	// Image is the container image reference `kserve-gen deploy` runs,
	// set once the image is built and pushed.
	Image string `json:"image,omitempty"`
	// Deploy holds deployment defaults; every one can be overridden by a flag.
	Deploy *Deploy `json:"deploy,omitempty"`
}

// Resources are Kubernetes compute resources for the model container.
type Resources struct {
	Requests ResourceList `json:"requests,omitempty"`
	Limits   ResourceList `json:"limits,omitempty"`
}

// ResourceList holds Kubernetes quantity strings ("500m", "2", "1Gi").
// An empty string leaves that resource unset.
type ResourceList struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
}

// Deploy holds optional deployment settings.
type Deploy struct {
	// Namespace of the InferenceService; empty means kubectl's current namespace.
	Namespace string `json:"namespace,omitempty"`
	// Workers is the model server's --workers value; 0 means 1.
	Workers int `json:"workers,omitempty"`
	// MaxQueuedRequests is the model server's --max_queued_requests: how
	// many requests may wait for a model slot before more get a 503.
	MaxQueuedRequests int `json:"maxQueuedRequests,omitempty"`
	// StorageURI is passed as STORAGE_URI so KServe's storage initializer
	// downloads the model into /mnt/models.
	StorageURI string `json:"storageUri,omitempty"`
	// LogLevel is passed as KSERVE_LOGLEVEL (e.g. INFO, DEBUG).
	LogLevel string `json:"logLevel,omitempty"`
	// Env holds extra environment variables, in order.
	Env []EnvVar `json:"env,omitempty"`
	// DeploymentMode is KServe's serving.kserve.io/deploymentMode:
	// Knative (serverless) or Standard (raw Deployment); empty keeps the
	// cluster default.
	DeploymentMode string `json:"deploymentMode,omitempty"`
	// MinReplicas and MaxReplicas bound autoscaling; nil MinReplicas keeps
	// KServe's default, 0 allows scale to zero.
	MinReplicas *int `json:"minReplicas,omitempty"`
	MaxReplicas int  `json:"maxReplicas,omitempty"`
	// ScaleMetric is concurrency, rps, cpu or memory; ScaleTarget its target value.
	ScaleMetric string `json:"scaleMetric,omitempty"`
	ScaleTarget int    `json:"scaleTarget,omitempty"`
	// PrometheusURL is the Prometheus KEDA queries when a Standard-mode
	// deployment scales on concurrency or rps.
	PrometheusURL string `json:"prometheusUrl,omitempty"`
	// ServiceAccountName runs the predictor under that service account.
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// NodeSelector constrains the predictor to matching nodes.
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// Tolerations let the predictor run on tainted nodes (e.g. GPU nodes).
	Tolerations []Toleration `json:"tolerations,omitempty"`
	// ContainerConcurrency is the most requests one pod is sent at once
	// (Knative's hard limit; 0: no limit).
	ContainerConcurrency int `json:"containerConcurrency,omitempty"`
	// Timeout is the request timeout in seconds (KServe's timeout, and the
	// server's --grace_period; 0 keeps Knative's or the gateway's default).
	Timeout int `json:"timeout,omitempty"`
	// PreStopSleep is how many seconds the model server's container
	// sleeps in a preStop hook before it gets SIGTERM, in Standard mode:
	// nil keeps kserve-gen's default (5), 0 drops the hook.
	PreStopSleep *int `json:"preStopSleep,omitempty"`
	// Logger sends requests and/or responses as CloudEvents to a URL
	// (KServe's payload logging, by its agent sidecar).
	Logger *Logger `json:"logger,omitempty"`
	// Batcher puts KServe's batching sidecar in front of the model server.
	Batcher *Batcher `json:"batcher,omitempty"`
	// Trigger subscribes the InferenceService to a Knative Eventing broker:
	// matching events reach the v1 :predict endpoint as CloudEvents.
	Trigger *Trigger `json:"trigger,omitempty"`
	// Predictor is the predictor a transformer project runs in front of
	// (template transformer only).
	Predictor *Predictor `json:"predictor,omitempty"`
}

// Predictor is the predictor of a transformer project's InferenceService:
// a container image serving the project's model name, or a model format
// that selects one of KServe's serving runtimes (with the model's storage
// URI).
type Predictor struct {
	Image              string `json:"image,omitempty"`
	ModelFormat        string `json:"modelFormat,omitempty"`
	ModelFormatVersion string `json:"modelFormatVersion,omitempty"`
	StorageURI         string `json:"storageUri,omitempty"`
	// Protocol is how the transformer calls it (--predictor_protocol):
	// v1, v2 or grpc-v2; empty means the project's protocol.
	Protocol string `json:"protocol,omitempty"`
}

// Logger is KServe's payload logging (v1beta1.LoggerSpec).
type Logger struct {
	// URL receives the CloudEvents; empty uses the cluster's default sink.
	URL string `json:"url,omitempty"`
	// Mode is all (default), request or response.
	Mode string `json:"mode,omitempty"`
	// MetadataHeaders are request headers copied into the events.
	MetadataHeaders []string `json:"metadataHeaders,omitempty"`
}

// Batcher is KServe's request batcher (v1beta1.Batcher); zero values keep
// the agent's defaults.
type Batcher struct {
	MaxBatchSize int `json:"maxBatchSize,omitempty"` // instances per batch
	MaxLatency   int `json:"maxLatency,omitempty"`   // milliseconds a batch waits to fill
	// Timeout is v1beta1.Batcher's timeout, which KServe v0.16 reads
	// nowhere; kept so a project file holding it gets deploy's error
	// saying so rather than a decoding error.
	Timeout int `json:"timeout,omitempty"`
}

// Trigger is a Knative Eventing Trigger in front of the InferenceService.
type Trigger struct {
	// Broker is the broker's name in the InferenceService's namespace.
	Broker string `json:"broker"`
	// Filter are the CloudEvent attributes an event must have (exact
	// match); a type is required.
	Filter map[string]string `json:"filter,omitempty"`
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Toleration mirrors the fields of a Kubernetes toleration.
type Toleration struct {
	Key      string `json:"key,omitempty"`
	Operator string `json:"operator,omitempty"`
	Value    string `json:"value,omitempty"`
	Effect   string `json:"effect,omitempty"`
}

// Load reads and validates dir/kserve-gen.yaml. Unknown fields are an error,
// so a typo in the file is reported rather than silently ignored.
func Load(dir string) (*File, error) { return load(dir, (*File).Validate) }

// LoadForDeploy is Load for kserve-gen deploy, whose flags override the
// deploy section: the section's values are left to deploy, which checks
// them once the flags are applied (a flag replaces a bad value), naming
// each that the file still gives by its field.
func LoadForDeploy(dir string) (*File, error) {
	return load(dir, func(f *File) error { return f.validate(nil, false) })
}

func load(dir string, validate func(*File) error) (*File, error) {
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		if st, serr := os.Stat(dir); serr == nil && !st.IsDir() {
			// The OS would say "kserve-gen.yaml/kserve-gen.yaml: not a
			// directory", which hides that dir itself is the mistake.
			if filepath.Base(dir) == FileName {
				return nil, fmt.Errorf("%s is the project file, not its folder: pass --dir %s", dir, filepath.Dir(dir))
			}
			return nil, fmt.Errorf("%s is a file, not a project folder: pass --dir the folder that holds %s", dir, FileName)
		}
		return nil, fmt.Errorf("read project file: %w", err)
	}
	f, err := decode(data)
	if err == nil {
		err = validate(f)
	}
	if err != nil {
		return nil, prefixEach(path, err)
	}
	return f, nil
}

// prefixEach puts "prefix: " before each of err's errors, where it joins
// several (errors.Join): wrapping the whole joined error would put the
// prefix on its first line alone, and the others would read as if they
// came from elsewhere (a flag). Each keeps its chain for errors.Is.
func prefixEach(prefix string, err error) error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var errs []error
		for _, e := range j.Unwrap() {
			errs = append(errs, prefixEach(prefix, e))
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// decodeError says what sigs.k8s.io/yaml found wrong in a project file in
// the file's terms: its layers ("error unmarshaling JSON: while decoding
// JSON: json: cannot unmarshal string into Go struct field
// Deploy.deploy.minReplicas of type int") name a conversion the user never
// asked for and Go types. The result wraps err.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &wrappedError{fmt.Sprintf("%s: want %s, got %s", te.Field, typeWords(te.Type), valueWords(te.Value)), err}
	}
	msg := err.Error()
	for _, layer := range []string{"error converting YAML to JSON: ", "error unmarshaling JSON: ", "while decoding JSON: ", "json: ", "yaml: ", "unmarshal errors:\n"} {
		msg = strings.TrimPrefix(msg, layer)
	}
	// yaml's "unmarshal errors" list one problem per indented line.
	var errs []error
	for line := range strings.SplitSeq(msg, "\n") {
		errs = append(errs, &wrappedError{strings.TrimSpace(line), err})
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// wrappedError is an error that reads msg and wraps err.
type wrappedError struct {
	msg string
	err error
}

func (e *wrappedError) Error() string { return e.msg }
func (e *wrappedError) Unwrap() error { return e.err }

// typeWords names what a field of type t takes, as YAML would write it.
func typeWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return typeWords(t.Elem())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

// valueWords names the JSON value kind encoding/json reports ("string",
// "object", "number 1.5") in YAML's terms.
func valueWords(v string) string {
	if n, ok := strings.CutPrefix(v, "number "); ok {
		return n
	}
	switch v {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "bool":
		return "true or false"
	case "string", "number":
		return "a " + v
	}
	return v
}

// Parse decodes and validates the content of a project file.
func Parse(data []byte) (*File, error) {
	f, err := decode(data)
	if err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

func decode(data []byte) (*File, error) {
	var f File
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, decodeError(err)
	}
	return &f, nil
}

// Marshal validates f and returns its YAML encoding.
func (f *File) Marshal() ([]byte, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	data, err := yaml.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode project file: %w", err)
	}
	return data, nil
}

// Save validates f and writes it to dir/kserve-gen.yaml.
func (f *File) Save(dir string) error {
	data, err := f.Marshal()
	if err != nil {
		return err
	}
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write project file: %w", err)
	}
	return nil
}

// Validate checks every field and returns all problems found, each naming
// its field, joined with errors.Join.
func (f *File) Validate() error { return f.ValidateAs(nil) }

// ValidateAs is Validate with errors that name a field as name(field)
// says: kserve-gen new names the flags that gave the answers ("--gpu"),
// not the fields of a file the user has not seen yet. The fields it names
// so are name, module, template, protocol, gpu and resources.requests.cpu
// (and .memory, and limits'). nil names every field as the file does.
func (f *File) ValidateAs(name func(field string) string) error {
	return f.validate(name, true)
}

// validate is ValidateAs; withDeploy false leaves out the deploy section's
// values (LoadForDeploy).
func (f *File) validate(name func(field string) string, withDeploy bool) error {
	named := name != nil
	if !named {
		name = func(field string) string { return field }
	}
	var errs []error
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, prefixEach(field, err))
		}
	}
	nameErr := ValidateNameFor(f.Name, f.Template)
	add(name("name"), nameErr)
	// kserve-gen new derives the module from the name when --module is not
	// given: checking it as well would repeat the name's error as one about
	// a module the user never wrote.
	if nameErr == nil || f.Module == "" || f.Module != DefaultModule(f.Name) {
		add(name("module"), validateModule(f.Module, moduleExample(name("module"))))
	}
	add(name("template"), ValidateTemplate(f.Template))
	add(name("protocol"), ValidateProtocol(f.Protocol))
	if f.GRPC && f.Protocol == ProtocolV1 && f.Template != TemplateOpenAI && f.Template != TemplateTimeSeries { // their own error below
		errs = append(errs, errors.New("grpc: the gRPC endpoint speaks the Open Inference Protocol, so it needs protocol v2 (protocol is v1)"))
	}
	if f.Template == TemplateGRPC && !f.GRPC {
		errs = append(errs, errors.New("grpc: template grpc needs grpc: true"))
	}
	if f.Template == TemplateOpenAI {
		// OpenAI's API is REST on the HTTP port: the model has no Predict
		// for a v2 or gRPC request to reach, and protocol only picks the
		// readiness probe and PROTOCOL, which v1 serves.
		if f.GRPC {
			errs = append(errs, errors.New("grpc: template openai serves OpenAI's API over REST, with no gRPC endpoint; it needs grpc: false"))
		}
		if f.Protocol == ProtocolV2 {
			errs = append(errs, fmt.Errorf("%s: template openai serves OpenAI's API (/openai/v1/...), not the Open Inference Protocol; it needs protocol v1", name("protocol")))
		}
	}
	if f.Template == TemplateTimeSeries {
		// As for openai: the forecast routes are REST on the HTTP port,
		// and the model has no Predict for v2 or gRPC to reach.
		if f.GRPC {
			errs = append(errs, errors.New("grpc: template timeseries serves KServe's time-series API over REST, with no gRPC endpoint; it needs grpc: false"))
		}
		if f.Protocol == ProtocolV2 {
			errs = append(errs, fmt.Errorf("%s: template timeseries serves KServe's time-series API (/v1/timeseries/...), not the Open Inference Protocol; it needs protocol v1", name("protocol")))
		}
	}
	if f.GPU < 0 {
		errs = append(errs, fmt.Errorf("%s: must be 0 (CPU) or more, got %d", name("gpu"), f.GPU))
	}
	if named {
		if err := f.Resources.ValidateAs(func(field string) string { return name("resources." + field) }); err != nil {
			errs = append(errs, err)
		}
	} else {
		add("resources", f.Resources.Validate())
	}
	if f.Deploy != nil {
		if withDeploy {
			add("deploy", f.Deploy.Validate())
		}
		if f.Deploy.Predictor != nil && f.Template != TemplateTransformer {
			errs = append(errs, fmt.Errorf("deploy: predictor: only a transformer project runs in front of a separate predictor (template is %s)", f.Template))
		}
	}
	return errors.Join(errs...)
}

// moduleExample returns how the user writes a module path where setting
// names its source: "--module example.com/x" for new's flag, "module:
// example.com/x" for the field of kserve-gen.yaml, so the example of a
// valid path in an error can be copied to where the bad one was.
func moduleExample(setting string) func(path string) string {
	if strings.HasPrefix(setting, "-") {
		return func(path string) string { return setting + " " + path }
	}
	return func(path string) string { return setting + ": " + path }
}

// ValidatePredictorProtocol reports whether p is a protocol a transformer
// can call its predictor with: v1, v2 or grpc-v2.
func ValidatePredictorProtocol(p string) error {
	if p == ProtocolV1 || p == ProtocolV2 || p == ProtocolGRPCV2 {
		return nil
	}
	return fmt.Errorf("%q is not a predictor protocol; choose %s, %s or %s", p, ProtocolV1, ProtocolV2, ProtocolGRPCV2)
}

// Validate checks the predictor settings that can be checked alone
// (deploy.Options.Validate checks the merged result again).
func (p *Predictor) Validate() error {
	var errs []error
	if p.Image != "" && p.ModelFormat != "" {
		errs = append(errs, errors.New("image and modelFormat: give one; the predictor is either a container image or a model format served by a KServe runtime"))
	}
	if p.Protocol != "" {
		if err := ValidatePredictorProtocol(p.Protocol); err != nil {
			errs = append(errs, fmt.Errorf("protocol: %w", err))
		}
	}
	return errors.Join(errs...)
}

// ValidateTemplate reports whether t is one of Templates().
func ValidateTemplate(t string) error {
	if slices.Contains(templates, t) {
		return nil
	}
	return fmt.Errorf("%q is not a template; choose one of %s", t, strings.Join(templates, ", "))
}

// ValidateProtocol reports whether p is v1 or v2.
func ValidateProtocol(p string) error {
	if p == ProtocolV1 || p == ProtocolV2 {
		return nil
	}
	return fmt.Errorf("%q is not a protocol; choose %s or %s", p, ProtocolV1, ProtocolV2)
}

// Validate checks that every quantity parses and no request exceeds its limit.
func (r Resources) Validate() error {
	return r.ValidateAs(func(field string) string { return field })
}

// ValidateAs is Validate with errors that name each quantity as
// name(field) says, field being requests.cpu, limits.cpu, requests.memory
// or limits.memory: the flag that gave it ("--cpu-request"), or the field
// of the file it was read from.
func (r Resources) ValidateAs(name func(field string) string) error {
	var errs []error
	q := func(field string, k quantityKind, v string) *resource.Quantity {
		if v == "" {
			return nil
		}
		parsed, err := resource.ParseQuantity(v)
		if err != nil {
			errs = append(errs, &quantityError{field: field, value: v, kind: k, err: err})
			return nil
		}
		if parsed.Sign() < 0 {
			errs = append(errs, fmt.Errorf("%s: %q must not be negative", field, v))
			return nil
		}
		if k == memoryKind {
			if err := wholeBytes(field, v, parsed); err != nil {
				errs = append(errs, err)
				return nil
			}
		}
		return &parsed
	}
	reqCPU, limCPU := q(name("requests.cpu"), cpuKind, r.Requests.CPU), q(name("limits.cpu"), cpuKind, r.Limits.CPU)
	reqMem, limMem := q(name("requests.memory"), memoryKind, r.Requests.Memory), q(name("limits.memory"), memoryKind, r.Limits.Memory)
	if reqCPU != nil && limCPU != nil && reqCPU.Cmp(*limCPU) > 0 {
		errs = append(errs, fmt.Errorf("%s %s is more than %s %s", name("requests.cpu"), r.Requests.CPU, name("limits.cpu"), r.Limits.CPU))
	}
	if reqMem != nil && limMem != nil && reqMem.Cmp(*limMem) > 0 {
		errs = append(errs, fmt.Errorf("%s %s is more than %s %s", name("requests.memory"), r.Requests.Memory, name("limits.memory"), r.Limits.Memory))
	}
	return errors.Join(errs...)
}

// quantityKind is what a quantity counts: its rule, the spellings offered
// for it and whether it may hold a fraction differ.
type quantityKind int

const (
	cpuKind    quantityKind = iota // CPUs, to the thousandth (m)
	memoryKind                     // bytes, whole
)

// rule says what a quantity of kind k is, in the words of Kubernetes'
// docs rather than resource.ParseQuantity's regular expression: both
// kinds parse with any suffix, but only these make sense for each.
func (k quantityKind) rule() string {
	if k == cpuKind {
		return "a CPU quantity is a number of CPUs, whole or with m for thousandths of one, like 2, 1.5 or 500m"
	}
	return "a memory quantity is a number of bytes with an optional suffix: k, M, G, T, P, E (powers of 1000) or Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024), like 512Mi or 2G"
}

// valid reports whether s is a quantity of kind k: one that parses, and
// for memory is a whole number of bytes.
func (k quantityKind) valid(s string) bool {
	q, err := resource.ParseQuantity(s)
	if err != nil || q.Sign() < 0 {
		return false
	}
	return k == cpuKind || isWhole(q)
}

// isWhole reports whether q has no fractional part. RoundUp to scale 0
// (units) reports whether it lost precision; it works on a copy.
func isWhole(q resource.Quantity) bool {
	return q.RoundUp(0)
}

// wholeBytes refuses a memory quantity with a fraction of a byte, which
// Kubernetes takes ("500m" is half a byte, which the kubelet rounds up to
// one) but is never meant: with m as its suffix, it is a typo for 500Mi
// or 500M.
func wholeBytes(field, v string, q resource.Quantity) error {
	if isWhole(q) {
		return nil
	}
	what := "is not a whole number of bytes"
	if one := resource.MustParse("1"); q.Cmp(one) < 0 {
		what = "is less than one byte"
	}
	return &quantityError{field: field, value: v, kind: memoryKind, what: what}
}

// quantityError is a quantity that does not parse, or (what set) one
// that is not a quantity of its kind. It reads as the rule and the
// nearest spellings that are, not apimachinery's regular expression,
// which it still wraps for errors.Is.
type quantityError struct {
	field, value string
	kind         quantityKind
	what         string // "is less than one byte"; empty: does not parse
	err          error
}

func (e *quantityError) Error() string {
	what := e.what
	if what == "" {
		what = "is not a Kubernetes quantity"
	}
	try := ""
	if s := suggestQuantity(e.kind, e.value); len(s) > 0 {
		// Before the rule, as names do, so a short terminal shows it.
		try = ` (try "` + strings.Join(s, `" or "`) + `")`
	}
	rule := e.kind.rule()
	if _, unit := splitQuantity(e.value); e.what != "" && unit == "m" {
		rule = "m means thousandths; " + rule
	}
	return fmt.Sprintf("%s: %q %s%s: %s", e.field, e.value, what, try, rule)
}

func (e *quantityError) Unwrap() error { return e.err }

// quantityParts splits a number, blanks and a unit: "1.5 GB", "2cores".
var quantityParts = regexp.MustCompile(`^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z]*)$`)

// splitQuantity returns v's number and unit, or "", "" when v is no
// number and unit.
func splitQuantity(v string) (num, unit string) {
	m := quantityParts.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return "", ""
	}
	return m[1], m[2]
}

// memoryUnits maps the units people write sizes in elsewhere, lower-cased,
// to the Kubernetes suffixes that mean them: decimal first, then binary,
// which is what "GB" often means. m, which Kubernetes reads as
// thousandths, is a typo for Mi (what manifests mostly use) or M.
var memoryUnits = map[string][]string{
	"b": {""}, "byte": {""}, "bytes": {""},
	"k": {"k", "Ki"}, "kb": {"k", "Ki"}, "ki": {"Ki"}, "kib": {"Ki"},
	"m": {"Mi", "M"}, "mb": {"M", "Mi"}, "mi": {"Mi"}, "mib": {"Mi"},
	"g": {"G", "Gi"}, "gb": {"G", "Gi"}, "gi": {"Gi"}, "gib": {"Gi"},
	"t": {"T", "Ti"}, "tb": {"T", "Ti"}, "ti": {"Ti"}, "tib": {"Ti"},
	"p": {"P", "Pi"}, "pb": {"P", "Pi"}, "pi": {"Pi"}, "pib": {"Pi"},
	"eb": {"E", "Ei"}, "ei": {"Ei"}, "eib": {"Ei"},
}

// milliCPUUnits count thousandths of a CPU, cpuUnits whole CPUs.
var (
	milliCPUUnits = []string{"mcpu", "millicpu", "millicpus", "millicore", "millicores"}
	cpuUnits      = []string{"cpu", "cpus", "vcpu", "vcpus", "core", "cores"}
)

// suggestQuantity returns the quantities of kind k nearest to v, which is
// not one ("2GB": 2G, 2Gi; "1.5 cpu": 1500m; "512 Mi": 512Mi; memory
// "500m": 500Mi, 500M), or nil when v is no number and unit, or its unit
// is not one of k's.
func suggestQuantity(k quantityKind, v string) []string {
	num, unit := splitQuantity(v)
	if num == "" {
		return nil
	}
	var try []string
	switch lower := strings.ToLower(unit); {
	case unit != "" && k.valid(num+unit) && (k == memoryKind || unit == "m"):
		// Only the blank was wrong: "512 Mi", "500 m" of CPU. 512Mi
		// parses as CPUs too, but is no spelling of a CPU count.
		try = []string{num + unit}
	case k == cpuKind && slices.Contains(cpuUnits, lower):
		// 1.5 CPUs is 1500m, the form kubectl shows; 2 CPUs is 2.
		if q, err := resource.ParseQuantity(num); err == nil {
			if milli := q.MilliValue(); milli%1000 == 0 {
				try = []string{fmt.Sprint(milli / 1000)}
			} else {
				try = []string{fmt.Sprintf("%dm", milli)}
			}
		}
	case k == cpuKind && slices.Contains(milliCPUUnits, lower):
		try = []string{num + "m"}
	case k == memoryKind:
		for _, suffix := range memoryUnits[lower] {
			try = append(try, num+suffix)
		}
	}
	return slices.DeleteFunc(try, func(s string) bool { return !k.valid(s) })
}

// Scale metrics KServe accepts for the predictor (Knative KPA: concurrency,
// rps; HPA: cpu, memory).
var scaleMetrics = []string{"concurrency", "rps", "cpu", "memory"}

// Validate checks the deployment settings that can be checked without the
// flags (deploy.Options.Validate checks the merged result again).
func (d *Deploy) Validate() error {
	var errs []error
	if err := ValidateNamespace(d.Namespace); err != nil {
		errs = append(errs, fmt.Errorf("namespace: %w", err))
	}
	if d.DeploymentMode != "" && d.DeploymentMode != "Knative" && d.DeploymentMode != "Standard" {
		errs = append(errs, fmt.Errorf("deploymentMode: %q is not Knative or Standard", d.DeploymentMode))
	}
	if d.MaxQueuedRequests < 0 {
		errs = append(errs, fmt.Errorf("maxQueuedRequests: must be 0 (no bound) or more, got %d", d.MaxQueuedRequests))
	}
	if d.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers: must be 1 or more, got %d", d.Workers))
	}
	if d.MinReplicas != nil && *d.MinReplicas < 0 {
		errs = append(errs, fmt.Errorf("minReplicas: must be 0 or more, got %d", *d.MinReplicas))
	}
	if d.MaxReplicas < 0 {
		errs = append(errs, fmt.Errorf("maxReplicas: must be 0 (no limit) or more, got %d", d.MaxReplicas))
	}
	if d.MinReplicas != nil && d.MaxReplicas > 0 && *d.MinReplicas > d.MaxReplicas {
		errs = append(errs, fmt.Errorf("minReplicas %d is more than maxReplicas %d", *d.MinReplicas, d.MaxReplicas))
	}
	if d.ScaleMetric != "" && !slices.Contains(scaleMetrics, d.ScaleMetric) {
		errs = append(errs, fmt.Errorf("scaleMetric: %q is not one of %s", d.ScaleMetric, strings.Join(scaleMetrics, ", ")))
	}
	if d.ScaleTarget < 0 {
		errs = append(errs, fmt.Errorf("scaleTarget: must be 1 or more, got %d", d.ScaleTarget))
	}
	if d.PreStopSleep != nil && *d.PreStopSleep < 0 {
		errs = append(errs, fmt.Errorf("preStopSleep: must be 0 (no delay) or more, got %d", *d.PreStopSleep))
	}
	for i, e := range d.Env {
		if e.Name == "" {
			errs = append(errs, fmt.Errorf("env[%d].name %w", i, ErrEmpty))
		}
	}
	if d.Predictor != nil {
		if err := d.Predictor.Validate(); err != nil {
			errs = append(errs, prefixEach("predictor", err))
		}
	}
	return errors.Join(errs...)
}
