package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kserve-gen/kserve-gen/deploy"
	"github.com/kserve-gen/kserve-gen/project"
)

// deployOptions is what `kserve-gen deploy` parsed from its flags. Fields
// override the project file only when their flag was given (Changed).
type deployOptions struct {
	Out    io.Writer
	ErrOut io.Writer

	Dir    string
	Output string
	Force  bool
	Apply  bool

	Name, Namespace, Image, Protocol string
	GRPC                             bool
	HTTPPort, GRPCPort               int
	Ports                            []string
	Workers                          int
	MaxQueuedRequests                int
	StorageURI, LogLevel             string
	Env                              []string
	Args                             []string

	CPURequest, CPULimit, MemoryRequest, MemoryLimit string
	GPU                                              int

	DeploymentMode       string
	MinReplicas          int
	MaxReplicas          int
	ScaleMetric          string
	ScaleTarget          int
	PrometheusURL        string
	CanaryTrafficPercent int
	ServiceAccount       string
	NodeSelector         []string
	Tolerations          []string
	ContainerConcurrency int
	Timeout              int
	PreStopSleep         int

	LoggerURL, LoggerMode                                  string
	LoggerHeaders                                          []string
	Batcher                                                bool
	BatcherMaxBatchSize, BatcherMaxLatency, BatcherTimeout int
	Trigger                                                string
	TriggerFilters                                         []string

	NoMetrics      bool
	Dashboard      bool
	PodMonitor     bool
	StartupTimeout time.Duration

	ServingRuntime     bool
	ClusterRuntime     bool
	RuntimeName        string
	ModelFormat        string
	ModelFormatVersion string

	// The predictor of a transformer project.
	PredictorImage, PredictorModelFormat, PredictorModelFormatVersion string
	PredictorStorageURI, PredictorProtocol                            string

	// Changed reports whether a flag was set on the command line.
	Changed func(flag string) bool
}

