package main

import (
	"context"
	"errors"
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
	"time"

	"github.com/roostd/roost/internal/testenv"
)

const (
	// pingTimeout bounds a start of roostd: from exec to an answered /_ping.
	pingTimeout = 60 * time.Second
	// pingInterval is how often a starting daemon is asked; it is the
	// resolution of the start measurement.
	pingInterval = 5 * time.Millisecond
	// stopTimeout bounds a clean shutdown after SIGTERM.
	stopTimeout = 30 * time.Second
	// lingerTimeout is how long the engine's processes may take to go away
	// once roostd itself has exited.
	lingerTimeout = 5 * time.Second
)

// roostd is the roost engine under test: bin/roostd run as the account.
type roostd struct {
	b        *bench
	sock     string
	stateDir string // $XDG_RUNTIME_DIR/roost
	cmd      *exec.Cmd
	done     chan struct{} // closed once cmd has exited and been reaped
	exitErr  error         // valid after done is closed
	// keeperSession and userNS tell the engine's processes from the rest
	// of the account's (see procs); they are recorded at every start.
	keeperSession int
	userNS        string
	// started is set once the bench has tried to start roostd: only then
	// is there anything of the bench's to stop.
	started bool
	// stateExisted tells whether stateDir was there before the bench, so
	// that the bench removes only what it made.
	stateExisted bool
	// args are roostd's flags at the next start (see storageDriver).
	args []string
}

func newRoostd(b *bench) *roostd {
	return &roostd{
		b:        b,
		sock:     filepath.Join(b.acct.RuntimeDir, "docker.sock"),
		stateDir: filepath.Join(b.acct.RuntimeDir, "roost"),
	}
}

// engine describes roostd to the workloads.
func (r *roostd) engine() *engine {
	e := &engine{
		name:       "roost",
		dockerHost: "unix://" + r.sock,
		setUp:      r.setUp,
		tearDown:   r.tearDown,
		restart:    r.restart,
		procs:      r.procs,
		roles:      r.roles,
	}
	e.storageDriver = r.storageDriver
	return e
}

// roles names roostd's processes from its pid files.
func (r *roostd) roles() map[int]string {
	m := map[int]string{}
	if r.cmd != nil {
		m[r.cmd.Process.Pid] = "API"
	}
	for file, role := range map[string]string{
		"keeper.pid":            "keeper (RootlessKit parent)",
		"rootlesskit/child_pid": "RootlessKit child and nsinit",
		"containerd.pid":        "containerd",
	} {
		if pid := readPIDFile(filepath.Join(r.stateDir, file)); pid != 0 {
			m[pid] = role
		}
	}
	return m
}

// setUp starts roostd on fresh state.
func (r *roostd) setUp() error {
	a := r.b.acct
	if a.switched {
		if busy := r.userProcs(); len(busy) > 0 {
			if !r.b.killLeftovers {
				return fmt.Errorf("%s already has %d running processes (an e2e run, or an earlier bench that was killed?):\n%s\nstop them, or rerun with -kill-leftovers", a.Name, len(busy), testenv.List(busy))
			}
			left := testenv.KillAll(r.userProcs, 0)
			r.b.problemf("killed %d processes of %s left by an earlier run:\n%s", len(left), a.Name, testenv.List(left))
		}
		if err := r.removeState(); err != nil {
			return fmt.Errorf("removing the state of an earlier run: %w", err)
		}
	} else {
		if ping(r.sock) == nil {
			return fmt.Errorf("a daemon already answers on %s: stop it first (the bench starts its own roostd there)", r.sock)
		}
		_, err := os.Stat(r.stateDir)
		r.stateExisted = err == nil
	}
	_, err := r.start()
	return err
}

// start runs roostd and waits for its first answered /_ping, which it
// returns the time to.
func (r *roostd) start() (time.Duration, error) {
	b := r.b
	r.started = true
	fmt.Fprintf(b.log, "=== bench: starting %s/roostd at %s\n", b.binDir, time.Now().Format(time.RFC3339Nano))
	cmd := b.acct.command(context.Background(), b.binDir, filepath.Join(b.binDir, "roostd"), r.args...)
	cmd.Stdout, cmd.Stderr = b.log, b.log
	// If the bench dies, roostd is told to shut down rather than left behind.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	r.cmd, r.done, r.exitErr = cmd, make(chan struct{}), nil
	done := r.done
	go func() {
		r.exitErr = cmd.Wait()
		close(done)
	}()
	deadline := t0.Add(pingTimeout)
	for {
		err := ping(r.sock)
		if err == nil {
			break
		}
		elapsed := time.Since(t0)
		if r.exited() || time.Now().After(deadline) {
			// The keeper may be up: stop and tearDown must find it.
			r.recordKeeper()
		}
		if r.exited() {
			return elapsed, fmt.Errorf("roostd exited before answering /_ping: %v%s", r.exitErr, b.logTail())
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-r.done
			return elapsed, fmt.Errorf("roostd did not answer /_ping within %v: %v%s", pingTimeout, err, b.logTail())
		}
		time.Sleep(pingInterval)
	}
	elapsed := time.Since(t0)
	r.recordKeeper()
	return elapsed, nil
}

// running reports whether the roostd the bench started is up.
func (r *roostd) running() bool { return r.cmd != nil && !r.exited() }

