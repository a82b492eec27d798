package journald

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roostd/roost/engine/logs"
)

// nsEnv marks the copy of the test binary that runs in a private mount
// namespace.
const nsEnv = "ROOST_JOURNALD_TEST_NS"

// TestJournalSocket sends through go-systemd's journal package to a fake
// journald: a unixgram socket bound at journald's fixed path,
// /run/systemd/journal/socket, in a private mount namespace whose /run is
// a fresh tmpfs. What arrives is journald's native protocol, read back
// here field by field.
func TestJournalSocket(t *testing.T) {
	if os.Getenv(nsEnv) == "" {
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			t.Skip("unshare (util-linux) is not installed")
		}
		args := []string{"--mount", "--propagation", "private"}
		if os.Geteuid() != 0 {
			args = append([]string{"--map-root-user"}, args...)
		}
		args = append(args, os.Args[0], "-test.run=^TestJournalSocket$", "-test.v", "-test.count=1")
		cmd := exec.Command(unshare, args...)
		cmd.Env = append(os.Environ(), nsEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestJournalSocket")) {
			t.Fatalf("in a private mount namespace: %v\n%s", err, out)
		}
		return
	}
	if err := unix.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatalf("mounting a tmpfs on /run: %v", err)
	}
	if _, err := New(testInfo, nil); !errors.Is(err, ErrNotEnabled) {
		t.Fatalf("New without a journal: %v, want %v", err, ErrNotEnabled)
	}
	if err := os.MkdirAll("/run/systemd/journal", 0o755); err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "/run/systemd/journal/socket", Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w, err := New(testInfo, map[string]string{"tag": "{{.Name}}", "labels": "com.example.team"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&logs.Message{Stream: "stderr", Line: []byte("disk full\n"), Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(buf[:n]), "\n"), "\n") {
		k, v, _ := strings.Cut(line, "=")
		got[k] = v
	}
	for k, want := range map[string]string{
		"MESSAGE":           "disk full",
		"PRIORITY":          "3",
		"CONTAINER_ID":      "0123456789ab",
		"CONTAINER_ID_FULL": testID,
		"CONTAINER_NAME":    "web",
		"CONTAINER_TAG":     "web",
		"SYSLOG_IDENTIFIER": "web",
		"IMAGE_NAME":        "busybox:latest",
		"COM_EXAMPLE_TEAM":  "hpc",
	} {
		if got[k] != want {
			t.Errorf("%s=%q, want %q (datagram %q)", k, got[k], want, buf[:n])
		}
	}
}
