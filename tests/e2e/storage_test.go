package e2e

// These tests restart the shared daemon with another storage driver and
// put the usual one back at the end. This file's name sorts before
// survival_test.go, whose tests must stay last.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roostd/roost/internal/testenv"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/roostd/roost/tests/busybox/busyboximg"
)

// TestStorageDriverInvalid: a storage driver roost does not have stops
// roostd before it starts anything, naming the valid values.
func TestStorageDriverInvalid(t *testing.T) {
	needRoostd(t)
	u := harness.user
	cmd := exec.Command(filepath.Join(harness.binDir, "roostd"), "--storage-driver", "overlay2")
	cmd.Env = u.daemonEnv(harness.binDir)
	cmd.Dir = u.Home
	cmd.SysProcAttr = u.sysProcAttr()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 {
		t.Fatalf("roostd --storage-driver overlay2: %v, want exit status 2\n%s", err, stderr.String())
	}
	if want := `invalid storage-driver "overlay2": use overlayfs, fuse-overlayfs, native`; !strings.Contains(stderr.String(), want) {
		t.Errorf("roostd --storage-driver overlay2 said %q, want %q", stderr.String(), want)
	}
}

// TestStorageDriverFuseOverlayfs stops the shared daemon, starts one with
// --storage-driver fuse-overlayfs, runs containers on it, and restarts the
// shared daemon with the default driver.
func TestStorageDriverFuseOverlayfs(t *testing.T) {
	needRoostd(t)
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("/dev/fuse does not exist on this machine")
	}
	if _, err := exec.LookPath("fuse-overlayfs"); err != nil {
		t.Fatal("fuse-overlayfs is not installed: run make deps as root")
	}
	u := harness.user

	restartSharedDaemonWith(t, "--storage-driver", "fuse-overlayfs")

	if got := dockerOK(t, "info", "--format", "{{.Driver}}"); got != "fuse-overlayfs" {
		t.Fatalf("docker info: Driver %q, want fuse-overlayfs", got)
	}
	if pid, err := u.readPidFile("fuse-overlayfs.pid"); err != nil {
		t.Errorf("the snapshotter plugin: %v", err)
	} else if p, _ := testenv.ReadProc(pid); !strings.Contains(p.Cmdline, "containerd-fuse-overlayfs-grpc") {
		t.Errorf("fuse-overlayfs.pid is %v, not the snapshotter plugin", p)
	}

	// The image loaded under the other snapshotter is still listed: the
	// content store is shared, and the layers are unpacked into this
	// snapshotter when a container first needs them. No reload is needed.
	dockerOK(t, "image", "inspect", "busybox")
	if got := dockerOK(t, "run", "--rm", "busybox", "cat", "/index.html"); got != strings.TrimRight(busyboximg.IndexHTML, "\n") {
		t.Errorf("cat /index.html printed %q, want %q", got, busyboximg.IndexHTML)
	}
	// The container's root is a fuse-overlayfs mount, not a kernel overlay.
	root := dockerOK(t, "run", "--rm", "busybox", "awk", "$2 == \"/\" {print $3}", "/proc/mounts")
	if root != "fuse.fuse-overlayfs" {
		t.Errorf("the container's / is a %q mount, want fuse.fuse-overlayfs", root)
	}

	// A file written into a container's root filesystem is kept in the
	// snapshotter's upper directory: the container sees it when it starts
	// again, and it lies under the plugin's root on the host.
	removeOnCleanup(t, "fuse-write")
	script := "cat /written 2>/dev/null || echo written-by-the-first-run >/written"
	if out := dockerOK(t, "run", "--name", "fuse-write", "busybox", "sh", "-c", script); out != "" {
		t.Fatalf("first run printed %q, want nothing (no /written yet)", out)
	}
	if out := dockerOK(t, "start", "-a", "fuse-write"); out != "written-by-the-first-run" {
		t.Errorf("second run printed %q, want written-by-the-first-run", out)
	}
	uppers, _ := filepath.Glob(filepath.Join(u.Home, ".local/share/roost/fuse-overlayfs/snapshots/*/fs/written"))
	if len(uppers) != 1 {
		t.Errorf("found /written in %d fuse-overlayfs snapshots, want 1: %v", len(uppers), uppers)
	}
	dockerOK(t, "rm", "fuse-write")

	// Volumes on this snapshotter: the volume scripts again, in parallel.
	// Their copy-up mounts the container's root through fuse-overlayfs,
	// and the rest (binds, --volumes-from, tmpfs, rm -v, volume options)
	// must not depend on the snapshotter.
	t.Run("volumes", func(t *testing.T) {
		runScripts(t, "volumes", "volmounts", "volopts")
	})

	// A full stop and start on fuse-overlayfs (its mounts go with the
	// namespace): a container's writes and a named volume's data are
	// still there.
	removeOnCleanup(t, "fuse-keep")
	t.Cleanup(func() { docker(t, "volume", "rm", "-f", "fuse-keep") })
	keep := []string{"start", "-a", "fuse-keep"}
	dockerOK(t, "create", "--name", "fuse-keep", "-v", "fuse-keep:/v", "busybox", "sh", "-c",
		"cat /kept /v/kept 2>/dev/null || { echo root > /kept && echo vol > /v/kept; }")
	if out := dockerOK(t, keep...); out != "" {
		t.Fatalf("first run printed %q, want nothing", out)
	}
	if err := stopSharedDaemon(); err != nil {
		t.Fatal(err)
	}
	if err := startDaemonArgs("--storage-driver", "fuse-overlayfs"); err != nil {
		t.Fatal(err)
	}
	if out := dockerOK(t, keep...); out != "root\nvol" {
		t.Errorf("after a restart of roostd on fuse-overlayfs the container printed %q, want its root's and its volume's files", out)
	}
}

