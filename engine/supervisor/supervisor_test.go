package supervisor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A shell loop stands in for a daemon: it is ready once it wrote its marker.
func fakeDaemon(t *testing.T) (argv []string, marker string) {
	dir := t.TempDir()
	marker = filepath.Join(dir, "up")
	return []string{"/bin/sh", "-c", "echo $$ > " + marker + "; exec sleep 60"}, marker
}

func markerProbe(marker string) func(context.Context) error {
	return func(context.Context) error {
		if _, err := os.Stat(marker); err != nil {
			return ErrNotReady
		}
		return nil
	}
}

func readPID(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func TestRestartsAfterKill(t *testing.T) {
	argv, marker := fakeDaemon(t)
	pidFile := filepath.Join(t.TempDir(), "d.pid")
	s := New("fake", argv, WithPIDFile(pidFile), WithReadyProbe(markerProbe(marker)), WithStopTimeout(2*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ready) }()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("never ready")
	}
	first := readPID(t, pidFile)
	if first == 0 {
		t.Fatal("no pid file")
	}
	os.Remove(marker)
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if pid := readPID(t, pidFile); pid != 0 && pid != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not restarted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pidFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("pid file left after stop")
	}
}

func TestFirstStartFailureIsReturned(t *testing.T) {
	s := New("broken", []string{"/bin/sh", "-c", "exit 3"}, WithReadyProbe(func(context.Context) error { return ErrNotReady }))
	err := s.Run(context.Background(), make(chan struct{}))
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Fatalf("got %v", err)
	}
}

func TestMissingBinary(t *testing.T) {
	s := New("nothing", []string{"/nonexistent/daemon"})
	if err := s.Run(context.Background(), make(chan struct{})); err == nil {
		t.Fatal("started a missing binary")
	}
}
