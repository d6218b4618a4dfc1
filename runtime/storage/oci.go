package storage

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

const ociPrefix = "oci://"

// modelsDir is the folder of a modelcar image that holds the model; KServe
// mounts it at /mnt/models.
const modelsDir = "models"

// Whiteout names of the OCI image layer format: ".wh.<name>" in a layer
// deletes <name> of the layers below, ".wh..wh..opq" in a folder hides
// everything the layers below put there.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// ociCredentialsEnv names the Docker config.json that KServe's webhook
// mounts for oci:// downloads from the InferenceService's imagePullSecret.
const ociCredentialsEnv = "KSERVE_OCI_DOCKER_CONFIG"

// fetchOCI downloads the /models folder of a modelcar image, as KServe's
// storage package does for oci:// (an image whose file system has the model
// in /models, KServe's "modelcar" format): the image's manifest (from an
// index: the linux/<GOARCH> one, as KServe picks), then its layers in order,
// applying their whiteouts, keeping only what is under /models. Layers are
// plain or gzip-compressed tar (zstd is refused, as KServe does); each is
// checked against its digest.
//
// It is cached like the other downloads and keyed by the image reference: a
// restart asks the registry which manifest the tag names now and downloads
// again only when it changed; a reference by digest never changes, so its
// cached copy is used without asking. An unreachable registry serves the
// cached copy with a warning.
//
// Credentials are Docker's (registryClient.credential), so a laptop that
// ran `docker login` needs nothing more. Registries on the loopback
// interface are reached over plain HTTP, as Docker does.
func (r Resolver) fetchOCI(ctx context.Context, uri string) (string, error) {
	ref, err := parseOCI(uri)
	if err != nil {
		return "", err
	}
	sel, err := r.selection()
	if err != nil {
		return "", err
	}
	snap := &snapshot{uri: uri, source: ociPrefix + ref.String() + sel.source(), name: path.Base(ref.repository) + "--" + strings.ReplaceAll(ref.reference(), ":", "-"),
		where: "the registry", what: "manifest"}
	if err := r.openSnapshot(snap); err != nil {
		return "", err
	}
	// A digest names its content for good: the cached copy needs no registry.
	if ref.digest != "" && r.current(snap, ref.digest) {
		return snap.dir, nil
	}
	c := r.registryClient(ref)
	version := ref.digest
	if version == "" {
		if version, err = c.resolve(ctx, ref.tag); err != nil {
			return r.listFailed(ctx, snap, ociError(ctx, uri, ref, err))
		}
	}
	if r.current(snap, version) {
		return snap.dir, nil
	}
	layers, err := r.ociLayers(ctx, c, version, uri)
	if err != nil {
		return r.listFailed(ctx, snap, err)
	}

	log := r.logger()
	if snap.cached {
		log.Info(fmt.Sprintf("%s has changed since its download on %s (manifest %s, now %s); downloading it again", uri, snap.meta.Downloaded.Format(time.RFC3339), snap.meta.ETag, version))
	}
	log.Info(fmt.Sprintf("Copying contents of %s (manifest %s, %s) to local", uri, version, count(len(layers), "layer")))
	start := time.Now()
	scratch, doneScratch, err := newScratch(filepath.Dir(snap.entry.dir))
	if err != nil {
		return "", newError(ErrDownload, "storage uri %s: %v", uri, err)
	}
	defer doneScratch() // gone once moved into place; the leftovers of a failure otherwise
	room, err := roomIn(scratch)
	if err != nil {
		return "", newError(ErrDownload, "storage uri %s: %v", uri, err)
	}
	tree := &modelsTree{dest: scratch, sel: sel, room: room}
	var total int64
	// Layers with nothing for /models (the base image's, usually) are
	// recorded by digest, so a new version of the image skips them.
	noModels := map[string]string{}
	var skipped []string
	for i, l := range layers {
		key := "layer " + l.Digest
		if snap.meta.Files[key] == layerWithoutModels {
			noModels[key] = layerWithoutModels
			skipped = append(skipped, l.Digest)
			continue
		}
		where := fmt.Sprintf("%s: layer %d of %d (%s)", uri, i+1, len(layers), l.Digest)
		tree.touched = false
		n, err := r.fetchLayer(ctx, c, l, where, tree.apply)
		if err != nil {
			return "", err
		}
		total += n
		if !tree.touched {
			noModels[key] = layerWithoutModels
		}
	}
	if len(skipped) > 0 {
		log.Info(fmt.Sprintf("Skipped %s without /models, as in the last download: %s", count(len(skipped), "layer"), strings.Join(skipped, ", ")))
	}
	if err := linksInside(scratch, modelsDir+"/"); err != nil {
		return "", newError(ErrDownload, "storage uri %s: %v", uri, err)
	}
	if !tree.present {
		return "", newError(ErrNotFound, "storage uri %s: the image has no /models/ directory: a modelcar image keeps its model in /models, which KServe mounts at /mnt/models", uri)
	}
	if !dirHasEntries(scratch) {
		return "", newError(ErrNotFound, "Failed to fetch model. No model found in %s.", uri)
	}
	if len(noModels) == 0 {
		noModels = nil
	}
	if snap.dir, err = r.commit(uri, scratch, snap.entry, cacheMeta{URI: snap.source, ETag: version, Downloaded: time.Now().UTC(), Files: noModels}); err != nil {
		return "", newError(ErrDownload, "storage uri %s: moving the download into %s: %v", uri, snap.entry.dir, err)
	}
	log.Info(fmt.Sprintf("Successfully copied %s to %s", uri, snap.dir))
	log.Info(fmt.Sprintf("Model downloaded in %s (%s, %d bytes).", time.Since(start).Round(time.Millisecond), count(len(layers)-len(skipped), "layer"), total))
	return snap.dir, nil
}

