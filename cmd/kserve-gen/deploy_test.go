package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/deploy"
	"github.com/kserve-gen/kserve-gen/project"
)

// writeProject writes a kserve-gen.yaml like `kserve-gen new` does.
func writeProject(t *testing.T, f *project.File) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, f.Save(dir))
	return dir
}

func restProject() *project.File {
	return &project.File{
		Name: "custom-model", Module: "example.com/custom-model", Template: project.TemplateREST,
		Protocol: project.ProtocolV1, Image: "docker.io/example/custom-model:v1",
		Resources: project.Resources{
			Requests: project.ResourceList{CPU: "1", Memory: "1Gi"},
			Limits:   project.ResourceList{CPU: "2", Memory: "2Gi"},
		},
	}
}

// runDeploy executes the real command with args and returns stdout/stderr.
func runDeploy(t *testing.T, args string) (string, string, error) {
	t.Helper()
	argv := strings.Fields(args)
	var out, errOut bytes.Buffer
	cmd := newCmdDeploy(&out, &errOut, nil)
	cmd.SetArgs(argv)
	cmd.SetOut(&errOut)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func golden(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "testdata", "golden", name+".yaml"))
	require.NoError(t, err)
	return string(data)
}

// The project file alone reproduces the REST golden (the seed's custom.yaml).
func TestDeploy_FromProjectFile(t *testing.T) {
	dir := writeProject(t, restProject())
	out, _, err := runDeploy(t, "--dir "+dir)
	require.NoError(t, err)
	assert.Equal(t, golden(t, "rest"), out)
}

// Flags override the project file: a REST project becomes the gRPC golden.
func TestDeploy_FlagsOverrideProject(t *testing.T) {
	dir := writeProject(t, restProject())
	out, _, err := runDeploy(t, "--dir "+dir+" --name custom-model-grpc --image docker.io/example/custom-model-grpc:v1 --protocol v2 --grpc")
	require.NoError(t, err)
	assert.Equal(t, golden(t, "grpc"), out)
}

func TestDeploy_ServingRuntimeFlags(t *testing.T) {
	f := restProject()
	f.Protocol = project.ProtocolV2
	dir := writeProject(t, f)
	out, _, err := runDeploy(t, "--dir "+dir+` -n models --storage-uri pvc://models/custom-model/ --log-level INFO`+
		` --serving-runtime --runtime-name kserve-gen-custom --model-format custom --model-format-version 1`)
	require.NoError(t, err)
	assert.Equal(t, golden(t, "serving-runtime"), out)
}

func transformerProject() *project.File {
	f := restProject()
	f.Name, f.Module, f.Template = "custom-transformer", "example.com/custom-transformer", project.TemplateTransformer
	f.Image = "docker.io/example/custom-transformer:v1"
	return f
}

// A transformer project deploys as spec.transformer in front of the
// predictor named by flags, or by the project file's deploy.predictor.
func TestDeploy_TransformerProject(t *testing.T) {
	dir := writeProject(t, transformerProject())
	out, _, err := runDeploy(t, "--dir "+dir+" --predictor-image docker.io/example/custom-model:v1 --service-account models-reader --min-replicas 1")
	require.NoError(t, err)
	assert.Equal(t, golden(t, "transformer"), out)

	one := 1
	f := transformerProject()
	f.Deploy = &project.Deploy{ServiceAccountName: "models-reader", MinReplicas: &one,
		Predictor: &project.Predictor{Image: "docker.io/example/custom-model:v1"}}
	out, _, err = runDeploy(t, "--dir "+writeProject(t, f))
	require.NoError(t, err)
	assert.Equal(t, golden(t, "transformer"), out)

	// Flags override the file's predictor field by field.
	out, _, err = runDeploy(t, "--dir "+writeProject(t, f)+" --name onnx-transformer --image docker.io/example/onnx-transformer:v1 --protocol v2"+
		" --service-account= --min-replicas 0 --predictor-image= --predictor-model-format onnx --predictor-storage-uri gs://kfserving-examples/models/onnx --predictor-protocol grpc-v2 --pod-monitor")
	require.NoError(t, err)
	want := strings.Replace(golden(t, "transformer-onnx-grpc"), "  transformer:\n", "  transformer:\n    minReplicas: 0\n", 1)
	assert.Equal(t, want, out)

	// Without a project file the predictor flags make the image a transformer.
	out, _, err = runDeploy(t, "--dir "+t.TempDir()+" --name custom-transformer --image docker.io/example/custom-transformer:v1"+
		" --cpu-request 1 --cpu-limit 2 --memory-request 1Gi --memory-limit 2Gi"+
		" --predictor-image docker.io/example/custom-model:v1 --service-account models-reader --min-replicas 1")
	require.NoError(t, err)
	assert.Equal(t, golden(t, "transformer"), out)
}

