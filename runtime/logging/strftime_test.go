package logging

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Expectations from CPython 3.11 time.strftime (glibc, C locale).
func TestStrftime_MatchesPython(t *testing.T) {
	ts := time.Unix(1772694489, 123456000).UTC()
	d := compileDatefmt("%Y %m %d %H %M %S %y %b %B %a %A %j %p %I %z|%e|%c|%x|%X|%D|%F|%T|%u|%w|%%|%Q")
	assert.Equal(t, "2026 03 05 07 08 09 26 Mar March Thu Thursday 064 AM 07 +0000| 5|Thu Mar  5 07:08:09 2026|03/05/26|07:08:09|03/05/26|2026-03-05|07:08:09|4|4|%|%Q",
		string(d.append(nil, ts)))
	assert.False(t, d.subSecond)

	pm := compileDatefmt("%p %I %j")
	assert.Equal(t, "PM 05 064", string(pm.append(nil, ts.Add(10*time.Hour))))

	est := ts.In(time.FixedZone("EST", -5*3600))
	zone := compileDatefmt("%z %Z")
	assert.Equal(t, "-0500 EST", string(zone.append(nil, est)))

	// %f is datetime's microseconds; time.strftime has no such code but
	// configs written for datetime use it.
	f := compileDatefmt("%H:%M:%S.%f")
	assert.True(t, f.subSecond)
	assert.Equal(t, "07:08:09.123456", string(f.append(nil, ts)))
}

func TestLevels(t *testing.T) {
	for py, want := range map[int]string{10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL", 5: "TRACE", 25: "Level 25", 15: "Level 15"} {
		assert.Equal(t, want, levelName(SlogLevel(py)), "python level %d", py)
		assert.Equal(t, py, PythonLevel(SlogLevel(py)))
	}
	for s, want := range map[string]int{"INFO": 20, "info": 20, "WARN": 30, "FATAL": 50, "25": 25, "trace": 5, "NOTSET": 0} {
		l, err := parseLevel(s)
		assert.NoError(t, err)
		assert.Equal(t, want, PythonLevel(l), s)
	}
	_, err := parseLevel("LOUD")
	assert.EqualError(t, err, `unknown level "LOUD" (want CRITICAL, ERROR, WARNING, INFO, DEBUG, TRACE, NOTSET or a number)`)
}

func TestPyLiteral(t *testing.T) {
	tests := map[string]any{
		"(sys.stderr,)":                     []any{"ext://sys.stderr"},
		"()":                                []any{},
		"('app.log', 'a', 10*1024*1024, 5)": []any{"app.log", "a", int64(10485760), int64(5)},
		`("x.log")`:                         "x.log",
		"{'maxBytes': 1_000, 'backupCount': 3, 'delay': True, 'encoding': None}": map[string]any{
			"maxBytes": int64(1000), "backupCount": int64(3), "delay": true, "encoding": nil},
	}
	for src, want := range tests {
		got, err := parsePyLiteral(src)
		assert.NoError(t, err, src)
		assert.Equal(t, want, got, src)
	}
	for _, src := range []string{"(10**1,)", "(4294967296*4294967296,)", "(-1*-9223372036854775808,)", "(3037000500*3037000500,)"} {
		_, err := parsePyLiteral(src)
		assert.Error(t, err, src)
	}
	for src, want := range map[string]int64{"(3037000499*3037000499,)": 9223372030926249001, "(-1*-9223372036854775807,)": 9223372036854775807, "(0*-9223372036854775808,)": 0} {
		got, err := parsePyLiteral(src)
		require.NoError(t, err, src)
		assert.Equal(t, []any{want}, got, src)
	}
	_, err := parsePyLiteral("(open('x'),)")
	assert.EqualError(t, err, `python literal "(open('x'),)", offset 5: unsupported name "open" (only sys.stderr, sys.stdout, True, False, None)`)
}
