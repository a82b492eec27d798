package e2e

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestExecInteractiveTTY types into `docker exec -it` through a real pty:
// the shell's prompt, a command, the terminal's size, and an exit code
// that becomes the CLI's.
func TestExecInteractiveTTY(t *testing.T) {
	removeOnCleanup(t, "exectty")
	dockerOK(t, "run", "-d", "--name", "exectty", "busybox", "sleep", "300")

	term, exited := startTerminal(t, "exec", "-it", "exectty", "sh")
	term.expect(t, "/ # ")
	term.send(t, "echo $((6*7)) $TERM\r")
	term.expect(t, "\r\n42 xterm\r\n")
	term.expect(t, "/ # ")
	// The CLI sends the pty's size (24x80, startTerminal's) at start.
	term.send(t, "stty size\r")
	term.expect(t, "\r\n24 80\r\n")
	term.expect(t, "/ # ")

	term.send(t, "exit 3\r")
	select {
	case err := <-exited:
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
			t.Fatalf("docker exec -it ended with %v, want exit status 3 (the shell's)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("docker exec -it did not end within 10s of the shell's exit")
	}
	// The container runs on; its exec is gone from its list.
	if got := inspect(t, "exectty", "{{.State.Running}} {{len .ExecIDs}}"); got != "true 0" {
		t.Fatalf("after the exec, the container is %q, want \"true 0\"", got)
	}
}

// TestExecDetachKeys leaves a `docker exec -it` session with the detach
// keys: the CLI ends (it sees the keys itself and, as with dockerd, exits
// 1 saying "read escape sequence"), the shell keeps running in the
// container.
func TestExecDetachKeys(t *testing.T) {
	removeOnCleanup(t, "execdetach")
	dockerOK(t, "run", "-d", "--name", "execdetach", "busybox", "sleep", "300")

	term, exited := startTerminal(t, "exec", "-it", "--detach-keys", "ctrl-x,x", "execdetach", "sh")
	term.expect(t, "/ # ")
	term.send(t, "\x18x")
	term.expect(t, "read escape sequence")
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("docker exec -it still runs 10s after the detach keys")
	}
	if got := dockerOK(t, "exec", "execdetach", "ps", "-o", "args"); !strings.Contains(got, "\nsh\n") && !strings.HasSuffix(got, "\nsh") {
		t.Fatalf("after detaching, the exec's shell is not running:\n%s", got)
	}
}
