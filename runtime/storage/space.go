package storage

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/kserve-gen/kserve-gen/runtime/internal/bytesize"
)

// diskRoom is what unpacking may still write on the filesystem holding dir:
// the bytes and inodes free for an unprivileged user when it began. A few
// kilobytes of gzip, zip or sparse tar can declare terabytes; without this
// a decompression bomb wrote until the disk was full (the pod's, and that
// of everything sharing it) before failing on ENOSPC. Measured against it,
// an archive too large for the disk is refused at the entry that would not
// fit, before its bytes are written: tar and zip entries declare their
// sizes, and both readers refuse an entry longer than declared.
type diskRoom struct {
	dir        string
	free       uint64 // bytes free at the start
	used       uint64 // bytes taken since
	files      uint64 // inodes free at the start, less those taken since
	limitFiles bool   // false where the filesystem reports no inode count
}

// spaceError is an archive or a decompressed download larger than the disk
// it is written to.
type spaceError struct{ msg string }

func (e *spaceError) Error() string { return e.msg }

const bombHint = "(a decompression bomb, or a disk too small for the model)"

// take reserves the n bytes entry name declares, or says they do not fit.
func (d *diskRoom) take(name string, n uint64) error {
	if n > d.free-d.used {
		return &spaceError{fmt.Sprintf("%s: the archive unpacks to at least %d bytes with this entry, more than the %d bytes free on the disk holding %s %s",
			name, d.used+n, d.free, d.dir, bombHint)}
	}
	d.used += n
	return nil
}

// entry reserves an inode for entry name.
func (d *diskRoom) entry(name string) error {
	if !d.limitFiles {
		return nil
	}
	if d.files == 0 {
		return &spaceError{fmt.Sprintf("%s: the archive has more entries than the disk holding %s has free inodes", name, d.dir)}
	}
	d.files--
	return nil
}

// roomReader fails a decompressed stream once it has given more bytes than
// the disk had free when it began.
type roomReader struct {
	r    io.Reader
	room *diskRoom
	what string
}

func (r *roomReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if uint64(n) > r.room.free-r.room.used {
		return 0, &spaceError{fmt.Sprintf("%s decompresses to more than the %d bytes free on the disk holding %s %s",
			r.what, r.room.free, r.room.dir, bombHint)}
	}
	r.room.used += uint64(n)
	return n, err
}

// fullDiskHint is what to do about a cache disk too small for a model.
const fullDiskHint = "free space there, or set XDG_CACHE_HOME to a folder on a larger disk"

// checkDownloadRoom refuses a download of need bytes (declared by the
// source: Content-Length, or a listing's sizes) into dir when the disk
// holding it has less free: written anyway, it filled the disk (the pod's,
// and that of everything sharing it) before failing on ENOSPC, after
// transferring gigabytes for nothing. A disk whose free space cannot be
// read, or a size not declared, is left to the write to find out.
func checkDownloadRoom(shown, dir string, need int64) error {
	if need <= 0 {
		return nil
	}
	room, err := roomIn(dir)
	if err != nil || uint64(need) <= room.free {
		return nil
	}
	return newError(ErrDownload, "storage uri %s: the model is %s (%d bytes), more than the %s (%d bytes) free on the disk holding %s: %s",
		shown, bytesize.Format(need), need, bytesize.Format(int64(room.free)), room.free, dir, fullDiskHint)
}

// noSpaceHint is what to do when a write failed for want of space (a size
// the source did not declare, or the disk filled meanwhile).
func noSpaceHint(err error) string {
	if errors.Is(err, syscall.ENOSPC) {
		return "; " + fullDiskHint
	}
	return ""
}
