package images

import (
	"context"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	imagetypes "github.com/moby/moby/api/types/image"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// History returns GET /images/{name}/history for ref: the config's history,
// newest first. As in dockerd's containerd store, only the newest entry has
// an ID, the image's, with its tags; the others are "<missing>", since
// their intermediate images are not kept. Each entry that made a layer
// gets that layer's size; the others 0.
func (s *Service) History(ctx context.Context, ref string) ([]imagetypes.HistoryResponseItem, error) {
	ctx = s.withNamespace(ctx)
	m, err := s.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	img := m.img
	sizes, err := s.layerSizes(ctx, img)
	if err != nil {
		log.G(ctx).WithError(err).WithField("image", img.id()).Warn("cannot compute the layer sizes")
	}
	tags, _ := names(img)
	return history(img.meta.config.History, sizes, img.id(), familiar(tags)), nil
}

// history converts a config's history, oldest first, into the API's
// entries, newest first. sizes are the sizes of the layers in order; the
// non-empty entries take them one after the other (a history that names
// more layers than there are gets 0 for the rest).
func history(h []ocispec.History, sizes []int64, id digest.Digest, tags []string) []imagetypes.HistoryResponseItem {
	out := make([]imagetypes.HistoryResponseItem, len(h))
	layer := 0
	for i, e := range h {
		item := imagetypes.HistoryResponseItem{
			ID:        "<missing>",
			CreatedBy: e.CreatedBy,
			Comment:   e.Comment,
			Tags:      nil,
		}
		if e.Created != nil {
			item.Created = e.Created.Unix()
		}
		if !e.EmptyLayer {
			if layer < len(sizes) {
				item.Size = sizes[layer]
			}
			layer++
		}
		out[len(h)-1-i] = item
	}
	if len(out) > 0 {
		out[0].ID = id.String()
		out[0].Tags = tags
	}
	return out
}

// layerSizes returns the size of each layer of img: its snapshot's usage,
// or the layer blob's size while it is not unpacked. A committed
// snapshot's usage does not change, so it is cached.
func (s *Service) layerSizes(ctx context.Context, img *image) ([]int64, error) {
	ids := chainIDs(img)
	layers := img.meta.manifest.Layers
	sn := s.client.SnapshotService(s.snapshotter)
	out := make([]int64, len(ids))
	var firstErr error
	for i, chainID := range ids {
		s.cache.mu.Lock()
		u, ok := s.cache.usage[chainID]
		s.cache.mu.Unlock()
		if ok {
			out[i] = u
			continue
		}
		usage, err := sn.Usage(ctx, chainID.String())
		switch {
		case err == nil:
			out[i] = usage.Size
			s.cache.mu.Lock()
			s.cache.usage[chainID] = usage.Size
			s.cache.mu.Unlock()
		case errdefs.IsNotFound(err):
			if i < len(layers) {
				out[i] = layers[i].Size
			}
		case firstErr == nil:
			firstErr = err
		}
	}
	return out, firstErr
}
