//go:build unix

package storage

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"syscall"
)

func roomIn(dir string) (*diskRoom, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil, fmt.Errorf("free space in %s: %w", dir, err)
	}
	free := uint64(st.Bavail) * uint64(st.Bsize)
	if st.Blocks == 0 {
		// A filesystem that reports no size (some FUSE and network ones)
		// says nothing about what fits.
		free = math.MaxUint64
	}
	return &diskRoom{
		dir:        dir,
		free:       free,
		files:      uint64(st.Ffree),
		limitFiles: st.Files > 0,
	}, nil
}

// userTag names this user in the cache folder under the shared temporary
// folder.
func userTag() string { return strconv.Itoa(os.Getuid()) }

// ownedPrivateDir checks that d is a real folder (not a link) of this user
// that no one else may write to.
func ownedPrivateDir(d string) error {
	st, err := os.Lstat(d)
	if err != nil {
		return err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || !ok || int(sys.Uid) != os.Getuid() || st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is not a folder of this user that only it may write to; remove it or set XDG_CACHE_HOME", d)
	}
	return nil
}
