package images

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	remoteerrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	imagetypes "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestCredentials(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("bob:pa:ss"))
	for _, tc := range []struct {
		name         string
		auth         *registry.AuthConfig
		user, secret string
		errs         bool
	}{
		// None are answered as none, so that a basic challenge gets
		// "no basic auth credentials".
		{name: "nil", auth: nil},
		{name: "empty", auth: &registry.AuthConfig{}},
		{name: "password", auth: &registry.AuthConfig{Username: "alice", Password: "secret"}, user: "alice", secret: "secret"},
		{name: "auth field", auth: &registry.AuthConfig{Auth: basic}, user: "bob", secret: "pa:ss"},
		{name: "identity token", auth: &registry.AuthConfig{Username: "alice", IdentityToken: "tok"}, user: "", secret: "tok"},
		{name: "bad auth field", auth: &registry.AuthConfig{Auth: "!!"}, errs: true},
	} {
		fn := credentials(tc.auth)
		user, secret, err := fn("127.0.0.1:5000")
		if tc.errs {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("%s: err = %v, want InvalidArgument", tc.name, err)
			}
			continue
		}
		if err != nil || user != tc.user || secret != tc.secret {
			t.Errorf("%s: %q %q %v", tc.name, user, secret, err)
		}
	}
}

func TestPullError(t *testing.T) {
	ref, _ := reference.ParseNormalizedNamed("127.0.0.1:5000/me/bb:nope")
	lib, _ := reference.ParseNormalizedNamed("busybox:nope")
	for _, tc := range []struct {
		ref   reference.Named
		err   error
		check func(error) bool
		msg   string
	}{
		{ref, fmt.Errorf("127.0.0.1:5000/me/bb:nope: %w", errdefs.ErrNotFound), errdefs.IsNotFound,
			"manifest for 127.0.0.1:5000/me/bb:nope not found: manifest unknown: manifest unknown"},
		{lib, fmt.Errorf("x: %w", errdefs.ErrNotFound), errdefs.IsNotFound,
			"manifest for busybox:nope not found: manifest unknown: manifest unknown"},
		{ref, fmt.Errorf("pull access denied: %w", docker.ErrInvalidAuthorization), errdefs.IsNotFound,
			"pull access denied for 127.0.0.1:5000/me/bb, repository does not exist or may require 'docker login': pull access denied: authorization failed"},
		{ref, context.Canceled, func(err error) bool { return errors.Is(err, context.Canceled) }, "context canceled"},
		{ref, errors.New(`dial tcp 127.0.0.1:1: connect: connection refused`), func(err error) bool { return !errdefs.IsNotFound(err) },
			"dial tcp 127.0.0.1:1: connect: connection refused"},
	} {
		err := pullError(tc.ref, tc.err)
		if !tc.check(err) || err.Error() != tc.msg {
			t.Errorf("%v: %v", tc.err, err)
		}
	}
}

