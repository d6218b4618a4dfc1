package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// argparseValue marks the flag.Values of this package: their Set errors are
// already worded like argparse ("invalid int value: 'x'"), so the parser only
// prefixes the flag name.
type argparseValue interface {
	argparse()
}

// StrToBool parses a boolean the way KServe's strtobool does: y, yes, t,
// true, on, 1 and n, no, f, false, off, 0, in any case.
func StrToBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "y", "yes", "t", "true", "on", "1":
		return true, nil
	case "n", "no", "f", "false", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("invalid strtobool value: %s", pyRepr(s))
}

// pyRepr quotes like Python's repr of a str, which argparse uses in errors.
func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

// parsePyInt accepts what Python's int(str) accepts in base 10: surrounding
// white space, a sign, and single underscores between digits.
func parsePyInt(s string) (int64, error) {
	t := strings.TrimSpace(s)
	digits := strings.TrimLeft(t, "+-")
	if len(t)-len(digits) > 1 || strings.HasPrefix(digits, "_") || strings.HasSuffix(digits, "_") || strings.Contains(digits, "__") {
		return 0, fmt.Errorf("invalid int value: %s", pyRepr(s))
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(t, "_", ""), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid int value: %s", pyRepr(s))
	}
	return n, nil
}

type intValue struct{ p *int }

func (intValue) argparse() {}
func (v intValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}
func (v intValue) Set(s string) error {
	n, err := parsePyInt(s)
	if err != nil {
		return err
	}
	if int64(int(n)) != n {
		return fmt.Errorf("invalid int value: %s", pyRepr(s))
	}
	*v.p = int(n)
	return nil
}

// boolValue is a KServe `type=strtobool` flag. IsBoolFlag lets the parser
// accept a bare --flag as true, which argparse would reject.
type boolValue struct{ p *bool }

func (boolValue) argparse()        {}
func (boolValue) IsBoolFlag() bool { return true }
func (v boolValue) String() string {
	if v.p == nil {
		return "false"
	}
	return strconv.FormatBool(*v.p)
}
func (v boolValue) Set(s string) error {
	b, err := StrToBool(s)
	if err != nil {
		return err
	}
	*v.p = b
	return nil
}

// storeTrueValue is argparse's action="store_true": present means true, and
// it takes no value.
type storeTrueValue struct{ boolValue }

func (storeTrueValue) storeTrue() {}

type choiceValue struct {
	p       *string
	choices []string
}

func (choiceValue) argparse() {}
func (v choiceValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}
func (v choiceValue) Set(s string) error {
	for _, c := range v.choices {
		if s == c {
			*v.p = s
			return nil
		}
	}
	quoted := make([]string, len(v.choices))
	for i, c := range v.choices {
		quoted[i] = pyRepr(c)
	}
	return fmt.Errorf("invalid choice: %s (choose from %s)", pyRepr(s), strings.Join(quoted, ", "))
}

// maxSeconds is the most whole seconds a time.Duration holds.
const maxSeconds = math.MaxInt64 / int64(time.Second)

// secondsValue takes seconds as a number ("30", "2.5") like KServe's
// grace_period, or a Go duration ("1m30s").
type secondsValue struct{ p *time.Duration }

func (secondsValue) argparse() {}
func (v secondsValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatFloat(v.p.Seconds(), 'f', -1, 64)
}
func (v secondsValue) Set(s string) error {
	t := strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		// ParseFloat takes "inf" and "nan", and time.Duration(f*1e9)
		// overflows to a value the user never gave beyond ±292 years.
		ns := f * float64(time.Second)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("invalid seconds value: %s (want seconds like 30 or 2.5, or a duration like 1m30s)", pyRepr(s))
		}
		if ns >= math.MaxInt64 || ns <= math.MinInt64 {
			return fmt.Errorf("invalid seconds value: %s (out of range; at most %d seconds)", pyRepr(s), maxSeconds)
		}
		*v.p = time.Duration(ns)
		return nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return fmt.Errorf("invalid seconds value: %s (want seconds like 30 or 2.5, or a duration like 1m30s)", pyRepr(s))
	}
	*v.p = d
	return nil
}

// byteSizeValue takes a byte count, optionally with a binary (Ki, Mi, Gi) or
// decimal (K, M, G) suffix, with or without a trailing B.
type byteSizeValue struct{ p *int64 }

func (byteSizeValue) argparse() {}
func (v byteSizeValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatInt(*v.p, 10)
}
func (v byteSizeValue) Set(s string) error {
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*v.p = n
	return nil
}

func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
		{"K", 1e3}, {"M", 1e6}, {"G", 1e9},
		{"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n > (1<<62)/mult || n < -(1<<62)/mult {
		return 0, fmt.Errorf("invalid size value: %s (want bytes like 67108864 or 64MiB)", pyRepr(s))
	}
	return n * mult, nil
}
