package headerval

import (
	"strings"
	"testing"
)

// The header named is the one that takes the most of the list as HTTP/2
// counts it, not the one with the longest values: a hundred one-byte values
// cost more than one value of a thousand bytes. A tie names the first name.
func TestSizes(t *testing.T) {
	many := make([]string, 100)
	for i := range many {
		many[i] = "a"
	}
	h := map[string][]string{"X-Many": many, "X-One": {strings.Repeat("b", 1000)}}
	total, key, n := Sizes(h)
	if want := 100*(6+1+32) + 5 + 1000 + 32; total != want || key != "X-Many" || n != 3900 {
		t.Errorf("Sizes = %d, %q, %d; want %d, \"X-Many\", 3900", total, key, n, want)
	}
	for range 20 { // map order varies between runs of the loop
		if _, key, _ := Sizes(map[string][]string{"B": {"x"}, "A": {"x"}, "C": {"x"}}); key != "A" {
			t.Fatalf("a tie names %q, want \"A\"", key)
		}
	}
	if total, key, n := Sizes(nil); total != 0 || key != "" || n != 0 {
		t.Errorf("Sizes(nil) = %d, %q, %d", total, key, n)
	}
}
