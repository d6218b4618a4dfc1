package onnx

import (
	"fmt"
	"strconv"
	"strings"
)

// DeviceKind is where a session runs.
type DeviceKind int

const (
	// DeviceAuto uses the CUDA execution provider when it loads, and the CPU
	// otherwise (the reason is logged once per Env and device).
	DeviceAuto DeviceKind = iota
	// DeviceCPU uses the CPU execution provider only.
	DeviceCPU
	// DeviceCUDA requires the CUDA execution provider: a session that cannot
	// get it fails instead of running on the CPU, so a GPU deployment that
	// lost its GPU is noticed at start-up rather than by its latency.
	DeviceCUDA
)

// Device is a DeviceKind plus, for CUDA, the GPU index.
type Device struct {
	// Kind is auto, CPU or CUDA.
	Kind DeviceKind
	// ID is the GPU index of a CUDA device (cuda:N); 0 otherwise.
	ID int
}

// Execution provider names, as ONNX Runtime calls them.
const (
	ProviderCPU  = "CPUExecutionProvider"
	ProviderCUDA = "CUDAExecutionProvider"
)

// ParseDevice reads "auto" (or ""), "cpu", "cuda" (GPU 0) or "cuda:N".
func ParseDevice(s string) (Device, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); {
	case v == "" || v == "auto":
		return Device{Kind: DeviceAuto}, nil
	case v == "cpu":
		return Device{Kind: DeviceCPU}, nil
	case v == "cuda":
		return Device{Kind: DeviceCUDA}, nil
	case strings.HasPrefix(v, "cuda:"):
		id, err := strconv.Atoi(v[len("cuda:"):])
		if err != nil || id < 0 {
			return Device{}, fmt.Errorf("invalid device %q: the GPU index after \"cuda:\" must be a number >= 0", s)
		}
		return Device{Kind: DeviceCUDA, ID: id}, nil
	}
	return Device{}, fmt.Errorf("invalid device %q: expected auto, cpu, cuda or cuda:N", s)
}

// String is the form ParseDevice reads.
func (d Device) String() string {
	switch d.Kind {
	case DeviceCPU:
		return "cpu"
	case DeviceCUDA:
		return fmt.Sprintf("cuda:%d", d.ID)
	}
	if d.ID != 0 {
		return fmt.Sprintf("auto (cuda:%d)", d.ID)
	}
	return "auto"
}
