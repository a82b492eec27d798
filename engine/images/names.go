package images

import (
	"context"
	"fmt"
	"time"

	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// setName points the record name at target, creating it or moving it. It
// returns the target the name had before, if it pointed elsewhere. An image
// that loses its last name gets its dangling record first, so the garbage
// collector never sees it unreferenced. Callers hold s.mu.
func (s *Service) setName(ctx context.Context, name string, target ocispec.Descriptor) (*ocispec.Descriptor, error) {
	is := s.store()
	old, err := is.Get(ctx, name)
	switch {
	case errdefs.IsNotFound(err):
		_, err = is.Create(ctx, cimages.Image{Name: name, Target: target})
		if err != nil {
			return nil, fmt.Errorf("create image %s: %w", name, err)
		}
		return nil, nil
	case err != nil:
		return nil, err
	}
	moved := old.Target.Digest != target.Digest
	if moved {
		if err := s.keepWithoutName(ctx, old); err != nil {
			return nil, err
		}
	}
	// Updating an unchanged name still bumps UpdatedAt, which is the image's
	// LastTagTime.
	if _, err := is.Update(ctx, cimages.Image{Name: name, Target: target}, "target"); err != nil {
		return nil, fmt.Errorf("update image %s: %w", name, err)
	}
	if !moved {
		return nil, nil
	}
	return &old.Target, nil
}

// keepWithoutName creates the dangling record of rec's image if rec is its
// only record, before rec goes away.
func (s *Service) keepWithoutName(ctx context.Context, rec cimages.Image) error {
	all, err := s.catalog(ctx)
	if err != nil {
		return err
	}
	m, err := s.meta(ctx, rec.Target)
	if err != nil {
		return nil // unreadable content: nothing worth keeping
	}
	if img := all[m.id]; img != nil && len(img.records) > 1 {
		return nil
	}
	_, err = s.store().Create(ctx, cimages.Image{Name: danglingName(rec.Target.Digest), Target: rec.Target, CreatedAt: time.Now()})
	if err != nil && !errdefs.IsAlreadyExists(err) {
		return fmt.Errorf("keep untagged image %s: %w", m.id, err)
	}
	return nil
}

// tidy restores the invariant between named and dangling records for the
// images of targets: an image with a name has no dangling record, and an
// image left without any record gets one (otherwise containerd's garbage
// collector would delete it, while Docker keeps it as <none>:<none>).
// Callers hold s.mu. Failures are logged: the names themselves are done.
func (s *Service) tidy(ctx context.Context, targets ...ocispec.Descriptor) {
	all, err := s.catalog(ctx)
	if err != nil {
		log.G(ctx).WithError(err).Warn("cannot list images to tidy dangling records")
		return
	}
	is := s.store()
	for _, t := range targets {
		m, err := s.meta(ctx, t)
		if err != nil {
			continue
		}
		img := all[m.id]
		if img == nil {
			_, err := is.Create(ctx, cimages.Image{Name: danglingName(t.Digest), Target: t, CreatedAt: time.Now()})
			if err != nil && !errdefs.IsAlreadyExists(err) {
				log.G(ctx).WithError(err).WithField("image", m.id).Warn("cannot keep untagged image")
			}
			continue
		}
		if len(img.named()) == 0 {
			continue
		}
		for _, r := range img.records {
			if isDangling(r.Name) {
				if err := is.Delete(ctx, r.Name); err != nil && !errdefs.IsNotFound(err) {
					log.G(ctx).WithError(err).WithField("image", r.Name).Warn("cannot remove dangling record")
				}
			}
		}
	}
}
