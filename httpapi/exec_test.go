package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// fakeExec holds execs by ID; the container "web" runs, "stopped" does not.
type fakeExec struct {
	execs   map[string]*container.ExecInspectResponse
	created *container.ExecCreateRequest
	started ExecStartOptions
	resized [2]uint
	session *fakeExecSession
}

func newFakeExec() *fakeExec {
	return &fakeExec{
		execs:   map[string]*container.ExecInspectResponse{"e1": {ID: "e1", ContainerID: "abc123"}},
		session: &fakeExecSession{out: "out", errOut: "err"},
	}
}

func (f *fakeExec) ExecCreate(_ context.Context, ref string, req *container.ExecCreateRequest) (string, error) {
	switch ref {
	case "web":
	case "stopped":
		return "", errdefs.ErrConflict.WithMessage("container stopped1 is not running")
	default:
		return "", errdefs.ErrNotFound.WithMessage("No such container: " + ref)
	}
	f.created = req
	f.execs["e2"] = &container.ExecInspectResponse{ID: "e2", ContainerID: "abc123"}
	return "e2", nil
}

func (f *fakeExec) lookup(id string) error {
	if _, ok := f.execs[id]; !ok {
		return errdefs.ErrNotFound.WithMessage("No such exec instance: " + id)
	}
	return nil
}

func (f *fakeExec) ExecStart(_ context.Context, id string, opts ExecStartOptions) (ExecSession, error) {
	f.started = opts
	if err := f.lookup(id); err != nil {
		return nil, err
	}
	return f.session, nil
}

func (f *fakeExec) ExecResize(_ context.Context, id string, h, w uint) error {
	f.resized = [2]uint{h, w}
	return f.lookup(id)
}

func (f *fakeExec) ExecInspect(_ context.Context, id string) (*container.ExecInspectResponse, error) {
	if err := f.lookup(id); err != nil {
		return nil, err
	}
	return f.execs[id], nil
}

// fakeExecSession writes out and errOut, echoes stdin until EOF, or
// fails to start with startErr.
type fakeExecSession struct {
	out, errOut string
	startErr    error
	gotStdin    bool
	ran         bool
}

func (s *fakeExecSession) Run(_ context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	s.ran = true
	s.gotStdin = stdin != nil
	if s.startErr != nil {
		return s.startErr
	}
	if stdout == nil {
		return nil // detached
	}
	_, _ = io.WriteString(stdout, s.out)
	_, _ = io.WriteString(stderr, s.errOut)
	if stdin != nil {
		_, _ = io.Copy(stdout, stdin)
	}
	return nil
}

func newExecFixture() (*fixture, *fakeExec) {
	f := newFixture()
	ex := newFakeExec()
	f.h = New(Options{System: f.sys, Containers: f.ctr, Images: f.img, Events: f.ev, Exec: ex, ServerVersion: "0.1.0"})
	return f, ex
}

