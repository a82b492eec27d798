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

	"github.com/roostd/roost/internal/testenv"
)

// singleIDUser has no /etc/subuid or /etc/subgid range, as most users of a
// shared login node.
const singleIDUser = "roostnosubid"

// TestSingleIDMode: a user without subordinate IDs still gets an engine:
// only their own ID is mapped, docker info says so, a container runs (as
// root; with a TTY too) and publishes a port, and images whose files belong
// to other IDs are loaded, pulled and imported with those files squashed
// to root; builds work, RUN steps and such base images included, and one
// that asks for another owner fails with the reason.
func TestSingleIDMode(t *testing.T) {
	needRoostd(t)
	if os.Geteuid() != 0 {
		t.Skip("creating a user without subordinate IDs needs root (CI runs as root)")
	}
	if _, err := lookupUser(singleIDUser); err != nil {
		if out, err := exec.Command(testenv.Sbin("useradd"), "-m", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", singleIDUser).CombinedOutput(); err != nil {
			t.Fatalf("useradd: %v: %s", err, out)
		}
	}
	u, err := lookupUser(singleIDUser)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range u.userProcesses() {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
		_ = testenv.UnmountUnder(u.RuntimeDir)
		_ = os.RemoveAll(u.RuntimeDir)
		_ = exec.Command(testenv.Sbin("userdel"), "-r", singleIDUser).Run()
	})
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		if data, _ := os.ReadFile(f); strings.Contains(string(data), singleIDUser+":") {
			t.Fatalf("%s has a range for %s: the test needs a user without one", f, singleIDUser)
		}
	}
	if err := testenv.EnsureDir(u.RuntimeDir, 0o700, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(harness.tmp, "roostd-singleid.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	sock := filepath.Join(u.RuntimeDir, "docker.sock")
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
	// :U can give a volume to root, the one user mapped, and to no other.
	if r := dk("run", "--rm", "-v", "single-chown:/d:U", "busybox", "touch", "/d/x"); r.Err != nil {
		t.Errorf("docker run -v single-chown:/d:U: %v", r)
	}
	if r := dk("run", "--rm", "--user", "1000:1000", "-v", "single-chown:/d:U", "busybox", "true"); r.Err == nil ||
		!strings.Contains(r.Stderr, "container's user 1000:1000: the engine's user namespace does not map it (single-ID mode maps root only") {
		t.Errorf("docker run --user 1000:1000 -v single-chown:/d:U: %v, want the single-ID refusal", r)
	}
	if r := dk("run", "-d", "--name", "single-web", "-p", "127.0.0.1:28151:80", "busybox", "httpd", "-f", "-p", "80"); r.Err != nil {
		t.Fatalf("docker run -p: %v", r)
	}
	waitHTTP(t, "http://127.0.0.1:28151/")

	// Images with files of other owners: squashed to root, for load, pull
	// and import.
	env, err := registryEnv()
	if err != nil {
		t.Fatal(err)
	}
	checkImageOwners(t, dk, "singleid", env["REGISTRY"], true)
	// Builds work while everything is root's, through the classic builder
	// and buildx; a step that wants another owner fails with the reason.
	bx := withPlugins(t, "docker-buildx")
	dkx := func(args ...string) result { return bx(append([]string{"-H", "unix://" + sock}, args...)...) }
	checkSingleIDBuild(t, dk, dkx, "singleid")

	// Two users, two engines: neither reaches the other's socket or data,
	// and a port one holds is "already allocated" for the other.
	as := func(u *testUser, host string, args ...string) result {
		ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, harness.dockerCLI, append([]string{"-H", "unix://" + host}, args...)...)
		cmd.Env = []string{"HOME=" + u.Home, "PATH=/usr/bin:/bin"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID)}}
		out, err := cmd.CombinedOutput()
		return result{Stdout: string(out), Err: err}
	}
	if r := as(u, harness.sock, "ps"); r.Err == nil || !strings.Contains(r.Stdout, "permission denied") {
		t.Errorf("%s using %s's socket: %v", u.Name, harness.user.Name, r)
	}
	if r := as(harness.user, sock, "ps"); r.Err == nil || !strings.Contains(r.Stdout, "permission denied") {
		t.Errorf("%s using %s's socket: %v", harness.user.Name, u.Name, r)
	}
	ls := exec.Command("ls", filepath.Join(harness.user.Home, ".local/share/roost"))
	ls.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID)}}
	if out, err := ls.CombinedOutput(); err == nil {
		t.Errorf("%s lists %s's data root: %s", u.Name, harness.user.Name, out)
	}
	removeOnCleanup(t, "single-taken")
	if r := docker(t, "run", "-d", "--name", "single-taken", "-p", "127.0.0.1:28151:80", "busybox", "httpd", "-f", "-p", "80"); r.Err == nil ||
		!strings.Contains(r.Stderr, "port is already allocated") {
		t.Errorf("the shared engine publishing a port the other user's engine holds: %v", r)
	}
	dk("rm", "-f", "single-web")
}