// TestDeploy_OpenAIProject: an openai project deploys as a rest project
// does, a custom predictor whose readiness probe is the model's v1
// readiness (answered for a model without Predict; its v2 metadata would
// be a 500): the OpenAI routes are on the same HTTP port. It has no gRPC
// endpoint to expose, and takes v1 alone.
func TestDeploy_OpenAIProject(t *testing.T) {
	f := restProject()
	rest, _, err := runDeploy(t, "--dir "+writeProject(t, f))
	require.NoError(t, err)
	f.Template = project.TemplateOpenAI
	dir := writeProject(t, f)
	out, _, err := runDeploy(t, "--dir "+dir)
	require.NoError(t, err)
	assert.Equal(t, rest, out)
	assert.Contains(t, out, "        readinessProbe:\n          httpGet:\n            path: /v1/models/custom-model\n            port: 8080\n")

	noBatcher := `--batcher: KServe's batcher batches only v1 :predict requests ({"instances": [...]}) and passes the others through unbatched, and an openai project serves OpenAI's API (/openai/v1/...), which has no :predict, so it would batch nothing; drop it`
	for args, want := range map[string]string{
		"--grpc":                     "--grpc: an openai project serves OpenAI's API over REST and has no gRPC endpoint; drop it",
		"--protocol v2 --grpc":       "--grpc: an openai project serves OpenAI's API over REST and has no gRPC endpoint; drop it",
		"--protocol v2":              "--protocol: an openai project serves OpenAI's API (/openai/v1/...), not the Open Inference Protocol, and takes v1 alone",
		"--batcher":                  noBatcher,
		"--batcher-max-batch-size 8": noBatcher,
		"--trigger default --trigger-filter type=org.example.request": "--trigger: KServe delivers the broker's events to the v1 endpoint (:predict), and an openai project's model serves OpenAI's API (/openai/v1/...) and no :predict; drop it",
	} {
		out, _, err := runDeploy(t, "--dir "+dir+" "+args)
		require.EqualError(t, err, want, args)
		assert.Empty(t, out)
	}

	// A batcher in kserve-gen.yaml is named there; --batcher=false drops it.
	f.Deploy = &project.Deploy{Batcher: &project.Batcher{MaxBatchSize: 8}}
	withBatcher := writeProject(t, f)
	_, _, err = runDeploy(t, "--dir "+withBatcher)
	require.EqualError(t, err, strings.Replace(noBatcher, "--batcher", "kserve-gen.yaml deploy.batcher", 1))
	out, _, err = runDeploy(t, "--dir "+withBatcher+" --batcher=false")
	require.NoError(t, err)
	assert.Equal(t, rest, out)

	// The logger works on any path (it passes the stream's flushes on), so
	// it stays.
	out, _, err = runDeploy(t, "--dir "+dir+" --logger-url http://message-dumper.default.svc.cluster.local")
	require.NoError(t, err)
	assert.Contains(t, out, "    logger:\n      url: http://message-dumper.default.svc.cluster.local\n")
}

// TestDeploy_TimeSeriesProject: a timeseries project deploys as a rest
// project does (its model, without Predict, answers the v1 readiness
// probe), and is refused what an openai project is: gRPC, v2, the batcher
// and a trigger, which reach only :predict.
func TestDeploy_TimeSeriesProject(t *testing.T) {
	f := restProject()
	rest, _, err := runDeploy(t, "--dir "+writeProject(t, f))
	require.NoError(t, err)
	f.Template = project.TemplateTimeSeries
	dir := writeProject(t, f)
	out, _, err := runDeploy(t, "--dir "+dir)
	require.NoError(t, err)
	assert.Equal(t, rest, out)

	noBatcher := `--batcher: KServe's batcher batches only v1 :predict requests ({"instances": [...]}) and passes the others through unbatched, and a timeseries project serves KServe's time-series API (/v1/timeseries/...), which has no :predict, so it would batch nothing; drop it`
	for args, want := range map[string]string{
		"--grpc":                     "--grpc: a timeseries project serves KServe's time-series API over REST and has no gRPC endpoint; drop it",
		"--protocol v2":              "--protocol: a timeseries project serves KServe's time-series API (/v1/timeseries/...), not the Open Inference Protocol, and takes v1 alone",
		"--batcher":                  noBatcher,
		"--batcher-max-batch-size 8": noBatcher,
		"--trigger default --trigger-filter type=org.example.request": "--trigger: KServe delivers the broker's events to the v1 endpoint (:predict), and a timeseries project's model serves KServe's time-series API (/v1/timeseries/...) and no :predict; drop it",
	} {
		out, _, err := runDeploy(t, "--dir "+dir+" "+args)
		require.EqualError(t, err, want, args)
		assert.Empty(t, out)
	}
}

func TestDeploy_EveryFlagReachesOptions(t *testing.T) {
	dir := writeProject(t, restProject())
	var got *deployOptions
	cmd := newCmdDeploy(&bytes.Buffer{}, &bytes.Buffer{}, func(o *deployOptions) error { got = o; return nil })
	argv := strings.Fields(`--dir ` + dir + ` --name resnet -n models --image docker.io/example/resnet:v1 --protocol v2 --http-port 8080 --workers 2` +
		` --storage-uri s3://models/resnet/ --log-level DEBUG --env OMP_NUM_THREADS=4 --arg=--max_threads=8` +
		` --cpu-request 1 --cpu-limit 2 --memory-request 1Gi --memory-limit 2Gi --gpu 1` +
		` --deployment-mode Knative --min-replicas 1 --max-replicas 4 --scale-metric concurrency --scale-target 8` +
		` --canary-traffic-percent 20 --service-account models-reader` +
		` --node-selector nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3 --toleration nvidia.com/gpu:NoSchedule --startup-timeout 20m`)
	cmd.SetArgs(argv)
	require.NoError(t, cmd.Execute())

	o, err := got.deployOptions()
	require.NoError(t, err)
	out, err := deploy.Render(o)
	require.NoError(t, err)
	assert.Equal(t, golden(t, "gpu"), string(out))
}

// The agent settings (concurrency, timeout, payload logging, batcher)
// from flags and from the project file give the same golden manifest;
// --batcher=false drops the file's batcher.
func TestDeploy_AgentSettings(t *testing.T) {
	dir := writeProject(t, restProject())
	out, _, err := runDeploy(t, "--dir "+dir+" --deployment-mode Knative --container-concurrency 8 --timeout 120"+
		" --logger-url http://message-dumper.default.svc.cluster.local --logger-header X-Request-Id"+
		" --batcher-max-batch-size 32 --batcher-max-latency 500")
	require.NoError(t, err)
	assert.Equal(t, golden(t, "logger-batcher"), out)

	f := restProject()
	f.Deploy = &project.Deploy{DeploymentMode: "Knative", ContainerConcurrency: 8, Timeout: 120,
		Logger:  &project.Logger{URL: "http://message-dumper.default.svc.cluster.local", MetadataHeaders: []string{"X-Request-Id"}},
		Batcher: &project.Batcher{MaxBatchSize: 32, MaxLatency: 500}}
	withFile := writeProject(t, f)
	out, _, err = runDeploy(t, "--dir "+withFile)
	require.NoError(t, err)
	assert.Equal(t, golden(t, "logger-batcher"), out)

	out, _, err = runDeploy(t, "--dir "+withFile+" --batcher=false --logger-mode response")
	require.NoError(t, err)
	assert.NotContains(t, out, "batcher:")
	assert.Contains(t, out, "    logger:\n      url: http://message-dumper.default.svc.cluster.local\n      mode: response\n      metadataHeaders:\n        - X-Request-Id\n")

	_, _, err = runDeploy(t, "--dir "+withFile+" --batcher=false --batcher-max-latency 5")
	assert.EqualError(t, err, "--batcher=false with --batcher-* settings: give one")

	// KServe v0.16 reads no batcher timeout: the flag, out of the help,
	// says so instead of writing a field that changes nothing.
	_, _, err = runDeploy(t, "--dir "+withFile+" --batcher-timeout 5")
	assert.EqualError(t, err, "--batcher-timeout: KServe passes no timeout to its batcher (v0.16 reads the field nowhere), so 5 would change nothing; a batch goes to the model once it holds --batcher-max-batch-size instances, or --batcher-max-latency after its first request")
	_, help, err := runDeploy(t, "--help")
	require.NoError(t, err)
	assert.Contains(t, help, "--batcher-max-latency")
	assert.NotContains(t, help, "batcher-timeout")
}

