package readdeadline_test

import (
	"net"
	"testing"
	"time"
)

// benchKeepAliveDeadlines moves c's read deadline as net/http does for each
// keep-alive request with an idle and a header timeout: idle deadline after
// the response, header deadline when the next request starts, cleared once
// its headers are read.
func benchKeepAliveDeadlines(b *testing.B, c net.Conn) {
	b.ReportAllocs()
	for b.Loop() {
		_ = c.SetReadDeadline(time.Now().Add(65 * time.Second))
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_ = c.SetReadDeadline(time.Time{})
	}
}

func BenchmarkKeepAliveDeadlines(b *testing.B) {
	b.Run("tcp", func(b *testing.B) {
		inner, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer inner.Close()
		client, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer client.Close()
		sc, err := inner.Accept()
		if err != nil {
			b.Fatal(err)
		}
		defer sc.Close()
		benchKeepAliveDeadlines(b, sc)
	})
	b.Run("wrapped", func(b *testing.B) {
		_, sc, _ := pair(b, time.Second)
		benchKeepAliveDeadlines(b, sc)
	})
	b.Run("wrapped-body-limit", func(b *testing.B) {
		_, sc, _ := pairStall(b, time.Second, 10*time.Second)
		benchKeepAliveDeadlines(b, sc)
	})
}
