package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/kserve-gen/kserve-gen/buildpack"
	"github.com/kserve-gen/kserve-gen/project"
)

// buildOptions is what `kserve-gen build` parsed from its flags.
type buildOptions struct {
	Out    io.Writer
	ErrOut io.Writer

	Dir          string
	Image        string
	Builder      string
	TrustBuilder bool
	PullPolicy   string
	Env          []string
	ONNXRuntime  string
	Verbose      bool
	Publish      bool
}

func newCmdBuild(out, errOut io.Writer, runF func(*buildOptions) error) *cobra.Command {
	opts := &buildOptions{Out: out, ErrOut: errOut}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the project's container image with Cloud Native Buildpacks",
		Long: `Build the project into a container image in the local Docker engine, with
Cloud Native Buildpacks (the pack library) and, by default, kserve-gen's own
builder (` + buildpack.DefaultBuilder + `, made by 'kserve-gen builder create').

The build needs no network inside the build container: a copy of the project
is staged with its Go dependencies vendored (the project folder is not
changed), and an onnx project's image gets the ONNX Runtime library (the one
scripts/setup-onnx.sh installs, $ONNXRUNTIME_SHARED_LIBRARY_PATH, or
--onnxruntime). The image starts the Procfile's web command; push it with
--publish (or docker push) and print its manifest with kserve-gen deploy.
The image name is --image, else the image in kserve-gen.yaml (the one
kserve-gen deploy runs), else <name>:latest.`,
		Example: `  # build <name>:latest from the project in the current directory
  kserve-gen build

  # name the image for your registry, build and push it, then deploy it
  kserve-gen build --image registry.example.com/custom-model:v1 --publish
  kserve-gen deploy --image registry.example.com/custom-model:v1

  # the same with image: registry.example.com/custom-model:v1 in kserve-gen.yaml
  kserve-gen build --publish && kserve-gen deploy --apply`,
		Args: projectDirArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return interruptible(cmd.Context(), func(ctx context.Context) error { return buildRun(ctx, opts) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Dir, "dir", ".", "project directory holding "+project.FileName)
	f.StringVar(&opts.Image, "image", "", "image reference to write (default: image in kserve-gen.yaml, else the project's name, tag latest)")
	f.StringVar(&opts.Builder, "builder", buildpack.DefaultBuilder, "builder image")
	f.BoolVar(&opts.TrustBuilder, "trust-builder", false, "run all build phases in the builder's own container (always on for "+buildpack.DefaultBuilder+")")
	f.StringVar(&opts.PullPolicy, "pull-policy", "if-not-present", "when to pull the builder and run images: always, if-not-present or never")
	f.StringArrayVar(&opts.Env, "env", nil, "build-time environment variable `KEY=VALUE` (repeatable)")
	f.StringVar(&opts.ONNXRuntime, "onnxruntime", "", "onnx projects: the libonnxruntime.so the image gets (default: $ONNXRUNTIME_SHARED_LIBRARY_PATH, else scripts/setup-onnx.sh's)")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "show the builder's output as it goes (otherwise only when the build fails)")
	f.BoolVar(&opts.Publish, "publish", false, "push the image to its registry after the build (as docker push, with your Docker credentials)")
	completeWords(cmd, "pull-policy", pullPolicies...)
	_ = cmd.MarkFlagDirname("dir")
	return cmd
}

// pullPolicies are the --pull-policy values (buildpack.CheckPullPolicy).
var pullPolicies = []string{"always", "if-not-present", "never"}

// completeWords makes a flag that takes one of words complete them
// (and no file names, the shell's default for a flag's value).
func completeWords(cmd *cobra.Command, flag string, words ...string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(words, cobra.ShellCompDirectiveNoFileComp))
}

