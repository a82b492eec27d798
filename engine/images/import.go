package images

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/log"
	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/events"
	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Import makes a one-layer image from a rootfs tar (uncompressed, gzip or
// zstd), as POST /images/create?fromSrc=- does, applies the Dockerfile
// changes to its config and names it repo:tag (tag defaults to "latest").
// An empty repo leaves the image untagged. It returns the image ID.
//
// Like dockerd's containerd store it writes OCI media types. Unlike it, an
// uncompressed tar is stored as it is rather than gzip-compressed: import
// stays as fast as the disk, at the cost of a larger content store.
func (s *Service) Import(ctx context.Context, r io.Reader, repo, tag string, changes []string, message string) (string, error) {
	ctx = s.withNamespace(ctx)
	var ref reference.NamedTagged
	if repo != "" {
		var err error
		if ref, err = repoTagReference(repo, tag); err != nil {
			return "", err
		}
	}
	cfg, err := applyChanges(dockerspec.DockerOCIImageConfig{}, changes)
	if err != nil {
		return "", err
	}

	// The lease keeps the new blobs from the garbage collector until the
	// image record refers to them.
	ctx, done, err := s.client.WithLease(ctx)
	if err != nil {
		return "", err
	}
	defer func() {
		if err := done(context.WithoutCancel(ctx)); err != nil {
			log.G(ctx).WithError(err).Warn("cannot release the import lease")
		}
	}()

	layer, diffID, err := s.writeLayer(ctx, r)
	if err != nil {
		return "", err
	}
	now := time.Now().UTC()
	configDesc, err := s.writeJSON(ctx, ocispec.MediaTypeImageConfig, dockerspec.DockerOCIImage{
		Image: ocispec.Image{
			Created:  &now,
			Platform: hostPlatform(),
			RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
			History:  []ocispec.History{{Created: &now, Comment: message}},
		},
		Config: cfg,
	}, nil)
	if err != nil {
		return "", err
	}
	manifestDesc, err := s.writeJSON(ctx, ocispec.MediaTypeImageManifest, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    []ocispec.Descriptor{layer},
	}, map[string]string{
		// What the garbage collector follows from the manifest.
		"containerd.io/gc.ref.content.config": configDesc.Digest.String(),
		"containerd.io/gc.ref.content.l.0":    layer.Digest.String(),
	})
	if err != nil {
		return "", err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	name, eventName := danglingName(manifestDesc.Digest), configDesc.Digest.String()
	if ref != nil {
		name, eventName = ref.String(), reference.FamiliarString(ref)
	}
	prev, err := s.setName(ctx, name, manifestDesc)
	if err != nil {
		return "", err
	}
	rec := cimages.Image{Name: name, Target: manifestDesc}
	if err := s.unpack(ctx, containerd.NewImageWithPlatform(s.client, rec, s.platform)); err != nil {
		return "", err
	}
	targets := []ocispec.Descriptor{manifestDesc}
	if prev != nil {
		targets = append(targets, *prev)
	}
	s.tidy(ctx, targets...)
	s.publish(events.ActionImport, configDesc.Digest, eventName, cfg.Labels)
	return configDesc.Digest.String(), nil
}

// writeJSON stores v as a blob of mediaType.
func (s *Service) writeJSON(ctx context.Context, mediaType string, v any, labels map[string]string) (ocispec.Descriptor, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	var opts []content.Opt
	if labels != nil {
		opts = append(opts, content.WithLabels(labels))
	}
	if err := content.WriteBlob(ctx, s.content(), "roost-"+desc.Digest.String(), bytes.NewReader(data), desc, opts...); err != nil {
		return ocispec.Descriptor{}, err
	}
	return desc, nil
}
