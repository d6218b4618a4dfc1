package generator

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
)

// Workspace is the Go workspace (go.work) a written project falls under.
type Workspace struct {
	File   string // the go.work file
	Listed bool   // whether it has a use directive for the project
}

// UseCommand is the command that adds dir to the workspace, runnable from
// any folder.
func (w Workspace) UseCommand(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	root := filepath.Dir(w.File)
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return "", err
	}
	return "go work use -C " + ShellPath(root) + " " + ShellPath("./"+filepath.ToSlash(rel)), nil
}

// FindWorkspace reports the go.work that go commands run in dir would use,
// as the go command finds it (GOWORK, else the nearest go.work above dir),
// and whether it lists dir. ok is false when there is none or GOWORK=off.
// A project inside a workspace that does not list it cannot be built there:
// "directory prefix . does not contain modules listed in go.work".
func FindWorkspace(ctx context.Context, goBin, dir string) (w Workspace, ok bool, err error) {
	cmd := exec.CommandContext(ctx, goBin, "env", "GOWORK")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Workspace{}, false, fmt.Errorf("go env GOWORK in %s: %w: %s", dir, err, strings.TrimSpace(stderr.String()))
	}
	file := strings.TrimSpace(string(out))
	if file == "" || file == "off" {
		return Workspace{}, false, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return Workspace{}, false, fmt.Errorf("workspace file: %w", err)
	}
	wf, err := modfile.ParseWork(file, data, nil)
	if err != nil {
		return Workspace{}, false, fmt.Errorf("workspace file: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Workspace{}, false, err
	}
	w = Workspace{File: file}
	for _, u := range wf.Use {
		p := filepath.FromSlash(u.Path)
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(file), p)
		}
		if filepath.Clean(p) == abs {
			w.Listed = true
		}
	}
	return w, true, nil
}

// ShellPath writes path as one word of a POSIX shell command line: as it is
// when every character is one no shell treats specially
// ([A-Za-z0-9_./,:@%+=-]), else in single quotes; a path starting with a
// dash gets ./ first, so cd or go work use does not take it for a flag.
func ShellPath(path string) string {
	if strings.HasPrefix(path, "-") {
		path = "./" + path
	}
	if path != "" && strings.IndexFunc(path, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_./,:@%+=-", r))
	}) < 0 {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