// ociLayers fetches the manifest digest names (from an index, the image
// for linux/<GOARCH>) and returns its layers, refusing, before anything is
// downloaded, layers that are not tar file-system layers.
func (r Resolver) ociLayers(ctx context.Context, c *registryClient, digest, uri string) ([]descriptor, error) {
	m, _, err := c.manifest(ctx, digest, -1)
	if err != nil {
		return nil, ociError(ctx, uri, c.ref, err)
	}
	switch m.MediaType {
	case ociIndexType, dockerListType:
		var have []string
		var pick *descriptor
		for i, d := range m.Manifests {
			if d.Platform == nil || d.Platform.OS == "unknown" {
				continue // attestations and the like
			}
			if d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH {
				pick = &m.Manifests[i]
				break
			}
			have = append(have, d.Platform.OS+"/"+d.Platform.Architecture)
		}
		if pick == nil {
			return nil, newError(ErrNotFound, "storage uri %s: the image has no linux/%s variant (it has %s), which KServe would pull on this machine", uri, runtime.GOARCH, orNone(have))
		}
		if !validDigest(pick.Digest) {
			return nil, newError(ErrDownload, "storage uri %s: the image index names the manifest %q, which is not a digest", uri, pick.Digest)
		}
		if m, _, err = c.manifest(ctx, pick.Digest, pick.Size); err != nil {
			return nil, ociError(ctx, uri, c.ref, err)
		}
		if m.MediaType != ociManifestType && m.MediaType != dockerManifestType {
			return nil, newError(ErrDownload, "storage uri %s: the image index's linux/%s entry is a %s, not an image manifest", uri, runtime.GOARCH, m.MediaType)
		}
	case ociManifestType, dockerManifestType:
	default:
		return nil, newError(ErrDownload, "storage uri %s: the registry answered a %q, not an image manifest", uri, m.MediaType)
	}
	for _, l := range m.Layers {
		if !validDigest(l.Digest) {
			return nil, newError(ErrDownload, "storage uri %s: the manifest names the layer %q, which is not a digest", uri, l.Digest)
		}
		if err := layerSupported(l); err != nil {
			return nil, newError(ErrDownload, "storage uri %s: layer %s: %v", uri, l.Digest, err)
		}
	}
	return m.Layers, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// layerSupported accepts tar file-system layers, plain or gzip-compressed.
func layerSupported(l descriptor) error {
	switch {
	case strings.HasSuffix(l.MediaType, "+zstd"):
		return errors.New("zstd-compressed layers are not supported (neither are they by KServe's storage-initializer); push the image with gzip layers (docker buildx: --output type=image,compression=gzip)")
	case l.MediaType == dockerLayerType, strings.HasPrefix(l.MediaType, "application/vnd.oci.image.layer.") &&
		(strings.HasSuffix(l.MediaType, ".tar") || strings.HasSuffix(l.MediaType, ".tar+gzip")):
		return nil
	}
	return fmt.Errorf("media type %s is not an image file-system layer: oci:// takes modelcar images, whose file system has the model in /models", l.MediaType)
}

// fetchLayer downloads a layer and passes it to use, with the stall
// watchdog and progress lines of the other downloads, and checks that what
// was read is the layer its digest names (use must read the layer to its
// end or return an error).
func (r Resolver) fetchLayer(ctx context.Context, c *registryClient, d descriptor, where string, use func(io.Reader) error) (int64, error) {
	t, err := c.blob(ctx, d)
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("downloading %s: %w", where, ctx.Err())
		}
		return 0, newError(ErrDownload, "downloading %s: %v", where, err)
	}
	defer t.close()
	stop := r.reportProgress(where, t.body, d.Size)
	defer stop()
	v := newVerifier(d.Digest, d.Size)
	body := io.TeeReader(t.body, v)
	if err := use(body); err != nil {
		var bad *layerError
		if errors.As(err, &bad) && ctx.Err() == nil && context.Cause(t.ctx) == nil {
			return 0, newError(ErrDownload, "storage uri %s: %v", where, err)
		}
		return 0, t.readError(ctx, where, err)
	}
	if _, err := io.Copy(io.Discard, body); err != nil { // what follows the archive's end
		return 0, t.readError(ctx, where, err)
	}
	if err := v.check(); err != nil {
		return 0, newError(ErrDownload, "downloading %s: %v", where, err)
	}
	return v.n, nil
}