// --batcher alone, or a project file's batcher without settings, asks for
// KServe's batcher with the cluster's defaults: `batcher: {}`, which
// KServe reads as on.
func TestDeploy_BatcherWithDefaults(t *testing.T) {
	dir := writeProject(t, restProject())
	out, _, err := runDeploy(t, "--dir "+dir+" --batcher")
	require.NoError(t, err)
	assert.Contains(t, out, "\n  predictor:\n    batcher: {}\n    containers:\n")

	f := restProject()
	f.Deploy = &project.Deploy{Batcher: &project.Batcher{}}
	out, _, err = runDeploy(t, "--dir "+writeProject(t, f))
	require.NoError(t, err)
	assert.Contains(t, out, "\n  predictor:\n    batcher: {}\n    containers:\n")
}

// --trigger adds a Knative Trigger, from flags or from kserve-gen.yaml.
func TestDeploy_Trigger(t *testing.T) {
	dir := writeProject(t, restProject())
	out, _, err := runDeploy(t, "--dir "+dir+" -n models --trigger default --trigger-filter type=com.example.image --trigger-filter source=camera-1")
	require.NoError(t, err)
	assert.Equal(t, golden(t, "trigger"), out)

	f := restProject()
	f.Deploy = &project.Deploy{Namespace: "models", Trigger: &project.Trigger{Broker: "default", Filter: map[string]string{"type": "com.example.image", "source": "camera-1"}}}
	out, _, err = runDeploy(t, "--dir "+writeProject(t, f))
	require.NoError(t, err)
	assert.Equal(t, golden(t, "trigger"), out)

	for args, want := range map[string]string{
		"--trigger-filter type=x":                 "--trigger-filter needs --trigger BROKER",
		"--trigger default --trigger-filter type": `--trigger-filter "type": want KEY=VALUE, e.g. type=com.example.image`,
		"--trigger default":                       "--trigger needs --trigger-filter type=",
		"--trigger default --trigger-filter type=io.kserve.inference.response": "is the type of the server's own answers",
	} {
		_, _, err := runDeploy(t, "--dir "+dir+" "+args)
		require.Error(t, err, args)
		assert.Contains(t, err.Error(), want, args)
	}
}

// Standard mode on concurrency: KEDA on the server's own metrics, from
// flags or from kserve-gen.yaml.
func TestDeploy_KEDA(t *testing.T) {
	dir := writeProject(t, restProject())
	args := "--dir " + dir + " -n models --deployment-mode Standard --min-replicas 1 --max-replicas 8 --scale-metric concurrency --scale-target 8 --max-queued-requests 64"
	out, _, err := runDeploy(t, args+" --prometheus-url http://prometheus-operated.monitoring.svc:9090")
	require.NoError(t, err)
	assert.Equal(t, golden(t, "standard-keda"), out)

	f := restProject()
	f.Deploy = &project.Deploy{Namespace: "models", DeploymentMode: "Standard", MinReplicas: new(1), MaxReplicas: 8,
		ScaleMetric: "concurrency", ScaleTarget: 8, PrometheusURL: "http://prometheus-operated.monitoring.svc:9090", MaxQueuedRequests: 64}
	out, _, err = runDeploy(t, "--dir "+writeProject(t, f))
	require.NoError(t, err)
	assert.Equal(t, golden(t, "standard-keda"), out)

	_, _, err = runDeploy(t, args)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "give --prometheus-url")
}

// --dashboard adds the Grafana dashboard's ConfigMap and --pod-monitor
// the PodMonitor after the InferenceService, in its namespace.
func TestDeploy_Dashboard(t *testing.T) {
	dir := writeProject(t, restProject())
	out, _, err := runDeploy(t, "--dir "+dir+" -n models --protocol v2 --dashboard --pod-monitor")
	require.NoError(t, err)
	assert.Equal(t, golden(t, "dashboard"), out)
	out, _, err = runDeploy(t, "--dir "+dir)
	require.NoError(t, err)
	assert.NotContains(t, out, "ConfigMap")
	assert.NotContains(t, out, "PodMonitor")
}

// --port takes several ports in Standard mode, in the order given (the
// first is the InferenceService URL's); Standard mode with --grpc exposes
// REST beside gRPC by itself, and --port h2c=PORT alone keeps gRPC alone.
func TestDeploy_StandardModePorts(t *testing.T) {
	f := restProject()
	f.Protocol, f.GRPC = project.ProtocolV2, true
	dir := writeProject(t, f)
	ports := func(out string) string {
		_, after, ok := strings.Cut(out, "        ports:\n")
		require.True(t, ok, out)
		before, _, _ := strings.Cut(after, "        env:\n")
		return before
	}
	const h2c = "          - name: h2c\n            containerPort: 8081\n            protocol: TCP\n"
	const http1 = "          - name: http1\n            containerPort: 8080\n            protocol: TCP\n"
	for args, want := range map[string]string{
		"--deployment-mode Standard":                                                  h2c + http1,
		"--deployment-mode Standard --port http1=8080 --port h2c=8081":                http1 + h2c,
		"--deployment-mode Standard --port http1=8080,h2c=8081":                       http1 + h2c,
		"--deployment-mode Standard --port h2c=8081":                                  h2c,
		"--deployment-mode Knative":                                                   h2c,
		"--deployment-mode Standard --logger-url http://sink.default --port h2c=8081": h2c,
	} {
		out, stderr, err := runDeploy(t, "--dir "+dir+" "+args)
		require.NoError(t, err, args)
		assert.Equal(t, want, ports(out), args)
		assert.NotContains(t, stderr, "not logged", args)
	}
	_, stderr, err := runDeploy(t, "--dir "+dir+" --deployment-mode Standard --logger-url http://sink.default --port h2c=8081 --port http1=8080")
	require.NoError(t, err)
	assert.Contains(t, stderr, "Warning: --port http1=8080 with --logger-url: KServe's agent, which logs the requests, sits in front of the first port alone")
}

