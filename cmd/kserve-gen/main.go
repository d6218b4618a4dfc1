// Command kserve-gen scaffolds, builds and deploys Go model servers for
// KServe. The commands are thin: they parse flags (or ask in a terminal
// form) and call the generator, buildpack and deploy packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
)

func main() {
	os.Exit(run(context.Background(), newFactory(), os.Args[1:]))
}

// run executes the command line args and returns the exit status: 0, 1 on
// an error, 130 when the user left the form or interrupted a build.
func run(ctx context.Context, f *factory, args []string) int {
	cmd := newCmdRoot(f)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(f.IO.ErrOut, "Error:", err)
		if errors.Is(err, errAborted) || errors.Is(err, errInterrupted) {
			return 130
		}
		return 1
	}
	return 0
}

// errInterrupted is returned by a command that Ctrl+C or SIGTERM stopped
// (interruptible).
var errInterrupted = errors.New("interrupted")

// factory carries what commands share and tests replace.
type factory struct {
	IO       *IOStreams
	Prompter Prompter
	// RuntimeSearch lists folders from which `new` looks for a kserve-gen
	// checkout's runtime module when --runtime-path is not given: first
	// this binary's own checkout ("" when it recorded none), which is
	// trusted, then others, whose runtime `new` names when it uses it.
	RuntimeSearch func() []string
}

func newFactory() *factory {
	io := SystemIO()
	return &factory{
		IO:            io,
		Prompter:      newHuhPrompter(io, os.Getenv),
		RuntimeSearch: defaultRuntimeSearch,
	}
}

// defaultRuntimeSearch starts from the folder this file was compiled from,
// then from the current directory: `go run ./cmd/kserve-gen` and a binary
// built in a checkout use their own checkout's runtime wherever they are
// run — the one their templates were written for, and not one a folder
// above the current directory happens to hold (a go.mod anyone can write,
// whose code the project's first `go test` would run). A -trimpath build
// records no folder; then the current directory's checkout is used, and
// named.
func defaultRuntimeSearch() []string {
	own := ""
	if _, file, _, ok := goruntime.Caller(0); ok && filepath.IsAbs(file) {
		own = filepath.Dir(file)
	}
	dirs := []string{own}
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, wd)
	}
	return dirs
}
