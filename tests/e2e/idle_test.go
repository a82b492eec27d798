package e2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roostd/roost/internal/testenv"

	"golang.org/x/sys/unix"
)

// idleTimeout is short so that the tests wait little; the busy poll of the
// engine (5s) bounds how soon after its last container stops roostd goes.
const idleTimeout = 3 * time.Second

// privateEnv makes a runtime dir and home of their own under the run's
// temporary dir, so that a daemon started there gets its own keeper and
// leaves the shared daemon alone, and returns them with the environment a
// user session would give roostd.
func privateEnv(t *testing.T, prefix string) (run, home string, env []string) {
	t.Helper()
	u := harness.user
	dir, err := os.MkdirTemp(harness.tmp, prefix)
	if err != nil {
		t.Fatal(err)
	}
	run, home = filepath.Join(dir, "run"), filepath.Join(dir, "home")
	for _, d := range []string{dir, run, home} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if !u.self {
			if err := os.Chown(d, u.UID, u.GID); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() {
		killMarked(run)
		if err := removeTree(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	env = []string{
		"HOME=" + home,
		"USER=" + u.Name,
		"LOGNAME=" + u.Name,
		"XDG_RUNTIME_DIR=" + run,
		"XDG_DATA_HOME=" + filepath.Join(home, ".local/share"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"PATH=" + harness.binDir + ":/usr/sbin:/usr/bin:/sbin:/bin",
	}
	return run, home, env
}

// socketUnit stands in for systemd's roost.socket: it holds the listening
// socket for as long as the test runs and, whenever a client connects
// while no roostd runs, starts one through systemd-socket-activate with the
// socket passed as systemd passes it (fd 3, LISTEN_FDS, LISTEN_PID of the
// started process). A connection made while roostd is down waits in the
// socket's backlog, as it does under systemd.
type socketUnit struct {
	t      *testing.T
	ln     *os.File
	args   []string
	env    []string
	dir    string
	logf   *os.File
	starts chan *exec.Cmd
	exits  chan error
	stop   chan struct{}
}

func newSocketUnit(t *testing.T, sock, activate string, env, roostdArgs []string, dir string) *socketUnit {
	t.Helper()
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ul := l.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	ln, err := ul.File()
	ul.Close() // the dup in ln keeps the socket listening
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "roostd.log"))
	if err != nil {
		t.Fatal(err)
	}
	// sh sets LISTEN_PID to its own pid and execs the activator, which
	// takes the passed socket, waits for the connection and execs roostd:
	// one pid all along, as under systemd.
	script := `export LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=docker; exec "$@"`
	args := []string{"-c", script, "sh", activate}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		args = append(args, "-E", k)
	}
	args = append(args, roostdArgs...)
	s := &socketUnit{t: t, ln: ln, args: args, env: env, dir: dir, logf: logf,
		starts: make(chan *exec.Cmd, 8), exits: make(chan error, 8), stop: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() {
		close(s.stop)
		ln.Close()
		logf.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logf.Name())
			t.Logf("roostd's log:\n%s", log)
		}
	})
	return s
}

