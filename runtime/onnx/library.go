package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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

// Library is the ONNX Runtime shared library's file names on one OS.
type Library struct {
	// File is the name scripts/setup-onnx.sh installs in LibraryDir, and
	// the one the error message asks EnvLibraryPath to point at.
	File string
	// Loader are the names asked of the OS's own library search, in order.
	Loader []string
	// LoaderSource says where that search looks.
	LoaderSource string
	// CUDAProvider is the CUDA execution provider's library, which ONNX
	// Runtime loads from its own folder ("" where there is none).
	CUDAProvider string
}

// LibraryFor returns the library's names on goos (runtime.GOOS values):
// libonnxruntime.so on Linux (and other Unix systems), libonnxruntime.dylib
// on macOS, onnxruntime.dll on Windows. The versioned names are those the
// onnxruntime-node package and ONNX Runtime's release archives ship.
func LibraryFor(goos string) Library {
	switch goos {
	case "darwin", "ios":
		return Library{
			File:   "libonnxruntime.dylib",
			Loader: []string{"libonnxruntime.1.dylib", "libonnxruntime.dylib"},
			// dlopen: DYLD_LIBRARY_PATH, the program's rpaths,
			// DYLD_FALLBACK_LIBRARY_PATH (~/lib, /usr/local/lib, /usr/lib).
			LoaderSource: "dynamic loader search path",
		}
	case "windows":
		return Library{
			File:   "onnxruntime.dll",
			Loader: []string{"onnxruntime.dll"},
			// LoadLibrary: the program's folder, System32 (where recent
			// Windows versions keep an older onnxruntime.dll of their
			// own), the Windows folder, the current folder, PATH.
			LoaderSource: "DLL search path",
			CUDAProvider: "onnxruntime_providers_cuda.dll",
		}
	}
	return Library{
		File:         "libonnxruntime.so",
		Loader:       []string{"libonnxruntime.so.1", "libonnxruntime.so"},
		LoaderSource: "dynamic loader search path", // LD_LIBRARY_PATH, ld.so.cache, /usr/lib...
		CUDAProvider: "libonnxruntime_providers_cuda.so",
	}
}

// CacheDir returns the kserve-gen cache folder: $KSERVE_GEN_CACHE, or
// $HOME/.cache/kserve-gen ("" when neither is set; on Windows, where HOME
// is seldom set, %USERPROFILE% stands in for it).
func CacheDir(getenv func(string) string) string {
	return cacheDirFor(runtime.GOOS, getenv)
}

func cacheDirFor(goos string, getenv func(string) string) string {
	if d := getenv(EnvCache); d != "" {
		return d
	}
	h := getenv("HOME")
	if h == "" && goos == "windows" {
		h = getenv("USERPROFILE")
	}
	if h != "" {
		return filepath.Join(h, ".cache", "kserve-gen")
	}
	return ""
}

// LibraryDir is the folder scripts/setup-onnx.sh installs the library into.
func LibraryDir(getenv func(string) string) string {
	return libraryDirFor(runtime.GOOS, getenv)
}

func libraryDirFor(goos string, getenv func(string) string) string {
	c := cacheDirFor(goos, getenv)
	if c == "" {
		return ""
	}
	return filepath.Join(c, "onnxruntime", ORTVersion)
}

// Candidates lists, in order, where the library is looked for: only the
// override when EnvLibraryPath is set (a wrong override is an error, not a
// reason to load something else), otherwise the set-up cache, then the
// loader's search path, by this OS's names (LibraryFor).
func Candidates(getenv func(string) string) []Candidate {
	return candidatesFor(runtime.GOOS, getenv)
}

func candidatesFor(goos string, getenv func(string) string) []Candidate {
	if p := getenv(EnvLibraryPath); p != "" {
		return []Candidate{{Path: p, Source: EnvLibraryPath, File: true}}
	}
	lib := LibraryFor(goos)
	var c []Candidate
	if d := libraryDirFor(goos, getenv); d != "" {
		c = append(c, Candidate{Path: filepath.Join(d, lib.File), Source: "kserve-gen cache (" + SetupCommand + ")", File: true})
	}
	// Tried last, through the OS loader's own search.
	for _, n := range lib.Loader {
		c = append(c, Candidate{Path: n, Source: lib.LoaderSource})
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
	// File is the library's file name the message asks for (default: this
	// OS's, LibraryFor(runtime.GOOS).File).
	File string
}

func (e *LibraryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (need ONNX Runtime >= %s; kserve-gen installs %s). Looked at:", ErrLibraryNotFound, MinORTVersion, ORTVersion)
	for _, a := range e.Attempts {
		fmt.Fprintf(&b, "\n  - %s [%s]: %v", a.Path, a.Source, a.Err)
	}
	file := e.File
	if file == "" {
		file = LibraryFor(runtime.GOOS).File
	}
	fmt.Fprintf(&b, "\nInstall it with %s (run from the kserve-gen repository; add --gpu for the CUDA execution provider), or set %s to the path of %s.", SetupCommand, EnvLibraryPath, file)
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
	case strings.Contains(msg, "cannot open shared object file"), // Linux's dlopen
		strings.Contains(msg, "image not found"),                                    // macOS's, before macOS 11
		strings.Contains(msg, "(no such file)") && !strings.Contains(msg, "mach-o"): // macOS's, not a library of another architecture
		return fmt.Errorf("not found by the dynamic loader (%w)", err)
	case strings.Contains(msg, "The specified module could not be found"): // Windows' LoadLibrary
		return fmt.Errorf("not found in the DLL search path (%w)", err)
	}
	return err
}
