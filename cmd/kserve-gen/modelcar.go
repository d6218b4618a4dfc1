package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/kserve-gen/kserve-gen/buildpack"
	"github.com/kserve-gen/kserve-gen/modelcar"
	"github.com/kserve-gen/kserve-gen/project"
)

// defaultModelcarBase is the base KServe's modelcar documentation uses:
// the modelcar sidecar needs a shell and sleep.
const defaultModelcarBase = "busybox:latest"

// modelcarOptions is what `kserve-gen modelcar` parsed.
type modelcarOptions struct {
	Out    io.Writer
	ErrOut io.Writer

	Dir      string
	Image    string
	Base     string
	Platform string
	Publish  bool
}

func newCmdModelcar(out, errOut io.Writer, runF func(*modelcarOptions) error) *cobra.Command {
	opts := &modelcarOptions{Out: out, ErrOut: errOut}
	cmd := &cobra.Command{
		Use:   "modelcar DIR [--image IMAGE]",
		Short: "Package a model folder as a KServe modelcar image",
		Long: `Package a model folder as a KServe modelcar image: a base image with a shell
(` + defaultModelcarBase + ` by default, as in KServe's documentation; KServe's
modelcar sidecar runs sh) and one layer holding DIR's files under /models.
On a cluster with modelcars enabled, storageUri: oci://IMAGE mounts that folder
at /mnt/models without a download; off the cluster, STORAGE_URI=oci://IMAGE
makes a kserve-gen server download it.

The layer is reproducible (files sorted, owned by root, a fixed time), so the
same files always make the same layer and a registry or a node keeps one copy.
The image goes to the local Docker engine; --publish also pushes it, as
docker push does, with your Docker credentials. The base image is taken from
the engine when it has it, else from its registry. In a project whose
kserve-gen.yaml sets deploy.storageUri to an oci:// URI, that is the image
written when --image is not given, so modelcar and deploy agree.`,
		Example: `  # package ./model and push it, then deploy a project that reads it
  kserve-gen modelcar ./model --image registry.example.com/models/iris:v1 --publish
  kserve-gen deploy --storage-uri oci://registry.example.com/models/iris:v1

  # serve it locally from the registry
  STORAGE_URI=oci://registry.example.com/models/iris:v1 go run .`,
		Args: folderArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if runF != nil {
				return runF(opts)
			}
			// Interrupted, it removes the base image it saved from the
			// engine into the temporary folder (the whole image: 131 MB for
			// kserve-gen's run image); killed by the signal, it left it.
			return interruptible(cmd.Context(), func(ctx context.Context) error { return modelcarRun(ctx, opts) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Image, "image", "", "image reference to write, e.g. registry.example.com/models/iris:v1 (default: deploy.storageUri in kserve-gen.yaml, when it is an oci:// URI)")
	f.StringVar(&opts.Base, "base", defaultModelcarBase, "base image: it needs sh and sleep for KServe's modelcar sidecar")
	f.StringVar(&opts.Platform, "platform", "linux/"+runtime.GOARCH, "platform of the base image, when it comes from a registry with several; several (linux/amd64,linux/arm64) or all make a multi-platform image (with --publish)")
	f.BoolVar(&opts.Publish, "publish", false, "push the image to its registry (as docker push, with your Docker credentials)")
	return cmd
}

func modelcarRun(ctx context.Context, opts *modelcarOptions) error {
	if opts.Image == "" {
		// The project's own model image, as kserve-gen deploy passes it.
		pf, err := project.Load(".")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err // a broken project file is reported, not passed over
		}
		if pf == nil || pf.Deploy == nil || !strings.HasPrefix(pf.Deploy.StorageURI, "oci://") {
			return fmt.Errorf("--image is required (or deploy.storageUri: oci://IMAGE in the %s of the current folder)", project.FileName)
		}
		opts.Image = strings.TrimPrefix(pf.Deploy.StorageURI, "oci://")
		fmt.Fprintf(opts.ErrOut, "Image %s: deploy.storageUri in %s\n", opts.Image, project.FileName)
	}
	tag, err := name.NewTag(opts.Image)
	if err != nil {
		return fmt.Errorf("--image %q: want an image name with a tag: %w", opts.Image, err)
	}
	if opts.Publish {
		if _, err := buildpack.Pushable(opts.Image); err != nil {
			return err
		}
	}
	baseRef, err := name.ParseReference(opts.Base)
	if err != nil {
		return fmt.Errorf("--base %q: %w", opts.Base, err)
	}
	platforms, err := parsePlatforms(opts.Platform)
	if err != nil {
		return err
	}
	if platforms.many() && !opts.Publish {
		return fmt.Errorf("--platform %s makes an image index, which the Docker engine cannot hold: add --publish to push it to its registry", opts.Platform)
	}
	folder, err := modelcar.Scan(opts.Dir)
	if err != nil {
		return err // before the engine: the likelier mistake first
	}
	if platforms.many() {
		return publishIndex(ctx, opts, tag, baseRef, platforms, folder)
	}
	platform := &platforms.list[0]
	stats := folder.Stats
	start := time.Now()
	base, where, done, err := baseImage(ctx, baseRef, platform)
	if err != nil {
		return err
	}
	defer done()
	mt, err := modelcar.LayerType(base)
	if err != nil {
		return fmt.Errorf("base image %s: %w", opts.Base, err)
	}
	layer, err := folder.Layer(mt)
	if err != nil {
		return err
	}
	img, err := modelcar.Build(base, layer, opts.Dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.ErrOut, "Writing %s (%d files, %s, on %s from %s) to the Docker engine...\n", tag, stats.Files, humanSize(stats.Bytes), opts.Base, where)
	if _, err := daemon.Write(tag, img, daemon.WithContext(ctx)); err != nil {
		return fmt.Errorf("writing %s to the Docker engine: %w", tag, err)
	}
	digest, err := layer.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "Built %s in %s: %s holds %d files (%s), layer %s.\n", tag, time.Since(start).Round(100*time.Millisecond),
		modelcar.ModelsDir, stats.Files, humanSize(stats.Bytes), digest)
	uri := "oci://" + tag.String()
	if opts.Publish {
		e, err := buildpack.NewEngine(ctx)
		if err != nil {
			return err
		}
		defer e.Close()
		fmt.Fprintf(opts.ErrOut, "Pushing %s...\n", tag)
		d, err := e.Push(ctx, tag.String(), authn.DefaultKeychain, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.Out, "Pushed %s (%s).\n", tag, d)
	} else {
		fmt.Fprintf(opts.Out, "\nPush it:\n  docker push %s\n", tag)
	}
	serveHint(opts.Out, uri)
	return nil
}

