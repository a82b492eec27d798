package logs

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

func TestFollowStoppedDrain(t *testing.T) {
	f, path := openTest(t, JSONFileOptions{})
	writeN(t, f, 0, 3)
	stopped := make(chan struct{})
	ch, err := Read(context.Background(), path, JSONFileOptions{}, ReadOptions{Tail: 2, Follow: true, Stopped: stopped})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, f, 3, 6)
	for _, want := range seq(1, 4) {
		if m := <-ch; string(m.Line) != want {
			t.Fatalf("got %q, want %q", m.Line, want)
		}
	}
	writeN(t, f, 6, 8)
	f.Close()
	close(stopped)
	if got := lines(collect(t, ch, time.Second)); !slices.Equal(got, seq(4, 8)) {
		t.Errorf("after stop: got %q", got)
	}
}

func TestFollowTailZero(t *testing.T) {
	f, path := openTest(t, JSONFileOptions{})
	writeN(t, f, 0, 3)
	stopped := make(chan struct{})
	ch, err := Read(context.Background(), path, JSONFileOptions{}, ReadOptions{Tail: 0, Follow: true, Stopped: stopped})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, f, 3, 5)
	close(stopped)
	if got := lines(collect(t, ch, time.Second)); !slices.Equal(got, seq(3, 5)) {
		t.Errorf("got %q", got)
	}
}

func TestFollowContextCancel(t *testing.T) {
	_, path := openTest(t, JSONFileOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := Read(ctx, path, JSONFileOptions{}, ReadOptions{Tail: -1, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	collect(t, ch, time.Second)
}

func TestFollowUntil(t *testing.T) {
	f, path := openTest(t, JSONFileOptions{})
	ch, err := Read(context.Background(), path, JSONFileOptions{}, ReadOptions{Tail: -1, Follow: true, Until: time.Now().Add(100 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	f.Write(&Message{Stream: "stdout", Line: []byte("before\n")})
	if got := lines(collect(t, ch, time.Second)); !slices.Equal(got, []string{"before\n"}) {
		t.Errorf("got %q", got)
	}
}

func TestFollowFileCreatedLater(t *testing.T) {
	path := t.TempDir() + "/later.log"
	stopped := make(chan struct{})
	ch, err := Read(context.Background(), path, JSONFileOptions{}, ReadOptions{Tail: -1, Follow: true, Stopped: stopped})
	if err != nil {
		t.Fatal(err)
	}
	f, err := OpenJSONFile(path, JSONFileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, f, 0, 2)
	if m := <-ch; string(m.Line) != "line 0\n" {
		t.Fatalf("got %q", m.Line)
	}
	f.Close()
	close(stopped)
	if got := lines(collect(t, ch, time.Second)); !slices.Equal(got, seq(1, 2)) {
		t.Errorf("got %q", got)
	}
}

// TestFollowRotation follows a log that rotates every few lines while the
// writer stays at most lag lines ahead of the reader, so no line can be
// rotated away before it is read; every line must arrive once, in order.
func TestFollowRotation(t *testing.T) {
	for _, maxFiles := range []int{1, 2, 3} {
		t.Run(fmt.Sprint("files", maxFiles), func(t *testing.T) {
			opts := JSONFileOptions{MaxSize: 1024, MaxFiles: maxFiles} // 14 lines per file
			f, path := openTest(t, opts)
			writeN(t, f, 0, 5)
			stopped := make(chan struct{})
			ch, err := Read(context.Background(), path, opts, ReadOptions{Tail: -1, Follow: true, Stopped: stopped})
			if err != nil {
				t.Fatal(err)
			}
			const n, lag = 300, 8
			received := make(chan int, n)
			go func() {
				defer close(stopped)
				defer f.Close()
				for i := 5; i < n; i++ {
					if i >= lag {
						<-received // line i-lag has been read
					}
					writeN(t, f, i, i+1)
				}
			}()
			var got []string
			timeout := time.After(5 * time.Second)
			for done := false; !done; {
				select {
				case m, ok := <-ch:
					if !ok {
						done = true
						break
					}
					got = append(got, string(m.Line))
					received <- len(got)
				case <-timeout:
					t.Fatalf("timed out after %d lines", len(got))
				}
			}
			if !slices.Equal(got, seq(0, n)) {
				t.Errorf("got %d lines, want %d; first difference at %d", len(got), n, firstDiff(got, seq(0, n)))
			}
		})
	}
}

// TestFollowFastWriter follows a writer that does not wait for the reader;
// with enough rotated files kept, nothing may be lost or repeated.
func TestFollowFastWriter(t *testing.T) {
	opts := JSONFileOptions{MaxSize: 4096, MaxFiles: 100}
	f, path := openTest(t, opts)
	stopped := make(chan struct{})
	ch, err := Read(context.Background(), path, opts, ReadOptions{Tail: -1, Follow: true, Stopped: stopped})
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	go func() {
		writeN(t, f, 0, n)
		f.Close()
		close(stopped)
	}()
	got := lines(collect(t, ch, 5*time.Second))
	if !slices.Equal(got, seq(0, n)) {
		t.Errorf("got %d lines, want %d; first difference at %d", len(got), n, firstDiff(got, seq(0, n)))
	}
	if _, err := os.Stat(path + ".20"); err != nil {
		t.Errorf("expected at least 20 rotations: %v", err)
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestFollowExternalWriter follows a log written and rotated by someone
// else (another process): no in-process notification, only polling.
func TestFollowExternalWriter(t *testing.T) {
	path := t.TempDir() + "/ext.log"
	appendRaw := func(from, to int) {
		t.Helper()
		raw, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		for i := from; i < to; i++ {
			fmt.Fprintf(raw, `{"log":"line %d\n","stream":"stdout","time":"2026-11-25T10:00:00Z"}`+"\n", i)
		}
	}
	appendRaw(0, 2)
	opts := JSONFileOptions{MaxSize: 1 << 20, MaxFiles: 2}
	stopped := make(chan struct{})
	ch, err := Read(context.Background(), path, opts, ReadOptions{Tail: -1, Follow: true, Stopped: stopped})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range seq(0, 2) {
		if m := <-ch; string(m.Line) != want {
			t.Fatalf("got %q, want %q", m.Line, want)
		}
	}
	appendRaw(2, 4)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendRaw(4, 6)
	for _, want := range seq(2, 6) { // found by polling
		select {
		case m := <-ch:
			if string(m.Line) != want {
				t.Fatalf("got %q, want %q", m.Line, want)
			}
		case <-time.After(time.Second):
			t.Fatalf("no %q after 1s", want)
		}
	}
	close(stopped)
	if got := collect(t, ch, time.Second); len(got) != 0 {
		t.Errorf("got %d more messages", len(got))
	}
}
