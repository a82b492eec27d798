package journald

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/roostd/roost/engine/logs"
)

func TestParseEntry(t *testing.T) {
	for _, tc := range []struct {
		line   string
		stream string
		text   string
	}{
		{`{"MESSAGE":"hello","PRIORITY":"6","__REALTIME_TIMESTAMP":"1795620235073337","__CURSOR":"c1"}`, "stdout", "hello\n"},
		{`{"MESSAGE":"oops","PRIORITY":"3","__REALTIME_TIMESTAMP":"1795620235073337","__CURSOR":"c1"}`, "stderr", "oops\n"},
		{`{"MESSAGE":"no newline","PRIORITY":"6","CONTAINER_PARTIAL_MESSAGE":"true","__CURSOR":"c1"}`, "stdout", "no newline"},
		// Not UTF-8: journalctl gives the bytes as numbers.
		{`{"MESSAGE":[104,255,105],"PRIORITY":"6","__CURSOR":"c1"}`, "stdout", "h\xffi\n"},
	} {
		m, cursor, err := parseEntry([]byte(tc.line))
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if m.Stream != tc.stream || string(m.Line) != tc.text || cursor != "c1" {
			t.Errorf("%s: got %s %q cursor %q, want %s %q", tc.line, m.Stream, m.Line, cursor, tc.stream, tc.text)
		}
	}
	m, _, _ := parseEntry([]byte(`{"MESSAGE":"x","__REALTIME_TIMESTAMP":"1795620235073337"}`))
	if want := time.UnixMicro(1795620235073337); !m.Time.Equal(want) {
		t.Errorf("time %v, want %v", m.Time, want)
	}
	for _, bad := range []string{`{"PRIORITY":"6"}`, `{"MESSAGE":null}`, `not json`, `{"MESSAGE":{"a":1}}`} {
		if _, _, err := parseEntry([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestReadArgs(t *testing.T) {
	id := "0123456789abcdef"
	all := readArgs(id, logs.ReadOptions{Tail: -1})
	if slices.ContainsFunc(all, func(a string) bool { return a == "--lines=-1" }) || all[len(all)-1] != "CONTAINER_ID_FULL="+id {
		t.Errorf("all entries: %q", all)
	}
	since := time.Unix(1700000000, 500000000)
	got := readArgs(id, logs.ReadOptions{Tail: 5, Since: since, Until: since.Add(time.Second)})
	for _, want := range []string{"--lines=5", "--since=@1700000000.500000", "--until=@1700000001.500000"} {
		if !slices.Contains(got, want) {
			t.Errorf("readArgs: %q lacks %q", got, want)
		}
	}
}

// TestReadUnreadableJournal: where journalctl may open no journal file
// (a user beside a volatile journal), docker logs gets that reason.
func TestReadUnreadableJournal(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "journalctl")
	script := "#!/bin/sh\necho 'No journal files were opened due to insufficient permissions.'\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	defer func(old string) { journalctl = old }(journalctl)
	journalctl = fake
	_, err := Read(context.Background(), "0123", logs.ReadOptions{Tail: -1})
	if !errdefs.IsUnavailable(err) || !strings.Contains(err.Error(), "insufficient permissions") {
		t.Fatalf("Read: %v, want the permission reason", err)
	}
}