func TestRegistryError(t *testing.T) {
	unexpected := func(code int, body string) error {
		return errors.Join(remoteerrors.ErrUnexpectedStatus{Status: fmt.Sprint(code), StatusCode: code, RequestMethod: "PUT", RequestURL: "http://r/v2/x"}, registryErrors(t, body))
	}
	for _, tc := range []struct {
		err   error
		check func(error) bool
		msg   string
	}{
		// Never a 401, which makes the CLI ask for a login.
		{unexpected(401, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`), errdefs.IsUnknown,
			"error from registry: authentication required"},
		{unexpected(403, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`), errdefs.IsPermissionDenied,
			"error from registry: requested access to the resource is denied"},
		{unexpected(400, `{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":"bad layer"}]}`), errdefs.IsUnknown,
			"error from registry: manifest invalid - bad layer"},
		{unexpected(429, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`), errdefs.IsResourceExhausted,
			"error from registry: slow down"},
		{fmt.Errorf("x: %w: no basic auth credentials", docker.ErrInvalidAuthorization), errdefs.IsUnknown,
			"x: authorization failed: no basic auth credentials"},
		{remoteerrors.ErrUnexpectedStatus{Status: "401 Unauthorized", StatusCode: 401, RequestMethod: "GET", RequestURL: "http://r/v2/"}, func(err error) bool { return !errdefs.IsUnauthorized(err) },
			"unexpected status from GET request to http://r/v2/: 401 Unauthorized"},
	} {
		err := registryError(tc.err)
		if !tc.check(err) || err.Error() != tc.msg {
			t.Errorf("%v: %v (%T)", tc.err, err, errdefs.Resolve(err))
		}
	}
}

// registryErrors decodes a registry's error body as containerd does.
func registryErrors(t *testing.T, body string) error {
	var errs docker.Errors
	if err := errs.UnmarshalJSON([]byte(body)); err != nil {
		t.Fatal(err)
	}
	return errs
}

func TestHistory(t *testing.T) {
	t1 := time.Unix(1700000000, 0)
	t2 := t1.Add(time.Hour)
	id := digest.FromString("config")
	h := []ocispec.History{
		{Created: &t1, CreatedBy: "/bin/sh -c #(nop) ADD file:abc in / ", Comment: "base"},
		{Created: &t2, CreatedBy: "/bin/sh -c #(nop)  CMD [\"sh\"]", EmptyLayer: true},
		{Created: &t2, CreatedBy: "RUN echo hi > /x # buildkit", Comment: "buildkit.dockerfile.v0"},
		{CreatedBy: "a layer the config has no diff ID for"},
	}
	got := history(h, []int64{4_000_000, 12}, id, []string{"me/app:1", "me/app:latest"})
	want := []imagetypes.HistoryResponseItem{
		{ID: id.String(), CreatedBy: "a layer the config has no diff ID for", Tags: []string{"me/app:1", "me/app:latest"}},
		{ID: "<missing>", Created: t2.Unix(), CreatedBy: "RUN echo hi > /x # buildkit", Comment: "buildkit.dockerfile.v0", Size: 12},
		{ID: "<missing>", Created: t2.Unix(), CreatedBy: "/bin/sh -c #(nop)  CMD [\"sh\"]"},
		{ID: "<missing>", Created: t1.Unix(), CreatedBy: "/bin/sh -c #(nop) ADD file:abc in / ", Comment: "base", Size: 4_000_000},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("history:\n got %+v\nwant %+v", got, want)
	}
	if got := history(nil, nil, id, nil); len(got) != 0 || got == nil {
		t.Errorf("empty history = %#v, want []", got)
	}
}

// The tracker's lines for one layer that downloads and extracts, and one
// whose content was there already.
func TestPullTrackerLines(t *testing.T) {
	var lines []string
	out := &progressOut{fn: func(m jsonstream.Message) {
		s := m.ID + " " + m.Status
		if m.Progress != nil && m.Progress.Current > 0 {
			s += fmt.Sprintf(" %d/%d%s", m.Progress.Current, m.Progress.Total, m.Progress.Units)
		}
		lines = append(lines, s)
	}}
	fresh := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromString("fresh"), Size: 10}
	old := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromString("old"), Size: 20}
	cfg := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromString("config")}
	tr := newPullTracker(out, false)
	tr.announce([]ocispec.Descriptor{cfg, fresh, old})
	tr.set(fresh.Digest, phaseDownloading, "")
	tr.layer(fresh.Digest).read.Add(4)
	tr.tick()
	tr.tick() // nothing new
	tr.fetched(fresh, nil)
	tr.fetched(old, nil)
	tr.set(fresh.Digest, phaseExtracting, "Extracting")
	tr.set(fresh.Digest, phaseDone, "Pull complete")
	tr.finish()
	f, o := shortID(fresh.Digest), shortID(old.Digest)
	want := []string{
		f + " Pulling fs layer",
		o + " Pulling fs layer",
		f + " Downloading 4/10",
		f + " Download complete",
		o + " Already exists",
		f + " Extracting 1/0s",
		f + " Pull complete",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("lines:\n got %q\nwant %q", lines, want)
	}

	// An image that is all there shows no layer at all.
	lines = nil
	tr = newPullTracker(out, true)
	tr.announce([]ocispec.Descriptor{fresh})
	tr.fetched(fresh, nil)
	tr.finish()
	if len(lines) != 0 {
		t.Errorf("hidden tracker sent %q", lines)
	}
}

// The push lines of one layer that uploads, one the registry has and one
// it mounts from another repository; the config gets none.
func TestPushTrackerLines(t *testing.T) {
	var lines []string
	out := &progressOut{fn: func(m jsonstream.Message) {
		s := m.ID + " " + m.Status
		if m.Progress != nil && m.Progress.Current > 0 {
			s += fmt.Sprintf(" %d/%d", m.Progress.Current, m.Progress.Total)
		}
		lines = append(lines, s)
	}}
	ctx := context.Background()
	layer := func(s string) ocispec.Descriptor {
		return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromString(s), Size: 100}
	}
	up, there, mounted := layer("up"), layer("there"), layer("mounted")
	cfg := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromString("config")}
	tracker := docker.NewInMemoryTracker()
	tr := newPushTracker(out, tracker)
	tr.announce(ctx, []ocispec.Descriptor{cfg, up, there, mounted})
	tr.tick() // nothing started
	key := func(d ocispec.Descriptor) string { return tr.layers[d.Digest].key }
	tracker.SetStatus(key(up), docker.Status{Status: content.Status{Offset: 40, Total: 100}})
	tracker.SetStatus(key(there), docker.Status{Committed: true, PushStatus: docker.PushStatus{Exists: true}})
	tr.tick()
	tr.tick() // no change
	tracker.SetStatus(key(up), docker.Status{Committed: true, Status: content.Status{Offset: 100, Total: 100}})
	tracker.SetStatus(key(mounted), docker.Status{Committed: true, PushStatus: docker.PushStatus{MountedFrom: "127.0.0.1:5000/other/app"}})
	tr.tick()
	tr.tick()
	u, th, m := shortID(up.Digest), shortID(there.Digest), shortID(mounted.Digest)
	want := []string{
		u + " Preparing", th + " Preparing", m + " Preparing",
		u + " Pushing 40/100",
		th + " Layer already exists",
		u + " Pushed",
		m + " Mounted from other/app",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("lines:\n got %q\nwant %q", lines, want)
	}
}

func TestLoginHost(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "docker.io",
		"https://index.docker.io/v1/": "docker.io",
		"docker.io":                   "docker.io",
		"127.0.0.1:5443":              "127.0.0.1:5443",
		"https://127.0.0.1:5443/v2/":  "127.0.0.1:5443",
		"http://localhost:5000":       "localhost:5000",
		"registry.example.com":        "registry.example.com",
	} {
		if got := loginHost(in); got != want {
			t.Errorf("loginHost(%q) = %q, want %q", in, got, want)
		}
	}
}
