package deploy

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/kserve-gen/kserve-gen/project"
)

// validOptions are valid options whose settings the tests change as flags
// do: no error names the project file's fields.
func validOptions() Options {
	o := goldenCases()["rest"]
	o.FileFields = nil
	return o
}

// Each invalid setting or combination gets exactly one error that names the
// flag and says what would be valid.
func TestValidate_OneClearErrorEach(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Options)
		want   string
	}{
		{"bad name", func(o *Options) { o.Name = "Custom_Model" }, `--name: "Custom_Model" is not a DNS-1123 label`},
		{"name starting with digit", func(o *Options) { o.Name = "1model" }, `--name: "1model" must start with a lower-case letter`},
		{"bad namespace", func(o *Options) { o.Namespace = "my ns" }, `--namespace: "my ns" is not a DNS-1123 label`},
		{"no image", func(o *Options) { o.Image = "" }, `image is required: build and push one (the project README's "Build the image" shows how), then pass --image or set image in kserve-gen.yaml`},
		{"image with space", func(o *Options) { o.Image = "a b" }, `--image: "a b" is not an image reference like registry.example.com/team/model:v1: could not parse reference: a b`},
		{"image with upper case", func(o *Options) { o.Image = "Docker.io/Me/Model" }, `--image: "Docker.io/Me/Model" is not an image reference`},
		{"bad protocol", func(o *Options) { o.Protocol = "V2" }, `--protocol: "V2" is not a protocol; choose v1 or v2`},
		{"grpc with v1", func(o *Options) { o.GRPC = true }, "--grpc: the gRPC endpoint speaks the Open Inference Protocol, so it needs --protocol=v2"},
		// A grpc project (grpc: true in the file) deployed with --protocol v1:
		// the user passed no --grpc.
		{"grpc from the file with --protocol v1", func(o *Options) {
			o.GRPC, o.FileFields = true, map[string]string{"grpc": "grpc"}
		}, "kserve-gen.yaml grpc: the gRPC endpoint speaks the Open Inference Protocol, so it needs --protocol=v2"},
		{"--grpc with the file's protocol v1", func(o *Options) {
			o.GRPC, o.FileFields = true, map[string]string{"protocol": "protocol"}
		}, "--grpc: the gRPC endpoint speaks the Open Inference Protocol, so it needs --protocol=v2 (kserve-gen.yaml protocol is v1)"},
		{"grpc plus two ports", func(o *Options) {
			o.Protocol, o.GRPC = project.ProtocolV2, true
			o.Ports = []Port{{PortNameHTTP1, 8080}, {PortNameH2C, 8081}}
		}, "--port: Knative exposes exactly one container port, got 2 (http1=8080, h2c=8081): with --grpc only the h2c port is exposed; REST keeps running inside the pod for probes and metrics (KServe's Standard mode, --deployment-mode Standard, exposes both)"},
		{"grpc plus two ports in Knative mode", func(o *Options) {
			o.Protocol, o.GRPC, o.DeploymentMode = project.ProtocolV2, true, ModeKnative
			o.Ports = []Port{{PortNameH2C, 8081}, {PortNameHTTP1, 8080}}
		}, "--port: Knative exposes exactly one container port, got 2 (h2c=8081, http1=8080): with --grpc only the h2c port is exposed; REST keeps running inside the pod for probes and metrics (KServe's Standard mode, --deployment-mode Standard, exposes both)"},
		// Standard mode exposes every port (KServe's createDefaultSvc), each
		// port of the server's once.
		{"standard port twice", func(o *Options) {
			o.Protocol, o.GRPC, o.DeploymentMode = project.ProtocolV2, true, ModeStandard
			o.Ports = []Port{{PortNameH2C, 8081}, {PortNameH2C, 8081}}
		}, "--port: h2c is given twice (h2c=8081, h2c=8081); Standard mode exposes each of http1 (REST) and h2c (gRPC) once at most"},
		{"standard h2c without grpc", func(o *Options) {
			o.DeploymentMode = ModeStandard
			o.Ports = []Port{{PortNameHTTP1, 8080}, {PortNameH2C, 8081}}
		}, "--port h2c=8081: the server listens for gRPC only with --grpc (and --protocol v2)"},
		{"standard second port not the rest port", func(o *Options) {
			o.Protocol, o.GRPC, o.DeploymentMode = project.ProtocolV2, true, ModeStandard
			o.Ports = []Port{{PortNameH2C, 8081}, {PortNameHTTP1, 9000}}
		}, "--port http1=9000: the REST port is --http-port 8080"},
		{"standard first port not the grpc port", func(o *Options) {
			o.Protocol, o.GRPC, o.DeploymentMode = project.ProtocolV2, true, ModeStandard
			o.Ports = []Port{{PortNameH2C, 9001}, {PortNameHTTP1, 8080}}
		}, "--port h2c=9001: the gRPC port is --grpc-port 8081"},
		{"standard bad name among two", func(o *Options) {
			o.Protocol, o.GRPC, o.DeploymentMode = project.ProtocolV2, true, ModeStandard
			o.Ports = []Port{{PortNameH2C, 8081}, {"grpc", 8080}}
		}, `--port: name "grpc" is not allowed; in Standard mode a port is http1 (REST, HTTP/1.1, on --http-port) or h2c (gRPC, HTTP/2 cleartext, on --grpc-port)`},
		// KServe's Service gives the first port number 80 and every other its
		// own: a second port 80 would be there twice.
		{"standard second port 80", func(o *Options) {
			o.Protocol, o.GRPC, o.DeploymentMode, o.HTTPPort = project.ProtocolV2, true, ModeStandard, 80
			o.Ports = []Port{{PortNameH2C, 8081}, {PortNameHTTP1, 80}}
		}, "--port http1=80: KServe's Service exposes the first port (h2c=8081) as its port 80 and each further port at its own number, so 80 would be there twice; list http1=80 first, or choose another --http-port"},
		{"standard grpc with rest on 80", func(o *Options) {
			o.Protocol, o.GRPC, o.DeploymentMode, o.HTTPPort = project.ProtocolV2, true, ModeStandard, 80
		}, "--http-port 80: in Standard mode with --grpc, KServe's Service exposes the gRPC port (h2c=8081) as its port 80 and the REST port at its own number, 80 as well; choose another --http-port, or pass --port http1=80 --port h2c=8081 (REST behind the URL) or --port h2c=8081 (gRPC alone)"},
		{"rest plus two ports", func(o *Options) {
			o.Ports = []Port{{PortNameHTTP1, 8080}, {PortNameHTTP1, 9000}}
		}, "--port: Knative exposes exactly one container port, got 2 (http1=8080, http1=9000): expose the REST port (http1) or, with --grpc, the gRPC port (h2c)"},
		{"grpc exposing http1", func(o *Options) {
			o.Protocol, o.GRPC = project.ProtocolV2, true
			o.Ports = []Port{{PortNameHTTP1, 8080}}
		}, "--port: with --grpc the exposed port must be h2c=8081 (the gRPC port), got http1=8080"},
		{"rest exposing h2c", func(o *Options) { o.Ports = []Port{{PortNameH2C, 8080}} }, "--port: without --grpc the exposed port must be http1=8080 (the REST port), got h2c=8080"},
		{"bad port name", func(o *Options) { o.Ports = []Port{{"grpc", 8080}} }, `--port: name "grpc" is not allowed; Knative accepts http1 (HTTP/1.1) or h2c (HTTP/2 cleartext, gRPC)`},
		{"port out of range", func(o *Options) { o.HTTPPort = 70000 }, "--http-port: 70000 is not a port (1-65535)"},
		{"reserved port", func(o *Options) { o.HTTPPort = 8012 }, "--http-port: 8012 is reserved by Knative's queue-proxy; reserved ports are [8012 8013 8022 8112 9090 9091]"},
		{"same grpc and http port", func(o *Options) {
			o.Protocol, o.GRPC = project.ProtocolV2, true
			o.GRPCPort = 8080
		}, "--grpc-port: 8080 is also the HTTP port; REST and gRPC need their own ports"},
		{"negative gpu", func(o *Options) { o.GPU = -1 }, "--gpu: must be 0 (CPU only) or more, got -1"},
		{"negative workers", func(o *Options) { o.Workers = -3 }, "--workers: must be 1 or more, got -3"},
		{"bad quantity", func(o *Options) { o.Resources.Requests.Memory = "lots" }, `--memory-request: "lots" is not a Kubernetes quantity`},
		{"request above limit", func(o *Options) { o.Resources.Requests.CPU = "3" }, "--cpu-request 3 is more than --cpu-limit 2"},
		{"env without name", func(o *Options) { o.Env = []project.EnvVar{{Value: "x"}} }, "--env #1: name must not be empty"},
		{"env name not a name", func(o *Options) { o.Env = []project.EnvVar{{Name: "1BAD", Value: "x"}} }, `--env: "1BAD" is not an environment variable name: a variable name is letters, digits, '_', '-' and '.', not starting with a digit or '..', and not '.'`},
		// The server refuses to start on a KSERVE_LOGLEVEL it does not know
		// (runtime/config's ParseLogLevel): a CrashLoopBackOff after apply.
		{"unknown log level", func(o *Options) { o.LogLevel = "trace" }, `--log-level: "trace" is not a log level the model server knows (KSERVE_LOGLEVEL; it would exit at start); choose CRITICAL, FATAL, ERROR, WARN, WARNING, INFO, DEBUG or NOTSET`},
		{"unknown log level from the file", func(o *Options) {
			o.LogLevel, o.FileFields = "verbose", map[string]string{"log-level": "deploy.logLevel"}
		}, `kserve-gen.yaml deploy.logLevel: "verbose" is not a log level the model server knows`},
		{"env overriding protocol", func(o *Options) { o.Env = []project.EnvVar{{Name: "PROTOCOL", Value: "v2"}} }, "--env PROTOCOL: set by kserve-gen itself; use --storage-uri, --protocol or --log-level"},
		{"min above max", func(o *Options) { o.MinReplicas, o.MaxReplicas = intp(5), 2 }, "--min-replicas 5 is more than --max-replicas 2"},
		{"negative min", func(o *Options) { o.MinReplicas = intp(-1) }, "--min-replicas: must be 0 or more, got -1"},
		{"negative max", func(o *Options) { o.MaxReplicas = -1 }, "--max-replicas: must be 0 (no limit) or more, got -1"},
		{"scale to zero in standard", func(o *Options) { o.DeploymentMode, o.MinReplicas = ModeStandard, intp(0) }, "--min-replicas 0 (scale to zero) needs Knative; --deployment-mode=Standard scales with an HPA, which needs at least 1"},
		{"bad mode", func(o *Options) { o.DeploymentMode = "Kubernetes" }, `--deployment-mode: "Kubernetes" is not one of Knative, Standard`},
		// KServe v0.16 still takes its earlier names (constants.LegacyServerless,
		// LegacyRawDeployment) and many guides use them: the error says which
		// name to write instead, and so it does for a name in another case.
		{"legacy serverless mode", func(o *Options) { o.DeploymentMode = "Serverless" },
			`--deployment-mode: "Serverless" is not one of Knative, Standard (Serverless is KServe's deprecated name for Knative: use Knative)`},
		{"legacy raw mode from the file", func(o *Options) {
			o.DeploymentMode, o.FileFields = "RawDeployment", map[string]string{"deployment-mode": "deploy.deploymentMode"}
		}, `kserve-gen.yaml deploy.deploymentMode: "RawDeployment" is not one of Knative, Standard (RawDeployment is KServe's deprecated name for Standard: use Standard)`},
		{"legacy mode in lower case", func(o *Options) { o.DeploymentMode = "serverless" },
			`--deployment-mode: "serverless" is not one of Knative, Standard (Serverless is KServe's deprecated name for Knative: use Knative)`},
		{"mode in lower case", func(o *Options) { o.DeploymentMode = "standard" },
			`--deployment-mode: "standard" is not one of Knative, Standard (the names are case-sensitive: use Standard)`},
		{"cpu metric on knative", func(o *Options) { o.ScaleMetric = "cpu" }, `--scale-metric: "cpu" is not supported in deployment mode default (validated as Knative); choose concurrency or rps`},
		{"standard metric on knative", func(o *Options) { o.DeploymentMode, o.ScaleMetric = ModeKnative, "memory" }, `--scale-metric: "memory" is not supported in deployment mode Knative; choose concurrency or rps`},
		{"keda without prometheus", func(o *Options) {
			o.DeploymentMode, o.ScaleMetric, o.ScaleTarget, o.Namespace = ModeStandard, "rps", 50, "models"
		}, "--scale-metric rps in deployment mode Standard scales with KEDA on the model server's own metrics: give --prometheus-url"},
		{"keda with a bad prometheus url", func(o *Options) {
			o.DeploymentMode, o.ScaleMetric, o.ScaleTarget, o.Namespace, o.PrometheusURL = ModeStandard, "rps", 50, "models", "prometheus:9090"
		}, `--prometheus-url: "prometheus:9090" is not an http(s) URL`},
		{"keda without namespace", func(o *Options) {
			o.DeploymentMode, o.ScaleMetric, o.ScaleTarget, o.PrometheusURL = ModeStandard, "concurrency", 8, "http://prometheus:9090"
		}, "--scale-metric concurrency in deployment mode Standard needs --namespace"},
		{"keda without target", func(o *Options) {
			o.DeploymentMode, o.ScaleMetric, o.Namespace, o.PrometheusURL = ModeStandard, "concurrency", "models", "http://prometheus:9090"
		}, "--scale-metric concurrency in deployment mode Standard needs --scale-target: the requests in flight per pod KEDA scales to"},
		{"transformer name too long", func(o *Options) {
			o.Name, o.Predictor = strings.Repeat("t", 52), &project.Predictor{Image: "p"}
		}, `--name: "` + strings.Repeat("t", 52) + `" is 52 characters long; a transformer's name is at most 51 because KServe names the transformer "` + strings.Repeat("t", 52) + `-transformer" and that must fit a 63-character DNS label`},
		{"agent port with a logger", func(o *Options) {
			o.HTTPPort, o.Logger = 9081, &project.Logger{URL: "http://message-dumper.default"}
		}, "--http-port: 9081 is where KServe's agent, which --logger-url and --batcher add to the pod, listens; choose another port"},
		{"agent port with a batcher", func(o *Options) {
			o.Protocol, o.GRPC, o.GRPCPort, o.Logger = project.ProtocolV2, true, 9081, &project.Logger{URL: "http://message-dumper.default"}
		}, "--grpc-port: 9081 is where KServe's agent, which --logger-url and --batcher add to the pod, listens; choose another port"},
		// KServe's Standard mode labels the pods app=isvc.<name>-predictor
		// (-transformer): a 63-character label value.
		{"standard name too long", func(o *Options) {
			o.Name, o.DeploymentMode = "m"+strings.Repeat("x", 48), ModeStandard
		}, `--name: "m` + strings.Repeat("x", 48) + `" is 49 characters long; in Standard mode at most 48 are allowed because KServe labels the pods app=isvc.m` + strings.Repeat("x", 48) + `-predictor and a label value is at most 63 characters`},
		{"standard transformer name too long", func(o *Options) {
			o.Name, o.DeploymentMode, o.Predictor = "t"+strings.Repeat("x", 46), ModeStandard, &project.Predictor{Image: "p"}
		}, `--name: "t` + strings.Repeat("x", 46) + `" is 47 characters long; in Standard mode at most 46 are allowed because KServe labels the pods app=isvc.t` + strings.Repeat("x", 46) + `-transformer and a label value is at most 63 characters`},
		{"keda for a transformer", func(o *Options) {
			o.DeploymentMode, o.ScaleMetric, o.ScaleTarget, o.Namespace, o.PrometheusURL = ModeStandard, "concurrency", 8, "models", "http://prometheus:9090"
			o.Predictor = &project.Predictor{Image: "p"}
		}, "--scale-metric concurrency in deployment mode Standard: transformer projects cannot scale on the server's metrics"},
		{"negative queue bound", func(o *Options) { o.MaxQueuedRequests = -1 }, "--max-queued-requests: must be 0 (no bound) or more, got -1"},
		{"prometheus url without keda", func(o *Options) { o.PrometheusURL = "http://prometheus:9090" }, "--prometheus-url is for --scale-metric concurrency or rps with --deployment-mode Standard (KEDA)"},
		{"pod monitor without metrics", func(o *Options) { o.PodMonitor, o.Metrics = true, false }, "--pod-monitor scrapes the metrics --no-metrics turns off (in Knative mode, the port the annotations have KServe add to queue-proxy); drop one of them"},
		{"target without metric", func(o *Options) { o.ScaleTarget = 10 }, "--scale-target needs --scale-metric"},
		{"negative target", func(o *Options) { o.ScaleMetric, o.ScaleTarget = "rps", -1 }, "--scale-target: must be 1 or more, got -1"},
		{"cpu target above 100", func(o *Options) { o.DeploymentMode, o.ScaleMetric, o.ScaleTarget = ModeStandard, "cpu", 150 }, "--scale-target: cpu is a utilization percentage, 1-100, got 150"},
		{"canary above 100", func(o *Options) { o.CanaryTrafficPercent = intp(101) }, "--canary-traffic-percent: must be between 0 and 100, got 101"},
		{"canary below 0", func(o *Options) { o.CanaryTrafficPercent = intp(-5) }, "--canary-traffic-percent: must be between 0 and 100, got -5"},
		{"canary in standard", func(o *Options) { o.DeploymentMode, o.CanaryTrafficPercent = ModeStandard, intp(10) }, "--canary-traffic-percent needs Knative; --deployment-mode=Standard has no traffic splitting"},
		{"negative container concurrency", func(o *Options) { o.ContainerConcurrency = -1 }, "--container-concurrency: must be 0 (no limit) or more, got -1"},
		{"container concurrency in standard", func(o *Options) { o.DeploymentMode, o.ContainerConcurrency = ModeStandard, 4 }, "--container-concurrency needs Knative (its queue-proxy enforces it); --deployment-mode=Standard has none"},
		{"negative timeout", func(o *Options) { o.Timeout = -1 }, "--timeout: must be 1 second or more, got -1"},
		{"bad logger mode", func(o *Options) { o.Logger = &project.Logger{Mode: "both"} }, `--logger-mode: "both" is not one of all, request, response`},
		{"bad logger url", func(o *Options) { o.Logger = &project.Logger{URL: "message-dumper:8080"} }, `--logger-url: "message-dumper:8080" is not an http(s) URL like http://message-dumper.default.svc.cluster.local`},
		{"bad logger header", func(o *Options) { o.Logger = &project.Logger{MetadataHeaders: []string{"X Request"}} }, `--logger-header: "X Request" is not an HTTP header name`},
		{"negative batch size", func(o *Options) { o.Batcher = &project.Batcher{MaxBatchSize: -1} }, "--batcher-max-batch-size: must be 1 or more, got -1"},
		{"negative batch latency", func(o *Options) { o.Batcher = &project.Batcher{MaxLatency: -1} }, "--batcher-max-latency: must be 1 millisecond or more, got -1"},
		// KServe's batcher (pkg/batcher) batches only paths ending in
		// :predict and passes every other request through as it is.
		{"batcher on v2", func(o *Options) {
			o.Protocol, o.Batcher = project.ProtocolV2, &project.Batcher{MaxBatchSize: 8}
		}, `--batcher: KServe's batcher batches only v1 :predict requests ({"instances": [...]}) and passes the others through unbatched, and this server speaks v2; batch inside the server instead (runtime/batch; an onnx project takes --arg=--max_batch_size=N)`},
		{"batcher with grpc", func(o *Options) {
			o.Protocol, o.GRPC, o.Batcher = project.ProtocolV2, true, &project.Batcher{}
		}, `--batcher: KServe's batcher batches only v1 :predict requests ({"instances": [...]}) and passes the others through unbatched, and this server speaks v2 and gRPC; batch inside the server instead`},
		// KServe v0.16 has the field but reads it nowhere: its agent's
		// batcher takes only a batch size and a latency.
		{"batch timeout", func(o *Options) { o.Batcher = &project.Batcher{Timeout: 5} }, "--batcher-timeout: KServe passes no timeout to its batcher (v0.16 reads the field nowhere), so 5 would change nothing; a batch goes to the model once it holds --batcher-max-batch-size instances, or --batcher-max-latency after its first request"},
		{"negative batch timeout", func(o *Options) { o.Batcher = &project.Batcher{Timeout: -1} }, "--batcher-timeout: KServe passes no timeout to its batcher"},
		{"trigger without broker", func(o *Options) { o.Trigger = &project.Trigger{Filter: map[string]string{"type": "t"}} }, "--trigger: the broker's name is required"},
		{"trigger with a bad broker", func(o *Options) {
			o.Trigger = &project.Trigger{Broker: "My_Broker", Filter: map[string]string{"type": "t"}}
		}, `--trigger: broker "My_Broker" is not a Kubernetes name`},
		{"trigger without type", func(o *Options) {
			o.Trigger = &project.Trigger{Broker: "default", Filter: map[string]string{"source": "s"}}
		},
			"--trigger needs --trigger-filter type=<the type of the events to predict on>: the server answers with events of type io.kserve.inference.response"},
		{"trigger on the answers' type", func(o *Options) {
			o.Env = []project.EnvVar{{Name: "CE_TYPE", Value: "my.answer"}}
			o.Trigger = &project.Trigger{Broker: "default", Filter: map[string]string{"type": "my.answer"}}
		}, "--trigger-filter type=my.answer is the type of the server's own answers (CE_TYPE), so each answer would be delivered to it again"},
		{"trigger with a bad attribute", func(o *Options) {
			o.Trigger = &project.Trigger{Broker: "default", Filter: map[string]string{"type": "t", "Source": "s"}}
		},
			"--trigger-filter Source: not a CloudEvents attribute name (lower-case letters and digits)"},
		{"trigger on v2", func(o *Options) {
			o.Protocol = project.ProtocolV2
			o.Trigger = &project.Trigger{Broker: "default", Filter: map[string]string{"type": "t"}}
		}, "--trigger: KServe takes CloudEvents on the v1 endpoint (:predict), and this server speaks v2; deploy a v1 project"},
		// KServe's batcher re-sends only the events' "instances", without
		// their ce-* headers, and answers plain JSON: no answer events.
		{"trigger with a batcher", func(o *Options) {
			o.Batcher = &project.Batcher{MaxBatchSize: 8}
			o.Trigger = &project.Trigger{Broker: "default", Filter: map[string]string{"type": "t"}}
		}, `--trigger with --batcher: KServe's batcher passes on only the events' "instances", without their CloudEvent attributes, and answers plain JSON, so the server would answer no event and the broker would get none back; drop --batcher (a server can batch inside: runtime/batch)`},
		{"bad toleration operator", func(o *Options) { o.Tolerations = []project.Toleration{{Key: "k", Operator: "In"}} }, `--toleration "k": operator "In" is not Exists or Equal`},
		{"bad toleration effect", func(o *Options) { o.Tolerations = []project.Toleration{{Key: "k", Effect: "Never"}} }, `--toleration "k:Never": effect "Never" is not NoSchedule, PreferNoSchedule or NoExecute`},
		{"exists with value", func(o *Options) { o.Tolerations = []project.Toleration{{Key: "k", Operator: "Exists", Value: "v"}} }, `--toleration "k": operator Exists takes no value, got "v"`},
		{"empty key without exists", func(o *Options) { o.Tolerations = []project.Toleration{{Operator: "Equal", Value: "v"}} }, `--toleration "=v": an empty key needs operator Exists`},
		// The API server checks these in the pod spec; Knative and KServe
		// pass them through, so a bad one surfaced only in the ksvc's status.
		{"bad service account", func(o *Options) { o.ServiceAccountName = "Models Reader" }, `--service-account: "Models Reader" is not a Kubernetes name (try "models-reader"): a service account's name is lower-case letters`},
		{"bad node selector key", func(o *Options) { o.NodeSelector = map[string]string{"gpu type": "t4"} }, `--node-selector: "gpu type" is not a label key (try "gpu-type"): a label key is letters`},
		{"bad node selector value", func(o *Options) { o.NodeSelector = map[string]string{"gpu": "tesla t4"} }, `--node-selector gpu: "tesla t4" is not a label value (try "tesla-t4"): a label value is letters`},
		{"bad toleration key", func(o *Options) { o.Tolerations = []project.Toleration{{Key: "gpu type", Operator: "Exists"}} }, `--toleration "gpu type": key "gpu type" is not a label key (try "gpu-type"): a label key is letters`},
		{"bad toleration value", func(o *Options) {
			o.Tolerations = []project.Toleration{{Key: "gpu", Operator: "Equal", Value: "tesla t4"}}
		}, `--toleration "gpu=tesla t4": value "tesla t4" is not a label value (try "tesla-t4"): a label value is letters`},
		// The probes, the exposed port and the scrape annotations follow
		// kserve-gen's own --model_name and --http_port: an --arg appended
		// after them won, and the pod never became ready.
		{"arg renaming the model", func(o *Options) { o.Args = []string{"--model_name=other"} }, "--arg --model_name=other: kserve-gen sets --model_name from --name, which the probes' path uses; pass --name instead"},
		{"arg moving the http port", func(o *Options) { o.Args = []string{"--workers=2", "-http_port", "9000"} }, "--arg -http_port: kserve-gen sets --http_port from --http-port, which the probes, the exposed port and the metrics annotations use; pass --http-port instead"},
		{"arg moving the grpc port", func(o *Options) {
			o.Protocol, o.GRPC, o.Args = project.ProtocolV2, true, []string{"--grpc_port=9001"}
		}, "--arg --grpc_port=9001: kserve-gen sets --grpc_port from --grpc-port, which the exposed h2c port uses; pass --grpc-port instead"},
		{"arg turning grpc off", func(o *Options) {
			o.Protocol, o.GRPC, o.Args = project.ProtocolV2, true, []string{"--enable_grpc=false"}
		}, "--arg --enable_grpc=false: kserve-gen sets --enable_grpc from --grpc, which the exposed h2c port needs; drop --grpc instead"},
		// The server reads a unique prefix of a flag as the flag (argparse's
		// allow_abbrev, runtime/config): --http=9000 moved the port past
		// the check of --http_port's full name.
		{"arg moving the http port abbreviated", func(o *Options) { o.Args = []string{"--http=9000"} }, "--arg --http=9000: the server reads --http as --http_port (a unique prefix of it, as KServe's argparse does), and kserve-gen sets --http_port from --http-port, which the probes, the exposed port and the metrics annotations use; pass --http-port instead"},
		{"arg renaming the model abbreviated", func(o *Options) { o.Args = []string{"--model_n", "other"} }, "--arg --model_n: the server reads --model_n as --model_name (a unique prefix of it, as KServe's argparse does), and kserve-gen sets --model_name from --name"},
		{"arg turning grpc off abbreviated", func(o *Options) {
			o.Protocol, o.GRPC, o.Args = project.ProtocolV2, true, []string{"--enable_g=false"}
		}, "--arg --enable_g=false: the server reads --enable_g as --enable_grpc (a unique prefix of it, as KServe's argparse does), and kserve-gen sets --enable_grpc from --grpc"},
		// --help, or an abbreviation of it, prints the usage and exits:
		// the pod restarted for ever.
		{"arg abbreviating help", func(o *Options) { o.Args = []string{"--he"} }, "--arg --he: the server takes it for --help, prints its usage and exits instead of serving; drop it"},
		{"arg asking for help", func(o *Options) { o.Args = []string{"-h"} }, "--arg -h: the server takes it for --help, prints its usage and exits instead of serving; drop it"},
		// An empty --arg went into the container's args: the server
		// ignored it with a warning in the pod's log.
		{"empty arg", func(o *Options) { o.Args = []string{"--workers=2", ""} }, `--arg "" (#2): an empty argument, which the server ignores (with a warning); drop it, or give a flag an empty value as --arg=--NAME=`},
		// A modelcar's image is pulled by the node: a bad reference failed
		// only there (InvalidImageName), long after kubectl apply.
		{"bad modelcar image", func(o *Options) { o.StorageURI = "oci://Registry/Iris:v1" }, `--storage-uri oci://Registry/Iris:v1: "Registry/Iris:v1" is not an image reference like registry.example.com/team/model:v1: could not parse reference: Registry/Iris:v1`},
		{"bad predictor modelcar image", func(o *Options) {
			o.Predictor = &project.Predictor{ModelFormat: "sklearn", StorageURI: "oci+native://a b"}
		}, `--predictor-storage-uri oci+native://a b: "a b" is not an image reference like registry.example.com/team/model:v1`},
		{"negative startup timeout", func(o *Options) { o.StartupTimeout = -time.Second }, "--startup-timeout: must not be negative, got -1s"},
		{"startup timeout under the probe's period", func(o *Options) { o.StartupTimeout = time.Millisecond }, "--startup-timeout: must be at least 5s, the startup probe's period, got 1ms"},
		{"bad runtime name", func(o *Options) { o.Runtime = &RuntimeOptions{Name: "My.Runtime"} }, `--runtime-name: "My.Runtime" is not a DNS-1123 label`},
		{"bad model format", func(o *Options) { o.Runtime = &RuntimeOptions{ModelFormat: "a:b"} }, `--model-format: "a:b" must not contain spaces or ':'`},
		{"transformer without predictor", func(o *Options) { o.Predictor = &project.Predictor{} }, `a transformer needs the predictor it calls: --predictor-image IMAGE (a predictor container serving model "custom-model", e.g. a kserve-gen rest project's image) or --predictor-model-format FORMAT with --predictor-storage-uri URI (one of KServe's serving runtimes, e.g. sklearn)`},
		{"predictor image and format", func(o *Options) {
			o.Predictor = &project.Predictor{Image: "p", ModelFormat: "sklearn", StorageURI: "gs://b/m"}
		}, "--predictor-image and --predictor-model-format: give one; the predictor is either a container image or a model format served by a KServe runtime"},
		{"bad predictor image", func(o *Options) { o.Predictor = &project.Predictor{Image: "a b"} }, `--predictor-image: "a b" is not an image reference like registry.example.com/team/model:v1`},
		{"predictor format without storage", func(o *Options) { o.Predictor = &project.Predictor{ModelFormat: "sklearn"} }, "--predictor-model-format sklearn needs --predictor-storage-uri: the serving runtime loads the model from there"},
		// kserve-gen deploy leaves the file's deploy section to Validate
		// (project.LoadForDeploy): what the file gives is named by its field.
		{"predictor image and format from the file", func(o *Options) {
			o.Predictor = &project.Predictor{Image: "a.io/p:v1", ModelFormat: "sklearn"}
			o.FileFields = map[string]string{"predictor-image": "deploy.predictor.image", "predictor-model-format": "deploy.predictor.modelFormat"}
		}, "kserve-gen.yaml deploy.predictor.image and kserve-gen.yaml deploy.predictor.modelFormat: give one; the predictor is either a container image or a model format served by a KServe runtime"},
		{"predictor format without storage from the file", func(o *Options) {
			o.Predictor = &project.Predictor{ModelFormat: "sklearn"}
			o.FileFields = map[string]string{"predictor-model-format": "deploy.predictor.modelFormat"}
		}, "kserve-gen.yaml deploy.predictor.modelFormat sklearn needs --predictor-storage-uri (deploy.predictor.storageUri): the serving runtime loads the model from there"},
		{"env without name from the file", func(o *Options) {
			o.Env = []project.EnvVar{{Value: "x"}}
			o.FileFields = map[string]string{"env ": "deploy.env"}
		}, "kserve-gen.yaml deploy.env #1: name must not be empty"},
		{"bad predictor format", func(o *Options) { o.Predictor = &project.Predictor{ModelFormat: "sk learn", StorageURI: "gs://b/m"} }, `--predictor-model-format: "sk learn" must not contain spaces or ':'`},
		{"predictor version without format", func(o *Options) { o.Predictor = &project.Predictor{Image: "p", ModelFormatVersion: "1"} }, "--predictor-model-format-version needs --predictor-model-format"},
		{"bad predictor protocol", func(o *Options) { o.Predictor = &project.Predictor{Image: "p", Protocol: "grpc"} }, `--predictor-protocol: "grpc" is not a predictor protocol; choose v1, v2 or grpc-v2`},
		{"negative pre-stop sleep", func(o *Options) { o.DeploymentMode, o.PreStopSleep = ModeStandard, intp(-1) }, "--pre-stop-sleep: must be 0 (no delay) or more, got -1"},
		{"huge pre-stop sleep", func(o *Options) { o.DeploymentMode, o.PreStopSleep = ModeStandard, intp(math.MaxInt64) }, "--pre-stop-sleep: at most 3600 seconds (an hour), got 9223372036854775807; a few seconds cover the endpoints catching up"},
		// Knative refuses a lifecycle on the user container, and its
		// queue-proxy's own preStop hook already holds SIGTERM back.
		{"pre-stop sleep in Knative mode", func(o *Options) { o.DeploymentMode, o.PreStopSleep = ModeKnative, intp(5) },
			"--pre-stop-sleep 5: Knative refuses a lifecycle hook on the model server's container (--deployment-mode is Knative), and needs none: queue-proxy's own preStop hook keeps the server from seeing SIGTERM until queue-proxy has drained; drop it, or deploy with --deployment-mode Standard"},
		{"pre-stop sleep in the cluster's default mode", func(o *Options) { o.PreStopSleep = intp(5) },
			"--pre-stop-sleep 5 is for Standard mode, and without --deployment-mode the cluster's default mode may be Knative, which refuses a lifecycle hook on the model server's container; pass --deployment-mode Standard, or drop it"},
		{"transformer as serving runtime", func(o *Options) {
			o.Predictor, o.Runtime = &project.Predictor{Image: "p"}, &RuntimeOptions{}
		}, "--serving-runtime: a transformer project deploys as spec.transformer in front of its predictor, and serving runtimes hold predictors; run --serving-runtime in the predictor's project instead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := validOptions()
			require.NoError(t, o.Validate())
			tt.modify(&o)
			err := o.Validate()
			require.Error(t, err)
			lines := strings.Split(err.Error(), "\n")
			require.Len(t, lines, 1, "exactly one error, got:\n%s", err)
			assert.True(t, strings.HasPrefix(lines[0], tt.want), "got  %q\nwant prefix %q", lines[0], tt.want)

			_, renderErr := Render(o)
			assert.Equal(t, err.Error(), renderErr.Error(), "Render refuses what Validate rejects")
		})
	}
}

