package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

// fakeArchive serves one container, "web", with one file, /etc/hostname.
type fakeArchive struct {
	err       error
	gotPath   string
	gotOpts   ExtractOptions
	gotBody   string
	closed    bool
	changes   []container.FilesystemChange
	exportErr error
}

var hostnameStat = &container.PathStat{Name: "hostname", Size: 13, Mode: 0o644, Mtime: time.Unix(1700000000, 0).UTC()}

func (f *fakeArchive) check(ref, path string) error {
	f.gotPath = path
	switch {
	case f.err != nil:
		return f.err
	case ref != "web":
		return errdefs.ErrNotFound.WithMessage("No such container: " + ref)
	case path != "/etc/hostname" && path != "/etc":
		return errdefs.ErrNotFound.WithMessage("Could not find the file " + path + " in container " + ref)
	}
	return nil
}

func (f *fakeArchive) StatPath(_ context.Context, ref, path string) (*container.PathStat, error) {
	if err := f.check(ref, path); err != nil {
		return nil, err
	}
	return hostnameStat, nil
}

type closeRecorder struct {
	io.Reader
	f *fakeArchive
}

func (c closeRecorder) Close() error { c.f.closed = true; return nil }

func (f *fakeArchive) ArchivePath(_ context.Context, ref, path string) (io.ReadCloser, *container.PathStat, error) {
	if err := f.check(ref, path); err != nil {
		return nil, nil, err
	}
	return closeRecorder{strings.NewReader("TAR"), f}, hostnameStat, nil
}

func (f *fakeArchive) ExtractToDir(_ context.Context, ref, path string, opts ExtractOptions, r io.Reader) error {
	if err := f.check(ref, path); err != nil {
		return err
	}
	f.gotOpts = opts
	b, _ := io.ReadAll(r)
	f.gotBody = string(b)
	return nil
}

func (f *fakeArchive) Export(_ context.Context, ref string) (io.ReadCloser, error) {
	if err := f.check(ref, "/etc"); err != nil {
		return nil, err
	}
	if f.exportErr != nil {
		return nil, f.exportErr
	}
	return closeRecorder{strings.NewReader("ROOTFS"), f}, nil
}

func (f *fakeArchive) Changes(_ context.Context, ref string) ([]container.FilesystemChange, error) {
	if err := f.check(ref, "/etc"); err != nil {
		return nil, err
	}
	return f.changes, nil
}

func newArchiveFixture() (*fixture, *fakeArchive) {
	f := newFixture()
	fa := &fakeArchive{}
	f.h = New(Options{System: f.sys, Containers: f.ctr, Images: f.img, Events: f.ev, Archive: fa, ServerVersion: "0.1.0"})
	return f, fa
}

func decodePathStat(t *testing.T, rec *httptest.ResponseRecorder) container.PathStat {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(rec.Header().Get("X-Docker-Container-Path-Stat"))
	if err != nil {
		t.Fatalf("stat header: %v", err)
	}
	var st container.PathStat
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("stat header %s: %v", raw, err)
	}
	return st
}

func TestArchiveHead(t *testing.T) {
	f, _ := newArchiveFixture()
	rec := f.do("HEAD", "/v1.47/containers/web/archive?path=/etc/hostname", "")
	wantStatus(t, rec, 200, "")
	if st := decodePathStat(t, rec); st.Name != "hostname" || st.Size != 13 || !st.Mtime.Equal(hostnameStat.Mtime) {
		t.Errorf("stat = %+v", st)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("HEAD has a body: %q", rec.Body)
	}
	// A HEAD error has no body; the status is what the client reads.
	for target, status := range map[string]int{
		"/containers/web/archive?path=/nosuch":       404,
		"/containers/nosuch/archive?path=/etc":       404,
		"/containers/web/archive":                    400,
		"/containers/web/archive?path=":              400,
		"/v1.12/containers/web/archive?path=/etc":    400,
		"/containers/web/archive?path=/etc&x=%zz":    400,
		"/containers/web/archive/extra?path=/etc":    404,
		"/containers/web/archive?path=/etc/hostname": 200,
	} {
		if rec := f.do("HEAD", target, ""); rec.Code != status {
			t.Errorf("HEAD %s: %d, want %d", target, rec.Code, status)
		}
	}
}

