package logging

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The expectations were produced by CPython 3.11: format % {"x": value}.
func TestPercentFormat_MatchesPython(t *testing.T) {
	tests := []struct {
		format string
		v      value
		want   string
	}{
		{"%(x)s", strVal("ab"), "ab"},
		{"%(x)5s|", strVal("ab"), "   ab|"},
		{"%(x)-5s|", strVal("ab"), "ab   |"},
		{"%(x).1s", strVal("ab"), "a"},
		{"%(x)-8s|", strVal("INFO"), "INFO    |"},
		{"%(x)03d", floatVal(5), "005"},
		{"%(x)03d", intVal(5), "005"},
		{"%(x)s", floatVal(5), "5.0"},
		{"%(x)s", floatVal(123), "123.0"},
		{"%(x)d", intVal(-7), "-7"},
		{"%(x)+d", intVal(7), "+7"},
		{"%(x) d", intVal(7), " 7"},
		{"%(x)05d", intVal(-42), "-0042"},
		{"%(x)-5d|", intVal(42), "42   |"},
		{"%(x).3d", intVal(7), "007"},
		{"%(x)x", intVal(255), "ff"},
		{"%(x)#x", intVal(255), "0xff"},
		{"%(x)X", intVal(255), "FF"},
		{"%(x)#o", intVal(8), "0o10"},
		{"%(x)f", floatVal(1.5), "1.500000"},
		{"%(x).2f", floatVal(3.14159), "3.14"},
		{"%(x)8.3f|", floatVal(-3.14159), "  -3.142|"},
		{"%(x)e", floatVal(12345.678), "1.234568e+04"},
		{"%(x)g", floatVal(0.0001), "0.0001"},
		{"%(x)g", floatVal(1e-05), "1e-05"},
		{"%(x)g", floatVal(123456789.0), "1.23457e+08"},
		{"%(x)G", floatVal(1e-10), "1E-10"},
		{"%(x)r", strVal("it's"), `"it's"`},
		{"%(x)r", strVal("ab"), "'ab'"},
		{"%(x)a", strVal("é"), `'\xe9'`},
		{"%(x)c", intVal(65), "A"},
		{"%(x)10r|", strVal("ab"), "      'ab'|"},
		{"%(x)s", floatVal(1700000000.123456), "1700000000.123456"},
		{"%(x)f", floatVal(1700000000.123456), "1700000000.123456"},
		{"%(x)s", floatVal(1e16), "1e+16"},
		{"%(x)s", floatVal(0.1), "0.1"},
		{"%(x)s", floatVal(2.5e-05), "2.5e-05"},
		{"%(x)s", floatVal(0.0001), "0.0001"},
		{"%(x)ld", intVal(3), "3"},
		{"100%% %(x)s", strVal("ok"), "100% ok"},
		{"%(x)+.2e", floatVal(0), "+0.00e+00"},
		{"%(x)s", floatVal(math.Copysign(0, -1)), "-0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			ops, err := compilePercent(tt.format)
			require.NoError(t, err)
			var got []byte
			for _, o := range ops {
				if o.spec == nil {
					got = append(got, o.lit...)
				} else {
					got = appendSpec(got, o.spec, tt.v)
				}
			}
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestPercentFormat_Errors(t *testing.T) {
	tests := map[string]string{
		"%(x":    `format "%(x": unterminated %( at offset 0`,
		"%s":     `format "%s": directive at offset 0 has no %(name) key`,
		"%(x)*d": `format "%(x)*d": '*' width needs positional arguments, not allowed with %(name)`,
		"%(x)q":  `format "%(x)q": unsupported conversion 'q' at offset 4`,
		"%(x)5":  `format "%(x)5": incomplete directive at offset 0`,
		// Widths and precisions past Go's fmt bound: each line would be
		// padded to it (this one allocated until the kernel killed the
		// server); digits past int64 do not wrap round.
		"a %(message)1000000000000s": `format "a %(message)1000000000000s": width 1000000000000 at offset 2 is larger than 1000000`,
		"%(x)-99999999999999999999d": `format "%(x)-99999999999999999999d": width 99999999999999999999 at offset 0 is larger than 1000000`,
		"%(x)s %(created).1000001f":  `format "%(x)s %(created).1000001f": precision 1000001 at offset 6 is larger than 1000000`,
		"%(x).18446744073709551617s": `format "%(x).18446744073709551617s": precision 18446744073709551617 at offset 0 is larger than 1000000`,
	}
	for format, want := range tests {
		_, err := compilePercent(format)
		assert.EqualError(t, err, want, format)
	}
	_, err := compilePercent("%(message)1000000s %(created)10.1000000f")
	assert.NoError(t, err, "the bound itself is allowed")
}

func TestPyFloatRepr(t *testing.T) {
	// repr(float) in CPython.
	for f, want := range map[float64]string{
		0: "0.0", 1: "1.0", 1.5: "1.5", 0.123456789: "0.123456789", 12: "12.0",
		5e-05: "5e-05", 0.0001: "0.0001", 1e16: "1e+16", 123456.789: "123456.789",
		9999999999999998: "9999999999999998.0",
	} {
		assert.Equal(t, want, string(appendPyFloat(nil, f)), "%v", f)
	}
}

// appendMillis's integer path prints what Python prints for round(ns/1e6, 9).
func TestAppendMillis_SameAsFloatRepr(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(ns int64) {
		if ns == 0 {
			return
		}
		want := string(appendPyFloat(nil, float64(ns)/1e6))
		if got := string(appendMillis(nil, time.Duration(ns))); got != want {
			t.Fatalf("ns=%d: got %q, want %q", ns, got, want)
		}
	}
	for _, ns := range []int64{1, 50, 99, 100, 125, 999, 1000, 1000000, 1500000, 1234567, 12000000, 3000000000, 1e15 - 1, 1e15, 1e16} {
		check(ns)
	}
	for range 200000 {
		check(r.Int64N(1 << uint(r.IntN(50)+1)))
	}
	assert.Equal(t, "0", string(appendMillis(nil, 0)), "a step that did not run")
}
