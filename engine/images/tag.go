package images

import (
	"context"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/events"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Tag gives the image source the name repo:tag (tag defaults to "latest"),
// moving the name if another image had it; that image stays as an untagged
// image, as in Docker.
func (s *Service) Tag(ctx context.Context, source, repo, tag string) error {
	ctx = s.withNamespace(ctx)
	ref, err := repoTagReference(repo, tag)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	m, err := s.find(ctx, source)
	if err != nil {
		return err
	}
	// Tag what the source name points at; by ID, any of the image's targets.
	rec := m.img.record()
	if len(m.records) > 0 {
		rec = m.records[0]
	}
	if m.img.namedAt(ref.String(), rec.Target) {
		// Already so: nothing to write, as dockerd's containerd store does
		// for a rebuild that found everything in the cache, which still
		// logs the tag event. A dangling record of the image (what a build
		// exports under) goes, since the image has a name.
		s.dropDangling(ctx, m.img)
		s.publish(events.ActionTag, m.img.id(), reference.FamiliarString(ref), m.img.meta.config.Config.Labels)
		return nil
	}
	prev, err := s.setName(ctx, ref.String(), rec.Target)
	if err != nil {
		return err
	}
	targets := []ocispec.Descriptor{rec.Target}
	if prev != nil {
		targets = append(targets, *prev)
	}
	s.tidy(ctx, targets...)
	s.publish(events.ActionTag, m.img.id(), reference.FamiliarString(ref), m.img.meta.config.Config.Labels)
	return nil
}

// namedAt tells whether img has the record name, pointing at target.
func (img *image) namedAt(name string, target ocispec.Descriptor) bool {
	for _, r := range img.records {
		if r.Name == name {
			return r.Target.Digest == target.Digest
		}
	}
	return false
}

// dropDangling removes img's dangling records; callers know it has a name.
func (s *Service) dropDangling(ctx context.Context, img *image) {
	for _, r := range img.records {
		if !isDangling(r.Name) {
			continue
		}
		if err := s.store().Delete(ctx, r.Name); err != nil && !errdefs.IsNotFound(err) {
			log.G(ctx).WithError(err).WithField("image", r.Name).Warn("cannot remove dangling record")
		}
	}
}
