package images_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/roostd/roost/engine/config"
	"github.com/roostd/roost/engine/images"
	"github.com/roostd/roost/tests/regtest"
)

// countingProxy forwards to a registry and counts the blob downloads, and
// the most that ran at once.
type countingProxy struct {
	*httptest.Server
	mu            sync.Mutex
	blobGets      map[string]int
	running, most int
	delay         time.Duration
}

func newCountingProxy(t *testing.T, reg *regtest.Registry, delay time.Duration) *countingProxy {
	t.Helper()
	target, _ := url.Parse(reg.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &countingProxy{blobGets: map[string]int{}, delay: delay}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		blob := r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:")
		if blob {
			p.mu.Lock()
			p.blobGets[r.URL.Path]++
			p.running++
			p.most = max(p.most, p.running)
			p.mu.Unlock()
			// Long enough for the downloads allowed to run at once to
			// overlap.
			time.Sleep(p.delay)
			defer func() {
				p.mu.Lock()
				p.running--
				p.mu.Unlock()
			}()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *countingProxy) counts() (gets map[string]int, most int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	gets = map[string]int{}
	for k, v := range p.blobGets {
		gets[k] = v
	}
	return gets, p.most
}

// TestPullFromMirror: with a mirror configured, an image of Docker Hub is
// pulled from the mirror (this machine has no route to Docker Hub); with
// max-concurrent-downloads 1 the layers come one after another.
func TestPullFromMirror(t *testing.T) {
	reg := regtest.StartT(t, regtest.Options{})
	proxy := newCountingProxy(t, reg, 200*time.Millisecond)
	f := newFixtureWith(t, images.Options{Registry: config.Registry{
		Mirrors:                []string{proxy.URL},
		MaxConcurrentDownloads: 1,
	}})
	ctx := context.Background()
	m := f.loadMulti(t, "example.com/multi:1")
	if err := f.svc.Tag(ctx, "example.com/multi:1", reg.Addr+"/library/mirrored", "1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Push(ctx, reg.Addr+"/library/mirrored", "1", images.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{reg.Addr + "/library/mirrored:1", "example.com/multi:1"} {
		if _, err := f.svc.Remove(ctx, name, false, false); err != nil {
			t.Fatal(err)
		}
	}

	if err := f.svc.Pull(ctx, "mirrored:1", images.PullOptions{}); err != nil {
		t.Fatalf("Pull through the mirror: %v", err)
	}
	insp, err := f.svc.Inspect(ctx, "mirrored:1")
	if err != nil || insp.ID != m.id {
		t.Fatalf("Inspect(mirrored:1) = %+v, %v; want ID %s", insp, err, m.id)
	}
	gets, most := proxy.counts()
	if len(gets) < len(m.layers) {
		t.Errorf("the mirror served blobs %v, want at least the %d layers", gets, len(m.layers))
	}
	if most != 1 {
		t.Errorf("%d blob downloads ran at once, want 1 (max-concurrent-downloads)", most)
	}

	info := f.svc.RegistryConfig()
	if want := proxy.URL + "/"; len(info.Mirrors) != 1 || info.Mirrors[0] != want {
		t.Errorf("RegistryConfig().Mirrors = %q, want [%s]", info.Mirrors, want)
	}
	if hub := info.IndexConfigs["docker.io"]; hub == nil || !hub.Official || !hub.Secure || len(hub.Mirrors) != 1 {
		t.Errorf("IndexConfigs[docker.io] = %+v", hub)
	}
}

// TestConcurrentPullsShareDownloads: two pulls of one image at once both
// succeed, and each blob is downloaded once.
func TestConcurrentPullsShareDownloads(t *testing.T) {
	reg := regtest.StartT(t, regtest.Options{})
	proxy := newCountingProxy(t, reg, 100*time.Millisecond)
	f := newFixture(t)
	ctx := context.Background()
	f.loadMulti(t, "example.com/multi:1")
	pushed := reg.Addr + "/me/shared"
	if err := f.svc.Tag(ctx, "example.com/multi:1", pushed, "1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Push(ctx, pushed, "1", images.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{pushed + ":1", "example.com/multi:1"} {
		if _, err := f.svc.Remove(ctx, name, false, false); err != nil {
			t.Fatal(err)
		}
	}

	ref := strings.TrimPrefix(proxy.URL, "http://") + "/me/shared:1"
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- f.svc.Pull(ctx, ref, images.PullOptions{}) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("Pull: %v", err)
		}
	}
	gets, _ := proxy.counts()
	if len(gets) == 0 {
		t.Fatal("no blob was downloaded")
	}
	for path, n := range gets {
		if n != 1 {
			t.Errorf("%s downloaded %d times, want once", path, n)
		}
	}
}

// TestPullHangingRegistry: a registry that accepts connections and never
// answers fails the pull after the timeout instead of hanging.
func TestPullHangingRegistry(t *testing.T) {
	silent := regtest.SilentT(t)
	f := newFixtureWith(t, images.Options{RegistryTimeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err := f.svc.Pull(ctx, silent.Addr+"/hang/me:1", images.PullOptions{})
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Pull from a silent registry: %v after %v, want a timeout error well before the test's deadline", err, time.Since(start))
	}
	if !strings.Contains(err.Error(), "timeout") {
		t.Errorf("error %q does not say it timed out", err)
	}
	if errdefs.IsNotFound(err) {
		t.Errorf("error %v is NotFound; a silent registry is not a missing image", err)
	}
}

// TestPushLimit: with max-concurrent-uploads 1 the blobs of a push go up
// one after another.
func TestPushLimit(t *testing.T) {
	reg := regtest.StartT(t, regtest.Options{})
	target, _ := url.Parse(reg.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	running, most, uploads := 0, 0, 0
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An upload ends with the PUT that names the digest.
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			mu.Lock()
			running++
			uploads++
			most = max(most, running)
			mu.Unlock()
			time.Sleep(200 * time.Millisecond)
			defer func() {
				mu.Lock()
				running--
				mu.Unlock()
			}()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	f := newFixtureWith(t, images.Options{Registry: config.Registry{MaxConcurrentUploads: 1}})
	ctx := context.Background()
	f.loadMulti(t, "example.com/multi:1")
	repo := strings.TrimPrefix(proxy.URL, "http://") + "/me/limited"
	if err := f.svc.Tag(ctx, "example.com/multi:1", repo, "1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Push(ctx, repo, "1", images.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if uploads < 3 {
		t.Errorf("%d blobs uploaded, want the two layers and the config", uploads)
	}
	if most != 1 {
		t.Errorf("%d uploads ran at once, want 1 (max-concurrent-uploads)", most)
	}
}
