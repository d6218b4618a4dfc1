package generator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Write puts files into dir without ever leaving it half-written. The
// files are written into a staging folder first: beside dir when dir does
// not exist, which then becomes dir with one rename; inside dir when it
// exists, so that dir itself (its inode, mode, a symlink to it, a shell
// standing in it) stays as it is, and the staged files are moved in one by
// one (each move is atomic). dir must not exist or be empty unless force is
// set; with force, files of the same name are replaced and every other file
// is kept. Every destination is checked before the first move: a folder
// where the project has a file, or a file where it has a folder, refuses
// the write with nothing touched.
func Write(ctx context.Context, dir string, files []File, force bool) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("output directory %s: %w", dir, err)
	}
	empty, err := isEmptyDir(abs)
	if err != nil {
		return err
	}
	if !empty && !force {
		// Which files differ only adds to the refusal: a file that cannot
		// be read to tell leaves the list out, not the answer.
		differ, err := Differing(abs, files)
		return &DirNotEmptyError{Dir: dir, Differ: differ, Compared: err == nil}
	}
	return write(ctx, abs, files)
}

// DirNotEmptyError is Write's error for a folder that is not empty without
// force (it matches ErrDirNotEmpty). Differ names the files --force would
// replace with different contents, a user's edits among them: "not empty"
// alone did not say whether --force was safe. Compared is false when a
// file could not be read to tell, and the error then says nothing of it.
type DirNotEmptyError struct {
	Dir      string
	Differ   []string
	Compared bool
}

func (e *DirNotEmptyError) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Dir, ErrDirNotEmpty)
	switch {
	case !e.Compared:
	case len(e.Differ) == 0:
		// The folder holds other files, or this project unchanged (new
		// run twice): say so, or the refusal reads as a risk it is not.
		msg += " (--force would replace none of its files with other contents)"
	case len(e.Differ) == 1:
		msg += fmt.Sprintf(" (--force would replace %s, which differs from the new one)", e.Differ[0])
	default:
		msg += fmt.Sprintf(" (--force would replace %s, which differ from the new ones)", strings.Join(e.Differ, ", "))
	}
	return msg
}

func (e *DirNotEmptyError) Unwrap() error { return ErrDirNotEmpty }

// Differing lists the files (by their Path) that dir holds with contents
// other than files give them: those writing files into dir with force
// replaces with something else. Files dir lacks, or holds unchanged, are
// not listed.
func Differing(dir string, files []File) ([]string, error) {
	var out []string
	for _, f := range files {
		same, err := sameFile(filepath.Join(dir, filepath.FromSlash(f.Path)), f)
		if err != nil {
			return nil, err
		}
		if !same {
			out = append(out, f.Path)
		}
	}
	return out, nil
}

// sameFile reports whether path is missing or holds what f would write.
// A model copied from Source is compared by its size and then its bytes.
func sameFile(path string, f File) (bool, error) {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("output directory: %w", err)
	}
	if !st.Mode().IsRegular() {
		return false, nil // a folder or link where the file goes: Write refuses or replaces it
	}
	want := io.Reader(bytes.NewReader(f.Data))
	size := int64(len(f.Data))
	if f.Source != "" {
		src, err := os.Open(f.Source)
		if err != nil {
			return false, fmt.Errorf("compare %w", err)
		}
		defer src.Close()
		sst, err := src.Stat()
		if err != nil {
			return false, fmt.Errorf("compare %w", err)
		}
		want, size = src, sst.Size()
	}
	if st.Size() != size {
		return false, nil
	}
	have, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("output directory: %w", err)
	}
	defer have.Close()
	return sameReaders(have, want)
}

// sameReaders reports whether a and b hold the same bytes.
func sameReaders(a, b io.Reader) (bool, error) {
	bufA, bufB := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		n, errA := io.ReadFull(a, bufA)
		m, errB := io.ReadFull(b, bufB)
		if !bytes.Equal(bufA[:n], bufB[:m]) {
			return false, nil
		}
		endA := errors.Is(errA, io.EOF) || errors.Is(errA, io.ErrUnexpectedEOF)
		endB := errors.Is(errB, io.EOF) || errors.Is(errB, io.ErrUnexpectedEOF)
		switch {
		case errA != nil && !endA:
			return false, fmt.Errorf("compare: %w", errA)
		case errB != nil && !endB:
			return false, fmt.Errorf("compare: %w", errB)
		case endA || endB:
			return endA && endB, nil
		}
	}
}

// CheckDir reports whether Write could write into dir: it must be missing
// or empty unless force is set, and not a file. The form uses it to refuse
// a directory before anything is rendered.
func CheckDir(dir string, force bool) error {
	if err := checkBlankDir(dir); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("output directory %s: %w", dir, err)
	}
	empty, err := isEmptyDir(abs)
	if err != nil {
		return err
	}
	if !empty && !force {
		return fmt.Errorf("%s: %w", dir, ErrDirNotEmpty)
	}
	return checkWritable(abs)
}

// checkBlankDir refuses a folder name of spaces alone: it is legal, but
// nobody means one, and the project written there is hard to find (or cd
// into).
func checkBlankDir(dir string) error {
	if dir != "" && strings.TrimSpace(dir) == "" {
		return fmt.Errorf("output directory %q names no folder", dir)
	}
	return nil
}