// serve starts roostd on each connection that finds none running.
func (s *socketUnit) serve() {
	for {
		fds := []unix.PollFd{{Fd: int32(s.ln.Fd()), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 100)
		select {
		case <-s.stop:
			return
		default:
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			s.exits <- err
			return
		}
		if n == 0 {
			continue
		}
		cmd := exec.Command("/bin/sh", s.args...)
		cmd.Env = s.env
		cmd.Dir = s.dir
		cmd.ExtraFiles = []*os.File{s.ln} // fd 3
		cmd.Stdout, cmd.Stderr = s.logf, s.logf
		cmd.SysProcAttr = harness.user.sysProcAttr()
		cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
		if err := cmd.Start(); err != nil {
			s.exits <- err
			return
		}
		s.starts <- cmd
		s.exits <- cmd.Wait()
	}
}

// started waits for the unit to start roostd.
func (s *socketUnit) started(within time.Duration) *exec.Cmd {
	s.t.Helper()
	select {
	case cmd := <-s.starts:
		return cmd
	case err := <-s.exits:
		s.t.Fatalf("socket unit: %v", err)
	case <-time.After(within):
		s.t.Fatalf("no roostd was started within %v", within)
	}
	return nil
}

// running tells whether the roostd started last still runs.
func (s *socketUnit) running() bool {
	select {
	case err := <-s.exits:
		s.t.Logf("roostd exited: %v", err)
		return false
	default:
		return true
	}
}

// exited waits for the running roostd to exit on its own.
func (s *socketUnit) exited(within time.Duration) error {
	s.t.Helper()
	select {
	case err := <-s.exits:
		return err
	case <-time.After(within):
		s.t.Fatalf("roostd did not exit within %v", within)
	}
	return nil
}

// TestIdleExitSocketActivation is the login-node set-up: roost.socket holds
// the socket, the first docker call starts roostd, roostd exits after
// --idle-timeout with nothing to do, taking the namespace and containerd
// with it, and the next docker call starts it again. A running container
// and an open event stream each keep it up.
func TestIdleExitSocketActivation(t *testing.T) {
	needRoostd(t)
	activate, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate is not installed (Debian package systemd)")
	}
	run, home, env := privateEnv(t, "idle-")
	sock := filepath.Join(run, "idle.sock")
	unit := newSocketUnit(t, sock, activate, env, []string{filepath.Join(harness.binDir, "roostd"), "-H", "fd://", "--idle-timeout", idleTimeout.String()}, home)
	docker := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, harness.dockerCLI, append([]string{"-H", "unix://" + sock}, args...)...)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+harness.dockerConfig)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	nothingLeft := func(when string) {
		t.Helper()
		deadline := time.Now().Add(lingerTimeout)
		for {
			left := markedProcs(run)
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d processes of the engine are left:\n%s", when, len(left), testenv.List(left))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Nothing runs until the first call.
	nothingLeft("before the first call")
	if got := docker("version", "--format", "{{.Server.Os}}"); got != "linux" {
		t.Fatalf("docker version through the socket: %q", got)
	}
	first := unit.started(time.Second)

	// A running container keeps roostd up, however long it stays idle.
	docker("load", "-i", harness.busyboxTar)
	docker("run", "-d", "--name", "idle-sleeper", "busybox", "sleep", "600")
	time.Sleep(3 * idleTimeout)
	// An idle exit would stop the container (slowly: sleep ignores
	// SIGTERM), and this call would start a second roostd.
	if got := docker("inspect", "-f", "{{.State.Running}}", "idle-sleeper"); got != "true" || !unit.running() || len(unit.starts) > 0 {
		t.Fatalf("roostd exited idle while a container ran (running: %s)", got)
	}
	docker("rm", "-f", "idle-sleeper")

	// So does a client streaming events.
	events := exec.Command(harness.dockerCLI, "-H", "unix://"+sock, "events")
	events.Env = append(os.Environ(), "DOCKER_CONFIG="+harness.dockerConfig)
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * idleTimeout)
	if !unit.running() {
		t.Fatal("roostd exited idle while docker events streamed")
	}
	// The stream was the last request: the window starts when it ends,
	// which is after this.
	start := time.Now()
	_ = events.Process.Kill()
	_ = events.Wait()

	// Alone, it exits cleanly and leaves nothing of the engine running.
	if err := unit.exited(idleTimeout + 30*time.Second); err != nil {
		t.Fatalf("roostd exited idle with %v, want status 0", err)
	}
	if took := time.Since(start); took < idleTimeout {
		t.Errorf("roostd exited %v after its last client, before the idle timeout %v", took, idleTimeout)
	}
	nothingLeft("after the idle exit")

	// The next call starts it again, with the data of the first.
	if got := docker("images", "--format", "{{.Repository}}", "busybox"); got != "busybox" {
		t.Fatalf("docker images after the restart: %q, want busybox", got)
	}
	second := unit.started(time.Second)
	if second.Process.Pid == first.Process.Pid {
		t.Fatal("the second call did not start a new roostd")
	}
	if err := unit.exited(idleTimeout + 30*time.Second); err != nil {
		t.Fatalf("the second roostd exited idle with %v, want status 0", err)
	}
	nothingLeft("after the second idle exit")
}