func newCmdDeploy(out, errOut io.Writer, runF func(*deployOptions) error) *cobra.Command {
	opts := &deployOptions{Out: out, ErrOut: errOut}
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Print the KServe InferenceService (and ServingRuntime) YAML for the project",
		Long: `Print the Kubernetes manifests that run the project on KServe.

The settings come from ` + project.FileName + ` in --dir; every flag overrides
the matching value there. The output is an InferenceService
(serving.kserve.io/v1beta1) with the project's container as a custom
predictor, or with --serving-runtime a reusable ServingRuntime
(--cluster-runtime: ClusterServingRuntime) followed by an InferenceService
that selects it by model format.

With --grpc the gRPC port is exposed, named h2c, and the InferenceService's
URL leads to it. Knative routes to exactly one container port, so there the
REST listener stays inside the pod, for the readiness/startup probes and
Prometheus metrics. --deployment-mode Standard exposes REST too, as http1
after h2c (KServe's Service: <name>-predictor.<namespace>:<http-port>),
unless payload logging is on; --port chooses the ports and their order.

A transformer project (template transformer) is deployed as the
InferenceService's transformer in front of its predictor: give
--predictor-image (a container serving the same model name, such as a
kserve-gen rest project's image) or --predictor-model-format with
--predictor-storage-uri (one of KServe's serving runtimes). KServe passes the
predictor's address to the transformer as --predictor_host.`,
		Example: `  # print the manifest for the project in the current directory
  # (with image: registry.example.com/custom-model:v1 in kserve-gen.yaml, --image is not needed)
  kserve-gen deploy --image registry.example.com/custom-model:v1

  # gRPC, one GPU, at least one replica, written to a file
  kserve-gen deploy --image registry.example.com/custom-model:v1 --grpc --protocol v2 --gpu 1 --min-replicas 1 -o isvc.yaml

  # apply it straight away (needs kubectl on PATH)
  kserve-gen deploy --image registry.example.com/custom-model:v1 --apply

  # a transformer project in front of a scikit-learn model served by KServe
  kserve-gen deploy --image registry.example.com/tx:v1 \
    --predictor-model-format sklearn --predictor-storage-uri gs://bucket/model`,
		Args: projectDirArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Changed = cmd.Flags().Changed
			if runF != nil {
				return runF(opts)
			}
			return deployRun(cmd.Context(), opts)
		},
	}

	f := cmd.Flags()
	f.StringVar(&opts.Dir, "dir", ".", "project directory holding "+project.FileName)
	f.StringVarP(&opts.Output, "output", "o", "", "write the YAML to `FILE` instead of stdout (an existing FILE with other content needs --force)")
	f.BoolVar(&opts.Force, "force", false, "with -o: replace an existing FILE that holds something else")
	f.BoolVar(&opts.Apply, "apply", false, "pipe the YAML to kubectl apply -f - instead of printing it (kubectl must be on PATH)")

	f.StringVar(&opts.Name, "name", "", "InferenceService and model name (DNS-1123 label starting with a letter, at most 53 characters)")
	f.StringVarP(&opts.Namespace, "namespace", "n", "", "namespace (default: kubectl's current namespace)")
	f.StringVar(&opts.Image, "image", "", "container image, e.g. registry.example.com/custom-model:v1 (default: image in kserve-gen.yaml; one of the two is required)")
	f.StringVar(&opts.Protocol, "protocol", "", "inference protocol of the REST endpoint: v1 or v2 (sets PROTOCOL and the readiness path)")
	f.BoolVar(&opts.GRPC, "grpc", false, "expose the Open Inference Protocol gRPC endpoint as the h2c port (needs --protocol v2)")
	f.IntVar(&opts.HTTPPort, "http-port", deploy.DefaultHTTPPort, "REST port (--http_port); probes and /metrics use it")
	f.IntVar(&opts.GRPCPort, "grpc-port", deploy.DefaultGRPCPort, "gRPC port (--grpc_port) with --grpc")
	f.StringSliceVar(&opts.Ports, "port", nil, "exposed container port as `NAME=PORT`, NAME http1 or h2c; repeat in Standard mode, the first behind the URL (default: derived; Knative allows one)")
	f.IntVar(&opts.Workers, "workers", 1, "model server --workers (1 or more)")
	f.IntVar(&opts.MaxQueuedRequests, "max-queued-requests", 0, "model server --max_queued_requests: requests that may wait for a model slot before more get a retryable 503 (0: no bound)")
	f.StringVar(&opts.StorageURI, "storage-uri", "", "model location KServe downloads into /mnt/models (s3://, gs://, pvc://, hf://, oci://, https://...)")
	f.StringVar(&opts.LogLevel, "log-level", "", "KSERVE_LOGLEVEL, e.g. INFO or DEBUG")
	f.StringArrayVar(&opts.Env, "env", nil, "extra environment variable `KEY=VALUE` (repeatable; replaces a variable of the same name from "+project.FileName+" or an earlier --env)")
	f.StringArrayVar(&opts.Args, "arg", nil, "extra model server argument, e.g. --arg=--max_threads=8 (repeatable)")

	f.StringVar(&opts.CPURequest, "cpu-request", "", "CPU request, a Kubernetes quantity (500m, 1)")
	f.StringVar(&opts.CPULimit, "cpu-limit", "", "CPU limit")
	f.StringVar(&opts.MemoryRequest, "memory-request", "", "memory request (512Mi, 1Gi)")
	f.StringVar(&opts.MemoryLimit, "memory-limit", "", "memory limit")
	f.IntVar(&opts.GPU, "gpu", 0, "nvidia.com/gpu limit; 0 runs on CPU")

	f.StringVar(&opts.DeploymentMode, "deployment-mode", "", "KServe deployment mode: Knative (serverless) or Standard (raw Deployment); default: the cluster's")
	f.IntVar(&opts.MinReplicas, "min-replicas", 0, "minimum replicas; 0 allows scale to zero (Knative)")
	f.IntVar(&opts.MaxReplicas, "max-replicas", 0, "maximum replicas; 0 means no limit")
	f.StringVar(&opts.ScaleMetric, "scale-metric", "", "autoscaling metric: concurrency or rps (Knative; in Standard mode through KEDA, with --prometheus-url), cpu or memory (Standard)")
	f.IntVar(&opts.ScaleTarget, "scale-target", 0, "autoscaling target for --scale-metric (per pod)")
	f.StringVar(&opts.PrometheusURL, "prometheus-url", "", "Standard mode with --scale-metric concurrency or rps: the Prometheus `URL` KEDA queries for the server's own metrics")
	f.IntVar(&opts.CanaryTrafficPercent, "canary-traffic-percent", 0, "share of traffic (0-100) for the new revision (Knative)")
	f.StringVar(&opts.ServiceAccount, "service-account", "", "service account of the predictor pods (e.g. for storage credentials)")
	f.StringArrayVar(&opts.NodeSelector, "node-selector", nil, "node label `KEY=VALUE` the pods must match (repeatable)")
	f.StringArrayVar(&opts.Tolerations, "toleration", nil, "toleration `KEY[=VALUE][:EFFECT]`; without =VALUE any value matches (repeatable)")

	f.IntVar(&opts.ContainerConcurrency, "container-concurrency", 0, "most requests one pod is sent at once (Knative's hard limit); 0: no limit")
	f.IntVar(&opts.Timeout, "timeout", 0, "request timeout in `SECONDS` (KServe's timeout), also the server's --grace_period; 0: the platform's default")
	f.IntVar(&opts.PreStopSleep, "pre-stop-sleep", deploy.DefaultPreStopSleep, "Standard mode: `SECONDS` the server keeps serving in a preStop sleep before SIGTERM, while nodes and gateways take the stopping pod out of the endpoints (0: none)")
	f.StringVar(&opts.LoggerURL, "logger-url", "", "payload logging: send requests/responses as CloudEvents to this `URL` (KServe's logger)")
	f.StringVar(&opts.LoggerMode, "logger-mode", "", "payload logging: all (default), request or response")
	f.StringArrayVar(&opts.LoggerHeaders, "logger-header", nil, "payload logging: request header copied into the events' metadata, any case (repeatable)")
	f.BoolVar(&opts.Batcher, "batcher", false, "put KServe's request batcher in front of the server; v1 projects only, it batches v1 :predict requests (--batcher=false drops one set in "+project.FileName+")")
	f.IntVar(&opts.BatcherMaxBatchSize, "batcher-max-batch-size", 0, "batcher: most instances per batch, the v1 requests' \"instances\" together (implies --batcher)")
	f.IntVar(&opts.BatcherMaxLatency, "batcher-max-latency", 0, "batcher: `MILLISECONDS` a batch waits to fill (implies --batcher)")
	f.IntVar(&opts.BatcherTimeout, "batcher-timeout", 0, "batcher: `SECONDS` before a batch times out (implies --batcher)")
	// KServe v0.16 reads no batcher timeout: the flag stays, out of the
	// help, so a script that passes it is told so by deploy.Options.Validate.
	_ = f.MarkHidden("batcher-timeout")

	f.StringVar(&opts.Trigger, "trigger", "", "also emit a Knative Eventing Trigger that sends the `BROKER`'s matching events to :predict as CloudEvents")
	f.StringArrayVar(&opts.TriggerFilters, "trigger-filter", nil, "with --trigger: event attribute `KEY=VALUE` to match (repeatable; type=... required)")

	f.BoolVar(&opts.NoMetrics, "no-metrics", false, "leave out the Prometheus scrape annotations")
	f.BoolVar(&opts.PodMonitor, "pod-monitor", false, "also emit a Prometheus Operator PodMonitor that scrapes the model server's metrics (a Prometheus run by the operator ignores the scrape annotations)")
	f.BoolVar(&opts.Dashboard, "dashboard", false, "also emit a ConfigMap with a Grafana dashboard for kserve-gen model servers (label grafana_dashboard=1, which Grafana's dashboard sidecar loads)")
	f.DurationVar(&opts.StartupTimeout, "startup-timeout", deploy.DefaultStartupTimeout, "how long the startup probe waits for the model to load (more than 0)")

	f.BoolVar(&opts.ServingRuntime, "serving-runtime", false, "also emit a reusable ServingRuntime and an InferenceService that uses it")
	f.BoolVar(&opts.ClusterRuntime, "cluster-runtime", false, "with --serving-runtime: a cluster-wide ClusterServingRuntime")
	f.StringVar(&opts.RuntimeName, "runtime-name", "", "serving runtime name (default: --name)")
	f.StringVar(&opts.ModelFormat, "model-format", "", "model format the runtime supports (default: --name)")
	f.StringVar(&opts.ModelFormatVersion, "model-format-version", "", "model format version")

	f.StringVar(&opts.PredictorImage, "predictor-image", "", "transformer projects: image of the predictor, a container serving the same model name")
	f.StringVar(&opts.PredictorModelFormat, "predictor-model-format", "", "transformer projects: model format of a predictor served by one of KServe's runtimes (sklearn, xgboost, onnx, ...)")
	f.StringVar(&opts.PredictorModelFormatVersion, "predictor-model-format-version", "", "transformer projects: version of --predictor-model-format")
	f.StringVar(&opts.PredictorStorageURI, "predictor-storage-uri", "", "transformer projects: where the predictor's model is (s3://, gs://, pvc://, hf://, oci://, https://...)")
	f.StringVar(&opts.PredictorProtocol, "predictor-protocol", "", "transformer projects: how the transformer calls the predictor, v1, v2 or grpc-v2 (default: --protocol)")
	// Flags that take one of a few words complete them, rather than file
	// names (the shell's default).
	completeWords(cmd, "protocol", project.ProtocolV1, project.ProtocolV2)
	completeWords(cmd, "predictor-protocol", project.ProtocolV1, project.ProtocolV2, project.ProtocolGRPCV2)
	completeWords(cmd, "deployment-mode", deploy.ModeKnative, deploy.ModeStandard)
	completeWords(cmd, "scale-metric", "concurrency", "rps", "cpu", "memory")
	completeWords(cmd, "logger-mode", "all", "request", "response")
	_ = cmd.MarkFlagDirname("dir")
	return cmd
}