// layerError is a layer whose content cannot be taken (not a transfer
// failure).
type layerError struct{ msg string }

func (e *layerError) Error() string { return e.msg }

func layerErrorf(format string, args ...any) error {
	return &layerError{msg: fmt.Sprintf(format, args...)}
}

// layerWithoutModels marks, in the cache record's Files, a layer digest
// whose layer has no entry for /models.
const layerWithoutModels = "no /models"

// modelsTree builds an image's /models folder in dest from its layers,
// applied in order.
type modelsTree struct {
	dest    string
	sel     selection
	present bool // whether /models exists after the layers so far
	touched bool // whether the layer being applied has entries for /models
	// room is the disk's free space at the start, less what the entries so
	// far declared (whiteouts give none back: a bound, not an account).
	room *diskRoom
}

// apply extracts one layer: what is under models/ goes to dest, with the
// guarantees of the archive unpacker (nothing outside dest, links only
// inside it, no devices, sanitised modes); whiteouts delete what earlier
// layers put there. Everything else in the image is skipped.
func (t *modelsTree) apply(layer io.Reader) error {
	src, err := decompress(layer)
	var c unsupportedCompression
	if errors.As(err, &c) {
		return layerErrorf("the layer is %s, which is not supported; push the image with gzip layers", c)
	}
	if err != nil {
		return err
	}
	ours := map[string]bool{} // what this layer made, which its opaque markers keep
	tr := tar.NewReader(src)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		// Names are relative to the image's root; cleaning them from "/"
		// cannot climb above it.
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if err := t.entry(h, name, tr, ours); err != nil {
			return err
		}
	}
	_, err = io.Copy(io.Discard, src) // to the end, so gzip checks its checksum
	return err
}