// TestIdleExitWithoutActivation: idle-timeout works without a socket unit
// too, from daemon.json; roostd then simply exits, and the next docker call
// finds no daemon (docs/hpc.md says to use socket activation with it).
func TestIdleExitWithoutActivation(t *testing.T) {
	needRoostd(t)
	run, home, env := privateEnv(t, "idle-plain-")
	cfgDir := filepath.Join(home, ".config", "roost")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "daemon.json"), []byte(`{"idle-timeout": "`+idleTimeout.String()+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if !harness.user.self {
		_ = os.Chown(filepath.Join(home, ".config"), harness.user.UID, harness.user.GID)
		_ = os.Chown(cfgDir, harness.user.UID, harness.user.GID)
	}
	var log bytes.Buffer
	cmd := exec.Command(filepath.Join(harness.binDir, "roostd"))
	cmd.Env, cmd.Dir = env, home
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = harness.user.sysProcAttr()
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("roostd exited idle with %v, want status 0\n%s", err, log.String())
		}
	case <-time.After(idleTimeout + 60*time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("roostd did not exit idle\n%s", log.String())
	}
	if !strings.Contains(log.String(), "idle for 3s") {
		t.Errorf("roostd's log does not say why it exited:\n%s", log.String())
	}
	if left := markedProcs(run); len(left) > 0 {
		t.Errorf("%d processes of the engine outlived the idle exit:\n%s", len(left), testenv.List(left))
	}
}

// TestIdleTimeoutInvalid: a bad value stops roostd before it starts
// anything, as any bad setting does.
func TestIdleTimeoutInvalid(t *testing.T) {
	needRoostd(t)
	_, home, env := privateEnv(t, "idle-bad-")
	for _, args := range [][]string{{"--idle-timeout", "soon"}, {"--idle-timeout", "10"}, {"--idle-timeout", "-5m"}} {
		cmd := exec.Command(filepath.Join(harness.binDir, "roostd"), args...)
		cmd.Env, cmd.Dir = env, home
		cmd.SysProcAttr = harness.user.sysProcAttr()
		out, err := cmd.CombinedOutput()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 {
			t.Errorf("roostd %s: %v, want exit status 2\n%s", strings.Join(args, " "), err, out)
		}
		want := `roostd: invalid idle-timeout "` + args[1] + `": use a duration such as 10m or 90s, or 0 to never exit`
		if !strings.Contains(string(out), want) {
			t.Errorf("roostd %s said:\n%s\nwant %q", strings.Join(args, " "), out, want)
		}
	}
}

// TestFailedStartStopsItsKeeper: a roostd that started the namespace and
// containerd and then cannot serve (here: its socket's directory would be
// inside a file) exits with the error and stops them, so a failed start
// leaves nothing in memory.
func TestFailedStartStopsItsKeeper(t *testing.T) {
	needRoostd(t)
	run, home, env := privateEnv(t, "failstart-")
	file := filepath.Join(run, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(file, "docker.sock")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(harness.binDir, "roostd"), "-H", "unix://"+sock)
	cmd.Env, cmd.Dir = env, home
	cmd.SysProcAttr = harness.user.sysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "mkdir "+file+": not a directory") {
		t.Fatalf("roostd -H unix://%s: %v, want an error naming the socket's directory\n%s", sock, err, out)
	}
	// The keeper was started (its log exists) and is gone again.
	if _, err := os.Stat(filepath.Join(run, "roost", "keeper.log")); err != nil {
		t.Errorf("the keeper never started, so the test shows nothing: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(markedProcs(run)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := markedProcs(run); len(left) > 0 {
		t.Errorf("%d processes of the failed start are left:\n%s", len(left), testenv.List(left))
	}
}
