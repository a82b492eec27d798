package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
)

// fakeBuild records the options; failAfter sends one line, then fails.
type fakeBuild struct {
	got       BuildOptions
	body      string
	err       error
	failAfter bool
	prune     BuildPruneOptions
	cancelled string
}

func (f *fakeBuild) Build(_ context.Context, body io.Reader, opts BuildOptions, out func(jsonstream.Message) error) (string, error) {
	f.got = opts
	b, _ := io.ReadAll(body)
	f.body = string(b)
	if f.err != nil && !f.failAfter {
		return "", f.err
	}
	_ = out(jsonstream.Message{Stream: "Step 1/1 : FROM busybox\n"})
	return "sha256:abc", f.err
}

func (f *fakeBuild) Prune(_ context.Context, opts BuildPruneOptions) (*build.CachePruneReport, error) {
	f.prune = opts
	return &build.CachePruneReport{CachesDeleted: []string{"x"}, SpaceReclaimed: 7}, nil
}

func (f *fakeBuild) Cancel(id string) { f.cancelled = id }

func buildFixture(fb *fakeBuild) *fixture {
	f := newFixture()
	f.h = New(Options{System: f.sys, Containers: f.ctr, Images: f.img, Events: f.ev, Build: fb, ServerVersion: "0.1.0"})
	return f
}

func TestPostBuildOptions(t *testing.T) {
	fb := &fakeBuild{}
	f := buildFixture(fb)
	rec := f.do("POST", `/build?t=a:1&t=b&dockerfile=d/Dockerfile&target=rt&nocache=1&pull=1&networkmode=none`+
		`&extrahosts=h:1.2.3.4&shmsize=1024&q=1&buildid=xyz&platform=linux/amd64&rm=0&forcerm=1`+
		`&buildargs={"V":"2"}&labels={"l":"v"}&cachefrom=["c:1"]&ulimits=[{"Name":"nofile","Soft":1,"Hard":2}]`,
		"ctx", "Content-Type", "application/x-tar")
	wantStatus(t, rec, 200, "")
	o := fb.got
	if strings.Join(o.Tags, ",") != "a:1,b" || o.Dockerfile != "d/Dockerfile" || o.Target != "rt" || !o.NoCache || !o.Pull ||
		o.NetworkMode != "none" || o.ExtraHosts[0] != "h:1.2.3.4" || o.ShmSize != 1024 || !o.Quiet || o.BuildID != "xyz" ||
		o.Platform != "linux/amd64" || *o.BuildArgs["V"] != "2" || o.Labels["l"] != "v" || o.CacheFrom[0] != "c:1" ||
		o.Ulimits[0].Name != "nofile" || o.Ulimits[0].Hard != 2 {
		t.Errorf("options: %+v", o)
	}
	if fb.body != "ctx" {
		t.Errorf("body %q", fb.body)
	}
	if !strings.Contains(rec.Body.String(), `{"stream":"Step 1/1 : FROM busybox\n"}`) {
		t.Errorf("stream: %s", rec.Body.String())
	}
}

func TestPostBuildRemote(t *testing.T) {
	fb := &fakeBuild{}
	f := buildFixture(fb)
	wantStatus(t, f.do("POST", "/build?remote=http://127.0.0.1:1/ctx.tar&dockerfile=sub/Dockerfile", ""), 200, "")
	if fb.got.Remote != "http://127.0.0.1:1/ctx.tar" || fb.got.Dockerfile != "sub/Dockerfile" {
		t.Errorf("options: %+v", fb.got)
	}
}

func TestPostBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		target string
		err    error
		status int
		msg    string
	}{
		{"/build?buildargs=nope", nil, 400, "invalid buildargs: invalid character 'o' in literal null (expecting 'u')"},
		{"/build?shmsize=-1", nil, 400, "invalid shmsize: -1"},
		{"/build", errdefs.ErrInvalidArgument.WithMessage("Cannot locate specified Dockerfile: Dockerfile"), 400, "Cannot locate specified Dockerfile: Dockerfile"},
		{"/build", errors.New("buildkitd did not answer"), 500, "buildkitd did not answer"},
	} {
		f := buildFixture(&fakeBuild{err: tc.err})
		wantStatus(t, f.do("POST", tc.target, "x"), tc.status, tc.msg)
	}
	wantStatus(t, newFixture().do("POST", "/build", "x"), 501, "builds are not supported by this engine")
}

