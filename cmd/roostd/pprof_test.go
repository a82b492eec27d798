package main

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestServePprofLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:6060", ":6060", "example.com:6060", "6060"} {
		err := servePprof(addr)
		if err == nil {
			t.Errorf("servePprof(%q) accepted a non-loopback address", addr)
		} else if !strings.Contains(err.Error(), "--pprof-addr") {
			t.Errorf("servePprof(%q): %v, want an error naming the flag", addr, err)
		}
	}
}

func TestServePprofServesProfiles(t *testing.T) {
	// A free port: servePprof logs the address but does not return it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if err := servePprof(addr); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET goroutine profile: %s", resp.Status)
	}
}
