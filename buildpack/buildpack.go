// Package buildpack builds a project made by `kserve-gen new` into a
// container image with Cloud Native Buildpacks, through the pack library,
// and makes the builder it uses by default: kserve-gen's own buildpack (in
// cnb/) on base images the caller names.
//
// The build never needs the network inside the build container: Build
// stages a copy of the project with its Go dependencies vendored (and, for
// an onnx project, the ONNX Runtime library), and kserve-gen's buildpack
// compiles it with the build image's Go toolchain.
package buildpack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/buildpacks/pack/pkg/client"
	"github.com/buildpacks/pack/pkg/image"
	"github.com/buildpacks/pack/pkg/logging"
	cerrdefs "github.com/containerd/errdefs"
	dockerclient "github.com/docker/docker/client"
)

// The buildpack's identity (cnb/buildpack.toml says the same; a test checks).
const (
	BuildpackID      = "kserve-gen/go"
	BuildpackVersion = "0.1.0"
)

// DefaultBuilder is the builder Build uses when none is named: the one
// `kserve-gen builder create` makes by default (scripts/setup-buildpacks.sh
// makes it offline).
const DefaultBuilder = "kserve-gen/builder:latest"

// Labels CreateBuilder puts on the builder image: what it was made from, so
// a stale builder (an older buildpack, another Go) can be told apart and
// made again the same way.
const (
	LabelBuildpack  = "io.kserve-gen.buildpack" // BuildpackRef()
	LabelBuildImage = "io.kserve-gen.build-image"
	LabelRunImage   = "io.kserve-gen.run-image"
	LabelLifecycle  = "io.kserve-gen.lifecycle" // the --lifecycle URI; empty: pack's default
)

//go:embed cnb
var cnb embed.FS

// BuildpackRef names this kserve-gen's buildpack exactly: id, version and
// a digest of its files, which changes with any edit to them.
func BuildpackRef() string {
	h := sha256.New()
	err := fs.WalkDir(cnb, "cnb", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := cnb.ReadFile(p)
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(data))
		h.Write(data)
		return err
	})
	if err != nil {
		panic(err) // embedded files cannot fail to read
	}
	return fmt.Sprintf("%s@%s+%x", BuildpackID, BuildpackVersion, h.Sum(nil)[:6])
}

// WriteBuildpack writes kserve-gen's buildpack (buildpack.toml, bin/detect,
// bin/build) into dir, which must exist.
func WriteBuildpack(dir string) error {
	return fs.WalkDir(cnb, "cnb", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(p, "cnb")))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := cnb.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if path.Dir(p) == "cnb/bin" {
			mode = 0o755 // embed keeps no modes; the lifecycle executes these
		}
		if err := os.WriteFile(dst, data, mode); err != nil {
			return fmt.Errorf("write buildpack: %w", err)
		}
		return nil
	})
}

// Engine is the container engine pack builds with: a Docker API, from
// DOCKER_HOST and the other DOCKER_* variables, or the default socket.
type Engine struct {
	docker *dockerclient.Client
}

// NewEngine connects to the Docker engine and checks that it answers, so a
// missing engine is one clear error before any work starts.
func NewEngine(ctx context.Context) (*Engine, error) {
	dc, err := dockerclient.NewClientWithOpts(dockerclient.FromEnv, dockerclient.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	if _, err := dc.Ping(ctx); err != nil {
		dc.Close()
		return nil, fmt.Errorf("no Docker engine answers at %s: start one (e.g. dockerd; scripts/setup-buildpacks.sh does) or point DOCKER_HOST at one: %w", dc.DaemonHost(), err)
	}
	return &Engine{docker: dc}, nil
}

// Close releases the engine's connection.
func (e *Engine) Close() error { return e.docker.Close() }

// ImageExists reports whether the engine holds image ref.
func (e *Engine) ImageExists(ctx context.Context, ref string) (bool, error) {
	_, _, ok, err := e.imageInfo(ctx, ref)
	return ok, err
}

// imageInfo returns image ref's id and labels, ok false when the engine
// has no such image.
func (e *Engine) imageInfo(ctx context.Context, ref string) (id string, labels map[string]string, ok bool, err error) {
	info, err := e.docker.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	if info.Config != nil {
		labels = info.Config.Labels
	}
	return info.ID, labels, true, nil
}

// ansiEscape matches the colour sequences pack's logger writes.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// pack returns a pack client on the engine logging to log, or, when log
// is nil, to a buffer that the returned fail function adds to an error, so
// pack's verbose output is shown only when it failed.
func (e *Engine) pack(log io.Writer) (c *client.Client, w io.Writer, fail func(error) error, err error) {
	var buf bytes.Buffer
	w, fail = log, func(err error) error { return err }
	if log == nil {
		w = &buf
		fail = func(err error) error {
			if buf.Len() == 0 {
				return err
			}
			// Without pack's terminal colours: the error may end up in a file.
			return fmt.Errorf("%w\n%s", err, bytes.TrimSpace(ansiEscape.ReplaceAll(buf.Bytes(), nil)))
		}
	}
	c, err = client.NewClient(client.WithDockerClient(cancelSafe{e.docker}), client.WithLogger(logging.NewLogWithWriters(w, w)))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("pack client: %w", err)
	}
	return c, w, fail, nil
}

// pullPolicy parses a pull policy; empty is "if-not-present", so images
// the engine holds are used as they are.
func pullPolicy(s string) (image.PullPolicy, error) {
	if s == "" {
		return image.PullIfNotPresent, nil
	}
	p, err := image.ParsePullPolicy(s)
	if err != nil {
		return 0, fmt.Errorf("pull policy %q: want always, if-not-present or never", s)
	}
	return p, nil
}

// CheckPullPolicy reports whether s is a pull policy Build takes, so a
// command can refuse a mistyped one before it talks to the engine.
func CheckPullPolicy(s string) error {
	_, err := pullPolicy(s)
	return err
}

// errBuilderMissing explains how to get the default builder.
var errBuilderMissing = errors.New("create it with `kserve-gen builder create --build-image IMAGE --run-image IMAGE` " +
	"(scripts/setup-buildpacks.sh makes local base images and creates it with no registry), or name another builder with --builder")