// keyValues adds each KEY=VALUE of values to into, and reports the ones
// that are not, naming flag (and an example, when given).
func keyValues(flag, example string, values []string, into map[string]string) []error {
	var errs []error
	if example != "" {
		example = ", e.g. " + example
	}
	for _, kv := range values {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			errs = append(errs, fmt.Errorf("%s %q: want KEY=VALUE%s", flag, kv, example))
			continue
		}
		into[k] = v
	}
	return errs
}

// deployRun builds the manifests and writes or applies them.
func deployRun(ctx context.Context, opts *deployOptions) error {
	if opts.Force && opts.Output == "" {
		return errors.New("--force applies to -o FILE only: it lets -o replace an existing file")
	}
	if opts.Output != "" && isProjectFile(opts.Output, opts.Dir) {
		// --force is for a manifest the user edited, not for the settings
		// this command reads: replacing them would leave a project whose
		// next deploy cannot read its kserve-gen.yaml.
		return fmt.Errorf("-o %s is the project file, %s, that deploy reads its settings from; write the manifests to another file, e.g. -o %s",
			opts.Output, project.FileName, filepath.Join(filepath.Dir(opts.Output), "isvc.yaml"))
	}
	o, err := opts.deployOptions()
	if err != nil {
		return err
	}
	data, err := deploy.Render(o)
	if err != nil {
		return err
	}
	// On stderr, so the YAML on stdout still pipes to kubectl.
	for _, w := range o.Warnings() {
		fmt.Fprintf(opts.ErrOut, "Warning: %s\n", w)
	}
	var kubectl string
	if opts.Apply {
		// Before -o writes its file: without kubectl the command stops
		// having done nothing, not half of what it was asked.
		if kubectl, err = exec.LookPath("kubectl"); err != nil {
			return fmt.Errorf("%w (%v)", errNoKubectl, err)
		}
	}
	if opts.Output != "" {
		if err := writeManifests(opts.Output, data, opts.Force); err != nil {
			return err
		}
	} else if !opts.Apply {
		if _, err := opts.Out.Write(data); err != nil {
			return fmt.Errorf("write manifests: %w", err)
		}
	}
	if opts.Apply {
		return kubectlApply(ctx, kubectl, data, opts.Out, opts.ErrOut)
	}
	return nil
}

