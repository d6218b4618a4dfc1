package gctune

import (
	"errors"
	"math"
	"runtime/debug"
	"testing"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func fixed(n uint64, err error) func() (uint64, error) {
	return func() (uint64, error) { return n, err }
}

func TestSetMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	before := debug.SetMemoryLimit(-1)
	for _, tc := range []struct {
		name      string
		env       map[string]string
		container func() (uint64, error)
		processes int
		bytes     int64
		log       string
	}{
		{"90% of the container", nil, fixed(256*mib, nil), 1, 241591910,
			"Go memory limit (GOMEMLIMIT) 230.4 MiB: 90% of the container's 256.0 MiB memory limit"},
		{"split between workers", nil, fixed(1024*mib, nil), 4, 241591910,
			"Go memory limit (GOMEMLIMIT) 230.4 MiB: 90% of the container's 1.0 GiB memory limit shared by 4 serving processes"},
		{"AUTOMEMLIMIT ratio", map[string]string{"AUTOMEMLIMIT": " 0.5 "}, fixed(2048*mib, nil), 0, 1024 * mib,
			"Go memory limit (GOMEMLIMIT) 1.0 GiB: 50% of the container's 2.0 GiB memory limit"},
		{"GOMEMLIMIT wins", map[string]string{"GOMEMLIMIT": "1GiB", "AUTOMEMLIMIT": "0.5"}, fixed(256*mib, nil), 1, 0,
			"Go memory limit not set: GOMEMLIMIT=1GiB is set"},
		{"AUTOMEMLIMIT off", map[string]string{"AUTOMEMLIMIT": "Off"}, fixed(256*mib, nil), 1, 0,
			"Go memory limit not set: AUTOMEMLIMIT=off"},
		{"unlimited", nil, fixed(0, memlimit.ErrNoLimit), 1, 0,
			"Go memory limit not set: the container's memory is not limited"},
		{"cgroup v1's unlimited value", nil, fixed(math.MaxUint64, nil), 1, 0,
			"Go memory limit not set: the container's memory is not limited"},
		{"no cgroup", nil, fixed(0, errors.New("failed to find cgroup mountpoint")), 1, 0,
			"Go memory limit not set: no container memory limit found (failed to find cgroup mountpoint)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, restore, err := SetMemoryLimit(env(tc.env), tc.container, tc.processes)
			require.NoError(t, err)
			assert.Equal(t, tc.bytes, l.Bytes)
			assert.Equal(t, tc.log, l.String())
			if tc.bytes > 0 {
				assert.Equal(t, tc.bytes, debug.SetMemoryLimit(-1), "the limit is in force")
			} else {
				assert.Equal(t, before, debug.SetMemoryLimit(-1), "nothing changed")
			}
			restore()
			assert.Equal(t, before, debug.SetMemoryLimit(-1), "restored")
		})
	}
}

func TestSetMemoryLimit_BadRatio(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	for _, v := range []string{"90%", "0", "1.5", "-0.1", "NaN"} {
		_, restore, err := SetMemoryLimit(env(map[string]string{"AUTOMEMLIMIT": v}), fixed(1<<30, nil), 1)
		require.Error(t, err, v)
		assert.Equal(t, `AUTOMEMLIMIT="`+v+`": want the share of the container's memory limit Go may use, in (0, 1] (e.g. 0.8), or off`, err.Error())
		restore()
		assert.Equal(t, before, debug.SetMemoryLimit(-1))
	}
}

// inOneGiB sets the limit of one process in a 1 GiB container, putting
// Go's limit back when the test ends.
func inOneGiB(t *testing.T) MemoryLimit {
	t.Helper()
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	l, restore, err := SetMemoryLimit(env(nil), fixed(1<<30, nil), 1)
	require.NoError(t, err)
	t.Cleanup(restore)
	return l
}

