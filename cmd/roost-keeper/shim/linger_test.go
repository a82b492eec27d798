package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/containerd/errdefs"
)

// fakeDaemon records what a linger did to its daemon.
type fakeDaemon struct {
	mu               sync.Mutex
	unlinked, exited time.Time
	ownerGone        atomic.Bool
}

func (d *fakeDaemon) linger(own string, wait time.Duration) *linger {
	return newLinger(own, wait, d.ownerGone.Load,
		func() { d.mu.Lock(); d.unlinked = time.Now(); d.mu.Unlock() },
		func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.unlinked.IsZero() {
				panic("exit before the socket was removed")
			}
			if !d.exited.IsZero() {
				panic("exit twice")
			}
			d.exited = time.Now()
		})
}

func (d *fakeDaemon) exitedAt() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.exited
}

// run is a container's life in the daemon: its Create, then, later, its
// delete and upstream's shutdown request when it was the last.
func run(t *testing.T, l *linger, id string) {
	t.Helper()
	if err := l.beginCreate(id); err != nil {
		t.Fatalf("create %s: %v", id, err)
	}
	l.endCreate(true)
}

func TestLingerExitsAfterWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var d fakeDaemon
		start := time.Now()
		l := d.linger("c1", lingerTime)
		run(t, l, "c1")
		time.Sleep(time.Second)
		l.shutdown() // c1 deleted
		time.Sleep(lingerTime - lingerPoll)
		synctest.Wait()
		if !d.exitedAt().IsZero() {
			t.Fatalf("exited %v after the last container, before the linger time", d.exitedAt().Sub(start)-time.Second)
		}
		time.Sleep(2 * lingerPoll)
		synctest.Wait()
		if d.exitedAt().IsZero() {
			t.Fatal("still serving after the linger time")
		}
		if err := l.reserve("late"); !errdefs.IsUnavailable(err) {
			t.Fatalf("reserve after the exit: %v, want unavailable", err)
		}
	})
}

func TestLingerWithoutGroupExitsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var d fakeDaemon
		l := d.linger("c1", 0)
		run(t, l, "c1")
		l.shutdown()
		if d.exitedAt().IsZero() {
			t.Fatal("a daemon of one container did not exit with it")
		}
	})
}

func TestLingerReservationKeepsDaemon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var d fakeDaemon
		l := d.linger("c1", lingerTime)
		run(t, l, "c1")
		l.shutdown()
		time.Sleep(lingerTime - lingerPoll)
		// A start command found the daemon just before its time.
		if err := l.reserve("c2"); err != nil {
			t.Fatal(err)
		}
		// containerd is slow to send the Create: the reservation holds.
		time.Sleep(reservationTime - lingerTime)
		synctest.Wait()
		if !d.exitedAt().IsZero() {
			t.Fatal("exited with a reservation pending")
		}
		run(t, l, "c2")
		time.Sleep(reservationTime)
		synctest.Wait()
		if !d.exitedAt().IsZero() {
			t.Fatal("exited while c2 runs")
		}
		l.shutdown() // c2 deleted
		time.Sleep(lingerTime + lingerPoll)
		synctest.Wait()
		if d.exitedAt().IsZero() {
			t.Fatal("still serving a linger time after c2")
		}
	})
}

func TestLingerReservationLapses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var d fakeDaemon
		l := d.linger("c1", lingerTime)
		run(t, l, "c1")
		l.shutdown()
		if err := l.reserve("abandoned"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(reservationTime - time.Second)
		synctest.Wait()
		if !d.exitedAt().IsZero() {
			t.Fatal("exited with a reservation pending")
		}
		time.Sleep(time.Second + lingerPoll)
		synctest.Wait()
		if d.exitedAt().IsZero() {
			t.Fatal("an abandoned reservation kept the daemon")
		}
	})
}

func TestLingerOwnContainerReserved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var d fakeDaemon
		l := d.linger("c1", lingerTime)
		// Another container came and went before c1's own Create.
		run(t, l, "c2")
		l.shutdown()
		time.Sleep(lingerTime + lingerPoll)
		synctest.Wait()
		if !d.exitedAt().IsZero() {
			t.Fatal("exited before the Create of the container it was started for")
		}
		run(t, l, "c1")
	})
}

func TestLingerCreateInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var d fakeDaemon
		l := d.linger("", lingerTime)
		l.shutdown()
		if err := l.beginCreate("c1"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * lingerTime)
		synctest.Wait()
		if !d.exitedAt().IsZero() {
			t.Fatal("exited during a Create")
		}
		// The Create failed: upstream has no container, back to lingering.
		l.endCreate(false)
		time.Sleep(lingerTime + lingerPoll)
		synctest.Wait()
		if d.exitedAt().IsZero() {
			t.Fatal("still serving after a failed Create and the linger time")
		}
	})
}

func TestLingerContainerdGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var d fakeDaemon
		l := d.linger("", lingerTime)
		l.shutdown()
		time.Sleep(lingerPoll)
		d.ownerGone.Store(true)
		time.Sleep(lingerPoll)
		synctest.Wait()
		if d.exitedAt().IsZero() {
			t.Fatal("lingering although containerd is gone")
		}
	})
}

// TestLingerRace races start commands against the daemon's exit: every
// reservation the daemon accepts must be followed by a Create it accepts,
// and every refusal must come after the socket was removed, so that the
// refused start command makes a new daemon.
func TestLingerRace(t *testing.T) {
	var accepted, refused atomic.Int64
	defer func() { t.Logf("%d reservations accepted, %d refused", accepted.Load(), refused.Load()) }()
	for round := range 200 {
		var d fakeDaemon
		l := d.linger("", time.Millisecond)
		l.poll = 50 * time.Microsecond
		l.shutdown()
		// live is upstream's map of containers: it asks to shut down,
		// under its lock, when a delete leaves it empty.
		var mapMu sync.Mutex
		live := 0
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Go(func() {
				id := fmt.Sprintf("c%d-%d", round, i)
				time.Sleep(time.Duration(i*150) * time.Microsecond)
				if err := l.reserve(id); err != nil {
					refused.Add(1)
					d.mu.Lock()
					unlinked := d.unlinked
					d.mu.Unlock()
					if !errdefs.IsUnavailable(err) || unlinked.IsZero() {
						errs <- fmt.Errorf("%s refused (%v) while the socket was still there", id, err)
					}
					return
				}
				accepted.Add(1)
				time.Sleep(time.Duration(i*100) * time.Microsecond)
				if err := l.beginCreate(id); err != nil {
					errs <- fmt.Errorf("%s: Create refused after its reservation was accepted: %w", id, err)
					return
				}
				mapMu.Lock()
				live++
				mapMu.Unlock()
				l.endCreate(true)
				time.Sleep(time.Duration(i*50) * time.Microsecond)
				mapMu.Lock()
				if live--; live == 0 {
					l.shutdown()
				}
				mapMu.Unlock()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for d.exitedAt().IsZero() {
			if time.Now().After(deadline) {
				t.Fatal("the daemon never exited once idle")
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func TestReadGroup(t *testing.T) {
	for _, tc := range []struct {
		spec      string
		group     string
		ok, fails bool
	}{
		{spec: `{"annotations":{"io.containerd.runc.v2.group":"roost"}}`, group: "roost", ok: true},
		// Upstream's Start groups on an empty value too.
		{spec: `{"annotations":{"io.containerd.runc.v2.group":""}}`, group: "", ok: true},
		// A container of an older roostd.
		{spec: `{"annotations":{"other":"x"}}`},
		{spec: `{}`},
		{spec: `{`, fails: true},
	} {
		p := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(p, []byte(tc.spec), 0o600); err != nil {
			t.Fatal(err)
		}
		group, ok, err := readGroup(p)
		if (err != nil) != tc.fails || group != tc.group || ok != tc.ok {
			t.Errorf("%s: group %q ok %v err %v, want %q %v fails %v", tc.spec, group, ok, err, tc.group, tc.ok, tc.fails)
		}
	}
}
