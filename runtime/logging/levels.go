package logging

import (
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
)

// Python's logging levels are 10 apart (DEBUG 10, INFO 20, WARNING 30,
// ERROR 40, CRITICAL 50); slog's are 4 apart with INFO at 0. The mapping
// keeps the named levels aligned: python = 20 + slog*5/2.
const (
	// LevelTrace is uvicorn's TRACE (Python 5).
	LevelTrace = slog.Level(-6)
	// LevelCritical is Python's CRITICAL (50).
	LevelCritical = slog.Level(12)
	// levelNotset lets every record through (Python NOTSET, 0).
	levelNotset = slog.Level(math.MinInt32)
)

// PythonLevel returns the Python level number of an slog level.
func PythonLevel(l slog.Level) int {
	if l == levelNotset {
		return 0
	}
	return 20 + int(l)*5/2
}

// SlogLevel returns the slog level of a Python level number.
func SlogLevel(py int) slog.Level {
	if py <= 0 {
		return levelNotset
	}
	return slog.Level((py - 20) * 2 / 5)
}

// levelName is Python's logging.getLevelName for a record's level.
func levelName(l slog.Level) string {
	switch l {
	case slog.LevelDebug:
		return "DEBUG"
	case slog.LevelInfo:
		return "INFO"
	case slog.LevelWarn:
		return "WARNING"
	case slog.LevelError:
		return "ERROR"
	case LevelCritical:
		return "CRITICAL"
	case LevelTrace:
		return "TRACE"
	case levelNotset:
		return "NOTSET"
	}
	return "Level " + strconv.Itoa(PythonLevel(l))
}

// parseLevel accepts what logging._checkLevel accepts (a registered level
// name or a number) plus lower-case names and uvicorn's TRACE.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "NOTSET":
		return levelNotset, nil
	case "TRACE":
		return LevelTrace, nil
	case "DEBUG":
		return slog.LevelDebug, nil
	case "INFO":
		return slog.LevelInfo, nil
	case "WARNING", "WARN":
		return slog.LevelWarn, nil
	case "ERROR":
		return slog.LevelError, nil
	case "CRITICAL", "FATAL":
		return LevelCritical, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("unknown level %q (want CRITICAL, ERROR, WARNING, INFO, DEBUG, TRACE, NOTSET or a number)", s)
	}
	return SlogLevel(n), nil
}