// Less lowers the limit by what the process holds outside Go, keeping a
// tenth of the share when the models take nearly all of it.
func TestMemoryLimit_Less(t *testing.T) {
	const mib = 1 << 20
	l := inOneGiB(t)
	assert.Empty(t, l.Less(300*mib))
	assert.Equal(t, int64(966367641-300*mib), l.Bytes)
	assert.Equal(t, l.Bytes, debug.SetMemoryLimit(-1))
	assert.Equal(t, "Go memory limit (GOMEMLIMIT) 621.6 MiB: 90% of the container's 1.0 GiB memory limit, less 300.0 MiB held outside Go", l.String())

	assert.Equal(t, "The models hold 950.0 MiB outside Go, nearly all of this process's 921.6 MiB share of the container's memory: Go's memory limit stays at 92.2 MiB; raise the container's memory limit",
		l.Less(950*mib))
	assert.Equal(t, int64(966367641/10), l.Bytes)
	assert.Equal(t, l.Bytes, debug.SetMemoryLimit(-1))

	none, _, err := SetMemoryLimit(env(map[string]string{"AUTOMEMLIMIT": "off"}), fixed(1024*mib, nil), 1)
	require.NoError(t, err)
	assert.Empty(t, none.Less(300*mib))
	assert.Zero(t, none.Bytes, "no limit, nothing to lower")
}

// Refresh follows a resized container and a grown arena, and leaves
// changes under 1 % and unreadable limits alone.
func TestMemoryLimit_Refresh(t *testing.T) {
	const mib = 1 << 20
	l := inOneGiB(t)
	l.Less(100 * mib)
	was := l.Bytes

	changed, _ := l.Refresh(fixed(1024*mib, nil), fixed(101*mib, nil))
	assert.False(t, changed, "1 MiB more outside Go is under 1 %")
	assert.Equal(t, was, l.Bytes)
	assert.Equal(t, was, debug.SetMemoryLimit(-1))

	changed, _ = l.Refresh(fixed(1024*mib, nil), fixed(300*mib, nil))
	assert.True(t, changed, "an arena grew by 200 MiB")
	assert.Equal(t, int64(966367641-300*mib), l.Bytes)
	assert.Equal(t, l.Bytes, debug.SetMemoryLimit(-1))

	changed, _ = l.Refresh(fixed(2048*mib, nil), fixed(300*mib, nil))
	assert.True(t, changed, "the pod was resized")
	assert.Equal(t, "Go memory limit (GOMEMLIMIT) 1.5 GiB: 90% of the container's 2.0 GiB memory limit, less 300.0 MiB held outside Go", l.String())
	assert.Equal(t, l.Bytes, debug.SetMemoryLimit(-1))

	was = l.Bytes
	for _, lim := range []func() (uint64, error){fixed(0, errors.New("gone")), fixed(0, memlimit.ErrNoLimit), fixed(math.MaxUint64, nil)} {
		changed, _ = l.Refresh(lim, fixed(300*mib, nil))
		assert.False(t, changed)
		assert.Equal(t, was, l.Bytes)
	}
}

func TestRefreshInterval(t *testing.T) {
	for v, want := range map[string]time.Duration{"": DefaultRefresh, "0": 0, "off": 0, "OFF": 0, "10s": 10 * time.Second, "2.5": 2500 * time.Millisecond, "100ms": 100 * time.Millisecond} {
		got, err := RefreshInterval(env(map[string]string{"KSERVE_GEN_MEMLIMIT_REFRESH": v}))
		require.NoError(t, err, v)
		assert.Equal(t, want, got, v)
	}
	for _, v := range []string{"soon", "-1s", "-3"} {
		_, err := RefreshInterval(env(map[string]string{"KSERVE_GEN_MEMLIMIT_REFRESH": v}))
		assert.EqualError(t, err, `KSERVE_GEN_MEMLIMIT_REFRESH="`+v+`": want how often to re-read the memory limit, e.g. 30s, or off`)
	}
}
