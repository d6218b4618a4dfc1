package generator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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
		return fmt.Errorf("%s: %w", dir, ErrDirNotEmpty)
	}
	return write(ctx, abs, files)
}

// CheckDir reports whether Write could write into dir: it must be missing
// or empty unless force is set, and not a file. The form uses it to refuse
// a directory before anything is rendered.
func CheckDir(dir string, force bool) error {
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
	return nil
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
		return fmt.Errorf("create staging directory: %w", err)
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
// or missing. It touches nothing.
func checkDestinations(dir string, files []File) error {
	for _, f := range files {
		dst := filepath.Join(dir, filepath.FromSlash(f.Path))
		if st, err := os.Lstat(dst); err == nil && st.IsDir() {
			return fmt.Errorf("%s is a folder where the project has a file; nothing was written", dst)
		}
		for p := filepath.Dir(dst); p != dir && len(p) > len(dir); p = filepath.Dir(p) {
			st, err := os.Stat(p)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("output directory: %w", err)
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
