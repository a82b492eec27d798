package containers

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/roostd/roost/engine/internal/ctrtest"
)

// execResult is what a client of an exec sees.
type execResult struct {
	stdout, stderr string
	err            error // Run's
	exitCode       *int
}

// runExec creates and runs an exec to its end, as `docker exec` does:
// create, start attached, then inspect for the exit code.
func (e *env) runExec(ref string, req container.ExecCreateRequest, stdin io.Reader) execResult {
	e.t.Helper()
	ctx := context.Background()
	req.AttachStdout, req.AttachStderr = true, true
	req.AttachStdin = stdin != nil
	id, err := e.svc.ExecCreate(ctx, ref, &req)
	if err != nil {
		e.t.Fatalf("exec create %v: %v", req.Cmd, err)
	}
	sess, err := e.svc.ExecStart(ctx, id, ExecStartOptions{})
	if err != nil {
		e.t.Fatalf("exec start %v: %v", req.Cmd, err)
	}
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- sess.Run(ctx, stdin, &stdout, &stderr) }()
	var res execResult
	select {
	case res.err = <-done:
	case <-time.After(20 * time.Second):
		e.t.Fatalf("exec %v did not end", req.Cmd)
	}
	in, err := e.svc.ExecInspect(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	res.stdout, res.stderr, res.exitCode = stdout.String(), stderr.String(), in.ExitCode
	return res
}

func (r execResult) code() int {
	if r.exitCode == nil {
		return -1
	}
	return *r.exitCode
}

