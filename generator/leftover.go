package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kserve-gen/kserve-gen/project"
)

// Leftovers is what RemoveLeftovers did with the files an earlier project
// in the folder has and the new one does not write (the gRPC client/ of a
// grpc project made a rest one, the onnx sample model).
type Leftovers struct {
	// Removed are the files removed, each unchanged since kserve-gen wrote
	// it, then the folders that left empty (with a trailing /), sorted.
	Removed []string
	// Kept are the files that stay, sorted by path, with why.
	Kept []Kept
}

// Kept is a leftover file that stays in the folder.
type Kept struct {
	Path string
	Why  KeptWhy
	// Err says what stopped its removal: for KeptNotRemoved and
	// KeptUnknown, the system's error.
	Err error
}

// KeptWhy says why a leftover file stays.
type KeptWhy int

const (
	// KeptEdited: its bytes are not those the earlier project's answers
	// render to (edited since kserve-gen wrote it, or not written by this
	// kserve-gen).
	KeptEdited KeptWhy = iota
	// KeptModel: the earlier project's model/model.onnx or
	// model/labels.txt, which is not the sample's: the user's model (new
	// --model copied it there, which kserve-gen.yaml does not record, so
	// the earlier project re-renders with the sample), or one put in the
	// sample's place since.
	KeptModel
	// KeptLink: it, or a folder on its way, is a symbolic link, which
	// nothing is removed through.
	KeptLink
	// KeptNotFile: something other than a plain file is there.
	KeptNotFile
	// KeptUnknown: whether it is unchanged cannot be told (the earlier
	// project does not render, or the file cannot be read).
	KeptUnknown
	// KeptNotRemoved: unchanged, but removing it failed (Err).
	KeptNotRemoved
	// KeptBeside: an unchanged Go file, but in a folder (not the
	// project's own) where another of the earlier project's Go files
	// stays: the folder is a Go package (the gRPC client/), and its edited
	// main.go without the main_test.go beside it, or the reverse, would
	// no longer build or lose its tests.
	KeptBeside
)

// EarlierFiles renders, in memory, the project that was's answers (the
// kserve-gen.yaml new --force writes over) make with the generator and
// runtime module of o, the new project's options.
//
// This is how new --force tells the files kserve-gen wrote and the user
// never touched from the others: a file the earlier project has and the
// new one does not is removed only if its bytes are exactly those this
// re-render gives. kserve-gen.yaml records the answers the templates read
// (name, module, template, protocol, gRPC, GPU, resources), so projects
// written before this existed re-render too, and nothing new is recorded.
// Content hashes recorded at generation were the other way: they would
// fill kserve-gen.yaml, a file users edit, with lines of hex, mean reading
// a gigabyte --model once more to hash it, and prove nothing for the
// projects written before them. A re-render errs one way only: a file
// written by a kserve-gen whose templates have changed since, or from a
// --model (which kserve-gen.yaml does not record: the sample renders in
// its place), differs from it and stays, named (as an edited file, or, for
// the model, as the user's: KeptModel);
// while a file whose bytes equal the re-render's is what kserve-gen
// writes for those answers, so removing it loses nothing anyone wrote,
// whichever version wrote it.
func EarlierFiles(was *project.File, o *Options) ([]File, error) {
	// Without the image and deploy settings (new takes none): they go
	// into README.md and inferenceservice.yaml alone, which every project
	// has, so never into a file the new project lacks; and settings that
	// do not render with the answers must not stop the comparison.
	p := *was
	p.Image, p.Deploy = "", nil
	return Render(&Options{
		Project:     p,
		Dir:         o.Dir,
		Runtime:     o.Runtime,
		ReplacePath: o.ReplacePath,
	})
}

