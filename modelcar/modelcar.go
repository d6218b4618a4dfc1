// Package modelcar makes KServe modelcar images: a base image with a shell
// (KServe's modelcar sidecar runs `sh` to link the folder and wait) and one
// more layer holding a model folder's files under /models, which KServe
// mounts at /mnt/models and which the kserve-gen runtime downloads for
// STORAGE_URI=oci://... off the cluster.
package modelcar

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kserve-gen/kserve-gen/onnxinfo"
)

// ModelsDir is the folder of the image that holds the model.
const ModelsDir = "/models"

// epoch is the modification time of every entry: the same files make the
// same layer, whenever and wherever they were copied (the timestamp
// buildpacks use, as tar and zip cannot go below 1980).
var epoch = time.Date(1980, time.January, 1, 0, 0, 1, 0, time.UTC)

// Stats says what a model layer holds.
type Stats struct {
	Files int   // regular files
	Bytes int64 // their total size
}

// entry is one file, folder or link of the model folder.
type entry struct {
	path string      // on disk
	name string      // in the image: models/...
	mode fs.FileMode // type and permissions
	link string      // a link's target
	size int64
}

// Folder is a model folder, checked and listed in the order its entries
// go into the layer.
type Folder struct {
	Stats
	entries []entry
}

// Scan checks dir and lists its files, folders and links, so a folder the
// image cannot hold fails before anything is built: a link must stay
// inside dir; other special files are refused; a folder without files is
// refused.
func Scan(dir string) (*Folder, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("model folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("model folder %s is a file: give the folder that holds it", dir)
	}
	f := &Folder{entries: []entry{{path: root, name: strings.TrimPrefix(ModelsDir, "/") + "/", mode: fs.ModeDir | 0o755}}}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{path: p, name: strings.TrimPrefix(ModelsDir, "/") + "/" + filepath.ToSlash(rel), mode: info.Mode()}
		switch {
		case d.IsDir():
			e.name += "/"
			e.mode = fs.ModeDir | 0o755
		case info.Mode().IsRegular():
			e.mode = info.Mode().Perm()&0o755 | 0o644
			e.size = info.Size()
			f.Files++
			f.Bytes += e.size
		case info.Mode()&fs.ModeSymlink != 0:
			if e.link, err = os.Readlink(p); err != nil {
				return err
			}
			if filepath.IsAbs(e.link) {
				return fmt.Errorf("%s: a link to the absolute path %s, which the image would not have; make it relative", p, e.link)
			}
			if to, err := filepath.Rel(root, filepath.Join(filepath.Dir(p), e.link)); err != nil || !filepath.IsLocal(to) {
				return fmt.Errorf("%s: a link to %s, outside the model folder, which the image would not have", p, e.link)
			}
		default:
			return fmt.Errorf("%s: %s; a model folder holds files, folders and links", p, FileKind(info.Mode()))
		}
		f.entries = append(f.entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := linksInside(root, f.entries); err != nil {
		return nil, err
	}
	if f.Files == 0 {
		return nil, fmt.Errorf("model folder %s has no files", dir)
	}
	if err := checkExternalData(root, f.entries); err != nil {
		return nil, err
	}
	return f, nil
}

// FileKind names what mode, neither a file, a folder nor a link, is ("a
// named pipe"), for a message refusing it: the mode's own letters
// ("p---------") mean nothing to most readers.
func FileKind(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file (" + mode.Type().String() + ")"
}

// linksInside checks that every link resolves inside root the way the
// kernel resolves it, through the links it passes: the lexical check of
// Scan cannot see that x -> d/c/.. leaves the folder when d/c is itself a
// link to .. (each of them, read alone, stays inside). The image would
// hold a link out of /models, and the kserve-gen runtime refuses such an
// image (oci://), as it refuses such an archive.
func linksInside(root string, entries []entry) error {
	realRoot, err := realPath(root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.mode&fs.ModeSymlink == 0 {
			continue
		}
		resolved, err := realPath(e.path)
		if err != nil {
			return fmt.Errorf("%s: a link to %s: %w", e.path, e.link, err)
		}
		if to, err := filepath.Rel(realRoot, resolved); err != nil || !filepath.IsLocal(to) && to != "." {
			return fmt.Errorf("%s: a link to %s, which leads outside the model folder through other links, which the image would not have", e.path, e.link)
		}
	}
	return nil
}

// realPath is absolute path p with every link it passes through resolved,
// component by component as the kernel does ("l/.." is the parent of where
// l points, not the folder holding l); components that do not exist are
// kept as they are, as Python's os.path.realpath does.
func realPath(p string) (string, error) {
	const maxLinks = 40 // Linux's MAXSYMLINKS
	resolved := string(filepath.Separator)
	rest := strings.Split(p, string(filepath.Separator))
	for links := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = filepath.Dir(resolved)
			continue
		}
		next := filepath.Join(resolved, c)
		st, err := os.Lstat(next)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if links++; links > maxLinks {
			return "", errors.New("too many levels of symbolic links")
		}
		link, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(link) {
			resolved = string(filepath.Separator)
		}
		rest = append(strings.Split(link, string(filepath.Separator)), rest...)
	}
	return resolved, nil
}

