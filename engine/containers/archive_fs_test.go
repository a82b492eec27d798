package containers

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/go-archive"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

// hostile is a container root full of links that lead out of it, beside
// an "outside" directory holding a marker file that nothing may touch.
type hostile struct {
	base, root, outside, marker string
	// allowed are other directories under base that may change (the
	// sources of a view's bind mounts).
	allowed []string
}

const markerText = "original"

func newHostile(t testing.TB) *hostile {
	t.Helper()
	base := t.TempDir()
	h := &hostile{base: base, root: filepath.Join(base, "root"), outside: filepath.Join(base, "outside")}
	h.marker = filepath.Join(h.outside, "marker")
	for _, d := range []string{h.outside, filepath.Join(h.root, "etc"), filepath.Join(h.root, "dir", "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		h.marker:                               markerText,
		filepath.Join(h.root, "etc/passwd"):    "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
		filepath.Join(h.root, "etc/group"):     "root:x:0:\napp:x:1001:\nstaff:x:50:\n",
		filepath.Join(h.root, "dir/file"):      "file",
		filepath.Join(h.root, "dir/sub/inner"): "inner",
	}
	for p, data := range files {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"abs-root":  "/",
		"host-out":  h.outside,    // the host's absolute path of outside
		"host-mark": h.marker,     // and of the marker
		"rel-out":   "../outside", // one level up from root is outside
		"deep-out":  "../../../../../../../../" + strings.TrimPrefix(h.outside, "/"),
		"dir/up":    "../..",        // climbs past root
		"link-file": "/etc/passwd",  // an ordinary absolute link
		"dangling":  "/nonexistent", // points nowhere
		"loop":      "loop",
		"dir/rel":   "sub",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(h.root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// check fails the test if anything outside root changed: the marker's
// content, or a new file anywhere under base but root.
func (h *hostile) check(t testing.TB) {
	t.Helper()
	b, err := os.ReadFile(h.marker)
	if err != nil || string(b) != markerText {
		t.Fatalf("the marker outside the root changed: %q, %v", b, err)
	}
	var extra []string
	_ = filepath.WalkDir(h.base, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return nil
		case p == h.root, slices.Contains(h.allowed, p):
			return filepath.SkipDir
		case p == h.base, p == h.outside, p == h.marker:
			return nil
		}
		extra = append(extra, p)
		return nil
	})
	if len(extra) > 0 {
		t.Fatalf("files appeared outside the root: %v", extra)
	}
}

func TestStatPath(t *testing.T) {
	h := newHostile(t)
	for _, tc := range []struct {
		path   string
		name   string
		dir    bool
		link   bool
		target string
	}{
		{path: "/dir", name: "dir", dir: true},
		{path: "dir", name: "dir", dir: true},
		{path: "/dir/", name: "dir", dir: true},
		{path: "/dir/.", name: ".", dir: true},
		{path: "/", name: "/", dir: true},
		{path: "/dir/file", name: "file"},
		{path: "/dir/up/etc/passwd", name: "passwd"},
		{path: "/../../etc/passwd", name: "passwd"},
		{path: "/link-file", name: "link-file", link: true, target: "/etc/passwd"},
		{path: "/dangling", name: "dangling", link: true, target: "/nonexistent"},
		{path: "/abs-root", name: "abs-root", link: true, target: "/"},
		{path: "/rel-out", name: "rel-out", link: true, target: "/outside"},
		{path: "/dir/up", name: "up", link: true, target: "/"},
		{path: "/host-out", name: "host-out", link: true, target: h.outside},
		{path: "/dir/rel/", name: "rel", dir: true}, // a trailing slash follows the link
	} {
		t.Run(tc.path, func(t *testing.T) {
			st, err := statPath(h.root, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Name != tc.name || st.Mode.IsDir() != tc.dir || (st.Mode&os.ModeSymlink != 0) != tc.link || st.LinkTarget != tc.target {
				t.Errorf("stat = %+v", st)
			}
		})
	}
	// Through links that lead out of the root, the host's files are not
	// found: the links are followed inside the root.
	for _, p := range []string{"/host-out/marker", "/rel-out/marker", "/deep-out/marker", "/dir/up/../outside/marker", "/host-mark", "/etc/passwd/x", "/nosuch"} {
		t.Run(p, func(t *testing.T) {
			st, err := statPath(h.root, p)
			if p == "/host-mark" {
				// The link itself exists; it is not followed.
				if err != nil || st.LinkTarget != h.marker {
					t.Fatalf("stat = %+v, %v", st, err)
				}
				return
			}
			if !isNotFound(err) {
				t.Fatalf("stat = %+v, %v; want not found", st, err)
			}
		})
	}
	if _, err := statPath(h.root, "/loop/x"); err == nil {
		t.Error("a symlink loop resolved")
	}
}

// tarNames lists the names in a tar stream.
func tarNames(t *testing.T, r io.Reader) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
	}
}

func TestPathTarballerNames(t *testing.T) {
	h := newHostile(t)
	for path, want := range map[string][]string{
		"/dir":        {"dir/", "dir/file", "dir/rel", "dir/sub/", "dir/sub/inner", "dir/up"},
		"/dir/":       {"dir/", "dir/file", "dir/rel", "dir/sub/", "dir/sub/inner", "dir/up"},
		"/dir/.":      {"./", "./file", "./rel", "./sub/", "./sub/inner", "./up"},
		"/dir/file":   {"file"},
		"/dir/rel":    {"rel"}, // the link itself
		"/dir/rel/":   {"rel/", "rel/inner"},
		"/link-file":  {"link-file"},
		"/dir/up/etc": {"etc/", "etc/group", "etc/passwd"},
		"/host-out":   {"host-out"},
	} {
		t.Run(path, func(t *testing.T) {
			tb, _, err := newPathTarballer(h.root, path)
			if err != nil {
				t.Fatal(err)
			}
			go tb.Do()
			got := tarNames(t, tb.Reader())
			sort.Strings(got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("names = %q, want %q", got, want)
			}
		})
	}
	for _, p := range []string{"/host-out/marker", "/rel-out/", "/deep-out/."} {
		if _, _, err := newPathTarballer(h.root, p); !isNotFound(err) {
			t.Errorf("%s: err = %v, want not found", p, err)
		}
	}
	h.check(t)
}

// entry is one member of a test archive.
type entry struct {
	name     string
	typ      byte
	linkname string
	body     string
	mode     int64
}

func tarOf(t testing.TB, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.linkname, Mode: e.mode, Size: int64(len(e.body))}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if hdr.Typeflag == tar.TypeChar {
			hdr.Devmajor, hdr.Devminor = 1, 3
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// extractInto is PUT's engine path on a plain directory.
func extractInto(root, path string, r io.Reader, allowOverwrite bool) error {
	dest, _, err := extractTarget(root, path)
	if err != nil {
		return err
	}
	return extractTar(r, dest, extractOptions(allowOverwrite, nil))
}

// TestExtractHostile feeds archives that try to write outside the root.
// Whether each is refused or lands inside the root, the marker beside the
// root must stay as it was and nothing may appear outside the root. In
// names, @O stands for the host path of the outside directory and @M for
// the marker's.
func TestExtractHostile(t *testing.T) {
	for _, c := range []struct {
		name    string
		dest    string
		entries []entry
		refused bool   // the archive is refused as invalid (400)
		inside  string // a path that must exist under root afterwards
	}{
		{name: "dot-dot", dest: "/", entries: []entry{{name: "../outside/marker", body: "pwned"}}, refused: true},
		{name: "dot-dot deep", dest: "/dir", entries: []entry{{name: "a/../../../../outside/pwned", body: "x"}}, refused: true},
		{name: "absolute name", dest: "/", entries: []entry{{name: "@M", body: "pwned"}}, inside: "@M"},
		{name: "absolute symlink then write through it", dest: "/", entries: []entry{
			{name: "evil", typ: tar.TypeSymlink, linkname: "@O"},
			{name: "evil/pwned", body: "x"},
		}, inside: "@O/pwned"},
		{name: "relative symlink out then write through it", dest: "/", entries: []entry{
			{name: "evil", typ: tar.TypeSymlink, linkname: "../outside"},
			{name: "evil/pwned", body: "x"},
		}, refused: true},
		{name: "existing link to the host", dest: "/", entries: []entry{{name: "host-out/pwned", body: "x"}}, inside: "@O/pwned"},
		{name: "existing relative link out", dest: "/", entries: []entry{{name: "rel-out/pwned", body: "x"}}, refused: true},
		{name: "existing climbing link", dest: "/dir", entries: []entry{{name: "up/outside/pwned", body: "x"}}, refused: true},
		{name: "symlink overwritten by a file", dest: "/", entries: []entry{{name: "host-mark", body: "pwned"}}, inside: "/host-mark"},
		{name: "hardlink out", dest: "/", entries: []entry{{name: "hl", typ: tar.TypeLink, linkname: "../outside/marker"}}, refused: true},
		{name: "hardlink to the host path", dest: "/", entries: []entry{{name: "hl", typ: tar.TypeLink, linkname: "@M"}}, refused: true},
		{name: "hardlink through a link out", dest: "/", entries: []entry{{name: "hl", typ: tar.TypeLink, linkname: "host-out/marker"}}, refused: true},
		{name: "hardlink to a link, then written", dest: "/", entries: []entry{
			{name: "hl", typ: tar.TypeLink, linkname: "host-mark"},
			{name: "hl", body: "pwned"},
		}, inside: "/hl"},
		{name: "device node skipped", dest: "/", entries: []entry{{name: "null", typ: tar.TypeChar}, {name: "after", body: "ok"}}, inside: "/after"},
		{name: "dir replaced by a link out", dest: "/", entries: []entry{
			{name: "d", typ: tar.TypeDir, mode: 0o755},
			{name: "d", typ: tar.TypeSymlink, linkname: "@O"},
			{name: "d/pwned", body: "x"},
		}, refused: true, inside: "@O/pwned"},
		{name: "whiteout is a plain file", dest: "/", entries: []entry{{name: ".wh.etc", body: ""}}, inside: "/etc/passwd"},
		{name: "link loop", dest: "/", entries: []entry{{name: "loop/x", body: "x"}}, refused: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHostile(t)
			fix := strings.NewReplacer("@O", h.outside, "@M", h.marker).Replace
			var es []entry
			for _, e := range c.entries {
				e.name, e.linkname = fix(e.name), fix(e.linkname)
				es = append(es, e)
			}
			err := extractInto(h.root, c.dest, tarOf(t, es...), true)
			switch {
			case c.refused && !errdefs.IsInvalidArgument(err):
				t.Errorf("err = %v, want an invalid archive", err)
			case !c.refused && err != nil:
				t.Errorf("err = %v", err)
			}
			if c.inside != "" {
				if _, err := os.Lstat(filepath.Join(h.root, fix(c.inside))); err != nil {
					t.Errorf("%s was not written inside the root: %v", c.inside, err)
				}
			}
			h.check(t)
		})
	}
}

func TestExtractTarget(t *testing.T) {
	h := newHostile(t)
	for path, want := range map[string]string{
		"/dir": "/dir", "dir/sub/": "/dir/sub", "/dir/rel": "/dir/sub", "/dir/up": "/", "/abs-root": "/", "/../..": "/",
	} {
		if _, got, err := extractTarget(h.root, path); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", path, got, err, want)
		}
	}
	for _, path := range []string{"/host-out", "/rel-out", "/deep-out", "/nosuch", "/dangling"} {
		if _, got, err := extractTarget(h.root, path); !isNotFound(err) {
			t.Errorf("%s: %q, %v; want not found", path, got, err)
		}
	}
	for _, path := range []string{"/dir/file", "/dir/file/x", "/link-file"} {
		if _, _, err := extractTarget(h.root, path); !errdefs.IsInvalidArgument(err) || err.Error() != "extraction point is not a directory" {
			t.Errorf("%s: %v", path, err)
		}
	}
	h.check(t)
}

