package containers

import (
	"context"

	"github.com/moby/moby/api/types/container"
)

// DiskUsage lists every container with SizeRw, the disk use of its
// writable snapshot, for GET /system/df; SizeRootFs is left to the caller,
// which knows the image sizes.
func (s *Service) DiskUsage(ctx context.Context) ([]container.Summary, error) {
	cs, err := s.List(ctx, ListOptions{All: true})
	if err != nil {
		return nil, err
	}
	for i := range cs {
		cs[i].SizeRw = int64(s.layerSize(ctx, cs[i].ID))
	}
	return cs, nil
}
