package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"
)

// Handler class names accepted in "class".
const (
	classStream   = "logging.StreamHandler"
	classFile     = "logging.FileHandler"
	classRotating = "logging.handlers.RotatingFileHandler"
	classNull     = "logging.NullHandler"
)

const (
	// flushInterval bounds how long a line may sit in memory. Python's
	// StreamHandler flushes every record; one write(2) per line is what made
	// per-request logging cost microseconds, so lines are batched instead.
	flushInterval = 100 * time.Millisecond
	// flushSize is the buffered amount that triggers an immediate write.
	flushSize = 32 << 10
)

// output is one destination (a stream or a file) shared by the handlers
// that write to it, so their lines keep their order. Lines are buffered and
// written when the buffer is large, on a timer, for WARNING and above, and on
// Close.
type output struct {
	mu     sync.Mutex
	buf    []byte
	w      io.Writer // the stream, or the open file
	file   *os.File  // nil for streams
	name   string    // file name
	mode   string
	delay  bool // file not opened yet
	null   bool
	closed bool

	// rotation (RotatingFileHandler)
	maxBytes int64
	backups  int
	notFile  bool // name is a device, a FIFO or a link to one: never rotated
	size     int64

	timer *time.Timer
	every time.Duration // flush interval
	armed bool
	err   error // first write error, reported by Close

	// report is where a file's write errors are told as they happen (the
	// stderr stream), as Python's Handler.handleError prints "--- Logging
	// error ---" there: a full disk must not lose the logs silently until
	// shutdown. failing: the last write failed, so a run of failures is
	// told once, and again after a write has succeeded.
	report  *output
	failing bool
}

func newStreamOutput(w io.Writer, every time.Duration) *output {
	if every <= 0 {
		every = flushInterval
	}
	o := &output{w: w, every: every}
	o.timer = time.AfterFunc(time.Hour, o.timedFlush)
	o.timer.Stop()
	return o
}

func newFileOutput(h HandlerConfig, rotating bool, every time.Duration) (*output, error) {
	if h.Filename == "" {
		return nil, keyErr("filename", errors.New("missing"))
	}
	mode := h.Mode
	if mode == "" {
		mode = "a"
	}
	if mode != "a" && mode != "w" {
		return nil, keyErr("mode", fmt.Errorf("mode %q is not supported (want \"a\" or \"w\")", mode))
	}
	switch h.Encoding {
	case "", "utf-8", "utf8", "UTF-8", "ascii", "us-ascii":
	default:
		return nil, keyErr("encoding", fmt.Errorf("encoding %q is not supported (files are written as UTF-8)", h.Encoding))
	}
	o := newStreamOutput(nil, every)
	o.name, o.mode = h.Filename, mode
	if rotating {
		if h.MaxBytes < 0 {
			return nil, keyErr("maxBytes", fmt.Errorf("must be >= 0, got %d", h.MaxBytes))
		}
		if h.BackupCount < 0 {
			return nil, keyErr("backupCount", fmt.Errorf("must be >= 0, got %d", h.BackupCount))
		}
		if h.MaxBytes > 0 {
			o.mode = "a" // Python forces append when rotating
		}
		o.maxBytes, o.backups = h.MaxBytes, h.BackupCount
	}
	if h.Delay {
		o.delay = true
		return o, nil
	}
	if err := o.open(); err != nil {
		return nil, keyErr("filename", err)
	}
	return o, nil
}

