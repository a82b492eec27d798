package logs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWriteFormat(t *testing.T) {
	f, path := openTest(t, JSONFileOptions{})
	tm := time.Date(2026, 11, 25, 11, 0, 0, 123456789, time.FixedZone("CET", 3600))
	for _, m := range []*Message{
		{Stream: "stdout", Line: []byte("hello\n"), Time: tm},
		{Stream: "stderr", Line: []byte("<a&b>\t\"q\"\\ \x01 \xff \u2028 é\r\n"), Time: tm},
		{Stream: "stdout", Line: nil, Time: tm.Add(-123456789)},
	} {
		if err := f.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"log":"hello\n","stream":"stdout","time":"2026-11-25T10:00:00.123456789Z"}` + "\n" +
		`{"log":"\u003ca\u0026b\u003e\u0009\"q\"\\ \u0001 \ufffd \u2028 é\r\n","stream":"stderr","time":"2026-11-25T10:00:00.123456789Z"}` + "\n" +
		`{"stream":"stdout","time":"2026-11-25T10:00:00Z"}` + "\n"
	if string(got) != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
	for _, l := range bytes.Split(bytes.TrimSpace(got), []byte("\n")) {
		if !json.Valid(l) {
			t.Errorf("invalid JSON: %s", l)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	f, path := openTest(t, JSONFileOptions{})
	in := []*Message{
		{Stream: "stdout", Line: []byte("hello\n"), Time: base},
		{Stream: "stderr", Line: []byte("<tag> & \"quotes\" \\ é\ttab\n"), Time: base.Add(time.Nanosecond)},
		{Stream: "stdout", Line: []byte("partial"), Time: base.Add(time.Second)},
	}
	for _, m := range in {
		if err := f.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	got := readAll(t, path, JSONFileOptions{}, ReadOptions{Tail: -1})
	if len(got) != len(in) {
		t.Fatalf("got %d messages, want %d", len(got), len(in))
	}
	for i := range in {
		if got[i].Stream != in[i].Stream || !bytes.Equal(got[i].Line, in[i].Line) || !got[i].Time.Equal(in[i].Time) {
			t.Errorf("message %d: got %+v, want %+v", i, got[i], in[i])
		}
	}
}

func TestReopenAppends(t *testing.T) {
	f, path := openTest(t, JSONFileOptions{})
	writeN(t, f, 0, 3)
	f.Close()
	if err := f.Write(&Message{Line: []byte("x")}); err == nil {
		t.Error("write after close succeeded")
	}
	f2, err := OpenJSONFile(path, JSONFileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	writeN(t, f2, 3, 5)
	if got := lines(readAll(t, path, JSONFileOptions{}, ReadOptions{Tail: -1})); !slices.Equal(got, seq(0, 5)) {
		t.Errorf("got %q", got)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
}

func TestRotation(t *testing.T) {
	// Each entry is 70 bytes: 3 fit in 256 bytes.
	opts := JSONFileOptions{MaxSize: 256, MaxFiles: 3}
	f, path := openTest(t, opts)
	writeN(t, f, 0, 20)
	for i, name := range []string{path, path + ".1", path + ".2"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		if fi.Size() > opts.MaxSize {
			t.Errorf("%s is %d bytes, more than MaxSize", name, fi.Size())
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("path.3 exists (%v)", err)
	}
	// 20 entries, 3 per file: the current file has 2, the others 3 each.
	got := lines(readAll(t, path, opts, ReadOptions{Tail: -1}))
	if !slices.Equal(got, seq(12, 20)) {
		t.Errorf("got %q", got)
	}
	if got := lines(readAll(t, path+".1", JSONFileOptions{}, ReadOptions{Tail: -1})); !slices.Equal(got, seq(15, 18)) {
		t.Errorf("path.1 has %q", got)
	}
}

func TestRotationOneFile(t *testing.T) {
	opts := JSONFileOptions{MaxSize: 256, MaxFiles: 0} // 0 is 1
	f, path := openTest(t, opts)
	writeN(t, f, 0, 10)
	if _, err := os.Stat(path + ".1"); !os.IsNotExist(err) {
		t.Errorf("path.1 exists (%v)", err)
	}
	if got := lines(readAll(t, path, opts, ReadOptions{Tail: -1})); !slices.Equal(got, seq(9, 10)) {
		t.Errorf("got %q", got)
	}
}

func TestNoRotation(t *testing.T) {
	opts := JSONFileOptions{MaxSize: 0, MaxFiles: 3}
	f, path := openTest(t, opts)
	writeN(t, f, 0, 100)
	if _, err := os.Stat(path + ".1"); !os.IsNotExist(err) {
		t.Errorf("path.1 exists (%v)", err)
	}
}

func TestTail(t *testing.T) {
	opts := JSONFileOptions{MaxSize: 256, MaxFiles: 4}
	f, path := openTest(t, opts)
	writeN(t, f, 0, 11) // files: .3 [0 1 2] .2 [3 4 5] .1 [6 7 8] current [9 10]
	for _, tc := range []struct {
		tail     int
		from, to int
	}{
		{tail: -1, from: 0, to: 11},
		{tail: 0, from: 11, to: 11},
		{tail: 1, from: 10, to: 11},
		{tail: 2, from: 9, to: 11},
		{tail: 3, from: 8, to: 11},
		{tail: 7, from: 4, to: 11},
		{tail: 11, from: 0, to: 11},
		{tail: 100, from: 0, to: 11},
	} {
		got := lines(readAll(t, path, opts, ReadOptions{Tail: tc.tail}))
		if want := seq(tc.from, tc.to); !slices.Equal(got, want) {
			t.Errorf("tail %d: got %q, want %q", tc.tail, got, want)
		}
	}
}

func TestTailLargeFile(t *testing.T) {
	f, path := openTest(t, JSONFileOptions{})
	writeN(t, f, 0, 20000) // about 1.4 MB
	got := lines(readAll(t, path, JSONFileOptions{}, ReadOptions{Tail: 3}))
	if !slices.Equal(got, seq(19997, 20000)) {
		t.Errorf("got %q", got)
	}
}

func TestSinceUntil(t *testing.T) {
	opts := JSONFileOptions{MaxSize: 256, MaxFiles: 5}
	f, path := openTest(t, opts)
	writeN(t, f, 0, 10)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	for _, tc := range []struct {
		name         string
		tail         int
		since, until time.Time
		from, to     int
	}{
		{name: "since inclusive", tail: -1, since: at(3), from: 3, to: 10},
		{name: "since between", tail: -1, since: at(3).Add(time.Millisecond), from: 4, to: 10},
		{name: "until inclusive", tail: -1, until: at(5), from: 0, to: 6},
		{name: "both", tail: -1, since: at(2), until: at(4), from: 2, to: 5},
		{name: "since future", tail: -1, since: at(20), from: 0, to: 0},
		{name: "tail then since", tail: 3, since: at(8), from: 8, to: 10},
		{name: "tail then until", tail: 3, until: at(8), from: 7, to: 9},
	} {
		got := lines(readAll(t, path, opts, ReadOptions{Tail: tc.tail, Since: tc.since, Until: tc.until}))
		if want := seq(tc.from, tc.to); !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, want)
		}
	}
}

func TestMalformedLinesSkipped(t *testing.T) {
	f, path := openTest(t, JSONFileOptions{})
	writeN(t, f, 0, 1)
	raw, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	raw.WriteString("not json\n\n{\"log\":\"no time\"}\n{\"log\":\n")
	raw.Close()
	writeN(t, f, 1, 2)
	raw, _ = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	raw.WriteString(`{"log":"partial at end"`)
	raw.Close()
	if got := lines(readAll(t, path, JSONFileOptions{}, ReadOptions{Tail: -1})); !slices.Equal(got, seq(0, 2)) {
		t.Errorf("got %q", got)
	}
}

func TestMissingFile(t *testing.T) {
	got := readAll(t, t.TempDir()+"/none.log", JSONFileOptions{}, ReadOptions{Tail: -1})
	if len(got) != 0 {
		t.Errorf("got %d messages", len(got))
	}
}

func TestConcurrentWrite(t *testing.T) {
	opts := JSONFileOptions{MaxSize: 64 << 10, MaxFiles: 10}
	f, path := openTest(t, opts)
	const n = 1000
	var wg sync.WaitGroup
	for _, stream := range []string{"stdout", "stderr"} {
		wg.Go(func() {
			for i := range n {
				f.Write(&Message{Stream: stream, Line: []byte(fmt.Sprintf("%s %d\n", stream, i))})
			}
		})
	}
	wg.Wait()
	next := map[string]int{}
	for _, m := range readAll(t, path, opts, ReadOptions{Tail: -1}) {
		want := fmt.Sprintf("%s %d\n", m.Stream, next[m.Stream])
		if string(m.Line) != want {
			t.Fatalf("got %q, want %q", m.Line, want)
		}
		next[m.Stream]++
	}
	if next["stdout"] != n || next["stderr"] != n {
		t.Errorf("got %v lines, want %d each", next, n)
	}
}

func TestCopyLines(t *testing.T) {
	f, path := openTest(t, JSONFileOptions{})
	long := strings.Repeat("a", 40000)
	in := "one\n\ntwo\n" + long + "\nlast"
	before := time.Now()
	if err := CopyLines(f, "stderr", strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, path, JSONFileOptions{}, ReadOptions{Tail: -1})
	want := []string{"one\n", "\n", "two\n", long[:16384], long[16384:32768], long[32768:] + "\n", "last"}
	if !slices.Equal(lines(got), want) {
		t.Fatalf("got %d pieces %q…", len(got), lines(got)[:min(3, len(got))])
	}
	for _, m := range got {
		if m.Stream != "stderr" || m.Time.Before(before) {
			t.Errorf("message %+v", m)
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, os.ErrDeadlineExceeded }

func TestCopyLinesError(t *testing.T) {
	f, _ := openTest(t, JSONFileOptions{})
	if err := CopyLines(f, "stdout", errReader{}); err != os.ErrDeadlineExceeded {
		t.Errorf("got %v", err)
	}
	f.Close()
	if err := CopyLines(f, "stdout", strings.NewReader("a\nb\n")); err == nil {
		t.Error("copy to a closed file succeeded")
	}
}

func TestLongEntries(t *testing.T) {
	f, path := openTest(t, JSONFileOptions{})
	// 16 KiB of control characters is a 96 KiB entry, larger than one read.
	ctl := strings.Repeat("\x01", maxLineSize)
	if err := CopyLines(f, "stdout", strings.NewReader(ctl+"\n")); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	raw.WriteString(strings.Repeat("x", 3*maxEntrySize) + "\n") // corrupt, too long
	raw.Close()
	writeN(t, f, 0, 1)
	got := lines(readAll(t, path, JSONFileOptions{}, ReadOptions{Tail: -1}))
	want := []string{ctl, "\n", "line 0\n"}
	if !slices.Equal(got, want) {
		t.Errorf("got %d lines (%d bytes first), want %d", len(got), len(got[0]), len(want))
	}
	// As dockerd, Tail counts lines of the file, the corrupt one too.
	if got := lines(readAll(t, path, JSONFileOptions{}, ReadOptions{Tail: 3})); !slices.Equal(got, want[1:]) {
		t.Errorf("tail 3: got %d lines", len(got))
	}
}
