package buildpack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/buildpacks/pack/pkg/cache"
	"github.com/buildpacks/pack/pkg/client"
	"github.com/buildpacks/pack/pkg/image"
	"github.com/buildpacks/pack/pkg/logging"
	packproject "github.com/buildpacks/pack/pkg/project"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/kserve-gen/kserve-gen/project"
)

// Options describe one image build.
type Options struct {
	// Dir is the project's root, holding kserve-gen.yaml.
	Dir string
	// Image is the image reference to write (default: ImageFor's choice).
	Image string
	// Builder is the builder image (default DefaultBuilder).
	Builder string
	// TrustBuilder lets the builder run all build phases in one container
	// with the registry credentials, which needs no separate lifecycle image
	// (so no registry). DefaultBuilder is always trusted: it is the one
	// kserve-gen made.
	TrustBuilder bool
	// PullPolicy is when the builder and run images are pulled:
	// "if-not-present" (the default), "always" or "never".
	PullPolicy string
	// Env adds build-time environment variables (after project.toml's).
	Env map[string]string
	// ONNXRuntime is the ONNX Runtime library an onnx project's image gets
	// (default: $ONNXRUNTIME_SHARED_LIBRARY_PATH, else the one
	// scripts/setup-onnx.sh installs).
	ONNXRuntime string
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
	// Log receives pack's output as the build goes; by default it is kept and
	// returned within the error when the build fails.
	Log io.Writer
}

// Result describes a built image.
type Result struct {
	Image    string
	Builder  string
	Project  *project.File
	Duration time.Duration
	// ONNXRuntime is the library copied into the image ("" for projects
	// that do not use ONNX Runtime).
	ONNXRuntime string
}

// Build builds the project in opts.Dir into an image in the engine.
func (e *Engine) Build(ctx context.Context, opts Options) (*Result, error) {
	start := time.Now()
	if opts.Dir == "" {
		opts.Dir = "."
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	proj, err := LoadProject(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Image = ImageFor(proj, opts.Image)
	if err := CheckImage(opts.Image); err != nil {
		return nil, err
	}
	if opts.Builder == "" {
		opts.Builder = DefaultBuilder
	}
	pull, err := pullPolicy(opts.PullPolicy)
	if err != nil {
		return nil, err
	}
	res := &Result{Image: opts.Image, Builder: opts.Builder, Project: proj}
	var ortFiles []stagedFile
	if proj.Template == project.TemplateONNX {
		if ortFiles, err = onnxRuntimeFiles(opts, proj.GPU > 0); err != nil {
			return nil, err
		}
		res.ONNXRuntime = ortFiles[0].src
	}
	_, labels, ok, err := e.imageInfo(ctx, opts.Builder)
	if err != nil {
		return nil, err
	}
	switch {
	case !ok && opts.Builder == DefaultBuilder:
		return nil, fmt.Errorf("the Docker engine has no builder %s: %w", opts.Builder, errBuilderMissing)
	case !ok && pull == image.PullNever:
		return nil, fmt.Errorf("the Docker engine has no builder %s, and --pull-policy never forbids pulling it", opts.Builder)
	case ok:
		if err := checkBuilder(opts.Builder, labels); err != nil {
			return nil, err
		}
	}

	stage, err := os.MkdirTemp("", "kserve-gen-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	if err := stageProject(ctx, opts.Dir, stage, ortFiles); err != nil {
		return nil, err
	}

	pc, w, fail, err := e.pack(opts.Log)
	if err != nil {
		return nil, err
	}
	desc, err := packproject.ReadProjectDescriptor(filepath.Join(stage, "project.toml"), logging.NewSimpleLogger(w))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(opts.Dir, "project.toml"), err)
	}
	caches, err := CacheVolumes(opts.Image, logging.NewSimpleLogger(w))
	if err != nil {
		return nil, err
	}
	trusted := opts.TrustBuilder || opts.Builder == DefaultBuilder
	err = pc.Build(ctx, client.BuildOptions{
		Image:                    opts.Image,
		Builder:                  opts.Builder,
		AppPath:                  stage,
		PullPolicy:               pull,
		ProjectDescriptor:        desc,
		ProjectDescriptorBaseDir: stage,
		Env:                      opts.Env,
		TrustBuilder:             func(string) bool { return trusted },
		Cache:                    caches,
	})
	if err != nil {
		return nil, fail(fmt.Errorf("build %s with %s: %w", opts.Image, opts.Builder, err))
	}
	res.Duration = time.Since(start)
	return res, nil
}

// cacheTag stands for every tag of an image in the names of its cache
// volumes (CacheVolumes).
const cacheTag = "all-tags"

