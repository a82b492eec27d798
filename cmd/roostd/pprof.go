package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/containerd/log"
)

// pprofAddr is --pprof-addr: where Go's profiler is served, for debugging
// roostd's own costs. Off by default, and only on loopback: the profiles
// show the daemon's memory and stacks, which other users of the machine
// must not read.
var pprofAddr string

// servePprof listens on addr (host:port with a loopback host) and serves
// net/http/pprof's handlers under /debug/pprof/, the paths that `go tool
// pprof` expects. The listener is opened inside the namespace, where roostd
// keeps the host's network.
func servePprof(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--pprof-addr %s: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--pprof-addr %s: only a loopback address is allowed (127.0.0.1:PORT or [::1]:PORT)", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil {
			log.L.WithError(err).Warn("pprof listener stopped")
		}
	}()
	log.L.Warnf("serving Go's profiler on http://%s/debug/pprof/ (--pprof-addr; for debugging only)", l.Addr())
	return nil
}
