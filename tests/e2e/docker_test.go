package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// dockerTimeout bounds one docker command in the Go tests; none of them
// does anything that takes more than a few seconds when the daemon works.
const dockerTimeout = 60 * time.Second

// result is what one docker command did.
type result struct {
	Stdout, Stderr string
	Code           int   // the exit code, -1 if the command did not exit by itself
	Err            error // nil only for exit code 0
}

func (r result) String() string {
	return fmt.Sprintf("exit %d (%v)\n[stdout]\n%s[stderr]\n%s", r.Code, r.Err, r.Stdout, r.Stderr)
}

// runDocker runs the docker CLI with args until it exits or ctx ends. The
// CLI reads DOCKER_HOST and DOCKER_CONFIG from the environment TestMain set.
func runDocker(ctx context.Context, args ...string) result {
	cmd := exec.CommandContext(ctx, harness.dockerCLI, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A CLI killed on timeout may leave a child holding the pipes open.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	r := result{Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
		r.Code = exitErr.ExitCode()
	default:
		r.Code = -1
		if ctx.Err() != nil {
			r.Err = fmt.Errorf("docker %s: %w", strings.Join(args, " "), ctx.Err())
		}
	}
	return r
}

// docker runs one docker command with dockerTimeout and returns what it did.
func docker(t testing.TB, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	return runDocker(ctx, args...)
}

// dockerOK runs one docker command, fails the test unless it exits 0, and
// returns its standard output without the trailing newline.
func dockerOK(t testing.TB, args ...string) string {
	t.Helper()
	r := docker(t, args...)
	if r.Err != nil {
		t.Fatalf("docker %s: %v", strings.Join(args, " "), r)
	}
	return strings.TrimRight(r.Stdout, "\n")
}

// removeOnCleanup removes the named containers when the test ends, however
// it ends, so that a failed test leaves nothing running for the next one.
func removeOnCleanup(t *testing.T, names ...string) {
	t.Cleanup(func() {
		for _, n := range names {
			docker(t, "rm", "-f", n)
		}
	})
}

// inspect returns one field of a container through docker inspect -f.
func inspect(t testing.TB, name, format string) string {
	t.Helper()
	return dockerOK(t, "inspect", "-f", format, name)
}

// needRoostd skips tests that reach into roostd's processes and state dir
// when the harness runs against a daemon it did not start.
func needRoostd(t *testing.T) {
	t.Helper()
	if !harness.managed {
		t.Skip("E2E_DOCKER_HOST is set: this test needs the roostd the harness starts")
	}
}

// startUntilLine starts cmd and reads its standard output until a line
// for which match is true, then drains the rest in the background so that
// the command never blocks on it. It reports whether such a line came; if
// none did, the command has ended and been waited for.
func startUntilLine(t *testing.T, cmd *exec.Cmd, match func(line string) bool) bool {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if match(sc.Text()) {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return true
		}
	}
	_ = cmd.Wait()
	return false
}