func TestDeploy_TolerationAndPortParsing(t *testing.T) {
	assert.Equal(t, project.Toleration{Key: "k", Operator: "Equal", Value: "v", Effect: "NoExecute"}, parseToleration("k=v:NoExecute"))
	assert.Equal(t, project.Toleration{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}, parseToleration("nvidia.com/gpu:NoSchedule"))
	assert.Equal(t, project.Toleration{Key: "dedicated", Operator: "Exists"}, parseToleration("dedicated"))

	p, err := parsePort("h2c=8081")
	require.NoError(t, err)
	assert.Equal(t, deploy.Port{Name: "h2c", ContainerPort: 8081}, p)
	for _, bad := range []string{"h2c", "h2c=", "h2c=80x", "=", "8081"} {
		_, err := parsePort(bad)
		assert.EqualError(t, err, `--port "`+bad+`": want NAME=PORT, e.g. h2c=8081`, bad)
	}
}

func TestDeploy_Errors(t *testing.T) {
	dir := writeProject(t, restProject())
	tx := writeProject(t, transformerProject())
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		args string
		want string
	}{
		{"--dir " + dir + " --grpc", "--grpc: the gRPC endpoint speaks the Open Inference Protocol, so it needs --protocol=v2"},
		{"--dir " + dir + " --protocol v2 --grpc --port http1=8080 --port h2c=8081", "--port: Knative exposes exactly one container port, got 2 (http1=8080, h2c=8081): with --grpc only the h2c port is exposed; REST keeps running inside the pod for probes and metrics (KServe's Standard mode, --deployment-mode Standard, exposes both)"},
		{"--dir " + dir + " --gpu -1", "--gpu: must be 0 (CPU only) or more, got -1"},
		{"--dir " + dir + " --name Bad_Name", `--name: "Bad_Name" is not a DNS-1123 label`},
		{"--dir " + dir + " -n Prod", `--namespace: "Prod" is not a DNS-1123 label (try "prod"): `},
		{"--dir " + dir + " --min-replicas 3 --max-replicas 1", "--min-replicas 3 is more than --max-replicas 1"},
		{"--dir " + dir + " --canary-traffic-percent 120", "--canary-traffic-percent: must be between 0 and 100, got 120"},
		{"--dir " + dir + " --env NOVALUE", `--env "NOVALUE": want KEY=VALUE`},
		{"--dir " + dir + " --node-selector =x", `--node-selector "=x": want KEY=VALUE`},
		{"--dir " + dir + " --port h2c", `--port "h2c": want NAME=PORT, e.g. h2c=8081`},
		{"--dir " + dir + " --cluster-runtime", "--cluster-runtime needs --serving-runtime"},
		{"--dir " + dir + " --memory-limit 2GB", `--memory-limit: "2GB" is not a Kubernetes quantity (try "2G" or "2Gi"): a memory quantity is a number of bytes`},
		{"--dir " + dir + " --memory-limit 500m", `--memory-limit: "500m" is less than one byte (try "500Mi" or "500M"): m means thousandths; a memory quantity`},
		{"--dir " + dir + " --cpu-request 1.5cpu", `--cpu-request: "1.5cpu" is not a Kubernetes quantity (try "1500m"): a CPU quantity is a number of CPUs`},
		{"--dir " + dir + " --toleration gpu:NoSchedul", `--toleration "gpu:NoSchedul": effect "NoSchedul" is not NoSchedule, PreferNoSchedule or NoExecute`},
		{"--dir " + dir + " extra", `deploy takes no arguments, got "extra": the settings are flags (deploy --help lists them)`},
		{"--dir " + t.TempDir(), "no kserve-gen.yaml in "},
		{"--dir " + t.TempDir() + " --image r.example.com/x:v1", ": run `kserve-gen new` first, pass --dir, or give --name too (with --name and --image, deploy needs no project)"},
		{"--dir " + filepath.Join(dir, "kserve-gen.yaml"), filepath.Join(dir, "kserve-gen.yaml") + " is the project file, not its folder: pass --dir " + dir},
		{"--dir " + tx, `a transformer needs the predictor it calls: --predictor-image IMAGE (a predictor container serving model "custom-transformer"`},
		{"--dir " + tx + " --predictor-model-format sklearn", "--predictor-model-format sklearn needs --predictor-storage-uri"},
		{"--dir " + tx + " --predictor-image p --predictor-protocol grpc", `--predictor-protocol: "grpc" is not a predictor protocol; choose v1, v2 or grpc-v2`},
		{"--dir " + tx + " --predictor-image p --serving-runtime", "--serving-runtime: a transformer project deploys as spec.transformer"},
		{"--dir " + dir + " --predictor-image p", "--predictor-image is for transformer projects, which run in front of a predictor; this project's template is rest"},
		{"--dir " + dir + " --predictor-protocol v2", "--predictor-protocol is for transformer projects"},
		{"--dir " + missing + " --name x --image r.example.com/x:v1", "--dir " + missing + ": no such directory"},
		{"--dir " + dir + " --workers 0", "--workers: must be 1 or more, got 0"},
		{"--dir " + dir + " --startup-timeout 0s", "--startup-timeout: must be more than 0 (default 10m0s), got 0s"},
		{"--dir " + dir + " --env 1BAD=x", `--env: "1BAD" is not an environment variable name: a variable name is letters, digits, '_', '-' and '.', not starting with a digit or '..', and not '.'`},
		{"--dir " + dir + " -o " + filepath.Join(missing, "x.yaml"), "-o " + filepath.Join(missing, "x.yaml") + ": no such file or directory"},
		{"--dir " + dir + " -o " + dir, "-o " + dir + " is a folder: name the file to write, e.g. -o " + filepath.Join(dir, "isvc.yaml")},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			out, _, err := runDeploy(t, tt.args)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Empty(t, out, "nothing is printed on error")
		})
	}
}

