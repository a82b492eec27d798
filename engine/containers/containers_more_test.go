package containers

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

func TestRenamePruneTopUpdatePause(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	one := e.create("one", container.Config{Cmd: []string{"sleep", "300"}}, container.HostConfig{})
	two := e.create("two", container.Config{Cmd: []string{"true"}, Labels: map[string]string{"keep": "yes"}}, container.HostConfig{})
	three := e.create("three", container.Config{Cmd: []string{"true"}}, container.HostConfig{AutoRemove: true})
	if err := e.svc.Start(ctx, one); err != nil {
		t.Fatal(err)
	}

	// rename
	if err := e.svc.Rename(ctx, "one", "two"); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), `The container name "/two" is already in use by container "`+two+`"`) {
		t.Fatalf("rename to a used name: %v", err)
	}
	if err := e.svc.Rename(ctx, "one", "one"); !errdefs.IsInvalidArgument(err) || err.Error() != "Renaming a container with the same name as its current name" {
		t.Fatalf("same name: %v", err)
	}
	if err := e.svc.Rename(ctx, "one", "a b"); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("bad name: %v", err)
	}
	if err := e.svc.Rename(ctx, "one", "/first"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Inspect(ctx, "one"); !errdefs.IsNotFound(err) {
		t.Fatalf("old name still resolves: %v", err)
	}
	if in := e.inspect(one); in.Name != "/first" {
		t.Fatalf("name = %q", in.Name)
	}
	// The old name is free again, and the new one persists.
	e.create("one", container.Config{Cmd: []string{"true"}}, container.HostConfig{})
	if rec, err := e.st.Containers().Get(ctx, one); err != nil || rec.Name != "first" {
		t.Fatalf("stored: %+v %v", rec, err)
	}
	if !slices.Contains(e.events.actions(one), "rename") {
		t.Fatalf("events: %v", e.events.actions(one))
	}

	// top
	top, err := e.svc.Top(ctx, "first", "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(top.Titles, []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}) || len(top.Processes) != 1 || top.Processes[0][7] != "sleep 300" {
		t.Fatalf("top: %+v", top)
	}
	if _, err := e.svc.Top(ctx, "two", ""); !errdefs.IsConflict(err) || err.Error() != "container "+two+" is not running" {
		t.Fatalf("top of a stopped container: %v", err)
	}

	// update
	if _, err := e.svc.Update(ctx, "first", &container.UpdateConfig{RestartPolicy: container.RestartPolicy{Name: "always"}}); err != nil {
		t.Fatal(err)
	}
	if in := e.inspect("first"); in.HostConfig.RestartPolicy.Name != "always" {
		t.Fatalf("policy = %+v", in.HostConfig.RestartPolicy)
	}
	if _, err := e.svc.Update(ctx, three, &container.UpdateConfig{RestartPolicy: container.RestartPolicy{Name: "always"}}); !errdefs.IsInvalidArgument(err) ||
		err.Error() != "Cannot update container "+three+": Restart policy cannot be updated because AutoRemove is enabled for the container" {
		t.Fatalf("update of an --rm container: %v", err)
	}
	_, err = e.svc.Update(ctx, "first", &container.UpdateConfig{Resources: container.Resources{Memory: 10 << 20}})
	if e.svc.opts.Rootless {
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "cgroups are not delegated") {
			t.Fatalf("memory update: %v", err)
		}
	} else if err == nil {
		t.Fatal("memory update pretended to work")
	}

	// pause
	err = e.svc.Pause(ctx, "first")
	if e.svc.opts.Rootless {
		if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "cgroup freezer") {
			t.Fatalf("pause: %v", err)
		}
	} else {
		if err != nil {
			t.Fatal(err)
		}
		if in := e.inspect("first"); !in.State.Paused || in.State.Status != container.StatePaused {
			t.Fatalf("paused state: %+v", in.State)
		}
		if err := e.svc.Unpause(ctx, "first"); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.Pause(ctx, "two"); !errdefs.IsConflict(err) || err.Error() != "container "+two+" is not running" {
		t.Fatalf("pause of a stopped container: %v", err)
	}
	if err := e.svc.Unpause(ctx, "two"); !errdefs.IsConflict(err) || err.Error() != "container "+two+" is not paused" {
		t.Fatalf("unpause: %v", err)
	}

	// prune: label! keeps two; running first stays.
	rep, err := e.svc.Prune(ctx, map[string][]string{"label!": {"keep=yes"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ContainersDeleted) != 2 || slices.Contains(rep.ContainersDeleted, two) || slices.Contains(rep.ContainersDeleted, one) {
		t.Fatalf("pruned %v", rep.ContainersDeleted)
	}
	if _, err := e.svc.Prune(ctx, map[string][]string{"name": {"x"}}); !errdefs.IsInvalidArgument(err) || err.Error() != "invalid filter 'name'" {
		t.Fatalf("bad filter: %v", err)
	}
	rep, err = e.svc.Prune(ctx, map[string][]string{"until": {"1h"}})
	if err != nil || len(rep.ContainersDeleted) != 0 {
		t.Fatalf("until 1h: %+v %v", rep, err)
	}
	rep, err = e.svc.Prune(ctx, nil)
	if err != nil || !slices.Equal(rep.ContainersDeleted, []string{two}) {
		t.Fatalf("prune all: %+v %v", rep, err)
	}
	if list, _ := e.svc.List(ctx, ListOptions{All: true}); len(list) != 1 || list[0].ID != one {
		t.Fatalf("left: %+v", list)
	}

	// A paused container stops: it is thawed after the signal.
	if !e.svc.opts.Rootless {
		if err := e.svc.Pause(ctx, one); err != nil {
			t.Fatal(err)
		}
		timeout := 1
		if err := e.svc.Stop(ctx, one, StopOptions{Timeout: &timeout}); err != nil {
			t.Fatal(err)
		}
		if in := e.inspect(one); in.State.Running || in.State.Paused {
			t.Fatalf("after stop: %+v", in.State)
		}
		acts := strings.Join(e.events.actions(one), " ")
		if !strings.Contains(acts, "pause") || !strings.Contains(acts, "unpause") {
			t.Fatalf("events: %s", acts)
		}
	}
}

func TestParsePS(t *testing.T) {
	out := []byte("UID PID PPID C STIME TTY TIME CMD\n" +
		"root 1 0 0 12:00 ? 00:00:00 /sbin/init splash\n" +
		"user 42 1 0 12:00 pts/0 00:00:01 sleep  300\n" +
		"user - - 0 12:00 - 00:00:00 -\n" +
		"user 43 1 0 12:00 ? 00:00:00 other\n" +
		"user - - 0 12:00 - 00:00:00 -\n")
	resp, err := parsePS(out, []int{42})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"user", "42", "1", "0", "12:00", "pts/0", "00:00:01", "sleep 300"},
		{"user", "-", "-", "0", "12:00", "-", "00:00:00", "-"},
	}
	if len(resp.Processes) != 2 || !slices.Equal(resp.Processes[0], want[0]) || !slices.Equal(resp.Processes[1], want[1]) {
		t.Fatalf("processes = %q", resp.Processes)
	}
	if _, err := parsePS([]byte("USER COMMAND\nx y\n"), nil); err == nil || err.Error() != "Couldn't find PID field in ps output" {
		t.Fatalf("no PID column: %v", err)
	}
	if _, err := parsePS([]byte("PID CMD\nabc x\n"), nil); err == nil || !strings.HasPrefix(err.Error(), "Unexpected pid 'abc'") {
		t.Fatalf("bad pid: %v", err)
	}
}