func TestExtractOverwriteRules(t *testing.T) {
	h := newHostile(t)
	err := extractInto(h.root, "/", tarOf(t, entry{name: "dir", body: "now a file"}), false)
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "cannot overwrite directory") {
		t.Errorf("dir by file: %v", err)
	}
	err = extractInto(h.root, "/", tarOf(t, entry{name: "dir/file", typ: tar.TypeDir, mode: 0o755}), false)
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "cannot overwrite non-directory") {
		t.Errorf("file by dir: %v", err)
	}
	if err := extractInto(h.root, "/", tarOf(t, entry{name: "dir", body: "now a file"}), true); err != nil {
		t.Errorf("allowed overwrite: %v", err)
	}
	if err := extractInto(h.root, "/", strings.NewReader("this is not a tar archive, it is far too short"), true); !errdefs.IsInvalidArgument(err) {
		t.Errorf("garbage: %v", err)
	}
}

func TestContainerOwner(t *testing.T) {
	h := newHostile(t)
	for spec, want := range map[string]archive.ChownOpts{
		"app": {UID: 1000, GID: 1001}, "app:staff": {UID: 1000, GID: 50}, "1000": {UID: 1000, GID: 1001},
		"4242": {UID: 4242, GID: 0}, "4242:77": {UID: 4242, GID: 77}, "root": {},
	} {
		got, err := containerOwner(h.root, spec)
		if err != nil || got == nil || *got != want {
			t.Errorf("%s: %+v, %v; want %+v", spec, got, err, want)
		}
	}
	if got, err := containerOwner(h.root, ""); got != nil || err != nil {
		t.Errorf("no user: %+v, %v", got, err)
	}
	if _, err := containerOwner(h.root, "nobody"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("unknown user: %v", err)
	}
}