// isProjectFile reports whether path names dir's kserve-gen.yaml, by
// another spelling or a link too.
func isProjectFile(path, dir string) bool {
	projectFile := filepath.Join(dir, project.FileName)
	if a, err := os.Stat(path); err == nil {
		b, err := os.Stat(projectFile)
		return err == nil && os.SameFile(a, b)
	}
	// Not there yet: deploy without a project file (--name, --image) must
	// not write one that holds manifests either.
	abs, err1 := filepath.Abs(path)
	absProject, err2 := filepath.Abs(projectFile)
	return err1 == nil && err2 == nil && abs == absProject
}

// writeManifests writes data to path atomically (a failed write leaves the
// old file whole). A file already there is replaced only with force, unless
// it holds exactly data: it may be a manifest the user edited.
func writeManifests(path string, data []byte, force bool) error {
	if isDir(path) {
		// -o . or -o the project folder: the OS says only "read .: is a
		// directory".
		return fmt.Errorf("-o %s is a folder: name the file to write, e.g. -o %s", path, filepath.Join(path, "isvc.yaml"))
	}
	old, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(old, data):
		return nil
	case err == nil && !force:
		return fmt.Errorf("%s already exists and holds something else (edits of your own?); pass --force to replace it, or -o another file", path)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("write manifests: %w", err)
	}
	if err := replaceFile(path, data); err != nil {
		// The path in renameio's error is its temporary file, which the
		// user never named: say what went wrong with -o's path instead.
		var pathErr *fs.PathError
		var linkErr *os.LinkError
		switch {
		case errors.As(err, &pathErr):
			err = pathErr.Err
		case errors.As(err, &linkErr):
			err = linkErr.Err
		}
		return fmt.Errorf("-o %s: %w", path, err)
	}
	return nil
}

