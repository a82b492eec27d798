package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"

	"github.com/roostd/roost/engine/logs"
)

// The fakes hold a map of objects and an err that, when set, every method
// returns. got records the options of the last call, for the tests that
// check how a query was decoded.

type fakeSystem struct {
	err error
}

func (f *fakeSystem) Info(context.Context) (*system.Info, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &system.Info{Name: "roost-test", Containers: 2}, nil
}

func (f *fakeSystem) Version(context.Context) (*system.VersionResponse, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &system.VersionResponse{Version: "0.1.0", APIVersion: MaxAPIVersion, MinAPIVersion: MinAPIVersion}, nil
}

type fakeContainers struct {
	byRef  map[string]*container.InspectResponse
	err    error
	got    any
	logs   []*logs.Message
	tty    bool
	attach *fakeAttachment
	waitC  chan container.WaitResponse
}

func newFakeContainers() *fakeContainers {
	return &fakeContainers{byRef: map[string]*container.InspectResponse{
		"web": {ID: "abc123", Name: "/web", Config: &container.Config{Image: "busybox"}},
	}}
}

func (f *fakeContainers) lookup(ref string) error {
	if f.err != nil {
		return f.err
	}
	if _, ok := f.byRef[ref]; !ok {
		return errdefs.ErrNotFound.WithMessage("No such container: " + ref)
	}
	return nil
}

func (f *fakeContainers) Create(_ context.Context, name string, req *container.CreateRequest) (*container.CreateResponse, error) {
	if f.err != nil {
		return nil, f.err
	}
	if _, ok := f.byRef[name]; ok {
		return nil, errdefs.ErrConflict.WithMessage(`Conflict. The container name "/` + name + `" is already in use`)
	}
	f.got = req
	f.byRef[name] = &container.InspectResponse{ID: "new1", Name: "/" + name, Config: req.Config}
	return &container.CreateResponse{ID: "new1"}, nil
}

func (f *fakeContainers) Start(_ context.Context, ref string) error { return f.lookup(ref) }

func (f *fakeContainers) Stop(_ context.Context, ref string, opts StopOptions) error {
	f.got = opts
	return f.lookup(ref)
}

func (f *fakeContainers) Restart(_ context.Context, ref string, opts StopOptions) error {
	f.got = opts
	return f.lookup(ref)
}

func (f *fakeContainers) Kill(_ context.Context, ref, signal string) error {
	f.got = signal
	return f.lookup(ref)
}

func (f *fakeContainers) Wait(_ context.Context, ref string, c container.WaitCondition) (<-chan container.WaitResponse, error) {
	f.got = c
	if err := f.lookup(ref); err != nil {
		return nil, err
	}
	return f.waitC, nil
}

func (f *fakeContainers) Remove(_ context.Context, ref string, force, volumes bool) error {
	f.got = [2]bool{force, volumes}
	if err := f.lookup(ref); err != nil {
		return err
	}
	delete(f.byRef, ref)
	return nil
}

func (f *fakeContainers) Inspect(_ context.Context, ref string) (*container.InspectResponse, error) {
	if err := f.lookup(ref); err != nil {
		return nil, err
	}
	return f.byRef[ref], nil
}

func (f *fakeContainers) List(_ context.Context, opts ContainerListOptions) ([]container.Summary, error) {
	f.got = opts
	if f.err != nil {
		return nil, f.err
	}
	var list []container.Summary
	for _, c := range f.byRef {
		list = append(list, container.Summary{ID: c.ID, Names: []string{c.Name}})
	}
	return list, nil
}

func (f *fakeContainers) Attach(_ context.Context, ref string, opts AttachOptions) (Attachment, error) {
	f.got = opts
	if err := f.lookup(ref); err != nil {
		return nil, err
	}
	return f.attach, nil
}

func (f *fakeContainers) Resize(_ context.Context, ref string, h, w uint) error {
	f.got = [2]uint{h, w}
	return f.lookup(ref)
}

func (f *fakeContainers) Logs(_ context.Context, ref string, opts LogsOptions) (<-chan *logs.Message, bool, error) {
	f.got = opts
	if err := f.lookup(ref); err != nil {
		return nil, false, err
	}
	ch := make(chan *logs.Message, len(f.logs))
	for _, m := range f.logs {
		ch <- m
	}
	close(ch)
	return ch, f.tty, nil
}

// fakeAttachment runs a scripted session: it writes out to stdout and
// errOut to stderr, then echoes stdin (when given) until EOF and reports
// that EOF on stdout; with waitCtx it then blocks until ctx ends.
type fakeAttachment struct {
	tty     bool
	out     string
	errOut  string
	waitCtx bool
	done    chan error // receives Run's ctx.Err() when Run returns
}

