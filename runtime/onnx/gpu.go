package onnx

import (
	"path/filepath"
	"runtime"
)

// gpuDevicePaths are the device files through which a Linux process sees a
// GPU CUDA can use: NVIDIA's driver's, which Kubernetes' device plugin
// mounts into a container granted a GPU, and WSL2's GPU paravirtualisation.
const gpuDevicePaths = "/dev/nvidia[0-9]*, /dev/dxg"

// gpuDevicesVisible reports whether one of gpuDevicePaths exists. It only
// chooses how a CPU fallback is logged, never whether CUDA is tried: where
// it cannot tell (not Linux), it says yes.
func gpuDevicesVisible() bool {
	if runtime.GOOS != "linux" {
		return true
	}
	if m, _ := filepath.Glob("/dev/nvidia[0-9]*"); len(m) > 0 {
		return true
	}
	m, _ := filepath.Glob("/dev/dxg")
	return len(m) > 0
}
