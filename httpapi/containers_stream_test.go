package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"

	"github.com/roostd/roost/engine/logs"
)

func TestContainerWaitErrors(t *testing.T) {
	f := newFixture()
	wantStatus(t, f.do("POST", "/containers/web/wait?condition=bogus", ""), 400, `invalid condition: "bogus"`)
	wantStatus(t, f.do("POST", "/containers/nosuch/wait", ""), 404, "No such container: nosuch")
}

// TestContainerWaitStreams checks that the 200 header arrives before the
// container exits and the result after.
func TestContainerWaitStreams(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  container.WaitCondition
	}{
		{"", container.WaitConditionNotRunning},
		{"?condition=next-exit", container.WaitConditionNextExit},
		{"?condition=removed", container.WaitConditionRemoved},
	} {
		f := newFixture()
		f.ctr.waitC = make(chan container.WaitResponse, 1)
		srv := httptest.NewServer(f.h)
		resp, err := http.Post(srv.URL+"/containers/web/wait"+tc.query, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if f.ctr.got != tc.want {
			t.Errorf("condition %v, want %v", f.ctr.got, tc.want)
		}
		f.ctr.waitC <- container.WaitResponse{StatusCode: 3, Error: &container.WaitExitError{Message: "oops"}}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := strings.TrimSpace(string(body)); got != `{"Error":{"Message":"oops"},"StatusCode":3}` {
			t.Errorf("body = %s", got)
		}
		srv.Close()
	}
}

func TestContainerLogs(t *testing.T) {
	ts := time.Date(2024, 5, 6, 7, 8, 9, 120000000, time.UTC)
	lines := []*logs.Message{
		{Stream: "stdout", Line: []byte("out1\n"), Time: ts},
		{Stream: "stderr", Line: []byte("err1\n"), Time: ts},
		{Stream: "stdout", Line: []byte("out2"), Time: ts},
	}
	for _, tc := range []struct {
		name, target, contentType string
		tty                       bool
		stdout, stderr            string
	}{
		{"multiplexed", "/containers/web/logs?stdout=1&stderr=1", "application/vnd.docker.multiplexed-stream", false, "out1\nout2", "err1\n"},
		{"old API label", "/v1.41/containers/web/logs?stdout=1&stderr=1", "application/vnd.docker.raw-stream", false, "out1\nout2", "err1\n"},
		{"timestamps", "/containers/web/logs?stdout=1&stderr=1&timestamps=1", "application/vnd.docker.multiplexed-stream", false,
			"2024-05-06T07:08:09.120000000Z out1\n2024-05-06T07:08:09.120000000Z out2", "2024-05-06T07:08:09.120000000Z err1\n"},
		{"tty", "/containers/web/logs?stdout=1&stderr=1", "application/vnd.docker.raw-stream", true, "out1\nerr1\nout2", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			f.ctr.logs, f.ctr.tty = lines, tc.tty
			rec := f.do("GET", tc.target, "")
			wantStatus(t, rec, 200, "")
			if ct := rec.Header().Get("Content-Type"); ct != tc.contentType {
				t.Errorf("Content-Type = %q", ct)
			}
			var stdout, stderr bytes.Buffer
			if tc.tty {
				stdout.Write(rec.Body.Bytes())
			} else if _, err := stdcopy.StdCopy(&stdout, &stderr, rec.Body); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != tc.stdout || stderr.String() != tc.stderr {
				t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
			}
		})
	}
}

func TestContainerLogsOptions(t *testing.T) {
	f := newFixture()
	wantStatus(t, f.do("GET", "/containers/web/logs?stdout=1&follow=1&tail=10&since=1700000000.5&until=1700000100", ""), 200, "")
	want := LogsOptions{Stdout: true, Follow: true, Tail: 10, Since: time.Unix(1700000000, 500000000).UTC(), Until: time.Unix(1700000100, 0).UTC()}
	if !reflect.DeepEqual(f.ctr.got, want) {
		t.Errorf("options = %+v", f.ctr.got)
	}
	for _, tail := range []string{"all", "", "-1", "lots"} {
		f.do("GET", "/containers/web/logs?stderr=1&since=0&tail="+tail, "")
		if got := f.ctr.got.(LogsOptions); got.Tail != -1 || !got.Since.IsZero() {
			t.Errorf("tail=%s: %+v", tail, got)
		}
	}

	wantStatus(t, f.do("GET", "/containers/web/logs", ""), 400, "must specify at least one of 'stdout' or 'stderr'")
	wantStatus(t, f.do("GET", "/containers/web/logs?stdout=0&stderr=false", ""), 400, "must specify at least one of 'stdout' or 'stderr'")
	wantStatus(t, f.do("GET", "/containers/web/logs?stdout=1&since=yesterday", ""), 400, `invalid value for "since": invalid timestamp "yesterday": invalid seconds`)
	wantStatus(t, f.do("GET", "/containers/nosuch/logs?stdout=1", ""), 404, "No such container: nosuch")
}

func TestMuxWriterFrames(t *testing.T) {
	var buf bytes.Buffer
	stdout, stderr := newMuxWriters(&buf)
	_, _ = stdout.Write([]byte("hi"))
	_, _ = stderr.Write(nil) // no frame
	_, _ = stderr.Write([]byte("oops"))
	want := []byte{1, 0, 0, 0, 0, 0, 0, 2, 'h', 'i', 2, 0, 0, 0, 0, 0, 0, 4, 'o', 'o', 'p', 's'}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("frames = %v", buf.Bytes())
	}
}

func TestContainerLogsFollowStopsWithClient(t *testing.T) {
	f := newFixture()
	lines := make(chan *logs.Message)
	f.ctr.logs = nil
	stream := &followContainers{fakeContainers: f.ctr, lines: lines, ctxDone: make(chan struct{})}
	h := New(Options{Containers: stream})
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/containers/web/logs?stdout=1&follow=1")
	if err != nil {
		t.Fatal(err)
	}
	// The header comes before any log line.
	lines <- &logs.Message{Stream: "stdout", Line: []byte("live\n")}
	var out bytes.Buffer
	hdr := make([]byte, 8+5)
	if _, err := io.ReadFull(resp.Body, hdr); err != nil {
		t.Fatal(err)
	}
	_, _ = stdcopy.StdCopy(&out, io.Discard, bytes.NewReader(hdr))
	if out.String() != "live\n" {
		t.Errorf("got %q", out.String())
	}
	resp.Body.Close()
	select {
	case <-stream.ctxDone:
	case <-time.After(5 * time.Second):
		t.Fatal("handler did not stop when the client left")
	}
}

// followContainers serves a live log channel and reports when the
// request context ends.
type followContainers struct {
	*fakeContainers
	lines   chan *logs.Message
	ctxDone chan struct{}
}

func (f *followContainers) Logs(ctx context.Context, ref string, opts LogsOptions) (<-chan *logs.Message, bool, error) {
	go func() { <-ctx.Done(); close(f.ctxDone) }()
	return f.lines, false, nil
}
