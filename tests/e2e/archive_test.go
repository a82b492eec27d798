package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostileEntry is one member of a hostile archive.
type hostileEntry struct {
	name, link string
	typ        byte
	body       string
}

func hostileTar(t *testing.T, entries ...hostileEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.body))
		}
		if hdr.Typeflag == tar.TypeChar {
			hdr.Devmajor, hdr.Devminor = 1, 3
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// apiSocket is the daemon's socket, whoever started it.
func apiSocket(t *testing.T) string {
	t.Helper()
	sock, ok := strings.CutPrefix(harness.dockerHost, "unix://")
	if !ok {
		t.Skipf("the archive test needs a unix socket, not %s", harness.dockerHost)
	}
	return sock
}

// putArchive PUTs a tar into ref's directory dir and returns the status
// and body.
func putArchive(t *testing.T, ref, dir string, tarball []byte) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	resp, err := unixRequest(ctx, apiSocket(t), http.MethodPut,
		"/containers/"+ref+"/archive?noOverwriteDirNonDir=true&path="+url.QueryEscape(dir),
		http.Header{"Content-Type": {"application/x-tar"}}, bytes.NewReader(tarball))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestArchiveHostile sends archives that try to write outside the
// container, to a running container and to one that never ran. The
// daemon's user could write the marker beside them, so only the engine's
// containment keeps it as it is.
func TestArchiveHostile(t *testing.T) {
	outside, err := os.MkdirTemp("", "roost-e2e-outside-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(outside) })
	marker := filepath.Join(outside, "marker")
	if err := os.WriteFile(marker, []byte("original"), 0o666); err != nil {
		t.Fatal(err)
	}
	// Writable by anyone: an escape would succeed if it were not stopped.
	for _, p := range []string{outside, marker} {
		if err := os.Chmod(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	climb := strings.Repeat("../", 20)

	removeOnCleanup(t, "cphostile-run", "cphostile-new")
	dockerOK(t, "run", "-d", "--name", "cphostile-run", "busybox", "sleep", "300")
	dockerOK(t, "create", "--name", "cphostile-new", "busybox", "true")

	for _, ref := range []string{"cphostile-run", "cphostile-new"} {
		t.Run(ref, func(t *testing.T) {
			for _, tc := range []struct {
				name    string
				entries []hostileEntry
				status  int
			}{
				{"dot-dot", []hostileEntry{{name: climb + strings.TrimPrefix(marker, "/"), body: "pwned"}}, 400},
				{"absolute name", []hostileEntry{{name: marker, body: "pwned"}}, 200},
				{"absolute symlink, then through it", []hostileEntry{
					{name: "abs", typ: tar.TypeSymlink, link: outside}, {name: "abs/marker", body: "pwned"}}, 200},
				{"climbing symlink, then through it", []hostileEntry{
					{name: "rel", typ: tar.TypeSymlink, link: climb + strings.TrimPrefix(outside, "/")}, {name: "rel/marker", body: "pwned"}}, 400},
				// The host's path, taken inside /tmp: the "absolute name"
				// case made that file there.
				{"hardlink to the host's marker", []hostileEntry{{name: "hl", typ: tar.TypeLink, link: marker}}, 200},
				{"climbing hardlink", []hostileEntry{{name: "hl2", typ: tar.TypeLink, link: climb + strings.TrimPrefix(marker, "/")}}, 400},
				{"device node, skipped", []hostileEntry{{name: "null2", typ: tar.TypeChar}, {name: "after-dev", body: "ok"}}, 200},
				{"not a tar", nil, 400},
			} {
				t.Run(tc.name, func(t *testing.T) {
					tarball := hostileTar(t, tc.entries...)
					if tc.entries == nil {
						tarball = []byte(strings.Repeat("not a tar archive ", 40))
					}
					status, body := putArchive(t, ref, "/tmp", tarball)
					if status != tc.status {
						t.Errorf("status %d, want %d: %s", status, tc.status, body)
					}
				})
			}
			// Links the container holds that name the host's paths lead
			// to the container's files, never the host's.
			dockerOK(t, "cp", "-", ref+":/") // an empty archive is fine
			status, body := putArchive(t, ref, "/", hostileTar(t,
				hostileEntry{name: "out-abs", typ: tar.TypeSymlink, link: outside},
				hostileEntry{name: "out-rel", typ: tar.TypeSymlink, link: climb + strings.TrimPrefix(outside, "/")}))
			if status != 200 {
				t.Fatalf("links: %d %s", status, body)
			}
			for _, p := range []string{"/out-abs/marker", "/out-rel/marker"} {
				r := docker(t, "cp", ref+":"+p, "-")
				if r.Err == nil || !strings.Contains(r.Stderr, "Could not find the file "+p) {
					t.Errorf("cp %s: %v", p, r)
				}
			}
			// What did land, landed inside the container.
			out := dockerOK(t, "cp", ref+":/tmp", "-")
			for _, want := range []string{"tmp/after-dev", "tmp" + marker, "tmp/abs"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s is not in the container's /tmp", want)
				}
			}
		})
	}

	b, err := os.ReadFile(marker)
	if err != nil || string(b) != "original" {
		t.Fatalf("the marker outside the container changed: %q, %v", b, err)
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Fatalf("files appeared beside the marker: %v", entries)
	}
	// The daemon still works.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r := runDocker(ctx, "cp", "cphostile-run:/etc/hostname", "-"); r.Err != nil {
		t.Fatal(r)
	}
}
