package systemd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// waitIdle runs Wait in the background and reports when it returned.
func waitIdle(ctx context.Context, i *Idle) <-chan error {
	done := make(chan error, 1)
	go func() { done <- i.Wait(ctx) }()
	return done
}

func returned(done <-chan error) bool {
	synctest.Wait()
	select {
	case <-done:
		return true
	default:
		return false
	}
}

func TestIdleExitsAfterTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		i := NewIdle(time.Minute, func(context.Context) bool { return false })
		done := waitIdle(t.Context(), i)
		time.Sleep(59 * time.Second)
		if returned(done) {
			t.Fatal("idle before the timeout")
		}
		time.Sleep(time.Second)
		if !returned(done) {
			t.Fatal("not idle after the timeout")
		}
	})
}

func TestIdleWaitsForRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		i := NewIdle(time.Minute, func(context.Context) bool { return false })
		release := make(chan struct{})
		h := i.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
		go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/events", nil))
		done := waitIdle(t.Context(), i)
		// A stream (events, logs -f, attach) open for an hour keeps it up.
		time.Sleep(time.Hour)
		if returned(done) {
			t.Fatal("idle while a request is in flight")
		}
		close(release)
		// The window starts when the request ends.
		time.Sleep(59 * time.Second)
		if returned(done) {
			t.Fatal("idle before the timeout after the last request")
		}
		time.Sleep(time.Minute)
		if !returned(done) {
			t.Fatal("not idle a timeout after the last request")
		}
	})
}

func TestIdleWaitsForBusyEngine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var running atomic.Bool
		running.Store(true)
		i := NewIdle(time.Minute, func(context.Context) bool { return running.Load() })
		done := waitIdle(t.Context(), i)
		time.Sleep(3 * time.Hour)
		if returned(done) {
			t.Fatal("idle while a container runs")
		}
		running.Store(false)
		// The last container stopped: a whole timeout from about now, not
		// at once and not two timeouts later.
		time.Sleep(50 * time.Second)
		if returned(done) {
			t.Fatal("idle right after the last container stopped")
		}
		time.Sleep(busyPoll + 10*time.Second)
		if !returned(done) {
			t.Fatal("not idle a timeout after the last container stopped")
		}
	})
}

func TestIdleDisabledAndReloaded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		i := NewIdle(0, func(context.Context) bool { return false })
		ctx, cancel := context.WithCancel(t.Context())
		done := waitIdle(ctx, i)
		time.Sleep(24 * time.Hour)
		if returned(done) {
			t.Fatal("idle with no timeout")
		}
		i.SetTimeout(10 * time.Second)
		time.Sleep(10 * time.Second)
		if !returned(done) {
			t.Fatal("a timeout set on reload is not applied")
		}
		done = waitIdle(ctx, i)
		cancel()
		if !returned(done) {
			t.Fatal("Wait ignores its context")
		}
	})
}
