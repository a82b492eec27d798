package httpapi

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The registry operations of the fake: f.loaded are the statuses a pull or
// push reports (a "Downloading …" status gets a progress detail of 1 of 2
// MB), or the bytes Save writes; f.err is what they return after that.

func (f *fakeImages) Pull(_ context.Context, ref string, opts PullOptions) error {
	f.got = []any{ref, opts.Platform, opts.Auth}
	f.report(opts.Progress)
	return f.err
}

func (f *fakeImages) Push(_ context.Context, name, tag string, opts PushOptions) error {
	f.got = []any{name, tag, opts.Auth}
	f.report(opts.Progress)
	return f.err
}

func (f *fakeImages) report(progress func(jsonstream.Message)) {
	for _, s := range f.loaded {
		m := jsonstream.Message{Status: s}
		if strings.HasPrefix(s, "Downloading") {
			m = jsonstream.Message{ID: "0123456789ab", Status: "Downloading", Progress: &jsonstream.Progress{Current: 1_000_000, Total: 2_000_000}}
		}
		progress(m)
	}
}

func (f *fakeImages) Save(_ context.Context, refs []string, w io.Writer) error {
	f.got = refs
	for _, ref := range refs {
		if _, ok := f.byRef[ref]; !ok {
			return errdefs.ErrNotFound.WithMessage("No such image: " + ref)
		}
	}
	if _, err := io.WriteString(w, strings.Join(f.loaded, "")); err != nil {
		return err
	}
	return f.err
}

func (f *fakeImages) History(_ context.Context, ref string) ([]image.HistoryResponseItem, error) {
	if err := f.lookup(ref); err != nil {
		return nil, err
	}
	return []image.HistoryResponseItem{{ID: "sha256:" + strings.Repeat("a", 64), Tags: []string{ref}, CreatedBy: "/bin/sh"}}, nil
}

