package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// expectTimeout bounds each wait for terminal output.
const expectTimeout = 15 * time.Second

// terminal is the controlling side of a pty with everything read from it.
type terminal struct {
	ptmx *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	seen int // output before this offset has been matched already
	eof  chan struct{}
}

func newTerminal(ptmx *os.File) *terminal {
	term := &terminal{ptmx: ptmx, eof: make(chan struct{})}
	go func() {
		defer close(term.eof)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return term
}

// expect waits until want appears in output not matched before.
func (term *terminal) expect(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(expectTimeout)
	for {
		term.mu.Lock()
		out := term.out.String()
		i := strings.Index(out[term.seen:], want)
		if i >= 0 {
			term.seen += i + len(want)
		}
		term.mu.Unlock()
		if i >= 0 {
			return
		}
		select {
		case <-term.eof:
			// Read the last bytes the reader got before giving up.
			term.mu.Lock()
			out = term.out.String()
			term.mu.Unlock()
			if strings.Contains(out[term.seen:], want) {
				continue
			}
			t.Fatalf("terminal: the CLI ended before %q appeared; output after the last match:\n%q", want, out[term.seen:])
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("terminal: %q did not appear within %v; output after the last match:\n%q", want, expectTimeout, out[term.seen:])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (term *terminal) send(t *testing.T, s string) {
	t.Helper()
	if _, err := term.ptmx.Write([]byte(s)); err != nil {
		t.Fatalf("terminal: writing %q: %v", s, err)
	}
}

// TestRunInteractiveTTY types into `docker run -it` through a real pty: the
// shell's prompt, a command, line editing, and Ctrl-D to leave.
func TestRunInteractiveTTY(t *testing.T) {
	term, exited := startTerminal(t, "run", "-it", "--rm", "busybox", "sh")
	term.expect(t, "/ # ")
	// The echoed command line holds "6*7", never "42": 42 is the output.
	term.send(t, "echo $((6*7))\r")
	term.expect(t, "\r\n42\r\n")
	term.expect(t, "/ # ")

	// Backspace (DEL, as a terminal sends it) removes the X before the
	// shell runs the line. The output is a line of its own, which the echo
	// of the typing (prompt first, then "echo ab...") cannot be.
	term.send(t, "echo abX")
	term.send(t, "\x7f")
	term.send(t, "c\r")
	term.expect(t, "\r\nabc\r\n")
	term.expect(t, "/ # ")

	// Ctrl-D on an empty line ends the shell, the container and the CLI.
	term.send(t, "\x04")
	waitExit(t, exited, 0, "docker run -it after Ctrl-D")
}

// TestDetachAndAttach leaves a `docker run -it` session with the detach keys
// (Ctrl-P Ctrl-Q): the CLI ends, the container runs on, and `docker attach`
// reaches the same shell again.
func TestDetachAndAttach(t *testing.T) {
	removeOnCleanup(t, "detachable")
	term, exited := startTerminal(t, "run", "-it", "--name", "detachable", "busybox", "sh")
	term.expect(t, "/ # ")
	term.send(t, "export MARK=still-here\r")
	term.expect(t, "/ # ")
	term.send(t, "\x10\x11")
	waitExit(t, exited, 0, "docker run -it after the detach keys")
	if got := inspect(t, "detachable", "{{.State.Running}}"); got != "true" {
		t.Fatalf("after detaching, State.Running is %q, want true", got)
	}

	term, exited = startTerminal(t, "attach", "detachable")
	term.send(t, "echo $MARK\r")
	term.expect(t, "\r\nstill-here\r\n")
	term.send(t, "exit 6\r")
	waitExit(t, exited, 6, "docker attach after the shell's exit 6")
	if got := inspect(t, "detachable", "{{.State.Status}} {{.State.ExitCode}}"); got != "exited 6" {
		t.Fatalf("after exit 6, the container is %q, want \"exited 6\"", got)
	}
}

// startTerminal runs the docker CLI with args under a new pty.
func startTerminal(t *testing.T, args ...string) (*terminal, <-chan error) {
	t.Helper()
	cmd := exec.Command(harness.dockerCLI, args...)
	cmd.Env = append(os.Environ(), "TERM=xterm")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	term := newTerminal(ptmx)
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		ptmx.Close()
		<-term.eof
	})
	return term, exited
}

// waitExit waits (boundedly) for the CLI started by startTerminal to end
// with exit status want.
func waitExit(t *testing.T, exited <-chan error, want int, what string) {
	t.Helper()
	select {
	case err := <-exited:
		got := 0
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			got = exitErr.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v, want exit status %d", what, err, want)
		}
		if got != want {
			t.Fatalf("%s: exit status %d, want %d", what, got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still running after 10s", what)
	}
}
