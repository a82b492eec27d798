package images

import (
	"context"
	"fmt"
	"sort"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Resolved is an image ready for a container: found, and unpacked into the
// service's snapshotter.
type Resolved struct {
	// ID is "sha256:" and the config digest.
	ID string
	// Name is the reference in its familiar form with its tag
	// ("busybox:latest"), or the ID when the image was named by ID.
	Name string
	// Image is the containerd image, for the host platform. Its methods need
	// a context in the service's namespace.
	Image containerd.Image
	// Config is the image's runtime configuration.
	Config ocispec.ImageConfig
	// Healthcheck is the image's HEALTHCHECK, which the OCI config lacks.
	Healthcheck *dockerspec.HealthcheckConfig
}

// Resolve finds the image ref names (a name, name@digest, a full ID or a
// unique ID prefix), unpacks it if needed and returns it. An unknown image
// is errdefs.ErrNotFound with dockerd's "No such image: busybox:latest",
// which `docker run` takes as the cue to pull.
func (s *Service) Resolve(ctx context.Context, ref string) (*Resolved, error) {
	ctx = s.withNamespace(ctx)
	m, err := s.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	rec := m.img.record()
	if len(m.records) > 0 {
		rec = m.records[0]
	}
	ci := containerd.NewImageWithPlatform(s.client, rec, s.platform)
	if err := s.unpack(ctx, ci); err != nil {
		return nil, err
	}
	name := m.img.id().String()
	if m.named != nil {
		name = reference.FamiliarString(m.named)
	}
	cfg := m.img.meta.clonedConfig().Config
	return &Resolved{
		ID:          m.img.id().String(),
		Name:        name,
		Image:       ci,
		Config:      cfg.ImageConfig,
		Healthcheck: cfg.Healthcheck,
	}, nil
}

// unpack makes sure the image's layers are in the snapshotter.
func (s *Service) unpack(ctx context.Context, ci containerd.Image) error {
	ok, err := ci.IsUnpacked(ctx, s.snapshotter)
	if err == nil && ok {
		return nil
	}
	unpack := func() error { return ci.Unpack(ctx, s.snapshotter) }
	if s.squashOwners {
		unpack = func() error { return s.unpackSquashed(ctx, ci) }
	}
	if err := unpack(); err != nil && !errdefs.IsAlreadyExists(err) {
		return fmt.Errorf("unpack image %s: %w", ci.Name(), err)
	}
	return nil
}

// match is the result of looking a reference up.
type match struct {
	img  *image
	byID bool
	// named is the normalized reference when the image was found by name:
	// with its tag (default latest), or with a digest.
	named reference.Named
	// records are the records the name selects (one for a tag; every name
	// of the repository pointing at the digest for name@digest).
	records []cimages.Image
}

// find lists the images and looks ref up among them.
func (s *Service) find(ctx context.Context, ref string) (*match, error) {
	if _, err := reference.ParseAnyReference(ref); err != nil {
		return nil, invalidReference(err)
	}
	all, err := s.catalog(ctx)
	if err != nil {
		return nil, err
	}
	return lookup(all, ref)
}

// lookup finds ref the way dockerd does: a full ID, then a name, then a
// unique ID prefix of at least 4 digits.
func lookup(all map[digest.Digest]*image, ref string) (*match, error) {
	parsed, err := reference.ParseAnyReference(ref)
	if err != nil {
		return nil, invalidReference(err)
	}

	named, isNamed := parsed.(reference.Named)
	if d, ok := parsed.(reference.Digested); ok && !isNamed {
		// sha256:<64 hex>, or 64 hex digits alone: a full ID. A target
		// (manifest) digest is accepted too, as dockerd's containerd
		// store uses those as IDs.
		if img, ok := all[d.Digest()]; ok {
			return &match{img: img, byID: true}, nil
		}
		for _, img := range sortedImages(all) {
			for _, r := range img.records {
				if r.Target.Digest == d.Digest() {
					return &match{img: img, byID: true}, nil
				}
			}
		}
		return nil, notFound(ref)
	}

	if isNamed {
		if m := findNamed(all, named); m != nil {
			return m, nil
		}
	}

	if prefix := checkTruncatedID(ref); prefix != "" {
		var found *image
		for id, img := range all {
			if strings.HasPrefix(id.Encoded(), prefix) {
				if found != nil && found != img {
					return nil, errdefs.ErrNotFound.WithMessage(errAmbiguous.Error())
				}
				found = img
			}
		}
		if found != nil {
			return &match{img: found, byID: true}, nil
		}
	}
	return nil, notFound(ref)
}

// findNamed looks up a name: name[:tag] selects one record, name@digest
// every record of that repository whose target has the digest.
func findNamed(all map[digest.Digest]*image, named reference.Named) *match {
	if dg, ok := named.(reference.Digested); ok {
		var m *match
		for _, img := range sortedImages(all) {
			for _, r := range img.records {
				if r.Name == named.String() || (r.Target.Digest == dg.Digest() && repoName(r.Name) == named.Name()) {
					if m == nil {
						m = &match{img: img, named: named}
					}
					if m.img == img {
						m.records = append(m.records, r)
					}
				}
			}
		}
		return m
	}
	name := reference.TagNameOnly(named)
	for _, img := range all {
		for _, r := range img.records {
			if r.Name == name.String() {
				return &match{img: img, named: name, records: []cimages.Image{r}}
			}
		}
	}
	return nil
}

// repoName is the repository of a record name (docker.io/library/busybox),
// or "" for a dangling or malformed name.
func repoName(name string) string {
	if isDangling(name) {
		return ""
	}
	n, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return ""
	}
	return n.Name()
}

// sortedImages returns the images newest first, then by ID, which is the
// order `docker images` lists them in.
func sortedImages(all map[digest.Digest]*image) []*image {
	out := make([]*image, 0, len(all))
	for _, img := range all {
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool {
		ci, cj := created(out[i]), created(out[j])
		if !ci.Equal(cj) {
			return ci.After(cj)
		}
		return out[i].id() < out[j].id()
	})
	return out
}

// hostPlatform is the platform images are unpacked for.
func hostPlatform() ocispec.Platform { return platforms.DefaultSpec() }
