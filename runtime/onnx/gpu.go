package onnx

import (
	"path/filepath"
	"runtime"
)

// gpuDeviceGlobs are the device files through which a Linux process sees a
// GPU CUDA can use: NVIDIA's driver's, which Kubernetes' device plugin
// mounts into a container granted a GPU, and WSL2's GPU paravirtualisation.
var gpuDeviceGlobs = []string{"/dev/nvidia[0-9]*", "/dev/dxg"}

// gpuDevicesVisible reports whether a file matches one of gpuDeviceGlobs.
// It only chooses how a CPU fallback is logged, never whether CUDA is
// tried: where it cannot tell (not Linux), it says yes.
func gpuDevicesVisible() bool {
	if runtime.GOOS != "linux" {
		return true
	}
	for _, g := range gpuDeviceGlobs {
		if m, _ := filepath.Glob(g); len(m) > 0 {
			return true
		}
	}
	return false
}
