package images

import (
	"context"
	"fmt"
	"time"

	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/events"
	imagetypes "github.com/moby/moby/api/types/image"
	digest "github.com/opencontainers/go-digest"
)

// Remove untags or deletes an image as `docker rmi` does. By name it
// removes that name, and the image with its last name. By ID it removes
// every name and the image, refusing without force when names span several
// repositories. An image a container uses is not removed without force;
// with force its names go but the image stays, untagged, for the container
// (dockerd's containerd store does the same). prune is accepted for the
// API: images here have no parent chain to prune.
func (s *Service) Remove(ctx context.Context, ref string, force, prune bool) ([]imagetypes.DeleteResponse, error) {
	ctx = s.withNamespace(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()

	m, err := s.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	img := m.img
	named := img.named()

	if !m.byID && len(m.records) < len(named) {
		// Other names remain: only untag.
		return s.untag(ctx, img, m.records)
	}

	if m.byID && !force && !singleReference(named) {
		return nil, conflict(shortID(img.id()), "must be forced", "image is referenced in multiple repositories")
	}
	users, running, err := s.imageUsers(ctx, img.id())
	if err != nil {
		return nil, err
	}
	if len(running) > 0 {
		return nil, conflict(shortID(img.id()), "cannot be forced",
			"image is being used by running container "+shortContainerID(running[0]))
	}
	if len(users) > 0 && !force {
		if !m.byID {
			return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf(
				"conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s",
				familiarInput(ref), shortContainerID(users[0]), shortID(img.id())))
		}
		return nil, conflict(shortID(img.id()), "must be forced",
			"image is being used by stopped container "+shortContainerID(users[0]))
	}

	toUntag := named
	if !m.byID {
		toUntag = m.records
	}
	if len(users) > 0 {
		// Forced while containers use it: the names go, the image stays
		// for the containers, untagged. Its dangling record comes first.
		target := img.record().Target
		_, err := s.store().Create(ctx, cimages.Image{Name: danglingName(target.Digest), Target: target, CreatedAt: time.Now()})
		if err != nil && !errdefs.IsAlreadyExists(err) {
			return nil, err
		}
		return s.untag(ctx, img, toUntag)
	}
	resp, err := s.untag(ctx, img, toUntag)
	if err != nil {
		return resp, err
	}
	for _, r := range img.records {
		if !isDangling(r.Name) {
			continue
		}
		if err := s.store().Delete(ctx, r.Name, cimages.SynchronousDelete()); err != nil && !errdefs.IsNotFound(err) {
			return resp, err
		}
	}
	s.publish(events.ActionDelete, img.id(), img.id().String(), img.meta.config.Config.Labels)
	return append(resp, imagetypes.DeleteResponse{Deleted: img.id().String()}), nil
}

// untag deletes the records recs, each an "Untagged" entry and event. The
// last record of an image is deleted synchronously, so that containerd's
// garbage collector has freed the content when the call returns.
func (s *Service) untag(ctx context.Context, img *image, recs []cimages.Image) ([]imagetypes.DeleteResponse, error) {
	var resp []imagetypes.DeleteResponse
	for _, r := range recs {
		if err := s.store().Delete(ctx, r.Name, cimages.SynchronousDelete()); err != nil && !errdefs.IsNotFound(err) {
			return resp, err
		}
		name := familiarName(r.Name)
		resp = append(resp, imagetypes.DeleteResponse{Untagged: name})
		s.publish(events.ActionUnTag, img.id(), name, img.meta.config.Config.Labels)
	}
	return resp, nil
}

// imageUsers asks the containers service which containers use id, and
// which of them run (when it can tell).
func (s *Service) imageUsers(ctx context.Context, id digest.Digest) (users, running []string, err error) {
	u := s.usage()
	if u == nil {
		return nil, nil, nil
	}
	if users, err = u.ImageInUse(ctx, id.String()); err != nil {
		return nil, nil, err
	}
	if r, ok := u.(RunningUsage); ok && len(users) > 0 {
		if running, err = r.RunningImageUsers(ctx, id.String()); err != nil {
			return nil, nil, err
		}
	}
	return users, running, nil
}

// singleReference tells whether names leave no doubt about what removing
// by ID means: at most one tag, and digests only of that tag's repository
// (dockerd's isSingleReference).
func singleReference(recs []cimages.Image) bool {
	var tagged []reference.Named
	repos := map[string]bool{}
	for _, r := range recs {
		n, err := reference.ParseNormalizedNamed(r.Name)
		if err != nil {
			continue
		}
		if _, ok := n.(reference.Canonical); ok {
			repos[n.Name()] = true
			continue
		}
		tagged = append(tagged, n)
	}
	switch {
	case len(tagged) > 1:
		return false
	case len(tagged) == 1:
		delete(repos, tagged[0].Name())
		return len(repos) == 0
	default:
		return len(repos) <= 1
	}
}

// conflict is dockerd's imageDeleteConflict message.
func conflict(ref, force, why string) error {
	return errdefs.ErrConflict.WithMessage(fmt.Sprintf("conflict: unable to delete %s (%s) - %s", ref, force, why))
}

// familiarInput is the reference as the user typed it, normalized to its
// familiar form but without adding a tag ("busybox" stays "busybox").
func familiarInput(ref string) string {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.FamiliarString(n)
}

func shortContainerID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
