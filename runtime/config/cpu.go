package config

import (
	"bufio"
	"bytes"
	"io/fs"
	"math"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
)

// AvailableCPUs is the number of CPUs this process may use: the affinity
// mask (runtime.NumCPU) lowered to the cgroup CPU quota, rounded up.
// cgroup v2 (cpu.max, every ancestor) is read first, then cgroup v1
// (cpu.cfs_quota_us / cpu.cfs_period_us).
func AvailableCPUs() int {
	return availableCPUs(os.DirFS("/"), runtime.NumCPU())
}

// availableCPUs reads proc/self/cgroup and sys/fs/cgroup/... from root, so
// tests can lay out a cgroup tree in a temporary directory.
func availableCPUs(root fs.FS, affinity int) int {
	cpus := max(affinity, 1)
	quota, ok := cgroupV2Quota(root)
	if !ok {
		quota, ok = cgroupV1Quota(root)
	}
	if ok && quota < float64(cpus) {
		cpus = max(int(math.Ceil(quota)), 1)
	}
	return cpus
}

// cgroupLines returns the (controllers, path) pairs of proc/self/cgroup.
func cgroupLines(root fs.FS) [][2]string {
	data, err := fs.ReadFile(root, "proc/self/cgroup")
	if err != nil {
		return nil
	}
	var out [][2]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) == 3 {
			out = append(out, [2]string{parts[1], parts[2]})
		}
	}
	return out
}

// cgroupV2Quota is the smallest cpu.max quota/period along the process's
// cgroup path up to the root of the unified hierarchy.
func cgroupV2Quota(root fs.FS) (float64, bool) {
	dir := "/"
	for _, l := range cgroupLines(root) {
		if l[0] == "" {
			dir = l[1]
		}
	}
	best, found := 0.0, false
	for d := path.Clean(dir); ; d = path.Dir(d) {
		if q, ok := readCPUMax(root, path.Join("sys/fs/cgroup", d, "cpu.max")); ok && (!found || q < best) {
			best, found = q, true
		}
		if d == "/" || d == "." {
			break
		}
	}
	return best, found
}

func readCPUMax(root fs.FS, name string) (float64, bool) {
	data, err := fs.ReadFile(root, strings.TrimPrefix(name, "/"))
	if err != nil {
		return 0, false
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 || fields[0] == "max" {
		return 0, false
	}
	q, err1 := strconv.ParseFloat(fields[0], 64)
	p, err2 := strconv.ParseFloat(fields[1], 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0, false
	}
	return q / p, true
}

// cgroupV1Quota reads the cpu controller's CFS quota, at the process's
// cgroup path and at the mount root (inside a container the path is the
// host's, while the container sees its own cgroup at the root).
func cgroupV1Quota(root fs.FS) (float64, bool) {
	var dirs []string
	for _, l := range cgroupLines(root) {
		for _, c := range strings.Split(l[0], ",") {
			if c == "cpu" {
				dirs = append(dirs, l[1])
			}
		}
	}
	dirs = append(dirs, "/")
	for _, mount := range []string{"sys/fs/cgroup/cpu", "sys/fs/cgroup/cpu,cpuacct"} {
		for _, d := range dirs {
			base := path.Join(mount, d)
			q, ok1 := readInt(root, path.Join(base, "cpu.cfs_quota_us"))
			p, ok2 := readInt(root, path.Join(base, "cpu.cfs_period_us"))
			if ok1 && ok2 {
				if q <= 0 || p <= 0 {
					return 0, false // -1: no quota
				}
				return float64(q) / float64(p), true
			}
		}
	}
	return 0, false
}

func readInt(root fs.FS, name string) (int64, bool) {
	data, err := fs.ReadFile(root, name)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return n, err == nil
}