func TestCheckPSArgs(t *testing.T) {
	for args, ok := range map[string]bool{"-ef": true, "aux": true, "-o pid=PID,comm": true, "-o user=PIDX": false} {
		if err := checkPSArgs(args); (err == nil) != ok {
			t.Errorf("%q: %v", args, err)
		}
	}
	if err := checkPSArgs("-o user=PID"); err == nil || err.Error() != `specifying "user=PID" is not allowed` {
		t.Errorf("message: %v", err)
	}
}

func TestPruneFilters(t *testing.T) {
	now := time.Unix(1000, 0)
	for v, want := range map[string]time.Time{
		"10s": time.Unix(990, 0), "500": time.Unix(500, 0), "500.5": time.Unix(500, 5e8),
		"2020-01-02T03:04:05Z": time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC),
	} {
		got, err := pruneUntil(filterSet{"until": {v}}, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("until %s = %v, %v", v, got, err)
		}
	}
	if _, err := pruneUntil(filterSet{"until": {"soon"}}, now); !errdefs.IsInvalidArgument(err) {
		t.Errorf("bad until: %v", err)
	}
	if _, err := pruneUntil(filterSet{"until": {"1h", "2h"}}, now); !errdefs.IsInvalidArgument(err) {
		t.Errorf("two untils: %v", err)
	}
	labels := map[string]string{"a": "1", "b": "2"}
	for f, want := range map[string]bool{"label=a": true, "label=a=2": false, "label!=a": false, "label!=c": true, "label=b=2,label!=a=2": true} {
		fs := filterSet{}
		for _, kv := range strings.Split(f, ",") {
			k, v, _ := strings.Cut(kv, "=")
			fs[k] = append(fs[k], v)
		}
		if got := pruneLabels(fs, labels); got != want {
			t.Errorf("%s: %v", f, got)
		}
	}
}

func TestSetResources(t *testing.T) {
	if got := setResources(container.Resources{}); len(got) != 0 {
		t.Errorf("empty: %v", got)
	}
	n := int64(5)
	got := setResources(container.Resources{Memory: 1, PidsLimit: &n, Ulimits: nil, Devices: []container.DeviceMapping{}})
	if !slices.Equal(got, []string{"Memory", "PidsLimit"}) {
		t.Errorf("set: %v", got)
	}
}

func TestProcPids(t *testing.T) {
	// In our own pid namespace, a process's descendants are its processes.
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pids, err := procPids(os.Getpid(), "/proc")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids, os.Getpid()) || !slices.Contains(pids, cmd.Process.Pid) || slices.Contains(pids, 1) {
		t.Fatalf("pids = %v (self %d, child %d)", pids, os.Getpid(), cmd.Process.Pid)
	}
}