// readStream decodes a JSON progress stream.
func readStream(t *testing.T, body string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("stream line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestPullReference(t *testing.T) {
	for _, tc := range []struct {
		image, tag, want string
		status           int
	}{
		{"busybox", "latest", "docker.io/library/busybox:latest", 0},
		{"127.0.0.1:5000/me/bb", "1", "127.0.0.1:5000/me/bb:1", 0},
		{"127.0.0.1:5000/me/bb:1", "", "127.0.0.1:5000/me/bb:1", 0},
		{"127.0.0.1:5000/me/bb", "sha256:" + strings.Repeat("a", 64), "127.0.0.1:5000/me/bb@sha256:" + strings.Repeat("a", 64), 0},
		{"me/UPPER", "latest", "", 400},
		{"UPPER", "latest", "", 400},
		{"busybox", "bad tag", "", 400},
		{"busybox", "", "docker.io/library/busybox", 0},
	} {
		got, err := pullReference(tc.image, tc.tag)
		if tc.status != 0 {
			if err == nil || statusFromError(err) != tc.status {
				t.Errorf("%s %s: %q, %v; want status %d", tc.image, tc.tag, got, err, tc.status)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %s: %q, %v; want %q", tc.image, tc.tag, got, err, tc.want)
		}
	}
}

func TestImagePullStream(t *testing.T) {
	f := newFixture()
	f.img.loaded = []string{"Pulling from me/bb", "Downloading", "Digest: sha256:x"}
	auth := base64.URLEncoding.EncodeToString([]byte(`{"username":"alice","password":"secret"}`))
	rec := f.do("POST", "/v1.56/images/create?fromImage=127.0.0.1:5000/me/bb&tag=1&platform=linux/amd64", "", registry.AuthHeader, auth)
	wantStatus(t, rec, 200, "")
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	lines := readStream(t, rec.Body.String())
	if len(lines) != 3 || lines[0]["status"] != "Pulling from me/bb" || lines[2]["status"] != "Digest: sha256:x" {
		t.Fatalf("stream = %v", lines)
	}
	if bar := lines[1]["progress"]; bar != "[=========================>                         ]      1MB/2MB" {
		t.Errorf("progress = %q", bar)
	}
	if _, ok := lines[0]["progress"]; ok {
		t.Errorf("a message without detail has a progress bar: %v", lines[0])
	}
	got := f.img.got.([]any)
	if got[0] != "127.0.0.1:5000/me/bb:1" {
		t.Errorf("ref = %v", got[0])
	}
	if a, ok := got[2].(*registry.AuthConfig); !ok || a.Username != "alice" || a.Password != "secret" {
		t.Errorf("auth = %#v", got[2])
	}
	if p, ok := got[1].(*ocispec.Platform); !ok || p.OS != "linux" || p.Architecture != "amd64" {
		t.Errorf("platform = %#v", got[1])
	}
}

func TestImagePullErrors(t *testing.T) {
	f := newFixture()
	wantStatus(t, f.do("POST", "/images/create?fromImage=me/UPPER&tag=latest", ""), 400,
		"invalid reference format: repository name (me/UPPER) must be lowercase")
	wantStatus(t, f.do("POST", "/images/create?fromImage=busybox&tag=latest&platform=nosuch/os/x/y", ""), 400, "")

	// Nothing sent yet: an ordinary error with its status, as dockerd's
	// "manifest unknown" is a 404.
	f.img.err = errdefs.ErrNotFound.WithMessage("manifest for 127.0.0.1:5000/me/bb:2 not found: manifest unknown: manifest unknown")
	wantStatus(t, f.do("POST", "/images/create?fromImage=127.0.0.1:5000/me/bb&tag=2", ""), 404, f.img.err.Error())

	// After the first line, the error is the last line of the stream.
	f.img.loaded = []string{"Pulling from me/bb"}
	f.img.err = errdefs.ErrUnknown.WithMessage("unexpected EOF")
	rec := f.do("POST", "/images/create?fromImage=127.0.0.1:5000/me/bb&tag=2", "")
	wantStatus(t, rec, 200, "")
	lines := readStream(t, rec.Body.String())
	last := lines[len(lines)-1]
	if last["error"] != "unexpected EOF" || last["errorDetail"].(map[string]any)["message"] != "unexpected EOF" {
		t.Errorf("last line = %v", last)
	}

	// A header that does not decode is ignored by pull, as by dockerd.
	f.img.err, f.img.loaded = nil, nil
	wantStatus(t, f.do("POST", "/images/create?fromImage=busybox&tag=1", "", registry.AuthHeader, "!!!"), 200, "")
	if got := f.img.got.([]any); got[2].(*registry.AuthConfig) != nil {
		t.Errorf("auth = %#v", got[2])
	}
}

func TestImagePush(t *testing.T) {
	for _, name := range []string{"127.0.0.1:5000/me/bb", "localhost:5000/a/b/c", "busybox"} {
		f := newFixture()
		f.img.loaded = []string{"The push refers to repository [x]", "1: digest: sha256:x size: 1"}
		// The CLI pads its base64; other clients may not.
		auth := base64.RawURLEncoding.EncodeToString([]byte(`{"identitytoken":"tok"}`))
		rec := f.do("POST", "/images/"+name+"/push?tag=1", "", registry.AuthHeader, auth)
		wantStatus(t, rec, 200, "")
		got := f.img.got.([]any)
		if got[0] != name || got[1] != "1" || got[2].(*registry.AuthConfig).IdentityToken != "tok" {
			t.Errorf("%s: got %v", name, got)
		}
		if lines := readStream(t, rec.Body.String()); len(lines) != 2 {
			t.Errorf("%s: stream %v", name, lines)
		}
	}
	f := newFixture()
	wantStatus(t, f.do("POST", "/images/me/bb/push?tag=1", "", registry.AuthHeader, "e30"), 200, "")
	wantStatus(t, f.do("POST", "/images/me/bb/push?tag=1", "", registry.AuthHeader, "!!!"), 400, "")
	wantStatus(t, f.do("POST", "/images/me/bb/push?tag=1", "", registry.AuthHeader, "bm90IGpzb24"), 400, "")
}

func TestImageSave(t *testing.T) {
	f := newFixture()
	f.img = newFakeImages("busybox:latest", "127.0.0.1:5000/me/bb:1")
	f.h = New(Options{Images: f.img})
	f.img.loaded = []string{"tar", "bytes"}
	for _, target := range []string{"/images/get?names=busybox:latest&names=127.0.0.1:5000/me/bb:1", "/images/127.0.0.1:5000/me/bb:1/get"} {
		rec := f.do("GET", target, "")
		wantStatus(t, rec, 200, "")
		if ct := rec.Header().Get("Content-Type"); ct != "application/x-tar" || rec.Body.String() != "tarbytes" {
			t.Errorf("%s: %q %q", target, ct, rec.Body)
		}
	}
	if got := f.img.got.([]string); len(got) != 1 || got[0] != "127.0.0.1:5000/me/bb:1" {
		t.Errorf("names = %q", got)
	}
	wantStatus(t, f.do("GET", "/images/get?names=busybox:latest&names=nosuch", ""), 404, "No such image: nosuch")

	// A failure once the archive started aborts the connection.
	f.img.err = errdefs.ErrUnknown.WithMessage("disk on fire")
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("panic = %v, want http.ErrAbortHandler", p)
		}
	}()
	f.do("GET", "/images/busybox:latest/get", "")
	t.Error("the response was not aborted")
}

