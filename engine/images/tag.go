package images

import (
	"context"

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
