package images_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/roostd/roost/tests/busybox/busyboximg"
)

func TestLoadBusybox(t *testing.T) {
	f := newFixture(t)
	id := f.loadBusybox(t)

	if got, want := f.events.take(), []string{"image load " + id + " busybox:latest"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}

	list, err := f.svc.List(context.Background(), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("List = %+v, want one image", list)
	}
	s := list[0]
	if s.ID != id || !reflect.DeepEqual(s.RepoTags, []string{"busybox:latest"}) || len(s.RepoDigests) != 1 ||
		!strings.HasPrefix(s.RepoDigests[0], "busybox@sha256:") || s.Containers != -1 {
		t.Errorf("summary = %+v", s)
	}
	if s.Created != busyboximg.Epoch.Unix() {
		t.Errorf("Created = %d, want %d", s.Created, busyboximg.Epoch.Unix())
	}
	// The unpacked size: the busybox binary and a little more.
	if s.Size < 1<<20 || s.Size > 8<<20 {
		t.Errorf("Size = %d, want about 2 MB", s.Size)
	}

	for _, ref := range []string{"busybox", "busybox:latest", "docker.io/library/busybox:latest", id, id[7:19], s.RepoDigests[0]} {
		insp, err := f.svc.Inspect(context.Background(), ref)
		if err != nil {
			t.Errorf("Inspect(%q): %v", ref, err)
			continue
		}
		if insp.ID != id {
			t.Errorf("Inspect(%q).ID = %s, want %s", ref, insp.ID, id)
		}
	}
	insp, err := f.svc.Inspect(context.Background(), "busybox")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(insp.Config.Cmd, []string{"sh"}) || len(insp.Config.Env) != 1 ||
		insp.Os != "linux" || insp.Architecture == "" || insp.Created != "2024-01-01T00:00:00Z" ||
		insp.RootFS.Type != "layers" || len(insp.RootFS.Layers) != 1 || insp.Size != s.Size ||
		!reflect.DeepEqual(insp.RepoTags, []string{"busybox:latest"}) {
		b, _ := json.MarshalIndent(insp, "", "  ")
		t.Errorf("Inspect = %s", b)
	}

	r, err := f.svc.Resolve(context.Background(), "busybox")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != id || r.Name != "busybox:latest" || !reflect.DeepEqual(r.Config.Cmd, []string{"sh"}) {
		t.Errorf("Resolve = %+v", r)
	}
	if ok, err := r.Image.IsUnpacked(f.ctx, "overlayfs"); err != nil || !ok {
		t.Errorf("IsUnpacked = %v, %v", ok, err)
	}
	if got := f.readFromImage(t, "busybox", "index.html"); got != busyboximg.IndexHTML {
		t.Errorf("index.html = %q", got)
	}

	// Loading again changes nothing.
	f.loadBusybox(t)
	if list, _ := f.svc.List(context.Background(), false, nil); len(list) != 1 {
		t.Errorf("after a second load, List = %+v", list)
	}
}

