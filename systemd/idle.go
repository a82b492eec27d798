package systemd

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Idle decides when roostd may exit because nobody uses it: no API request
// in flight (a streaming one — events, logs -f, attach, exec, a build —
// stays in flight until its client goes), none within the timeout, and
// nothing the engine reports busy (a running container). Under socket
// activation the next docker call starts roostd again.
type Idle struct {
	busy func(context.Context) bool

	mu      sync.Mutex
	timeout time.Duration // 0: never idle
	active  int
	last    time.Time // when the last request ended, or the engine was last busy
	changed chan struct{}
}

// NewIdle returns a tracker that waits timeout (0 disables it until
// SetTimeout) and asks busy whether the engine has work of its own.
func NewIdle(timeout time.Duration, busy func(context.Context) bool) *Idle {
	return &Idle{busy: busy, timeout: timeout, last: time.Now(), changed: make(chan struct{}, 1)}
}

// SetTimeout changes the timeout (on reload); the window restarts.
func (i *Idle) SetTimeout(d time.Duration) {
	i.mu.Lock()
	i.timeout = d
	i.last = time.Now()
	i.mu.Unlock()
	select {
	case i.changed <- struct{}{}:
	default:
	}
}

// Timeout is the timeout in force.
func (i *Idle) Timeout() time.Duration {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.timeout
}

// Handler counts the requests h serves.
func (i *Idle) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i.mu.Lock()
		i.active++
		i.mu.Unlock()
		defer func() {
			i.mu.Lock()
			i.active--
			i.last = time.Now()
			i.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// busyPoll is how often the engine is asked again while it is busy, so
// that the window starts about when its last container stopped.
const busyPoll = 5 * time.Second

// Wait returns nil once roostd has been idle for the timeout, or ctx's
// error.
func (i *Idle) Wait(ctx context.Context) error {
	for {
		if wait := i.remaining(); wait > 0 {
			if err := i.sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		// The clock ran out; the engine's own work is asked last, as it
		// costs a call to the store. While it is busy, ask again every
		// little while, so that the window then starts about when its last
		// container stopped.
		for i.busy(ctx) {
			if err := i.sleep(ctx, i.touch()); err != nil {
				return err
			}
		}
		if i.remaining() == 0 {
			return nil
		}
	}
}

// touch restarts the window now and says how long to wait before asking
// the engine again.
func (i *Idle) touch() time.Duration {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.last = time.Now()
	if i.timeout > 0 && i.timeout < busyPoll {
		return i.timeout
	}
	return busyPoll
}

// sleep waits d, or less if the timeout changes.
func (i *Idle) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-i.changed:
	case <-t.C:
	}
	return nil
}

// remaining is how long until the window could close: 0 when it has,
// a long time while disabled, the whole timeout while requests run.
func (i *Idle) remaining() time.Duration {
	i.mu.Lock()
	defer i.mu.Unlock()
	switch {
	case i.timeout <= 0:
		return time.Hour
	case i.active > 0:
		// A request in flight restarts the window when it ends; look again
		// then rather than spin.
		return i.timeout
	}
	return max(0, i.timeout-time.Since(i.last))
}
