package storage

import (
	"fmt"
	"io/fs"
	"math"
	"os"

	"golang.org/x/sys/windows"
)

// roomIn measures the free space with GetDiskFreeSpaceEx: the bytes free
// to this user (quotas included). NTFS and ReFS have no fixed number of
// files, so no entry count is limited.
func roomIn(dir string) (*diskRoom, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return nil, fmt.Errorf("free space in %s: %w", dir, err)
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return nil, fmt.Errorf("free space in %s: %w", dir, err)
	}
	if total == 0 {
		// A volume that reports no size says nothing about what fits.
		avail = math.MaxUint64
	}
	return &diskRoom{dir: dir, free: avail}, nil
}

// userTag names this user (by SID: Windows has no numeric user id) in the
// cache folder under the temporary folder.
func userTag() string {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "unknown"
	}
	return u.User.Sid.String()
}

// ownedPrivateDir checks that d is a real folder (not a link or junction)
// owned by this user. Windows' permission bits say nothing about other
// users (ACLs do), and the temporary folder this guards is the user's own
// (%TEMP% is under the profile), so ownership is what is checked.
func ownedPrivateDir(d string) error {
	st, err := os.Lstat(d)
	if err != nil {
		return err
	}
	bad := fmt.Errorf("%s is not a folder of this user; remove it or set LocalAppData", d)
	if st.Mode().Type() != fs.ModeDir {
		return bad
	}
	sd, err := windows.GetNamedSecurityInfo(d, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("owner of %s: %w", d, err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("owner of %s: %w", d, err)
	}
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return fmt.Errorf("this user's SID: %w", err)
	}
	if !owner.Equals(u.User.Sid) {
		return bad
	}
	return nil
}
