package logging

import (
	"os"
	"testing"
	"time"
)

// The per-request cost with KServe's default configuration: one latency line
// on kserve.trace (stderr) and one uvicorn.access line (stdout). The target
// is <= 2 µs for both together. Output goes to real files (/dev/null) so
// write(2) is part of what is measured.
func benchLoggers(b *testing.B, opts Options) *Loggers {
	b.Helper()
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { devnull.Close() })
	opts.Configure = true
	opts.Stdout, opts.Stderr = devnull, devnull
	l, err := Setup(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}

func BenchmarkLogLatency(b *testing.B) {
	l := benchLoggers(b, Options{})
	b.ReportAllocs()
	for b.Loop() {
		l.LogLatency("6a3c2d1e-8f51-4c0e-9b0f-3a1d5e7c9b21", 1234567, 0, 23456789, 345678)
	}
}

func BenchmarkLogAccess(b *testing.B) {
	l := benchLoggers(b, Options{})
	rec := sampleAccess
	rec.Start = time.Now()
	b.ReportAllocs()
	for b.Loop() {
		l.LogAccess(rec)
	}
}

// BenchmarkPerRequest is what one request costs: both lines.
func BenchmarkPerRequest(b *testing.B) {
	l := benchLoggers(b, Options{})
	rec := sampleAccess
	rec.Start = time.Now()
	b.ReportAllocs()
	for b.Loop() {
		l.LogLatency("6a3c2d1e-8f51-4c0e-9b0f-3a1d5e7c9b21", 1234567, 0, 23456789, 345678)
		l.LogAccess(rec)
	}
}

func BenchmarkPerRequest_Parallel(b *testing.B) {
	l := benchLoggers(b, Options{})
	rec := sampleAccess
	rec.Start = time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.LogLatency("6a3c2d1e-8f51-4c0e-9b0f-3a1d5e7c9b21", 1234567, 0, 23456789, 345678)
			l.LogAccess(rec)
		}
	})
}

func BenchmarkLogAccess_Format(b *testing.B) {
	l := benchLoggers(b, Options{AccessLogFormat: `%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s`})
	rec := sampleAccess
	rec.Start = time.Now()
	b.ReportAllocs()
	for b.Loop() {
		l.LogAccess(rec)
	}
}

// BenchmarkServerInfo is an slog call on "kserve" with the default format
// (file, function and line resolved from the PC, cached).
func BenchmarkServerInfo(b *testing.B) {
	l := benchLoggers(b, Options{})
	log := l.Server()
	b.ReportAllocs()
	for b.Loop() {
		log.Info("Registering model: m", "k", 1)
	}
}

// BenchmarkLogLatency_Unbuffered is the cost without batching: a write(2) per line.
func BenchmarkLogLatency_Unbuffered(b *testing.B) {
	l := benchLoggers(b, Options{})
	l.Close() // after Close, stream lines are written at once
	b.ReportAllocs()
	for b.Loop() {
		l.LogLatency("6a3c2d1e-8f51-4c0e-9b0f-3a1d5e7c9b21", 1234567, 0, 23456789, 345678)
	}
}
