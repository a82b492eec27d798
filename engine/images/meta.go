package images

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/containerd/containerd/v2/core/content"
	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/containerd/platforms"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// imageMeta is what an image record's target resolves to for the host
// platform: the manifest and the config, whose digest is the image ID.
type imageMeta struct {
	id         digest.Digest
	configDesc ocispec.Descriptor
	config     dockerspec.DockerOCIImage
	manifest   ocispec.Manifest
}

// metaCache maps a target digest to its imageMeta. Content is addressed by
// digest and never changes, so entries stay valid; only successful reads
// are cached (content may still be arriving).
type metaCache struct {
	mu sync.Mutex
	m  map[digest.Digest]*imageMeta
	// usage holds snapshot sizes by chain ID; a committed snapshot does not
	// change either.
	usage map[digest.Digest]int64
}

func newMetaCache() *metaCache {
	return &metaCache{m: map[digest.Digest]*imageMeta{}, usage: map[digest.Digest]int64{}}
}

// meta resolves target (an index or a manifest) to its host-platform
// manifest and config. An index without a host-platform manifest falls
// back to the best other platform, as `docker images` still lists it.
func (s *Service) meta(ctx context.Context, target ocispec.Descriptor) (*imageMeta, error) {
	s.cache.mu.Lock()
	m, ok := s.cache.m[target.Digest]
	s.cache.mu.Unlock()
	if ok {
		return m, nil
	}

	cs := s.content()
	manifest, err := cimages.Manifest(ctx, cs, target, s.platform)
	if errdefs.IsNotFound(err) && cimages.IsIndexType(target.MediaType) {
		manifest, err = cimages.Manifest(ctx, cs, target, platforms.All)
	}
	if err != nil {
		return nil, err
	}
	m = &imageMeta{id: manifest.Config.Digest, configDesc: manifest.Config, manifest: manifest}
	data, err := content.ReadBlob(ctx, cs, manifest.Config)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &m.config); err != nil {
		return nil, fmt.Errorf("image config %s: %w", manifest.Config.Digest, err)
	}

	s.cache.mu.Lock()
	s.cache.m[target.Digest] = m
	s.cache.mu.Unlock()
	return m, nil
}

// image is one Docker image: every containerd record whose target resolves
// to the same config.
type image struct {
	meta    *imageMeta
	records []cimages.Image // sorted by name; named ones and at most one dangling
}

func (img *image) id() digest.Digest { return img.meta.id }

// named returns the records that give the image a name.
func (img *image) named() []cimages.Image {
	var out []cimages.Image
	for _, r := range img.records {
		if !isDangling(r.Name) {
			out = append(out, r)
		}
	}
	return out
}

// record returns the record to use for the image's content: a named one
// if there is one.
func (img *image) record() cimages.Image {
	if n := img.named(); len(n) > 0 {
		return n[0]
	}
	return img.records[0]
}

// catalog lists every record and groups them into images by ID. Records
// whose content is missing or unreadable are left out (an interrupted pull
// or a foreign record), as dockerd's list does.
func (s *Service) catalog(ctx context.Context) (map[digest.Digest]*image, error) {
	recs, err := s.store().List(ctx)
	if err != nil {
		return nil, err
	}
	imgs := map[digest.Digest]*image{}
	for _, r := range recs {
		m, err := s.meta(ctx, r.Target)
		if err != nil {
			log.G(ctx).WithError(err).WithField("image", r.Name).Debug("skipping image record without usable content")
			continue
		}
		img := imgs[m.id]
		if img == nil {
			img = &image{meta: m}
			imgs[m.id] = img
		}
		img.records = append(img.records, r)
	}
	for _, img := range imgs {
		sort.Slice(img.records, func(i, j int) bool { return img.records[i].Name < img.records[j].Name })
	}
	return imgs, nil
}

// clonedConfig returns a deep copy of the image's config: the cached one is
// shared, and callers may append to its slices or write to its maps.
func (m *imageMeta) clonedConfig() dockerspec.DockerOCIImage {
	var c dockerspec.DockerOCIImage
	data, err := json.Marshal(m.config)
	if err == nil {
		err = json.Unmarshal(data, &c)
	}
	if err != nil {
		// It was decoded from JSON, so it encodes; never reached.
		return m.config
	}
	return c
}
