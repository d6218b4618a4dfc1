package storage

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzUntar unpacks archives of entries the fuzzer chooses: one per line,
// "<type> <name> <link or body>", type one of f (file), d (folder), s
// (symbolic link), h (hard link). Whatever the archive holds, nothing may
// be written outside the target folder, and an archive unpacked without
// error leaves no link that the kernel resolves outside it.
func FuzzUntar(f *testing.F) {
	f.Add("d d1\nd d1/d2\ns d1/d2/c ../..\ns x d1/d2/c/..")
	f.Add("s x d/c/..\ns d/c ..")
	f.Add("f a hello\nh b a\ns l a\ns d/l ../a")
	f.Add("s a .\ns a/b ../x")
	f.Add("s a b\ns b a")
	f.Add("f ../x y\nf /abs y")
	f.Fuzz(func(t *testing.T, spec string) {
		archive, ok := specTar(spec, "")
		if !ok {
			return
		}
		// root/a/b/dest: room for links and names to climb into, all watched.
		root := t.TempDir()
		dest := filepath.Join(root, "a", "b", "dest")
		if err := os.MkdirAll(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		room, err := roomIn(dest)
		if err != nil {
			t.Fatal(err)
		}
		err = untar(bytes.NewReader(archive), dest, room)
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, werr error) error {
			if werr != nil {
				t.Fatal(werr)
			}
			if p != root && p != filepath.Dir(dest) && p != filepath.Dir(filepath.Dir(dest)) && !strings.HasPrefix(p, dest) {
				t.Fatalf("%q unpacked %s outside the target folder", spec, p)
			}
			if err != nil || d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			if resolved, rerr := filepath.EvalSymlinks(p); rerr == nil {
				if rel, _ := filepath.Rel(dest, resolved); !filepath.IsLocal(rel) && rel != "." {
					t.Fatalf("%q unpacked without error, but its link %s resolves to %s", spec, p, resolved)
				}
			}
			return nil
		})
	})
}

// specTar builds the tar FuzzUntar and FuzzOCILayer describe, each name
// under prefix; ok is false when tar cannot hold it.
func specTar(spec, prefix string) (archive []byte, ok bool) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, line := range strings.Split(spec, "\n") {
		typ, rest, _ := strings.Cut(line, " ")
		name, arg, _ := strings.Cut(rest, " ")
		h := &tar.Header{Name: prefix + name, Mode: 0o644}
		switch typ {
		case "f", "w":
			h.Typeflag, h.Size = tar.TypeReg, int64(len(arg))
		case "d":
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case "s":
			h.Typeflag, h.Linkname = tar.TypeSymlink, arg
		case "h":
			h.Typeflag, h.Linkname = tar.TypeLink, arg
		default:
			continue
		}
		if tw.WriteHeader(h) != nil {
			return nil, false
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(arg)); err != nil {
				return nil, false
			}
		}
	}
	return buf.Bytes(), tw.Close() == nil
}

// FuzzOCILayer applies layers of the same entries, under models/, to an
// image's /models folder, whiteouts (w .wh.<name>) included: nothing
// outside the folder may be written or deleted. Layers are separated by
// "---" lines.
func FuzzOCILayer(f *testing.F) {
	f.Add("f m w\nw .wh...")
	f.Add("s d/c ..\ns x d/c/..\nw x/.wh.keep")
	f.Add("s d/c ..\ns x d/c/..\nw x/.wh..wh..opq")
	f.Add("f a 1\nd sub\nf sub/b 2\n---\nw .wh.a\nw sub/.wh..wh..opq\nf sub/c 3")
	f.Add("s l .\n---\nw l/.wh.a")
	f.Fuzz(func(t *testing.T, spec string) {
		root := t.TempDir()
		dest := filepath.Join(root, "cache", "dest")
		keep := filepath.Join(root, "cache", "keep")
		if err := os.MkdirAll(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keep, []byte("another model"), 0o644); err != nil {
			t.Fatal(err)
		}
		room, err := roomIn(dest)
		if err != nil {
			t.Fatal(err)
		}
		tree := &modelsTree{dest: dest, room: room}
		for _, layer := range strings.Split(spec, "\n---\n") {
			archive, ok := specTar(layer, "models/")
			if !ok {
				return
			}
			if tree.apply(bytes.NewReader(archive)) != nil {
				break
			}
		}
		if _, err := os.Stat(keep); err != nil {
			t.Fatalf("%q deleted outside /models: %v", spec, err)
		}
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatalf("%q: %v", spec, err)
			}
			if p != root && p != filepath.Dir(dest) && p != keep && p != dest && !strings.HasPrefix(p, dest+string(filepath.Separator)) {
				t.Fatalf("%q wrote %s outside /models", spec, p)
			}
			return nil
		})
	})
}
