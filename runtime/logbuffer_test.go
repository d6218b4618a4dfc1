package runtime

import (
	"strings"
	"sync"
)

// logBuffer collects a server's log lines; handlers write from many
// goroutines while the test reads.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// LogBuffer is logBuffer for the package's external tests (runtime_test),
// which cannot see the unexported name.
type LogBuffer = logBuffer
