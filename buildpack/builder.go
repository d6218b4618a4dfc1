package buildpack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	pubbldr "github.com/buildpacks/pack/builder"
	"github.com/buildpacks/pack/pkg/client"
	"github.com/buildpacks/pack/pkg/dist"
)

// BuilderOptions describe the builder CreateBuilder makes.
type BuilderOptions struct {
	// Name is the builder image's reference (default DefaultBuilder).
	Name string
	// BuildImage is the image builds run in. kserve-gen's buildpack needs Go
	// (`go` on PATH, the version the project's go.mod asks for or newer), and
	// gcc for projects built with cgo (onnx); CNB_USER_ID and CNB_GROUP_ID set.
	BuildImage string
	// RunImage is the image the model server runs in (bash; glibc and
	// libstdc++ for ONNX Runtime); CNB_USER_ID and CNB_GROUP_ID set.
	RunImage string
	// Lifecycle is the CNB lifecycle archive's URI (file:// or https://);
	// empty means pack's default version, downloaded.
	Lifecycle string
	// PullPolicy is when base images are pulled: "if-not-present" (the
	// default), "always" or "never".
	PullPolicy string
	// Log receives pack's output; by default it is kept and returned within
	// the error when creating fails.
	Log io.Writer
}

// CreateBuilder makes a builder image holding kserve-gen's buildpack, on the
// given base images, in the engine.
func (e *Engine) CreateBuilder(ctx context.Context, opts BuilderOptions) error {
	if opts.Name == "" {
		opts.Name = DefaultBuilder
	}
	var missing []error
	if opts.BuildImage == "" {
		missing = append(missing, errors.New("the build image is required (--build-image)"))
	}
	if opts.RunImage == "" {
		missing = append(missing, errors.New("the run image is required (--run-image)"))
	}
	if err := errors.Join(missing...); err != nil {
		return err
	}
	pull, err := pullPolicy(opts.PullPolicy)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kserve-gen-buildpack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := WriteBuildpack(dir); err != nil {
		return err
	}
	var log bytes.Buffer
	w := io.Writer(&log)
	if opts.Log != nil {
		w = opts.Log
	}
	pc, err := e.pack(w)
	if err != nil {
		return err
	}
	cfg := pubbldr.Config{
		Description: "kserve-gen: Go model servers for KServe",
		Buildpacks: pubbldr.ModuleCollection{{
			ModuleInfo: dist.ModuleInfo{ID: BuildpackID, Version: BuildpackVersion},
			ImageOrURI: dist.ImageOrURI{BuildpackURI: dist.BuildpackURI{URI: dir}},
		}},
		Order:     dist.Order{{Group: []dist.ModuleRef{{ModuleInfo: dist.ModuleInfo{ID: BuildpackID, Version: BuildpackVersion}}}}},
		Lifecycle: pubbldr.LifecycleConfig{URI: opts.Lifecycle},
		Build:     pubbldr.BuildConfig{Image: opts.BuildImage},
		Run:       pubbldr.RunConfig{Images: []pubbldr.RunImageConfig{{Image: opts.RunImage}}},
	}
	err = pc.CreateBuilder(ctx, client.CreateBuilderOptions{
		BuilderName: opts.Name,
		Config:      cfg,
		Labels:      map[string]string{LabelBuildImage: opts.BuildImage, LabelRunImage: opts.RunImage},
		PullPolicy:  pull,
	})
	if err != nil {
		if opts.Log == nil && log.Len() > 0 {
			return fmt.Errorf("create builder %s: %w\n%s", opts.Name, err, bytes.TrimSpace(log.Bytes()))
		}
		return fmt.Errorf("create builder %s: %w", opts.Name, err)
	}
	return nil
}
