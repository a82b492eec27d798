package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// withPlugins returns a docker command line that runs with the CLI
// plugins bin/<name> installed in a DOCKER_CONFIG of its own (make e2e
// builds the plugins), leaving every other test's CLI as it is.
func withPlugins(t *testing.T, names ...string) func(args ...string) result {
	t.Helper()
	cfg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cfg, "cli-plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		plugin := filepath.Join(harness.binDir, name)
		if harness.binDir == "" {
			plugin, _ = filepath.Abs("../../bin/" + name)
		}
		if _, err := os.Stat(plugin); err != nil {
			t.Skipf("%s is missing: make bin/%s (make e2e builds it)", plugin, name)
		}
		if err := os.Symlink(plugin, filepath.Join(cfg, "cli-plugins", name)); err != nil {
			t.Fatal(err)
		}
	}
	return func(args ...string) result {
		ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, harness.dockerCLI, args...)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		r := result{Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
		if ee, ok := err.(*exec.ExitError); ok {
			r.Code = ee.ExitCode()
		}
		return r
	}
}
