package containers

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/go-archive"
)

// needMountNS skips a test that makes mount namespaces when the process
// cannot: it must be root, or root of a user namespace (hack/userns.sh).
func needMountNS(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("making a mount namespace needs root: run the tests as root or through hack/userns.sh")
	}
}

// hostView is a view of h's root with two bind mounts, /data (read-write)
// and /ro (read-only), made the way a stopped container's view is.
func hostView(t *testing.T, h *hostile) (v *fsView, data, ro string) {
	t.Helper()
	data, ro = filepath.Join(h.base, "data"), filepath.Join(h.base, "rosrc")
	attach := filepath.Join(h.base, "attach")
	h.allowed = append(h.allowed, data, ro, attach)
	for _, d := range []string{data, ro, attach} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(ro, "kept"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	mounts := []mountSpec{{target: "/data", source: data}, {target: "/dir/sub/ro", source: ro, ro: true}}
	v, err := openView(viewSpec{
		attachDir: attach,
		layout:    layoutRoot,
		inHost: func(tr *viewTrees) (err error) {
			if tr.root, err = cloneTree(h.root, true); err != nil {
				return err
			}
			return cloneFromHost(tr, mounts)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v, data, ro
}

// TestViewConfinement checks the kernel's half of the containment: inside a
// view, the host's paths do not exist at all, so links that name them
// (absolute, or climbing with "..") can only reach the container's files.
func TestViewConfinement(t *testing.T) {
	needMountNS(t)
	h := newHostile(t)
	v, data, ro := hostView(t, h)

	err := v.run(func() error {
		// The host's copy of the marker is out of reach, by any path.
		for _, p := range []string{h.marker, "/host-mark", "/host-out/marker", "/rel-out/marker", "/deep-out/marker", "/dir/up/../../outside/marker"} {
			if _, err := os.ReadFile(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("read %s in the view: %v, want not found", p, err)
			}
		}
		if b, err := os.ReadFile("/link-file"); err != nil || !strings.HasPrefix(string(b), "root:x:0:0") {
			t.Errorf("the container's own link: %q, %v", b, err)
		}
		st, err := statPath("/", "/host-out")
		if err != nil || st.LinkTarget != h.outside {
			t.Errorf("stat of a link to a host path: %+v, %v", st, err)
		}
		// Writes through every kind of escaping link land in the view.
		tarball := tarOf(t,
			entry{name: "host-out/pwned", body: "x"},
			entry{name: "abs-root/pwned", body: "x"},
			entry{name: "evil", typ: 0, body: "plain"},
			entry{name: h.marker, body: "pwned"},
			entry{name: "data/through-bind", body: "bind"},
		)
		if err := extractInto("/", "/", tarball, true); err != nil {
			t.Errorf("extract: %v", err)
		}
		// A read-only bind stays read-only.
		err = extractInto("/", "/dir/sub/ro", tarOf(t, entry{name: "new", body: "x"}), true)
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("extract into a read-only bind: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h.check(t)
	if _, err := os.Stat(filepath.Join(h.root, strings.TrimPrefix(h.outside, "/"), "pwned")); err != nil {
		t.Errorf("the write through the link did not land in the root: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(data, "through-bind")); err != nil || string(b) != "bind" {
		t.Errorf("write through the bind mount: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(ro, "new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the read-only bind was written: %v", err)
	}
	// The missing mount point was made in the root, as dockerd does.
	if fi, err := os.Stat(filepath.Join(h.root, "data")); err != nil || !fi.IsDir() {
		t.Errorf("mount point /data: %v", err)
	}
}

// TestViewTar reads a whole view, as export does: the bind mount's file is
// in it, nothing of the host is.
func TestViewTar(t *testing.T) {
	needMountNS(t)
	h := newHostile(t)
	v, data, _ := hostView(t, h)
	if err := os.WriteFile(filepath.Join(data, "in-bind"), []byte("b"), 0o644); err != nil {
		t.Fatal(err)
	}
	tb, err := archive.NewTarballer("/", &archive.TarOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := &viewReader{ReadCloser: tb.Reader(), view: v}
	v.start(tb.Do)
	names := tarNames(t, r)
	r.Close()
	sort.Strings(names)
	want := []string{"data/", "data/in-bind", "dir/", "dir/file", "dir/rel", "dir/sub/", "dir/sub/inner", "dir/sub/ro/", "dir/sub/ro/kept", "etc/", "etc/group", "etc/passwd"}
	for _, w := range want {
		if i := sort.SearchStrings(names, w); i >= len(names) || names[i] != w {
			t.Errorf("%s missing from %q", w, names)
		}
	}
	for _, n := range names {
		if strings.Contains(n, "outside") || strings.Contains(n, "marker") {
			t.Errorf("host file %s in the tar", n)
		}
	}
}

// TestViewGoesAway checks that a closed view leaves no mount behind and
// holds nothing: its attach point is empty again.
func TestViewGoesAway(t *testing.T) {
	needMountNS(t)
	h := newHostile(t)
	v, _, _ := hostView(t, h)
	if err := v.run(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	v.Close()
	v.Close() // twice is fine
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), h.base) {
		t.Errorf("a mount of the view is left:\n%s", b)
	}
	if es, err := os.ReadDir(filepath.Join(h.base, "attach")); err != nil || len(es) != 0 {
		t.Errorf("attach point: %v, %v", es, err)
	}
}

func TestViewBadSpec(t *testing.T) {
	needMountNS(t)
	h := newHostile(t)
	_, err := openView(viewSpec{attachDir: filepath.Join(h.base, "nosuch"), inHost: func(tr *viewTrees) (err error) {
		tr.root, err = cloneTree(h.root, true)
		return err
	}})
	if err == nil {
		t.Fatal("a view on a missing attach point opened")
	}
	if _, err := openView(viewSpec{attachDir: h.base, inHost: func(*viewTrees) error { return nil }}); err == nil {
		t.Fatal("a view without a root opened")
	}
}
