package main

import (
	"github.com/spf13/cobra"
)

func newCmdRoot(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "kserve-gen",
		Short: "Scaffold, build and deploy Go model servers for KServe",
		Long: `kserve-gen writes Go model servers for KServe and takes them to a cluster.

  kserve-gen new custom-model     write a project (asks in a form on a terminal)
  cd custom-model && go test ./... && go run .
  kserve-gen build                build its container image (Cloud Native Buildpacks)
  kserve-gen deploy --image IMAGE
                                  print its InferenceService YAML
  kserve-gen modelcar ./model --image IMAGE
                                  package a model folder as a KServe modelcar image`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version (and -v), as most CLIs take, prints what version does.
		Version: versionString(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(suggestFlag)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.AddCommand(
		newCmdNew(f, nil),
		newCmdVersion(f),
		newCmdBuild(f.IO.Out, f.IO.ErrOut, nil),
		newCmdBuilder(f.IO.Out, f.IO.ErrOut, nil),
		newCmdDeploy(f.IO.Out, f.IO.ErrOut, nil),
		newCmdModelcar(f.IO.Out, f.IO.ErrOut, nil),
	)
	return root
}
