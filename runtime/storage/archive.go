package storage

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// unpackDownload unpacks a downloaded archive into dest and removes it, as
// KServe does, with KServe's message for a bad one (and what was wrong).
func (r Resolver) unpackDownload(shown, archive, typ, dest string) error {
	r.logger().Info("Unpacking: " + filepath.Base(archive))
	if err := unpack(archive, typ, dest); err != nil {
		var room *spaceError
		if errors.As(err, &room) {
			return newError(ErrDownload, "storage uri %s: %v", shown, err)
		}
		return newError(ErrDownload, "storage uri %s: Failed to unpack archive file. The file format is not valid.: %v", shown, err)
	}
	if err := os.Remove(archive); err != nil {
		return newError(ErrDownload, "storage uri %s: %v", shown, err)
	}
	return nil
}

// unpack extracts the archive at p (tarType or zipType) into dest with the
// guarantees of Python's tarfile "data" filter, which KServe uses: every
// entry stays inside dest, links may only point inside it, devices and
// FIFOs are refused, and files lose setuid/setgid bits and group/other write
// permission. Tar archives may be gzip- or bzip2-compressed. What it writes
// is bounded by the disk's free space (diskRoom).
func unpack(p, typ, dest string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	room, err := roomIn(dest)
	if err != nil {
		return err
	}
	if typ == zipType {
		st, err := f.Stat()
		if err != nil {
			return err
		}
		return unzip(f, st.Size(), dest, room)
	}
	return untar(f, dest, room)
}

// unsupportedCompression names a compression a tar stream was found to
// have and that is not read here.
type unsupportedCompression string

func (c unsupportedCompression) Error() string { return string(c) + "-compressed" }

// decompress returns the tar stream r holds: r itself, or r gunzipped or
// bunzipped, as its first bytes say; xz and zstd are an
// unsupportedCompression error.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return gzip.NewReader(br)
	case bytes.HasPrefix(magic, []byte("BZh")):
		return bzip2.NewReader(br), nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return nil, unsupportedCompression("xz")
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, unsupportedCompression("zstd")
	}
	return br, nil
}

func untar(r io.Reader, dest string, room *diskRoom) error {
	src, err := decompress(r)
	var c unsupportedCompression
	if errors.As(err, &c) {
		return fmt.Errorf("%s tar archives are not supported; use .tar.gz, .tar.bz2 or .zip", c)
	}
	if err != nil {
		return err
	}
	tr := tar.NewReader(src)
	entries := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		entries++
		target, err := entryPath(dest, h.Name)
		if err != nil {
			return err
		}
		if target == "" {
			continue // the archive's root folder itself
		}
		if err := noLinkedParents(dest, target, h.Name); err != nil {
			return err
		}
		if err := reserve(room, h); err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := makeDir(target, h.Name, dirMode(h.FileInfo().Mode())); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := replaceEarlier(target, h.Name); err != nil {
				return err
			}
			if err := extractFile(target, tr, fileMode(h.FileInfo().Mode())); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := checkLink(dest, target, h.Linkname, h.Name); err != nil {
				return err
			}
			if err := replaceEarlier(target, h.Name); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, target); err != nil {
				return err
			}
		case tar.TypeLink:
			src, err := entryPath(dest, h.Linkname)
			if err != nil || src == "" {
				return fmt.Errorf("%s: hard link to %s points outside the archive", h.Name, h.Linkname)
			}
			// Only to a file extracted before: a hard link to a symbolic
			// link would move that link somewhere its relative target
			// resolves differently.
			if st, err := os.Lstat(src); err != nil || !st.Mode().IsRegular() || noLinkedParents(dest, src, h.Linkname) != nil {
				return fmt.Errorf("%s: hard link to %s, which is not a file extracted before it", h.Name, h.Linkname)
			}
			if src == target {
				continue // a link to itself: what is there stays
			}
			if err := replaceEarlier(target, h.Name); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := os.Link(src, target); err != nil {
				return fmt.Errorf("%s: hard link to %s: %w", h.Name, h.Linkname, err)
			}
		case tar.TypeXGlobalHeader, tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
			entries-- // metadata, not an entry
		default:
			return fmt.Errorf("%s: %s entries are not allowed in a model archive", h.Name, typeName(h.Typeflag))
		}
	}
	if entries == 0 {
		return errors.New("the archive is empty")
	}
	return linksInside(dest, "")
}

