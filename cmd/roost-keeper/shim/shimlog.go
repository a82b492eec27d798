package main

import (
	"errors"
	"os"
	"path/filepath"
	"sync"

	"github.com/containerd/log"
	"golang.org/x/sys/unix"
)

// shimLog keeps a grouped daemon's log flowing. Upstream's daemon writes
// its log (and its stderr) to the `log` FIFO of the bundle it was started
// in, which containerd reads only while that container exists; in a group
// the daemon outlives it, and what it logged after would be lost. So the
// log moves to the FIFO of another of its containers when that one goes.
type shimLog struct {
	// stderr also moves fd 2, where the Go runtime writes; tests leave it.
	stderr bool

	mu      sync.Mutex
	bundles map[string]string // live container id → bundle
	id      string            // the container whose FIFO the log goes to
	f       *os.File          // that FIFO, once opened here
}

func newShimLog(own string) *shimLog {
	return &shimLog{stderr: true, bundles: map[string]string{}, id: own}
}

// created notes a container; if the log's container is gone, the log
// moves to this one.
func (l *shimLog) created(id, bundle string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bundles[id] = bundle
	if _, ok := l.bundles[l.id]; !ok && l.id != id {
		l.moveTo(id)
	}
}

// deleted forgets a container; if the log went to it, it moves to another.
func (l *shimLog) deleted(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.bundles, id)
	if id != l.id {
		return
	}
	for other := range l.bundles {
		if l.moveTo(other) {
			return
		}
	}
}

// moveTo sends the log to container id's FIFO; false if containerd does
// not read it (yet), and the log stays where it was. Called with mu held.
func (l *shimLog) moveTo(id string) bool {
	// Non-blocking: a FIFO without a reader fails (ENXIO) instead of
	// holding up the request that moves the log.
	f, err := os.OpenFile(filepath.Join(l.bundles[id], "log"), os.O_WRONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		if !errors.Is(err, unix.ENXIO) && !errors.Is(err, os.ErrNotExist) {
			log.L.WithError(err).Warn("cannot move the shim's log")
		}
		return false
	}
	if l.stderr {
		if rc, err := f.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) { _ = unix.Dup3(int(fd), 2, 0) })
		}
	}
	log.L.Logger.SetOutput(f)
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.id = f, id
	return true
}
