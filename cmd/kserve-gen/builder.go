package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kserve-gen/kserve-gen/buildpack"
)

// builderCreateOptions is what `kserve-gen builder create` parsed.
type builderCreateOptions struct {
	Out    io.Writer
	ErrOut io.Writer

	Name       string
	BuildImage string
	RunImage   string
	Lifecycle  string
	PullPolicy string
	Force      bool
	Verbose    bool
}

func newCmdBuilder(out, errOut io.Writer, runF func(*builderCreateOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "builder",
		Short: "Manage the Cloud Native Buildpacks builder kserve-gen build uses",
		Args:  cobra.NoArgs,
	}
	opts := &builderCreateOptions{Out: out, ErrOut: errOut}
	create := &cobra.Command{
		Use:   "create [NAME]",
		Short: "Make a builder image holding kserve-gen's buildpack",
		Long: `Make a builder image (default ` + buildpack.DefaultBuilder + `) in the local Docker
engine: kserve-gen's buildpack, which compiles a kserve-gen project with the
build image's Go toolchain from vendored dependencies and starts the
Procfile's web command, on the base images you name.

The build image needs Go on PATH (at least the version the projects' go.mod
files ask for), gcc for onnx projects (cgo), and CNB_USER_ID/CNB_GROUP_ID;
the run image needs bash, and glibc and libstdc++ for ONNX Runtime.
scripts/setup-buildpacks.sh makes both from Debian with debootstrap and a
lifecycle from its Go module, so no registry is needed; without --lifecycle,
pack downloads its default lifecycle.`,
		Example: `  kserve-gen builder create --build-image kserve-gen/cnb-build:bookworm-go1.26.8 \
    --run-image kserve-gen/cnb-run:bookworm \
    --lifecycle file:///root/.cache/kserve-gen/buildpacks/lifecycle-v0.20.19+linux.x86-64.tgz`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Name = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return builderCreateRun(cmd.Context(), opts)
		},
	}
	f := create.Flags()
	f.StringVar(&opts.BuildImage, "build-image", "", "image builds run in (Go, gcc, CNB user)")
	f.StringVar(&opts.RunImage, "run-image", "", "image the model server runs in")
	f.StringVar(&opts.Lifecycle, "lifecycle", "", "CNB lifecycle archive `URI` (file:// or https://; default: pack's version, downloaded)")
	f.StringVar(&opts.PullPolicy, "pull-policy", "if-not-present", "when to pull the base images: always, if-not-present or never")
	f.BoolVar(&opts.Force, "force", false, "make the builder even when one made the same way exists")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "show pack's output as it goes (otherwise only when creating fails)")
	completeWords(create, "pull-policy", pullPolicies...)
	cmd.AddCommand(create)
	return cmd
}

func builderCreateRun(ctx context.Context, opts *builderCreateOptions) error {
	e, err := buildpack.NewEngine(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	bo := buildpack.BuilderOptions{Name: opts.Name, BuildImage: opts.BuildImage, RunImage: opts.RunImage,
		Lifecycle: opts.Lifecycle, PullPolicy: opts.PullPolicy, Force: opts.Force}
	if opts.Verbose {
		bo.Log = opts.ErrOut
	}
	created, err := e.CreateBuilder(ctx, bo)
	if err != nil {
		return err
	}
	name := opts.Name
	if name == "" {
		name = buildpack.DefaultBuilder
	}
	if !created {
		fmt.Fprintf(opts.Out, "Builder %s is up to date (%s; build image %s, run image %s).\n", name, buildpack.BuildpackRef(), opts.BuildImage, opts.RunImage)
		return nil
	}
	fmt.Fprintf(opts.Out, "Created builder %s (%s; build image %s, run image %s).\n", name, buildpack.BuildpackRef(), opts.BuildImage, opts.RunImage)
	return nil
}