func unzip(r io.ReaderAt, size int64, dest string, room *diskRoom) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return err
	}
	if len(zr.File) == 0 {
		return errors.New("the archive is empty")
	}
	for _, zf := range zr.File {
		target, err := entryPath(dest, zf.Name)
		if err != nil {
			return err
		}
		if target == "" {
			continue
		}
		if err := noLinkedParents(dest, target, zf.Name); err != nil {
			return err
		}
		if err := room.entry(zf.Name); err != nil {
			return err
		}
		mode := zf.Mode()
		if mode.IsRegular() {
			if err := room.take(zf.Name, zf.UncompressedSize64); err != nil {
				return err
			}
		}
		switch {
		case mode.IsDir():
			if err := makeDir(target, zf.Name, dirMode(mode)); err != nil {
				return err
			}
		case mode.IsRegular():
			if err := replaceEarlier(target, zf.Name); err != nil {
				return err
			}
			rc, err := zf.Open()
			if err != nil {
				return fmt.Errorf("%s: %w", zf.Name, err)
			}
			err = extractFile(target, rc, fileMode(mode))
			rc.Close()
			if err != nil {
				return err
			}
		default:
			// Python's zipfile writes links and the like as plain files; a
			// model needs none of them, and a link could point anywhere.
			return fmt.Errorf("%s: %s entries are not allowed in a model archive", zf.Name, mode.Type())
		}
	}
	return nil
}

// reserve takes from room what tar entry h will write: an inode for a
// file, folder or symbolic link, and a file's declared size (for a sparse
// file, its size with the holes, as it is written out).
func reserve(room *diskRoom, h *tar.Header) error {
	switch h.Typeflag {
	case tar.TypeReg:
		if err := room.take(h.Name, uint64(max(h.Size, 0))); err != nil {
			return err
		}
	case tar.TypeDir, tar.TypeSymlink:
	default:
		return nil // a hard link takes no inode; other types are refused
	}
	return room.entry(h.Name)
}

// replaceEarlier makes room at target for entry name, a file or a link:
// what an earlier entry of the same name made there, a file or a link, is
// removed, so the later entry wins, as with tar and Python's tarfile (an
// archive updated with tar -r holds both versions of a file). A folder
// there is refused: tarfile fails too.
func replaceEarlier(target, name string) error {
	st, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case st.IsDir():
		return fmt.Errorf("%s: an earlier entry made a folder of that name", name)
	}
	// The link itself, never where it points.
	return os.Remove(target)
}

// makeDir makes folder entry name at target, or keeps the folder an
// earlier entry made there, or a link to one (as tarfile does; entries
// below it are refused by noLinkedParents); a file there is refused.
func makeDir(target, name string, mode fs.FileMode) error {
	st, err := os.Lstat(target)
	if err != nil || st.IsDir() {
		return os.MkdirAll(target, mode)
	}
	if st.Mode()&fs.ModeSymlink == 0 {
		return fmt.Errorf("%s: a folder entry where an earlier entry made a file", name)
	}
	if st, err := os.Stat(target); err != nil || !st.IsDir() {
		return fmt.Errorf("%s: a folder entry where an earlier entry made a symbolic link to something else", name)
	}
	return nil
}

