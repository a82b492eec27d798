package containers

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	"github.com/roostd/roost/engine/images"
	"github.com/roostd/roost/engine/internal/ctrtest"
	"github.com/roostd/roost/engine/store"
	"github.com/roostd/roost/tests/busybox/busyboximg"
)

// recorder records events.
type recorder struct {
	mu  sync.Mutex
	log []string // "id action"
}

func (r *recorder) Publish(typ events.Type, action events.Action, actor events.Actor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := string(action)
	if sig := actor.Attributes["signal"]; sig != "" {
		a += ":" + sig
	}
	if code, ok := actor.Attributes["exitCode"]; ok {
		a += ":" + code
	}
	r.log = append(r.log, actor.ID+" "+a)
}

// actions returns the actions recorded for id.
func (r *recorder) actions(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.log {
		if rest, ok := strings.CutPrefix(l, id+" "); ok {
			out = append(out, rest)
		}
	}
	return out
}

// env is a Service on a private containerd.
type env struct {
	t      *testing.T
	client *client.Client
	images *images.Service
	img    *Resolved
	st     *store.Store
	dir    string
	events *recorder
	svc    *Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := ctrtest.Start(t)
	e := &env{t: t, client: c, dir: t.TempDir(), events: &recorder{}}
	// The real image service, with the busybox image the e2e tests use.
	e.images = images.New(c, images.Options{Namespace: DefaultNamespace, Snapshotter: "overlayfs"})
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(busyboximg.WriteDockerArchive(pw, "busybox:latest")) }()
	if _, err := e.images.Load(context.Background(), pr); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.img, err = e.images.Resolve(context.Background(), "busybox"); err != nil {
		t.Fatal(err)
	}
	if e.st, err = store.Open(filepath.Join(e.dir, "roost.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	e.svc = e.newService(false)
	// Runs before ctrtest's cleanup: killing the shims alone would leave
	// the containers' processes running.
	t.Cleanup(e.removeAll)
	return e
}

// removeAll force-removes every container through the current service.
func (e *env) removeAll() {
	list, err := e.svc.List(context.Background(), ListOptions{All: true})
	if err != nil {
		e.t.Errorf("cleanup: %v", err)
		return
	}
	for _, c := range list {
		if err := e.svc.Remove(context.Background(), c.ID, true, false); err != nil {
			e.t.Errorf("cleanup: %v", err)
		}
	}
	// The containerd containers (and their mounts) go in the background.
	e.svc.wg.Wait()
}

// newService makes a Service over the env's store, as a restarted roostd
// would.
func (e *env) newService(liveRestore bool) *Service {
	e.t.Helper()
	s, err := New(Options{
		Client: e.client, Snapshotter: "overlayfs", Store: e.st, Events: e.events,
		Images: e.images, StateDir: filepath.Join(e.dir, "state"), DataDir: filepath.Join(e.dir, "data"),
		LiveRestore: liveRestore,
		// As root of a user namespace (a user's `make test`), cgroups are
		// out of reach, as they are for roostd itself.
		Rootless: ctrtest.Rootless(),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

func (e *env) create(name string, cfg container.Config, hc container.HostConfig) string {
	e.t.Helper()
	cfg.Image = "busybox"
	resp, err := e.svc.Create(context.Background(), name, &container.CreateRequest{Config: &cfg, HostConfig: &hc})
	if err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
	return resp.ID
}

func (e *env) wait(ref string, cond container.WaitCondition) container.WaitResponse {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch, err := e.svc.Wait(ctx, ref, cond)
	if err != nil {
		e.t.Fatal(err)
	}
	return <-ch
}

func (e *env) inspect(ref string) *container.InspectResponse {
	e.t.Helper()
	r, err := e.svc.Inspect(context.Background(), ref)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) logs(ref string) (stdout, stderr string) {
	e.t.Helper()
	ch, _, err := e.svc.Logs(context.Background(), ref, LogsOptions{Stdout: true, Stderr: true, Tail: -1})
	if err != nil {
		e.t.Fatal(err)
	}
	var o, er strings.Builder
	for m := range ch {
		if m.Stream == "stderr" {
			er.Write(m.Line)
		} else {
			o.Write(m.Line)
		}
	}
	return o.String(), er.String()
}

func sh(script string) container.Config {
	return container.Config{Cmd: []string{"sh", "-c", script}}
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.create("web", sh("echo hello; echo oops >&2; hostname; cat /etc/hostname; exit 3"), container.HostConfig{})

	if _, err := e.svc.Create(ctx, "/web", &container.CreateRequest{Config: &container.Config{Image: "busybox"}}); !errdefs.IsConflict(err) ||
		err.Error() != `Conflict. The container name "/web" is already in use by container "`+id+`". You have to remove (or rename) that container to be able to reuse that name.` {
		t.Fatalf("second web: %v", err)
	}
	if _, err := e.svc.Create(ctx, "", &container.CreateRequest{Config: &container.Config{Image: "nosuch"}}); !errdefs.IsNotFound(err) || err.Error() != "No such image: nosuch:latest" {
		t.Fatalf("unknown image: %v", err)
	}

	in := e.inspect("web")
	if in.State.Status != container.StateCreated || in.Name != "/web" || in.Path != "sh" || in.Config.Hostname != id[:12] || in.Image != e.img.ID {
		t.Fatalf("created: %+v %+v", in.State, in)
	}
	list, _ := e.svc.List(ctx, ListOptions{All: true})
	if len(list) != 1 || list[0].Status != "Created" || list[0].Command != "sh -c 'echo hello; echo oops >&2; hostname; cat /etc/hostname; exit 3'" {
		t.Fatalf("list: %+v", list)
	}

	waitC, err := e.svc.Wait(ctx, id[:10], container.WaitConditionNextExit)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Start(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if resp := <-waitC; resp.StatusCode != 3 || resp.Error != nil {
		t.Fatalf("wait: %+v", resp)
	}
	if err := e.svc.Start(ctx, "web"); err != nil {
		// Exited containers start again.
		t.Fatal(err)
	}
	e.wait("web", container.WaitConditionNextExit)
	stdout, stderr := e.logs("web")
	want := "hello\n" + id[:12] + "\n" + id[:12] + "\n"
	if stdout != want+want || stderr != "oops\noops\n" {
		t.Fatalf("logs: %q / %q", stdout, stderr)
	}
	in = e.inspect(id)
	if in.State.Status != container.StateExited || in.State.ExitCode != 3 || in.State.FinishedAt == "" || in.RestartCount != 0 {
		t.Fatalf("exited: %+v", in.State)
	}
	list, _ = e.svc.List(ctx, ListOptions{})
	if len(list) != 0 {
		t.Fatalf("running list: %+v", list)
	}
	list, _ = e.svc.List(ctx, ListOptions{All: true})
	if len(list) != 1 || !strings.HasPrefix(list[0].Status, "Exited (3) ") {
		t.Fatalf("list: %+v", list)
	}
	if err := e.svc.Kill(ctx, "web", ""); !errdefs.IsConflict(err) || err.Error() != "container "+id+" is not running" {
		t.Fatalf("kill exited: %v", err)
	}
	if err := e.svc.Stop(ctx, "web", StopOptions{}); !errdefs.IsNotModified(err) {
		t.Fatalf("stop exited: %v", err)
	}
	if ids, _ := e.svc.ImageInUse(ctx, e.img.ID); len(ids) != 1 || ids[0] != id {
		t.Fatalf("image in use: %v", ids)
	}

	if err := e.svc.Remove(ctx, "web", false, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Inspect(ctx, "web"); !errdefs.IsNotFound(err) || err.Error() != "No such container: web" {
		t.Fatalf("inspect removed: %v", err)
	}
	// The containerd container goes after the record, in the background.
	waitFor(t, "the containerd container to go", func() bool {
		_, err := e.client.LoadContainer(namespaces.WithNamespace(ctx, DefaultNamespace), id)
		return errdefs.IsNotFound(err)
	})
	got := strings.Join(e.events.actions(id), " ")
	if got != "create start die:3 start die:3 destroy" {
		t.Fatalf("events: %s", got)
	}
}

func TestStopKillRemoveRunning(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// sleep as PID 1 ignores SIGTERM: stop must fall back on SIGKILL.
	id := e.create("sleeper", container.Config{Cmd: []string{"sleep", "1000"}}, container.HostConfig{})
	if err := e.svc.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Start(ctx, id); !errdefs.IsNotModified(err) {
		t.Fatalf("second start: %v", err)
	}
	if err := e.svc.Remove(ctx, "sleeper", false, false); !errdefs.IsConflict(err) ||
		err.Error() != `cannot remove container "sleeper": container is running: stop the container before removing or force remove` {
		t.Fatalf("rm running: %v", err)
	}
	in := e.inspect(id)
	if !in.State.Running || in.State.Pid == 0 {
		t.Fatalf("state %+v", in.State)
	}
	one := 1
	start := time.Now()
	if err := e.svc.Stop(ctx, "sleeper", StopOptions{Timeout: &one}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second || d > 8*time.Second {
		t.Fatalf("stop took %s", d)
	}
	if in := e.inspect(id); in.State.Running || in.State.ExitCode != 137 {
		t.Fatalf("after stop: %+v", in.State)
	}
	if got := strings.Join(e.events.actions(id), " "); got != "create start kill:15 kill:9 die:137 stop" {
		t.Fatalf("events: %s", got)
	}

	// A trapped SIGTERM stops it at once; kill with a name; rm -f.
	id2 := e.create("trapper", sh(`trap "exit 7" TERM; while true; do sleep 0.1; done`), container.HostConfig{})
	if err := e.svc.Start(ctx, id2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the trap be installed
	if err := e.svc.Kill(ctx, "trapper", "bogus"); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("bad signal: %v", err)
	}
	if err := e.svc.Kill(ctx, "trapper", "TERM"); err != nil {
		t.Fatal(err)
	}
	if resp := e.wait(id2, container.WaitConditionNotRunning); resp.StatusCode != 7 {
		t.Fatalf("exit %+v", resp)
	}
	if err := e.svc.Start(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Remove(ctx, id2, true, false); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.events.actions(id2), " "); got != "create start kill:15 die:7 start kill:9 die:137 destroy" {
		t.Fatalf("events: %s", got)
	}
}

func TestStartFailure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.create("bad", container.Config{Cmd: []string{"nosuchcommand"}}, container.HostConfig{})
	err := e.svc.Start(ctx, id)
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "executable file not found") {
		t.Fatalf("start: %v", err)
	}
	in := e.inspect(id)
	if in.State.Status != container.StateCreated || in.State.ExitCode != 127 || in.State.Error == "" {
		t.Fatalf("state: %+v", in.State)
	}
}

func TestAutoRemove(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.create("", sh("exit 5"), container.HostConfig{AutoRemove: true})
	waitC, err := e.svc.Wait(ctx, id, container.WaitConditionRemoved)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-waitC:
		if resp.StatusCode != 5 {
			t.Fatalf("wait: %+v", resp)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("not removed")
	}
	if _, err := e.svc.Inspect(ctx, id); !errdefs.IsNotFound(err) {
		t.Fatalf("still there: %v", err)
	}
	// dockerd, too, wakes the waiters before it publishes destroy.
	waitFor(t, "destroy event", func() bool { return strings.Join(e.events.actions(id), " ") == "create start die:5 destroy" })
}

func TestRestartPolicy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.create("flaky", sh("exit 1"), container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 2}})
	if err := e.svc.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		in := e.inspect(id)
		if !in.State.Running && in.RestartCount == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("state %+v, restarts %d", in.State, in.RestartCount)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := strings.Join(e.events.actions(id), " "); got != "create start die:1 start die:1 start die:1" {
		t.Fatalf("events: %s", got)
	}

	// always: a user's stop ends it for good.
	id2 := e.create("always", sh("sleep 0.2"), container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "always"}})
	if err := e.svc.Start(ctx, id2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if in := e.inspect(id2); in.RestartCount == 0 {
		t.Fatalf("not restarted: %+v", in.State)
	}
	zero := 0
	if err := e.svc.Stop(ctx, id2, StopOptions{Timeout: &zero}); err != nil && !errdefs.IsNotModified(err) {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if in := e.inspect(id2); in.State.Running || in.State.Restarting {
		t.Fatalf("still going after stop: %+v", in.State)
	}
}

// pipeReader is a client's stdin that the test feeds.
func attachRun(t *testing.T, a Attachment, stdin io.Reader) (out *syncBuffer, done chan error) {
	out = &syncBuffer{}
	done = make(chan error, 1)
	go func() { done <- a.Run(context.Background(), stdin, out, out) }()
	return out, done
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAttachStdinOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// docker run -i busybox cat: attach before start, stdin ends → cat ends.
	id := e.create("cat", container.Config{Cmd: []string{"cat"}, OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true}, container.HostConfig{})
	if _, err := e.svc.Attach(ctx, id, AttachOptions{Stream: true, DetachKeys: "ctrl-"}); !errdefs.IsInvalidArgument(err) || err.Error() != "Invalid detach keys (ctrl-) provided" {
		t.Fatalf("bad keys: %v", err)
	}
	a, err := e.svc.Attach(ctx, id, AttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	if a.TTY() {
		t.Fatal("tty")
	}
	out, done := attachRun(t, a, strings.NewReader("hello\nworld\n"))
	if err := e.svc.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("attach did not end")
	}
	if got := out.String(); got != "hello\nworld\n" {
		t.Fatalf("output %q", got)
	}
	if resp := e.wait(id, container.WaitConditionNotRunning); resp.StatusCode != 0 {
		t.Fatalf("exit %+v", resp)
	}
	// attach --logs replays the log.
	a, err = e.svc.Attach(ctx, id, AttachOptions{Logs: true, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	var replay bytes.Buffer
	if err := a.Run(ctx, nil, &replay, &replay); err != nil || replay.String() != "hello\nworld\n" {
		t.Fatalf("replay %q, %v", replay.String(), err)
	}
}

func TestAttachTTYDetach(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// docker run -it busybox sh, then ctrl-p ctrl-q.
	id := e.create("shell", container.Config{Cmd: []string{"sh"}, Tty: true, OpenStdin: true, StdinOnce: true}, container.HostConfig{})
	a, err := e.svc.Attach(ctx, id, AttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	if !a.TTY() {
		t.Fatal("no tty")
	}
	inR, inW := io.Pipe()
	out, done := attachRun(t, a, inR)
	if err := e.svc.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Resize(ctx, id, 40, 100); err != nil {
		t.Fatal(err)
	}
	io.WriteString(inW, "stty size; echo $((6*7))\n")
	waitFor(t, "shell output", func() bool { return strings.Contains(out.String(), "40 100") && strings.Contains(out.String(), "42") })
	inW.Write([]byte{16, 17})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("detach did not end the session")
	}
	if in := e.inspect(id); !in.State.Running {
		t.Fatalf("detach stopped the container: %+v", in.State)
	}
	if !strings.Contains(strings.Join(e.events.actions(id), " "), "attach start resize detach") {
		t.Fatalf("events %v", e.events.actions(id))
	}
	// Attach again and exit the shell: the session ends with the container.
	a, err = e.svc.Attach(ctx, id, AttachOptions{Stream: true, Stdin: true, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	inR2, inW2 := io.Pipe()
	_, done = attachRun(t, a, inR2)
	io.WriteString(inW2, "exit 4\n")
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("session outlived the container")
	}
	if resp := e.wait(id, container.WaitConditionNotRunning); resp.StatusCode != 4 {
		t.Fatalf("exit %+v", resp)
	}
	inW.Close()
	inW2.Close()
}

func TestLogsFollow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.create("talker", sh("for i in 1 2 3; do echo line $i; sleep 0.2; done; echo bye >&2"), container.HostConfig{})
	if err := e.svc.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	ch, tty, err := e.svc.Logs(ctx, id, LogsOptions{Stdout: true, Follow: true, Tail: -1})
	if err != nil || tty {
		t.Fatal(err, tty)
	}
	var got []string
	timeout := time.After(20 * time.Second)
	for done := false; !done; {
		select {
		case m, ok := <-ch:
			if !ok {
				done = true
				break
			}
			got = append(got, m.Stream+":"+string(m.Line))
		case <-timeout:
			t.Fatalf("follow did not end; got %q", got)
		}
	}
	if strings.Join(got, "") != "stdout:line 1\nstdout:line 2\nstdout:line 3\n" {
		t.Fatalf("got %q", got)
	}
}

func TestLiveRestore(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.svc = e.newService(true)
	id := e.create("survivor", sh(`trap "exit 9" TERM; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done`), container.HostConfig{})
	gone := e.create("gone", container.Config{Cmd: []string{"sleep", "1000"}}, container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "always"}})
	for _, x := range []string{id, gone} {
		if err := e.svc.Start(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	pid := e.inspect(id).State.Pid
	if err := e.svc.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// While roostd is away, "gone" dies.
	cctx := namespaces.WithNamespace(ctx, DefaultNamespace)
	cc, err := e.client.LoadContainer(cctx, gone)
	if err != nil {
		t.Fatal(err)
	}
	task, err := cc.Task(cctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	exitC, _ := task.Wait(cctx)
	task.Kill(cctx, 9)
	<-exitC

	e.svc = e.newService(true)
	if err := e.svc.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	in := e.inspect(id)
	if !in.State.Running || in.State.Pid != pid {
		t.Fatalf("not adopted: %+v (pid was %d)", in.State, pid)
	}
	// "gone" had restart=always: it was started again.
	if in := e.inspect(gone); !in.State.Running || in.State.Pid == 0 {
		t.Fatalf("gone: %+v", in.State)
	}
	// The adopted container is monitored: its output is logged and stop works.
	before, _ := e.logs(id)
	time.Sleep(600 * time.Millisecond)
	after, _ := e.logs(id)
	if len(after) <= len(before) {
		t.Fatalf("log not growing after restore: %q", after)
	}
	if err := e.svc.Stop(ctx, id, StopOptions{}); err != nil {
		t.Fatal(err)
	}
	if in := e.inspect(id); in.State.Running || in.State.ExitCode != 9 {
		t.Fatalf("after stop: %+v", in.State)
	}
}

// TestRestoreAfterCrash: roostd died without live-restore; at the next
// start the containers it left running are adopted as they are, not
// restarted, with or without live-restore.
func TestRestoreAfterCrash(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	plain := e.create("plain", container.Config{Cmd: []string{"sleep", "1000"}}, container.HostConfig{})
	always := e.create("always", container.Config{Cmd: []string{"sleep", "1000"}}, container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "always"}})
	for _, id := range []string{plain, always} {
		if err := e.svc.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	oldPid, plainPid := e.inspect(always).State.Pid, e.inspect(plain).State.Pid
	// The old service vanishes without stopping anything (as if killed).
	e.svc.opts.LiveRestore = true
	e.svc.Shutdown(ctx)

	e.svc = e.newService(false)
	if err := e.svc.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if in := e.inspect(plain); !in.State.Running || in.State.Pid != plainPid {
		t.Fatalf("plain: %+v (old pid %d)", in.State, plainPid)
	}
	if in := e.inspect(always); !in.State.Running || in.State.Pid != oldPid {
		t.Fatalf("always: %+v (old pid %d)", in.State, oldPid)
	}
	e.removeAll() // sleep ignores the SIGTERM of the shutdown's stop
}
