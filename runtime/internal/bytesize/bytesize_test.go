package bytesize

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB", 241591910: "230.4 MiB", 5 << 40: "5.0 TiB"} {
		assert.Equal(t, want, Format(n), "%d", n)
	}
}
