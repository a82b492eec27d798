package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roostd/roost/internal/testenv"
)

const (
	// pingTimeout bounds a daemon's start: from exec to an answered /_ping.
	pingTimeout = 20 * time.Second
	// stopTimeout bounds a clean shutdown after SIGTERM.
	stopTimeout = 30 * time.Second
	// lingerTimeout is how long the user's processes may take to go away
	// once roostd itself has exited (a shim finishing its own exit, say).
	lingerTimeout = 5 * time.Second
)

// daemon is one roostd process started by the harness.
type daemon struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // the exit status, valid after done is closed
}

// exited reports whether the process has already exited.
func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// sysProcAttr runs a child as the user, in its own process group. As the
// user itself there is nothing to switch to.
func (u *testUser) sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if !u.self {
		a.Credential = &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: u.Groups}
	}
	return a
}

// daemonEnv is the whole environment roostd gets: what a login session
// would give the user, and the repository's bin/ first on PATH so that
// containerd and its shim run the pinned runc. As the user itself, the XDG
// data and config dirs are named too, inside the private home, so that
// roostd's data and daemon.json are the run's whatever its defaults are:
// the user's own engine keeps its images, containers and settings there.
func (u *testUser) daemonEnv(binDir string) []string {
	env := []string{
		"HOME=" + u.Home,
		"USER=" + u.Name,
		"LOGNAME=" + u.Name,
		"XDG_RUNTIME_DIR=" + u.RuntimeDir,
		"PATH=" + binDir + ":/usr/sbin:/usr/bin:/sbin:/bin",
	}
	if u.self {
		env = append(env,
			"XDG_DATA_HOME="+filepath.Join(u.Home, ".local/share"),
			"XDG_CONFIG_HOME="+filepath.Join(u.Home, ".config"))
	}
	return env
}

// startDaemon starts binDir/roostd as the user, its output appended to log,
// and waits until it answers /_ping on sock. On failure the process is
// killed and the error says how it ended.
func startDaemon(u *testUser, binDir string, log *os.File, sock string) (*daemon, error) {
	fmt.Fprintf(log, "=== e2e: starting %s/roostd at %s\n", binDir, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(filepath.Join(binDir, "roostd"))
	cmd.Env = u.daemonEnv(binDir)
	cmd.Dir = u.Home
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = u.sysProcAttr()
	// If the test binary dies (go test's timeout panics it), the daemon is
	// told to shut down rather than left behind for the next run to clean.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &daemon{cmd: cmd, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	if err := waitPing(d, sock, pingTimeout); err != nil {
		if !d.exited() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-d.done
		}
		return nil, err
	}
	return d, nil
}

