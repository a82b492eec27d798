package buildproc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

// fakeBuild serves h on cfg's socket as a running roost-build would, and
// marks the process started so that nothing is executed.
func fakeBuild(t *testing.T, p *Process, h http.Handler) {
	t.Helper()
	if err := os.MkdirAll(p.cfg.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", p.cfg.Socket())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", func(w http.ResponseWriter, _ *http.Request) {})
	mux.Handle("/", h)
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	p.stop = func() {}
}

func testConfig(t *testing.T) Config {
	dir := t.TempDir()
	return Config{Dir: filepath.Join(dir, "build"), BuildKitRoot: filepath.Join(dir, "buildkit")}
}

// TestUpgradePassesBytes: a hijacked /session or /grpc reaches roost-build
// with the client's headers, and the bytes flow both ways after the 101,
// including those the client sent right behind its request.
func TestUpgradePassesBytes(t *testing.T) {
	p := New(testConfig(t))
	fakeBuild(t, p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Docker-Expose-Session-Uuid") != "abc" || r.Header.Get("Upgrade") != "h2c" {
			http.Error(w, "headers lost", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
		// Echo, upper-cased, line by line.
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			_, _ = io.WriteString(conn, strings.ToUpper(line))
		}
	}))
	front := httptest.NewServer(p)
	defer front.Close()
	conn, err := net.Dial("tcp", front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /v1.51/session HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nX-Docker-Expose-Session-Uuid: abc\r\n\r\nearly\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "h2c" {
		t.Fatalf("answer %s %v, want 101 with Upgrade: h2c", resp.Status, resp.Header)
	}
	_, _ = io.WriteString(conn, "later\n")
	for _, want := range []string{"EARLY\n", "LATER\n"} {
		got, err := br.ReadString('\n')
		if err != nil || got != want {
			t.Fatalf("read %q (%v), want %q", got, err, want)
		}
	}
}

// TestUpgradeRefused: an upgrade roost-build answers with an error comes
// back as that error.
func TestUpgradeRefused(t *testing.T) {
	p := New(testConfig(t))
	fakeBuild(t, p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotImplemented)
		_, _ = io.WriteString(w, `{"message":"nope"}`)
	}))
	req, _ := http.NewRequest(http.MethodPost, "/grpc", nil)
	req.Header.Set("Upgrade", "h2c")
	req.Header.Set("Connection", "Upgrade")
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotImplemented || rec.Body.String() != `{"message":"nope"}` {
		t.Errorf("got %d %q", rec.Code, rec.Body)
	}
}

// TestNothingStartedWithoutCache: with no build cache and no roost-build
// running, prune and cancel are answered locally and disk usage is empty;
// a build needs roost-build, and says so when it cannot start.
func TestNothingStartedWithoutCache(t *testing.T) {
	cfg := testConfig(t)
	cfg.Binary = filepath.Join(t.TempDir(), "no-roost-build")
	var local []string
	cfg.Local = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { local = append(local, r.URL.Path) })
	p := New(cfg)
	for _, path := range []string{"/v1.51/build/prune", "/v1.51/build/cancel"} {
		p.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, path, nil))
	}
	if len(local) != 2 {
		t.Errorf("answered locally: %q", local)
	}
	du, err := p.DiskUsage(context.Background())
	if err != nil || du == nil || len(du) != 0 {
		t.Errorf("disk usage %v, %v; want an empty list", du, err)
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1.51/build", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "no-roost-build") {
		t.Errorf("build without roost-build: %d %s", rec.Code, rec.Body)
	}
	if p.Running() {
		t.Error("a failed start left the process marked running")
	}

	// Once a cache exists, prune goes to roost-build.
	if err := os.MkdirAll(cfg.BuildKitRoot, 0o700); err != nil {
		t.Fatal(err)
	}
	local = nil
	p.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1.51/build/prune", nil))
	if len(local) != 0 {
		t.Error("prune with a cache was answered without roost-build")
	}
}

type fakeTagger struct{ err error }

func (f *fakeTagger) Tag(_ context.Context, source, repo, tag string) error {
	if f.err != nil {
		return f.err
	}
	if source != "sha256:1" || repo != "a/b" || tag != "v1" {
		return errors.New("wrong arguments")
	}
	return nil
}

// TestTagAPI: roost-build's tags reach the image service, and its errors
// come back with their class and message.
func TestTagAPI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roostd.sock")
	tagger := &fakeTagger{}
	stop, err := serveTagger(path, tagger)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("internal socket: %v %v, want mode 0600", fi, err)
	}
	c := NewTagClient(path)
	if err := c.Tag(context.Background(), "sha256:1", "a/b", "v1"); err != nil {
		t.Fatal(err)
	}
	tagger.err = errdefs.ErrNotFound.WithMessage("No such image: sha256:1")
	err = c.Tag(context.Background(), "sha256:1", "a/b", "v1")
	if !errdefs.IsNotFound(err) || err.Error() != "No such image: sha256:1" {
		t.Errorf("error %v (%T), want NotFound with the message", err, err)
	}
}
