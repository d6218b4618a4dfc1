package gctune

import (
	"errors"
	"math"
	"runtime/debug"
	"testing"

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
