package busyboximg

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

func members(t *testing.T, data []byte) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = hdr
	}
}

func TestRootfs(t *testing.T) {
	layer, err := Layer()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Layer()
	if !bytes.Equal(layer, again) {
		t.Error("the layer is not deterministic")
	}
	m := members(t, layer)
	for name, mode := range map[string]int64{
		"bin/busybox": 0o755, "etc/passwd": 0o644, "etc/group": 0o644, "index.html": 0o644,
		"var/www/index.html": 0o644, "tmp/": 0o1777, "root/": 0o700, "dev/": 0o755, "proc/": 0o755, "sys/": 0o755,
	} {
		hdr, ok := m[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if hdr.Mode != mode || hdr.Uid != 0 || hdr.Gid != 0 || !hdr.ModTime.Equal(Epoch) {
			t.Errorf("%s: mode %o uid %d gid %d mtime %v", name, hdr.Mode, hdr.Uid, hdr.Gid, hdr.ModTime)
		}
	}
	if sh := m["bin/sh"]; sh == nil || sh.Typeflag != tar.TypeSymlink || sh.Linkname != "/bin/busybox" {
		t.Errorf("bin/sh = %+v", sh)
	}
}

func TestDockerArchive(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteDockerArchive(&a, DefaultTag); err != nil {
		t.Fatal(err)
	}
	if err := WriteDockerArchive(&b, DefaultTag); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the archive is not deterministic")
	}
	m := members(t, a.Bytes())
	for _, name := range []string{"manifest.json", "index.json", "oci-layout"} {
		if m[name] == nil {
			t.Errorf("%s missing", name)
		}
	}

	// manifest.json names the config, whose digest is the image ID.
	tr := tar.NewReader(bytes.NewReader(a.Bytes()))
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name == "manifest.json" {
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	id, err := ImageID()
	if err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 1 || manifest[0].RepoTags[0] != "busybox:latest" || manifest[0].Config != "blobs/sha256/"+id[len("sha256:"):] {
		t.Errorf("manifest.json = %+v, image ID %s", manifest, id)
	}
	if err := WriteDockerArchive(io.Discard, "Bad:Tag"); err == nil {
		t.Error("an invalid tag was accepted")
	}
}
