package images

import (
	"context"
	"maps"
	"time"

	"github.com/containerd/log"
	"github.com/distribution/reference"
	imagetypes "github.com/moby/moby/api/types/image"
	digest "github.com/opencontainers/go-digest"
)

// List returns the images as GET /images/json does, newest first, one
// entry per image ID with all its names. Size is the unpacked size: the
// sum of the image's snapshots, or of a layer's compressed size where it is
// not unpacked. all is accepted for the API's sake: there are no
// intermediate images to hide, as nothing builds with the classic builder.
func (s *Service) List(ctx context.Context, all bool, filters map[string][]string) ([]imagetypes.Summary, error) {
	ctx = s.withNamespace(ctx)
	lf, err := parseFilters(filters, time.Now())
	if err != nil {
		return nil, err
	}
	imgs, err := s.catalog(ctx)
	if err != nil {
		return nil, err
	}
	sel, err := selectImages(imgs, lf)
	if err != nil {
		return nil, err
	}
	out := make([]imagetypes.Summary, 0, len(sel))
	for _, si := range sel {
		img := si.img
		size, err := s.size(ctx, img)
		if err != nil {
			log.G(ctx).WithError(err).WithField("image", img.id()).Warn("cannot compute image size")
		}
		out = append(out, imagetypes.Summary{
			ID:          img.id().String(),
			RepoTags:    familiar(si.tags),
			RepoDigests: familiar(si.digests),
			Created:     created(img).Unix(),
			Size:        size,
			SharedSize:  -1,
			Containers:  -1,
			Labels:      maps.Clone(img.meta.config.Config.Labels),
		})
	}
	return out, nil
}

// selected is an image List returns, with the names it shows.
type selected struct {
	img           *image
	tags, digests []reference.Named
}

// selectImages applies the filters, newest image first. With reference
// filters, only the matching names are shown, as dockerd does.
func selectImages(imgs map[digest.Digest]*image, lf *listFilters) ([]selected, error) {
	before, err := referenceTimes(imgs, lf.before)
	if err != nil {
		return nil, err
	}
	since, err := referenceTimes(imgs, lf.since)
	if err != nil {
		return nil, err
	}
	var out []selected
	for _, img := range sortedImages(imgs) {
		t := created(img)
		if (before != nil && !t.Before(*before)) || (since != nil && !t.After(*since)) {
			continue
		}
		if lf.until != nil && !t.Before(*lf.until) {
			continue
		}
		if !lf.matchLabels(img.meta.config.Config.Labels) {
			continue
		}
		tags, digests := names(img)
		if lf.dangling != nil && *lf.dangling != (len(tags) == 0 && len(digests) == 0) {
			continue
		}
		if len(lf.references) > 0 {
			tags, digests = filterNames(lf, tags), filterNames(lf, digests)
			if len(tags) == 0 && len(digests) == 0 {
				continue
			}
		}
		out = append(out, selected{img: img, tags: tags, digests: digests})
	}
	return out, nil
}

// referenceTimes resolves before/since references to the newest creation
// time they bound by (nil without references). An unknown image is an
// error, as in dockerd.
func referenceTimes(imgs map[digest.Digest]*image, refs []string) (*time.Time, error) {
	var bound *time.Time
	for _, ref := range refs {
		m, err := lookup(imgs, ref)
		if err != nil {
			return nil, err
		}
		t := created(m.img)
		if bound == nil || t.After(*bound) {
			bound = &t
		}
	}
	return bound, nil
}

// created is the image's creation time from its config (zero if unset).
func created(img *image) time.Time {
	if c := img.meta.config.Created; c != nil {
		return *c
	}
	return time.Time{}
}

// names returns the image's tags (name:tag) and digests (name@digest). Every
// name also yields name@<its target digest>, as dockerd's containerd store
// reports RepoDigests.
func names(img *image) (tags, digests []reference.Named) {
	seen := map[string]bool{}
	add := func(list *[]reference.Named, n reference.Named) {
		if !seen[n.String()] {
			seen[n.String()] = true
			*list = append(*list, n)
		}
	}
	for _, r := range img.named() {
		n, err := reference.ParseNormalizedNamed(r.Name)
		if err != nil {
			continue
		}
		if _, ok := n.(reference.Canonical); ok {
			add(&digests, n)
			continue
		}
		if _, ok := n.(reference.Tagged); ok {
			add(&tags, n)
		}
		if c, err := reference.WithDigest(reference.TrimNamed(n), r.Target.Digest); err == nil {
			add(&digests, c)
		}
	}
	return tags, digests
}

func filterNames(lf *listFilters, refs []reference.Named) []reference.Named {
	var out []reference.Named
	for _, r := range refs {
		if lf.matchReference(r) {
			out = append(out, r)
		}
	}
	return out
}

// familiar renders references as the CLI shows them; never nil, as dockerd
// sends [] rather than null.
func familiar(refs []reference.Named) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, reference.FamiliarString(r))
	}
	return out
}

// size is the image's unpacked size: the sum of its layers' sizes (see
// layerSizes).
func (s *Service) size(ctx context.Context, img *image) (int64, error) {
	sizes, err := s.layerSizes(ctx, img)
	var total int64
	for _, n := range sizes {
		total += n
	}
	return total, err
}