// TestDeploy_ErrorsNameWhereTheValueCameFrom: a bad value read from
// kserve-gen.yaml is named by the file's field, one given as a flag by the
// flag; every error named the flag, which the user had not passed.
func TestDeploy_ErrorsNameWhereTheValueCameFrom(t *testing.T) {
	long := strings.Repeat("m", 50)
	for _, c := range []struct {
		name  string
		edit  func(f *project.File)
		flags string
		want  string
	}{
		{"storage URI from the file", func(f *project.File) { f.Deploy = &project.Deploy{StorageURI: "oci://Registry/Iris:v1"} }, "",
			`kserve-gen.yaml deploy.storageUri oci://Registry/Iris:v1: "Registry/Iris:v1" is not an image reference like registry.example.com/team/model:v1: could not parse reference: Registry/Iris:v1`},
		{"storage URI from the flag", func(f *project.File) { f.Deploy = &project.Deploy{StorageURI: "gs://b/m"} }, "--storage-uri oci://Registry/Iris:v1",
			`--storage-uri oci://Registry/Iris:v1: "Registry/Iris:v1" is not an image reference`},
		// A URI KServe's storage initializer cannot download failed the
		// pod's init container, after kubectl apply.
		{"bucket-less storage URI from the file", func(f *project.File) { f.Deploy = &project.Deploy{StorageURI: "s3://"} }, "",
			"kserve-gen.yaml deploy.storageUri s3://: no bucket: want s3://BUCKET[/PATH]"},
		{"scheme-less storage URI from the flag", func(f *project.File) { f.Deploy = &project.Deploy{StorageURI: "gs://b/m"} }, "--storage-uri foo/model",
			"--storage-uri foo/model: not a URI KServe's storage initializer can download: no scheme, and not an absolute path; give gs://BUCKET[/PATH], s3://BUCKET[/PATH], pvc://CLAIM[/PATH], hf://ORG/REPO[:REVISION], http(s)://HOST/PATH/FILE (Azure Blob and File URLs too), hdfs://PATH, webhdfs://PATH, oci://IMAGE (a modelcar), or a path under /mnt/models"},
		{"image from the file", func(f *project.File) { f.Image = "Registry/Model:v1" }, "",
			`kserve-gen.yaml image: "Registry/Model:v1" is not an image reference`},
		{"image from the flag", nil, "--image Registry/Model:v1", `--image: "Registry/Model:v1" is not an image reference`},
		{"name too long for Standard mode in the file", func(f *project.File) {
			f.Name, f.Module = long, long
			f.Deploy = &project.Deploy{DeploymentMode: "Standard", MinReplicas: new(1)}
		}, "", `kserve-gen.yaml name: "` + long + `" is 50 characters long; in Standard mode at most 48 are allowed`},
		{"name too long for Standard mode from the flags", nil, "--name " + long + " --deployment-mode Standard --min-replicas 1",
			`--name: "` + long + `" is 50 characters long; in Standard mode at most 48 are allowed`},
		{"service account from the file", func(f *project.File) { f.Deploy = &project.Deploy{ServiceAccountName: "Models_Reader"} }, "",
			`kserve-gen.yaml deploy.serviceAccountName: "Models_Reader" is not a Kubernetes name (try "models-reader"): a service account's name is`},
		{"service account from the flag over the file's", func(f *project.File) { f.Deploy = &project.Deploy{ServiceAccountName: "Models_Reader"} }, "--service-account Other_Reader",
			`--service-account: "Other_Reader" is not a Kubernetes name (try "other-reader"): a service account's name is`},
		{"env from the file", func(f *project.File) { f.Deploy = &project.Deploy{Env: []project.EnvVar{{Name: "1BAD", Value: "x"}}} }, "",
			`kserve-gen.yaml deploy.env: "1BAD" is not an environment variable name: a variable name is`},
		{"reserved env from the file", func(f *project.File) {
			f.Deploy = &project.Deploy{Env: []project.EnvVar{{Name: "STORAGE_URI", Value: "gs://b/m"}}}
		}, "", `kserve-gen.yaml deploy.env STORAGE_URI: set by kserve-gen itself; use deploy.storageUri, protocol or deploy.logLevel`},
		{"node selector from the file", func(f *project.File) { f.Deploy = &project.Deploy{NodeSelector: map[string]string{"pool": "gpu!"}} }, "",
			`kserve-gen.yaml deploy.nodeSelector pool: "gpu!" is not a label value: a label value is`},
		{"node selector from the flag over the file's", func(f *project.File) { f.Deploy = &project.Deploy{NodeSelector: map[string]string{"pool": "gpu"}} }, "--node-selector pool=gpu!",
			`--node-selector pool: "gpu!" is not a label value: a label value is`},
		{"container concurrency from the file", func(f *project.File) { f.Deploy = &project.Deploy{ContainerConcurrency: -1} }, "",
			"kserve-gen.yaml deploy.containerConcurrency: must be 0 (no limit) or more, got -1"},
		{"logger URL from the file", func(f *project.File) { f.Deploy = &project.Deploy{Logger: &project.Logger{URL: "message-dumper"}} }, "",
			`kserve-gen.yaml deploy.logger.url: "message-dumper" is not an http(s) URL`},
		// Resources and tolerations were named as neither: "resources:
		// requests.cpu", "toleration #1".
		{"cpu request from the flag over the file's limit", nil, "--cpu-request 3",
			"--cpu-request 3 is more than kserve-gen.yaml resources.limits.cpu 2"},
		{"cpu limit from the flag under the file's request", nil, "--cpu-limit 500m",
			"kserve-gen.yaml resources.requests.cpu 1 is more than --cpu-limit 500m"},
		{"memory limit from the flag", nil, "--memory-limit 2GB",
			`--memory-limit: "2GB" is not a Kubernetes quantity`},
		{"toleration from the file", func(f *project.File) {
			f.Deploy = &project.Deploy{Tolerations: []project.Toleration{{Key: "gpu", Operator: "Exists"}, {Key: "gpu", Operator: "Exists", Effect: "Never"}}}
		}, "", `kserve-gen.yaml deploy.tolerations #2: effect "Never" is not NoSchedule, PreferNoSchedule or NoExecute`},
		{"toleration from the flag after the file's", func(f *project.File) {
			f.Deploy = &project.Deploy{Tolerations: []project.Toleration{{Key: "gpu", Operator: "Exists"}}}
		}, "--toleration pool=a!", `--toleration "pool=a!": value "a!" is not a label value: a label value is`},
		{"trigger broker from the file", func(f *project.File) {
			f.Deploy = &project.Deploy{Trigger: &project.Trigger{Broker: "Default", Filter: map[string]string{"type": "com.example.image"}}}
		}, "", `kserve-gen.yaml deploy.trigger.broker: broker "Default" is not a Kubernetes name (try "default"): a broker's name is`},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := restProject()
			if c.edit != nil {
				c.edit(f)
			}
			args := "--dir " + writeProject(t, f)
			if c.flags != "" {
				args += " " + c.flags
			}
			out, _, err := runDeploy(t, args)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Empty(t, out)
		})
	}

	// A transformer's predictor from the file.
	tx := transformerProject()
	tx.Deploy = &project.Deploy{Predictor: &project.Predictor{Image: "Registry/Predictor:v1"}}
	_, _, err := runDeploy(t, "--dir "+writeProject(t, tx))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `kserve-gen.yaml deploy.predictor.image: "Registry/Predictor:v1" is not an image reference`)
	_, _, err = runDeploy(t, "--dir "+writeProject(t, tx)+" --predictor-image Registry/Other:v1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `--predictor-image: "Registry/Other:v1" is not an image reference`)

	tx.Deploy = &project.Deploy{Predictor: &project.Predictor{ModelFormat: "sklearn", StorageURI: "hf://bert"}}
	_, _, err = runDeploy(t, "--dir "+writeProject(t, tx))
	require.Error(t, err)
	assert.EqualError(t, err, "kserve-gen.yaml deploy.predictor.storageUri hf://bert: want hf://ORG/REPO[:REVISION], exactly one '/' between the organization and the repository (KServe's storage initializer downloads the whole repository)")
	_, _, err = runDeploy(t, "--dir "+writeProject(t, tx)+" --predictor-storage-uri pvc://")
	require.Error(t, err)
	assert.EqualError(t, err, "--predictor-storage-uri pvc://: no claim name: want pvc://CLAIM[/PATH], a PersistentVolumeClaim in the InferenceService's namespace")
}

