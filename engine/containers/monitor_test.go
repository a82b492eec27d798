package containers

import (
	"context"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
)

// A task that containerd forgot while roostd waited (its shim was killed)
// ends the wait as killed; before, the monitor retried for ever and held
// up roostd's shutdown.
func TestWaitExitTaskGone(t *testing.T) {
	s := &Service{detached: make(chan struct{})}
	ch := make(chan client.ExitStatus, 1)
	ch <- *client.NewExitStatus(client.UnknownExitStatus, time.Time{}, errgrpc.ToGRPC(errdefs.ErrNotFound.WithMessage("no running task found")))
	done := make(chan struct{})
	var code int
	var ok bool
	go func() {
		code, _, ok = s.waitExit(context.Background(), "c1", nil, ch)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		close(s.detached)
		<-done
		t.Fatal("waitExit still waiting 5 s after the task was reported gone")
	}
	if !ok || code != 137 {
		t.Fatalf("waitExit = %d, %v; want 137, true", code, ok)
	}
}

func TestWaitExitStatus(t *testing.T) {
	s := &Service{detached: make(chan struct{})}
	at := time.Unix(1700000000, 0)
	ch := make(chan client.ExitStatus, 1)
	ch <- *client.NewExitStatus(3, at, nil)
	code, got, ok := s.waitExit(context.Background(), "c1", nil, ch)
	if !ok || code != 3 || !got.Equal(at) {
		t.Fatalf("waitExit = %d, %v, %v; want 3, %v, true", code, got, ok, at)
	}
}
