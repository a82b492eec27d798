package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// notifyListener is the service manager's end of NOTIFY_SOCKET: it records
// every datagram roostd sends.
type notifyListener struct {
	conn *net.UnixConn
	mu   sync.Mutex
	msgs []string
	next int // the first message expect has not looked at
}

func newNotifyListener(t *testing.T, path string) *notifyListener {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	// roostd runs as the test user; sendto needs write permission.
	if err := os.Chmod(path, 0o777); err != nil {
		t.Fatal(err)
	}
	n := &notifyListener{conn: conn}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			n.mu.Unlock()
		}
	}()
	return n
}

// expect waits for a message that starts with prefix, after those expect
// found before, and returns it.
func (n *notifyListener) expect(t *testing.T, prefix string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		n.mu.Lock()
		for i := n.next; i < len(n.msgs); i++ {
			if strings.HasPrefix(n.msgs[i], prefix) {
				n.next = i + 1
				m := n.msgs[i]
				n.mu.Unlock()
				return m
			}
		}
		all := append([]string(nil), n.msgs...)
		n.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no notification %q within %v; got %q", prefix, within, all)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (n *notifyListener) count(msg string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, m := range n.msgs {
		if m == msg {
			c++
		}
	}
	return c
}

// TestNotify runs roostd as a Type=notify unit with WatchdogSec would:
// STATUS lines while it starts, READY=1 once the API answers, WATCHDOG=1
// pings, RELOADING=1 then READY=1 around SIGHUP (which applies debug from
// daemon.json, and keeps the running configuration when the file is
// invalid), and STOPPING=1 on SIGTERM.
func TestNotify(t *testing.T) {
	needRoostd(t)
	u := harness.user
	run, home, env := privateEnv(t, "notify-")
	notify := newNotifyListener(t, filepath.Join(run, "notify"))
	cfgDir := filepath.Join(home, ".config", "roost")
	for _, d := range []string{filepath.Dir(cfgDir), cfgDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if !u.self {
			_ = os.Chown(d, u.UID, u.GID)
		}
	}
	daemonJSON := filepath.Join(cfgDir, "daemon.json")
	writeConfig := func(s string) {
		t.Helper()
		if err := os.WriteFile(daemonJSON, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig(`{"log-level": "info"}`)
	sock := filepath.Join(run, "notify-docker.sock")

	var log syncBuffer
	cmd := exec.Command(filepath.Join(harness.binDir, "roostd"), "-H", "unix://"+sock)
	cmd.Env = append(env, "NOTIFY_SOCKET="+filepath.Join(run, "notify"), "WATCHDOG_USEC=1000000")
	cmd.Dir = home
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = u.sysProcAttr()
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	exited := false
	defer func() {
		if !exited {
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("roostd's log:\n%s", log.String())
		}
	}()
	docker := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, harness.dockerCLI, append([]string{"-H", "unix://" + sock}, args...)...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}

	for _, s := range []string{
		"STATUS=starting the user namespace and containerd",
		"STATUS=connecting to containerd",
		"STATUS=restoring containers",
	} {
		notify.expect(t, s, time.Minute)
	}
	notify.expect(t, "READY=1", time.Minute)
	// READY=1 means the API answers.
	if out, err := docker("version", "--format", "{{.Server.Os}}"); err != nil || out != "linux" {
		t.Fatalf("docker version right after READY=1: %v: %s", err, out)
	}
	notify.expect(t, "STATUS=serving the Docker API", 5*time.Second)

	// WatchdogSec=1s: pings every half second.
	time.Sleep(2 * time.Second)
	if n := notify.count("WATCHDOG=1"); n < 2 {
		t.Errorf("%d WATCHDOG=1 pings in 2s with WATCHDOG_USEC=1000000, want at least 2", n)
	}

	// A reload applies debug: requests are logged from then on.
	if strings.Contains(log.String(), "Calling GET /version") {
		t.Fatal("debug lines logged before debug was set")
	}
	writeConfig(`{"debug": true, "live-restore": true}`)
	reload := func(status string) {
		t.Helper()
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		m := notify.expect(t, "RELOADING=1", 10*time.Second)
		if !strings.Contains(m, "\nMONOTONIC_USEC=") {
			t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", m)
		}
		notify.expect(t, status, 10*time.Second)
		notify.expect(t, "READY=1", 10*time.Second)
	}
	reload("STATUS=serving the Docker API")
	if _, err := docker("version"); err != nil {
		t.Fatalf("docker version after the reload: %v", err)
	}
	if !strings.Contains(log.String(), "Calling GET /version") {
		t.Error("debug set by a reload did not turn on debug logging")
	}
	if !strings.Contains(log.String(), "SIGHUP: live-restore changed; roostd applies it only at its next start") {
		t.Error("the reload did not say live-restore needs a restart")
	}

	// An invalid file is reported and changes nothing.
	writeConfig(`{"debug": false, "log-level": "loud"}`)
	reload("STATUS=reload failed: invalid log-level")
	if !strings.Contains(log.String(), `invalid log-level \"loud\"`) {
		t.Error("an invalid daemon.json on reload is not logged")
	}
	before := strings.Count(log.String(), "Calling GET /version")
	if _, err := docker("version"); err != nil {
		t.Fatalf("docker version after a failed reload: %v", err)
	}
	if strings.Count(log.String(), "Calling GET /version") == before {
		t.Error("a failed reload changed the running configuration (debug is off)")
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	notify.expect(t, "STOPPING=1", 10*time.Second)
	select {
	case err := <-done:
		exited = true
		if err != nil {
			t.Errorf("roostd exited with %v after SIGTERM", err)
		}
	case <-time.After(stopTimeout):
		t.Fatalf("roostd did not exit within %v of SIGTERM", stopTimeout)
	}
}

// syncBuffer is a bytes.Buffer that roostd's output and the test may use
// at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
