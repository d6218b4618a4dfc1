package infer

import (
	"testing"

	"github.com/google/uuid"
)

// NewID must be a valid, distinct version-4 RFC 4122 UUID each time, as
// KServe's generate_uuid (uuid.uuid4()).
func TestNewIDIsUUID4(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := NewID()
		id, err := uuid.Parse(s)
		if err != nil || len(s) != 36 {
			t.Fatalf("NewID() = %q: %v", s, err)
		}
		if id.Version() != 4 || id.Variant() != uuid.RFC4122 {
			t.Fatalf("NewID() = %q: version %d, variant %v; want 4, RFC4122", s, id.Version(), id.Variant())
		}
		if seen[s] {
			t.Fatalf("NewID() repeated %q", s)
		}
		seen[s] = true
	}
}