// exited reports whether the roostd process has exited.
func (r *roostd) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// recordKeeper notes the keeper's session and the namespace's user
// namespace, by which the engine's processes are found later.
func (r *roostd) recordKeeper() {
	if pid := readPIDFile(filepath.Join(r.stateDir, "keeper.pid")); pid != 0 {
		r.keeperSession = pid // the keeper runs in its own session (setsid)
	}
	if pid, err := r.childPID(); err == nil {
		r.userNS, _ = os.Readlink(fmt.Sprintf("/proc/%d/ns/user", pid))
	}
}

// childPID is the RootlessKit child, whose user and mount namespaces are
// the engine's.
func (r *roostd) childPID() (int, error) {
	path := filepath.Join(r.stateDir, "rootlesskit", "child_pid")
	if pid := readPIDFile(path); pid != 0 {
		return pid, nil
	}
	return 0, fmt.Errorf("no live process in %s: is roostd running?", path)
}

// stop sends SIGTERM to roostd and waits for it and every process of the
// engine to go; it returns what went wrong (leftovers are killed).
func (r *roostd) stop() []string {
	var problems []string
	if r.cmd != nil && !r.exited() {
		if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			problems = append(problems, fmt.Sprintf("SIGTERM roostd: %v", err))
		}
		select {
		case <-r.done:
			if r.exitErr != nil {
				problems = append(problems, fmt.Sprintf("roostd exited with %v after SIGTERM", r.exitErr))
			}
		case <-time.After(stopTimeout):
			problems = append(problems, fmt.Sprintf("roostd (pid %d) did not exit within %v of SIGTERM; killed", r.cmd.Process.Pid, stopTimeout))
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
			<-r.done
		}
	} else if r.cmd != nil && r.exitErr != nil {
		problems = append(problems, fmt.Sprintf("roostd had already exited: %v", r.exitErr))
	}
	if left := testenv.KillAll(r.procs, lingerTimeout); len(left) > 0 {
		problems = append(problems, fmt.Sprintf("%d processes outlived roostd and were killed with SIGKILL:\n%s", len(left), testenv.List(left)))
	}
	return problems
}

// restart stops roostd fully and times a new start.
func (r *roostd) restart() (time.Duration, error) {
	for _, p := range r.stop() {
		r.b.problemf("%s", p)
	}
	return r.start()
}

// storageDriver restarts roostd with --storage-driver driver, or without
// the flag for "". Data is kept: the image is in the content store that
// both snapshotters share, and is unpacked into the new one at first use.
func (r *roostd) storageDriver(driver string) error {
	r.args = nil
	if driver != "" {
		r.args = []string{"--storage-driver", driver}
	}
	_, err := r.restart()
	return err
}

// tearDown stops roostd and removes the state the bench made.
func (r *roostd) tearDown() []string {
	if !r.started {
		return nil
	}
	problems := r.stop()
	if r.b.acct.switched {
		// Someone else uses the account meanwhile: their state stays.
		if others := r.userProcs(); len(others) > 0 {
			problems = append(problems, fmt.Sprintf("%d processes of %s that the bench did not start run now (another e2e or bench run?); they and the state in %s are left alone:\n%s", len(others), r.b.acct.Name, r.b.acct.RuntimeDir, testenv.List(others)))
		} else if err := r.removeState(); err != nil {
			problems = append(problems, fmt.Sprintf("removing the state of %s: %v", r.b.acct.Name, err))
		}
	} else if !r.stateExisted {
		_ = os.RemoveAll(r.stateDir)
	}
	return problems
}

// procs lists the engine's processes: those of the account (or its
// subordinate uids, for container processes that are not root inside)
// that are the API process, in the keeper's session (the keeper and
// slirp4netns) or in the engine's user namespace (everything else). Nothing
// leaves a user namespace, so nothing of the engine is missed; and as
// the caller, or with another run on the same account, nothing else counts.
func (r *roostd) procs() []proc {
	self := os.Getpid()
	return testenv.Procs(func(p proc) bool {
		return r.b.acct.owns(p) && p.PID != self &&
			((r.userNS != "" && p.UserNS == r.userNS) ||
				(r.keeperSession != 0 && p.Session == r.keeperSession) ||
				(r.cmd != nil && p.PID == r.cmd.Process.Pid))
	})
}

// userProcs lists every process of the account and its subordinate uids.
func (r *roostd) userProcs() []proc {
	return testenv.Procs(r.b.acct.owns)
}

// removeState deletes the dedicated user's runtime state and data, so that
// the next start begins from nothing. The account stays.
func (r *roostd) removeState() error {
	a := r.b.acct
	entries, err := os.ReadDir(a.RuntimeDir)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(a.RuntimeDir, e.Name())))
	}
	errs = append(errs, os.RemoveAll(filepath.Join(a.Home, ".local/share/roost")))
	return errors.Join(errs...)
}

// readPIDFile returns the live process named in a pid file, or 0.
func readPIDFile(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	if p, ok := testenv.ReadProc(pid); !ok || p.State == "Z" {
		return 0
	}
	return pid
}

// ping asks the daemon on sock for GET /_ping once.
func ping(sock string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return new(net.Dialer).DialContext(ctx, "unix", sock)
		},
		DisableKeepAlives: true,
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://roost/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
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
