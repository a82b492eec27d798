package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDaemonConfigContainerKeysInvalid: daemon.json's container defaults
// are checked before roostd starts anything, in dockerd's words.
func TestDaemonConfigContainerKeysInvalid(t *testing.T) {
	needRoostd(t)
	u := harness.user
	cases := []struct{ json, want string }{
		{`{"log-driver":"syslog"}`, "failed to set log opts: logger: no log driver named 'syslog' is registered"},
		{`{"log-driver":"local","log-opts":{"tag":"x"}}`, "failed to set log opts: unknown log opt 'tag' for log driver local"},
		{`{"seccomp-profile":"/nonexistent/profile.json"}`, "opening seccomp profile (/nonexistent/profile.json) failed"},
		{`{"default-ipc-mode":"host"}`, `invalid default-ipc-mode "host"`},
		{`{"init-path":"tini"}`, `invalid init-path "tini"`},
	}
	for _, tc := range cases {
		// Under the harness's directory, which the daemon's user can reach
		// (t.TempDir's parent is private to the test's user).
		dir, err := os.MkdirTemp(harness.tmp, "daemonconfig-")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "daemon.json")
		if err := os.WriteFile(path, []byte(tc.json), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(harness.binDir, "roostd"), "--config-file", path)
		cmd.Env = u.daemonEnv(harness.binDir)
		cmd.Dir = u.Home
		cmd.SysProcAttr = u.sysProcAttr()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err = cmd.Run()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 {
			t.Errorf("%s: %v, want exit status 2\n%s", tc.json, err, stderr.String())
			continue
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: roostd said %q, want %q", tc.json, stderr.String(), tc.want)
		}
	}
}
