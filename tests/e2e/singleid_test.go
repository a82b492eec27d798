package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// singleIDUser has no /etc/subuid or /etc/subgid range, as most users of a
// shared login node.
const singleIDUser = "roostnosubid"

// TestSingleIDMode: a user without subordinate IDs still gets an engine:
// only their own ID is mapped, docker info says so, and a container runs
// (as root; with a TTY too) and publishes a port.
func TestSingleIDMode(t *testing.T) {
	needRoostd(t)
	if os.Geteuid() != 0 {
		t.Skip("creating a user without subordinate IDs needs root (CI runs as root)")
	}
	if _, err := lookupUser(singleIDUser); err != nil {
		if out, err := exec.Command(sbin("useradd"), "-m", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", singleIDUser).CombinedOutput(); err != nil {
			t.Fatalf("useradd: %v: %s", err, out)
		}
	}
	u, err := lookupUser(singleIDUser)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range u.userProcesses() {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
		_ = unmountUnder(u.runtimeDir)
		_ = os.RemoveAll(u.runtimeDir)
		_ = exec.Command(sbin("userdel"), "-r", singleIDUser).Run()
	})
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		if data, _ := os.ReadFile(f); strings.Contains(string(data), singleIDUser+":") {
			t.Fatalf("%s has a range for %s: the test needs a user without one", f, singleIDUser)
		}
	}
	if err := ensureDir(u.runtimeDir, 0o700, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(harness.tmp, "roostd-singleid.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	sock := filepath.Join(u.runtimeDir, "docker.sock")
	d, err := startDaemon(u, harness.binDir, log, sock)
	if err != nil {
		t.Fatalf("roostd without subordinate IDs: %v", err)
	}
	defer func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			t.Error("roostd did not stop within 30s of SIGTERM")
		}
	}()
	dk := func(args ...string) result {
		ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
		defer cancel()
		return runDocker(ctx, append([]string{"-H", "unix://" + sock}, args...)...)
	}
	if r := dk("info", "--format", "{{json .Labels}}"); r.Err != nil || !strings.Contains(r.Stdout, "io.roost.userns=single-id") {
		t.Fatalf("docker info: %v", r)
	}
	if r := dk("load", "-i", harness.busyboxTar); r.Err != nil {
		t.Fatalf("docker load: %v", r)
	}
	if r := dk("run", "--rm", "busybox", "id", "-u"); r.Err != nil || strings.TrimSpace(r.Stdout) != "0" {
		t.Fatalf("docker run: %v", r)
	}
	if r := dk("run", "--rm", "-t", "busybox", "true"); r.Err != nil {
		t.Fatalf("docker run -t: %v", r)
	}
	if r := dk("run", "-d", "--name", "single-web", "-p", "127.0.0.1:28151:80", "busybox", "httpd", "-f", "-p", "80"); r.Err != nil {
		t.Fatalf("docker run -p: %v", r)
	}
	waitHTTP(t, "http://127.0.0.1:28151/")
	dk("rm", "-f", "single-web")
}
