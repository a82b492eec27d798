package httpapi

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
)

// Names with slashes, registry ports, tags and digests, all of which the
// client sends unescaped in the path.
var imageNames = []string{
	"busybox",
	"busybox:latest",
	"library/busybox:1.36",
	"localhost:5000/a/b:tag",
	"localhost:5000/a/b",
	"registry.example.com:443/team/app/sub:v1.2",
	"busybox@sha256:" + strings.Repeat("c", 64),
	"localhost:5000/a/b@sha256:" + strings.Repeat("d", 64),
	"sha256:" + strings.Repeat("e", 64),
	"json",
	"load",
	"a/json",
}

func TestImageInspectNames(t *testing.T) {
	f := newFixture()
	f.img = newFakeImages(imageNames...)
	f.h = New(Options{Images: f.img})
	for _, name := range imageNames {
		rec := f.do("GET", "/v1.56/images/"+name+"/json", "")
		wantStatus(t, rec, 200, "")
		var img image.InspectResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &img); err != nil || img.RepoTags[0] != name {
			t.Errorf("%s: got %s, %v", name, rec.Body, err)
		}
	}
	wantStatus(t, f.do("GET", "/images/localhost:5000/nosuch:tag/json", ""), 404, "No such image: localhost:5000/nosuch:tag")
}

func TestImageRemoveNames(t *testing.T) {
	for _, name := range imageNames {
		f := newFixture()
		f.img = newFakeImages(name)
		f.h = New(Options{Images: f.img})
		rec := f.do("DELETE", "/images/"+name+"?force=1&noprune=1", "")
		wantStatus(t, rec, 200, "")
		if want := `[{"Untagged":"` + name + `"}]`; strings.TrimSpace(rec.Body.String()) != want {
			t.Errorf("%s: body %s", name, rec.Body)
		}
		if f.img.got != [2]bool{true, false} {
			t.Errorf("%s: force, prune = %v", name, f.img.got)
		}
	}
	f := newFixture()
	wantStatus(t, f.do("DELETE", "/images/a/b:c", ""), 404, "No such image: a/b:c")
	f.img.err = errdefs.ErrConflict.WithMessage("conflict: unable to remove repository reference \"busybox\" (must force) - container abc is using its referenced image")
	wantStatus(t, f.do("DELETE", "/images/busybox:latest", ""), 409, f.img.err.Error())
}

func TestImageTag(t *testing.T) {
	for _, tc := range []struct {
		target string
		status int
		msg    string
		got    [3]string
	}{
		{"/images/busybox:latest/tag?repo=localhost:5000/a/b&tag=v1", 201, "", [3]string{"busybox:latest", "localhost:5000/a/b", "v1"}},
		{"/images/busybox:latest/tag?repo=mine", 201, "", [3]string{"busybox:latest", "mine", "latest"}},
		{"/images/busybox:latest/tag?repo=docker.io/library/mine:x", 201, "", [3]string{"busybox:latest", "mine", "x"}},
		{"/images/busybox:latest/tag?repo=Upper", 400, "invalid reference format: repository name (library/Upper) must be lowercase", [3]string{}},
		{"/images/busybox:latest/tag?repo=mine&tag=bad:tag", 400, "invalid tag format", [3]string{}},
		{"/images/busybox:latest/tag", 400, "repository name must have at least one component", [3]string{}},
		{"/images/busybox:latest/tag?repo=sha256", 400, "refusing to create an ambiguous tag using digest algorithm as name", [3]string{}},
		{"/images/nosuch/tag?repo=mine", 404, "No such image: nosuch", [3]string{"nosuch", "mine", "latest"}},
	} {
		f := newFixture()
		rec := f.do("POST", tc.target, "")
		wantStatus(t, rec, tc.status, tc.msg)
		if got, _ := f.img.got.([3]string); got != tc.got {
			t.Errorf("%s: backend got %v", tc.target, got)
		}
	}
}

func TestImageRoutesNotThere(t *testing.T) {
	f := newFixture()
	wantStatus(t, f.do("GET", "/images/busybox/nosuch", ""), 404, "page not found")
	wantStatus(t, f.do("GET", "/images/busybox", ""), 404, "page not found")
	wantStatus(t, f.do("POST", "/images/busybox/json", ""), 404, "page not found")
	wantStatus(t, f.do("GET", "/images//json", ""), 400, "image name cannot be blank")
	wantStatus(t, f.do("DELETE", "/images/", ""), 400, "image name cannot be blank")
}

