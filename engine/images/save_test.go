package images_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/containerd/errdefs"
)

// saved reads what matters of a `docker save` archive: manifest.json and
// the blob names.
type saved struct {
	manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	members []string
}

func readSaved(t *testing.T, data []byte) *saved {
	t.Helper()
	s := &saved{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the archive is not a tar: %v", err)
		}
		s.members = append(s.members, hdr.Name)
		if hdr.Name == "manifest.json" {
			if err := json.NewDecoder(tr).Decode(&s.manifest); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, want := range []string{"oci-layout", "index.json", "manifest.json"} {
		if !slices.Contains(s.members, want) {
			t.Errorf("the archive has no %s: %q", want, s.members)
		}
	}
	return s
}

// Save then load: the same image, its names, and byte-identical layers,
// the gzip one included.
func TestSaveLoadRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.loadMulti(t, "example.com/multi:1")
	if err := f.svc.Tag(ctx, "example.com/multi:1", "example.com/multi", "2"); err != nil {
		t.Fatal(err)
	}
	f.events.take()

	// A bare repository name saves all its tags.
	var buf bytes.Buffer
	if err := f.svc.Save(ctx, []string{"example.com/multi"}, &buf); err != nil {
		t.Fatal(err)
	}
	s := readSaved(t, buf.Bytes())
	if len(s.manifest) != 1 {
		t.Fatalf("manifest.json = %+v", s.manifest)
	}
	tags := s.manifest[0].RepoTags
	sort.Strings(tags)
	if !reflect.DeepEqual(tags, []string{"example.com/multi:1", "example.com/multi:2"}) {
		t.Errorf("RepoTags = %q", tags)
	}
	var layers []string
	for _, l := range m.layers {
		layers = append(layers, "blobs/sha256/"+l.Digest.Encoded())
	}
	if !reflect.DeepEqual(s.manifest[0].Layers, layers) || s.manifest[0].Config != "blobs/sha256/"+m.id[7:] {
		t.Errorf("manifest.json = %+v, want layers %q", s.manifest[0], layers)
	}
	if got, want := f.events.take(), []string{"image save " + m.id + " " + m.id}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}

	for _, name := range []string{"example.com/multi:1", "example.com/multi:2"} {
		if _, err := f.svc.Remove(ctx, name, false, false); err != nil {
			t.Fatal(err)
		}
	}
	lines, err := f.svc.Load(ctx, bytes.NewReader(buf.Bytes()))
	sort.Strings(lines)
	if err != nil || !reflect.DeepEqual(lines, []string{"Loaded image: example.com/multi:1", "Loaded image: example.com/multi:2"}) {
		t.Fatalf("Load = %q, %v", lines, err)
	}
	insp, err := f.svc.Inspect(ctx, "example.com/multi:2")
	if err != nil || insp.ID != m.id {
		t.Fatalf("Inspect = %+v, %v", insp, err)
	}
	if got := f.readFromImage(t, "example.com/multi:2", "hello.txt"); got != "hi from the second layer\n" {
		t.Errorf("hello.txt = %q", got)
	}

	// By ID: no name, and loaded as such.
	buf.Reset()
	if err := f.svc.Save(ctx, []string{m.id[7:19]}, &buf); err != nil {
		t.Fatal(err)
	}
	if s := readSaved(t, buf.Bytes()); len(s.manifest) != 1 || len(s.manifest[0].RepoTags) != 0 {
		t.Errorf("saved by ID: %+v", s.manifest)
	}
	for _, name := range []string{"example.com/multi:1", "example.com/multi:2"} {
		if _, err := f.svc.Remove(ctx, name, false, false); err != nil {
			t.Fatal(err)
		}
	}
	lines, err = f.svc.Load(ctx, bytes.NewReader(buf.Bytes()))
	if err != nil || !reflect.DeepEqual(lines, []string{"Loaded image ID: " + m.id}) {
		t.Errorf("Load of an archive saved by ID = %q, %v", lines, err)
	}
}

func TestSaveSeveral(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := f.loadBusybox(t)
	m := f.loadMulti(t, "example.com/multi:1")
	var buf bytes.Buffer
	if err := f.svc.Save(ctx, []string{"busybox:latest", "example.com/multi:1", "busybox"}, &buf); err != nil {
		t.Fatal(err)
	}
	s := readSaved(t, buf.Bytes())
	configs := map[string][]string{}
	for _, e := range s.manifest {
		configs[e.Config] = e.RepoTags
	}
	want := map[string][]string{
		"blobs/sha256/" + id[7:]:   {"busybox:latest"},
		"blobs/sha256/" + m.id[7:]: {"example.com/multi:1"},
	}
	if !reflect.DeepEqual(configs, want) {
		t.Errorf("manifest.json = %+v, want %v", s.manifest, want)
	}
}

func TestSaveUnknown(t *testing.T) {
	f := newFixture(t)
	f.loadBusybox(t)
	for _, refs := range [][]string{{"busybox", "nosuch:1"}, {"nosuch"}, {"sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}} {
		var buf bytes.Buffer
		err := f.svc.Save(context.Background(), refs, &buf)
		if !errdefs.IsNotFound(err) {
			t.Errorf("Save(%q) = %v, want NotFound", refs, err)
		}
		// Nothing was written: the API can still answer 404.
		if buf.Len() != 0 {
			t.Errorf("Save(%q) wrote %d bytes before failing", refs, buf.Len())
		}
	}
	if err := f.svc.Save(context.Background(), []string{"UPPER"}, io.Discard); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Save of an invalid reference = %v", err)
	}
	if err := f.svc.Save(context.Background(), []string{"nosuch:1"}, io.Discard); err == nil || err.Error() != "No such image: nosuch:1" {
		t.Errorf("Save(nosuch:1) = %v", err)
	}
}
