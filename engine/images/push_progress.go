package images

import (
	"context"
	"sync"

	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/distribution/reference"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// pushLayer is the state of one layer of a push.
type pushLayer struct {
	desc     ocispec.Descriptor
	key      string // the upload's key in the tracker
	reported int64
	done     bool
}

// pushTracker turns the resolver's upload tracker into dockerd's push
// lines: per layer "Preparing", "Pushing" with the bytes sent, then
// "Pushed", "Layer already exists" or "Mounted from …".
type pushTracker struct {
	out     *progressOut
	tracker docker.StatusTracker

	mu     sync.Mutex
	layers map[digest.Digest]*pushLayer
	order  []digest.Digest
}

func newPushTracker(out *progressOut, tracker docker.StatusTracker) *pushTracker {
	return &pushTracker{out: out, tracker: tracker, layers: map[digest.Digest]*pushLayer{}}
}

// wrap announces the layers of each manifest as the push walks it, before
// any of them is uploaded.
func (t *pushTracker) wrap(h cimages.Handler) cimages.Handler {
	return cimages.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		children, err := h.Handle(ctx, desc)
		if err == nil && cimages.IsManifestType(desc.MediaType) {
			t.announce(ctx, children)
		}
		return children, err
	})
}

func (t *pushTracker) announce(ctx context.Context, descs []ocispec.Descriptor) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range descs {
		if !showBlob(d) || t.layers[d.Digest] != nil {
			continue
		}
		t.layers[d.Digest] = &pushLayer{desc: d, key: remotes.MakeRefKey(ctx, d)}
		t.order = append(t.order, d.Digest)
		t.out.update(d.Digest, "Preparing")
	}
}

// tick reports the uploads that moved since the last tick.
func (t *pushTracker) tick() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range t.order {
		l := t.layers[d]
		if l.done {
			continue
		}
		st, err := t.tracker.GetStatus(l.key)
		if err != nil {
			continue // not started
		}
		if st.Committed && st.Offset >= st.Total {
			l.done = true
			switch {
			case st.MountedFrom != "":
				from := st.MountedFrom
				if n, err := reference.ParseNormalizedNamed(from); err == nil {
					from = reference.Path(n)
				}
				t.out.update(d, "Mounted from "+from)
			case st.Exists:
				t.out.update(d, "Layer already exists")
			default:
				t.out.update(d, "Pushed")
			}
			continue
		}
		if st.Offset > 0 && st.Offset != l.reported {
			l.reported = st.Offset
			t.out.transfer(d, "Pushing", st.Offset, l.desc.Size)
		}
	}
}

// showBlob tells which blobs get progress lines: layers and other large
// blobs, not the small JSON documents (index, manifest, config), as
// dockerd shows them.
func showBlob(d ocispec.Descriptor) bool {
	switch {
	case cimages.IsLayerType(d.MediaType):
		return true
	case cimages.IsIndexType(d.MediaType), cimages.IsManifestType(d.MediaType), cimages.IsConfigType(d.MediaType):
		return false
	}
	return true
}
