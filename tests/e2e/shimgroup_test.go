package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roostd/roost/internal/testenv"
)

// shimLinger is how long the shim's daemon stays after its last container
// (cmd/roost-keeper/shim/linger.go).
const shimLinger = 5 * time.Second

// TestShimGroup checks that containers share one shim process: those of
// the engine's default group, and those a user put in a group of their own
// with --annotation io.containerd.runc.v2.group (which this test uses, so
// that the other tests' containers, in the default group, cannot keep its
// shim alive). A shim outlives its last container for a few seconds, so a
// serial run reuses it, then exits.
func TestShimGroup(t *testing.T) {
	needRoostd(t)
	group := "--annotation=io.containerd.runc.v2.group=shimgroup-own"
	removeOnCleanup(t, "shimgroup-a", "shimgroup-b", "shimgroup-c", "shimgroup-d", "shimgroup-e")
	dockerOK(t, "run", "-d", "--name", "shimgroup-a", group, "busybox", "sleep", "300")
	dockerOK(t, "run", "-d", "--name", "shimgroup-b", group, "busybox", "sleep", "300")
	shim := shimOf(t, "shimgroup-a")
	if b := shimOf(t, "shimgroup-b"); b != shim {
		t.Fatalf("two containers of one group have shims %d and %d, want one", shim, b)
	}
	// The shared shim serves each container: exec, top.
	if out := dockerOK(t, "exec", "shimgroup-b", "echo", "from-b"); out != "from-b" {
		t.Errorf("docker exec in the second container printed %q", out)
	}
	if out := dockerOK(t, "top", "shimgroup-a"); !strings.Contains(out, "sleep 300") {
		t.Errorf("docker top of the first container:\n%s", out)
	}

	// Without an annotation, containers share the engine's shim (nothing
	// else runs: the tests that run beside others are scripts, done by
	// now, and parallel Go tests, not started yet).
	dockerOK(t, "run", "-d", "--name", "shimgroup-c", "busybox", "sleep", "300")
	dockerOK(t, "run", "-d", "--name", "shimgroup-d", "busybox", "sleep", "300")
	if c, d := shimOf(t, "shimgroup-c"), shimOf(t, "shimgroup-d"); c != d {
		t.Errorf("two containers of the default group have shims %d and %d, want one", c, d)
	} else if c == shim {
		t.Errorf("a container of the default group runs in the shim of the group shimgroup-own (%d)", shim)
	}
	// The user's annotations are what inspect shows, with no group added.
	if got := inspect(t, "shimgroup-c", "{{json .HostConfig.Annotations}}"); got != "null" && got != "{}" {
		t.Errorf("HostConfig.Annotations of a container created without any: %s", got)
	}
	dockerOK(t, "rm", "-f", "shimgroup-c", "shimgroup-d")

	// A shim serves at most 8 of the engine's running containers (one
	// reaper for all of them stalls when too many exit at once).
	var many []string
	for i := range 9 {
		many = append(many, fmt.Sprintf("shimgroup-m%d", i))
	}
	removeOnCleanup(t, many...)
	perShim := map[int]int{}
	for _, n := range many {
		dockerOK(t, "run", "-d", "--name", n, "busybox", "sleep", "300")
		perShim[shimOf(t, n)]++
	}
	for pid, n := range perShim {
		if n > 8 {
			t.Errorf("shim %d serves %d containers, more than 8", pid, n)
		}
	}
	if len(perShim) == len(many) {
		t.Errorf("%d containers have a shim each, want them to share", len(many))
	}
	start := time.Now()
	dockerOK(t, append([]string{"rm", "-f"}, many...)...)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("docker rm -f of %d running containers took %v", len(many), took)
	}

	// The group's shim stays after its last container, and the next
	// container of the group runs in it.
	dockerOK(t, "rm", "-f", "shimgroup-a", "shimgroup-b")
	if p, ok := testenv.ReadProc(shim); !ok || p.State == "Z" {
		t.Fatalf("the group's shim exited with its last container")
	}
	dockerOK(t, "run", "-d", "--name", "shimgroup-e", group, "busybox", "sleep", "300")
	if e := shimOf(t, "shimgroup-e"); e != shim {
		t.Errorf("a container started right after the group's last one has shim %d, want the warm shim %d", e, shim)
	}

	// With nothing left in the group, the shim exits after its linger time.
	dockerOK(t, "rm", "-f", "shimgroup-e")
	removed := time.Now()
	if err := testenv.WaitGone(shim, shimLinger+10*time.Second); err != nil {
		t.Fatalf("the group's shim still runs %v after its last container: %v", time.Since(removed), err)
	}
	if took := time.Since(removed); took < shimLinger-time.Second {
		t.Errorf("the group's shim exited %v after its last container, before its linger time %v", took, shimLinger)
	}
	// The next container of the group gets a new shim.
	out := dockerOK(t, "run", "--rm", group, "busybox", "echo", "again")
	if out != "again" {
		t.Errorf("docker run in the group after its shim exited printed %q", out)
	}
}

// shimOf returns the pid of the shim that serves a running container: the
// parent of its init process.
func shimOf(t *testing.T, name string) int {
	t.Helper()
	pid, err := strconv.Atoi(inspect(t, name, "{{.State.Pid}}"))
	if err != nil || pid == 0 {
		t.Fatalf("%s has no pid: %v", name, err)
	}
	ppid := testenv.ParentPID(pid)
	p, ok := testenv.ReadProc(ppid)
	if !ok || !strings.Contains(p.Cmdline, "containerd-shim-runc-v2") {
		t.Fatalf("the parent of %s's init (pid %d) is not a shim: %v", name, pid, p)
	}
	return ppid
}