// serveHint says how to use the pushed modelcar.
// deploy takes the server's image from the project of the current folder;
// elsewhere, or in a project that names none, it needs --image, without
// which the printed command stopped with "image is required".
func serveHint(w io.Writer, uri string) {
	deploy := "kserve-gen deploy --storage-uri " + uri + "        # KServe mounts it at /mnt/models"
	if pf, err := project.Load("."); err != nil || pf.Image == "" {
		deploy = "kserve-gen deploy --image SERVER_IMAGE --storage-uri " + uri + "        # the model server's image (kserve-gen build's); KServe mounts the model at /mnt/models"
	}
	fmt.Fprintf(w, "\nServe it:\n  %s\n  STORAGE_URI=%s go run .      # a kserve-gen project downloads it\n", deploy, uri)
}

// baseImage finds the base image in the Docker engine, else in its
// registry (for platform), with the user's Docker credentials. done
// removes what reading it from the engine left on disk.
func baseImage(ctx context.Context, ref name.Reference, platform *v1.Platform) (img v1.Image, where string, done func(), err error) {
	engine, engineErr := newSavedOnce()
	if engineErr == nil {
		img, engineErr = daemon.Image(ref, daemon.WithContext(ctx), daemon.WithClient(engine), daemon.WithUnbufferedOpener())
		if engineErr == nil {
			return img, "the Docker engine", engine.close, nil
		}
		engine.close()
	}
	img, err = remote.Image(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithPlatform(*platform))
	if err != nil {
		return nil, "", nil, fmt.Errorf("base image %s: not in the Docker engine (%v), nor from its registry: %w", ref, engineErr, err)
	}
	return img, ref.Context().RegistryStr(), func() {}, nil
}

