// Package bytesize prints byte counts the way the server's log lines show
// them: binary units with one decimal.
package bytesize

import "fmt"

// Format is n in B, KiB, MiB, GiB or TiB with one decimal ("1.5 KiB").
func Format(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), "B"
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}