// errNoKubectl is returned by --apply when kubectl is missing.
var errNoKubectl = errors.New("--apply needs kubectl on PATH; install kubectl, or drop --apply and run `kserve-gen deploy | kubectl apply -f -` where kubectl is available")

// kubectlApply runs kubectl (its path) apply with manifests on stdin.
func kubectlApply(ctx context.Context, kubectl string, manifests []byte, out, errOut io.Writer) error {
	cmd := exec.CommandContext(ctx, kubectl, "apply", "-f", "-")
	cmd.Stdin = bytes.NewReader(manifests)
	cmd.Stdout = out
	cmd.Stderr = errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl apply: %w", err)
	}
	return nil
}

// deployOptions merges the project file (when present) and the flags.
func (opts *deployOptions) deployOptions() (deploy.Options, error) {
	changed := opts.Changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	var o deploy.Options
	f, err := project.LoadForDeploy(opts.Dir)
	switch {
	case err == nil:
		o = deploy.FromProject(f)
		if i := slices.IndexFunc(predictorFlags, changed); i >= 0 && o.Predictor == nil {
			return o, fmt.Errorf("--%s is for transformer projects, which run in front of a predictor; this project's template is %s", predictorFlags[i], f.Template)
		}
	case errors.Is(err, fs.ErrNotExist) && changed("dir") && !isDir(opts.Dir):
		// A mistyped --dir must not fall back to flags alone: the
		// project's protocol, gRPC and resources would be lost.
		return o, fmt.Errorf("--dir %s: no such directory", opts.Dir)
	case errors.Is(err, fs.ErrNotExist) && changed("name"):
		// No project file: everything comes from flags.
		o = deploy.Options{Protocol: project.ProtocolV1, HTTPPort: deploy.DefaultHTTPPort, GRPCPort: deploy.DefaultGRPCPort, Metrics: true}
	case errors.Is(err, fs.ErrNotExist):
		give := "give at least --name and --image"
		if changed("image") {
			give = "give --name too (with --name and --image, deploy needs no project)"
		}
		return o, fmt.Errorf("no %s in %s: run `kserve-gen new` first, pass --dir, or %s", project.FileName, dirName(opts.Dir), give)
	default:
		return o, err
	}

	var errs []error
	str := func(flag string, dst *string, v string) {
		if changed(flag) {
			*dst = v
		}
	}
	num := func(flag string, dst *int, v int) {
		if changed(flag) {
			*dst = v
		}
	}
	str("name", &o.Name, opts.Name)
	str("namespace", &o.Namespace, opts.Namespace)
	str("image", &o.Image, opts.Image)
	str("protocol", &o.Protocol, opts.Protocol)
	if changed("grpc") {
		o.GRPC = opts.GRPC
	}
	num("http-port", &o.HTTPPort, opts.HTTPPort)
	num("grpc-port", &o.GRPCPort, opts.GRPCPort)
	if changed("workers") && opts.Workers == 0 {
		// deploy.Options reads 0 as the default, 1; a 0 asked for is a mistake.
		errs = append(errs, errors.New("--workers: must be 1 or more, got 0"))
	}
	num("workers", &o.Workers, opts.Workers)
	num("max-queued-requests", &o.MaxQueuedRequests, opts.MaxQueuedRequests)
	str("storage-uri", &o.StorageURI, opts.StorageURI)
	str("log-level", &o.LogLevel, opts.LogLevel)
	str("cpu-request", &o.Resources.Requests.CPU, opts.CPURequest)
	str("cpu-limit", &o.Resources.Limits.CPU, opts.CPULimit)
	str("memory-request", &o.Resources.Requests.Memory, opts.MemoryRequest)
	str("memory-limit", &o.Resources.Limits.Memory, opts.MemoryLimit)
	num("gpu", &o.GPU, opts.GPU)
	str("deployment-mode", &o.DeploymentMode, opts.DeploymentMode)
	if changed("min-replicas") {
		v := opts.MinReplicas
		o.MinReplicas = &v
	}
	num("max-replicas", &o.MaxReplicas, opts.MaxReplicas)
	str("scale-metric", &o.ScaleMetric, opts.ScaleMetric)
	num("scale-target", &o.ScaleTarget, opts.ScaleTarget)
	str("prometheus-url", &o.PrometheusURL, opts.PrometheusURL)
	if changed("canary-traffic-percent") {
		v := opts.CanaryTrafficPercent
		o.CanaryTrafficPercent = &v
	}
	str("service-account", &o.ServiceAccountName, opts.ServiceAccount)
	num("container-concurrency", &o.ContainerConcurrency, opts.ContainerConcurrency)
	num("timeout", &o.Timeout, opts.Timeout)
	if changed("pre-stop-sleep") {
		v := opts.PreStopSleep
		o.PreStopSleep = &v
	}
	if changed("logger-url") || changed("logger-mode") || changed("logger-header") {
		if o.Logger == nil {
			o.Logger = &project.Logger{}
		}
		str("logger-url", &o.Logger.URL, opts.LoggerURL)
		str("logger-mode", &o.Logger.Mode, opts.LoggerMode)
		if changed("logger-header") {
			o.Logger.MetadataHeaders = opts.LoggerHeaders
		}
	}
	if changed("trigger") || changed("trigger-filter") {
		if changed("trigger") {
			if o.Trigger == nil {
				o.Trigger = &project.Trigger{}
			}
			o.Trigger.Broker = opts.Trigger
		}
		switch {
		case o.Trigger == nil:
			errs = append(errs, errors.New("--trigger-filter needs --trigger BROKER"))
		case changed("trigger-filter"):
			o.Trigger.Filter = map[string]string{}
			errs = append(errs, keyValues("--trigger-filter", "type=com.example.image", opts.TriggerFilters, o.Trigger.Filter)...)
		}
	}
	batcherKnob := changed("batcher-max-batch-size") || changed("batcher-max-latency") || changed("batcher-timeout")
	switch {
	case changed("batcher") && !opts.Batcher:
		if batcherKnob {
			errs = append(errs, errors.New("--batcher=false with --batcher-* settings: give one"))
		}
		o.Batcher = nil
	case opts.Batcher || batcherKnob:
		if o.Batcher == nil {
			o.Batcher = &project.Batcher{}
		}
		num("batcher-max-batch-size", &o.Batcher.MaxBatchSize, opts.BatcherMaxBatchSize)
		num("batcher-max-latency", &o.Batcher.MaxLatency, opts.BatcherMaxLatency)
		num("batcher-timeout", &o.Batcher.Timeout, opts.BatcherTimeout)
	}
	if changed("no-metrics") {
		o.Metrics = !opts.NoMetrics
	}
	o.Dashboard = opts.Dashboard
	o.PodMonitor = opts.PodMonitor
	if changed("startup-timeout") {
		if opts.StartupTimeout == 0 {
			// deploy.Options reads 0 as the default; a 0 asked for is a mistake.
			errs = append(errs, fmt.Errorf("--startup-timeout: must be more than 0 (default %s), got 0s", deploy.DefaultStartupTimeout))
		}
		o.StartupTimeout = opts.StartupTimeout
	}
	o.Args = append(o.Args, opts.Args...)

	for _, p := range opts.Ports {
		port, err := parsePort(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		o.Ports = append(o.Ports, port)
	}
	for _, kv := range opts.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("--env %q: want KEY=VALUE", kv))
			continue
		}
		// A flag overrides the project file's variable of the same name
		// (and an earlier --env), in its place.
		if i := slices.IndexFunc(o.Env, func(e project.EnvVar) bool { return e.Name == k }); i >= 0 {
			o.Env[i].Value = v
			continue
		}
		o.Env = append(o.Env, project.EnvVar{Name: k, Value: v})
	}
	if len(opts.NodeSelector) > 0 {
		if o.NodeSelector == nil {
			o.NodeSelector = map[string]string{}
		}
		errs = append(errs, keyValues("--node-selector", "", opts.NodeSelector, o.NodeSelector)...)
		for _, kv := range opts.NodeSelector {
			k, _, _ := strings.Cut(kv, "=")
			delete(o.FileFields, "node-selector "+k) // the flag's value now
		}
	}
	for _, s := range opts.Tolerations {
		o.Tolerations = append(o.Tolerations, parseToleration(s))
	}
	if o.Predictor == nil && slices.ContainsFunc(predictorFlags, changed) {
		// No project file: the predictor flags make the image a transformer.
		o.Predictor = &project.Predictor{}
	}
	if p := o.Predictor; p != nil {
		str("predictor-image", &p.Image, opts.PredictorImage)
		str("predictor-model-format", &p.ModelFormat, opts.PredictorModelFormat)
		str("predictor-model-format-version", &p.ModelFormatVersion, opts.PredictorModelFormatVersion)
		str("predictor-storage-uri", &p.StorageURI, opts.PredictorStorageURI)
		str("predictor-protocol", &p.Protocol, opts.PredictorProtocol)
	}
	// A setting a flag gave is the flag's now: its errors name the flag,
	// not the project file's field (FileFields' keys are flag names).
	for flag := range o.FileFields {
		if changed(flag) {
			delete(o.FileFields, flag)
		}
	}
	if opts.ServingRuntime {
		o.Runtime = &deploy.RuntimeOptions{
			Cluster:            opts.ClusterRuntime,
			Name:               opts.RuntimeName,
			ModelFormat:        opts.ModelFormat,
			ModelFormatVersion: opts.ModelFormatVersion,
		}
	} else {
		for _, flag := range []string{"cluster-runtime", "runtime-name", "model-format", "model-format-version"} {
			if changed(flag) {
				errs = append(errs, fmt.Errorf("--%s needs --serving-runtime", flag))
			}
		}
	}
	return o, errors.Join(errs...)
}

// predictorFlags describe a transformer project's predictor.
var predictorFlags = []string{"predictor-image", "predictor-model-format", "predictor-model-format-version", "predictor-storage-uri", "predictor-protocol"}

func isDir(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}

func dirName(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// parsePort reads NAME=PORT.
func parsePort(s string) (deploy.Port, error) {
	name, num, ok := strings.Cut(s, "=")
	port, err := strconv.Atoi(num)
	if !ok || err != nil {
		return deploy.Port{}, fmt.Errorf("--port %q: want NAME=PORT, e.g. h2c=8081", s)
	}
	return deploy.Port{Name: name, ContainerPort: port}, nil
}

// parseToleration reads KEY[=VALUE][:EFFECT], the taint syntax of
// `kubectl taint`: with a value the operator is Equal, without one Exists.
// Operator and effect are checked by deploy.Options.Validate.
func parseToleration(s string) project.Toleration {
	var t project.Toleration
	rest, effect, _ := strings.Cut(s, ":")
	t.Effect = effect
	key, value, hasValue := strings.Cut(rest, "=")
	t.Key = key
	if hasValue {
		t.Operator, t.Value = "Equal", value
	} else {
		t.Operator = "Exists"
	}
	return t
}
