package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestJournaldWithoutJournal: where the host has no journal (nothing
// listens on /run/systemd/journal/socket, as on machines without systemd),
// --log-driver journald is refused at create with a clear error, so no
// container is left that could never start. Its options are checked first,
// as dockerd's validator does.
func TestJournaldWithoutJournal(t *testing.T) {
	if fi, err := os.Stat("/run/systemd/journal/socket"); err == nil && fi.Mode()&os.ModeSocket != 0 {
		t.Skip("this host has a journal")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--rm", "--name", "journald-run", "--log-driver", "journald", "busybox", "echo", "hi"},
			"Error response from daemon: logger: journald is not enabled on this host: nothing listens on /run/systemd/journal/socket; use --log-driver json-file or local"},
		{[]string{"create", "--name", "journald-opt", "--log-driver", "journald", "--log-opt", "max-size=1k", "busybox"},
			"unknown log opt 'max-size' for log driver journald"},
		{[]string{"create", "--name", "journald-tag", "--log-driver", "journald", "--log-opt", "tag={{.Nope", "busybox"},
			"invalid value for tag"},
	} {
		r := runDocker(ctx, tc.args...)
		// docker run exits 125 for a daemon error, docker create 1.
		code := 1
		if tc.args[0] == "run" {
			code = 125
		}
		if r.Code != code || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("docker %s: %s\nwant exit %d and %q", strings.Join(tc.args, " "), r, code, tc.want)
		}
	}
	// Nothing was created.
	for _, name := range []string{"journald-run", "journald-opt", "journald-tag"} {
		if r := runDocker(ctx, "inspect", name); r.Code == 0 {
			t.Errorf("container %s exists after a refused create", name)
			runDocker(ctx, "rm", "-f", name)
		}
	}
}

// TestJournaldRealJournal sends a container's output to a real
// systemd-journald: the test starts one (Debian's, as systemd would) in a
// mount namespace of its own, with private /run/systemd, /run/log and
// /var/log/journal, so the host's journal (if any) is never touched, and a
// roostd of its own inside that namespace. What the container writes must
// be in the journal with dockerd's fields, stdout at priority 6 and stderr
// at 3, as journalctl shows it, and docker logs must read it back.
func TestJournaldRealJournal(t *testing.T) {
	needRoostd(t)
	if os.Geteuid() != 0 {
		t.Skip("a private journald needs root for its mount namespace")
	}
	const journald = "/lib/systemd/systemd-journald"
	for _, tool := range []string{journald, "/usr/bin/journalctl", "/usr/bin/nsenter", "/usr/bin/setpriv"} {
		if _, err := os.Stat(tool); err != nil {
			t.Fatalf("%s is missing (hack/deps.sh installs Debian's systemd and util-linux for the tests): %v", tool, err)
		}
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := startPrivateJournald(ctx, t)

	u := harness.user
	run, home, env := privateEnv(t, "journald-")
	sock := filepath.Join(run, "docker.sock")
	var log syncBuffer
	// nsenter joins the journal's mount namespace as root, setpriv then
	// becomes the user, as a login would: roostd and its keeper see the
	// private journal at the usual paths.
	cmd := exec.Command("nsenter", "-t", strconv.Itoa(ns.Process.Pid), "-m", "--",
		"setpriv", "--reuid="+u.Name, "--regid="+strconv.Itoa(u.GID), "--init-groups",
		filepath.Join(harness.binDir, "roostd"))
	cmd.Env, cmd.Dir = env, home
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, done: make(chan struct{})}
	go func() { d.err = cmd.Wait(); close(d.done) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(stopTimeout):
			t.Errorf("roostd did not stop within %v of SIGTERM", stopTimeout)
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-d.done
		}
		if t.Failed() {
			t.Logf("roostd's log:\n%s", log.String())
		}
	}()
	if err := waitPing(d, sock, pingTimeout); err != nil {
		t.Fatal(err)
	}
	docker := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, harness.dockerCLI, append([]string{"-H", "unix://" + sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	docker("load", "-i", harness.busyboxTar)
	id := docker("run", "-d", "--name", "journald-real", "--log-driver", "journald",
		"--log-opt", "tag={{.Name}}/{{.ImageName}}", "--log-opt", "labels=team", "--label", "team=blue",
		"busybox", "sh", "-c", "echo to-stdout; sleep 0.2; echo to-stderr >&2")
	if got := docker("wait", id); got != "0" {
		t.Fatalf("docker wait: %q, want 0", got)
	}
	if got := docker("inspect", "-f", "{{.HostConfig.LogConfig.Type}}", id); got != "journald" {
		t.Errorf("LogConfig.Type %q, want journald", got)
	}

	entries := journalEntries(ctx, t, ns.Process.Pid, "CONTAINER_ID_FULL="+id, 2)
	byMessage := map[string]map[string]any{}
	for _, e := range entries {
		if m, ok := e["MESSAGE"].(string); ok {
			byMessage[m] = e
		}
	}
	for msg, priority := range map[string]string{"to-stdout": "6", "to-stderr": "3"} {
		e := byMessage[msg]
		if e == nil {
			t.Errorf("no journal entry %q among %v", msg, entries)
			continue
		}
		for field, want := range map[string]string{
			"PRIORITY":          priority,
			"CONTAINER_ID":      id[:12],
			"CONTAINER_NAME":    "journald-real",
			"CONTAINER_TAG":     "journald-real/busybox",
			"SYSLOG_IDENTIFIER": "journald-real/busybox",
			"IMAGE_NAME":        "busybox",
			"TEAM":              "blue",
			"_UID":              strconv.Itoa(u.UID),
		} {
			if got, _ := e[field].(string); got != want {
				t.Errorf("entry %q: %s=%q, want %q", msg, field, got, want)
			}
		}
	}
	// docker logs reads the entries back, each to its stream, as dockerd's
	// journald reader does.
	logsOf := func(args ...string) (stdout, stderr string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, harness.dockerCLI, append([]string{"-H", "unix://" + sock, "logs"}, args...)...)
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil {
			t.Fatalf("docker logs %s: %v\n%s", strings.Join(args, " "), err, e.String())
		}
		return o.String(), e.String()
	}
	if o, e := logsOf(id); o != "to-stdout\n" || e != "to-stderr\n" {
		t.Errorf("docker logs: stdout %q, stderr %q; want to-stdout and to-stderr", o, e)
	}
	if o, e := logsOf("--tail", "1", "--timestamps", id); o != "" || !strings.HasSuffix(e, " to-stderr\n") || !strings.HasPrefix(e, time.Now().UTC().Format("2006-01-02T")) {
		t.Errorf("docker logs --tail 1 --timestamps: stdout %q, stderr %q", o, e)
	}
	// Following a running container ends when it stops, with every line.
	follow := docker("run", "-d", "--log-driver", "journald", "busybox", "sh", "-c", "echo one; sleep 1; echo two")
	if o, _ := logsOf("--follow", follow); o != "one\ntwo\n" {
		t.Errorf("docker logs --follow: %q, want one and two", o)
	}
	docker("rm", follow)
	// --tail 0 shows only what comes after, until the container stops.
	later := docker("run", "-d", "--log-driver", "journald", "busybox", "sh", "-c", "echo before; sleep 2; echo after")
	deadline := time.Now().Add(10 * time.Second)
	for o, _ := logsOf(later); o != "before\n" && time.Now().Before(deadline); o, _ = logsOf(later) {
		time.Sleep(50 * time.Millisecond)
	}
	if o, _ := logsOf("--follow", "--tail", "0", later); o != "after\n" {
		t.Errorf("docker logs --follow --tail 0: %q, want only after", o)
	}
	docker("rm", later)
	docker("rm", id)
}

