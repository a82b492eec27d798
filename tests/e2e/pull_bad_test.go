package e2e

import (
	"archive/tar"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roostd/roost/internal/testenv"

	"github.com/roostd/roost/tests/regtest"
)

// fakeRegistry answers the registry API badly on purpose: a 500 for one
// repository, a manifest whose bytes do not match the digest asked for
// another. It listens on loopback only.
func fakeRegistry(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case strings.HasPrefix(r.URL.Path, "/v2/broken/"):
			http.Error(w, "the registry is broken", http.StatusInternalServerError)
		case strings.HasPrefix(r.URL.Path, "/v2/liar/manifests/"):
			body := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":2},"layers":[]}`
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			// The digest claimed is the one asked for; the bytes are not it.
			w.Header().Set("Docker-Content-Digest", strings.TrimPrefix(r.URL.Path, "/v2/liar/manifests/"))
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			if r.Method != http.MethodHead {
				io.WriteString(w, body)
			}
		default:
			http.NotFound(w, r)
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// TestPullBadRegistry: a registry answering 500, and one whose manifest
// does not match its digest, give errors that say so, and leave no image.
func TestPullBadRegistry(t *testing.T) {
	addr := fakeRegistry(t)
	r := docker(t, "pull", addr+"/broken:1")
	t.Logf("a registry answering 500: %s", r.Stderr)
	if r.Err == nil || !strings.Contains(r.Stderr, "500 Internal Server Error") {
		t.Errorf("pull from a registry answering 500: %v", r)
	}
	digest := "sha256:" + strings.Repeat("b", 64)
	r = docker(t, "pull", addr+"/liar@"+digest)
	t.Logf("a manifest that does not match its digest: %s", r.Stderr)
	if r.Err == nil || !strings.Contains(strings.ToLower(r.Stderr), "digest") {
		t.Errorf("pull of a manifest that does not match its digest: %v", r)
	}
	if out := dockerOK(t, "images", "-q", addr+"/*"); out != "" {
		t.Errorf("images left by failed pulls: %q", out)
	}
}

// slowProxy forwards to a registry, sending blob bodies at about rate
// bytes a second, so that a pull lasts long enough to be interrupted.
func slowProxy(t *testing.T, registry string, rate int) string {
	t.Helper()
	target, _ := url.Parse("http://" + registry)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		if strings.Contains(resp.Request.URL.Path, "/blobs/") && resp.Request.Method == http.MethodGet {
			resp.Body = &slowBody{ReadCloser: resp.Body, rate: rate}
		}
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

type slowBody struct {
	io.ReadCloser
	rate int
}

func (b *slowBody) Read(p []byte) (int, error) {
	const chunk = 64 << 10
	if len(p) > chunk {
		p = p[:chunk]
	}
	n, err := b.ReadCloser.Read(p)
	time.Sleep(time.Duration(n) * time.Second / time.Duration(b.rate))
	return n, err
}

// TestPullInterruptedByKill: roostd is killed (-9) in the middle of a
// pull; started again, it has no half image, and pulling again completes
// with an image that runs.
func TestPullInterruptedByKill(t *testing.T) {
	needRoostd(t)
	reg, err := regtest.StartWith(filepath.Join(harness.tmp, "registry-interrupt"), regtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Stop() })
	// A 24 MiB layer of random bytes, pushed straight to the registry.
	dir := t.TempDir()
	layer := filepath.Join(dir, "rootfs.tar")
	if err := writeRandomRootfs(layer, 24<<20); err != nil {
		t.Fatal(err)
	}
	name := reg.Addr + "/interrupt/big:1"
	t.Cleanup(func() { docker(t, "rmi", "-f", name) })
	dockerOK(t, "import", layer, name)
	dockerOK(t, "push", name)
	dockerOK(t, "rmi", name)
	// The daemon pulls through a proxy at 4 MiB/s: about 6 s.
	slow := slowProxy(t, reg.Addr, 4<<20)
	slowName := slow + "/interrupt/big:1"
	t.Cleanup(func() { docker(t, "rmi", "-f", slowName) })

	cmd := exec.Command(harness.dockerCLI, "pull", slowName)
	downloading := startUntilLine(t, cmd, func(line string) bool {
		return strings.Contains(line, "Downloading") || strings.Contains(line, "Pulling fs layer")
	})
	if !downloading {
		t.Fatal("the pull never started downloading")
	}
	time.Sleep(time.Second)
	api, err := harness.user.readPidFile("roostd.pid")
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(api, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Error("docker pull succeeded although roostd was killed during it")
	}
	if err := testenv.WaitGone(api, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := restartDaemon(); err != nil {
		t.Fatalf("starting roostd again after kill -9: %v", err)
	}
	if r := docker(t, "image", "inspect", slowName); r.Err == nil {
		t.Errorf("a half-pulled image is listed after the restart")
	}
	dockerOK(t, "pull", slowName)
	if out := dockerOK(t, "run", "--rm", slowName, "/big-check"); out != "ok" {
		t.Errorf("the pulled image's check printed %q", out)
	}
}

// writeRandomRootfs writes a rootfs tar with the host's static busybox, a
// /big-check script it runs, and size bytes of random data that nothing
// can compress or find elsewhere.
func writeRandomRootfs(path string, size int) error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return err
	}
	bbData, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	script := "#!/bin/busybox sh\necho ok\n"
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"bin/busybox", 0o755, bbData},
		{"big-check", 0o755, []byte(script)},
	}
	for _, fl := range files {
		if err := tw.WriteHeader(&tar.Header{Name: fl.name, Mode: fl.mode, Size: int64(len(fl.data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(fl.data); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "random.bin", Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, rand.Reader, int64(size)); err != nil {
		return err
	}
	return tw.Close()
}
