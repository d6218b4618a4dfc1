// Package readdeadline wraps a listener so that read deadlines on its
// connections are enforced by one sweeping goroutine, with the precision of
// its tick, instead of by a runtime timer re-armed on every request.
//
// net/http moves a connection's read deadline three times per keep-alive
// request when the server has an idle and a header timeout (idle deadline
// after the response, header deadline when the next request starts, cleared
// once the headers are read). Each move modifies a runtime timer, sometimes
// waking the network poller: ≈0.2 µs, about 1 % of a small request's CPU
// (BenchmarkKeepAliveDeadlines). Here a move stores the deadline in the
// connection, and the sweeper, once per tick, gives the connections whose
// deadline has passed a real deadline in the past, which fails their pending
// read with os.ErrDeadlineExceeded exactly as an expired timer would. A
// timeout then fires up to one tick late; servers time out idle and slow
// clients in seconds, so a tick of a tenth of the shortest timeout costs
// nothing a client can notice.
//
// Deadlines already in the past when set (net/http sets one to abort its
// background read) reach the connection at once. Write deadlines are not
// deferred.
//
// A listener made with a body stall limit also fails a read of a request's
// body that has received nothing for that long: net/http has no such
// timeout (only ReadTimeout, a deadline for the whole request, which a
// large upload over a slow link would hit), and a client sending its
// headers and then a byte now and then held a connection and a goroutine
// for ever. The body is what net/http reads after clearing the header
// deadline once the headers are in, until it clears it again to start its
// background read, which waits for the client to go while the handler
// runs (minutes, for a slow model) and is left alone: body reads are the
// reads made after exactly one clearing.
//
// The same limit bounds a write the client takes nothing of: a client that
// stops reading its answer (a hung process, a stuck proxy) held the
// handler's goroutine and the whole response in memory for as long as it
// kept the connection open, since net/http has no write timeout but its
// WriteTimeout, a deadline for the whole exchange that a slow model or a
// long stream would hit. Writes are made in pieces of writeChunk bytes, so
// the limit is on a piece, not on a large response over a slow link. Such
// a write fails with os.ErrDeadlineExceeded and net/http closes the
// connection. A hijacked connection is left to its new owner: net/http
// calls SetDeadline only as it hands one over.
package readdeadline

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Tick returns the sweep period for the given timeouts: a tenth of the
// shortest non-zero one, between 10 ms and 1 s.
func Tick(timeouts ...time.Duration) time.Duration {
	tick := time.Second
	for _, t := range timeouts {
		if t > 0 && t/10 < tick {
			tick = t / 10
		}
	}
	return max(tick, 10*time.Millisecond)
}

// Listener hands out connections whose read deadlines it enforces.
type Listener struct {
	net.Listener
	tick  time.Duration
	stall int64        // ns a body read may wait for data; 0 = for ever
	now   atomic.Int64 // coarse clock (Unix ns), advanced by the sweeper

	mu    sync.Mutex
	conns map[*Conn]struct{}

	closeOnce sync.Once
	quit      chan struct{}
	swept     chan struct{} // closed when the sweeper has exited
}

// Wrap starts the sweeper, which runs until the listener is closed. A body
// read (see the package doc) that receives nothing for bodyStall fails with
// os.ErrDeadlineExceeded (up to a tick late); 0 leaves body reads alone. A
// hijacked connection is not limited: net/http clears its deadline once
// more as it hands it over.
func Wrap(ln net.Listener, tick, bodyStall time.Duration) *Listener {
	l := &Listener{
		Listener: ln,
		tick:     tick,
		stall:    int64(bodyStall),
		conns:    make(map[*Conn]struct{}),
		quit:     make(chan struct{}),
		swept:    make(chan struct{}),
	}
	l.now.Store(time.Now().UnixNano())
	go l.sweep()
	return l
}

// Accept wraps the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &Conn{Conn: nc, l: l}
	c.ownWrites.Store(l.stall == 0)
	l.mu.Lock()
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	return c, nil
}

// Close closes the listener and stops the sweeper. Connections already
// accepted keep their deadlines until they close: net/http closes them itself
// on shutdown.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() {
		close(l.quit)
		<-l.swept
	})
	return err
}

func (l *Listener) sweep() {
	defer close(l.swept)
	t := time.NewTicker(l.tick)
	defer t.Stop()
	var due []*Conn
	for {
		select {
		case <-l.quit:
			return
		case now := <-t.C:
			n := now.UnixNano()
			l.now.Store(n)
			due = due[:0]
			l.mu.Lock()
			for c := range l.conns {
				if d := c.deadline.Load(); d > 0 && d <= n {
					due = append(due, c)
				} else if d := c.stall.Load(); d != 0 && d <= n {
					due = append(due, c)
				} else if w := c.wstart.Load(); w > 0 && w+l.stall <= n {
					due = append(due, c)
				}
			}
			l.mu.Unlock()
			for _, c := range due {
				c.expire(n)
			}
		}
	}
}