// RemoveLeftovers removes from dir each file of earlier (the files the
// project in dir was written as, see EarlierFiles) that written (the new
// project's) lacks, where dir holds it byte for byte as earlier has it,
// then each folder on those files' way that this leaves empty. Every other
// such file stays and is listed in Kept with why; files that are neither
// earlier's nor written's (the user's own) are never looked at. Nothing
// is removed through a symbolic link: a file or folder on the way that is
// a link keeps the file.
//
// A Go package other than the project's own is kept whole: when one of
// a folder's leftover Go files stays, so do the others (KeptBeside),
// since a package's files need each other.
func RemoveLeftovers(dir string, earlier, written []File) Leftovers {
	var left Leftovers
	var unchanged []File
	staying := map[string]bool{} // folders where a leftover Go file stays
	for _, f := range leftoverFiles(earlier, written) {
		why, err := checkUnchanged(dir, f)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Gone already: nothing to remove or to say.
		case err != nil:
			if why == KeptEdited && (f.Path == SampleModelPath || f.Path == LabelsPath) {
				// earlier has the sample there (EarlierFiles renders no
				// --model): a file unlike it is a model of the user's, not
				// an edit of the sample.
				why = KeptModel
			}
			left.Kept = append(left.Kept, Kept{Path: f.Path, Why: why, Err: err})
			if strings.HasSuffix(f.Path, ".go") {
				staying[path.Dir(f.Path)] = true
			}
		default:
			unchanged = append(unchanged, f)
		}
	}
	folders := map[string]bool{}
	for _, f := range unchanged {
		if d := path.Dir(f.Path); d != "." && staying[d] && strings.HasSuffix(f.Path, ".go") {
			left.Kept = append(left.Kept, Kept{Path: f.Path, Why: KeptBeside})
			continue
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(f.Path))); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				left.Kept = append(left.Kept, Kept{Path: f.Path, Why: KeptNotRemoved, Err: err})
			}
			continue
		}
		left.Removed = append(left.Removed, f.Path)
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			folders[d] = true
		}
	}
	slices.SortFunc(left.Kept, func(a, b Kept) int { return strings.Compare(a.Path, b.Path) })
	// Deepest first, so that a folder emptied of its only folder goes too.
	byDepth := make([]string, 0, len(folders))
	for d := range folders {
		byDepth = append(byDepth, d)
	}
	slices.SortFunc(byDepth, func(a, b string) int {
		if n := strings.Count(b, "/") - strings.Count(a, "/"); n != 0 {
			return n
		}
		return strings.Compare(a, b)
	})
	var emptied []string
	for _, d := range byDepth {
		if removeIfEmpty(filepath.Join(dir, filepath.FromSlash(d))) {
			emptied = append(emptied, d+"/")
		}
	}
	slices.Sort(emptied)
	left.Removed = append(left.Removed, emptied...)
	return left
}

// KeepLeftovers lists the paths (files of the earlier project the new one
// does not write, by LeftBehind) that dir holds, each KeptUnknown: for an
// earlier project that does not render, where nothing proves a file
// unchanged.
func KeepLeftovers(dir string, paths []string) Leftovers {
	var left Leftovers
	for _, p := range paths {
		if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(p))); err == nil {
			left.Kept = append(left.Kept, Kept{Path: p, Why: KeptUnknown})
		}
	}
	return left
}

// leftoverFiles are earlier's files that written has no file of that path
// for, sorted by path.
func leftoverFiles(earlier, written []File) []File {
	next := make(map[string]bool, len(written))
	for _, f := range written {
		next[f.Path] = true
	}
	var out []File
	for _, f := range earlier {
		if !next[f.Path] {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// checkUnchanged reports whether dir holds f's file with f's bytes, as a
// plain file reached through no symbolic link. It returns an error
// wrapping fs.ErrNotExist when there is no such file, and otherwise, for
// a file that must stay, why with the error that says so.
func checkUnchanged(dir string, f File) (KeptWhy, error) {
	// Every folder on the way must be a folder, not a link to one
	// elsewhere: os.Remove would follow it and remove a file of the same
	// name wherever it points. Lstat the file itself for the same reason.
	for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
		st, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(d)))
		if err != nil {
			return KeptUnknown, err
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return KeptLink, fmt.Errorf("%s is a symbolic link", d)
		}
		if !st.IsDir() {
			return KeptNotFile, fmt.Errorf("%s is not a folder", d)
		}
	}
	name := filepath.Join(dir, filepath.FromSlash(f.Path))
	st, err := os.Lstat(name)
	switch {
	case err != nil:
		return KeptUnknown, err
	case st.Mode()&fs.ModeSymlink != 0:
		return KeptLink, fmt.Errorf("%s is a symbolic link", f.Path)
	case !st.Mode().IsRegular():
		return KeptNotFile, fmt.Errorf("%s is not a plain file", f.Path)
	}
	same, err := sameFile(name, f)
	if err != nil {
		return KeptUnknown, err
	}
	if !same {
		return KeptEdited, fmt.Errorf("%s differs from what kserve-gen wrote", f.Path)
	}
	return 0, nil
}

// removeIfEmpty removes the folder name if it is one (not a link) and
// empty, and reports whether it did.
func removeIfEmpty(name string) bool {
	st, err := os.Lstat(name)
	if err != nil || !st.IsDir() {
		return false
	}
	if empty, err := isEmptyDir(name); err != nil || !empty {
		return false
	}
	return os.Remove(name) == nil
}
