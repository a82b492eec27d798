package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/roostd/roost/tests/busybox/busyboximg"
)

// An image whose layers hold files of other owners than root, as most
// images from a registry do: what a single-ID engine squashes to root and
// an engine with subordinate IDs keeps.
//
// Layer 2 adds /owned (1000:1000) with a script of 1000:1000, a 0600 file
// of nobody (65534:65534), a setuid file of 1000, a file that layer 3
// deletes and a directory layer 3 makes opaque; layer 3 removes them with
// a whiteout and an opaque marker, so that extraction through the
// snapshotter's mount is checked to keep overlayfs' deletions.

type tarEntry struct {
	name     string
	typ      byte
	mode     int64
	uid, gid int
	data     string
}

var ownersLayer = []tarEntry{
	{name: "owned/", typ: tar.TypeDir, mode: 0o755, uid: 1000, gid: 1000},
	{name: "owned/script.sh", typ: tar.TypeReg, mode: 0o755, uid: 1000, gid: 1000, data: "#!/bin/sh\necho script ran\n"},
	{name: "owned/nobody", typ: tar.TypeReg, mode: 0o600, uid: 65534, gid: 65534, data: "nobody's secret\n"},
	{name: "owned/suid", typ: tar.TypeReg, mode: 0o4755, uid: 1000, gid: 1000, data: "#!/bin/sh\n"},
	{name: "owned/gone", typ: tar.TypeReg, mode: 0o644, uid: 1000, gid: 1000, data: "deleted by the next layer\n"},
	{name: "opq/", typ: tar.TypeDir, mode: 0o755, uid: 1000, gid: 1000},
	{name: "opq/old", typ: tar.TypeReg, mode: 0o644, uid: 1000, gid: 1000, data: "hidden by the next layer\n"},
}

var deletionsLayer = []tarEntry{
	{name: "owned/", typ: tar.TypeDir, mode: 0o755, uid: 1000, gid: 1000},
	{name: "owned/.wh.gone", typ: tar.TypeReg, mode: 0o644},
	{name: "opq/", typ: tar.TypeDir, mode: 0o755, uid: 1000, gid: 1000},
	{name: "opq/.wh..wh..opq", typ: tar.TypeReg, mode: 0o644},
	{name: "opq/new", typ: tar.TypeReg, mode: 0o644, uid: 65534, gid: 65534, data: "new\n"},
}

// writeTarEntries writes entries to tw with a fixed time.
func writeTarEntries(tw *tar.Writer, entries []tarEntry) error {
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.gid,
			Size: int64(len(e.data)), ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, e.data); err != nil {
			return err
		}
	}
	return nil
}

func tarOf(entries []tarEntry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := writeTarEntries(tw, entries); err != nil {
		return nil, err
	}
	err := tw.Close()
	return buf.Bytes(), err
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// writeOwnersArchive writes the three-layer image (busybox, owners,
// deletions) as a `docker save` archive of Docker's format, tagged tag;
// the owners layer is gzip-compressed, as most registry layers are.
func writeOwnersArchive(path, tag string) error {
	base, err := busyboximg.Layer()
	if err != nil {
		return err
	}
	owners, err := tarOf(ownersLayer)
	if err != nil {
		return err
	}
	deletions, err := tarOf(deletionsLayer)
	if err != nil {
		return err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(owners); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	layers := [][]byte{base, owners, deletions}
	blobs := [][]byte{base, gz.Bytes(), deletions}
	var diffIDs, layerPaths []string
	files := map[string][]byte{}
	for i, l := range layers {
		diffIDs = append(diffIDs, "sha256:"+sha256Hex(l))
		p := sha256Hex(blobs[i]) + "/layer.tar"
		layerPaths = append(layerPaths, p)
		files[p] = blobs[i]
	}
	cfg, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      "2023-11-14T22:13:20Z",
		"config":       map[string]any{"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, "Cmd": []string{"sh"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		return err
	}
	cfgPath := sha256Hex(cfg) + ".json"
	files[cfgPath] = cfg
	manifest, err := json.Marshal([]map[string]any{{"Config": cfgPath, "RepoTags": []string{tag}, "Layers": layerPaths}})
	if err != nil {
		return err
	}
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for _, name := range append(layerPaths, cfgPath) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[name]))}); err != nil {
			return err
		}
		if _, err := tw.Write(files[name]); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(manifest))}); err != nil {
		return err
	}
	if _, err := tw.Write(manifest); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}

