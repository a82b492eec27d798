package containers

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNetNSLifecycle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a network namespace needs root: run the tests as root or through hack/userns.sh")
	}
	s := &Service{opts: Options{StateDir: t.TempDir()}}
	const id = "0123456789ab"
	p, err := s.newNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(p, &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		t.Fatalf("%s is not a bound namespace (fs type %#x)", p, fs.Type)
	}
	if up, err := loopbackUpIn(p); err != nil || !up {
		t.Fatalf("loopback up in the new namespace: %v, %v", up, err)
	}
	// A second start replaces a namespace left bound.
	if _, err := s.newNetNS(id); err != nil {
		t.Fatalf("making the namespace again: %v", err)
	}
	if err := s.releaseNetNS(id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("mount point left after release: %v", err)
	}
	if err := s.releaseNetNS(id); err != nil {
		t.Fatalf("a second release must be a no-op: %v", err)
	}
}

// loopbackUpIn reads lo's flags inside the namespace at p.
func loopbackUpIn(p string) (bool, error) {
	type result struct {
		up  bool
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// Never unlocked: the thread ends in the namespace it entered.
		runtime.LockOSThread()
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			ch <- result{err: err}
			return
		}
		sock, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer unix.Close(sock)
		ifr, _ := unix.NewIfreq("lo")
		err = unix.IoctlIfreq(sock, unix.SIOCGIFFLAGS, ifr)
		ch <- result{up: ifr.Uint16()&unix.IFF_UP != 0, err: err}
	}()
	r := <-ch
	return r.up, r.err
}