// A storage URI whose scheme KServe's storage initializer does not know
// deploys, with a warning: KServe's controller refuses it unless a
// ClusterStorageContainer of the cluster claims it.
func TestDeploy_WarnsOfAStorageSchemeKServeDoesNotKnow(t *testing.T) {
	out, errOut, err := runDeploy(t, "--dir "+writeProject(t, restProject())+" --storage-uri gcs://bucket/model")
	require.NoError(t, err)
	assert.Contains(t, out, "value: gcs://bucket/model\n")
	assert.Equal(t, "Warning: --storage-uri gcs://bucket/model: KServe's storage initializer does not download gcs:// (it downloads gs://, s3://, pvc://, hf://, http(s)://, hdfs://, webhdfs:// and oci://), "+
		"and KServe's controller refuses the InferenceService (StorageURI not supported) unless the cluster has a ClusterStorageContainer for gcs://, as Kubeflow's Model Registry adds for model-registry://; did you mean gs://?\n", errOut)
}

// TestDeploy_EnvFlagReplacesTheSameName: --env overrides the project
// file's variable of that name, in its place, as every flag overrides the
// file; a name given twice keeps the last value.
func TestDeploy_EnvFlagReplacesTheSameName(t *testing.T) {
	f := restProject()
	f.Deploy = &project.Deploy{Env: []project.EnvVar{{Name: "FOO", Value: "0"}, {Name: "KEEP", Value: "k"}}}
	out, _, err := runDeploy(t, "--dir "+writeProject(t, f)+" --env FOO=1 --env BAR=2 --env BAR=3")
	require.NoError(t, err)
	assert.Contains(t, out, `
          - name: FOO
            value: "1"
          - name: KEEP
            value: k
          - name: BAR
            value: "3"
`)
	assert.Equal(t, 1, strings.Count(out, "name: FOO"), out)
	assert.Equal(t, 1, strings.Count(out, "name: BAR"), out)
}

func TestDeploy_InvalidProjectFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, project.FileName), []byte("name: m\nmodule: m\ntemplate: rest\nprotocol: v1\nreplicas: 2\n"), 0o644))
	_, _, err := runDeploy(t, "--dir "+dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, project.FileName))
	assert.Contains(t, err.Error(), `unknown field "replicas"`)
}

// TestDeploy_ProjectFileModuleExample: a module the go command refuses,
// read from kserve-gen.yaml, is answered with an example written as the
// file's field, not as new's --module flag, which deploy does not have.
func TestDeploy_ProjectFileModuleExample(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, project.FileName)
	require.NoError(t, os.WriteFile(file, []byte("name: m\nmodule: main\ntemplate: rest\nprotocol: v1\n"), 0o644))
	_, _, err := runDeploy(t, "--dir "+dir)
	require.EqualError(t, err, file+`: module: "main" is a name the go command reserves for a package pattern (go help packages), so go vet and go test refuse the project; give another, e.g. module: example.com/main`)
}

func TestDeploy_WithoutProjectFile(t *testing.T) {
	out, _, err := runDeploy(t, "--dir "+t.TempDir()+" --name custom-model --image docker.io/example/custom-model:v1"+
		" --cpu-request 1 --cpu-limit 2 --memory-request 1Gi --memory-limit 2Gi")
	require.NoError(t, err)
	assert.Equal(t, golden(t, "rest"), out)

	_, _, err = runDeploy(t, "--dir "+t.TempDir()+" --name custom-model")
	require.ErrorIs(t, err, deploy.ErrImageRequired)
}

func TestDeploy_OutputFile(t *testing.T) {
	dir := writeProject(t, restProject())
	file := filepath.Join(t.TempDir(), "isvc.yaml")
	out, _, err := runDeploy(t, "--dir "+dir+" -o "+file)
	require.NoError(t, err)
	assert.Empty(t, out)
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, golden(t, "rest"), string(data))
}

