package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// RuntimeModulePath is the import path of the model-server library every
// generated project links.
const RuntimeModulePath = "github.com/kserve-gen/kserve-gen/runtime"

// RuntimeVersion is the version generated go.mod files require. The module
// is not published, so the requirement is the zero pseudo-version `go mod
// tidy` itself writes for a module that only a replace directive provides.
const RuntimeVersion = "v0.0.0-00010101000000-000000000000"

// RuntimeModule is a local copy of the runtime module (a kserve-gen
// checkout's runtime/ folder). Its requirements and go.sum are copied into
// the generated project, so the project builds offline from the module
// cache the checkout's own build already filled.
type RuntimeModule struct {
	// Dir is the absolute path of the folder holding the runtime's go.mod.
	Dir string
	// Go is the runtime's go directive (e.g. 1.26.0).
	Go string
	// Require lists the runtime's requirements in go.mod order.
	Require []module.Version
	// Sum is the runtime's go.sum.
	Sum []byte
}

// LoadRuntime reads the runtime module in dir (the folder holding its
// go.mod) and checks that it is the kserve-gen runtime.
func LoadRuntime(dir string) (*RuntimeModule, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("runtime path %s: %w", dir, err)
	}
	gomod := filepath.Join(abs, "go.mod")
	data, err := os.ReadFile(gomod)
	if err != nil {
		return nil, fmt.Errorf("runtime path %s: %w", dir, err)
	}
	f, err := modfile.ParseLax(gomod, data, nil)
	if err != nil {
		return nil, fmt.Errorf("runtime path %s: %w", dir, err)
	}
	if f.Module == nil || f.Module.Mod.Path != RuntimeModulePath {
		got := "no module line"
		if f.Module != nil {
			got = "module " + f.Module.Mod.Path
		}
		hint := ""
		if sub := filepath.Join(dir, "runtime"); isRuntimeModule(sub) {
			// A kserve-gen checkout's root: its runtime is one folder down.
			hint = "; the runtime is its runtime folder: --runtime-path " + sub
		}
		return nil, fmt.Errorf("runtime path %s: %s has %s, want module %s%s", dir, gomod, got, RuntimeModulePath, hint)
	}
	rt := &RuntimeModule{Dir: abs}
	if f.Go != nil {
		rt.Go = f.Go.Version
	}
	for _, r := range f.Require {
		rt.Require = append(rt.Require, r.Mod)
	}
	sum, err := os.ReadFile(filepath.Join(abs, "go.sum"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("runtime path %s: %w", dir, err)
	}
	rt.Sum = sum
	return rt, nil
}

// FindRuntime looks for the runtime module from each start folder upwards:
// a folder that is the runtime module, or that holds it as runtime/ (a
// kserve-gen checkout). It returns the first folder found, or "" when no
// start lies in a checkout.
func FindRuntime(starts ...string) string {
	for _, start := range starts {
		if start == "" {
			continue
		}
		dir, err := filepath.Abs(start)
		if err != nil {
			continue
		}
		for {
			for _, cand := range []string{dir, filepath.Join(dir, "runtime")} {
				if isRuntimeModule(cand) {
					return cand
				}
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return ""
}

func isRuntimeModule(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	return modfile.ModulePath(data) == RuntimeModulePath
}