// Each way of writing the archive loads as the same image.
func TestLoadFormats(t *testing.T) {
	f := newFixture(t)
	archive := busyboxArchive(t, "busybox:latest")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(archive)
	zw.Close()
	dockerOnly := rewriteTar(t, archive, func(name string, body []byte) []byte {
		if name == "index.json" || name == "oci-layout" {
			return nil
		}
		return body
	})
	ociOnly := rewriteTar(t, archive, func(name string, body []byte) []byte {
		if name == "manifest.json" {
			return nil
		}
		return body
	})
	// Other tools name the manifest by tag alone: no repository, so untagged.
	bareTag := rewriteTar(t, ociOnly, func(name string, body []byte) []byte {
		if name == "index.json" {
			return bytes.ReplaceAll(body, []byte(`"io.containerd.image.name":"docker.io/library/busybox:latest",`), nil)
		}
		return body
	})

	busyboxArchive(t, "")
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"gzip", gz.Bytes(), "Loaded image: busybox:latest"},
		{"docker manifest.json only", dockerOnly, "Loaded image: busybox:latest"},
		{"oci layout only", ociOnly, "Loaded image: busybox:latest"},
		{"oci bare tag", bareTag, "Loaded image ID: " + busyboxID},
		{"untagged", busyboxArchive(t, ""), "Loaded image ID: " + busyboxID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines, err := f.svc.Load(context.Background(), bytes.NewReader(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != 1 || lines[0] != tc.want {
				t.Errorf("lines = %q, want [%q]", lines, tc.want)
			}
			insp, err := f.svc.Inspect(context.Background(), busyboxID)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(tc.want, "Loaded image ID") && len(insp.RepoTags) != 0 {
				t.Errorf("RepoTags = %q, want none", insp.RepoTags)
			}
			if _, err := f.svc.Remove(context.Background(), busyboxID, true, false); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLoadUntaggedIsDangling(t *testing.T) {
	f := newFixture(t)
	lines, err := f.svc.Load(context.Background(), bytes.NewReader(busyboxArchive(t, "")))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Loaded image ID: " + busyboxID; len(lines) != 1 || lines[0] != want {
		t.Fatalf("lines = %q, want %q", lines, want)
	}
	list, err := f.svc.List(context.Background(), false, map[string][]string{"dangling": {"true"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != busyboxID || len(list[0].RepoTags) != 0 || list[0].RepoTags == nil {
		t.Fatalf("dangling list = %+v", list)
	}
	// Naming it removes the dangling record.
	if err := f.svc.Tag(context.Background(), busyboxID[7:19], "busybox", ""); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.svc.List(context.Background(), false, map[string][]string{"dangling": {"true"}}); len(list) != 0 {
		t.Errorf("still dangling after tag: %+v", list)
	}
	recs, err := f.client.ImageService().List(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Name != "docker.io/library/busybox:latest" {
		t.Errorf("records = %+v", recs)
	}
}

func TestLoadInvalid(t *testing.T) {
	f := newFixture(t)
	noConfig := rewriteTar(t, busyboxArchive(t, "busybox:latest"), func(name string, body []byte) []byte {
		if name == "index.json" || name == "oci-layout" || bytes.HasPrefix(body, []byte(`{"created"`)) {
			return nil
		}
		return body
	})
	tests := map[string][]byte{
		"empty":              nil,
		"not a tar":          []byte("hello, this is not a tar archive at all"),
		"tar without images": tarOf(t, tarMember{name: "hello.txt", body: "hi"}),
		"bad manifest.json":  tarOf(t, tarMember{name: "manifest.json", body: "{not json"}),
		"missing config":     noConfig,
		"bad oci-layout":     tarOf(t, tarMember{name: "oci-layout", body: `{"imageLayoutVersion":"9.9"}`}),
		"oci without index":  tarOf(t, tarMember{name: "oci-layout", body: `{"imageLayoutVersion":"1.0.0"}`}),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			lines, err := f.svc.Load(context.Background(), bytes.NewReader(data))
			if !errdefs.IsInvalidArgument(err) || !strings.HasPrefix(err.Error(), "invalid image archive") {
				t.Fatalf("Load = %q, %v; want InvalidArgument", lines, err)
			}
		})
	}
	recs, err := f.client.ImageService().List(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 0 {
		t.Errorf("records after failed loads: %+v", recs)
	}
}

// Member names are never used as paths: hostile names write nothing, with
// or without a valid image beside them.
func TestLoadHostileTar(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	outside := filepath.Join(dir, "escaped")
	hostile := []tarMember{
		{name: strings.Repeat("../", 20) + strings.TrimPrefix(outside, "/"), body: "x"},
		{name: outside + "-abs", body: "x"},
		{name: "link", typ: '2', link: dir},
		{name: "link/escaped-link", body: "x"},
		{name: "../manifest.json", body: "[]"},
		{name: "/index.json", body: "{}"},
	}
	if _, err := f.svc.Load(context.Background(), bytes.NewReader(tarOf(t, hostile...))); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Load(hostile) err = %v, want InvalidArgument", err)
	}
	lines, err := f.svc.Load(context.Background(), bytes.NewReader(prependMembers(t, busyboxArchive(t, "busybox:latest"), hostile...)))
	if err != nil || len(lines) != 1 || lines[0] != "Loaded image: busybox:latest" {
		t.Errorf("Load(hostile+busybox) = %q, %v", lines, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%s has %d entries after the loads", dir, len(entries))
	}
}
