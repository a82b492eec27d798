package e2e

import (
	"archive/tar"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roostd/roost/tests/regtest"
)

// TestConcurrentPullsShareDownload: two `docker pull` of one image at the
// same time both succeed, and the registry serves each blob once. A proxy
// in front of a registry of the test's own counts the blob downloads and
// slows them, so that the pulls overlap.
func TestConcurrentPullsShareDownload(t *testing.T) {
	reg, err := regtest.StartWith(filepath.Join(harness.tmp, "registry-shared"), regtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := reg.Stop(); err != nil {
			t.Error(err)
		}
	})
	target, _ := url.Parse(reg.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	gets := map[string]int{}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
			mu.Lock()
			gets[r.URL.Path]++
			mu.Unlock()
			time.Sleep(300 * time.Millisecond)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	name := strings.TrimPrefix(proxy.URL, "http://") + "/shared/img:1"

	// An image of its own (a random file), so that no layer is here already.
	rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
	writeRandomTar(t, rootfs)
	dockerOK(t, "import", rootfs, name)
	t.Cleanup(func() { docker(t, "rmi", "-f", name) })
	dockerOK(t, "push", name)
	dockerOK(t, "rmi", name)
	mu.Lock()
	clear(gets)
	mu.Unlock()

	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Go(func() { results[i] = docker(t, "pull", name) })
	}
	wg.Wait()
	for i, r := range results {
		if r.Err != nil {
			t.Errorf("pull %d: %v", i+1, r)
		} else if !strings.Contains(r.Stdout, "Status: ") {
			t.Errorf("pull %d printed:\n%s", i+1, r.Stdout)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("blob downloads: %v", gets)
	if len(gets) < 2 {
		t.Errorf("the registry served the blobs %v, want the layer and the config", gets)
	}
	for path, n := range gets {
		if n != 1 {
			t.Errorf("%s was downloaded %d times, want once", path, n)
		}
	}
}

// writeRandomTar writes a tar of one file of random bytes.
func writeRandomTar(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := make([]byte, 256<<10)
	rand.Read(data)
	tw := tar.NewWriter(f)
	if err := tw.WriteHeader(&tar.Header{Name: "random.bin", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}
