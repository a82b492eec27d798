package buildsvc

import (
	"context"
	"sort"

	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/moby/api/types/build"
	"golang.org/x/sync/errgroup"
)

// Prune removes build cache. Without a buildkitd that ever ran there is
// no cache, and nothing is started to find that out.
func (s *Service) Prune(ctx context.Context, opts PruneOptions) (*build.CachePruneReport, error) {
	report := &build.CachePruneReport{CachesDeleted: []string{}}
	if !s.daemon.Started() {
		return report, nil
	}
	c, err := s.daemon.Client(ctx)
	if err != nil {
		return nil, err
	}
	popts := []bkclient.PruneOption{bkclient.WithKeepOpt(opts.KeepDuration, opts.ReservedSpace, opts.MaxUsedSpace, opts.MinFreeSpace)}
	if opts.All {
		popts = append(popts, bkclient.PruneAll)
	}
	if len(opts.Filters) > 0 {
		popts = append(popts, bkclient.WithFilter(opts.Filters))
	}
	ch := make(chan bkclient.UsageInfo)
	var eg errgroup.Group
	eg.Go(func() error {
		defer close(ch)
		return c.Prune(ctx, ch, popts...)
	})
	eg.Go(func() error {
		for u := range ch {
			report.CachesDeleted = append(report.CachesDeleted, u.ID)
			report.SpaceReclaimed += uint64(u.Size)
		}
		return nil
	})
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return report, nil
}

// DiskUsage lists the build cache records, for GET /system/df.
func (s *Service) DiskUsage(ctx context.Context) ([]build.CacheRecord, error) {
	if !s.daemon.Started() {
		return []build.CacheRecord{}, nil
	}
	c, err := s.daemon.Client(ctx)
	if err != nil {
		return nil, err
	}
	usage, err := c.DiskUsage(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]build.CacheRecord, 0, len(usage))
	for _, u := range usage {
		out = append(out, build.CacheRecord{
			ID:          u.ID,
			Parents:     u.Parents,
			Type:        string(u.RecordType),
			Description: u.Description,
			InUse:       u.InUse,
			Shared:      u.Shared,
			Size:        u.Size,
			CreatedAt:   u.CreatedAt,
			LastUsedAt:  u.LastUsedAt,
			UsageCount:  u.UsageCount,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}
