package e2e

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPullSilentRegistry: `docker pull` from a registry that accepts the
// connection and never answers fails with an error that says it timed
// out, instead of hanging. The listener is on loopback, which the daemon
// reaches (it shares the host's network). dockerd has no such timeout and
// waits forever, hence needRoostd.
func TestPullSilentRegistry(t *testing.T) {
	needRoostd(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})

	start := time.Now()
	r := docker(t, "pull", ln.Addr().String()+"/silent/image:1")
	took := time.Since(start)
	if r.Err == nil {
		t.Fatalf("docker pull from a silent registry succeeded: %v", r)
	}
	if !strings.Contains(r.Stderr, "timeout") {
		t.Errorf("docker pull from a silent registry failed after %v without saying it timed out: %v", took, r)
	}
	// One wait for the TLS handshake, then one for the plain HTTP
	// response's headers; well under docker()'s own timeout.
	if took > 90*time.Second {
		t.Errorf("the pull took %v to fail", took)
	}
	mu.Lock()
	n := len(conns)
	mu.Unlock()
	if n == 0 {
		t.Error("the daemon never connected to the registry")
	}
}
