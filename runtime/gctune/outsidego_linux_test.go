package gctune

import (
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// OutsideGo sees memory mapped outside the Go runtime (as cgo libraries
// such as ONNX Runtime allocate it) once it is resident.
func TestOutsideGo(t *testing.T) {
	const size = 64 << 20
	before, err := OutsideGo()
	require.NoError(t, err)
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	defer syscall.Munmap(mem)
	for i := 0; i < size; i += os.Getpagesize() {
		mem[i] = 1 // resident now
	}
	after, err := OutsideGo()
	require.NoError(t, err)
	grew := int64(after) - int64(before)
	assert.InDelta(t, size, grew, 8<<20, "grew by %d bytes", grew)
}