// writeOwnersRootfs writes a root filesystem for `docker import`: busybox
// and the owners layer's files in one tar.
func writeOwnersRootfs(path string) error {
	var buf bytes.Buffer
	if err := busyboximg.WriteRootfs(&buf); err != nil {
		return err
	}
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	if err := writeTarEntries(tw, ownersLayer[:4]); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}

// checkImageOwners loads, pulls and imports images with files of other
// owners through dk and checks what a container sees: with squashed, every
// file is root's (a single-ID engine); otherwise the owners are kept. In
// both the files can be read and run, and the deletions of a later layer
// hold. prefix (lower-case letters) names the images; registry is
// host:port of the test registry.
func checkImageOwners(t *testing.T, dk func(args ...string) result, prefix, registry string, squashed bool) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	archive, rootfs := filepath.Join(dir, "owners.tar"), filepath.Join(dir, "owners-rootfs.tar")
	if err := writeOwnersArchive(archive, prefix+"-owners:loaded"); err != nil {
		t.Fatal(err)
	}
	if err := writeOwnersRootfs(rootfs); err != nil {
		t.Fatal(err)
	}
	want := "1000:1000 65534:65534 1000:1000 65534:65534"
	if squashed {
		want = "0:0 0:0 0:0 0:0"
	}
	check := func(what, image string) {
		t.Helper()
		r := dk("run", "--rm", image, "stat", "-c", "%u:%g", "/owned/script.sh", "/owned/nobody", "/owned", "/opq/new")
		if got := strings.Join(strings.Fields(r.Stdout), " "); r.Err != nil || got != want {
			t.Errorf("%s: owners in the container: got %q, want %q (%v)", what, got, want, r)
		}
		r = dk("run", "--rm", image, "sh", "-c", "cat /owned/nobody; /owned/script.sh; stat -c %A /owned/suid; ls /opq; ls /owned")
		wantOut := "nobody's secret\nscript ran\n-rwsr-xr-x\nnew\nnobody\nscript.sh\nsuid\n"
		if r.Err != nil || r.Stdout != wantOut {
			t.Errorf("%s: reading, running and the deletions of layer 3: got %q, want %q (%v)", what, r.Stdout, wantOut, r)
		}
	}

	loaded := prefix + "-owners:loaded"
	t.Cleanup(func() { dk("rmi", "-f", loaded) })
	if r := dk("load", "-i", archive); r.Err != nil || !strings.Contains(r.Stdout, "Loaded image: "+loaded) {
		t.Fatalf("docker load: %v", r)
	}
	check("docker load", loaded)

	// Pushed and pulled back after removing it, the layers are unpacked
	// again by the pull. The repository's name has letters and slashes
	// only: a later push of busybox by another script may say "Mounted
	// from" it, which that script matches with [a-z/]+.
	remote := registry + "/" + prefix + "/owners:pulled"
	t.Cleanup(func() { dk("rmi", "-f", remote) })
	if r := dk("tag", loaded, remote); r.Err != nil {
		t.Fatalf("docker tag: %v", r)
	}
	if r := dk("push", remote); r.Err != nil {
		t.Fatalf("docker push: %v", r)
	}
	if r := dk("rmi", "-f", loaded, remote); r.Err != nil {
		t.Fatalf("docker rmi: %v", r)
	}
	if r := dk("pull", remote); r.Err != nil {
		t.Fatalf("docker pull: %v", r)
	}
	check("docker pull", remote)

	imported := prefix + "-owners:imported"
	t.Cleanup(func() { dk("rmi", "-f", imported) })
	if r := dk("import", rootfs, imported); r.Err != nil {
		t.Fatalf("docker import: %v", r)
	}
	want = "1000:1000 65534:65534 1000:1000"
	if squashed {
		want = "0:0 0:0 0:0"
	}
	r := dk("run", "--rm", imported, "sh", "-c", "stat -c %u:%g /owned/script.sh /owned/nobody /owned && cat /owned/nobody && /owned/script.sh")
	wantOut := strings.ReplaceAll(want, " ", "\n") + "\nnobody's secret\nscript ran\n"
	if r.Err != nil || r.Stdout != wantOut {
		t.Errorf("docker import: got %q, want %q (%v)", r.Stdout, wantOut, r)
	}
}

