package containers

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

// readTar returns the regular files of a tar by name.
func readTar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[hdr.Name] = string(b)
	}
}

func (e *env) cpOut(ref, path string) map[string]string {
	e.t.Helper()
	rc, _, err := e.svc.ArchivePath(context.Background(), ref, path)
	if err != nil {
		e.t.Fatalf("archive %s:%s: %v", ref, path, err)
	}
	defer rc.Close()
	return readTar(e.t, rc)
}

func (e *env) cpIn(ref, path string, entries ...entry) error {
	return e.svc.ExtractToDir(context.Background(), ref, path, ExtractOptions{}, tarOf(e.t, entries...))
}

func TestArchiveStoppedContainer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bind := t.TempDir()
	id := e.create("cp-created", sh("cat /tmp/hello.txt /data/in-bind.txt"), container.HostConfig{Binds: []string{bind + ":/data"}})

	// Into a container that never ran, and into its bind mount.
	if err := e.cpIn(id, "/tmp", entry{name: "hello.txt", body: "hello\n"}); err != nil {
		t.Fatal(err)
	}
	if err := e.cpIn(id, "/data", entry{name: "in-bind.txt", body: "bind\n"}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(bind, "in-bind.txt")); err != nil || string(b) != "bind\n" {
		t.Fatalf("bind source: %q, %v", b, err)
	}
	st, err := e.svc.StatPath(ctx, "cp-created", "/tmp/hello.txt")
	if err != nil || st.Name != "hello.txt" || st.Size != 6 {
		t.Fatalf("stat: %+v, %v", st, err)
	}
	if err := e.svc.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if w := e.wait(id, container.WaitConditionNotRunning); w.StatusCode != 0 {
		t.Fatalf("exit %d", w.StatusCode)
	}
	if out, _ := e.logs(id); out != "hello\nbind\n" {
		t.Fatalf("the container saw %q", out)
	}

	// Out of the exited container, with dockerd's names.
	if got := e.cpOut(id, "/tmp/hello.txt"); got["hello.txt"] != "hello\n" {
		t.Errorf("file: %v", got)
	}
	if got := e.cpOut(id, "/tmp/."); got["./hello.txt"] != "hello\n" {
		t.Errorf("dir content: %v", got)
	}
	if got := e.cpOut(id, "/data"); got["data/in-bind.txt"] != "bind\n" {
		t.Errorf("bind mount: %v", got)
	}
	if got := e.cpOut(id, "/etc/hostname"); got["hostname"] != id[:12]+"\n" {
		t.Errorf("/etc/hostname: %v", got)
	}

	changes, err := e.svc.Changes(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(changes, container.FilesystemChange{Path: "/tmp/hello.txt", Kind: container.ChangeAdd}) {
		t.Errorf("changes: %+v", changes)
	}
	for _, c := range changes {
		if c.Path == "/etc" || c.Path == "/proc" || c.Path == "/etc/hosts" {
			t.Errorf("runtime path in the changes: %+v", changes)
		}
	}
	checkExport(t, e, id)
	if got := e.events.actions(id); !slices.Contains(got, "extract-to-dir") || !slices.Contains(got, "archive-path") || !slices.Contains(got, "export") {
		t.Errorf("events: %v", got)
	}
}

func TestArchiveRunningContainer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	marker := filepath.Join(t.TempDir(), "marker")
	if err := os.WriteFile(marker, []byte(markerText), 0o644); err != nil {
		t.Fatal(err)
	}
	id := e.create("cp-running", sh("mkdir -p /scratch && echo live > /scratch/f && while :; do sleep 1; done"),
		container.HostConfig{Tmpfs: map[string]string{"/scratch": ""}})
	if err := e.svc.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.svc.Remove(ctx, id, true, false) })

	if err := e.cpIn(id, "/", entry{name: "opt/new.txt", body: "new\n"}); err != nil {
		t.Fatal(err)
	}
	if got := e.cpOut(id, "/opt"); got["opt/new.txt"] != "new\n" {
		t.Errorf("round trip: %v", got)
	}
	// The running container's tmpfs is seen live.
	waitFor(t, "the tmpfs file", func() bool {
		rc, _, err := e.svc.ArchivePath(ctx, id, "/scratch/f")
		if err != nil {
			return false
		}
		defer rc.Close()
		return readTar(t, rc)["f"] == "live\n"
	})
	// Hostile archives: refused, or kept inside the container.
	for _, es := range [][]entry{
		{{name: "../../../../.." + marker, body: "pwned"}},
		{{name: "esc", typ: tar.TypeSymlink, linkname: filepath.Dir(marker)}, {name: "esc/marker", body: "pwned"}},
		{{name: "rel", typ: tar.TypeSymlink, linkname: "../../../../../../../../" + filepath.Dir(marker)}, {name: "rel/marker", body: "pwned"}},
		{{name: "hl", typ: tar.TypeLink, linkname: marker}},
	} {
		_ = e.cpIn(id, "/tmp", es...)
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != markerText {
		t.Fatalf("the marker outside the container changed: %q, %v", b, err)
	}
	// go-archive follows an absolute link in an archive inside the
	// extraction directory (here /tmp), as dockerd's does.
	if got := e.cpOut(id, "/tmp"+marker); got["marker"] != "pwned" {
		t.Errorf("the write through the link should land in the container: %v", got)
	}

	_, err := e.svc.StatPath(ctx, "cp-running", "/nosuch")
	if !errdefs.IsNotFound(err) || err.Error() != "Could not find the file /nosuch in container cp-running" {
		t.Errorf("missing path: %v", err)
	}
	if err := e.cpIn(id, "/opt/new.txt", entry{name: "x"}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("extract onto a file: %v", err)
	}
	changes, err := e.svc.Changes(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(changes, container.FilesystemChange{Path: "/opt/new.txt", Kind: container.ChangeAdd}) {
		t.Errorf("changes: %+v", changes)
	}
	checkExport(t, e, id)
}

func TestArchiveReadOnly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.create("cp-ro", sh("true"), container.HostConfig{ReadonlyRootfs: true, Binds: []string{t.TempDir() + ":/ro:ro", t.TempDir() + ":/rw"}})
	for path, msg := range map[string]string{"/tmp": "container rootfs is marked read-only", "/ro": "mounted volume is marked read-only", "/rw": ""} {
		err := e.cpIn(id, path, entry{name: "f", body: "x"})
		if (msg == "" && err != nil) || (msg != "" && (!errdefs.IsInvalidArgument(err) || err.Error() != msg)) {
			t.Errorf("%s: %v, want %q", path, err, msg)
		}
	}
	if _, err := e.svc.StatPath(ctx, "nosuch", "/"); !errdefs.IsNotFound(err) || err.Error() != "No such container: nosuch" {
		t.Errorf("missing container: %v", err)
	}
}

// checkExport checks that the export of id is its whole root filesystem,
// without the mounts.
func checkExport(t *testing.T, e *env, id string) {
	t.Helper()
	rc, err := e.svc.Export(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	names := tarNames(t, &buf)
	if !slices.Contains(names, "bin/busybox") {
		t.Errorf("export lacks bin/busybox: %d entries", len(names))
	}
	for _, n := range names {
		if strings.HasPrefix(n, "data/in-bind") || strings.HasPrefix(n, "proc/self") {
			t.Errorf("export has a mount's file %s", n)
		}
	}
}
