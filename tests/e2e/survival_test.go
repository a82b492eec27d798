package e2e

// These tests kill the daemon's processes, so they run last: go test runs
// the tests of a package file by file in name order, and this file's name
// sorts after the others that hold tests.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roostd/roost/internal/testenv"
)

// containerdRecovery is how long the API may take to answer again after
// containerd is killed. The design asks for a restart within a second;
// the budget doubles that for a loaded CI machine.
const containerdRecovery = 2 * time.Second

// TestContainerdKilled kills containerd with SIGKILL: roostd restarts it,
// the API answers again, and the running container never notices.
func TestContainerdKilled(t *testing.T) {
	needRoostd(t)
	u := harness.user
	removeOnCleanup(t, "survivor")
	dockerOK(t, "run", "-d", "--name", "survivor", "busybox", "sleep", "300")
	pid := inspect(t, "survivor", "{{.State.Pid}}")

	old := u.killPidFile(t, "containerd.pid")

	// Poll docker ps every 100 ms. An attempt may block while containerd
	// comes back (the API may wait, never lose state); each one gets the
	// rest of the budget and a second of grace.
	deadline := time.Now().Add(containerdRecovery)
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Until(deadline)+time.Second)
		r := runDocker(ctx, "ps", "--format", "{{.Names}}")
		cancel()
		if r.Err == nil && hasLine(r.Stdout, "survivor") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker ps did not list survivor within %v of containerd's death (%d attempts); last: %v", containerdRecovery, attempt, r)
		}
		time.Sleep(100 * time.Millisecond)
	}

	if got := inspect(t, "survivor", "{{.State.Running}} {{.State.Pid}}"); got != "true "+pid {
		t.Errorf("survivor after containerd's restart: running and pid %q, want %q", got, "true "+pid)
	}
	if out := dockerOK(t, "run", "--rm", "busybox", "echo", "after"); out != "after" {
		t.Errorf("docker run after containerd's restart printed %q, want after", out)
	}
	// The supervisor recorded the new containerd.
	waitUntil(t, 10*time.Second, "a new live containerd in containerd.pid", func() bool {
		p, err := u.readPidFile("containerd.pid")
		return err == nil && p != old
	})
	dockerOK(t, "rm", "-f", "survivor")
}

// TestRoostdKilled kills the API process with SIGKILL and starts roostd
// again: it re-attaches to the namespace and containerd that survived, the
// running container ran on undisturbed, and the exited one kept its status.
func TestRoostdKilled(t *testing.T) {
	needRoostd(t)
	u := harness.user
	removeOnCleanup(t, "keep-running", "keep-exited", "keep-web")
	t.Cleanup(func() { docker(t, "network", "rm", "keep-net") })
	dockerOK(t, "run", "-d", "--name", "keep-running", "busybox", "sleep", "300")
	// A published port and a name on a user-defined network must work
	// across the restart too: the port driver lives in the keeper, and
	// roostd takes its endpoints back.
	dockerOK(t, "network", "create", "keep-net")
	dockerOK(t, "run", "-d", "--name", "keep-web", "--network", "keep-net", "-p", "127.0.0.1:28095:80", "busybox", "httpd", "-f", "-p", "80")
	waitHTTP(t, "http://127.0.0.1:28095/")
	if r := docker(t, "run", "--name", "keep-exited", "busybox", "sh", "-c", "exit 7"); r.Code != 7 {
		t.Fatalf("docker run ... exit 7: %v", r)
	}
	pid := inspect(t, "keep-running", "{{.State.Pid}}")
	// Both running containers are served by the engine's one shim, which
	// must carry them across the restart.
	shim := shimOf(t, "keep-running")
	if web := shimOf(t, "keep-web"); web != shim {
		t.Errorf("keep-running and keep-web have shims %d and %d, want one", shim, web)
	}

	api, err := u.readPidFile("roostd.pid")
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

	ps := dockerOK(t, "ps", "--format", "{{.Names}}\t{{.Status}}")
	if !hasLinePrefix(ps, "keep-running\tUp ") {
		t.Errorf("docker ps after the restart does not list keep-running as Up:\n%s", ps)
	}
	if got := inspect(t, "keep-running", "{{.State.Running}} {{.State.Pid}}"); got != "true "+pid {
		t.Errorf("keep-running after the restart: running and pid %q, want %q (it must never have been restarted)", got, "true "+pid)
	}
	psa := dockerOK(t, "ps", "-a", "--format", "{{.Names}}\t{{.Status}}")
	if !hasLinePrefix(psa, "keep-exited\tExited (7) ") {
		t.Errorf("docker ps -a after the restart does not list keep-exited as Exited (7):\n%s", psa)
	}
	if got := dockerOK(t, "port", "keep-web", "80"); got != "127.0.0.1:28095" {
		t.Errorf("docker port keep-web after the restart: %q", got)
	}
	waitHTTP(t, "http://127.0.0.1:28095/")
	if r := docker(t, "run", "--rm", "--network", "keep-net", "busybox", "ping", "-c1", "-W3", "keep-web"); r.Err != nil {
		t.Errorf("keep-web by name after the restart: %v", r)
	}
	// The restored containers are still controlled through their shim.
	if out := dockerOK(t, "exec", "keep-running", "echo", "exec-after"); out != "exec-after" {
		t.Errorf("docker exec keep-running after the restart printed %q", out)
	}
	dockerOK(t, "stop", "-t", "1", "keep-running")
	if got := inspect(t, "keep-running", "{{.State.Running}} {{.State.ExitCode}}"); got != "false 137" {
		t.Errorf("keep-running after docker stop: running and exit code %q, want false 137 (sleep ignores SIGTERM)", got)
	}
	if p, ok := testenv.ReadProc(shim); !ok || p.State == "Z" {
		t.Errorf("the shared shim exited although keep-web still runs in it")
	}
	dockerOK(t, "rm", "-f", "keep-running", "keep-exited", "keep-web")
}

// waitHTTP waits up to 15s for url to answer 200.
func waitHTTP(t *testing.T, url string) {
	t.Helper()
	c := http.Client{Timeout: 2 * time.Second}
	var last error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
	}
	t.Fatalf("GET %s: %v", url, last)
}

// hasLine reports whether text has a line equal to line.
func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// hasLinePrefix reports whether text has a line that starts with prefix.
func hasLinePrefix(text, prefix string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// waitUntil polls cond every 100 ms and fails the test if it is still
// false after timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
