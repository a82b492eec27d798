package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/events"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Load imports a `docker save` archive (Docker's manifest.json, or the OCI
// layout Docker 25+ also writes), possibly gzip- or zstd-compressed, and
// unpacks the host-platform images. It returns dockerd's lines: "Loaded
// image: busybox:latest" per name, "Loaded image ID: sha256:…" per image
// without one. An archive that is not an image archive is
// errdefs.ErrInvalidArgument and imports nothing.
//
// containerd's importer reads the tar as a stream and stores every member
// by digest; member names are only looked up, never used as paths, so a
// hostile name (../x, /etc/x) cannot write anywhere.
func (s *Service) Load(ctx context.Context, r io.Reader) ([]string, error) {
	ctx = s.withNamespace(ctx)
	dr, err := compression.DecompressStream(r)
	if err != nil {
		return nil, archiveError(err)
	}
	defer dr.Close()

	s.mu.Lock()
	defer s.mu.Unlock()

	before, err := s.store().List(ctx)
	if err != nil {
		return nil, err
	}
	prev := map[string]ocispec.Descriptor{}
	for _, r := range before {
		prev[r.Name] = r.Target
	}
	// The importer moves names that the archive reuses. A lease on every
	// current target keeps an image that loses its last name from the
	// garbage collector until tidy gives it a dangling record. Import
	// reuses the lease found in ctx.
	ctx, done, err := s.protect(ctx, before)
	if err != nil {
		return nil, err
	}
	defer done()

	recs, err := s.client.Import(ctx, dr,
		// Import what the archive has; unpack only the host's platform.
		containerd.WithAllPlatforms(true),
		containerd.WithSkipMissing(),
		containerd.WithImageRefTranslator(ociRefName),
		// Images without a (valid) name get a dangling record.
		containerd.WithDigestRef(danglingName),
		containerd.WithSkipDigestRef(func(name string) bool {
			_, err := reference.ParseNormalizedNamed(name)
			return name != "" && err == nil
		}),
	)
	if err != nil {
		return nil, archiveError(err)
	}
	if len(recs) == 0 {
		return nil, errdefs.ErrInvalidArgument.WithMessage("invalid image archive: it contains no image")
	}

	var (
		lines    []string
		seen     = map[string]bool{}
		targets  []ocispec.Descriptor
		unpacked = map[digest.Digest]bool{}
	)
	for _, rec := range recs {
		targets = append(targets, rec.Target)
		if p, ok := prev[rec.Name]; ok && p.Digest != rec.Target.Digest {
			targets = append(targets, p)
		}
		m, err := s.meta(ctx, rec.Target)
		if err != nil {
			return lines, fmt.Errorf("loaded image %s: %w", rec.Name, err)
		}
		line, name := "Loaded image ID: "+m.id.String(), m.id.String()
		if !isDangling(rec.Name) {
			name = familiarName(rec.Name)
			line = "Loaded image: " + name
		}
		if !unpacked[rec.Target.Digest] {
			unpacked[rec.Target.Digest] = true
			if err := s.unpack(ctx, containerd.NewImageWithPlatform(s.client, rec, s.platform)); err != nil {
				// As dockerd: the image is loaded, only not unpacked yet;
				// Resolve retries before a container uses it.
				log.G(ctx).WithError(err).WithField("image", name).Warn("cannot unpack loaded image")
				lines = append(lines, fmt.Sprintf("Error unpacking image %s: %v", name, err))
			}
		}
		if seen[line] {
			continue
		}
		seen[line] = true
		lines = append(lines, line)
		s.publish(events.ActionLoad, m.id, name, m.config.Config.Labels)
	}
	s.tidy(ctx, targets...)
	return lines, nil
}

// ociRefName names an image of an OCI layout from its
// org.opencontainers.image.ref.name annotation when that is a full
// reference (docker save writes io.containerd.image.name too, which takes
// precedence). A bare tag ("latest", as other tools write) names no
// repository, so such an image is loaded untagged.
func ociRefName(name string) string {
	if !strings.ContainsAny(name, "/:@") {
		return ""
	}
	n, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return ""
	}
	return reference.TagNameOnly(n).String()
}

// archiveError classifies an import failure: a problem of the daemon or the
// request's context keeps its class; anything else is the archive's fault.
func archiveError(err error) error {
	switch {
	case errdefs.IsCanceled(err), errdefs.IsDeadlineExceeded(err), errdefs.IsUnavailable(err),
		errdefs.IsResourceExhausted(err), errdefs.IsPermissionDenied(err), errdefs.IsInternal(err),
		errdefs.IsDataLoss(err):
		return fmt.Errorf("load image archive: %w", err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, tar.ErrHeader):
		return errdefs.ErrInvalidArgument.WithMessage("invalid image archive: not a tar archive, or a truncated one: " + err.Error())
	}
	return errdefs.ErrInvalidArgument.WithMessage("invalid image archive: " + err.Error())
}

// protect returns ctx with a lease holding the targets of recs.
func (s *Service) protect(ctx context.Context, recs []cimages.Image) (context.Context, func(), error) {
	ctx, done, err := s.client.WithLease(ctx)
	if err != nil {
		return nil, nil, err
	}
	release := func() {
		if err := done(context.WithoutCancel(ctx)); err != nil {
			log.G(ctx).WithError(err).Warn("cannot release lease")
		}
	}
	id, _ := leases.FromContext(ctx)
	ls := s.client.LeasesService()
	for _, r := range recs {
		res := leases.Resource{ID: r.Target.Digest.String(), Type: "content"}
		if err := ls.AddResource(ctx, leases.Lease{ID: id}, res); err != nil {
			release()
			return nil, nil, err
		}
	}
	return ctx, release, nil
}
