package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roostd/roost/rootless"
)

// TestCheckMissing runs `roostd check` from a directory without the pinned
// runtime binaries: it names each one with the fix and exits 1. The other
// prerequisites are those of the machine the suite runs on, where the
// shared daemon runs, so none of them may be MISSING.
func TestCheckMissing(t *testing.T) {
	needRoostd(t)
	u := harness.user
	dir, err := os.MkdirTemp(harness.tmp, "check-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(harness.binDir, "roostd"))
	if err != nil {
		t.Fatal(err)
	}
	roostd := filepath.Join(dir, "roostd")
	if err := os.WriteFile(roostd, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(roostd, "check")
	cmd.Env = u.daemonEnv(harness.binDir)
	cmd.Dir = u.Home
	cmd.SysProcAttr = u.sysProcAttr()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Fatalf("roostd check: %v, want exit status 1\n%s%s", err, stdout.String(), stderr.String())
	}
	var missing []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(line, "MISSING") {
			missing = append(missing, line)
		}
	}
	for _, b := range rootless.PinnedBinaries {
		want := "MISSING  " + filepath.Join(dir, b) + " is missing"
		found := false
		for _, line := range missing {
			if strings.HasPrefix(line, want) && strings.Contains(line, "fix: make") {
				found = true
			}
		}
		if !found {
			t.Errorf("roostd check does not report %s with its fix:\n%s", b, stdout.String())
		}
	}
	if len(missing) != len(rootless.PinnedBinaries) {
		t.Errorf("roostd check reports %d MISSING lines, want only the %d binaries:\n%s", len(missing), len(rootless.PinnedBinaries), stdout.String())
	}
}
