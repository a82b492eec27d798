package e2e

import (
	"strings"
	"testing"
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
	waitExit(t, exited, 3, "docker exec -it after the shell's exit 3")
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
	// The CLI ends with status 1 after the detach keys, as against dockerd.
	waitExit(t, exited, 1, "docker exec -it after the detach keys")
	if got := dockerOK(t, "exec", "execdetach", "ps", "-o", "args"); !strings.Contains(got, "\nsh\n") && !strings.HasSuffix(got, "\nsh") {
		t.Fatalf("after detaching, the exec's shell is not running:\n%s", got)
	}
}
