package images

import (
	"context"
	"fmt"
	"strings"

	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/core/unpack"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PullOptions are the options of Pull.
type PullOptions struct {
	// Platform selects the image of a multi-platform image; nil means the
	// host's.
	Platform *ocispec.Platform
	// Auth are the credentials the client sent (X-Registry-Auth); nil for
	// anonymous access.
	Auth *registry.AuthConfig
	// Progress receives the progress lines; nil drops them.
	Progress ProgressFunc
}

// Pull fetches ref (name:tag or name@digest; a bare name means every tag
// of the repository, as with dockerd) from its registry into the content
// store, unpacks it into the service's snapshotter and names it ref, as
// `docker pull` does. A name the image had before is moved; the image it
// named stays, untagged.
//
// The progress lines are dockerd's: "Pulling from …" with the tag as ID,
// per layer "Pulling fs layer", "Downloading", "Download complete",
// "Extracting", "Pull complete" (or "Already exists"), then "Digest: …"
// and "Status: Downloaded newer image for …" or "Status: Image is up to
// date for …". Nothing is sent before the reference resolved, so a
// missing image is an error the caller can still answer with a status.
func (s *Service) Pull(ctx context.Context, ref string, opts PullOptions) error {
	ctx = s.withNamespace(ctx)
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return invalidReference(err)
	}
	if reference.IsNameOnly(named) {
		return s.pullAllTags(ctx, named, opts)
	}
	out := &progressOut{fn: opts.Progress}
	platform := s.platform
	if opts.Platform != nil {
		platform = platforms.Only(*opts.Platform)
	}

	// The lease holds what the pull writes, content and snapshots, until
	// the image record refers to it.
	ctx, done, err := s.client.WithLease(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err := done(context.WithoutCancel(ctx)); err != nil {
			log.G(ctx).WithError(err).Warn("cannot release the pull lease")
		}
	}()

	res := s.resolver(ctx, opts.Auth, nil)
	name, target, err := res.Resolve(ctx, named.String())
	if err != nil {
		return pullError(named, err)
	}
	if target.MediaType == cimages.MediaTypeDockerSchema1Manifest {
		return errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf(
			"Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. "+
				"Suggest the author of %s to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2.",
			reference.FamiliarString(named)))
	}
	fetcher, err := res.Fetcher(ctx, name)
	if err != nil {
		return registryError(err)
	}

	recName := named.String()
	var old ocispec.Descriptor
	if rec, err := s.store().Get(ctx, recName); err == nil {
		old = rec.Target
	}

	tagOrDigest := ""
	if t, ok := named.(reference.Tagged); ok {
		tagOrDigest = t.Tag()
	} else if d, ok := named.(reference.Digested); ok {
		tagOrDigest = d.Digest().String()
	}
	out.message(tagOrDigest, "Pulling from "+reference.Path(named))

	// A second pull of what another pull is fetching waits for it, then
	// finds the content there: each layer is downloaded once.
	unlock, err := s.pulls.lock(ctx, target.Digest.String())
	if err != nil {
		return err
	}
	defer unlock()

	// An image whose content is all there already shows no layers at all.
	available, _, _, missing, err := cimages.Check(ctx, s.content(), target, platform)
	tr := newPullTracker(out, err == nil && available && len(missing) == 0)
	stop := ticker(tr.tick)
	err = s.fetch(ctx, named, target, fetcher, platform, tr)
	stop()
	if err == nil {
		// Whatever the index, the platform's manifest must be here:
		// otherwise the image would exist and be unusable.
		_, err = cimages.Manifest(ctx, s.content(), target, platform)
	}
	if errdefs.IsNotFound(err) && strings.Contains(err.Error(), "platform") {
		want := hostPlatform()
		if opts.Platform != nil {
			want = *opts.Platform
		}
		// containerd's "no match for platform in manifest" does not say
		// which; dockerd's message does.
		return errdefs.ErrNotFound.WithMessage(fmt.Sprintf(
			"no matching manifest for %s in the manifest list entries", platforms.FormatAll(want)))
	}
	if err != nil {
		return registryError(err)
	}
	tr.finish()

	s.mu.Lock()
	prev, err := s.setName(ctx, recName, target)
	if err == nil {
		targets := []ocispec.Descriptor{target}
		if prev != nil {
			targets = append(targets, *prev)
		}
		s.tidy(ctx, targets...)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}

	out.message("", "Digest: "+target.Digest.String())
	if old.Digest == target.Digest {
		out.message("", "Status: Image is up to date for "+reference.FamiliarString(named))
	} else {
		out.message("", "Status: Downloaded newer image for "+reference.FamiliarString(named))
	}
	var labels map[string]string
	if m, err := s.meta(ctx, target); err == nil {
		labels = m.config.Config.Labels
	}
	s.publishActor(events.ActionPull, reference.FamiliarString(named), reference.FamiliarName(named), labels)
	return nil
}

// fetch downloads target's content for platform, every layer included
// even where its snapshot exists (push and save need the blobs), and
// unpacks it as the layers arrive, as containerd's own pull does.
func (s *Service) fetch(ctx context.Context, named reference.Named, target ocispec.Descriptor, fetcher remotes.Fetcher, platform platforms.MatchComparer, tr *pullTracker) error {
	cs := s.content()
	caps, err := s.client.GetSnapshotterCapabilities(ctx, s.snapshotter)
	if err != nil {
		return fmt.Errorf("snapshotter %s: %w", s.snapshotter, err)
	}
	unpacker, err := unpack.NewUnpacker(ctx, cs,
		unpack.WithUnpackPlatform(unpack.Platform{
			// Whatever platform was fetched is unpacked, as containerd's
			// client does; the fetch already chose it.
			Platform:                platforms.All,
			SnapshotterKey:          s.snapshotter,
			Snapshotter:             s.client.SnapshotService(s.snapshotter),
			SnapshotterCapabilities: caps,
			Applier:                 tr.applier(s.applier()),
		}),
		unpack.WithFetchAllContent(),
		unpack.WithLimiter(s.downloads),
	)
	if err != nil {
		return err
	}

	// Children get the labels the garbage collector follows from their
	// parent before the platforms are filtered, as in containerd's pull.
	children := cimages.SetChildrenLabels(cs, cimages.ChildrenHandler(cs))
	children = cimages.FilterPlatforms(children, platform)
	children = cimages.LimitManifests(children, platform, 1)
	// The source labels let a later push mount the blobs from this
	// repository instead of uploading them.
	source, err := docker.AppendDistributionSourceLabel(cs, named.String())
	if err != nil {
		return err
	}
	handler := unpacker.Unpack(tr.wrap(cimages.Handlers(
		remotes.FetchHandler(cs, tr.fetcher(fetcher)),
		children,
		source,
	)))
	dispatchErr := cimages.Dispatch(ctx, handler, nil, target)
	// The unpacker runs until its goroutines end, even after a failure.
	_, unpackErr := unpacker.Wait()
	if dispatchErr != nil {
		return dispatchErr
	}
	if unpackErr != nil {
		return fmt.Errorf("unpack %s: %w", reference.FamiliarString(named), unpackErr)
	}
	return nil
}