// checkWritable reports whether Write can stage files for abs: in it when
// it exists, else in the nearest folder above it that does (Write creates
// the ones between). It makes a folder there and removes it, the one test
// that answers for root, ACLs and read-only mounts alike; the form asks
// it on the output directory's field rather than once every question is
// answered, all lost.
func checkWritable(abs string) error {
	in := abs
	for {
		if _, err := os.Stat(in); err == nil || filepath.Dir(in) == in {
			break
		}
		in = filepath.Dir(in)
	}
	probe, err := os.MkdirTemp(in, ".kserve-gen-check-*")
	if err != nil {
		return notWritable(abs, in, err)
	}
	if err := os.Remove(probe); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	return nil
}

// notWritable names the project's folder and the one it cannot write in
// (not the staging folder's generated name) when err says so.
func notWritable(abs, in string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)) {
		return fmt.Errorf("cannot write the project into %s: %s is not writable (%w)", abs, in, pe.Err)
	}
	return fmt.Errorf("output directory: %w", err)
}

func write(ctx context.Context, abs string, files []File) (err error) {
	exists := false
	if st, err := os.Stat(abs); err == nil && st.IsDir() {
		exists = true
	}
	stageIn := abs
	pattern := ".kserve-gen-stage-*"
	if !exists {
		stageIn = filepath.Dir(abs)
		pattern = "." + filepath.Base(abs) + ".kserve-gen-*"
		if err := os.MkdirAll(stageIn, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", stageIn, err)
		}
	}
	stage, err := os.MkdirTemp(stageIn, pattern)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
			return notWritable(abs, stageIn, err)
		}
		// The staging folder's name is ours, not the user's: name the
		// project's folder and the one that refused it.
		return fmt.Errorf("cannot write the project into %s: making a folder in %s failed: %w", abs, stageIn, err)
	}
	defer func() {
		if rmErr := os.RemoveAll(stage); rmErr != nil && err == nil {
			err = fmt.Errorf("remove staging directory: %w", rmErr)
		}
	}()
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(stage, filepath.FromSlash(f.Path)), f); err != nil {
			return err
		}
	}
	if !exists {
		// MkdirTemp made the folder 0700; a project folder is 0755.
		if err := os.Chmod(stage, 0o755); err != nil {
			return fmt.Errorf("chmod %s: %w", stage, err)
		}
		if err := os.Rename(stage, abs); err != nil {
			return fmt.Errorf("move project into %s: %w", abs, err)
		}
		return nil
	}
	if err := checkDestinations(abs, files); err != nil {
		return err
	}
	for _, f := range files {
		dst := filepath.Join(abs, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(dst), err)
		}
		if err := os.Rename(filepath.Join(stage, filepath.FromSlash(f.Path)), dst); err != nil {
			return fmt.Errorf("write %s: %w", dst, err)
		}
	}
	return nil
}

// checkDestinations makes sure every file can be moved into dir: nothing
// where a file goes is a folder, and every folder on the way is a folder
// or missing, not a symbolic link: a file moved through one (client ->
// a folder elsewhere, in a folder someone else made) would replace a file
// of the same name wherever it points. It touches nothing.
func checkDestinations(dir string, files []File) error {
	for _, f := range files {
		dst := filepath.Join(dir, filepath.FromSlash(f.Path))
		if st, err := os.Lstat(dst); err == nil && st.IsDir() {
			return fmt.Errorf("%s is a folder where the project has a file; nothing was written", dst)
		}
		for p := filepath.Dir(dst); p != dir && len(p) > len(dir); p = filepath.Dir(p) {
			st, err := os.Lstat(p)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("output directory: %w", err)
			}
			if st.Mode()&fs.ModeSymlink != 0 {
				return fmt.Errorf("%s is a symbolic link where the project has a folder; nothing was written", p)
			}
			if !st.IsDir() {
				return fmt.Errorf("%s is a file where the project has a folder; nothing was written", p)
			}
		}
	}
	return nil
}

func writeFile(path string, f File) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	mode := f.Mode
	if mode == 0 {
		mode = 0o644
	}
	if f.Source != "" {
		return copyFile(path, f.Source, mode)
	}
	if err := os.WriteFile(path, f.Data, mode); err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	return nil
}

// copyFile copies src to dst, which it creates.
func copyFile(dst, src string, mode fs.FileMode) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("copy %s: %w", src, cerr)
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}

// isEmptyDir reports whether dir is missing or an empty directory.
func isEmptyDir(dir string) (bool, error) {
	d, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("output directory: %w", err)
	}
	defer d.Close()
	st, err := d.Stat()
	if err != nil {
		return false, fmt.Errorf("output directory: %w", err)
	}
	if !st.IsDir() {
		return false, fmt.Errorf("output directory %s is a file", dir)
	}
	_, err = d.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("output directory %s: %w", dir, err)
	}
	return false, nil
}

// Generate renders the project and writes it to o.OutputDir().
func Generate(ctx context.Context, o *Options) ([]File, error) {
	files, err := Render(o)
	if err != nil {
		return nil, err
	}
	if err := Write(ctx, o.OutputDir(), files, o.Force); err != nil {
		return nil, err
	}
	return files, nil
}