// --apply runs the real kubectl found on PATH; here a stand-in script that
// records its arguments and stdin, which is what kubectl would receive.
// -o never replaces a file with other content (it may hold the user's
// edits) unless --force; the same content is left as it is.
func TestDeploy_OutputFileIsNotOverwritten(t *testing.T) {
	dir := writeProject(t, restProject())
	file := filepath.Join(t.TempDir(), "isvc.yaml")
	edited := "# my edits\n" + golden(t, "rest")
	require.NoError(t, os.WriteFile(file, []byte(edited), 0o600))

	_, _, err := runDeploy(t, "--dir "+dir+" -o "+file)
	require.EqualError(t, err, file+" already exists and holds something else (edits of your own?); pass --force to replace it, or -o another file")
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, edited, string(data), "the user's file is untouched")

	_, _, err = runDeploy(t, "--dir "+dir+" -o "+file+" --force")
	require.NoError(t, err)
	data, err = os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, golden(t, "rest"), string(data))
	st, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the file keeps its permissions")

	// Writing the same manifests again needs no --force.
	_, _, err = runDeploy(t, "--dir "+dir+" -o "+file)
	require.NoError(t, err)

	_, _, err = runDeploy(t, "--dir "+dir+" --force")
	require.EqualError(t, err, "--force applies to -o FILE only: it lets -o replace an existing file")
}

// -o naming the project file itself is refused even with --force: that
// replaced kserve-gen.yaml, the settings deploy reads, with the manifests,
// and the next deploy could not read the project.
func TestDeploy_OutputIsNeverTheProjectFile(t *testing.T) {
	dir := writeProject(t, restProject())
	file := filepath.Join(dir, "kserve-gen.yaml")
	before, err := os.ReadFile(file)
	require.NoError(t, err)
	want := "-o " + file + " is the project file, kserve-gen.yaml, that deploy reads its settings from; write the manifests to another file, e.g. -o " + filepath.Join(dir, "isvc.yaml")
	for _, args := range []string{" -o " + file, " -o " + file + " --force", " -o " + dir + "/./kserve-gen.yaml --force"} {
		_, _, err = runDeploy(t, "--dir "+dir+args)
		require.Error(t, err, args)
		if !strings.Contains(args, "/./") {
			assert.EqualError(t, err, want, args)
		}
		after, err := os.ReadFile(file)
		require.NoError(t, err)
		assert.Equal(t, string(before), string(after), "the project file is untouched (%s)", args)
	}
}

func TestDeploy_ApplyPipesToKubectl(t *testing.T) {
	bin := t.TempDir()
	record := filepath.Join(t.TempDir(), "record")
	script := "#!/bin/sh\necho \"$@\" > " + record + ".args\ncat > " + record + ".stdin\necho inferenceservice.serving.kserve.io/custom-model created\n"
	require.NoError(t, os.WriteFile(filepath.Join(bin, "kubectl"), []byte(script), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	dir := writeProject(t, restProject())
	out, _, err := runDeploy(t, "--dir "+dir+" --apply")
	require.NoError(t, err)
	assert.Equal(t, "inferenceservice.serving.kserve.io/custom-model created\n", out)

	args, err := os.ReadFile(record + ".args")
	require.NoError(t, err)
	assert.Equal(t, "apply -f -\n", string(args))
	stdin, err := os.ReadFile(record + ".stdin")
	require.NoError(t, err)
	assert.Equal(t, golden(t, "rest"), string(stdin))
}

func TestDeploy_ApplyFailureIsReported(t *testing.T) {
	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "kubectl"), []byte("#!/bin/sh\ncat >/dev/null\necho 'error: no cluster' >&2\nexit 1\n"), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir := writeProject(t, restProject())
	_, errOut, err := runDeploy(t, "--dir "+dir+" --apply")
	require.EqualError(t, err, "kubectl apply: exit status 1")
	assert.Equal(t, "error: no cluster\n", errOut)
}

func TestDeploy_ApplyWithoutKubectl(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	dir := writeProject(t, restProject())
	out, _, err := runDeploy(t, "--dir "+dir+" --apply")
	require.ErrorIs(t, err, errNoKubectl)
	assert.True(t, strings.HasPrefix(err.Error(), "--apply needs kubectl on PATH; install kubectl, or drop --apply and run `kserve-gen deploy | kubectl apply -f -`"), err.Error())
	assert.Empty(t, out)
}

// With -o, a missing kubectl is found before the file is written: the
// command did half of what it was asked and failed, and a second run
// after installing kubectl would find the file there.
func TestDeploy_ApplyWithoutKubectlWritesNothing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	dir := writeProject(t, restProject())
	file := filepath.Join(t.TempDir(), "isvc.yaml")
	_, _, err := runDeploy(t, "--dir "+dir+" --apply -o "+file)
	require.ErrorIs(t, err, errNoKubectl)
	assert.NoFileExists(t, file)
}

// --pre-stop-sleep and deploy.preStopSleep set Standard mode's preStop
// sleep (default 5 s; 0 drops the hook), the flag over the file; in a mode
// that may be Knative, which refuses the hook, either is refused, named as
// the user wrote it.
func TestDeploy_PreStopSleep(t *testing.T) {
	const hook = "        lifecycle:\n          preStop:\n            sleep:\n              seconds: "
	f := restProject()
	f.Deploy = &project.Deploy{DeploymentMode: "Standard"}
	out, _, err := runDeploy(t, "--dir "+writeProject(t, f))
	require.NoError(t, err)
	assert.Contains(t, out, hook+"5\n")
	assert.Contains(t, out, "terminationGracePeriodSeconds: 70\n")

	f.Deploy.PreStopSleep = new(15)
	dir := writeProject(t, f)
	out, _, err = runDeploy(t, "--dir "+dir)
	require.NoError(t, err)
	assert.Contains(t, out, hook+"15\n")
	assert.Contains(t, out, "terminationGracePeriodSeconds: 80\n")
	out, _, err = runDeploy(t, "--dir "+dir+" --pre-stop-sleep 0")
	require.NoError(t, err)
	assert.NotContains(t, out, "lifecycle:")
	assert.Contains(t, out, "terminationGracePeriodSeconds: 65\n")

	_, _, err = runDeploy(t, "--dir "+dir+" --deployment-mode Knative")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kserve-gen.yaml deploy.preStopSleep 15: Knative refuses a lifecycle hook on the model server's container (--deployment-mode is Knative)")
	_, _, err = runDeploy(t, "--dir "+dir+" --deployment-mode Knative --pre-stop-sleep 0")
	require.NoError(t, err)
	_, _, err = runDeploy(t, "--dir "+writeProject(t, restProject())+" --pre-stop-sleep 10")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--pre-stop-sleep 10 is for Standard mode, and without --deployment-mode the cluster's default mode may be Knative")
	_, _, err = runDeploy(t, "--dir "+dir+" --pre-stop-sleep -1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--pre-stop-sleep: must be 0 (no delay) or more, got -1")
}

