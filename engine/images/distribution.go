package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxManifestSize bounds what is read of a manifest or an image config.
const maxManifestSize = 4 << 20

// DistributionInspect asks the registry for what ref names, without
// pulling it (GET /distribution/{name}/json): the descriptor of its
// manifest or index, and the platforms it has.
func (s *Service) DistributionInspect(ctx context.Context, ref string, auth *registry.AuthConfig) (*registry.DistributionInspect, error) {
	parsed, err := reference.ParseAnyReference(ref)
	if err != nil {
		return nil, invalidReference(err)
	}
	named, ok := parsed.(reference.Named)
	if !ok {
		if _, ok := parsed.(reference.Digested); ok {
			return nil, errors.New("no manifest found for full image ID")
		}
		return nil, errdefs.ErrInvalidArgument.WithMessage("unknown image reference format: " + ref)
	}
	if _, ok := named.(reference.Canonical); !ok {
		named = reference.TagNameOnly(named)
	}
	res := s.resolver(ctx, auth, nil)
	name, desc, err := res.Resolve(ctx, named.String())
	if err != nil {
		return nil, pullError(named, err)
	}
	if desc.MediaType == cimages.MediaTypeDockerSchema1Manifest {
		return nil, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf(
			"Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. "+
				"Suggest the author of %s to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2.",
			reference.FamiliarString(named)))
	}
	fetcher, err := res.Fetcher(ctx, name)
	if err != nil {
		return nil, registryError(err)
	}
	out := &registry.DistributionInspect{
		Descriptor: ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size},
		Platforms:  []ocispec.Platform{},
	}
	body, err := fetchJSON(ctx, fetcher, desc)
	if err != nil {
		return nil, registryError(err)
	}
	switch {
	case cimages.IsIndexType(desc.MediaType):
		var idx ocispec.Index
		if err := json.Unmarshal(body, &idx); err != nil {
			return nil, fmt.Errorf("the index of %s: %w", reference.FamiliarString(named), err)
		}
		for _, m := range idx.Manifests {
			if m.Platform != nil {
				out.Platforms = append(out.Platforms, *m.Platform)
			}
		}
	case cimages.IsManifestType(desc.MediaType):
		var m ocispec.Manifest
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, fmt.Errorf("the manifest of %s: %w", reference.FamiliarString(named), err)
		}
		// The platform is in the image config; one that cannot be read
		// leaves the list empty, as in dockerd.
		if cfg, err := fetchJSON(ctx, fetcher, m.Config); err == nil {
			var p ocispec.Platform
			if json.Unmarshal(cfg, &p) == nil && (p.OS != "" || p.Architecture != "") {
				out.Platforms = append(out.Platforms, p)
			}
		}
	}
	return out, nil
}

// fetchJSON reads a small blob (a manifest or a config) and checks it
// against its digest.
func fetchJSON(ctx context.Context, f remotes.Fetcher, desc ocispec.Descriptor) ([]byte, error) {
	if desc.Size > maxManifestSize {
		return nil, fmt.Errorf("%s is %d bytes, more than %d", desc.Digest, desc.Size, maxManifestSize)
	}
	rc, err := f.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxManifestSize+1))
	if err != nil {
		return nil, err
	}
	if desc.Digest.Algorithm().Available() && desc.Digest.Algorithm().FromBytes(b) != desc.Digest {
		return nil, fmt.Errorf("%s: the registry sent content that does not match its digest", desc.Digest)
	}
	return b, nil
}
