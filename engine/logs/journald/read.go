package journald

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/roostd/roost/engine/logs"
)

// journalctl is the reader: dockerd links libsystemd's sd_journal, which
// roost (cgo for SQLite and seccomp only) does not; journalctl reads the
// same files with the same rights, those of the user (its own journal,
// user-<uid>.journal, which journald gives it read access to).
var journalctl = "journalctl"

// Read streams the container's entries as docker logs shows them: stdout
// for priority info, stderr for err, each line ended by a newline unless
// the driver marked it partial. With Follow it runs until ro.Stopped is
// closed and the entries written until then are read, or ctx ends.
func Read(ctx context.Context, id string, ro logs.ReadOptions) (<-chan *logs.Message, error) {
	if err := checkReadable(ctx, id); err != nil {
		return nil, err
	}
	args := readArgs(id, ro)
	followed := time.Now()
	if ro.Follow {
		args = append(args, "--follow")
	}
	cmd, out, err := start(ctx, args)
	if err != nil {
		return nil, err
	}
	msgs := make(chan *logs.Message)
	go func() {
		defer close(msgs)
		if !ro.Follow {
			forward(ctx, out, msgs)
			_ = cmd.Wait()
			return
		}
		// journalctl --follow never ends by itself: once the container
		// stopped, stop it, then read what came after the last entry seen.
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			select {
			case <-ro.Stopped:
			case <-ctx.Done():
			}
			_ = cmd.Process.Kill()
		}()
		cursor := forward(ctx, out, msgs)
		<-stopped
		_ = cmd.Wait()
		if ctx.Err() != nil {
			return
		}
		rest := readArgs(id, logs.ReadOptions{Tail: -1, Until: ro.Until})
		if cursor != "" {
			rest = append(rest, "--after-cursor="+cursor)
		} else {
			// Nothing was shown: what the tail left out stays out.
			rest = append(rest, "--since="+timeArg(latest(ro.Since, followed)))
		}
		cmd, out, err := start(ctx, rest)
		if err != nil {
			return
		}
		forward(ctx, out, msgs)
		_ = cmd.Wait()
	}()
	return msgs, nil
}

// checkReadable asks journalctl for nothing of the container: where the
// user may read no journal file (a volatile journal only, which is the
// system's), it says so, and docker logs says it too rather than showing
// nothing.
func checkReadable(ctx context.Context, id string) error {
	out, err := exec.CommandContext(ctx, journalctl, "--no-pager", "--lines=0", "CONTAINER_ID_FULL="+id).CombinedOutput()
	if err != nil {
		return fmt.Errorf("reading the journal: %v: %s", err, bytes.TrimSpace(out))
	}
	if msg := string(bytes.TrimSpace(out)); strings.Contains(msg, "insufficient permissions") {
		return errdefs.ErrUnavailable.WithMessage("reading the journal: " + msg + " (a user reads only its own journal, which journald keeps where the journal is persistent: /var/log/journal)")
	}
	return nil
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// readArgs selects the container's entries: --lines for a tail, and the
// since/until window.
func readArgs(id string, ro logs.ReadOptions) []string {
	args := []string{"--no-pager", "--quiet", "--all", "--output=json",
		"--output-fields=MESSAGE,PRIORITY,CONTAINER_PARTIAL_MESSAGE"}
	if ro.Tail >= 0 {
		args = append(args, "--lines="+strconv.Itoa(ro.Tail))
	}
	if !ro.Since.IsZero() {
		args = append(args, "--since="+timeArg(ro.Since))
	}
	if !ro.Until.IsZero() {
		args = append(args, "--until="+timeArg(ro.Until))
	}
	return append(args, "CONTAINER_ID_FULL="+id)
}

// timeArg is a time as journalctl takes it: seconds since the epoch.
func timeArg(t time.Time) string {
	return "@" + strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', 6, 64)
}

// start runs journalctl with args; its output is returned to read. An
// entry it cannot read ends the stream, as a read error of a log file does.
func start(ctx context.Context, args []string) (*exec.Cmd, io.Reader, error) {
	cmd := exec.CommandContext(ctx, journalctl, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("reading the journal: %w", err)
	}
	return cmd, out, nil
}

// entry is what journalctl's JSON output gives of an entry. MESSAGE is a
// string, or an array of bytes when it is not valid UTF-8.
type entry struct {
	Message  json.RawMessage `json:"MESSAGE"`
	Priority string          `json:"PRIORITY"`
	Partial  string          `json:"CONTAINER_PARTIAL_MESSAGE"`
	Realtime string          `json:"__REALTIME_TIMESTAMP"`
	Cursor   string          `json:"__CURSOR"`
}

// forward sends the entries read from out and returns the cursor of the
// last one.
func forward(ctx context.Context, out io.Reader, msgs chan<- *logs.Message) string {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	cursor := ""
	for sc.Scan() {
		m, c, err := parseEntry(sc.Bytes())
		if err != nil {
			continue
		}
		cursor = c
		select {
		case msgs <- m:
		case <-ctx.Done():
			return cursor
		}
	}
	return cursor
}

// parseEntry turns one line of journalctl's JSON into a log message.
func parseEntry(line []byte) (*logs.Message, string, error) {
	var e entry
	if err := json.Unmarshal(line, &e); err != nil {
		return nil, "", err
	}
	text, err := messageBytes(e.Message)
	if err != nil {
		return nil, "", err
	}
	m := &logs.Message{Stream: "stdout", Line: text}
	if e.Priority == "3" {
		m.Stream = "stderr"
	}
	if e.Partial != "true" {
		m.Line = append(m.Line, '\n')
	}
	if us, err := strconv.ParseInt(e.Realtime, 10, 64); err == nil {
		m.Time = time.UnixMicro(us)
	}
	return m, e.Cursor, nil
}

// messageBytes decodes MESSAGE: a JSON string, or an array of byte values.
func messageBytes(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, errors.New("entry without a message")
	case raw[0] == '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return []byte(s), err
	default:
		var b []byte
		var ints []int
		if err := json.Unmarshal(raw, &ints); err != nil {
			return nil, err
		}
		for _, v := range ints {
			b = append(b, byte(v))
		}
		return b, nil
	}
}

// Readable tells whether journalctl is there to read the journal with.
func Readable() bool {
	_, err := exec.LookPath(journalctl)
	return err == nil
}