// runScripts runs the named scripts of testdata against the shared daemon
// as it is now (restarted with other flags, say), in parallel, and
// returns when all have ended. They get the scripts' environment but not
// the test registries.
func runScripts(t *testing.T, names ...string) {
	root := filepath.Join(harness.tmp, "scripts-"+strings.ReplaceAll(t.Name(), "/", "-"))
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	files := make([]string, len(names))
	for i, n := range names {
		files[i] = filepath.Join("testdata", n+".txtar")
	}
	p := testscript.Params{
		Files:       files,
		WorkdirRoot: root,
		Setup: func(env *testscript.Env) error {
			for k, v := range scriptEnv() {
				env.Setenv(k, v)
			}
			return nil
		},
		Cmds:      scriptCmds(),
		Condition: scriptCondition,
	}
	p.Deadline = time.Now().Add(scriptTimeout)
	if d, ok := t.Deadline(); ok && d.Before(p.Deadline) {
		p.Deadline = d
	}
	testscript.Run(t, p)
}

// restartSharedDaemonWith stops the shared daemon and starts it with args
// for the rest of the test; however the test ends, the tests after it get
// the usual daemon again.
func restartSharedDaemonWith(t *testing.T, args ...string) {
	t.Helper()
	if err := stopSharedDaemon(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stopSharedDaemon(); err != nil {
			t.Error(err)
		}
		if err := restartDaemon(); err != nil {
			t.Errorf("starting the shared daemon again: %v", err)
		}
	})
	if err := startDaemonArgs(args...); err != nil {
		t.Fatal(err)
	}
}

// stopSharedDaemon stops the newest daemon the harness started with
// SIGTERM (so the namespace, containerd and its plugins go too) and waits
// until every process of the test user has gone.
func stopSharedDaemon() error {
	u := harness.user
	d := harness.daemons[len(harness.daemons)-1]
	if !d.exited() {
		pid, err := u.readPidFile("roostd.pid")
		if err != nil {
			return fmt.Errorf("finding the daemon to stop: %w", err)
		}
		if pid != d.cmd.Process.Pid {
			return fmt.Errorf("roostd.pid holds %d, but the harness started %d", pid, d.cmd.Process.Pid)
		}
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			return fmt.Errorf("SIGTERM roostd (pid %d): %w", pid, err)
		}
		select {
		case <-d.done:
		case <-time.After(stopTimeout):
			return fmt.Errorf("roostd (pid %d) did not exit within %v of SIGTERM", pid, stopTimeout)
		}
		if d.err != nil {
			return fmt.Errorf("roostd exited with %v after SIGTERM", d.err)
		}
	}
	deadline := time.Now().Add(lingerTimeout)
	for {
		left := u.userProcesses()
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d processes of %s outlived roostd:\n%s", len(left), u.Name, testenv.List(left))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startDaemonArgs is restartDaemon with arguments for roostd: it starts it
// as startDaemon (daemon_test.go) does and records it in the harness, so
// the tear-down stops it if the test cannot.
func startDaemonArgs(args ...string) error {
	u := harness.user
	fmt.Fprintf(harness.log, "=== e2e: starting %s/roostd %s at %s\n", harness.binDir, strings.Join(args, " "), time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(filepath.Join(harness.binDir, "roostd"), args...)
	cmd.Env = u.daemonEnv(harness.binDir)
	cmd.Dir = u.Home
	cmd.Stdout, cmd.Stderr = harness.log, harness.log
	cmd.SysProcAttr = u.sysProcAttr()
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	if err := cmd.Start(); err != nil {
		return err
	}
	d := &daemon{cmd: cmd, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	if err := waitPing(d, harness.sock, pingTimeout); err != nil {
		if !d.exited() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-d.done
		}
		return fmt.Errorf("roostd %s: %w", strings.Join(args, " "), err)
	}
	harness.daemons = append(harness.daemons, d)
	return nil
}