// CacheVolumes names the volumes pack keeps an image's build caches in
// after the image's repository, the same for each of its tags:
// pack-cache-<repository>_all-tags-<hash>.build, .launch and .kaniko (the
// hash, of the name and a key pack keeps in ~/.pack/volume-keys.toml, is
// pack's own). Pack names them after the whole reference, tag included, so
// every build of a new tag (one per commit, say) made a new pair of volumes,
// some 250 MB for a rest project, that no later build used and nothing
// removed. A project's image is built by the same buildpack whatever its
// tag, and the lifecycle drops from the cache what a build did not use, so
// one set per repository is what the next build can reuse.
func CacheVolumes(image string, log logging.Logger) (cache.CacheOpts, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return cache.CacheOpts{}, fmt.Errorf("--image: %q is not an image reference like registry.example.com/team/model:v1: %w", image, err)
	}
	shared := ref.Context().Tag(cacheTag)
	var opts cache.CacheOpts
	for _, c := range []struct {
		info   *cache.CacheInfo
		suffix string
	}{{&opts.Build, "build"}, {&opts.Launch, "launch"}, {&opts.Kaniko, "kaniko"}} {
		vc, err := cache.NewVolumeCache(shared, cache.CacheInfo{Format: cache.CacheVolume}, c.suffix, nil, log)
		if err != nil {
			return cache.CacheOpts{}, fmt.Errorf("name the %s cache volume of %s: %w", c.suffix, image, err)
		}
		*c.info = cache.CacheInfo{Format: cache.CacheVolume, Source: vc.Name()}
	}
	return opts, nil
}

// ImageFor is the image reference a build writes: flag when given, else
// the project file's image (the one kserve-gen deploy runs, so build and
// deploy agree without flags), else <name>:latest.
func ImageFor(proj *project.File, flag string) string {
	switch {
	case flag != "":
		return flag
	case proj.Image != "":
		return proj.Image
	}
	return proj.Name + ":latest"
}

// CheckImage reports whether image, the reference Build writes, parses.
// Build calls it; a caller may call it before connecting to an engine, so
// a typo in --image is not answered with "start Docker".
func CheckImage(image string) error {
	if _, err := name.ParseReference(image); err != nil {
		return fmt.Errorf("--image: %q is not an image reference like registry.example.com/team/model:v1: %w", image, err)
	}
	return nil
}

// LoadProject reads the project file in dir and checks that the files an
// image build needs are there. Build calls it first; a caller may call it
// before connecting to an engine, so the cheaper mistake is reported first.
func LoadProject(dir string) (*project.File, error) {
	proj, err := project.Load(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is not a kserve-gen project (no %s): run kserve-gen build in a folder `kserve-gen new` made, or pass --dir", dir, project.FileName)
	}
	if err != nil {
		return nil, err
	}
	for _, f := range []string{"go.mod", "Procfile", "project.toml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("project %s: %s is missing (kserve-gen new writes it; the image build needs it)", dir, f)
		}
	}
	return proj, nil
}

// checkBuilder refuses a builder kserve-gen made with another version of
// its buildpack: it would build the project as that version did, whatever
// this kserve-gen's buildpack does now. The error gives the command that
// makes it again from the same base images.
func checkBuilder(builder string, labels map[string]string) error {
	have, ok := labels[LabelBuildpack]
	if !ok || have == BuildpackRef() {
		return nil // not one of ours, or current
	}
	cmd := fmt.Sprintf("kserve-gen builder create %s --build-image %s --run-image %s", builder, labels[LabelBuildImage], labels[LabelRunImage])
	if lc := labels[LabelLifecycle]; lc != "" {
		cmd += " --lifecycle " + lc
	}
	return fmt.Errorf("builder %s holds buildpack %s, but this kserve-gen's is %s: make it again with\n  %s", builder, have, BuildpackRef(), cmd)
}

// stageProject fills stage, an empty folder, with what the image is built
// from: the project in dir, its vendored dependencies, and the ONNX
// Runtime files an onnx project's image gets.
func stageProject(ctx context.Context, dir, stage string, ortFiles []stagedFile) error {
	if err := copyTree(dir, stage); err != nil {
		return fmt.Errorf("stage the project: %w", err)
	}
	if err := vendor(ctx, dir, stage); err != nil {
		return err
	}
	if len(ortFiles) > 0 {
		// cnb/bin/build moves them into a launch layer.
		dir := filepath.Join(stage, filepath.FromSlash(ortStageFolder))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for _, f := range ortFiles {
			if err := copyFile(f.src, filepath.Join(dir, f.name), 0o755); err != nil {
				return fmt.Errorf("stage ONNX Runtime: %w", err)
			}
		}
	}
	return nil
}