func TestExec(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.create("box", container.Config{Cmd: []string{"sleep", "1000"}, Env: []string{"FROM=container"}}, container.HostConfig{})
	if _, err := e.svc.ExecCreate(ctx, "box", &container.ExecCreateRequest{Cmd: []string{"true"}}); !errdefs.IsConflict(err) || err.Error() != "container "+id+" is not running" {
		t.Fatalf("exec in a created container: %v", err)
	}
	if err := e.svc.Start(ctx, id); err != nil {
		t.Fatal(err)
	}

	r := e.runExec("box", container.ExecCreateRequest{Cmd: []string{"echo", "hi"}}, nil)
	if r.err != nil || r.stdout != "hi\n" || r.stderr != "" || r.code() != 0 {
		t.Fatalf("echo hi: %+v", r)
	}
	r = e.runExec("box", container.ExecCreateRequest{Cmd: []string{"sh", "-c", "echo out; echo err >&2; exit 5"}}, nil)
	if r.err != nil || r.stdout != "out\n" || r.stderr != "err\n" || r.code() != 5 {
		t.Fatalf("exit 5: %+v", r)
	}
	r = e.runExec("box", container.ExecCreateRequest{
		Cmd: []string{"sh", "-c", "echo $FROM $A $(pwd) $(id -u) $(id -g)"},
		Env: []string{"A=1"}, WorkingDir: "/tmp", User: "nobody",
	}, nil)
	if r.err != nil || r.stdout != "container 1 /tmp 65534 65534\n" || r.code() != 0 {
		t.Fatalf("env, cwd, user: %+v", r)
	}
	r = e.runExec("box", container.ExecCreateRequest{Cmd: []string{"cat"}}, strings.NewReader("data\n"))
	if r.err != nil || r.stdout != "data\n" || r.code() != 0 {
		t.Fatalf("stdin: %+v", r)
	}
	r = e.runExec("box", container.ExecCreateRequest{Cmd: []string{"sh", "-c", "tty; stty size; echo $TERM"}, Tty: true, ConsoleSize: &[2]uint{30, 100}}, nil)
	if r.err != nil || !strings.HasPrefix(r.stdout, "/dev/pts/") || !strings.Contains(r.stdout, "\r\n30 100\r\nxterm\r\n") || r.code() != 0 {
		t.Fatalf("tty: %+v", r)
	}

	// A command that cannot run: the error for the stream, 127 or 126.
	r = e.runExec("box", container.ExecCreateRequest{Cmd: []string{"nosuch"}}, nil)
	if !errdefs.IsInvalidArgument(r.err) || !strings.Contains(r.err.Error(), `exec: "nosuch": executable file not found in $PATH`) || r.code() != 127 {
		t.Fatalf("missing binary: %+v", r)
	}
	r = e.runExec("box", container.ExecCreateRequest{Cmd: []string{"/etc"}}, nil)
	if !errdefs.IsInvalidArgument(r.err) || !strings.Contains(r.err.Error(), "permission denied") || r.code() != 126 {
		t.Fatalf("a directory: %+v", r)
	}

	// Bad requests.
	for _, tc := range []struct {
		req   container.ExecCreateRequest
		check func(error) bool
		msg   string
	}{
		{container.ExecCreateRequest{}, errdefs.IsInvalidArgument, "No exec command specified"},
		{container.ExecCreateRequest{Cmd: []string{"true"}, User: "nosuch"}, errdefs.IsInvalidArgument, "unable to find user nosuch: no matching entries in passwd file"},
		{container.ExecCreateRequest{Cmd: []string{"true"}, DetachKeys: "ctrl-"}, errdefs.IsInvalidArgument, "Invalid escape keys (ctrl-) provided"},
	} {
		if _, err := e.svc.ExecCreate(ctx, "box", &tc.req); !tc.check(err) || err.Error() != tc.msg {
			t.Errorf("%+v: %v, want %q", tc.req, err, tc.msg)
		}
	}
	if _, err := e.svc.ExecCreate(ctx, "nosuch", &container.ExecCreateRequest{Cmd: []string{"true"}}); !errdefs.IsNotFound(err) || err.Error() != "No such container: nosuch" {
		t.Errorf("no such container: %v", err)
	}
	for _, err := range []error{
		func() error { _, err := e.svc.ExecStart(ctx, "nosuch", ExecStartOptions{}); return err }(),
		func() error { _, err := e.svc.ExecInspect(ctx, "nosuch"); return err }(),
		e.svc.ExecResize(ctx, "nosuch", 1, 1),
	} {
		if !errdefs.IsNotFound(err) || err.Error() != "No such exec instance: nosuch" {
			t.Errorf("no such exec: %v", err)
		}
	}

	// A detached exec; inspect lists it while it runs; it cannot start
	// twice.
	x, err := e.svc.ExecCreate(ctx, "box", &container.ExecCreateRequest{Cmd: []string{"sh", "-c", "touch /tmp/x; sleep 1000"}})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.svc.ExecStart(ctx, x, ExecStartOptions{Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Run(ctx, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ExecStart(ctx, x, ExecStartOptions{}); !errdefs.IsConflict(err) || err.Error() != "exec command "+x+" is already running" {
		t.Fatalf("second start: %v", err)
	}
	waitFor(t, "the detached exec's file", func() bool {
		return e.runExec("box", container.ExecCreateRequest{Cmd: []string{"ls", "/tmp/x"}}, nil).code() == 0
	})
	in, err := e.svc.ExecInspect(ctx, x)
	if err != nil || !in.Running || in.ExitCode != nil || in.Pid == 0 || in.ContainerID != id || in.ProcessConfig.Entrypoint != "sh" {
		t.Fatalf("inspect running exec: %+v, %v", in, err)
	}
	if ids := e.inspect("box").ExecIDs; len(ids) != 1 || ids[0] != x {
		t.Fatalf("ExecIDs %v", ids)
	}

	// An attached exec ends with the container, and so does the detached
	// one; execs are refused afterwards.
	y, _ := e.svc.ExecCreate(ctx, "box", &container.ExecCreateRequest{Cmd: []string{"sleep", "1000"}, AttachStdout: true})
	sess, err = e.svc.ExecStart(ctx, y, ExecStartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Run(ctx, nil, io.Discard, io.Discard) }()
	waitFor(t, "the exec to run", func() bool { in, _ := e.svc.ExecInspect(ctx, y); return in != nil && in.Pid != 0 })
	unstarted, _ := e.svc.ExecCreate(ctx, "box", &container.ExecCreateRequest{Cmd: []string{"true"}})
	if err := e.svc.Kill(ctx, "box", "KILL"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("session: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the exec session outlived its container")
	}
	for _, ex := range []string{x, y} {
		if in, err := e.svc.ExecInspect(ctx, ex); err != nil || in.Running || in.ExitCode == nil || *in.ExitCode != 137 {
			t.Errorf("exec after the container's exit: %+v, %v", in, err)
		}
	}
	if _, err := e.svc.ExecStart(ctx, unstarted, ExecStartOptions{}); !errdefs.IsConflict(err) || err.Error() != "container "+id+" is not running" {
		t.Errorf("start after the container's exit: %v", err)
	}
	if _, err := e.svc.ExecCreate(ctx, "box", &container.ExecCreateRequest{Cmd: []string{"true"}}); !errdefs.IsConflict(err) || err.Error() != "container "+id+" is not running" {
		t.Errorf("exec in a stopped container: %v", err)
	}
	if ids := e.inspect("box").ExecIDs; len(ids) != 0 {
		t.Errorf("ExecIDs of a stopped container: %v", ids)
	}

	acts := strings.Join(e.events.actions(id), "\n")
	for _, want := range []string{"exec_create: echo hi\nexec_start: echo hi\nexec_die:0", "exec_die:5", "exec_die:127", "exec_die:126", "exec_die:137"} {
		if !strings.Contains(acts, want) {
			t.Errorf("events lack %q:\n%s", want, acts)
		}
	}

	// Removing the container forgets its execs.
	if err := e.svc.Remove(ctx, "box", true, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ExecInspect(ctx, x); !errdefs.IsNotFound(err) {
		t.Errorf("exec of a removed container: %v", err)
	}
}

// TestExecTTYDetach types into an exec with a TTY, resizes it, then leaves
// with the detach keys: the process keeps running.
func TestExecTTYDetach(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.create("tty", container.Config{Cmd: []string{"sleep", "1000"}}, container.HostConfig{})
	if err := e.svc.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	x, err := e.svc.ExecCreate(ctx, id, &container.ExecCreateRequest{Cmd: []string{"sh"}, Tty: true, AttachStdin: true, AttachStdout: true, DetachKeys: "ctrl-x,x"})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.svc.ExecStart(ctx, x, ExecStartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- sess.Run(ctx, inR, &out, &out) }()
	if err := e.svc.ExecResize(ctx, x, 40, 100); err != nil {
		t.Fatal(err)
	}
	io.WriteString(inW, "stty size; echo $((6*7))\n")
	waitFor(t, "shell output", func() bool { return strings.Contains(out.String(), "40 100") && strings.Contains(out.String(), "42") })
	inW.Write([]byte{24, 'x'})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the detach keys did not end the session")
	}
	in, err := e.svc.ExecInspect(ctx, x)
	if err != nil || !in.Running || in.ExitCode != nil || string(in.DetachKeys) != "\x18x" || !in.ProcessConfig.Tty {
		t.Fatalf("after detaching: %+v, %v", in, err)
	}
	if !strings.Contains(strings.Join(e.events.actions(id), " "), "exec_detach") {
		t.Fatalf("events %v", e.events.actions(id))
	}
}

// TestExecHostPID: without a PID namespace of its own, the container's
// execs do not die with its init through the kernel; the shim kills them
// through the container's cgroup, and killExecs does where there is none
// (rootless without delegation, which this test as root does not reach).
// Either way the sessions end with the container.
func TestExecHostPID(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if ctrtest.Rootless() {
		// As root of a user namespace (a user's make test), the engine runs
		// rootless and refuses --pid host plainly.
		_, err := e.svc.Create(ctx, "hostpid", &container.CreateRequest{
			Config: &container.Config{Image: "busybox", Cmd: []string{"true"}}, HostConfig: &container.HostConfig{PidMode: "host"}})
		if !errdefs.IsNotImplemented(err) {
			t.Fatalf("rootless --pid host: got %v, want a not-implemented error", err)
		}
		return
	}
	id := e.create("hostpid", container.Config{Cmd: []string{"sleep", "1000"}}, container.HostConfig{PidMode: "host"})
	if err := e.svc.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	x, err := e.svc.ExecCreate(ctx, id, &container.ExecCreateRequest{Cmd: []string{"sleep", "1001"}, AttachStdout: true})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.svc.ExecStart(ctx, x, ExecStartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Run(ctx, nil, io.Discard, io.Discard) }()
	waitFor(t, "the exec to run", func() bool { in, _ := e.svc.ExecInspect(ctx, x); return in != nil && in.Pid != 0 })
	if err := e.svc.Kill(ctx, id, "KILL"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the exec session outlived its container")
	}
	if in, err := e.svc.ExecInspect(ctx, x); err != nil || in.ExitCode == nil || *in.ExitCode != 137 {
		t.Fatalf("exec after the container's exit: %+v, %v", in, err)
	}
}