func TestCheckWritable(t *testing.T) {
	hc := &container.HostConfig{
		Binds:  []string{"/src/a:/data", "/src/b:/data/ro:ro", "/src/c:/conf:ro"},
		Mounts: []mount.Mount{{Type: mount.TypeTmpfs, Target: "/scratch"}},
	}
	ro := &container.HostConfig{ReadonlyRootfs: true, Binds: hc.Binds, Mounts: hc.Mounts}
	for _, tc := range []struct {
		hc   *container.HostConfig
		path string
		msg  string
	}{
		{hc, "/", ""}, {hc, "/data", ""}, {hc, "/data/x", ""}, {hc, "/dataset", ""},
		{hc, "/data/ro", "mounted volume is marked read-only"}, {hc, "/data/ro/deep", "mounted volume is marked read-only"},
		{hc, "/conf", "mounted volume is marked read-only"},
		{ro, "/tmp", "container rootfs is marked read-only"}, {ro, "/data", ""}, {ro, "/scratch/x", ""},
		{ro, "/conf", "mounted volume is marked read-only"},
	} {
		err := checkWritable(tc.hc, tc.path)
		if (tc.msg == "" && err != nil) || (tc.msg != "" && (!errdefs.IsInvalidArgument(err) || err.Error() != tc.msg)) {
			t.Errorf("%s (read-only root %v): %v, want %q", tc.path, tc.hc.ReadonlyRootfs, err, tc.msg)
		}
	}
}