func TestPostBuildFailsInStream(t *testing.T) {
	f := buildFixture(&fakeBuild{err: errors.New("exit code: 3"), failAfter: true})
	rec := f.do("POST", "/build", "x")
	wantStatus(t, rec, 200, "")
	if !strings.Contains(rec.Body.String(), `"errorDetail":{"message":"exit code: 3"}`) {
		t.Errorf("body: %s", rec.Body.String())
	}
}

func TestPostBuildPruneAndCancel(t *testing.T) {
	fb := &fakeBuild{}
	f := buildFixture(fb)
	rec := f.do("POST", `/build/prune?all=1&reserved-space=100&filters={"until":{"24h":true},"type":{"regular":true}}`, "")
	wantStatus(t, rec, 200, "")
	if !fb.prune.All || fb.prune.ReservedSpace != 100 || fb.prune.KeepDuration.Hours() != 24 || fb.prune.Filters[0] != "type==regular" {
		t.Errorf("prune options: %+v", fb.prune)
	}
	if !strings.Contains(rec.Body.String(), `"SpaceReclaimed":7`) {
		t.Errorf("body: %s", rec.Body.String())
	}
	wantStatus(t, f.do("POST", `/build/prune?filters={"bogus":{"x":true}}`, ""), 400, "invalid filter 'bogus'")
	wantStatus(t, f.do("POST", `/build/prune?max-used-space=lots`, ""), 400, "max-used-space is in bytes and expects an integer, got lots")
	wantStatus(t, f.do("POST", "/build/cancel?id=xyz", ""), 200, "")
	if fb.cancelled != "xyz" {
		t.Errorf("cancelled %q", fb.cancelled)
	}
	wantStatus(t, f.do("POST", "/build/cancel", ""), 400, "build ID not provided")
}

func TestBuildSessionNeedsBackend(t *testing.T) {
	f := buildFixture(&fakeBuild{})
	wantStatus(t, f.do("POST", "/grpc", "", "Connection", "Upgrade", "Upgrade", "h2c"), 501, "BuildKit sessions are not supported by this engine")
	wantStatus(t, f.do("POST", "/session", "", "Connection", "Upgrade", "Upgrade", "h2c"), 501, "BuildKit sessions are not supported by this engine")
}

// TestBuildProxy: with a build proxy, the build routes and gRPC on the
// socket go to it with the path the client sent, and the headers every
// response carries are the proxy's, not doubled.
func TestBuildProxy(t *testing.T) {
	var paths []string
	proxy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path+"?"+r.URL.RawQuery)
		w.Header().Set("Server", "roost/build")
		w.Header().Set("API-Version", MaxAPIVersion)
		w.WriteHeader(http.StatusTeapot)
	})
	f := newFixture()
	f.h = New(Options{System: f.sys, Containers: f.ctr, Images: f.img, Events: f.ev, BuildProxy: proxy, ServerVersion: "0.1.0"})
	for _, target := range []string{"/v1.44/build?t=a", "/build/prune?all=1", "/v1.51/build/cancel?id=x", "/v1.51/grpc", "/session"} {
		rec := f.do(http.MethodPost, target, "")
		if rec.Code != http.StatusTeapot {
			t.Errorf("%s: status %d, want the proxy's", target, rec.Code)
		}
		if got := rec.Header().Values("Server"); len(got) != 1 || got[0] != "roost/build" {
			t.Errorf("%s: Server headers %q, want the proxy's alone", target, got)
		}
	}
	want := []string{"/v1.44/build?t=a", "/v" + MaxAPIVersion + "/build/prune?all=1", "/v1.51/build/cancel?id=x", "/v1.51/grpc?", "/v" + MaxAPIVersion + "/session?"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("proxied paths %q, want %q", paths, want)
	}
	// Other routes stay here.
	if rec := f.do(http.MethodGet, "/v1.51/version", ""); rec.Code != http.StatusOK {
		t.Errorf("GET /version with a build proxy: %d", rec.Code)
	}
	// gRPC on the socket (HTTP/2) goes to the proxy as it is.
	req := httptest.NewRequest(http.MethodPost, "/moby.buildkit.v1.Control/Status", nil)
	req.ProtoMajor = 2
	req.Header.Set("Content-Type", "application/grpc")
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusTeapot || paths[len(paths)-1] != "/moby.buildkit.v1.Control/Status?" {
		t.Errorf("gRPC call: status %d, proxied %q", rec.Code, paths[len(paths)-1])
	}
}