func (t *modelsTree) entry(h *tar.Header, name string, tr io.Reader, ours map[string]bool) error {
	if name == modelsDir || name == whiteoutPrefix+modelsDir || name == whiteoutOpaque || strings.HasPrefix(name, modelsDir+"/") {
		t.touched = true
	}
	if name == modelsDir {
		if h.Typeflag != tar.TypeDir {
			return layerErrorf("the image's /models is a %s, not a folder", entryKind(h))
		}
		t.present = true
		return nil
	}
	if name == whiteoutPrefix+modelsDir || name == whiteoutOpaque {
		// /models deleted, or hidden with everything else at the root.
		t.present = false
		return clearDir(t.dest, "", ours)
	}
	rel, ok := strings.CutPrefix(name, modelsDir+"/")
	if !ok {
		return nil // the rest of the image: the base image's files
	}
	t.present = true
	dir, base := path.Split(rel)
	target := filepath.Join(t.dest, filepath.FromSlash(rel))
	// Whiteouts too: one in a folder that is a link deletes where the link
	// points, which may be outside dest (x -> d/c/.. with d/c -> ..: the
	// cache holding dest, whose other models an opaque whiteout deleted).
	if err := noLinkedParents(t.dest, target, h.Name); err != nil {
		return &layerError{msg: err.Error()}
	}
	switch {
	case base == whiteoutOpaque:
		return clearDir(t.dest, dir, ours)
	case strings.HasPrefix(base, whiteoutPrefix):
		// ".wh...." names "..": joined to the folder, it was the folder
		// above, and at the top the download cache, all of it deleted.
		gone := strings.TrimPrefix(base, whiteoutPrefix)
		if gone == "" || gone == "." || gone == ".." {
			return layerErrorf("%s: a whiteout must name a file or folder", h.Name)
		}
		return os.RemoveAll(filepath.Join(t.dest, filepath.FromSlash(dir+gone)))
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if st, err := os.Lstat(target); err == nil && !st.IsDir() {
			if err := os.Remove(target); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(target, dirMode(h.FileInfo().Mode())); err != nil {
			return err
		}
	case tar.TypeReg:
		if !t.sel.keep(rel) {
			return nil
		}
		if err := replaceable(target); err != nil {
			return err
		}
		if err := t.room.take(h.Name, uint64(max(h.Size, 0))); err != nil {
			return &layerError{msg: err.Error()}
		}
		if err := t.room.entry(h.Name); err != nil {
			return &layerError{msg: err.Error()}
		}
		if err := extractFile(target, tr, fileMode(h.FileInfo().Mode())); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if !t.sel.keep(rel) {
			return nil
		}
		link := h.Linkname
		if inModels, ok := strings.CutPrefix(path.Clean(link), "/"+modelsDir+"/"); ok && path.IsAbs(link) {
			// Absolute within /models: the same file wherever the folder lands.
			l, err := filepath.Rel(filepath.Dir(target), filepath.Join(t.dest, filepath.FromSlash(inModels)))
			if err != nil {
				return err
			}
			link = filepath.ToSlash(l)
		}
		if err := checkLink(t.dest, target, link, h.Name); err != nil {
			return &layerError{msg: err.Error()}
		}
		if err := replaceable(target); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(link, target); err != nil {
			return err
		}
	case tar.TypeLink:
		if !t.sel.keep(rel) {
			return nil
		}
		srcRel, ok := strings.CutPrefix(strings.TrimPrefix(path.Clean("/"+h.Linkname), "/"), modelsDir+"/")
		src := filepath.Join(t.dest, filepath.FromSlash(srcRel))
		if st, err := os.Lstat(src); !ok || err != nil || !st.Mode().IsRegular() || noLinkedParents(t.dest, src, h.Linkname) != nil {
			return layerErrorf("%s: hard link to %s, which is not a file of /models extracted before it", h.Name, h.Linkname)
		}
		if err := replaceable(target); err != nil {
			return err
		}
		if err := os.Link(src, target); err != nil {
			return fmt.Errorf("%s: hard link to %s: %w", h.Name, h.Linkname, err)
		}
	case tar.TypeXGlobalHeader, tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
		return nil
	default:
		return layerErrorf("%s: %s entries are not allowed in a model folder", h.Name, typeName(h.Typeflag))
	}
	ours[rel] = true
	return nil
}

// replaceable removes what an earlier layer left at target, which a later
// layer's entry replaces (a file, a link, or a folder and its content).
func replaceable(target string) error {
	if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(filepath.Dir(target), 0o755)
	}
	return os.RemoveAll(target)
}

// clearDir removes what earlier layers put in dest/dir (an opaque whiteout),
// keeping what this layer made.
func clearDir(dest, dir string, ours map[string]bool) error {
	entries, err := os.ReadDir(filepath.Join(dest, filepath.FromSlash(dir)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if ours[dir+e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dest, filepath.FromSlash(dir), e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func entryKind(h *tar.Header) string {
	switch h.Typeflag {
	case tar.TypeSymlink:
		return "symbolic link to " + h.Linkname
	case tar.TypeReg:
		return "file"
	}
	return typeName(h.Typeflag)
}

// ociError says what a registry's refusal means for the user.
func ociError(ctx context.Context, uri string, ref ociRef, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("downloading %s: %w", uri, ctx.Err())
	}
	var st *statusError
	if errors.As(err, &st) {
		switch st.code {
		case 401, 403:
			return newError(ErrNotFound, "storage uri %s: the registry refused access (%v): log in with docker login %s, or set %s to a Docker config.json with credentials for it",
				uri, st, ref.registry, ociCredentialsEnv)
		case 404:
			return newError(ErrNotFound, "storage uri %s: no such image in the registry (%v)", uri, st)
		}
		return newError(ErrDownload, "storage uri %s: the registry answered %v", uri, st)
	}
	return newError(ErrDownload, "storage uri %s: %v", uri, err)
}