// TestImageOwners: files of other owners in an image's layers keep their
// owners on an engine with subordinate IDs (and are squashed to root on a
// single-ID engine, whichever the daemon under test is; TestSingleIDMode
// checks a single-ID engine as well).
func TestImageOwners(t *testing.T) {
	env, err := registryEnv()
	if err != nil {
		t.Fatal(err)
	}
	r := docker(t, "info", "--format", "{{json .Labels}}")
	if r.Err != nil {
		t.Fatalf("docker info: %v", r)
	}
	squashed := strings.Contains(r.Stdout, "io.roost.userns=single-id")
	dk := func(args ...string) result { return docker(t, args...) }
	checkImageOwners(t, dk, "imageowners", env["REGISTRY"], squashed)
}

// checkSingleIDBuild: on a single-ID engine builds work as long as every
// file and process is root's: COPY, RUN, a FROM of an image whose files
// belong to other IDs (BuildKit unpacks it through roostd's squashing
// differ) read by a RUN step, and the same through buildx's docker driver
// (dkx, the CLI with the buildx plugin). A step that asks for another
// owner fails with the reason and the fix rather than BuildKit's error.
// prefix names the images.
func checkSingleIDBuild(t *testing.T, dk, dkx func(args ...string) result, prefix string) {
	t.Helper()
	ctx := t.TempDir()
	if err := os.Chmod(ctx, 0o755); err != nil {
		t.Fatal(err)
	}
	base := prefix + "-build-owners:base"
	files := map[string]string{
		"greeting":          "built without subordinate IDs\n",
		"copy.Dockerfile":   "FROM busybox\nCOPY greeting /greeting\n",
		"run.Dockerfile":    "FROM busybox\nRUN echo ran > /ran && test -c /dev/ptmx\n",
		"owners.Dockerfile": "FROM " + base + "\nRUN cat /owned/nobody > /read && /owned/script.sh >> /read && stat -c %u:%g /owned/nobody >> /read\n",
		"chown.Dockerfile":  "FROM busybox\nCOPY --chown=1000:1000 greeting /greeting\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(ctx, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	archive := filepath.Join(ctx, "owners.tar")
	if err := writeOwnersArchive(archive, base); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dk("rmi", "-f", base) })
	if r := dk("load", "-i", archive); r.Err != nil {
		t.Fatalf("docker load: %v", r)
	}
	build := func(what, dockerfile, image, want string, cmd ...string) {
		t.Helper()
		t.Cleanup(func() { dk("rmi", "-f", image) })
		if r := dk("build", "--no-cache", "-f", filepath.Join(ctx, dockerfile), "-t", image, ctx); r.Err != nil {
			t.Errorf("docker build %s: %v", what, r)
			return
		}
		if r := dk(append([]string{"run", "--rm", image}, cmd...)...); r.Err != nil || r.Stdout != want {
			t.Errorf("running the image built %s: got %q, want %q (%v)", what, r.Stdout, want, r)
		}
	}
	build("with COPY", "copy.Dockerfile", prefix+"-build:copy", "built without subordinate IDs\n", "cat", "/greeting")
	build("with RUN", "run.Dockerfile", prefix+"-build:run", "ran\n", "cat", "/ran")
	owned := "nobody's secret\nscript ran\n0:0\n"
	build("FROM an image with files of other owners", "owners.Dockerfile", prefix+"-build:owners", owned, "cat", "/read")

	// buildx's docker driver reaches the same BuildKit through /grpc.
	bx := prefix + "-build:buildx"
	t.Cleanup(func() { dk("rmi", "-f", bx) })
	if r := dkx("buildx", "build", "--load", "--no-cache", "--progress=plain", "-f", filepath.Join(ctx, "owners.Dockerfile"), "-t", bx, ctx); r.Err != nil {
		t.Errorf("docker buildx build: %v", r)
	} else if r := dk("run", "--rm", bx, "cat", "/read"); r.Err != nil || r.Stdout != owned {
		t.Errorf("running the image buildx built: got %q, want %q (%v)", r.Stdout, owned, r)
	}

	r := dk("build", "-f", filepath.Join(ctx, "chown.Dockerfile"), "-t", prefix+"-build:chown", ctx)
	if r.Err == nil {
		dk("rmi", "-f", prefix+"-build:chown")
		t.Fatalf("docker build with COPY --chown=1000:1000 succeeded on a single-ID engine: %v", r)
	}
	if !strings.Contains(r.Stderr, "COPY --chown=1000:1000 greeting /greeting: this build needs subordinate IDs") ||
		!strings.Contains(r.Stderr, "files in the image can belong to root only") || strings.Contains(r.Stderr, "invalid argument") {
		t.Errorf("docker build with COPY --chown: want the reason and the fix, not BuildKit's error: %v", r)
	}
}
