package buildpack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	pubbldr "github.com/buildpacks/pack/builder"
	"github.com/buildpacks/pack/pkg/client"
	"github.com/buildpacks/pack/pkg/dist"
	"github.com/docker/docker/api/types/image"
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
	// Force makes the builder even when one made the same way exists.
	Force bool
	// Log receives pack's output; by default it is kept and returned within
	// the error when creating fails.
	Log io.Writer
}

// labels are the builder's labels: what it is made from.
func (o BuilderOptions) labels() map[string]string {
	return map[string]string{LabelBuildpack: BuildpackRef(), LabelBuildImage: o.BuildImage,
		LabelRunImage: o.RunImage, LabelLifecycle: o.Lifecycle}
}

// CreateBuilder makes a builder image holding kserve-gen's buildpack, on the
// given base images, in the engine. A builder of that name made the same
// way (same buildpack, base images and lifecycle; see the labels) is kept
// unless opts.Force: created reports which happened.
func (e *Engine) CreateBuilder(ctx context.Context, opts BuilderOptions) (created bool, err error) {
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
		return false, err
	}
	pull, err := pullPolicy(opts.PullPolicy)
	if err != nil {
		return false, err
	}
	want := opts.labels()
	oldID, have, exists, err := e.imageInfo(ctx, opts.Name)
	if err != nil {
		return false, err
	}
	if exists && !opts.Force && sameLabels(want, have) {
		return false, nil
	}
	dir, err := os.MkdirTemp("", "kserve-gen-buildpack-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	if err := WriteBuildpack(dir); err != nil {
		return false, err
	}
	pc, _, fail, err := e.pack(opts.Log)
	if err != nil {
		return false, err
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
		Labels:      want,
		PullPolicy:  pull,
	})
	if err != nil {
		return false, fail(fmt.Errorf("create builder %s: %w", opts.Name, err))
	}
	if exists {
		e.removeReplaced(ctx, opts.Name, oldID)
	}
	return true, nil
}

// removeReplaced removes the builder image that name pointed at before it
// was made again (a builder is about 600 MB; left alone, every remake
// would keep one more untagged). An image that another tag or a container
// still uses stays: the engine refuses, and that is fine.
func (e *Engine) removeReplaced(ctx context.Context, name, oldID string) {
	newID, _, _, err := e.imageInfo(ctx, name)
	if err != nil || newID == oldID {
		return
	}
	_, _ = e.docker.ImageRemove(ctx, oldID, image.RemoveOptions{PruneChildren: true})
}

// sameLabels reports whether have carries every label of want with the
// same value (the image has others: pack's own).
func sameLabels(want, have map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}
