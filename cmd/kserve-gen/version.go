package main

import (
	"fmt"
	goruntime "runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/kserve-gen/kserve-gen/generator"
)

func newCmdVersion(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the kserve-gen version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(f.IO.Out, versionString())
			return err
		},
	}
}

// versionString is "kserve-gen VERSION (REVISION) GOVERSION OS/ARCH"; the
// version is the module version `go install` recorded, or (devel).
func versionString() string {
	version, rev := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " (" + s.Value[:12] + ")"
			}
		}
	}
	return fmt.Sprintf("kserve-gen %s%s %s %s/%s; generated projects require %s",
		version, rev, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH, generator.RuntimeModulePath)
}
