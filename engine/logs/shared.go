package logs

import (
	"path/filepath"
	"sync"
)

// shared is what the writer and the readers of one log path coordinate
// through inside this process: a rotation lock, so a reader never opens a
// half-rotated set of files (dockerd's fsopMu), and a change signal, so a
// follower wakes on a write instead of waiting for its next poll. Readers
// still poll, so a log written by another process is followed too, only
// with more latency.
type shared struct {
	key  string
	refs int // guarded by registry.mu

	fsop sync.RWMutex // held for writing while files are renamed

	mu      sync.Mutex
	changed chan struct{} // closed at the next change; nil if nobody waits
}

var registry = struct {
	mu sync.Mutex
	m  map[string]*shared
}{m: map[string]*shared{}}

// acquire returns the shared state of path, creating it on first use.
// Every acquire is paired with a release.
func acquire(path string) *shared {
	key, err := filepath.Abs(path)
	if err != nil {
		key = filepath.Clean(path)
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	s := registry.m[key]
	if s == nil {
		s = &shared{key: key}
		registry.m[key] = s
	}
	s.refs++
	return s
}

// release drops a reference taken by acquire.
func (s *shared) release() {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	s.refs--
	if s.refs == 0 {
		delete(registry.m, s.key)
	}
}

// wait returns a channel that is closed at the next notify. Take it before
// looking at the file, so a write in between is not missed.
func (s *shared) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// notify wakes the readers waiting for a change.
func (s *shared) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}