func TestArchiveGet(t *testing.T) {
	f, fa := newArchiveFixture()
	rec := f.do("GET", "/containers/web/archive?path=/etc/hostname", "")
	wantStatus(t, rec, 200, "")
	if ct := rec.Header().Get("Content-Type"); ct != "application/x-tar" {
		t.Errorf("Content-Type = %q", ct)
	}
	if rec.Body.String() != "TAR" || !fa.closed {
		t.Errorf("body %q, closed %v", rec.Body, fa.closed)
	}
	if st := decodePathStat(t, rec); st.Name != "hostname" {
		t.Errorf("stat = %+v", st)
	}
	wantStatus(t, f.do("GET", "/containers/web/archive?path=/nosuch", ""), 404, "Could not find the file /nosuch in container web")
	wantStatus(t, f.do("GET", "/containers/nosuch/archive?path=/etc", ""), 404, "No such container: nosuch")
	wantStatus(t, f.do("GET", "/containers/web/archive", ""), 400, "bad parameter: path cannot be empty")
	fa.err = errors.New("disk on fire")
	wantStatus(t, f.do("GET", "/containers/web/archive?path=/etc", ""), 500, "disk on fire")
}

func TestArchivePut(t *testing.T) {
	f, fa := newArchiveFixture()
	for _, tc := range []struct {
		query string
		want  ExtractOptions
	}{
		{"", ExtractOptions{AllowOverwriteDirWithFile: true}},
		{"&noOverwriteDirNonDir=true", ExtractOptions{}},
		{"&noOverwriteDirNonDir=1&copyUIDGID=1", ExtractOptions{CopyUIDGID: true}},
		{"&noOverwriteDirNonDir=false&copyUIDGID=0", ExtractOptions{AllowOverwriteDirWithFile: true}},
	} {
		rec := f.do("PUT", "/containers/web/archive?path=/etc"+tc.query, "TARBODY", "Content-Type", "application/x-tar")
		wantStatus(t, rec, 200, "")
		if fa.gotOpts != tc.want || fa.gotBody != "TARBODY" || fa.gotPath != "/etc" {
			t.Errorf("%s: opts %+v body %q path %q", tc.query, fa.gotOpts, fa.gotBody, fa.gotPath)
		}
	}
	wantStatus(t, f.do("PUT", "/containers/web/archive?path=/nosuch", "T"), 404, "Could not find the file /nosuch in container web")
	wantStatus(t, f.do("PUT", "/containers/web/archive", "T"), 400, "bad parameter: path cannot be empty")
	for _, err := range []error{
		errdefs.ErrInvalidArgument.WithMessage("extraction point is not a directory"),
		errdefs.ErrInvalidArgument.WithMessage("container rootfs is marked read-only"),
		errdefs.ErrInvalidArgument.WithMessage("invalid archive: invalid entry name \"../x\""),
	} {
		fa.err = err
		wantStatus(t, f.do("PUT", "/containers/web/archive?path=/etc", "T"), 400, err.Error())
	}
	fa.err = errdefs.ErrConflict.WithMessage("container is marked for removal")
	wantStatus(t, f.do("PUT", "/containers/web/archive?path=/etc", "T"), 409, "container is marked for removal")
}

func TestExportAndChanges(t *testing.T) {
	f, fa := newArchiveFixture()
	rec := f.do("GET", "/containers/web/export", "")
	wantStatus(t, rec, 200, "")
	if rec.Body.String() != "ROOTFS" || rec.Header().Get("Content-Type") != "application/x-tar" || !fa.closed {
		t.Errorf("export: %q %q closed %v", rec.Body, rec.Header().Get("Content-Type"), fa.closed)
	}
	wantStatus(t, f.do("GET", "/containers/nosuch/export", ""), 404, "No such container: nosuch")
	fa.exportErr = errdefs.ErrConflict.WithMessage("You cannot export container abc which is Dead")
	wantStatus(t, f.do("GET", "/containers/web/export", ""), 409, "You cannot export container abc which is Dead")

	rec = f.do("GET", "/containers/web/changes", "")
	wantStatus(t, rec, 200, "")
	if strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("no changes = %s", rec.Body)
	}
	fa.changes = []container.FilesystemChange{{Path: "/newfile", Kind: container.ChangeAdd}, {Path: "/etc", Kind: container.ChangeModify}}
	rec = f.do("GET", "/containers/web/changes", "")
	if got := strings.TrimSpace(rec.Body.String()); got != `[{"Kind":1,"Path":"/newfile"},{"Kind":0,"Path":"/etc"}]` {
		t.Errorf("changes = %s", got)
	}
	wantStatus(t, f.do("GET", "/containers/nosuch/changes", ""), 404, "No such container: nosuch")
}