func TestImageList(t *testing.T) {
	f := newFixture()
	rec := f.do("GET", `/images/json?all=1&filters={"reference":["busy*"]}`, "")
	wantStatus(t, rec, 200, "")
	if strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("body %s", rec.Body)
	}
	if want := []any{true, Filters{"reference": {"busy*"}}}; !reflect.DeepEqual(f.img.got, want) {
		t.Errorf("backend got %v", f.img.got)
	}
	wantStatus(t, f.do("GET", `/images/json?filters=nope`, ""), 400, "invalid filter")
}

// readMessages decodes a JSON message stream.
func readMessages(t *testing.T, body string) []jsonstream.Message {
	t.Helper()
	var msgs []jsonstream.Message
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var m jsonstream.Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func TestImageLoad(t *testing.T) {
	f := newFixture()
	f.img.loaded = []string{"Loaded image: busybox:latest", "Loaded image ID: sha256:abc"}
	rec := f.do("POST", "/images/load?quiet=1", "TARDATA", "Content-Type", "application/x-tar")
	wantStatus(t, rec, 200, "")
	if rec.Header().Get("Content-Type") != "application/json" || f.img.got != "TARDATA" {
		t.Errorf("content type %q, backend got %v", rec.Header().Get("Content-Type"), f.img.got)
	}
	if got := rec.Body.String(); got != `{"stream":"Loaded image: busybox:latest\n"}`+"\n"+`{"stream":"Loaded image ID: sha256:abc\n"}`+"\n" {
		t.Errorf("body %q", got)
	}

	f.img.err = errdefs.ErrInvalidArgument.WithMessage("unexpected EOF")
	wantStatus(t, f.do("POST", "/images/load", "junk"), 400, "unexpected EOF")
}

func TestImageImport(t *testing.T) {
	f := newFixture()
	rec := f.do("POST", "/images/create?fromSrc=-&repo=localhost:5000/imp&tag=v2&changes=CMD+%5B%22sh%22%5D&changes=ENV+A%3Db", "ROOTFS")
	wantStatus(t, rec, 200, "")
	msgs := readMessages(t, rec.Body.String())
	if len(msgs) != 1 || msgs[0].Status != "sha256:"+strings.Repeat("b", 64) {
		t.Errorf("messages %+v", msgs)
	}
	want := []any{"ROOTFS", "localhost:5000/imp", "v2", []string{`CMD ["sh"]`, "ENV A=b"}, "Imported from -"}
	if !reflect.DeepEqual(f.img.got, want) {
		t.Errorf("backend got %#v", f.img.got)
	}

	f.do("POST", "/images/create?fromSrc=-&message=hand+made", "x")
	if got := f.img.got.([]any); got[1] != "" || got[2] != "" || got[4] != "hand made" {
		t.Errorf("untagged import got %#v", got)
	}
	wantStatus(t, f.do("POST", "/images/create?fromSrc=-&repo=a@sha256:"+strings.Repeat("1", 64), "x"), 400, "cannot import digest reference")
	wantStatus(t, f.do("POST", "/images/create?fromSrc=http://example.com/x.tar", ""), 501, "importing from a URL is not supported yet by roost: send the tar in the request body (fromSrc=-)")
	wantStatus(t, f.do("POST", "/images/create", ""), 400, "either fromImage or fromSrc must be given")
	f.img.err = errors.New("snapshotter broke")
	wantStatus(t, f.do("POST", "/images/create?fromSrc=-", "x"), 500, "snapshotter broke")
}

func TestJSONStreamError(t *testing.T) {
	h := adapt(func(w http.ResponseWriter, r *http.Request) error {
		out := newJSONStream(w, "application/json")
		_ = out.send(jsonstream.Message{Status: "Pulling"})
		return out.sendError(errors.New("manifest unknown"))
	})
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest("POST", "/", nil))
	want := `{"status":"Pulling"}` + "\n" + `{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}` + "\n"
	if rec.Code != 200 || rec.Body.String() != want {
		t.Errorf("got %d %q", rec.Code, rec.Body.String())
	}
}
