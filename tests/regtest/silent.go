package regtest

import (
	"net"
	"sync"
	"testing"
)

// Silent is a loopback port that accepts connections and never answers on
// them, as a registry that hangs does.
type Silent struct {
	Addr string // host:port

	mu    sync.Mutex
	conns []net.Conn
}

// SilentT starts a Silent; its listener and connections are closed when t
// ends.
func SilentT(t testing.TB) *Silent {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Silent{Addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			c.Close()
		}
	})
	return s
}

// Accepted is how many connections it took so far.
func (s *Silent) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