// The names and labels the API server checks in the pod spec are told in
// words, naming where the value came from, with the nearest valid value
// where there is an obvious one: apimachinery's own messages end in a
// regular expression. A name's rule gives the limit of the mode and
// component it deploys as, and a port name's the rule of the mode.
func TestValidate_RulesInWords(t *testing.T) {
	const (
		saRule     = "a service account's name is lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (each part between dots too), at most 253 characters"
		envRule    = "a variable name is letters, digits, '_', '-' and '.', not starting with a digit or '..', and not '.'"
		keyRule    = "a label key is letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63 characters, optionally after a prefix and '/' (as in nvidia.com/gpu.product), the prefix lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (each part between dots too), at most 253 characters"
		valueRule  = "a label value is letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63 characters, or empty"
		brokerRule = "a broker's name is lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (each part between dots too), at most 253 characters"
		nameRule   = "a name is lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, at most "
	)
	fromFile := func(flag, field string) func(o *Options) {
		return func(o *Options) { o.FileFields = map[string]string{flag: field} }
	}
	transformer := func(o *Options) { o.Predictor = &project.Predictor{Image: "registry.example.com/p:v1"} }
	long := strings.Repeat("a", 254)
	name50 := "Custom_Model_" + strings.Repeat("x", 37)
	name55 := "custom-model-" + strings.Repeat("x", 42)
	for _, tt := range []struct {
		name   string
		modify func(*Options)
		want   string
	}{
		{"service account with a space", func(o *Options) { o.ServiceAccountName = "Models Reader" },
			`--service-account: "Models Reader" is not a Kubernetes name (try "models-reader"): ` + saRule},
		{"service account from the file", func(o *Options) {
			o.ServiceAccountName = "Models_Reader"
			fromFile("service-account", "deploy.serviceAccountName")(o)
		}, `kserve-gen.yaml deploy.serviceAccountName: "Models_Reader" is not a Kubernetes name (try "models-reader"): ` + saRule},
		{"service account without an obvious spelling", func(o *Options) { o.ServiceAccountName = "reader@models" },
			`--service-account: "reader@models" is not a Kubernetes name: ` + saRule},
		{"service account too long", func(o *Options) { o.ServiceAccountName = long },
			`--service-account: "` + long + `" is not a Kubernetes name: it is 254 characters long; ` + saRule},
		{"env with a space", func(o *Options) { o.Env = []project.EnvVar{{Name: "MY VAR", Value: "x"}} },
			`--env: "MY VAR" is not an environment variable name (try "MY_VAR"): ` + envRule},
		{"env starting with a digit", func(o *Options) { o.Env = []project.EnvVar{{Name: "1BAD", Value: "x"}} },
			`--env: "1BAD" is not an environment variable name: ` + envRule},
		{"env from the file", func(o *Options) {
			o.Env = []project.EnvVar{{Name: "..X", Value: "x"}}
			fromFile("env ..X", "deploy.env")(o)
		}, `kserve-gen.yaml deploy.env: "..X" is not an environment variable name: ` + envRule},
		{"node selector key with a space", func(o *Options) { o.NodeSelector = map[string]string{"gpu type": "t4"} },
			`--node-selector: "gpu type" is not a label key (try "gpu-type"): ` + keyRule},
		{"node selector key with an upper-case prefix", func(o *Options) { o.NodeSelector = map[string]string{"NVIDIA.com/gpu.product": "t4"} },
			`--node-selector: "NVIDIA.com/gpu.product" is not a label key (try "nvidia.com/gpu.product"): ` + keyRule},
		{"node selector key with two slashes", func(o *Options) { o.NodeSelector = map[string]string{"a/b/c": "t4"} },
			`--node-selector: "a/b/c" is not a label key: ` + keyRule},
		{"node selector value with a space", func(o *Options) { o.NodeSelector = map[string]string{"gpu": "tesla t4"} },
			`--node-selector gpu: "tesla t4" is not a label value (try "tesla-t4"): ` + valueRule},
		{"node selector value from the file", func(o *Options) {
			o.NodeSelector = map[string]string{"pool": "gpu!"}
			fromFile("node-selector pool", "deploy.nodeSelector")(o)
		}, `kserve-gen.yaml deploy.nodeSelector pool: "gpu!" is not a label value: ` + valueRule},
		{"node selector value too long", func(o *Options) { o.NodeSelector = map[string]string{"pool": long[:64]} },
			`--node-selector pool: "` + long[:64] + `" is not a label value: it is 64 characters long; ` + valueRule},
		{"toleration key with a space", func(o *Options) { o.Tolerations = []project.Toleration{{Key: "gpu type", Operator: "Exists"}} },
			`--toleration "gpu type": key "gpu type" is not a label key (try "gpu-type"): ` + keyRule},
		{"toleration value with a space", func(o *Options) {
			o.Tolerations = []project.Toleration{{Key: "gpu", Operator: "Equal", Value: "tesla t4"}}
		}, `--toleration "gpu=tesla t4": value "tesla t4" is not a label value (try "tesla-t4"): ` + valueRule},
		{"trigger broker", func(o *Options) {
			o.Trigger = &project.Trigger{Broker: "My_Broker", Filter: map[string]string{"type": "t"}}
		}, `--trigger: broker "My_Broker" is not a Kubernetes name (try "my-broker"): ` + brokerRule},

		// A name's rule is the limit that applies where it deploys.
		{"name", func(o *Options) { o.Name = "Custom_Model" },
			`--name: "Custom_Model" is not a DNS-1123 label (try "custom-model"): ` + nameRule + "53 characters"},
		{"transformer name", func(o *Options) { o.Name = "Custom_Model"; transformer(o) },
			`--name: "Custom_Model" is not a DNS-1123 label (try "custom-model"): ` + nameRule + "51 characters"},
		{"name in Standard mode", func(o *Options) { o.Name, o.DeploymentMode = "Custom_Model", ModeStandard },
			`--name: "Custom_Model" is not a DNS-1123 label (try "custom-model"): ` + nameRule + "48 characters"},
		{"transformer name in Standard mode", func(o *Options) {
			o.Name, o.DeploymentMode = "Custom_Model", ModeStandard
			transformer(o)
		}, `--name: "Custom_Model" is not a DNS-1123 label (try "custom-model"): ` + nameRule + "46 characters"},
		// custom-model-xxx... would be 50 characters: too long to try.
		{"name in Standard mode, no suggestion that fits", func(o *Options) { o.Name, o.DeploymentMode = name50, ModeStandard },
			`--name: "` + name50 + `" is not a DNS-1123 label: ` + nameRule + "48 characters"},
		// Over 53 the limit told is Standard mode's, not Knative's.
		{"long name in Standard mode", func(o *Options) { o.Name, o.DeploymentMode = name55, ModeStandard },
			`--name: "` + name55 + `" is 55 characters long; in Standard mode at most 48 are allowed because KServe labels the pods app=isvc.` + name55 + `-predictor and a label value is at most 63 characters`},

		// And over 53 a transformer's, where one deploys outside Standard mode.
		{"long transformer name", func(o *Options) { o.Name = name55; transformer(o) },
			`--name: "` + name55 + `" is 55 characters long; a transformer's name is at most 51 because KServe names the transformer "` + name55 + `-transformer" and that must fit a 63-character DNS label`},

		// A port name's rule is the mode's.
		{"port name", func(o *Options) { o.Ports = []Port{{"grpc", 8080}} },
			`--port: name "grpc" is not allowed; Knative accepts http1 (HTTP/1.1) or h2c (HTTP/2 cleartext, gRPC)`},
		{"port name in Standard mode", func(o *Options) { o.DeploymentMode, o.Ports = ModeStandard, []Port{{"rest", 8080}} },
			`--port: name "rest" is not allowed; in Standard mode a port is http1 (REST, HTTP/1.1, on --http-port) or h2c (gRPC, HTTP/2 cleartext, on --grpc-port)`},
		{"port name among two in Standard mode", func(o *Options) {
			o.Protocol, o.GRPC, o.DeploymentMode = project.ProtocolV2, true, ModeStandard
			o.Ports = []Port{{PortNameH2C, 8081}, {"grpc", 8080}}
		}, `--port: name "grpc" is not allowed; in Standard mode a port is http1 (REST, HTTP/1.1, on --http-port) or h2c (gRPC, HTTP/2 cleartext, on --grpc-port)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := validOptions()
			tt.modify(&o)
			assert.EqualError(t, o.Validate(), tt.want)
		})
	}
}

// KServe's Standard mode puts every port of the predictor a transformer
// calls on its Service, as it does the project's own: called over
// grpc-v2, a --predictor-image predictor exposes its REST port after h2c
// there, and keeps h2c alone where Knative routes to one port. The
// PodMonitor keeps one target of its two ports.
func TestRender_TransformerPredictorPorts(t *testing.T) {
	h2c := corev1.ContainerPort{Name: PortNameH2C, ContainerPort: 8081, Protocol: corev1.ProtocolTCP}
	http1 := corev1.ContainerPort{Name: PortNameHTTP1, ContainerPort: 8080, Protocol: corev1.ProtocolTCP}
	for _, tt := range []struct {
		mode, protocol string
		logger         bool
		want           []corev1.ContainerPort
	}{
		{ModeStandard, project.ProtocolGRPCV2, false, []corev1.ContainerPort{h2c, http1}},
		// The transformer's logger is the transformer's agent: the
		// predictor has none.
		{ModeStandard, project.ProtocolGRPCV2, true, []corev1.ContainerPort{h2c, http1}},
		{ModeKnative, project.ProtocolGRPCV2, false, []corev1.ContainerPort{h2c}},
		{ModeDefault, project.ProtocolGRPCV2, false, []corev1.ContainerPort{h2c}},
		{ModeStandard, project.ProtocolV2, false, nil},
	} {
		o := goldenCases()["transformer"]
		o.DeploymentMode, o.Predictor.Protocol, o.PodMonitor = tt.mode, tt.protocol, true
		if tt.mode == ModeStandard {
			o.MinReplicas = intp(1)
		}
		if tt.logger {
			o.Logger = &project.Logger{URL: "http://sink.default"}
		}
		objs, err := Manifests(o)
		require.NoError(t, err)
		assert.Equal(t, tt.want, objs[0].(*InferenceService).Spec.Predictor.Containers[0].Ports, "%s mode, over %s, logger %v", tt.mode, tt.protocol, tt.logger)
		if tt.mode == ModeStandard && len(tt.want) > 1 {
			pm := objs[len(objs)-1].(*PodMonitor)
			ep := pm.Spec.PodMetricsEndpoints[len(pm.Spec.PodMetricsEndpoints)-1]
			assert.Contains(t, ep.Relabelings, RelabelConfig{Action: "keep", SourceLabels: []string{"__meta_kubernetes_pod_container_port_name"}, Regex: PortNameH2C}, "the predictor's pods make one target")
		}
	}
}

func TestValidate_ReportsAllProblems(t *testing.T) {
	o := validOptions()
	o.Name = "Bad"
	o.GPU = -1
	o.CanaryTrafficPercent = intp(200)
	err := o.Validate()
	require.Error(t, err)
	assert.Len(t, strings.Split(err.Error(), "\n"), 3, err.Error())
}

func TestValidate_Sentinels(t *testing.T) {
	o := validOptions()
	o.Image = ""
	assert.ErrorIs(t, o.Validate(), ErrImageRequired)

	o = validOptions()
	o.Ports = []Port{{PortNameHTTP1, 8080}, {PortNameHTTP1, 8080}}
	assert.True(t, errors.Is(o.Validate(), ErrOnePort))
}

func TestValidate_AcceptsEdgeValues(t *testing.T) {
	for name, modify := range map[string]func(*Options){
		"canary 0":       func(o *Options) { o.CanaryTrafficPercent = intp(0) },
		"canary 100":     func(o *Options) { o.CanaryTrafficPercent = intp(100) },
		"scale to zero":  func(o *Options) { o.MinReplicas = intp(0) },
		"min equals max": func(o *Options) { o.MinReplicas, o.MaxReplicas = intp(3), 3 },
		"explicit h2c":   func(o *Options) { o.Protocol, o.GRPC, o.Ports = "v2", true, []Port{{PortNameH2C, 8081}} },
		"explicit http1": func(o *Options) { o.Ports = []Port{{PortNameHTTP1, 8080}} },
		// Standard mode exposes REST beside gRPC, in the order given.
		"standard grpc exposing both": func(o *Options) { o.Protocol, o.GRPC, o.DeploymentMode = "v2", true, ModeStandard },
		"standard grpc REST first": func(o *Options) {
			o.Protocol, o.GRPC, o.DeploymentMode, o.Ports = "v2", true, ModeStandard, []Port{{PortNameHTTP1, 8080}, {PortNameH2C, 8081}}
		},
		"standard grpc REST on 80 first": func(o *Options) {
			o.Protocol, o.GRPC, o.DeploymentMode, o.HTTPPort = "v2", true, ModeStandard, 80
			o.Ports = []Port{{PortNameHTTP1, 80}, {PortNameH2C, 8081}}
		},
		"standard grpc alone": func(o *Options) {
			o.Protocol, o.GRPC, o.DeploymentMode, o.Ports = "v2", true, ModeStandard, []Port{{PortNameH2C, 8081}}
		},
		"standard grpc with a logger, rest on 80": func(o *Options) {
			o.Protocol, o.GRPC, o.DeploymentMode, o.HTTPPort = "v2", true, ModeStandard, 80
			o.Logger = &project.Logger{Mode: "all"}
		},
		"gpu 0": func(o *Options) { o.GPU = 0 },
		// 0 asks for no preStop hook, which is what Knative mode gets.
		"no pre-stop sleep on Knative": func(o *Options) { o.DeploymentMode, o.PreStopSleep = ModeKnative, intp(0) },
		"no pre-stop sleep by default": func(o *Options) { o.PreStopSleep = intp(0) },
		"no resources":                 func(o *Options) { o.Resources = project.Resources{} },
		"memory metric std":            func(o *Options) { o.DeploymentMode, o.ScaleMetric, o.ScaleTarget = ModeStandard, "memory", 512 },
		"toleration all keys":          func(o *Options) { o.Tolerations = []project.Toleration{{Operator: "Exists"}} },
		"prefixed node label": func(o *Options) {
			o.NodeSelector = map[string]string{"cloud.google.com/gke-accelerator": "nvidia-tesla-t4", "pool": ""}
		},
		"prefixed toleration": func(o *Options) {
			o.Tolerations = []project.Toleration{{Key: "nvidia.com/gpu", Operator: "Equal", Value: "present", Effect: "NoSchedule"}}
		},
		"dotted service account":     func(o *Options) { o.ServiceAccountName = "models.reader" },
		"modelcar image":             func(o *Options) { o.StorageURI = "oci://registry.example.com/models/iris:v1" },
		"bucket with upper case":     func(o *Options) { o.StorageURI = "s3://Bucket/Model" },
		"arg overriding the device":  func(o *Options) { o.Args = []string{"--device=auto", "--max_threads=8"} },
		"grpc port arg without grpc": func(o *Options) { o.Args = []string{"--grpc_port=9001", "--enable_grpc=false"} },
		"arg value naming a flag":    func(o *Options) { o.Args = []string{"--log_config_file", "--http_port.json"} },
		"arg value left empty":       func(o *Options) { o.Args = []string{"--log_config_file", ""} },
		"arg abbreviating another":   func(o *Options) { o.Args = []string{"--max_t=8", "--http_portx=1"} },
		// The project may define --model itself; the server takes an
		// exact name over the abbreviation of --model_name or --model_dir.
		"arg of the project's own": func(o *Options) { o.Args = []string{"--model=/mnt/models/m.onnx"} },
	} {
		o := validOptions()
		modify(&o)
		assert.NoError(t, o.Validate(), name)
	}
}

func TestRender_NoResourcesNoNoise(t *testing.T) {
	o := validOptions()
	o.Resources = project.Resources{}
	o.Metrics = false
	out, err := Render(o)
	require.NoError(t, err)
	assert.NotContains(t, string(out), "resources")
	assert.NotContains(t, string(out), "annotations")
}

func TestRender_GPUOnlyLimit(t *testing.T) {
	o := validOptions()
	o.Resources = project.Resources{}
	o.GPU = 2
	objs, err := Manifests(o)
	require.NoError(t, err)
	r := objs[0].(*InferenceService).Spec.Predictor.Containers[0].Resources
	assert.Nil(t, r.Requests)
	q := r.Limits[resourceGPU]
	assert.Equal(t, "2", q.String())
}

// A batcher with no settings of its own keeps the agent's defaults: it
// must still be written, since KServe injects the agent only for a
// batcher that is there.
func TestRender_BatcherWithDefaults(t *testing.T) {
	o := validOptions()
	o.Batcher = &project.Batcher{}
	out, err := Render(o)
	require.NoError(t, err)
	assert.Contains(t, string(out), "\n  predictor:\n    batcher: {}\n    containers:\n")
}

// KServe's agent keeps the headers whose Go-canonical name (net/http's
// r.Header key: X-Request-Id) is in metadataHeaders, compared exactly, so a
// header given as x-request-id was never logged: the names are written in
// that form.
func TestRender_LoggerHeadersInTheFormKServeMatches(t *testing.T) {
	o := validOptions()
	o.Logger = &project.Logger{MetadataHeaders: []string{"x-request-id", "X-B3-TRACEID", "Authorization"}}
	objs, err := Manifests(o)
	require.NoError(t, err)
	assert.Equal(t, []string{"X-Request-Id", "X-B3-Traceid", "Authorization"}, objs[0].(*InferenceService).Spec.Predictor.Logger.MetadataHeaders)
}

// TestServerFlags_MatchTheRuntime: validateArgs resolves abbreviations
// against serverFlags, which must be the runtime's flags (a new one there
// can make a prefix ambiguous, or another flag's).
// The levels deploy accepts are the ones the runtime's ParseLogLevel does.
func TestLogLevels_MatchTheRuntime(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "runtime", "config", "config.go"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^const logLevelNames = "([A-Z, ]+)"$`).FindSubmatch(src)
	require.NotNil(t, m, "logLevelNames in runtime/config/config.go")
	assert.Equal(t, strings.Split(string(m[1]), ", "), logLevels)
	for _, l := range []string{"debug", " Info ", "WARNING"} {
		o := validOptions()
		o.LogLevel = l
		assert.NoError(t, o.Validate(), l)
	}
}

func TestServerFlags_MatchTheRuntime(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "runtime", "config", "parser.go"))
	require.NoError(t, err)
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^\t[vs]\([^"\n]*, "([a-z_-]+)", "`).FindAllSubmatch(src, -1) {
		names = append(names, string(m[1]))
	}
	require.Contains(t, names, "http_port")
	assert.Equal(t, names, serverFlags)
}

// In Standard mode KServe gives each component the host its ingress
// domainTemplate makes, by default "{{ .Name }}-{{ .Namespace }}.{{
// .IngressDomain }}" with Name the component (<name>-predictor, or
// -transformer): a name and a namespace each fine on their own can make a
// DNS label over 63 characters, and KServe's controller then fails to
// reconcile the InferenceService, after kubectl apply took it. deploy warns
// (the cluster's template may differ) where the namespace is known and the
// mode may be Standard; Knative's default domain template puts the
// namespace in a label of its own.
func TestWarnings_HostLabelTooLong(t *testing.T) {
	name := "m" + strings.Repeat("x", 39)  // 40
	ns := "team-" + strings.Repeat("n", 8) // 13: name-predictor-ns is 64
	o := validOptions()
	o.Name, o.Namespace, o.DeploymentMode = name, ns, ModeStandard
	require.NoError(t, o.Validate())
	assert.Equal(t, []string{
		"with KServe's default ingress domainTemplate ({{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}), the predictor's host starts with the DNS label " +
			name + "-predictor-" + ns + ", 64 characters, more than the 63 DNS allows, and KServe fails to reconcile the InferenceService (invalid domain name), so it never becomes ready; " +
			"shorten --name (40 characters) and --namespace (13 characters) by 1 together, unless the cluster's inferenceservice-config sets another domainTemplate",
	}, o.Warnings())

	// Where the values came from the project file, the warning names its fields.
	o.FileFields = map[string]string{"name": "name", "namespace": "deploy.namespace"}
	assert.Contains(t, o.Warnings()[0], "shorten kserve-gen.yaml name (40 characters) and kserve-gen.yaml deploy.namespace (13 characters) by 1 together")
	o.FileFields = nil

	// The cluster's default mode may be Standard.
	o.DeploymentMode = ModeDefault
	require.Len(t, o.Warnings(), 1)
	assert.True(t, strings.HasPrefix(o.Warnings()[0], "if the cluster's default deployment mode is Standard: with KServe's default ingress domainTemplate"), o.Warnings()[0])

	// A transformer's own host is the longer one.
	o.Predictor = &project.Predictor{Image: "registry.example.com/p:v1"}
	o.Name = name[:38]
	require.NoError(t, o.Validate())
	require.Len(t, o.Warnings(), 1)
	assert.Contains(t, o.Warnings()[0], "the transformer's host starts with the DNS label "+o.Name+"-transformer-"+ns+", 64 characters")
	o.Predictor = nil

	o.Name = name[:39] // 63: fits
	assert.Empty(t, o.Warnings())
	o.Name = name
	o.DeploymentMode = ModeKnative
	assert.Empty(t, o.Warnings(), "Knative's default domain template is {{.Name}}.{{.Namespace}}.{{.Domain}}")
	o.DeploymentMode, o.Namespace = ModeStandard, ""
	assert.Empty(t, o.Warnings(), "kubectl's current namespace is not known here")
}

// KServe's agent logs a gRPC call as its binary frame and holds a stream
// until the client closes its side (deploy/validate's
// TestLoggerBuffersGRPCStreams): unary calls work, so --logger-url with
// --grpc is a warning naming both, not an error.
func TestWarnings_LoggerWithGRPC(t *testing.T) {
	want := "--logger-url with --grpc: KServe's agent logs each gRPC call as its gRPC frame (content type application/grpc: a 5-byte length prefix and binary protobuf, not JSON), " +
		"and reads each request whole before passing it on, so a stream reaches the server only once the client has closed its side: unary calls such as ModelInfer pass, " +
		"but a bidirectional stream whose client waits for an answer, such as gRPC server reflection (grpcurl without -proto), never gets one"
	o := validOptions()
	o.Protocol, o.GRPC = project.ProtocolV2, true
	o.Logger = &project.Logger{URL: "http://message-dumper.default.svc.cluster.local"}
	require.NoError(t, o.Validate())
	assert.Equal(t, []string{want}, o.Warnings())

	o.FileFields = map[string]string{"logger-url": "deploy.logger.url", "grpc": "grpc"}
	assert.Equal(t, []string{strings.Replace(want, "--logger-url with --grpc", "kserve-gen.yaml deploy.logger.url with kserve-gen.yaml grpc", 1)}, o.Warnings())
	o.FileFields = nil

	// The cluster's default sink: the logger is on all the same.
	o.Logger = &project.Logger{Mode: "request"}
	assert.Equal(t, []string{strings.Replace(want, "--logger-url", "--logger-mode", 1)}, o.Warnings())

	// An empty deploy.logger turns it on too, and is named as written.
	f := &project.File{Name: "m", Module: "example.com/m", Template: project.TemplateREST, Protocol: project.ProtocolV2, GRPC: true,
		Image: "r.example.com/m:v1", Deploy: &project.Deploy{Logger: &project.Logger{}}}
	fo := FromProject(f)
	require.NoError(t, fo.Validate())
	assert.Equal(t, []string{strings.Replace(want, "--logger-url with --grpc", "kserve-gen.yaml deploy.logger with kserve-gen.yaml grpc", 1)}, fo.Warnings())

	o.GRPC = false
	assert.Empty(t, o.Warnings(), "REST is logged as its JSON")
}

// The ports the project's container exposes. Knative routes to exactly one;
// KServe's Standard mode makes a Service port of every one (the first as
// port 80, behind the URL), so there a gRPC server exposes its REST port
// too, after h2c: in-cluster REST clients and kubectl port-forward reach it
// through the Service. Not with a logger: KServe's agent sits in front of
// the first port alone, and REST would pass it unlogged.
func TestRender_ExposedPorts(t *testing.T) {
	h2c := corev1.ContainerPort{Name: PortNameH2C, ContainerPort: 8081, Protocol: corev1.ProtocolTCP}
	http1 := corev1.ContainerPort{Name: PortNameHTTP1, ContainerPort: 8080, Protocol: corev1.ProtocolTCP}
	grpc := func(mode string) func(o *Options) {
		return func(o *Options) { o.Protocol, o.GRPC, o.DeploymentMode = project.ProtocolV2, true, mode }
	}
	for name, tt := range map[string]struct {
		modify func(o *Options)
		want   []corev1.ContainerPort
	}{
		"rest":                  {func(o *Options) {}, nil},
		"rest standard":         {func(o *Options) { o.DeploymentMode = ModeStandard }, nil},
		"rest standard on 9000": {func(o *Options) { o.DeploymentMode, o.HTTPPort = ModeStandard, 9000 }, []corev1.ContainerPort{{Name: PortNameHTTP1, ContainerPort: 9000, Protocol: corev1.ProtocolTCP}}},
		"grpc default mode":     {grpc(ModeDefault), []corev1.ContainerPort{h2c}},
		"grpc knative":          {grpc(ModeKnative), []corev1.ContainerPort{h2c}},
		"grpc standard":         {grpc(ModeStandard), []corev1.ContainerPort{h2c, http1}},
		"grpc standard logger": {func(o *Options) {
			grpc(ModeStandard)(o)
			o.Logger = &project.Logger{URL: "http://sink.default"}
		}, []corev1.ContainerPort{h2c}},
		"grpc standard REST first": {func(o *Options) {
			grpc(ModeStandard)(o)
			o.Ports = []Port{{PortNameHTTP1, 8080}, {PortNameH2C, 8081}}
		}, []corev1.ContainerPort{http1, h2c}},
		"grpc standard alone": {func(o *Options) {
			grpc(ModeStandard)(o)
			o.Ports = []Port{{PortNameH2C, 8081}}
		}, []corev1.ContainerPort{h2c}},
		"grpc standard transformer": {func(o *Options) {
			grpc(ModeStandard)(o)
			o.Predictor = &project.Predictor{Image: "registry.example.com/p:v1"}
		}, []corev1.ContainerPort{h2c, http1}},
		"grpc standard serving runtime": {func(o *Options) {
			grpc(ModeStandard)(o)
			o.Runtime = &RuntimeOptions{}
		}, []corev1.ContainerPort{h2c, http1}},
	} {
		t.Run(name, func(t *testing.T) {
			o := validOptions()
			tt.modify(&o)
			objs, err := Manifests(o)
			require.NoError(t, err)
			var got []corev1.ContainerPort
			switch {
			case o.Runtime != nil:
				// The runtime may serve InferenceServices in either mode:
				// the ports are this InferenceService's.
				assert.Empty(t, objs[0].(*ServingRuntime).Spec.Containers[0].Ports)
				got = objs[1].(*InferenceService).Spec.Predictor.Model.Ports
			case o.Predictor != nil:
				got = objs[0].(*InferenceService).Spec.Transformer.Containers[0].Ports
			default:
				got = objs[0].(*InferenceService).Spec.Predictor.Containers[0].Ports
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// Without --deployment-mode the cluster's default mode may be Standard,
// where a name over Standard mode's limit passes KServe but the API server
// refuses the Deployment (its app label is over 63 characters): deploy
// warns, as it does of the host label, and names the setting.
func TestWarnings_NameTooLongIfTheDefaultModeIsStandard(t *testing.T) {
	name := "m" + strings.Repeat("x", 49) // 50
	o := validOptions()
	o.Name = name
	require.NoError(t, o.Validate())
	assert.Equal(t, []string{
		"if the cluster's default deployment mode is Standard: --name: \"" + name + "\" is 50 characters long; in Standard mode at most 48 are allowed because KServe labels the pods app=isvc." + name + "-predictor and a label value is at most 63 characters; " +
			"the API server would refuse KServe's Deployment and no pod would start: shorten --name, or pass --deployment-mode Knative",
	}, o.Warnings())

	o.FileFields = map[string]string{"name": "name"}
	require.Len(t, o.Warnings(), 1)
	assert.Contains(t, o.Warnings()[0], "Standard: kserve-gen.yaml name: \""+name+"\" is 50 characters long")
	assert.Contains(t, o.Warnings()[0], "shorten kserve-gen.yaml name, or")
	o.FileFields = nil

	// A transformer's limit is 46.
	o.Name = name[:47]
	o.Predictor = &project.Predictor{Image: "registry.example.com/p:v1"}
	require.NoError(t, o.Validate())
	require.Len(t, o.Warnings(), 1)
	assert.Contains(t, o.Warnings()[0], "at most 46 are allowed because KServe labels the pods app=isvc."+name[:47]+"-transformer")
	o.Name = name[:46]
	assert.Empty(t, o.Warnings())
	o.Predictor = nil

	o.Name = name[:48]
	assert.Empty(t, o.Warnings())
	o.Name, o.DeploymentMode = name, ModeKnative
	assert.Empty(t, o.Warnings(), "Knative has no such label")
}

// With a logger, KServe's agent takes the Service's first port; the REST
// port exposed beside it by hand reaches the server directly, unlogged.
func TestWarnings_LoggerBesideASecondPort(t *testing.T) {
	o := validOptions()
	o.Protocol, o.GRPC, o.DeploymentMode = project.ProtocolV2, true, ModeStandard
	o.Logger = &project.Logger{URL: "http://message-dumper.default.svc.cluster.local"}
	o.Ports = []Port{{PortNameH2C, 8081}, {PortNameHTTP1, 8080}}
	require.NoError(t, o.Validate())
	w := o.Warnings()
	require.Len(t, w, 2, "%q", w)
	assert.Equal(t, "--port http1=8080 with --logger-url: KServe's agent, which logs the requests, sits in front of the first port alone (h2c=8081, the Service's port 80 and the InferenceService's URL); "+
		"requests to the Service's port 8080 reach the server directly and are not logged", w[1])

	// REST first: the agent logs REST, and gRPC, which passes it by, is
	// not logged at all (nor held up by the logger's buffering).
	o.Ports = []Port{{PortNameHTTP1, 8080}, {PortNameH2C, 8081}}
	require.NoError(t, o.Validate())
	assert.Equal(t, []string{"--port h2c=8081 with --logger-url: KServe's agent, which logs the requests, sits in front of the first port alone (http1=8080, the Service's port 80 and the InferenceService's URL); " +
		"requests to the Service's port 8081 reach the server directly and are not logged"}, o.Warnings())
}

// Knative refuses a revision timeout above its max-revision-timeout-seconds
// (knative.dev/serving's validateTimeoutSeconds; 600 in config-defaults
// unless the cluster raises it): kubectl apply takes the InferenceService,
// then KServe's Knative Service is refused and it never becomes ready.
// Only the cluster knows its maximum, so deploy warns wherever the mode may
// be Knative; Standard mode has no revision timeout.
func TestWarnings_TimeoutAboveKnativesDefaultMax(t *testing.T) {
	want := "--timeout 900: Knative refuses a revision timeout above its max-revision-timeout-seconds, 600 unless knative-serving's config-defaults raises it, and KServe's Knative Service would then be refused, so the InferenceService never becomes ready; raise max-revision-timeout-seconds, or pass a --timeout of 600 or less"
	for _, c := range []struct {
		mode    string
		timeout int
		file    bool
		want    []string
	}{
		{ModeDefault, 600, false, nil},
		{ModeDefault, 900, false, []string{want}},
		{ModeKnative, 900, false, []string{want}},
		{ModeKnative, 900, true, []string{strings.NewReplacer("--timeout 900", "kserve-gen.yaml deploy.timeout 900", "a --timeout", "a deploy.timeout").Replace(want)}},
		{ModeStandard, 900, false, nil},
	} {
		o := validOptions()
		o.DeploymentMode, o.Timeout = c.mode, c.timeout
		if c.file {
			o.FileFields = map[string]string{"timeout": "deploy.timeout"}
		}
		require.NoError(t, o.Validate())
		assert.Equal(t, c.want, o.Warnings(), "%s %d", c.mode, c.timeout)
	}
}

// The server ignores an argument it has no flag for (with a warning in its
// log, as KServe's parse_known_args does), so a misspelt --arg changes
// nothing and nobody notices; deploy warns where the name is a near miss
// of a flag the server has (an onnx project's own too). A name far from
// any may be the project's own flag (main.go) and passes quietly.
func TestWarnings_ArgNearAServerFlag(t *testing.T) {
	o := validOptions()
	o.Args = []string{"--max_treads=8", "--my_own_flag=1", "--max_threads=2", "--max_batch_sise", "4", "-v"}
	require.NoError(t, o.Validate())
	assert.Equal(t, []string{
		"--arg --max_treads=8: the model server has no --max_treads and ignores it (with a warning in its log), unless the project's main.go defines it; did you mean --max_threads?",
	}, o.Warnings())

	o.ONNXDevice = true // an onnx project: runtime/onnx's flags too
	require.NoError(t, o.Validate())
	assert.Equal(t, []string{
		"--arg --max_treads=8: the model server has no --max_treads and ignores it (with a warning in its log), unless the project's main.go defines it; did you mean --max_threads?",
		"--arg --max_batch_sise: the model server has no --max_batch_sise and ignores it (with a warning in its log), unless the project's main.go defines it; did you mean --max_batch_size?",
	}, o.Warnings())
}

func TestONNXFlags_MatchTheRuntime(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "runtime", "onnx", "flags.go"))
	require.NoError(t, err)
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^\tfs\.\w+Var\(&f\.\w+, "([a-z_]+)"`).FindAllSubmatch(src, -1) {
		names = append(names, string(m[1]))
	}
	require.Contains(t, names, "device")
	assert.Equal(t, names, onnxFlags)
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"", "abc", 3}, {"max_treads", "max_threads", 1}, {"kitten", "sitting", 3}, {"abc", "abc", 0}, {"ab", "ba", 2}} {
		assert.Equal(t, c.want, editDistance(c.a, c.b), "%q %q", c.a, c.b)
		assert.Equal(t, c.want, editDistance(c.b, c.a), "%q %q", c.b, c.a)
	}
}
