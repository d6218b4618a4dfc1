package storage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// On Windows the free space comes from GetDiskFreeSpaceEx, with no entry
// count, and the temporary-folder cache must be a plain folder of this
// user. (Type-checked on Linux by GOOS=windows go vet; no Windows machine
// runs it here.)
func TestWindows_RoomAndOwnedFolder(t *testing.T) {
	dir := t.TempDir()
	room, err := roomIn(dir)
	require.NoError(t, err)
	assert.Positive(t, room.free)
	assert.False(t, room.limitFiles)

	assert.NoError(t, ownedPrivateDir(dir))
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	assert.EqualError(t, ownedPrivateDir(file), file+" is not a folder of this user; remove it or set LocalAppData")
	assert.NotEmpty(t, userTag())
	assert.NotEqual(t, "unknown", userTag())
}
