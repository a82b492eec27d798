package images

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/containerd/containerd/v2/core/content"
	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/registry"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PushOptions are the options of Push.
type PushOptions struct {
	// Auth are the credentials the client sent (X-Registry-Auth); nil for
	// anonymous access.
	Auth *registry.AuthConfig
	// Progress receives the progress lines; nil drops them.
	Progress ProgressFunc
}

// pushResult is the aux message that ends the push of one tag, as
// dockerd sends it (the CLI's content trust signs from it).
type pushResult struct {
	Tag    string
	Digest string
	Size   int
}

// Push uploads the image named name:tag to its registry, as `docker push`
// does; an empty tag pushes every tag of the repository. tag may also be a
// digest. The progress starts with "The push refers to repository [...]"
// and each tag ends with "<tag>: digest: sha256:… size: N" and the
// {"Tag","Digest","Size"} aux message. As in dockerd, everything after the
// first line (an image that does not exist locally included) is reported
// in the stream.
func (s *Service) Push(ctx context.Context, name, tag string, opts PushOptions) error {
	ctx = s.withNamespace(ctx)
	ref, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return invalidReference(err)
	}
	if tag != "" {
		if d, err := digest.Parse(tag); err == nil {
			ref, err = reference.WithDigest(reference.TrimNamed(ref), d)
			if err != nil {
				return invalidReference(err)
			}
		} else if ref, err = reference.WithTag(reference.TrimNamed(ref), tag); err != nil {
			return invalidReference(err)
		}
	}
	out := &progressOut{fn: opts.Progress}
	out.message("", "The push refers to repository ["+ref.Name()+"]")

	recs, err := s.pushRecords(ctx, ref)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if err := s.pushRecord(ctx, rec, opts.Auth, out); err != nil {
			return err
		}
	}
	return nil
}

// pushRecords returns the records ref names: one for a tag or digest,
// every tag of the repository for a bare name.
func (s *Service) pushRecords(ctx context.Context, ref reference.Named) ([]cimages.Image, error) {
	missing := errdefs.ErrNotFound.WithMessage("An image does not exist locally with the tag: " + reference.FamiliarName(ref))
	if !reference.IsNameOnly(ref) {
		rec, err := s.store().Get(ctx, ref.String())
		if errdefs.IsNotFound(err) {
			return nil, missing
		}
		if err != nil {
			return nil, err
		}
		return []cimages.Image{rec}, nil
	}
	all, err := s.store().List(ctx)
	if err != nil {
		return nil, err
	}
	var recs []cimages.Image
	for _, r := range all {
		n, err := reference.ParseNormalizedNamed(r.Name)
		if err != nil || isDangling(r.Name) || n.Name() != ref.Name() {
			continue
		}
		if _, ok := n.(reference.Tagged); ok {
			recs = append(recs, r)
		}
	}
	if len(recs) == 0 {
		return nil, missing
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Name < recs[j].Name })
	return recs, nil
}

// pushRecord pushes one image record under its name.
func (s *Service) pushRecord(ctx context.Context, rec cimages.Image, auth *registry.AuthConfig, out *progressOut) error {
	named, err := reference.ParseNormalizedNamed(rec.Name)
	if err != nil {
		return invalidReference(err)
	}
	// The lease keeps the content from the garbage collector even if the
	// image is removed while it is being pushed: the record's target is a
	// root of it, and the collector follows the references from there.
	ctx, done, err := s.client.WithLease(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err := done(context.WithoutCancel(ctx)); err != nil {
			log.G(ctx).WithError(err).Warn("cannot release the push lease")
		}
	}()

	id, _ := leases.FromContext(ctx)
	res := leases.Resource{ID: rec.Target.Digest.String(), Type: "content"}
	if err := s.client.LeasesService().AddResource(ctx, leases.Lease{ID: id}, res); err != nil {
		return err
	}
	target, err := s.pushTarget(ctx, rec.Target)
	if err != nil {
		return err
	}
	// The tag goes on the target only; other manifests of an index are
	// pushed by digest.
	pushRef := named
	if _, ok := named.(reference.Digested); !ok {
		if pushRef, err = reference.WithDigest(named, target.Digest); err != nil {
			return invalidReference(err)
		}
	}
	tracker := docker.NewInMemoryTracker()
	pusher, err := s.resolver(ctx, auth, tracker).Pusher(ctx, pushRef.String())
	if err != nil {
		return registryError(err)
	}
	pt := newPushTracker(out, tracker)
	stop := ticker(pt.tick)
	err = remotes.PushContent(ctx, pusher, target, s.content(), s.uploads, platforms.All, pt.wrap)
	stop()
	if err != nil {
		return registryError(err)
	}

	if t, ok := named.(reference.Tagged); ok {
		out.message("", fmt.Sprintf("%s: digest: %s size: %d", t.Tag(), target.Digest, target.Size))
		out.aux(pushResult{Tag: t.Tag(), Digest: target.Digest.String(), Size: int(target.Size)})
	}
	var labels map[string]string
	if m, err := s.meta(ctx, target); err == nil {
		labels = m.config.Config.Labels
	}
	s.publishActor(events.ActionPush, reference.FamiliarString(named), reference.FamiliarName(named), labels)
	return nil
}

// pushTarget is what to push for an image record: its target, or, when it
// is an index whose content is not all here (a pull fetches the host's
// platform only), the host platform's manifest, as dockerd does.
func (s *Service) pushTarget(ctx context.Context, target ocispec.Descriptor) (ocispec.Descriptor, error) {
	if !cimages.IsIndexType(target.MediaType) {
		return target, nil
	}
	cs := s.content()
	available, _, _, missing, err := cimages.Check(ctx, cs, target, platforms.All)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if available && len(missing) == 0 {
		return target, nil
	}
	data, err := content.ReadBlob(ctx, cs, target)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("image index %s: %w", target.Digest, err)
	}
	var best *ocispec.Descriptor
	for i, m := range idx.Manifests {
		if m.Platform == nil || !s.platform.Match(*m.Platform) {
			continue
		}
		ok, _, _, missing, err := cimages.Check(ctx, cs, m, platforms.All)
		if err != nil || !ok || len(missing) > 0 {
			continue
		}
		if best == nil || s.platform.Less(*m.Platform, *best.Platform) {
			best = &idx.Manifests[i]
		}
	}
	if best == nil {
		return ocispec.Descriptor{}, errdefs.ErrNotFound.WithMessage(fmt.Sprintf(
			"content of image %s is missing: no manifest for this platform is complete", target.Digest))
	}
	return *best, nil
}
