package images

import (
	"context"
	"time"

	"github.com/containerd/log"
	imagetypes "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/storage"
)

// Inspect returns GET /images/{name}/json for ref (a name, name@digest, an
// ID or a unique ID prefix).
func (s *Service) Inspect(ctx context.Context, ref string) (*imagetypes.InspectResponse, error) {
	ctx = s.withNamespace(ctx)
	m, err := s.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	img := m.img
	cfg := img.meta.clonedConfig()
	tags, digests := names(img)
	size, err := s.size(ctx, img)
	if err != nil {
		log.G(ctx).WithError(err).WithField("image", img.id()).Warn("cannot compute image size")
	}

	layers := make([]string, 0, len(cfg.RootFS.DiffIDs))
	for _, d := range cfg.RootFS.DiffIDs {
		layers = append(layers, d.String())
	}
	resp := &imagetypes.InspectResponse{
		ID:           img.id().String(),
		RepoTags:     familiar(tags),
		RepoDigests:  familiar(digests),
		Author:       cfg.Author,
		Config:       &cfg.Config,
		Architecture: cfg.Architecture,
		Variant:      cfg.Variant,
		Os:           cfg.OS,
		OsVersion:    cfg.OSVersion,
		Size:         size,
		GraphDriver:  &storage.DriverData{Name: s.snapshotter, Data: map[string]string{}},
		RootFS:       imagetypes.RootFS{Type: "layers", Layers: layers},
		Metadata:     imagetypes.Metadata{LastTagTime: lastTagTime(img)},
	}
	if cfg.Created != nil {
		resp.Created = cfg.Created.Format(time.RFC3339Nano)
	}
	// The comment of the last history entry: `docker import -m` and
	// `docker commit -m` put their message there.
	if h := cfg.History; len(h) > 0 {
		resp.Comment = h[len(h)-1].Comment
	}
	target := img.record().Target
	resp.Descriptor = &target
	return resp, nil
}

// lastTagTime is when a name was last given to the image (zero if none).
func lastTagTime(img *image) time.Time {
	var t time.Time
	for _, r := range img.named() {
		if r.UpdatedAt.After(t) {
			t = r.UpdatedAt
		}
	}
	return t
}
