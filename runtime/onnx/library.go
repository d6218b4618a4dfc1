package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Where the ONNX Runtime shared library is looked for.
const (
	// ORTVersion is the ONNX Runtime version scripts/setup-onnx.sh installs.
	ORTVersion = "1.29.0"
	// MinORTVersion is the oldest library the binding (onnxruntime_go
	// v1.27.0, C API 24) can use.
	MinORTVersion = "1.24"
	// EnvLibraryPath names the library to use, overriding every other place.
	EnvLibraryPath = "ONNXRUNTIME_SHARED_LIBRARY_PATH"
	// EnvCache is the kserve-gen cache folder (default $HOME/.cache/kserve-gen),
	// the same variable scripts/setup-onnx.sh reads.
	EnvCache = "KSERVE_GEN_CACHE"
	// SetupCommand installs the library into the cache.
	SetupCommand = "scripts/setup-onnx.sh"
)

// ErrLibraryNotFound is matched (errors.Is) by the error Env.Init returns
// when no usable ONNX Runtime library was found.
var ErrLibraryNotFound = errors.New("ONNX Runtime library not found")

// Candidate is one place the library is looked for.
type Candidate struct {
	// Path is a file path, or a bare file name for the loader's search path.
	Path string
	// Source says why Path is a candidate.
	Source string
	// File is true when Path names a file to check before loading it.
	File bool
}

// CacheDir returns the kserve-gen cache folder: $KSERVE_GEN_CACHE, or
// $HOME/.cache/kserve-gen ("" when neither is set).
func CacheDir(getenv func(string) string) string {
	if d := getenv(EnvCache); d != "" {
		return d
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "kserve-gen")
	}
	return ""
}

// LibraryDir is the folder scripts/setup-onnx.sh installs the library into.
func LibraryDir(getenv func(string) string) string {
	c := CacheDir(getenv)
	if c == "" {
		return ""
	}
	return filepath.Join(c, "onnxruntime", ORTVersion)
}

// Candidates lists, in order, where the library is looked for: only the
// override when EnvLibraryPath is set (a wrong override is an error, not a
// reason to load something else), otherwise the set-up cache, then the
// loader's search path.
func Candidates(getenv func(string) string) []Candidate {
	if p := getenv(EnvLibraryPath); p != "" {
		return []Candidate{{Path: p, Source: EnvLibraryPath, File: true}}
	}
	var c []Candidate
	if d := LibraryDir(getenv); d != "" {
		c = append(c, Candidate{Path: filepath.Join(d, "libonnxruntime.so"), Source: "kserve-gen cache (" + SetupCommand + ")", File: true})
	}
	// Tried last, through the dynamic loader's own search (LD_LIBRARY_PATH,
	// ld.so.cache, /usr/lib...).
	for _, n := range []string{"libonnxruntime.so.1", "libonnxruntime.so"} {
		c = append(c, Candidate{Path: n, Source: "dynamic loader search path"})
	}
	return c
}

// Attempt is a candidate and why it could not be used.
type Attempt struct {
	Candidate
	Err error
}

// LibraryError lists every place looked at and why each failed.
type LibraryError struct {
	Attempts []Attempt
}

func (e *LibraryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (need ONNX Runtime >= %s; kserve-gen installs %s). Looked at:", ErrLibraryNotFound, MinORTVersion, ORTVersion)
	for _, a := range e.Attempts {
		fmt.Fprintf(&b, "\n  - %s [%s]: %v", a.Path, a.Source, a.Err)
	}
	fmt.Fprintf(&b, "\nInstall it with %s (run from the kserve-gen repository; add --gpu for the CUDA execution provider), or set %s to the path of libonnxruntime.so.", SetupCommand, EnvLibraryPath)
	return b.String()
}

func (e *LibraryError) Unwrap() error { return ErrLibraryNotFound }

// checkFile is the pre-load check of a file candidate.
func checkFile(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return errors.New("no such file")
	}
	if err != nil {
		return err
	}
	if st.IsDir() {
		return errors.New("is a directory, not the library file")
	}
	return nil
}

// explainLoadError turns the binding's load errors into a reason a user can
// act on. A too-old library fails with "Error setting ORT API base: 2" while
// the real reason ("The requested API version [24] is not available") only
// goes to stderr.
func explainLoadError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "ORT API base"):
		return fmt.Errorf("the library is too old: onnxruntime_go v1.27.0 needs C API 24, i.e. ONNX Runtime >= %s (%w)", MinORTVersion, err)
	case strings.Contains(msg, "cannot open shared object file"):
		return fmt.Errorf("not found by the dynamic loader (%w)", err)
	}
	return err
}