func TestImageHistory(t *testing.T) {
	f := newFixture()
	f.img = newFakeImages("localhost:5000/a/b:1")
	f.h = New(Options{Images: f.img})
	rec := f.do("GET", "/images/localhost:5000/a/b:1/history", "")
	wantStatus(t, rec, 200, "")
	var h []image.HistoryResponseItem
	if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil || len(h) != 1 || h[0].Tags[0] != "localhost:5000/a/b:1" {
		t.Errorf("history = %s, %v", rec.Body, err)
	}
	wantStatus(t, f.do("GET", "/images/nosuch/history", ""), 404, "No such image: nosuch")
}

func TestProgressBar(t *testing.T) {
	// The first two are lines dockerd sent for a real pull.
	for _, tc := range []struct {
		p    jsonstream.Progress
		want string
	}{
		{jsonstream.Progress{Current: 49152, Total: 4335400}, "[>                                                  ]  49.15kB/4.335MB"},
		{jsonstream.Progress{Current: 1378626, Total: 4335400}, "[===============>                                   ]  1.379MB/4.335MB"},
		{jsonstream.Progress{Current: 4335400, Total: 4335400}, "[==================================================>]  4.335MB/4.335MB"},
		{jsonstream.Progress{Current: 5000, Total: 4000}, "[==================================================>]      5kB"},
		{jsonstream.Progress{Current: 1500}, "   1.5kB"},
		{jsonstream.Progress{Current: 3, Units: "s"}, "3 s"},
		{jsonstream.Progress{Current: 1, Total: 4, Units: "s"}, "[============>                                      ] 1/4 s"},
		{jsonstream.Progress{Current: 1, Total: 2, HideCounts: true}, "[=========================>                         ] "},
		{jsonstream.Progress{}, ""},
	} {
		if got := progressBar(tc.p); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.p, got, tc.want)
		}
	}
}

func (f *fakeImages) Login(_ context.Context, auth registry.AuthConfig) (*registry.AuthResponse, error) {
	f.got = auth
	if f.err != nil {
		return nil, f.err
	}
	return &registry.AuthResponse{Status: "Login Succeeded"}, nil
}

func TestAuth(t *testing.T) {
	f := newFixture()
	rec := f.do("POST", "/v1.50/auth", `{"username":"alice","password":"secret","serveraddress":"127.0.0.1:5443"}`, "Content-Type", "application/json")
	wantStatus(t, rec, 200, "")
	if got := strings.TrimSpace(rec.Body.String()); got != `{"Status":"Login Succeeded"}` {
		t.Errorf("body = %s", got)
	}
	if a := f.img.got.(registry.AuthConfig); a.Username != "alice" || a.Password != "secret" || a.ServerAddress != "127.0.0.1:5443" {
		t.Errorf("backend got %+v", a)
	}
	f.img.err = errdefs.ErrUnauthenticated.WithMessage("login attempt to https://127.0.0.1:5443/v2/ failed with status: 401 Unauthorized")
	wantStatus(t, f.do("POST", "/auth", `{"username":"alice","password":"wrong"}`, "Content-Type", "application/json"), 401, f.img.err.Error())
	wantStatus(t, f.do("POST", "/auth", `{"username":`, "Content-Type", "application/json"), 400, "")
}

func (f *fakeImages) Prune(_ context.Context, filters Filters) (*image.PruneReport, error) {
	f.got = filters
	if f.err != nil {
		return nil, f.err
	}
	return &image.PruneReport{ImagesDeleted: []image.DeleteResponse{{Deleted: "sha256:" + strings.Repeat("a", 64)}}, SpaceReclaimed: 42}, nil
}

func TestImagePrune(t *testing.T) {
	f := newFixture()
	rec := f.do("POST", `/v1.50/images/prune?filters={"dangling":["false"],"until":["10m"]}`, "")
	wantStatus(t, rec, 200, "")
	var rep image.PruneReport
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil || rep.SpaceReclaimed != 42 || len(rep.ImagesDeleted) != 1 {
		t.Errorf("body %s, %v", rec.Body, err)
	}
	if got := f.img.got.(Filters); len(got["dangling"]) != 1 || got["until"][0] != "10m" {
		t.Errorf("filters = %v", got)
	}
	wantStatus(t, f.do("POST", `/images/prune?filters=nope`, ""), 400, "invalid filter")
	f.img.err = errdefs.ErrConflict.WithMessage("a prune operation is already running")
	wantStatus(t, f.do("POST", "/images/prune", ""), 409, "a prune operation is already running")
}
