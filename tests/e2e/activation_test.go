package e2e

import (
	"bufio"
	"context"
	"fmt"
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

// TestSocketActivation starts a second roostd the way roost.socket does:
// systemd-socket-activate holds the listening socket, and the first docker
// call execs roostd -H fd:// with it. That daemon has a runtime dir, home
// and data of its own, so it gets a keeper of its own and the shared
// daemon keeps running. It must answer on the passed socket, keep that
// socket out of the keeper, and leave nothing behind after SIGTERM.
func TestSocketActivation(t *testing.T) {
	needRoostd(t)
	activate, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate is not installed (Debian package systemd)")
	}
	u := harness.user
	run, home, env := privateEnv(t, "activation-")
	sock := filepath.Join(run, "act.sock")
	// systemd-socket-activate passes on only the variables named with -E.
	args := []string{"-l", sock, "--fdname=docker"}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		args = append(args, "-E", k)
	}
	args = append(args, filepath.Join(harness.binDir, "roostd"), "-H", "fd://")
	cmd := exec.Command(activate, args...)
	cmd.Env = env
	cmd.Dir = home
	logf, err := os.Create(filepath.Join(filepath.Dir(run), "roostd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = u.sysProcAttr()
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			killMarked(run)
		}
		if t.Failed() {
			log, _ := os.ReadFile(logf.Name())
			klog, _ := os.ReadFile(filepath.Join(run, "roost", "keeper.log"))
			t.Logf("roostd's log:\n%s\nkeeper.log:\n%s", log, klog)
		}
	}()

	// The socket exists before roostd runs; the first call starts it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("systemd-socket-activate did not create %s", sock)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, harness.dockerCLI, "-H", "unix://"+sock, "version", "--format", "{{.Server.Os}}").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "linux" {
		t.Fatalf("docker version through the activated socket: %v: %s", err, out)
	}
	pid := cmd.Process.Pid
	if got := readPID(filepath.Join(run, "roost", "roostd.pid")); got != pid {
		t.Errorf("roostd.pid holds %d, want %d: roostd should be the process systemd-socket-activate started", got, pid)
	}

	// Only roostd holds the listening socket: the keeper and containerd,
	// started before roostd joined the namespace, must not inherit it.
	inode := listeningInode(t, sock)
	for _, p := range markedProcs(run) {
		if p.PID != pid && holdsSocket(p.PID, inode) {
			t.Errorf("process %v holds the activated socket", p)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Errorf("roostd exited with %v after SIGTERM", err)
		}
	case <-time.After(stopTimeout):
		t.Fatalf("roostd did not exit within %v of SIGTERM", stopTimeout)
	}
	deadline = time.Now().Add(lingerTimeout)
	for {
		left := markedProcs(run)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			killMarked(run)
			t.Fatalf("%d processes outlived the activated roostd:\n%s", len(left), testenv.List(left))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// markedProcs are the live processes whose environment names run as
// XDG_RUNTIME_DIR or whose command line names it.
func markedProcs(run string) []proc {
	return testenv.Procs(func(p proc) bool {
		if p.PID == os.Getpid() {
			return false
		}
		environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.PID))
		return strings.Contains(p.Cmdline, run+"/") || strings.Contains("\x00"+string(environ), "\x00XDG_RUNTIME_DIR="+run+"\x00")
	})
}

func killMarked(run string) {
	for _, p := range markedProcs(run) {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
}

func readPID(path string) int {
	b, _ := os.ReadFile(path)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// listeningInode finds the inode of the unix socket listening on path in
// /proc/net/unix.
func listeningInode(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Num RefCount Protocol Flags Type St Inode Path
		fl := strings.Fields(sc.Text())
		if len(fl) == 8 && fl[7] == path && fl[3] == "00010000" {
			return fl[6]
		}
	}
	t.Fatalf("no socket listens on %s", path)
	return ""
}

func holdsSocket(pid int, inode string) bool {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, _ := os.ReadDir(fdDir)
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && l == "socket:["+inode+"]" {
			return true
		}
	}
	return false
}
