package images

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/containerd/v2/core/diff"
	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/core/remotes"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// layerPhase is where a layer of a pull is.
type layerPhase int

const (
	phaseAnnounced   layerPhase = iota // "Pulling fs layer"
	phaseDownloading                   // bytes arriving
	phaseDownloaded                    // "Download complete"
	phaseExisting                      // "Already exists": the content was there
	phaseExtracting                    // "Extracting"
	phaseDone                          // "Pull complete"
)

type pullLayer struct {
	desc     ocispec.Descriptor
	phase    layerPhase
	read     atomic.Int64 // bytes fetched so far
	reported int64        // bytes last reported
	// extractStart and secs measure the extraction in seconds.
	extractStart time.Time
	secs         int64
}

// pullTracker turns what a pull does into dockerd's progress lines. It
// sees the layers through three hooks, each on the path of the work rather
// than polling containerd: the handler around the fetch (announce, done),
// the fetcher's reader (bytes) and the applier the unpacker extracts with.
type pullTracker struct {
	out *progressOut
	// hide drops every layer line: the image is already complete, and
	// dockerd then prints only the digest and "Image is up to date".
	hide bool

	mu     sync.Mutex
	layers map[digest.Digest]*pullLayer
	order  []digest.Digest
}

func newPullTracker(out *progressOut, hide bool) *pullTracker {
	return &pullTracker{out: out, hide: hide, layers: map[digest.Digest]*pullLayer{}}
}

// layer returns the state of d, or nil when d is not a layer of this pull.
func (t *pullTracker) layer(d digest.Digest) *pullLayer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.layers[d]
}

// announce registers the layers of a manifest.
func (t *pullTracker) announce(descs []ocispec.Descriptor) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range descs {
		if !cimages.IsLayerType(d.MediaType) || t.layers[d.Digest] != nil {
			continue
		}
		t.layers[d.Digest] = &pullLayer{desc: d}
		t.order = append(t.order, d.Digest)
		if !t.hide {
			t.out.update(d.Digest, "Pulling fs layer")
		}
	}
}

// set moves a layer to phase and reports it; it returns false if the
// layer is unknown or already past that phase.
func (t *pullTracker) set(d digest.Digest, phase layerPhase, status string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.layers[d]
	if l == nil || l.phase >= phase {
		return false
	}
	l.phase = phase
	if phase == phaseExtracting {
		l.extractStart, l.secs = time.Now(), 1
		if !t.hide {
			// Counted from 1: a zero would not be shown at all.
			t.out.seconds(d, status, 1)
		}
		return true
	}
	if !t.hide && status != "" {
		t.out.update(d, status)
	}
	return true
}

// fetched is called when the fetch of desc returned: the content is in
// the store, downloaded now or found there.
func (t *pullTracker) fetched(desc ocispec.Descriptor, err error) {
	if err != nil {
		return
	}
	l := t.layer(desc.Digest)
	if l == nil {
		return
	}
	t.mu.Lock()
	downloading := l.phase == phaseDownloading
	t.mu.Unlock()
	if downloading {
		t.set(desc.Digest, phaseDownloaded, "Download complete")
	} else {
		t.set(desc.Digest, phaseExisting, "Already exists")
	}
}

// tick reports the bytes and seconds that changed since the last tick.
func (t *pullTracker) tick() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.hide {
		return
	}
	for _, d := range t.order {
		l := t.layers[d]
		switch l.phase {
		case phaseDownloading:
			if n := l.read.Load(); n != l.reported && n > 0 {
				l.reported = n
				t.out.transfer(d, "Downloading", n, l.desc.Size)
			}
		case phaseExtracting:
			if s := 1 + int64(time.Since(l.extractStart).Seconds()); s != l.secs {
				l.secs = s
				t.out.seconds(d, "Extracting", s)
			}
		}
	}
}

// finish reports the end of every downloaded layer that was not
// extracted: its snapshot already existed. "Already exists" is final.
func (t *pullTracker) finish() {
	t.mu.Lock()
	var downloaded []digest.Digest
	for _, d := range t.order {
		if t.layers[d].phase == phaseDownloaded {
			downloaded = append(downloaded, d)
		}
	}
	t.mu.Unlock()
	for _, d := range downloaded {
		t.set(d, phaseDone, "Pull complete")
	}
}

// wrap reports the layers of manifests as their handler returns them and
// the end of each layer's fetch. It goes inside the unpacker, which is the
// one calling it for layers.
func (t *pullTracker) wrap(h cimages.Handler) cimages.Handler {
	return cimages.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		children, err := h.Handle(ctx, desc)
		switch {
		case cimages.IsLayerType(desc.MediaType):
			t.fetched(desc, err)
		case err == nil && cimages.IsManifestType(desc.MediaType):
			t.announce(children)
		}
		return children, err
	})
}

// fetcher counts the bytes read of the layers f fetches.
func (t *pullTracker) fetcher(f remotes.Fetcher) remotes.Fetcher {
	return remotes.FetcherFunc(func(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
		rc, err := f.Fetch(ctx, desc)
		if err != nil {
			return nil, err
		}
		l := t.layer(desc.Digest)
		if l == nil {
			return rc, nil
		}
		t.set(desc.Digest, phaseDownloading, "")
		return &countingReader{ReadCloser: rc, n: &l.read}, nil
	})
}

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.n.Add(int64(n))
	return n, err
}

// applier reports the extraction of each layer around a.
func (t *pullTracker) applier(a diff.Applier) diff.Applier {
	return &trackingApplier{Applier: a, t: t}
}

type trackingApplier struct {
	diff.Applier
	t *pullTracker
}

func (a *trackingApplier) Apply(ctx context.Context, desc ocispec.Descriptor, mounts []mount.Mount, opts ...diff.ApplyOpt) (ocispec.Descriptor, error) {
	a.t.set(desc.Digest, phaseExtracting, "Extracting")
	d, err := a.Applier.Apply(ctx, desc, mounts, opts...)
	if err == nil {
		a.t.set(desc.Digest, phaseDone, "Pull complete")
	}
	return d, err
}
