package onnx

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Each OS's library names, in the cache and through the loader's own
// search: a Mac looks for the .dylib files onnxruntime-node and ONNX
// Runtime's archives ship, Windows for onnxruntime.dll (and its HOME is
// %USERPROFILE% when HOME is unset).
func TestCandidatesFor_EachOSLooksForItsOwnNames(t *testing.T) {
	cache := func(home, file string) Candidate {
		return Candidate{Path: filepath.Join(home, ".cache", "kserve-gen", "onnxruntime", "1.29.0", file), Source: "kserve-gen cache (scripts/setup-onnx.sh)", File: true}
	}
	for _, tc := range []struct {
		goos string
		env  map[string]string
		want []Candidate
	}{
		{"linux", map[string]string{"HOME": "/home/u"}, []Candidate{
			cache("/home/u", "libonnxruntime.so"),
			{Path: "libonnxruntime.so.1", Source: "dynamic loader search path"},
			{Path: "libonnxruntime.so", Source: "dynamic loader search path"},
		}},
		{"freebsd", map[string]string{"HOME": "/home/u"}, []Candidate{
			cache("/home/u", "libonnxruntime.so"),
			{Path: "libonnxruntime.so.1", Source: "dynamic loader search path"},
			{Path: "libonnxruntime.so", Source: "dynamic loader search path"},
		}},
		{"darwin", map[string]string{"HOME": "/Users/u"}, []Candidate{
			cache("/Users/u", "libonnxruntime.dylib"),
			{Path: "libonnxruntime.1.dylib", Source: "dynamic loader search path"},
			{Path: "libonnxruntime.dylib", Source: "dynamic loader search path"},
		}},
		{"windows", map[string]string{"USERPROFILE": `C:\Users\u`}, []Candidate{
			cache(`C:\Users\u`, "onnxruntime.dll"),
			{Path: "onnxruntime.dll", Source: "DLL search path"},
		}},
		{"windows", map[string]string{"HOME": "/c/Users/u", "USERPROFILE": `C:\Users\u`}, []Candidate{
			cache("/c/Users/u", "onnxruntime.dll"),
			{Path: "onnxruntime.dll", Source: "DLL search path"},
		}},
		{"darwin", map[string]string{"USERPROFILE": "/x"}, []Candidate{
			{Path: "libonnxruntime.1.dylib", Source: "dynamic loader search path"},
			{Path: "libonnxruntime.dylib", Source: "dynamic loader search path"},
		}},
		{"windows", map[string]string{EnvLibraryPath: `D:\ort\onnxruntime.dll`, "USERPROFILE": `C:\Users\u`}, []Candidate{
			{Path: `D:\ort\onnxruntime.dll`, Source: EnvLibraryPath, File: true},
		}},
	} {
		t.Run(tc.goos, func(t *testing.T) {
			assert.Equal(t, tc.want, candidatesFor(tc.goos, mapEnv(tc.env)))
		})
	}
}

func TestLibraryFor_CUDAProvider(t *testing.T) {
	assert.Equal(t, "libonnxruntime_providers_cuda.so", LibraryFor("linux").CUDAProvider)
	assert.Equal(t, "onnxruntime_providers_cuda.dll", LibraryFor("windows").CUDAProvider)
	assert.Empty(t, LibraryFor("darwin").CUDAProvider, "ONNX Runtime has no CUDA build for macOS")
}

// The error's fix names the file to point the override at, as this OS
// calls it.
func TestLibraryError_NamesThisOSsFile(t *testing.T) {
	err := &LibraryError{File: "onnxruntime.dll", Attempts: []Attempt{
		{Candidate{Path: "onnxruntime.dll", Source: "DLL search path"}, errors.New("not found")},
	}}
	assert.Equal(t, `ONNX Runtime library not found (need ONNX Runtime >= 1.24; kserve-gen installs 1.29.0). Looked at:
  - onnxruntime.dll [DLL search path]: not found
Install it with scripts/setup-onnx.sh (run from the kserve-gen repository; add --gpu for the CUDA execution provider), or set ONNXRUNTIME_SHARED_LIBRARY_PATH to the path of onnxruntime.dll.`, err.Error())
}

// The loaders' "no such library" errors, as onnxruntime_go wraps them on
// each OS, read as "not found"; a Mac library of the wrong architecture
// does not.
func TestExplainLoadError_NotFoundOnEachOS(t *testing.T) {
	for _, tc := range []struct{ err, want string }{
		{`Platform-specific initialization failed: Error loading ONNX shared library "libonnxruntime.so.1": libonnxruntime.so.1: cannot open shared object file: No such file or directory`, "not found by the dynamic loader ("},
		{`Platform-specific initialization failed: Error loading ONNX shared library "libonnxruntime.1.dylib": dlopen(libonnxruntime.1.dylib, 0x0001): tried: 'libonnxruntime.1.dylib' (no such file), '/usr/local/lib/libonnxruntime.1.dylib' (no such file), '/usr/lib/libonnxruntime.1.dylib' (no such file)`, "not found by the dynamic loader ("},
		{`Platform-specific initialization failed: Error loading ONNX shared library "onnxruntime.dll": The specified module could not be found.`, "not found in the DLL search path ("},
		{`Platform-specific initialization failed: Error loading ONNX shared library "/x/libonnxruntime.dylib": dlopen(/x/libonnxruntime.dylib, 0x0001): tried: '/x/libonnxruntime.dylib' (mach-o file, but is an incompatible architecture (have 'x86_64', need 'arm64e' or 'arm64')), '/System/Volumes/Preboot/Cryptexes/OS/x/libonnxruntime.dylib' (no such file)`, "Platform-specific"},
	} {
		got := explainLoadError(errors.New(tc.err)).Error()
		assert.Equal(t, tc.want, got[:len(tc.want)], got)
	}
}