// savedOnce is a Docker engine client whose ImageSave runs once, into a
// file of ours, and is answered from that file after: an image read from
// the engine is opened once per layer, and a large base is not held in
// memory. ggcr's own file buffer (daemon.WithFileBufferedOpener) is removed
// only when the garbage collector finalises the image, which a command that
// exits never waits for: each modelcar build left its base's tar (131 MB
// for kserve-gen's run image) in the temporary folder.
type savedOnce struct {
	*client.Client
	dir string

	once sync.Once
	path string
	err  error
}

func newSavedOnce() (*savedOnce, error) {
	c, err := client.New(client.FromEnv)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kserve-gen-modelcar-")
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return &savedOnce{Client: c, dir: dir}, nil
}

// ImageSave saves the images into the client's folder the first time and
// opens that file every time.
func (s *savedOnce) ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (client.ImageSaveResult, error) {
	s.once.Do(func() {
		s.path, s.err = s.save(ctx, images, opts)
	})
	if s.err != nil {
		return nil, s.err
	}
	return os.Open(s.path)
}

func (s *savedOnce) save(ctx context.Context, images []string, opts []client.ImageSaveOption) (string, error) {
	rc, err := s.Client.ImageSave(ctx, images, opts...)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	path := filepath.Join(s.dir, "image.tar")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, rc); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("saving %s from the Docker engine: %w", strings.Join(images, ", "), err)
	}
	return path, f.Close()
}

// close removes the saved file and closes the connection to the engine.
func (s *savedOnce) close() {
	_ = os.RemoveAll(s.dir)
	_ = s.Client.Close()
}

// platformSet is what --platform asks for: one platform, several, or all
// the base image has.
type platformSet struct {
	all  bool
	list []v1.Platform
}

func (p platformSet) many() bool { return p.all || len(p.list) > 1 }

func (p platformSet) want(q v1.Platform) bool {
	if p.all {
		return true
	}
	for _, x := range p.list {
		if q.Satisfies(x) {
			return true
		}
	}
	return false
}

func parsePlatforms(s string) (platformSet, error) {
	if s == "all" {
		return platformSet{all: true}, nil
	}
	var set platformSet
	for _, one := range strings.Split(s, ",") {
		p, err := v1.ParsePlatform(strings.TrimSpace(one))
		if err != nil || p.OS == "" || p.Architecture == "" {
			return platformSet{}, fmt.Errorf("--platform %q: want os/arch[/variant], a comma-separated list of them, or all", s)
		}
		set.list = append(set.list, *p)
	}
	return set, nil
}

// publishIndex builds a multi-platform modelcar from a base image index in
// its registry and pushes it there: the Docker engine holds one platform's
// image, not an index.
func publishIndex(ctx context.Context, opts *modelcarOptions, tag name.Tag, baseRef name.Reference, platforms platformSet, folder *modelcar.Folder) error {
	start := time.Now()
	auth := remote.WithAuthFromKeychain(authn.DefaultKeychain)
	base, err := remote.Index(baseRef, remote.WithContext(ctx), auth)
	if err != nil {
		return fmt.Errorf("base image %s: a multi-platform modelcar needs an image index from a registry: %w", baseRef, err)
	}
	idx, got, err := modelcar.BuildIndex(base, folder, opts.Dir, platforms.want)
	if err != nil {
		return fmt.Errorf("base image %s: %w", baseRef, err)
	}
	names := make([]string, len(got))
	for i, p := range got {
		names[i] = p.String()
	}
	fmt.Fprintf(opts.ErrOut, "Pushing %s (%d files, %s, on %s for %s)...\n", tag, folder.Files, humanSize(folder.Bytes), baseRef, strings.Join(names, ", "))
	if err := remote.WriteIndex(tag, idx, remote.WithContext(ctx), auth); err != nil {
		return fmt.Errorf("push %s: %w", tag, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	uri := "oci://" + tag.String()
	fmt.Fprintf(opts.Out, "Pushed %s (%s) in %s: /models holds %d files (%s), for %s.\n", tag, d, time.Since(start).Round(100*time.Millisecond),
		folder.Files, humanSize(folder.Bytes), strings.Join(names, ", "))
	serveHint(opts.Out, uri)
	return nil
}

// humanSize is n in B, KiB, MiB or GiB with one decimal.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 2; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMG"[exp])
}
