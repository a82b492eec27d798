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

// sizes is what `docker ps -s` shows: the writable snapshot's disk use and
// the whole root filesystem's, the image's snapshots included (0 for
// what cannot be measured).
func (s *Service) sizes(ctx context.Context, id string) (rw, rootfs int64) {
	ctx = s.nsCtx(ctx)
	ss := s.client.SnapshotService(s.snapshotterName())
	rw = int64(s.layerSize(ctx, id))
	rootfs = rw
	info, err := ss.Stat(ctx, id)
	for err == nil && info.Parent != "" {
		if u, uerr := ss.Usage(ctx, info.Parent); uerr == nil && u.Size > 0 {
			rootfs += u.Size
		}
		info, err = ss.Stat(ctx, info.Parent)
	}
	return rw, rootfs
}