// entryPath is where an archive entry goes under dest: "" for the root
// itself, an error for an absolute name or one that climbs out with "..".
func entryPath(dest, name string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(strings.TrimPrefix(name, "./")))
	if clean == "." {
		return "", nil
	}
	if !filepath.IsLocal(clean) {
		return "", fmt.Errorf("%s: the entry would be written outside the target folder", name)
	}
	return filepath.Join(dest, clean), nil
}

// noLinkedParents refuses to write an entry whose folder, below dest, is a
// symbolic link from an earlier entry: a link checked as pointing inside
// ("a" -> ".") can make a later one's lexically safe path ("a/b" -> "../x")
// land outside.
func noLinkedParents(dest, target, name string) error {
	rel, err := filepath.Rel(dest, filepath.Dir(target))
	if err != nil {
		return err
	}
	if rel == "." {
		return nil
	}
	p := dest
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, part)
		st, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: the entry's folder %s is a symbolic link", name, filepath.ToSlash(strings.TrimPrefix(p, dest+string(filepath.Separator))))
		}
	}
	return nil
}

// checkLink refuses a symbolic link whose target, resolved from the link's
// folder, leaves dest.
func checkLink(dest, target, link, name string) error {
	if filepath.IsAbs(link) {
		return fmt.Errorf("%s: symbolic link to the absolute path %s", name, link)
	}
	resolved := filepath.Join(filepath.Dir(target), filepath.FromSlash(link))
	rel, err := filepath.Rel(dest, resolved)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return fmt.Errorf("%s: symbolic link to %s points outside the target folder", name, link)
	}
	return nil
}

// linksInside checks, once everything is extracted, that every symbolic
// link under dest resolves inside it the way the kernel resolves it:
// through the links it passes. checkLink, lexical, cannot see that "x" ->
// "d/c/.." leaves dest when "d/c" is itself a link to ".." (or becomes one
// later in the archive), and a model that opens x/... would read outside
// the model folder. Names in errors are prefix plus the path below dest.
func linksInside(dest, prefix string) error {
	root, err := realPath(dest)
	if err != nil {
		return err
	}
	return filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return err
		}
		rel, err := filepath.Rel(dest, p)
		if err != nil {
			return err
		}
		name := prefix + filepath.ToSlash(rel)
		link, err := os.Readlink(p)
		if err != nil {
			return err
		}
		resolved, err := realPath(p)
		if err != nil {
			return fmt.Errorf("%s: symbolic link to %s: %w", name, link, err)
		}
		if r, err := filepath.Rel(root, resolved); err != nil || !filepath.IsLocal(r) && r != "." {
			return fmt.Errorf("%s: symbolic link to %s points outside the target folder", name, link)
		}
		return nil
	})
}

// errLinkLoop is a path whose links go round: the kernel's ELOOP.
var errLinkLoop = errors.New("too many levels of symbolic links")

// realPath is absolute path p with every symbolic link it passes through
// resolved, component by component as the kernel does (a link's target is
// not cleaned lexically first: "l/.." is the parent of where l points).
// Components that do not exist are kept as they are, as Python's
// os.path.realpath does.
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	const maxLinks = 40 // Linux's MAXSYMLINKS
	resolved := string(filepath.Separator)
	rest := strings.Split(abs, string(filepath.Separator))
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
			return "", errLinkLoop
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

func extractFile(target string, r io.Reader, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	// O_EXCL: a second entry of the same name, or a file where an earlier
	// link was made, must not write through that link.
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	// The archive's mode, filtered, not the umask's: as tarfile does.
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// fileMode is the data filter's mode for files: owner read/write always,
// execute bits kept, no group/other write, no setuid/setgid/sticky.
func fileMode(m fs.FileMode) fs.FileMode { return m.Perm()&0o755 | 0o600 }

func dirMode(m fs.FileMode) fs.FileMode { return m.Perm()&0o755 | 0o700 }

func typeName(flag byte) string {
	switch flag {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "FIFO"
	}
	return fmt.Sprintf("type %q", flag)
}
