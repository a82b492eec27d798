package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/log"
	"golang.org/x/sys/unix"
)

// bundleWithLog makes a bundle with a `log` FIFO and, when read is set,
// opens its reading end as containerd does.
func bundleWithLog(t *testing.T, read bool) (string, *os.File) {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(dir, "log"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !read {
		return dir, nil
	}
	r, err := os.OpenFile(filepath.Join(dir, "log"), os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return dir, r
}

// logged reads what reached a FIFO so far.
func logged(t *testing.T, r *os.File) string {
	t.Helper()
	buf := make([]byte, 4096)
	_ = r.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	n, _ := r.Read(buf)
	return string(buf[:n])
}

func TestShimLogFollowsContainers(t *testing.T) {
	out := log.L.Logger.Out
	t.Cleanup(func() { log.L.Logger.SetOutput(out) })
	a, _ := bundleWithLog(t, true)
	b, rb := bundleWithLog(t, true)
	c, rc := bundleWithLog(t, true)
	unread, _ := bundleWithLog(t, false)

	l := newShimLog("a")
	l.stderr = false
	l.created("a", a)
	l.created("b", b)
	l.created("unread", unread)
	if l.id != "a" {
		t.Fatalf("the log moved to %s while its container runs", l.id)
	}
	// The daemon's first container goes: the log moves to another live
	// one whose FIFO containerd reads (not to one it does not).
	l.deleted("a")
	log.L.Warn("after a")
	if got := logged(t, rb); !strings.Contains(got, "after a") {
		t.Fatalf("b's FIFO got %q, want the line logged after a was deleted", got)
	}
	// The last one whose FIFO is read goes: nothing to move to until
	// the next container.
	l.deleted("b")
	if l.id != "b" {
		t.Fatalf("the log moved to %s with no container left", l.id)
	}
	l.created("c", c)
	log.L.Warn("after c")
	if got := logged(t, rc); !strings.Contains(got, "after c") {
		t.Fatalf("c's FIFO got %q, want the line logged after c was created", got)
	}
}
