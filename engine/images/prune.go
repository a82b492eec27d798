package images

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/events"
	imagetypes "github.com/moby/moby/api/types/image"
	digest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
)

// pruneFilters are the filters dockerd accepts for POST /images/prune.
var pruneFilters = map[string]bool{"dangling": true, "label": true, "label!": true, "until": true}

// Prune removes the images no container uses, as `docker image prune`
// does: only those without a name unless the dangling filter is false
// (`-a`), and only those the until and label filters select. The report
// lists what was untagged and deleted, and the space freed: the layers
// that no remaining image shares. A prune while another runs is a
// conflict, as in dockerd.
func (s *Service) Prune(ctx context.Context, filters map[string][]string) (*imagetypes.PruneReport, error) {
	for key := range filters {
		if !pruneFilters[key] {
			return nil, invalidFilter(key, nil)
		}
	}
	lf, err := parseFilters(filters, time.Now())
	if err != nil {
		return nil, err
	}
	danglingOnly := lf.dangling == nil || *lf.dangling
	if !s.pruning.CompareAndSwap(false, true) {
		return nil, errdefs.ErrConflict.WithMessage("a prune operation is already running")
	}
	defer s.pruning.Store(false)

	ctx = s.withNamespace(ctx)
	all, err := s.catalog(ctx)
	if err != nil {
		return nil, err
	}
	var prune, keep []*image
	for _, img := range sortedImages(all) {
		if !s.prunable(ctx, img, lf, danglingOnly) {
			keep = append(keep, img)
			continue
		}
		prune = append(prune, img)
	}

	// The space freed is that of the layers no kept image has: count
	// each layer once, before the images go.
	kept := map[digest.Digest]bool{}
	for _, img := range keep {
		for _, c := range chainIDs(img) {
			kept[c] = true
		}
	}
	counted := map[digest.Digest]bool{}
	rep := &imagetypes.PruneReport{ImagesDeleted: []imagetypes.DeleteResponse{}}
	for _, img := range prune {
		sizes, _ := s.layerSizes(ctx, img)
		// Forced: the names of an image in several repositories go too;
		// containers were checked above, and Remove checks them again.
		resp, err := s.Remove(ctx, img.id().String(), true, true)
		rep.ImagesDeleted = append(rep.ImagesDeleted, resp...)
		if err != nil {
			if !errdefs.IsNotFound(err) {
				log.G(ctx).WithError(err).WithField("image", img.id()).Warn("prune: cannot remove image")
			}
			continue
		}
		if !slices.ContainsFunc(resp, func(r imagetypes.DeleteResponse) bool { return r.Deleted != "" }) {
			continue // a container took it meanwhile: only untagged
		}
		for i, c := range chainIDs(img) {
			if !kept[c] && !counted[c] && i < len(sizes) {
				counted[c] = true
				rep.SpaceReclaimed += uint64(sizes[i])
			}
		}
	}
	if s.events != nil {
		s.events.Publish(events.ImageEventType, events.ActionPrune, events.Actor{
			Attributes: map[string]string{"reclaimed": strconv.FormatUint(rep.SpaceReclaimed, 10)},
		})
	}
	return rep, nil
}

// prunable tells whether the filters select img and no container uses it.
func (s *Service) prunable(ctx context.Context, img *image, lf *listFilters, danglingOnly bool) bool {
	tags, digests := names(img)
	if danglingOnly && (len(tags) > 0 || len(digests) > 0) {
		return false
	}
	if lf.until != nil && !created(img).Before(*lf.until) {
		return false
	}
	if !lf.matchLabels(img.meta.config.Config.Labels) {
		return false
	}
	users, _, err := s.imageUsers(ctx, img.id())
	if err != nil {
		log.G(ctx).WithError(err).WithField("image", img.id()).Warn("prune: cannot tell whether containers use the image; keeping it")
		return false
	}
	return len(users) == 0
}

// chainIDs are the image's layer chain IDs, bottom first. ChainIDs works
// in place: the cached config's diff IDs must stay as they are.
func chainIDs(img *image) []digest.Digest {
	return identity.ChainIDs(slices.Clone(img.meta.config.RootFS.DiffIDs))
}