func TestUserChanges(t *testing.T) {
	in := []archive.Change{
		{Path: "/etc", Kind: archive.ChangeModify},
		{Path: "/etc/hosts", Kind: archive.ChangeAdd},
		{Path: "/etc/hostname", Kind: archive.ChangeAdd},
		{Path: "/proc", Kind: archive.ChangeAdd},
		{Path: "/dev", Kind: archive.ChangeAdd},
		{Path: "/dev/console", Kind: archive.ChangeAdd},
		{Path: "/newfile", Kind: archive.ChangeAdd},
		{Path: "/usr", Kind: archive.ChangeModify},
		{Path: "/usr/old", Kind: archive.ChangeDelete},
		{Path: "/devices", Kind: archive.ChangeAdd},
	}
	want := []container.FilesystemChange{
		{Path: "/devices", Kind: container.ChangeAdd},
		{Path: "/newfile", Kind: container.ChangeAdd},
		{Path: "/usr", Kind: container.ChangeModify},
		{Path: "/usr/old", Kind: container.ChangeDelete},
	}
	if got := userChanges(in); !reflect.DeepEqual(got, want) {
		t.Errorf("changes = %+v", got)
	}
	// /etc stays when the user changed something in it too.
	in = append(in, archive.Change{Path: "/etc/motd", Kind: archive.ChangeAdd})
	got := userChanges(in)
	if got[0].Path != "/devices" || got[1] != (container.FilesystemChange{Path: "/etc", Kind: container.ChangeModify}) || got[2].Path != "/etc/motd" {
		t.Errorf("changes = %+v", got)
	}
	if got := userChanges(nil); got == nil || len(got) != 0 {
		t.Errorf("no changes = %#v", got)
	}
}

func TestPathErrors(t *testing.T) {
	err := pathError(&fs.PathError{Op: "lstat", Path: "/x", Err: fs.ErrNotExist}, "web", "/x")
	if !errdefs.IsNotFound(err) || err.Error() != "Could not find the file /x in container web" {
		t.Errorf("not found: %v", err)
	}
	if err := pathError(errdefs.ErrInvalidArgument.WithMessage("bad"), "web", "/x"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("invalid: %v", err)
	}
	if err := pathError(errors.New("disk on fire"), "web", "/x"); !errdefs.IsUnknown(err) {
		t.Errorf("other: %v", err)
	}
}
