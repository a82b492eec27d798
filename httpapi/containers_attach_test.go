package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// serveUnix serves h on a unix socket, like roostd, and returns its path.
func serveUnix(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sock
}

// attachRaw sends an attach request (plus extra bytes right behind it) and
// returns the response head and a reader for the stream after it.
func attachRaw(t *testing.T, conn net.Conn, query string, upgrade bool, extra string) (*http.Response, *bufio.Reader) {
	t.Helper()
	req := "POST /v1.56/containers/web/attach?" + query + " HTTP/1.1\r\nHost: docker\r\n"
	if upgrade {
		req += "Connection: Upgrade\r\nUpgrade: tcp\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"+extra); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp, br
}

func waitDone(t *testing.T, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// TestAttachStdinHalfClose is `docker run -i` without a TTY: stdin sent
// right behind the request, the CLI half-closing when its stdin ends, and
// output that keeps flowing after that.
func TestAttachStdinHalfClose(t *testing.T) {
	f := newFixture()
	f.ctr.attach = &fakeAttachment{out: "OUT ", errOut: "ERR", done: make(chan error, 1)}
	conn, err := net.Dial("unix", serveUnix(t, f.h))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, br := attachRaw(t, conn, "stream=1&stdin=1&stdout=1&stderr=1", true, "hel")
	if resp.StatusCode != 101 || resp.Header.Get("Content-Type") != "application/vnd.docker.multiplexed-stream" ||
		resp.Header.Get("Upgrade") != "tcp" {
		t.Fatalf("response %d %v", resp.StatusCode, resp.Header)
	}
	_, _ = io.WriteString(conn, "lo")
	_ = conn.(*net.UnixConn).CloseWrite()

	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, br); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "OUT hello[stdin closed]" || stderr.String() != "ERR" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	if err := waitDone(t, f.ctr.attach.done); err != nil {
		t.Errorf("half-close cancelled the session: %v", err)
	}
	if got := f.ctr.got.(AttachOptions); !got.Stream || !got.Stdin || !got.Stdout || !got.Stderr || got.Logs {
		t.Errorf("options %+v", got)
	}
}

// TestAttachHangup checks that a client going away ends Run's context.
func TestAttachHangup(t *testing.T) {
	f := newFixture()
	f.ctr.attach = &fakeAttachment{out: "ready", waitCtx: true, done: make(chan error, 1)}
	conn, err := net.Dial("unix", serveUnix(t, f.h))
	if err != nil {
		t.Fatal(err)
	}
	_, br := attachRaw(t, conn, "stream=1&stdout=1", true, "")
	frame := make([]byte, 8+len("ready"))
	if _, err := io.ReadFull(br, frame); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := waitDone(t, f.ctr.attach.done); err != context.Canceled {
		t.Errorf("Run's ctx error = %v, want context.Canceled", err)
	}
}

// TestAttachTTYOverTCP checks raw output for a TTY, over TCP.
func TestAttachTTYOverTCP(t *testing.T) {
	f := newFixture()
	f.ctr.attach = &fakeAttachment{tty: true, out: "$ prompt"}
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, br := attachRaw(t, conn, "stream=1&stdout=1", true, "")
	if resp.StatusCode != 101 || resp.Header.Get("Content-Type") != "application/vnd.docker.raw-stream" {
		t.Fatalf("response %d %v", resp.StatusCode, resp.Header)
	}
	out, _ := io.ReadAll(br)
	if string(out) != "$ prompt" {
		t.Errorf("output %q", out)
	}
}

// TestAttachWithoutUpgrade is the old protocol: a plain 200 labelled raw.
func TestAttachWithoutUpgrade(t *testing.T) {
	f := newFixture()
	f.ctr.attach = &fakeAttachment{out: "x"}
	conn, err := net.Dial("unix", serveUnix(t, f.h))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, br := attachRaw(t, conn, "stdout=1", false, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.docker.raw-stream" {
		t.Fatalf("response %d %v", resp.StatusCode, resp.Header)
	}
	var stdout bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, io.Discard, br); err != nil || stdout.String() != "x" {
		t.Errorf("stdout %q, %v", stdout.String(), err)
	}
}

func TestAttachErrorIsJSON(t *testing.T) {
	f := newFixture()
	wantStatus(t, f.do("POST", "/containers/nosuch/attach?stream=1&stdout=1", ""), 404, "No such container: nosuch")
}

// TestAttachWithMobyClient attaches with the Go client the CLI uses.
func TestAttachWithMobyClient(t *testing.T) {
	f := newFixture()
	f.ctr.attach = &fakeAttachment{out: "from container\n"}
	cli, err := client.New(client.WithHost("unix://" + serveUnix(t, f.h)))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	res, err := cli.ContainerAttach(ctx, "web", client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if mt, _ := res.MediaType(); mt != "application/vnd.docker.multiplexed-stream" {
		t.Errorf("media type %q", mt)
	}
	_, _ = io.WriteString(res.Conn, "typed\n")
	_ = res.CloseWrite()
	var stdout strings.Builder
	if _, err := stdcopy.StdCopy(&stdout, io.Discard, res.Reader); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "from container\ntyped\n[stdin closed]" {
		t.Errorf("stdout %q", stdout.String())
	}
}
