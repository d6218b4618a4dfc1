package config

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/storage"
)

// writeFiles lays out files (path relative to root -> content) under root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

func TestAvailableCPUs_CgroupLayouts(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		affinity int
		want     int
	}{
		{"no cgroup files: affinity", nil, 6, 6},
		{"v2 half a CPU rounds up to 1", map[string]string{
			"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/cpu.max": "50000 100000\n",
		}, 8, 1},
		{"v2 2.5 CPUs rounds up to 3", map[string]string{
			"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/cpu.max": "250000 100000\n",
		}, 8, 3},
		{"v2 no limit", map[string]string{
			"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/cpu.max": "max 100000\n",
		}, 8, 8},
		{"v2 quota above affinity: affinity", map[string]string{
			"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/cpu.max": "1600000 100000\n",
		}, 4, 4},
		{"v2 the tightest ancestor wins", map[string]string{
			"proc/self/cgroup":                        "0::/kubepods/pod1/ctr\n",
			"sys/fs/cgroup/kubepods/pod1/ctr/cpu.max": "max 100000\n",
			"sys/fs/cgroup/kubepods/pod1/cpu.max":     "200000 100000\n",
			"sys/fs/cgroup/kubepods/cpu.max":          "400000 100000\n",
		}, 16, 2},
		{"v1 quota at the mount root", map[string]string{
			"proc/self/cgroup":                            "3:cpu,cpuacct:/kubepods/pod1\n1:memory:/x\n",
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  "300000\n",
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
		}, 16, 3},
		{"v1 quota at the process path", map[string]string{
			"proc/self/cgroup":                        "1:cpu:/pod\n",
			"sys/fs/cgroup/cpu/pod/cpu.cfs_quota_us":  "150000\n",
			"sys/fs/cgroup/cpu/pod/cpu.cfs_period_us": "100000\n",
		}, 16, 2},
		{"v1 unlimited", map[string]string{
			"proc/self/cgroup":                    "1:cpu:/\n",
			"sys/fs/cgroup/cpu/cpu.cfs_quota_us":  "-1\n",
			"sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
		}, 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.files)
			assert.Equal(t, tt.want, availableCPUs(os.DirFS(root), tt.affinity))
		})
	}
}

func TestAvailableCPUs_ThisMachine(t *testing.T) {
	n := AvailableCPUs()
	assert.GreaterOrEqual(t, n, 1)
	assert.LessOrEqual(t, n, 1024)
}

func TestMaxAsyncioWorkers(t *testing.T) {
	assert.Equal(t, 5, AutoMaxAsyncioWorkers(1))
	assert.Equal(t, 6, AutoMaxAsyncioWorkers(2))
	assert.Equal(t, 32, AutoMaxAsyncioWorkers(28))
	assert.Equal(t, 32, AutoMaxAsyncioWorkers(96))

	c := Default()
	assert.Equal(t, AutoMaxAsyncioWorkers(AvailableCPUs()), c.EffectiveMaxAsyncioWorkers())
	c.MaxAsyncioWorkers = 3
	assert.Equal(t, 3, c.EffectiveMaxAsyncioWorkers())
}

func TestParseLogLevel(t *testing.T) {
	tests := map[string]slog.Level{
		"CRITICAL": slog.LevelError + 4, "fatal": slog.LevelError + 4, "ERROR": slog.LevelError,
		"warning": slog.LevelWarn, "WARN": slog.LevelWarn, "Info": slog.LevelInfo,
		"DEBUG": slog.LevelDebug, "NOTSET": slog.LevelDebug - 4,
	}
	for name, want := range tests {
		got, err := ParseLogLevel(name)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	_, err := ParseLogLevel("TRACE")
	assert.EqualError(t, err, `unknown level "TRACE" (choose from CRITICAL, FATAL, ERROR, WARN, WARNING, INFO, DEBUG, NOTSET)`)

	c := Default()
	c.LogLevel = "DEBUG"
	assert.Equal(t, slog.LevelDebug, c.SlogLevel())
}

func TestResolveModelDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	c := Default()
	got, err := c.ResolveModelDir(ctx, storage.Resolve)
	require.NoError(t, err)
	assert.Equal(t, "", got)

	c.StorageURI = "file://" + dir
	got, err = c.ResolveModelDir(ctx, storage.Resolve)
	require.NoError(t, err)
	assert.Equal(t, dir, got)

	c.ModelDir = "/explicit"
	got, err = c.ResolveModelDir(ctx, storage.Resolve)
	require.NoError(t, err)
	assert.Equal(t, "/explicit", got)

	c.ModelDir = ""
	c.StorageURI = "file://" + filepath.Join(dir, "missing")
	_, err = c.ResolveModelDir(ctx, storage.Resolve)
	assert.EqualError(t, err, "resolving STORAGE_URI: Local path file://"+filepath.Join(dir, "missing")+" does not exist.")
	assert.True(t, errors.Is(err, storage.ErrNotFound))
}

// --workers above 1 needs SO_REUSEPORT: on Windows it is a usage error
// naming the flag and the OS, before anything starts; elsewhere (and 0 or
// 1 anywhere) it is accepted.
func TestWorkersOn(t *testing.T) {
	assert.EqualError(t, workersOn("windows", 4), "argument --workers: 4 worker processes share the HTTP port with SO_REUSEPORT, which Windows does not have; use --workers 1 (one process serves every request), or run on Linux (a container, or WSL)")
	for _, n := range []int{0, 1} {
		assert.NoError(t, workersOn("windows", n))
	}
	for _, goos := range []string{"linux", "darwin"} {
		assert.NoError(t, workersOn(goos, 4))
	}
}