// waitPing polls GET /_ping until it answers 200 OK, d exits, or timeout.
func waitPing(d *daemon, sock string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = ping(sock); last == nil {
			return nil
		}
		if d != nil && d.exited() {
			return fmt.Errorf("roostd exited before answering /_ping: %v", d.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("roostd did not answer /_ping within %v: %v", timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ping asks the daemon on sock for GET /_ping once.
func ping(sock string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := unixRequest(ctx, sock, http.MethodGet, "/_ping", nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK || string(body) != "OK" {
		return fmt.Errorf("/_ping answered %s %q", resp.Status, body)
	}
	return nil
}

// unixRequest sends one HTTP request to the API socket at sock.
func unixRequest(ctx context.Context, sock, method, path string, header http.Header, body io.Reader) (*http.Response, error) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return new(net.Dialer).DialContext(ctx, "unix", sock)
		},
		DisableKeepAlives: true,
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://roost"+path, body)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return (&http.Client{Transport: tr}).Do(req)
}

// stopDaemons sends SIGTERM to the newest daemon and waits for every
// daemon the harness started to exit. It returns what went wrong; a daemon
// that has to be killed is a failure.
func stopDaemons(daemons []*daemon) []string {
	if len(daemons) == 0 {
		return nil
	}
	var problems []string
	termed := false // whether the newest daemon was sent SIGTERM while it ran
	deadline := time.After(stopTimeout)
	newest := daemons[len(daemons)-1]
	if newest.exited() {
		problems = append(problems, fmt.Sprintf("roostd (pid %d) was no longer running at the end of the tests: %v", newest.cmd.Process.Pid, newest.err))
	} else if err := newest.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		problems = append(problems, fmt.Sprintf("SIGTERM roostd: %v", err))
	} else {
		termed = true
	}
	for _, d := range daemons {
		select {
		case <-d.done:
			if d == newest && termed && d.err != nil {
				problems = append(problems, fmt.Sprintf("roostd exited with %v after SIGTERM", d.err))
			}
		case <-deadline:
			problems = append(problems, fmt.Sprintf("roostd (pid %d) did not exit within %v of SIGTERM; killed", d.cmd.Process.Pid, stopTimeout))
			_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			<-d.done
		}
	}
	return problems
}

// proc is a process found in /proc.
type proc = testenv.Proc

// userProcesses lists the live processes that run as the user or as one of
// its subordinate uids (a container process that is not root inside its
// user namespace); as the user itself, only those the run started (owns).
// Zombies are left out: they have already exited, and whether they are
// reaped depends on the machine's init, not on roostd.
func (u *testUser) userProcesses() []proc {
	return testenv.Procs(func(p proc) bool {
		return u.Owns(p.UID) && (!u.self || u.owns(p.PID))
	})
}

// owns reports whether a process of the user (or of its subordinate uids)
// was started by this run, when the run is the user's own and the user may
// have other processes, another roostd included: roostd and all it starts
// up to the shims inherit the private XDG_RUNTIME_DIR or name the run's
// private dirs on their command line, and containers descend from a shim
// and run in the user namespace roostd made (noteUserNS).
func (u *testUser) owns(pid int) bool {
	// Bounded: a parent chain cannot be longer than the process table,
	// but a pid reused while walking it could make a cycle.
	for range 64 {
		if pid <= 1 {
			return false
		}
		if u.marked(pid) {
			return true
		}
		pid = testenv.ParentPID(pid)
	}
	return false
}

// marked is owns for pid alone, without its ancestors.
func (u *testUser) marked(pid int) bool {
	environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	for _, kv := range strings.Split(string(environ), "\x00") {
		if kv == "XDG_RUNTIME_DIR="+u.RuntimeDir {
			return true
		}
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	for _, m := range u.marks {
		if strings.Contains(string(cmdline), m) {
			return true
		}
	}
	ns, ok := testenv.UserNSOf(pid)
	return ok && u.userNS[ns]
}

// noteUserNS records the user namespace roostd's processes run in, read
// through its pid files, so that the final check finds the containers in
// it even once roostd is gone. The test binary's own namespace is never
// one: every process of the host is in it.
func (u *testUser) noteUserNS() {
	if !u.self {
		return
	}
	own, _ := testenv.UserNSOf(os.Getpid())
	for _, name := range []string{"nsinit.pid", "containerd.pid", "roostd.pid"} {
		pid, err := u.readPidFile(name)
		if err != nil {
			continue
		}
		if ns, ok := testenv.UserNSOf(pid); ok && ns != own {
			u.userNS[ns] = true
		}
	}
}

// reapLeftovers waits up to lingerTimeout for the user's processes to go
// away, then kills the rest with SIGKILL and returns them.
func (u *testUser) reapLeftovers(linger time.Duration) []proc {
	return testenv.KillAll(u.userProcesses, linger)
}

// killPidFile kills the process named by a pid file of roostd's state dir
// with SIGKILL, waits until it is gone and returns its pid.
func (u *testUser) killPidFile(t *testing.T, name string) int {
	t.Helper()
	pid, err := u.readPidFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 of %s's pid %d: %v", name, pid, err)
	}
	if err := testenv.WaitGone(pid, 5*time.Second); err != nil {
		t.Fatalf("%s's pid %d after kill -9: %v", name, pid, err)
	}
	return pid
}

// readPidFile reads a pid file from roostd's state dir and checks that the
// pid is a live process of the user, so that a test never signals a
// stranger because of a stale or wrong file.
func (u *testUser) readPidFile(name string) (int, error) {
	path := filepath.Join(u.RuntimeDir, "roost", name)
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	p, ok := testenv.ReadProc(pid)
	switch {
	case !ok:
		return 0, fmt.Errorf("%s holds pid %d, which does not run", path, pid)
	case p.UID != u.UID:
		return 0, fmt.Errorf("%s holds pid %d, which runs as uid %d, not %s", path, pid, p.UID, u.Name)
	case p.State == "Z":
		return 0, fmt.Errorf("%s holds pid %d, which is a zombie", path, pid)
	case u.self && !u.owns(pid):
		return 0, fmt.Errorf("%s holds pid %d, which this run did not start", path, pid)
	}
	return pid, nil
}
