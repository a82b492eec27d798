package main

import (
	"sync"
	"time"

	"github.com/containerd/errdefs"
)

// Timing of a grouped shim daemon.
const (
	// lingerTime is how long a daemon with no container left keeps
	// serving for the next one. Serial `docker run`s in a script, a
	// compose up after a down or a CI loop start their next container
	// well within it and skip a shim start (two Go processes, about 6 ms
	// and a few ms of CPU each); an engine left alone is back to no shim
	// at all after it, so its idle memory is unchanged.
	lingerTime = 5 * time.Second
	// reservationTime is how long a start command's reservation holds
	// the daemon for the Create containerd sends once the command has
	// returned. Far more than that takes (milliseconds); it only bounds
	// how long a create containerd abandoned (containerd killed in
	// between) keeps an idle daemon alive.
	reservationTime = 30 * time.Second
	// lingerPoll is how often an idle daemon looks at its clock and at
	// containerd: when containerd is gone (the engine stopped), it exits
	// now rather than after lingerTime.
	lingerPoll = 200 * time.Millisecond
)

// errClosing refuses a reservation or a create once the daemon has
// decided to exit. By then its socket is gone, so the start command that
// gets it starts a new daemon.
var errClosing = errdefs.ErrUnavailable.WithMessage("shim is exiting")

// linger decides when an idle grouped shim daemon exits.
//
// The race it closes: a start command finds the group's socket, returns
// its address, and containerd then connects and sends Create; a daemon
// that exits in between fails that container's start. So a start command
// reserves the daemon for its container first (a call on the socket it
// found, under a lock of the group that start commands share), and the
// daemon only exits when it has no container, no create in flight and no
// reservation. It decides that and unlinks its socket under one mutex, the
// same one a reservation takes: a reservation either came first, and the
// daemon stays, or comes after, finds it closing and is refused, by which
// time the socket path is free and the start command, still holding the
// group's lock, makes a new daemon there. A reservation the daemon
// accepted is never followed by its exit before the Create, and no start
// command can find a socket whose daemon has decided to go.
type linger struct {
	wait, ttl, poll time.Duration
	// ownerGone reports that containerd no longer listens: nothing will
	// start a container here any more.
	ownerGone func() bool
	// unlink removes the daemon's socket; exit shuts the daemon down.
	// Both are called once: unlink under mu, exit after it.
	unlink, exit func()

	mu        sync.Mutex
	reserved  map[string]time.Time // container id → when its reservation lapses
	creating  int
	idle      bool // upstream's service has no container and asked to shut down
	idleSince time.Time
	closing   bool
	timer     *time.Timer
}

// newLinger returns a linger for a daemon started for the container own,
// which is reserved as if its start command had asked: the daemon must
// not exit before that container's Create either.
func newLinger(own string, wait time.Duration, ownerGone func() bool, unlink, exit func()) *linger {
	l := &linger{
		wait: wait, ttl: reservationTime, poll: lingerPoll,
		ownerGone: ownerGone, unlink: unlink, exit: exit,
		reserved: map[string]time.Time{},
	}
	if own != "" {
		l.reserved[own] = time.Now().Add(l.ttl)
	}
	return l
}

// reserve holds the daemon for the Create of container id.
func (l *linger) reserve(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return errClosing
	}
	l.reserved[id] = time.Now().Add(l.ttl)
	return nil
}

// beginCreate marks a Create of container id in flight; it replaces the
// container's reservation.
func (l *linger) beginCreate(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return errClosing
	}
	delete(l.reserved, id)
	l.creating++
	return nil
}

// endCreate ends a Create. One that succeeded gave upstream's service a
// container, so the daemon is no longer idle until it asks to shut down
// again; one that failed leaves it as it was.
func (l *linger) endCreate(ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.creating--
	if ok {
		l.idle = false
		return
	}
	l.idleSince = time.Now()
	l.arm()
}

// shutdown is upstream's request to exit, made when its last container
// was deleted: the daemon lingers instead.
func (l *linger) shutdown() {
	l.mu.Lock()
	l.idle = true
	l.idleSince = time.Now()
	l.mu.Unlock()
	l.check()
}

// arm makes sure check runs after the next poll interval; called with mu
// held.
func (l *linger) arm() {
	if l.timer == nil && !l.closing {
		l.timer = time.AfterFunc(l.poll, l.tick)
	}
}

func (l *linger) tick() {
	l.mu.Lock()
	l.timer = nil
	l.mu.Unlock()
	l.check()
}

// check exits the daemon if it may, and otherwise keeps polling while it
// is idle.
func (l *linger) check() {
	l.mu.Lock()
	if l.closing || !l.idle || l.creating > 0 {
		l.mu.Unlock()
		return
	}
	now := time.Now()
	for id, until := range l.reserved {
		if now.After(until) {
			delete(l.reserved, id)
		}
	}
	if len(l.reserved) > 0 || (now.Sub(l.idleSince) < l.wait && !l.ownerGone()) {
		l.arm()
		l.mu.Unlock()
		return
	}
	l.closing = true
	l.unlink()
	l.mu.Unlock()
	l.exit()
}
