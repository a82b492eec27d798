package system

import (
	"context"

	"github.com/moby/moby/api/types/build"
)

// BuildCacheLister lists the build cache records (buildsvc.Service).
type BuildCacheLister interface {
	DiskUsage(ctx context.Context) ([]build.CacheRecord, error)
}

// buildCacheUsage sums the records as the CLI does for the legacy answer:
// shared records are counted once, by the images that share them, and
// only records no build uses can be reclaimed.
func buildCacheUsage(records []build.CacheRecord) *build.DiskUsage {
	u := &build.DiskUsage{Items: records, TotalCount: int64(len(records))}
	for _, r := range records {
		if r.InUse {
			u.ActiveCount++
		}
		if r.Shared {
			continue
		}
		u.TotalSize += r.Size
		if !r.InUse {
			u.Reclaimable += r.Size
		}
	}
	return u
}