func buildRun(ctx context.Context, opts *buildOptions) error {
	env := map[string]string{}
	for _, kv := range opts.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("--env %q: want KEY=VALUE", kv)
		}
		env[k] = v
	}
	if err := buildpack.CheckPullPolicy(opts.PullPolicy); err != nil {
		return fmt.Errorf("--pull-policy: %w", err)
	}
	proj, err := buildpack.LoadProject(opts.Dir)
	if err != nil {
		return err // before the engine: the likelier mistake first
	}
	if err := buildpack.CheckImage(buildpack.ImageFor(proj, opts.Image)); err != nil {
		return err
	}
	if opts.Publish {
		if _, err := buildpack.Pushable(buildpack.ImageFor(proj, opts.Image)); err != nil {
			return err // before a build that could not be pushed
		}
	}
	e, err := buildpack.NewEngine(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	bo := buildpack.Options{
		Dir: opts.Dir, Image: opts.Image, Builder: opts.Builder, TrustBuilder: opts.TrustBuilder,
		PullPolicy: opts.PullPolicy, Env: env, ONNXRuntime: opts.ONNXRuntime,
	}
	if opts.Verbose {
		bo.Log = opts.ErrOut
	}
	fmt.Fprintf(opts.ErrOut, "Building %s from %s with %s...\n", buildpack.ImageFor(proj, opts.Image), dirName(opts.Dir), opts.Builder)
	res, err := e.Build(ctx, bo)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "Built %s in %s (builder %s", res.Image, res.Duration.Round(100*time.Millisecond), res.Builder)
	if res.ONNXRuntime != "" {
		fmt.Fprintf(opts.Out, "; ONNX Runtime from %s", res.ONNXRuntime)
	}
	if res.Project.Template == project.TemplateONNX && res.Project.GPU > 0 {
		// The buildpack adds ONNX Runtime's CUDA provider; the CUDA and cuDNN
		// libraries it loads come from the run image, which kserve-gen
		// cannot check.
		fmt.Fprintln(opts.ErrOut, "Note: the image runs on a GPU only if the builder's run image holds CUDA 13 and cuDNN 9 libraries; "+
			"kserve-gen deploy passes --device=cuda, so without them the pod fails at start with the reason.")
	}
	run, deploy := nextSteps(res.Project, res.Image)
	fmt.Fprintf(opts.Out, ").\n\n%s", run)
	if !opts.Publish {
		fmt.Fprint(opts.Out, pushSteps(res.Project, res.Image))
		return nil
	}
	fmt.Fprintf(opts.ErrOut, "Pushing %s...\n", res.Image)
	var pushLog io.Writer
	if opts.Verbose {
		pushLog = opts.ErrOut
	}
	digest, err := e.Push(ctx, res.Image, authn.DefaultKeychain, pushLog)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "\nPushed %s (%s). Print its InferenceService:\n  %s\n", res.Image, digest, deploy)
	return nil
}

// localPredictorPort is the port of the predictor a transformer
// project's README starts beside it (go run . --http_port=8085), which the
// transformer's container is pointed at.
const localPredictorPort = 8085

// nextSteps says how to run the image just built and which kserve-gen
// deploy prints its InferenceService. A transformer's container serves
// nothing without a predictor, so its docker run reaches the predictor the
// README starts on this machine (host.docker.internal: Docker Desktop knows
// it, a Linux engine through --add-host), and its deploy needs the
// predictor's image unless kserve-gen.yaml names a predictor.
func nextSteps(p *project.File, image string) (run, deploy string) {
	ports := "-p 8080:8080"
	if p.GRPC {
		ports += " -p 8081:8081"
	}
	deploy = "kserve-gen deploy --image " + image
	if image == p.Image {
		deploy = "kserve-gen deploy    # the image in " + project.FileName
	}
	if p.Template != project.TemplateTransformer {
		return fmt.Sprintf("Run it:\n  docker run --rm %s %s\n", ports, image), deploy
	}
	run = fmt.Sprintf("Run it, with a predictor serving model %s on this machine's port %d (README.md starts one):\n"+
		"  docker run --rm %s --add-host=host.docker.internal:host-gateway %s --predictor_host=host.docker.internal:%d\n",
		p.Name, localPredictorPort, ports, image, localPredictorPort)
	if d := p.Deploy; d == nil || d.Predictor == nil || (d.Predictor.Image == "" && d.Predictor.ModelFormat == "") {
		if image == p.Image {
			deploy = "kserve-gen deploy --predictor-image PREDICTOR_IMAGE    # the image in " + project.FileName
		} else {
			deploy += " --predictor-image PREDICTOR_IMAGE"
		}
	}
	return run, deploy
}

// pushSteps is what build prints, after a build without --publish, to push
// image and print its InferenceService. An image named without a registry
// (the default, NAME:latest) would go to Docker Hub's official library,
// which denies the push (and --publish refuses it before building), so for
// one the steps first tag it for a registry, as Pushable's error suggests.
func pushSteps(p *project.File, image string) string {
	_, deploy := nextSteps(p, image)
	if _, err := buildpack.Pushable(image); !errors.Is(err, buildpack.ErrNoRegistry) {
		return fmt.Sprintf("\nPush it and print its InferenceService:\n  docker push %s\n  %s\n", image, deploy)
	}
	r, err := name.ParseReference(image)
	if err != nil { // Pushable parsed it; unreachable
		return ""
	}
	tagged := "registry.example.com/team/" + strings.TrimPrefix(r.Context().RepositoryStr(), "library/") + ":" + r.Identifier()
	_, deploy = nextSteps(p, tagged)
	return fmt.Sprintf("\n%s names no registry (docker push would send it to Docker Hub's official library); "+
		"tag it for yours, push it and print its InferenceService:\n  docker tag %s %s\n  docker push %s\n  %s\n",
		image, image, tagged, tagged, deploy)
}

// interruptible runs f with a context that Ctrl+C (SIGINT) or SIGTERM
// cancels, and returns errInterrupted wrapping what f returned then. A
// build killed by the signal left its build container building in the
// Docker engine, with pack's ephemeral builder image, its volumes and the
// staged copy of the project; cancelled, pack removes them before f
// returns. A second signal, after the first cancelled f, kills as usual,
// in case the clean-up hangs.
func interruptible(parent context.Context, f func(context.Context) error) error {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := f(ctx)
	if ctx.Err() != nil && parent.Err() == nil {
		return fmt.Errorf("%w: %w", errInterrupted, err)
	}
	return err
}