// copyTree copies the project into the staging folder: regular files,
// folders and symbolic links, leaving out .git, vendor (made afresh from
// go.mod) and .kserve-gen (where staging puts ONNX Runtime), whatever
// their type: a project's .kserve-gen link to a folder elsewhere, copied,
// had the library and the folders above it written there, outside the
// staging folder, by a build of a project someone else made.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		switch rel {
		case ".git", "vendor", stagedRoot:
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			return copyFile(p, target, info.Mode().Perm())
		}
		return nil // sockets, devices: nothing a build reads
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// vendor writes the project's dependencies into stage/vendor. It runs in
// the project's own folder, so a relative replace directive (a kserve-gen
// checkout's runtime) resolves as it does for `go build` there.
func vendor(ctx context.Context, dir, stage string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the image build vendors the project's Go dependencies and needs the go command: %w", err)
	}
	cmd := exec.CommandContext(ctx, goBin, "mod", "vendor", "-o", filepath.Join(stage, "vendor"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go mod vendor in %s: %w\n%s", dir, err, bytes.TrimSpace(out))
	}
	return nil
}

// The ONNX Runtime set-up that scripts/setup-onnx.sh and runtime/onnx share
// (runtime/onnx/library.go); the CLI does not link runtime/onnx, which is cgo.
const (
	ortVersion     = "1.29.0"
	envORTLibrary  = "ONNXRUNTIME_SHARED_LIBRARY_PATH"
	envCache       = "KSERVE_GEN_CACHE"
	ortStageFolder = stagedRoot + "/onnxruntime"
)

// stagedRoot is the staging folder's own folder, never taken from the
// project.
const stagedRoot = ".kserve-gen"

// ortCUDAProviders are the libraries ONNX Runtime loads, from its own
// folder, for the CUDA execution provider (scripts/setup-onnx.sh --gpu).
var ortCUDAProviders = []string{"libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"}

// stagedFile is a file copied into the staged project under name.
type stagedFile struct{ src, name string }

// onnxRuntimeFiles finds the ONNX Runtime library an onnx project's image
// gets, as libonnxruntime.so, and for a GPU project the CUDA provider
// libraries beside it. The library comes first.
func onnxRuntimeFiles(opts Options, gpu bool) ([]stagedFile, error) {
	lib := opts.ONNXRuntime
	from := "--onnxruntime"
	if lib == "" {
		lib, from = opts.Getenv(envORTLibrary), envORTLibrary
	}
	if lib == "" {
		cache := opts.Getenv(envCache)
		if cache == "" {
			home := opts.Getenv("HOME")
			if home == "" && runtime.GOOS == "windows" { // as runtime/onnx.CacheDir
				home = opts.Getenv("USERPROFILE")
			}
			cache = filepath.Join(home, ".cache", "kserve-gen")
		}
		lib, from = filepath.Join(cache, "onnxruntime", ortVersion, "libonnxruntime.so"), "the kserve-gen cache"
	}
	real, err := regularFile(lib)
	if err == nil {
		err = linuxLibrary(real)
	}
	if err != nil {
		return nil, fmt.Errorf("an onnx project's image needs the ONNX Runtime library: %s (%s): %w; "+
			"run scripts/setup-onnx.sh, set %s, or pass --onnxruntime PATH", lib, from, err, envORTLibrary)
	}
	files := []stagedFile{{real, "libonnxruntime.so"}}
	if gpu {
		// Without them the image would serve on the CPU of a GPU node, which
		// the model's load line is the only place to notice.
		for _, name := range ortCUDAProviders {
			p, err := regularFile(filepath.Join(filepath.Dir(lib), name))
			if err != nil {
				return nil, fmt.Errorf("the project asks for a GPU, so its image needs ONNX Runtime's CUDA provider beside the library: %s: %w; "+
					"run scripts/setup-onnx.sh --gpu, or set gpu: 0 in %s", filepath.Join(filepath.Dir(lib), name), err, project.FileName)
			}
			files = append(files, stagedFile{p, name})
		}
	}
	return files, nil
}

// linuxLibrary checks that p is an ELF file. On a Mac or a Windows machine
// ONNXRUNTIME_SHARED_LIBRARY_PATH names the library `go run .` loads there,
// a Mach-O .dylib or a DLL; copied into the image as libonnxruntime.so, it
// would fail every start of the container instead of this build.
func linuxLibrary(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 4)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", p, err)
	}
	head = head[:n]
	what := "not an ELF shared library"
	switch {
	case bytes.Equal(head, []byte("\x7fELF")):
		return nil
	case bytes.Equal(head, []byte{0xcf, 0xfa, 0xed, 0xfe}), bytes.Equal(head, []byte{0xce, 0xfa, 0xed, 0xfe}), // thin Mach-O, 64 and 32 bit
		bytes.Equal(head, []byte{0xca, 0xfe, 0xba, 0xbe}): // universal (fat) Mach-O
		what = "a macOS (Mach-O) library"
	case bytes.HasPrefix(head, []byte("MZ")):
		what = "a Windows DLL"
	}
	return fmt.Errorf("%s is %s, and the image runs Linux: give it libonnxruntime.so for Linux", p, what)
}

// regularFile resolves symbolic links in p and checks that it names a
// regular file.
func regularFile(p string) (string, error) {
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", errors.New("no such file")
	}
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", real)
	}
	return real, nil
}