func TestExecCreate(t *testing.T) {
	f, ex := newExecFixture()
	rec := f.do("POST", "/v1.56/containers/web/exec", `{"Cmd":["sh","-c","echo hi"],"Tty":true,"ConsoleSize":[24,80],"Env":["A=1"]}`, "Content-Type", "application/json")
	wantStatus(t, rec, http.StatusCreated, "")
	var resp container.ExecCreateResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.ID != "e2" {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	if got := ex.created; got == nil || got.Cmd[2] != "echo hi" || !got.Tty || got.ConsoleSize == nil || got.Env[0] != "A=1" {
		t.Errorf("request %+v", got)
	}

	// Before 1.42 the console size is ignored, as by dockerd.
	f.do("POST", "/v1.41/containers/web/exec", `{"Cmd":["true"],"Tty":true,"ConsoleSize":[24,80]}`, "Content-Type", "application/json")
	if ex.created.ConsoleSize != nil {
		t.Errorf("v1.41 kept ConsoleSize %v", ex.created.ConsoleSize)
	}
}

func TestExecErrors(t *testing.T) {
	f, _ := newExecFixture()
	for _, tc := range []struct {
		method, target, body string
		status               int
		msg                  string
	}{
		{"POST", "/containers/web/exec", `{"Cmd":[]}`, 400, "No exec command specified"},
		{"POST", "/containers/web/exec", ``, 400, "No exec command specified"},
		{"POST", "/containers/web/exec", `{"Cmd":`, 400, ""},
		{"POST", "/containers/nosuch/exec", `{"Cmd":["true"]}`, 404, "No such container: nosuch"},
		{"POST", "/containers/stopped/exec", `{"Cmd":["true"]}`, 409, "container stopped1 is not running"},
		{"POST", "/exec/nosuch/start", `{}`, 404, "No such exec instance: nosuch"},
		{"POST", "/exec/nosuch/resize?h=1&w=2", ``, 404, "No such exec instance: nosuch"},
		{"POST", "/exec/e1/resize?h=x&w=2", ``, 400, `invalid resize height "x": invalid syntax`},
		{"GET", "/exec/nosuch/json", ``, 404, "No such exec instance: nosuch"},
		{"GET", "/exec/e1/start", ``, 404, "page not found"},
	} {
		var headers []string
		if tc.body != "" {
			headers = []string{"Content-Type", "application/json"}
		}
		rec := f.do(tc.method, tc.target, tc.body, headers...)
		if rec.Code != tc.status {
			t.Errorf("%s %s: status %d, want %d; body %q", tc.method, tc.target, rec.Code, tc.status, rec.Body.String())
			continue
		}
		if tc.msg != "" {
			wantStatus(t, rec, tc.status, tc.msg)
		}
	}
}

func TestExecInspectAndResize(t *testing.T) {
	f, ex := newExecFixture()
	code := 3
	ex.execs["e1"].ExitCode = &code
	rec := f.do("GET", "/exec/e1/json", "")
	wantStatus(t, rec, 200, "")
	var got container.ExecInspectResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.ExitCode == nil || *got.ExitCode != 3 || got.ContainerID != "abc123" {
		t.Fatalf("inspect %q: %v", rec.Body.String(), err)
	}
	wantStatus(t, f.do("POST", "/exec/e1/resize?h=24&w=80", ""), 200, "")
	if ex.resized != [2]uint{24, 80} {
		t.Errorf("resized %v", ex.resized)
	}
}

// TestExecStartDetach answers 200 with no stream once the process runs.
func TestExecStartDetach(t *testing.T) {
	f, ex := newExecFixture()
	rec := f.do("POST", "/exec/e1/start", `{"Detach":true,"Tty":false}`, "Content-Type", "application/json")
	wantStatus(t, rec, 200, "")
	if rec.Body.Len() != 0 || !ex.session.ran || ex.session.gotStdin || !ex.started.Detach {
		t.Errorf("body %q, session %+v, options %+v", rec.Body.String(), ex.session, ex.started)
	}

	// A start failure of a detached exec is an ordinary error answer.
	ex.session = &fakeExecSession{startErr: errdefs.ErrInvalidArgument.WithMessage(`exec: "nosuch": executable file not found in $PATH`)}
	wantStatus(t, f.do("POST", "/exec/e1/start", `{"Detach":true}`, "Content-Type", "application/json"), 400, `exec: "nosuch": executable file not found in $PATH`)
}

// execStartRaw sends an exec start (plus bytes right behind it) and
// returns the response head and a reader for the stream after it.
func execStartRaw(t *testing.T, conn net.Conn, body string, upgrade bool, extra string) (*http.Response, io.Reader) {
	t.Helper()
	req := "POST /v1.56/exec/e1/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
	if upgrade {
		req += "Connection: Upgrade\r\nUpgrade: tcp\r\n"
	}
	req += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body + extra
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp, br
}

// TestExecStartUpgrade is the CLI's `docker exec -i`: 101, multiplexed
// output, stdin sent right behind the request and after the answer.
func TestExecStartUpgrade(t *testing.T) {
	f, ex := newExecFixture()
	conn, err := net.Dial("unix", serveUnix(t, f.h))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, br := execStartRaw(t, conn, `{"Tty":false}`, true, "in1 ")
	if resp.StatusCode != 101 || resp.Header.Get("Content-Type") != "application/vnd.docker.multiplexed-stream" ||
		resp.Header.Get("Upgrade") != "tcp" || resp.Header.Get("Api-Version") != MaxAPIVersion {
		t.Fatalf("response %d %v", resp.StatusCode, resp.Header)
	}
	_, _ = io.WriteString(conn, "in2")
	_ = conn.(*net.UnixConn).CloseWrite()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, br); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "outin1 in2" || stderr.String() != "err" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	if ex.started.Detach || !ex.session.gotStdin {
		t.Errorf("options %+v, session %+v", ex.started, ex.session)
	}
}

// TestExecStartOldHijack is a client that does not upgrade: a 200 raw
// stream; with Tty the output is not framed.
func TestExecStartOldHijack(t *testing.T) {
	f, ex := newExecFixture()
	conn, err := net.Dial("unix", serveUnix(t, f.h))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, br := execStartRaw(t, conn, `{"Tty":true,"ConsoleSize":[24,80]}`, false, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.docker.raw-stream" {
		t.Fatalf("response %d %v", resp.StatusCode, resp.Header)
	}
	_ = conn.(*net.UnixConn).CloseWrite()
	out, _ := io.ReadAll(br)
	if string(out) != "outerr" {
		t.Errorf("output %q", out)
	}
	if ex.started.ConsoleSize == nil || *ex.started.ConsoleSize != [2]uint{24, 80} {
		t.Errorf("console size %v", ex.started.ConsoleSize)
	}
}

// TestExecStartFailureInStream: after the hijack, a start failure is
// written into the stream (stdout), as dockerd does; the CLI prints it.
func TestExecStartFailureInStream(t *testing.T) {
	f, ex := newExecFixture()
	ex.session = &fakeExecSession{startErr: errdefs.ErrInvalidArgument.WithMessage(`OCI runtime exec failed: exec: "nosuch": executable file not found in $PATH`)}
	cli, err := client.New(client.WithHost("unix://" + serveUnix(t, f.h)))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	res, err := cli.ExecAttach(context.Background(), "e1", client.ExecAttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	var stdout strings.Builder
	if _, err := stdcopy.StdCopy(&stdout, io.Discard, res.Reader); err != nil {
		t.Fatal(err)
	}
	if want := "OCI runtime exec failed: exec: \"nosuch\": executable file not found in $PATH\r\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
}