// A host label KServe's default ingress domainTemplate would make too long
// is a warning on stderr; the manifests are printed all the same.
func TestDeploy_WarnsOfAHostLabelTooLong(t *testing.T) {
	name, ns := "m"+strings.Repeat("x", 39), "team-"+strings.Repeat("n", 8)
	out, errOut, err := runDeploy(t, "--dir "+writeProject(t, restProject())+" --deployment-mode Standard --name "+name+" -n "+ns)
	require.NoError(t, err)
	assert.Contains(t, out, "name: "+name+"\n")
	assert.Equal(t, "Warning: with KServe's default ingress domainTemplate ({{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}), the predictor's host starts with the DNS label "+
		name+"-predictor-"+ns+", 64 characters, more than the 63 DNS allows, and KServe fails to reconcile the InferenceService (invalid domain name), so it never becomes ready; "+
		"shorten --name (40 characters) and --namespace (13 characters) by 1 together, unless the cluster's inferenceservice-config sets another domainTemplate\n", errOut)

	_, errOut, err = runDeploy(t, "--dir "+writeProject(t, restProject())+" --deployment-mode Knative --name "+name+" -n "+ns)
	require.NoError(t, err)
	assert.Empty(t, errOut)

	// Payload logging of a gRPC server.
	out, errOut, err = runDeploy(t, "--dir "+writeProject(t, restProject())+" --protocol v2 --grpc --logger-url http://message-dumper.default.svc.cluster.local")
	require.NoError(t, err)
	assert.Contains(t, out, "url: http://message-dumper.default.svc.cluster.local\n")
	assert.True(t, strings.HasPrefix(errOut, "Warning: --logger-url with --grpc: KServe's agent logs each gRPC call as its gRPC frame (content type application/grpc"), errOut)
}

func TestDeploy_Defaults(t *testing.T) {
	var got *deployOptions
	cmd := newCmdDeploy(&bytes.Buffer{}, &bytes.Buffer{}, func(o *deployOptions) error { got = o; return nil })
	cmd.SetArgs(nil)
	require.NoError(t, cmd.Execute())
	assert.Equal(t, ".", got.Dir)
	assert.Equal(t, 8080, got.HTTPPort)
	assert.Equal(t, 8081, got.GRPCPort)
	assert.Equal(t, 1, got.Workers)
	assert.Equal(t, 10*time.Minute, got.StartupTimeout)
	assert.False(t, got.Apply)
	assert.False(t, got.Changed("name"))
}

func TestKeyValues(t *testing.T) {
	into := map[string]string{}
	errs := keyValues("--trigger-filter", "type=x", []string{"type=a", "bad", "=v", "source="}, into)
	assert.Equal(t, map[string]string{"type": "a", "source": ""}, into)
	require.Len(t, errs, 2)
	assert.EqualError(t, errs[0], `--trigger-filter "bad": want KEY=VALUE, e.g. type=x`)
	assert.EqualError(t, errs[1], `--trigger-filter "=v": want KEY=VALUE, e.g. type=x`)
}

// A flag overrides the project file's value, a bad one too: the file's
// deploy section is checked once the flags are applied, and an error about
// a value the file still gives names its field as deploy's other errors
// do. It was refused before the flags were looked at, in the project
// package's words ("kserve-gen.yaml: deploy: minReplicas: ...").
func TestDeploy_FlagOverridesABadFileValue(t *testing.T) {
	dir := writeProject(t, restProject())
	file := filepath.Join(dir, project.FileName)
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, append(data, "deploy:\n  minReplicas: -1\n  workers: -2\n"...), 0o644))

	_, _, err = runDeploy(t, "--dir "+dir)
	require.EqualError(t, err, "kserve-gen.yaml deploy.workers: must be 1 or more, got -2\nkserve-gen.yaml deploy.minReplicas: must be 0 or more, got -1")

	out, _, err := runDeploy(t, "--dir "+dir+" --min-replicas 1 --workers 2")
	require.NoError(t, err)
	assert.Contains(t, out, "    minReplicas: 1\n")
	assert.Contains(t, out, "--workers=2")
}

// Every example in `kserve-gen deploy --help` runs as written in a project
// just as `kserve-gen new` wrote it, with no image in kserve-gen.yaml: the
// first thing a new user copies must not stop at "image is required". A
// transformer example runs in a transformer project; --apply goes to a
// kubectl stub.
func TestDeploy_HelpExamplesRunInANewProject(t *testing.T) {
	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "kubectl"), []byte("#!/bin/sh\ncat >/dev/null\n"), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	example := strings.ReplaceAll(newCmdDeploy(nil, nil, nil).Example, "\\\n", " ")
	var ran int
	for line := range strings.Lines(example) {
		args, ok := strings.CutPrefix(strings.TrimSpace(line), "kserve-gen deploy")
		if !ok {
			continue
		}
		ran++
		f := restProject()
		if strings.Contains(args, "--predictor-") {
			f = transformerProject()
		}
		f.Image = "" // kserve-gen new writes none
		t.Chdir(writeProject(t, f))
		_, errOut, err := runDeploy(t, args)
		assert.NoError(t, err, "kserve-gen deploy%s", args)
		assert.Empty(t, errOut, "kserve-gen deploy%s", args)
	}
	assert.Equal(t, 4, ran, "examples found in:\n%s", example)
}