// Conn is an accepted connection whose read deadline the sweeper enforces.
type Conn struct {
	net.Conn
	l *Listener

	// deadline is read by the sweeper without mu so that a sweep never waits
	// for a connection; mu orders the deadline with the real one (armed).
	// Unix ns; 0, bodyReads or afterBody: none (with a body stall limit,
	// the latter two say a deadline was cleared once, or more, since one
	// was last set: net/http reads a body after the first clearing, and
	// starts its background read with the second). Kept in the one word
	// every move stores anyway: a second atomic word, stored on every
	// move, made BenchmarkKeepAliveDeadlines 175 ns instead of 161.
	deadline atomic.Int64
	// stall is when the pending body read fails if it has received
	// nothing: Unix ns; 0 = no such read.
	stall atomic.Int64
	// wstart is when the pending write piece started (coarse clock, Unix
	// ns); 0: no write pending; wArmed: the sweep has given the
	// connection a write deadline in the past for it.
	wstart atomic.Int64
	// ownWrites: no write stall limit (none set, or the connection was
	// hijacked: its new owner sets its own deadlines).
	ownWrites  atomic.Bool
	mu         sync.Mutex
	armed      bool // the real read deadline is set (to the past)
	stallArmed bool // ... by the stall limit, for the read pending then
	closed     bool
}

// No deadline, cleared once (a body is read) or more since one was set.
const (
	bodyReads = -1
	afterBody = -2
)

// past is the real deadline given to an expired connection.
var past = time.Unix(1, 0)

// wArmed in wstart: the pending write piece was expired by the sweep.
const wArmed = -1

// writeChunk is the piece of a write the client must take some of within
// the stall limit: 256 KiB in 10 s is 26 KB/s.
const writeChunk = 256 << 10

// expire fails the pending read if the deadline is still due.
func (c *Conn) expire(now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if d := c.deadline.Load(); d > 0 && d <= now {
		c.deadline.Store(0)
		c.armed = true
		_ = c.Conn.SetReadDeadline(past)
		return
	}
	if d := c.stall.Load(); d != 0 && d <= now && c.deadline.Load() == bodyReads {
		c.stall.Store(0)
		c.armed, c.stallArmed = true, true
		_ = c.Conn.SetReadDeadline(past)
	}
	// The swap claims the write piece from Write, which waits for mu
	// before it undoes a deadline set for a piece that finished meanwhile.
	if w := c.wstart.Load(); w > 0 && w+c.l.stall <= now && c.wstart.CompareAndSwap(w, wArmed) {
		_ = c.Conn.SetWriteDeadline(past)
	}
	// Otherwise moved or cleared since the sweep looked.
}

// Write writes p in pieces, each of which fails when the client takes
// nothing of it for the stall limit (see the package doc).
func (c *Conn) Write(p []byte) (int, error) {
	if c.ownWrites.Load() {
		return c.Conn.Write(p)
	}
	n := 0
	for {
		piece := p[n:]
		if len(piece) > writeChunk {
			piece = piece[:writeChunk]
		}
		c.wstart.Store(c.l.now.Load())
		m, err := c.Conn.Write(piece)
		n += m
		if c.wstart.Swap(0) == wArmed {
			c.mu.Lock() // the sweep sets the deadline holding it
			if err == nil {
				// Expired as it finished: the next write must not fail.
				_ = c.Conn.SetWriteDeadline(time.Time{})
			}
			c.mu.Unlock()
		}
		if err != nil || n == len(p) {
			return n, err
		}
	}
}

// Read reads, with the body stall limit while a body is read (see the
// package doc).
func (c *Conn) Read(p []byte) (int, error) {
	if c.l.stall == 0 || c.deadline.Load() != bodyReads {
		return c.Conn.Read(p)
	}
	c.mu.Lock()
	if c.armed || c.deadline.Load() != bodyReads {
		c.mu.Unlock()
		return c.Conn.Read(p)
	}
	c.stall.Store(c.l.now.Load() + c.l.stall)
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.stall.Store(0)
	if c.stallArmed && err == nil {
		// The sweep expired the read as it returned data: the past
		// deadline would fail the next one.
		c.armed, c.stallArmed = false, false
		_ = c.Conn.SetReadDeadline(time.Time{})
	}
	c.mu.Unlock()
	return n, err
}

// SetReadDeadline records t for the sweeper; a t already in the past (by the
// coarse clock) takes effect at once.
func (c *Conn) SetReadDeadline(t time.Time) error {
	var d int64
	if !t.IsZero() {
		d = t.UnixNano()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stallArmed = false
	if d == 0 && c.l.stall != 0 {
		d = bodyReads
		if cur := c.deadline.Load(); cur == bodyReads || cur == afterBody {
			d = afterBody
		}
	}
	if d > 0 && d <= c.l.now.Load() || d < 0 && d != bodyReads && d != afterBody {
		c.deadline.Store(0)
		c.armed = true
		return c.Conn.SetReadDeadline(t)
	}
	c.deadline.Store(d)
	if c.armed {
		c.armed = false
		return c.Conn.SetReadDeadline(time.Time{})
	}
	return nil
}

// SetDeadline sets the read deadline as SetReadDeadline does and the write
// deadline directly. net/http calls it only as it hands the connection to
// a Hijack: from then on the write stall limit is off, and deadlines are
// the new owner's.
func (c *Conn) SetDeadline(t time.Time) error {
	c.ownWrites.Store(true)
	return errors.Join(c.SetReadDeadline(t), c.Conn.SetWriteDeadline(t))
}

// Close closes the connection and forgets it.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// CloseWrite half-closes a TCP connection; net/http uses it to let the
// client read an error response before the connection goes.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps the TCP connection's sendfile/splice path for responses
// copied from files.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}