func (a *fakeAttachment) TTY() bool { return a.tty }

func (a *fakeAttachment) Run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	_, _ = io.WriteString(stdout, a.out)
	if a.errOut != "" {
		_, _ = io.WriteString(stderr, a.errOut)
	}
	if stdin != nil {
		_, _ = io.Copy(stdout, stdin)
		_, _ = io.WriteString(stdout, "[stdin closed]")
	}
	if a.waitCtx {
		<-ctx.Done()
	}
	if a.done != nil {
		a.done <- ctx.Err()
	}
	return nil
}

type fakeImages struct {
	byRef  map[string]*image.InspectResponse
	err    error
	got    any
	loaded []string
}

func newFakeImages(names ...string) *fakeImages {
	f := &fakeImages{byRef: map[string]*image.InspectResponse{}}
	for _, n := range names {
		f.byRef[n] = &image.InspectResponse{ID: "sha256:" + strings.Repeat("a", 64), RepoTags: []string{n}}
	}
	return f
}

func (f *fakeImages) lookup(ref string) error {
	if f.err != nil {
		return f.err
	}
	if _, ok := f.byRef[ref]; !ok {
		return errdefs.ErrNotFound.WithMessage("No such image: " + ref)
	}
	return nil
}

func (f *fakeImages) Load(_ context.Context, r io.Reader) ([]string, error) {
	b, _ := io.ReadAll(r)
	f.got = string(b)
	if f.err != nil {
		return nil, f.err
	}
	return f.loaded, nil
}

func (f *fakeImages) Import(_ context.Context, r io.Reader, repo, tag string, changes []string, message string) (string, error) {
	b, _ := io.ReadAll(r)
	f.got = []any{string(b), repo, tag, changes, message}
	if f.err != nil {
		return "", f.err
	}
	return "sha256:" + strings.Repeat("b", 64), nil
}

func (f *fakeImages) List(_ context.Context, all bool, filters Filters) ([]image.Summary, error) {
	f.got = []any{all, filters}
	return nil, f.err
}

func (f *fakeImages) Inspect(_ context.Context, ref string) (*image.InspectResponse, error) {
	if err := f.lookup(ref); err != nil {
		return nil, err
	}
	return f.byRef[ref], nil
}

func (f *fakeImages) Remove(_ context.Context, ref string, force, prune bool) ([]image.DeleteResponse, error) {
	f.got = [2]bool{force, prune}
	if err := f.lookup(ref); err != nil {
		return nil, err
	}
	return []image.DeleteResponse{{Untagged: ref}}, nil
}

func (f *fakeImages) Tag(_ context.Context, source, repo, tag string) error {
	f.got = [3]string{source, repo, tag}
	return f.lookup(source)
}

type fakeEvents struct {
	history    []events.Message
	live       chan events.Message
	err        error
	got        [2]time.Time
	gotFilters Filters
	closed     chan struct{} // closed by cancel
}

func (f *fakeEvents) SubscribeEvents(since, until time.Time, filters Filters) ([]events.Message, <-chan events.Message, func(), error) {
	f.got, f.gotFilters = [2]time.Time{since, until}, filters
	if f.err != nil {
		return nil, nil, nil, f.err
	}
	f.closed = make(chan struct{})
	return f.history, f.live, func() { close(f.closed) }, nil
}

// fixture is a handler over fresh fakes.
type fixture struct {
	sys *fakeSystem
	ctr *fakeContainers
	img *fakeImages
	ev  *fakeEvents
	h   http.Handler
}

func newFixture() *fixture {
	f := &fixture{
		sys: &fakeSystem{},
		ctr: newFakeContainers(),
		img: newFakeImages("busybox:latest"),
		ev:  &fakeEvents{},
	}
	f.h = New(Options{System: f.sys, Containers: f.ctr, Images: f.img, Events: f.ev, ServerVersion: "0.1.0"})
	return f
}

// do serves one request; headers are name, value pairs.
func (f *fixture) do(method, target string, body string, headers ...string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

// wantStatus fails unless rec has the status and, for a non-empty msg, the
// JSON error body {"message": msg}.
func wantStatus(t *testing.T, rec *httptest.ResponseRecorder, status int, msg string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %q", rec.Code, status, rec.Body.String())
	}
	if msg == "" {
		return
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body struct{ Message string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q: %v", rec.Body.String(), err)
	}
	if body.Message != msg {
		t.Errorf("message = %q, want %q", body.Message, msg)
	}
}

// TestMain silences the handler logs; run with ROOST_TEST_LOG=1 to see them.
func TestMain(m *testing.M) {
	if os.Getenv("ROOST_TEST_LOG") == "" {
		log.L.Logger.SetOutput(io.Discard)
	}
	os.Exit(m.Run())
}