func (o *output) open() error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if o.mode == "w" {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(o.name, flags, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	o.file, o.w, o.size, o.delay = f, f, st.Size(), false
	o.notFile = !st.Mode().IsRegular()
	o.mode = "a" // a reopened file (after rotation) is appended to
	return nil
}

// emit formats r with h's formatter into the buffer.
func (o *output) emit(h *handler, r *record) {
	o.mu.Lock()
	if o.null {
		o.mu.Unlock()
		return
	}
	start := len(o.buf)
	o.buf = h.fmt.append(o.buf, r, &h.cache)
	o.buf = append(o.buf, '\n')
	o.commit(start, r.level)
	o.mu.Unlock()
}

// commit decides what to do with the line just appended at buf[start:].
func (o *output) commit(start int, level slog.Level) {
	if o.maxBytes > 0 && o.backups > 0 && !o.notFile {
		line := int64(len(o.buf) - start)
		if o.size+int64(start) > 0 && o.size+int64(start)+line >= o.maxBytes {
			// Python's shouldRollover: the line would not fit in this file.
			o.writeLocked(o.buf[:start])
			o.rollover()
			n := copy(o.buf, o.buf[start:])
			o.buf = o.buf[:n]
		}
	}
	if o.closed || level >= slog.LevelWarn || len(o.buf) >= flushSize {
		o.flushLocked()
		return
	}
	if !o.armed {
		o.armed = true
		o.timer.Reset(o.every)
	}
}

func (o *output) timedFlush() {
	o.mu.Lock()
	o.armed = false
	o.flushLocked()
	o.mu.Unlock()
}

func (o *output) flushLocked() {
	if len(o.buf) == 0 {
		return
	}
	o.writeLocked(o.buf)
	o.size += int64(len(o.buf))
	o.buf = o.buf[:0]
}

func (o *output) writeLocked(b []byte) {
	if len(b) == 0 {
		return
	}
	if o.delay {
		if err := o.open(); err != nil {
			o.fail(err)
			return
		}
	}
	if o.w == nil {
		return // file closed
	}
	if _, err := o.w.Write(b); err != nil {
		o.fail(err)
		return
	}
	o.failing = false
}

func (o *output) fail(err error) {
	if o.name != "" {
		err = fmt.Errorf("%s: %w", o.name, err)
	}
	if o.err == nil {
		o.err = err
	}
	if o.report != nil && !o.failing {
		o.report.raw("--- Logging error ---\n" + err.Error() + "\nLines for " + o.name + " are lost until a write to it succeeds.\n")
	}
	o.failing = true
}

// raw writes text as it is, at once.
func (o *output) raw(text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.null {
		return
	}
	o.buf = append(o.buf, text...)
	o.flushLocked()
}

// rollover renames name.N-1 -> name.N ... name -> name.1 and reopens name,
// as RotatingFileHandler.doRollover does.
//
// Only a regular file is rotated, as Python's shouldRollover has done since
// bpo-45401: renaming /dev/stdout (or /dev/null, or a link to either) once
// maxBytes were written to it replaced it with a regular file, where the
// logs went from then on, and as root renamed the device itself. The name
// is checked here too, for a delayed file not opened yet.
func (o *output) rollover() {
	if st, err := os.Stat(o.name); err == nil && !st.Mode().IsRegular() {
		o.notFile = true
		return
	}
	if o.file != nil {
		if err := o.file.Close(); err != nil {
			o.fail(err)
		}
		o.file, o.w = nil, nil
	}
	for i := o.backups - 1; i > 0; i-- {
		src := o.name + "." + strconv.Itoa(i)
		dst := o.name + "." + strconv.Itoa(i+1)
		if _, err := os.Stat(src); err == nil {
			os.Remove(dst)
			if err := os.Rename(src, dst); err != nil {
				o.fail(err)
			}
		}
	}
	dst := o.name + ".1"
	os.Remove(dst)
	if err := os.Rename(o.name, dst); err != nil && !os.IsNotExist(err) {
		o.fail(err)
	}
	o.size = 0
	if err := o.open(); err != nil {
		o.fail(err)
	}
}

// flush writes what is buffered.
func (o *output) flush() {
	o.mu.Lock()
	o.flushLocked()
	o.mu.Unlock()
}

// close flushes, closes a file, and makes later lines unbuffered (lines
// logged during shutdown are still written to streams).
func (o *output) close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.timer.Stop()
	o.armed = false
	o.flushLocked()
	o.closed = true
	if o.file != nil {
		if err := o.file.Close(); err != nil {
			o.fail(err)
		}
		o.file, o.w = nil, nil
	}
	if o.name != "" {
		o.null = true // a closed file handler drops lines, like Python's
	}
	return o.err
}