// startPrivateJournald starts Debian's systemd-journald in a mount
// namespace of its own where /run/systemd, /run/log and /var/log/journal
// are the test's, and waits for its native socket. Its process holds the
// namespace; it is stopped when the test ends.
func startPrivateJournald(ctx context.Context, t *testing.T) *exec.Cmd {
	t.Helper()
	dir, err := os.MkdirTemp(harness.tmp, "journal-")
	if err != nil {
		t.Fatal(err)
	}
	// Mount points must exist; the ones this test makes on the host are
	// removed again (an empty /run/systemd would tell other programs that
	// systemd runs).
	for _, p := range []string{"/var/log/journal", "/etc/systemd/journald.conf"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%v (Debian's systemd package provides it)", err)
		}
	}
	var made []string
	for _, p := range []string{"/run/systemd", "/run/log"} {
		if _, err := os.Stat(p); os.IsNotExist(err) {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			made = append(made, p)
		}
	}
	// Persistent storage split per user (journald's own defaults with a
	// /var/log/journal), written at once: the "flushed" mark is what
	// systemd-journal-flush leaves at boot. Each user then reads their own
	// user-<uid>.journal, as docker logs does through journalctl.
	conf := filepath.Join(dir, "journald.conf")
	if err := os.WriteFile(conf, []byte("[Journal]\nStorage=persistent\nSplitMode=uid\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `set -e
mount -t tmpfs -o mode=0755 journal-run /run/systemd
mkdir /run/systemd/journal
touch /run/systemd/journal/flushed
mount -t tmpfs -o mode=0755 journal-log /run/log
mount -t tmpfs -o mode=2755 journal-var /var/log/journal
mount --bind "$0" /etc/systemd/journald.conf
exec /lib/systemd/systemd-journald`
	var log syncBuffer
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, conf)
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		for _, p := range made {
			_ = os.Remove(p)
		}
		_ = os.RemoveAll(dir)
		if t.Failed() {
			t.Logf("journald's output:\n%s", log.String())
		}
	})
	socket := fmt.Sprintf("/proc/%d/root/run/systemd/journal/socket", cmd.Process.Pid)
	for {
		if fi, err := os.Stat(socket); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return cmd
		}
		select {
		case err := <-done:
			t.Fatalf("journald exited before its socket appeared: %v\n%s", err, log.String())
		case <-ctx.Done():
			t.Fatalf("journald's socket did not appear\n%s", log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// journalEntries reads, as root in the journal's namespace, the entries
// that match, waiting until there are at least want of them (journald
// writes asynchronously).
func journalEntries(ctx context.Context, t *testing.T, pid int, match string, want int) []map[string]any {
	t.Helper()
	for {
		out, err := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(pid), "-m", "--",
			"journalctl", "--no-pager", "-o", "json", match).Output()
		var entries []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			var e map[string]any
			if json.Unmarshal([]byte(line), &e) == nil {
				entries = append(entries, e)
			}
		}
		if len(entries) >= want {
			return entries
		}
		select {
		case <-ctx.Done():
			t.Fatalf("journalctl %s: %d entries, want %d: %v\n%s", match, len(entries), want, err, out)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