// checkExternalData checks that every ONNX model in the folder finds the
// files its weights are stored in (external data, beside the model): a
// model without them loads nowhere, and in a cluster that shows only as a
// predictor that never gets ready. A .onnx file that is not an ONNX model
// is left alone: the model server says so when it loads it.
func checkExternalData(root string, entries []entry) error {
	have := map[string]bool{}
	for _, e := range entries {
		have[e.path] = true
	}
	for _, e := range entries {
		if !e.mode.IsRegular() || !strings.HasSuffix(e.path, ".onnx") {
			continue
		}
		m, err := onnxinfo.ReadFile(e.path)
		if err != nil {
			continue
		}
		for _, loc := range m.ExternalData {
			p := filepath.Join(filepath.Dir(e.path), filepath.FromSlash(strings.ReplaceAll(loc, `\`, "/")))
			if !have[p] {
				rel, _ := filepath.Rel(root, e.path)
				return fmt.Errorf("%s keeps its weights in %s, which is not in the model folder: add it beside the model, or the model will not load", rel, loc)
			}
		}
	}
	return nil
}

// Layer returns the layer that puts the folder under /models. Entries are
// sorted, owned by root, keep their execute bits with read for everyone
// and no group or other write, and carry a fixed time: the same files
// always make the same layer, so a registry and a node keep one copy of a
// model that several images share. mediaType is the layer's (Docker's or
// OCI's, as the base image's manifest, see LayerType); the layer is
// gzip-compressed at the fastest level, as model weights hardly compress.
// The files are read each time the layer is (for its digest, and to write
// it), not held in memory.
func (f *Folder) Layer(mediaType types.MediaType) (v1.Layer, error) {
	opener := func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeTar(pw, f.entries)) }()
		return pr, nil
	}
	return tarball.LayerFromOpener(opener, tarball.WithMediaType(mediaType), tarball.WithCompressionLevel(gzip.BestSpeed))
}

func writeTar(w io.Writer, entries []entry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: int64(e.mode.Perm()), ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case e.mode.IsDir():
			h.Typeflag = tar.TypeDir
		case e.mode&fs.ModeSymlink != 0:
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.link, 0o777
		default:
			h.Typeflag, h.Size = tar.TypeReg, e.size
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if err := copyFile(tw, e.path, e.size); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// copyFile writes the file's size bytes; a file that changed size since
// it was listed is an error, not a corrupt archive.
func copyFile(w io.Writer, p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%s changed while the layer was written (%d bytes, not %d)", p, n, size)
	}
	return nil
}

// LayerType is the layer media type that goes with base's manifest.
func LayerType(base v1.Image) (types.MediaType, error) {
	mt, err := base.MediaType()
	if err != nil {
		return "", err
	}
	if mt == types.OCIManifestSchema1 {
		return types.OCILayer, nil
	}
	return types.DockerLayer, nil
}

// Build returns base with the model layer on top, its history saying where
// the layer came from.
func Build(base v1.Image, layer v1.Layer, from string) (v1.Image, error) {
	if base == nil || layer == nil {
		return nil, errors.New("modelcar: a base image and a layer are needed")
	}
	return mutate.Append(base, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "kserve-gen modelcar: COPY " + from + " " + ModelsDir + "/"},
	})
}

// BuildIndex returns an image index with the model layer on top of each of
// base's images whose platform want accepts (attestations and other
// entries without a real platform are left out), and the platforms it
// holds: a multi-platform modelcar, for clusters whose nodes differ in
// architecture (KServe runs the modelcar on the node's). The layer is the
// same for every platform, so registries and nodes keep one copy.
func BuildIndex(base v1.ImageIndex, f *Folder, from string, want func(v1.Platform) bool) (v1.ImageIndex, []v1.Platform, error) {
	im, err := base.IndexManifest()
	if err != nil {
		return nil, nil, err
	}
	layers := map[types.MediaType]v1.Layer{}
	var adds []mutate.IndexAddendum
	var got, have []v1.Platform
	for _, d := range im.Manifests {
		if d.Platform == nil || d.Platform.OS == "unknown" || !d.MediaType.IsImage() {
			continue
		}
		have = append(have, *d.Platform)
		if !want(*d.Platform) {
			continue
		}
		img, err := base.Image(d.Digest)
		if err != nil {
			return nil, nil, fmt.Errorf("%s image of the base: %w", d.Platform, err)
		}
		mt, err := LayerType(img)
		if err != nil {
			return nil, nil, err
		}
		if layers[mt] == nil {
			if layers[mt], err = f.Layer(mt); err != nil {
				return nil, nil, err
			}
		}
		out, err := Build(img, layers[mt], from)
		if err != nil {
			return nil, nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: out, Descriptor: v1.Descriptor{Platform: d.Platform}})
		got = append(got, *d.Platform)
	}
	if len(adds) == 0 {
		names := make([]string, len(have))
		for i, p := range have {
			names[i] = p.String()
		}
		return nil, nil, fmt.Errorf("the base image has none of the platforms asked for (it has %s)", strings.Join(names, ", "))
	}
	mt := im.MediaType
	if mt == "" {
		mt = types.OCIImageIndex
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, mt), adds...), got, nil
}
