package containers

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fuzz tests run their seeds in every `go test`; fuzz them with
//
//	go test -run '^$' -fuzz FuzzResolveInRoot ./engine/containers/
//	go test -run '^$' -fuzz FuzzExtract ./engine/containers/

// within tells whether p is root or below it.
func within(root, p string) bool {
	return p == root || strings.HasPrefix(p, root+"/")
}

// realWithin checks where p really is: the longest part of it that exists,
// with every symlink the kernel would follow resolved, must be in root.
func realWithin(t *testing.T, realRoot, p string) {
	t.Helper()
	for q := p; ; q = filepath.Dir(q) {
		real, err := filepath.EvalSymlinks(q)
		if err == nil {
			if !within(realRoot, real) {
				t.Fatalf("%s leads to %s, outside the root %s", p, real, realRoot)
			}
			return
		}
		if q == "/" || q == "." {
			t.Fatalf("nothing of %s exists", p)
		}
	}
}

var resolveSeeds = []string{
	"", "/", ".", "..", "../..", "/../../etc/passwd", "dir/up/../../outside/marker", "host-out/marker",
	"rel-out/../rel-out/marker", "deep-out", "dir/rel/.", "dir/up/", "loop/x", "link-file/x",
	"/dangling/../etc", "abs-root/abs-root/abs-root/dir/up/up", "dir/./../..//host-mark", "\x00", "a\x00b",
	"//host-out//", "dir/sub/../../../../../../", ".../...", "dir/up/dir/up/dir/up/host-out/",
}

// FuzzResolveInRoot: no path resolves outside the root, however it uses
// the root's links (absolute, climbing, to host paths, looping).
func FuzzResolveInRoot(f *testing.F) {
	for _, s := range resolveSeeds {
		f.Add(s)
	}
	h := newHostile(f)
	realRoot, err := filepath.EvalSymlinks(h.root)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if res, err := resolveInRoot(h.root, p); err == nil {
			if !within(h.root, res) {
				t.Fatalf("resolveInRoot(%q) = %s, outside %s", p, res, h.root)
			}
			realWithin(t, realRoot, res)
		}
		if full, err := lookupPath(h.root, p); err == nil {
			// The last element is not followed (it is lstat'ed), so its
			// directory is what must be inside.
			if !within(h.root, full) {
				t.Fatalf("lookupPath(%q) = %s, outside %s", p, full, h.root)
			}
			if full != h.root {
				realWithin(t, realRoot, filepath.Dir(full))
			}
		}
		if st, err := statPath(h.root, p); err == nil && st.LinkTarget != "" {
			if !strings.HasPrefix(st.LinkTarget, "/") {
				t.Fatalf("statPath(%q).LinkTarget = %q, not absolute in the container", p, st.LinkTarget)
			}
			realWithin(t, realRoot, filepath.Join(h.root, st.LinkTarget))
		}
		if dest, _, err := extractTarget(h.root, p); err == nil {
			realWithin(t, realRoot, dest)
		}
	})
}

// FuzzExtract: whatever the names, link targets and types of an
// archive's entries, extracting it changes nothing outside the root.
func FuzzExtract(f *testing.F) {
	type seed struct {
		dest, n1     string
		t1           byte
		l1, n2       string
		t2           byte
		l2, n3, body string
	}
	for _, s := range []seed{
		{"/", "evil", tar.TypeSymlink, "@O", "evil/pwned", tar.TypeReg, "", "", "x"},
		{"/", "evil", tar.TypeSymlink, "../outside", "evil/pwned", tar.TypeReg, "", "", "x"},
		{"/dir", "../../outside/marker", tar.TypeReg, "", "", tar.TypeReg, "", "", "x"},
		{"/", "hl", tar.TypeLink, "../outside/marker", "hl", tar.TypeReg, "", "", "x"},
		{"/", "hl", tar.TypeLink, "host-mark", "hl", tar.TypeReg, "", "hl", "x"},
		{"/", "@M", tar.TypeReg, "", "host-out/x", tar.TypeReg, "", "rel-out/x", "x"},
		{"/", "d", tar.TypeDir, "", "d", tar.TypeSymlink, "@O", "d/x", "x"},
		{"/dir/up", "host-out", tar.TypeSymlink, "..", "host-out/outside/marker", tar.TypeReg, "", "", "x"},
		{"/", "a/b", tar.TypeSymlink, "/../../..", "a/b/outside/marker", tar.TypeLink, "@M", "", "x"},
		{"/", "c", tar.TypeChar, "", "f", tar.TypeFifo, "", "dir/up/x", ""},
		{"/deep-out", "x", tar.TypeReg, "", "", tar.TypeReg, "", "", "x"},
		{"/", ".wh..wh..opq", tar.TypeReg, "", ".wh.dir", tar.TypeReg, "", "", ""},
	} {
		f.Add(s.dest, s.n1, s.t1, s.l1, s.n2, s.t2, s.l2, s.n3, s.body)
	}
	f.Fuzz(func(t *testing.T, dest, n1 string, t1 byte, l1, n2 string, t2 byte, l2, n3, body string) {
		h := newHostile(t)
		fix := strings.NewReplacer("@O", h.outside, "@M", h.marker).Replace
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range []struct {
			name, link string
			typ        byte
		}{{n1, l1, t1}, {n2, l2, t2}, {n3, "", tar.TypeReg}} {
			if e.name == "" {
				continue
			}
			hdr := &tar.Header{Name: fix(e.name), Linkname: fix(e.link), Typeflag: e.typ, Mode: 0o644}
			if e.typ == tar.TypeReg {
				hdr.Size = int64(len(body))
			}
			if tw.WriteHeader(hdr) != nil {
				return // not an archive tar can write
			}
			if hdr.Size > 0 {
				tw.Write([]byte(body))
			}
		}
		if tw.Close() != nil {
			return
		}
		_ = extractInto(h.root, fix(dest), &buf, true)
		h.check(t)
		// Nothing under the root leads out of it either, except the links
		// that are followed inside it (checked by FuzzResolveInRoot).
		if b, err := os.ReadFile(h.marker); err != nil || string(b) != markerText {
			t.Fatalf("marker: %q, %v", b, err)
		}
	})
}
