package e2e

import (
	"syscall"
	"testing"
	"time"

	"github.com/roostd/roost/internal/testenv"
)

// TestVolumesSurviveRestart kills roostd with SIGKILL while a container
// uses a tmpfs volume: after the restart a named volume keeps its data,
// the tmpfs volume is still the running container's (shared with a new
// one), and it is unmounted when its last container stops, so the new
// roostd counted the adopted container among its users. Its file name
// sorts after survival_test.go: it restarts the daemon too.
func TestVolumesSurviveRestart(t *testing.T) {
	needRoostd(t)
	removeOnCleanup(t, "volrestart-holder")
	t.Cleanup(func() { docker(t, "volume", "rm", "-f", "volrestart-data", "volrestart-tmp") })
	dockerOK(t, "run", "--rm", "-v", "volrestart-data:/d", "busybox", "sh", "-c", "echo kept > /d/f")
	dockerOK(t, "volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "volrestart-tmp")
	dockerOK(t, "run", "-d", "--name", "volrestart-holder", "-v", "volrestart-tmp:/t", "busybox", "sh", "-c", "echo t > /t/f; sleep 300")
	waitUntil(t, 10*time.Second, "the holder's file", func() bool {
		return docker(t, "exec", "volrestart-holder", "cat", "/t/f").Stdout == "t\n"
	})

	api, err := harness.user.readPidFile("roostd.pid")
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(api, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 roostd (pid %d): %v", api, err)
	}
	if err := testenv.WaitGone(api, 5*time.Second); err != nil {
		t.Fatalf("roostd after kill -9: %v", err)
	}
	if err := restartDaemon(); err != nil {
		t.Fatalf("starting roostd again after kill -9: %v", err)
	}

	if got := dockerOK(t, "run", "--rm", "-v", "volrestart-data:/d", "busybox", "cat", "/d/f"); got != "kept" {
		t.Errorf("the named volume after the restart has %q", got)
	}
	// Twice: had the new roostd forgotten the holder, the first reader,
	// as the last user, would unmount the volume under it.
	for i := range 2 {
		if got := dockerOK(t, "run", "--rm", "-v", "volrestart-tmp:/t", "busybox", "cat", "/t/f"); got != "t" {
			t.Errorf("reader %d: the tmpfs volume after the restart has %q, want the running holder's file", i+1, got)
		}
	}
	dockerOK(t, "rm", "-f", "volrestart-holder")
	if got := dockerOK(t, "run", "--rm", "-v", "volrestart-tmp:/t", "busybox", "ls", "/t"); got != "" {
		t.Errorf("the tmpfs volume was not unmounted after its last container: it has %q", got)
	}
}
