package httpapi

import (
	"context"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/system"
)

// StatsBackend measures a container's resource usage for GET
// /containers/{id}/stats and the disk usage for GET /system/df.
type StatsBackend interface {
	// Stats calls send with samples as dockerd's ContainerStats: one a
	// second while stream, else a single one (with oneShot, without the
	// precpu_stats base). It returns when ctx ends, send fails or the
	// single sample is sent; an unknown container is ErrNotFound.
	Stats(ctx context.Context, ref string, stream, oneShot bool, send func(*container.StatsResponse) error) error
}

// DiskUsageBackend computes GET /system/df: every item of each kind
// listed, the API trims the answer to what the version and ?verbose ask.
type DiskUsageBackend interface {
	DiskUsage(ctx context.Context) (*system.DiskUsage, error)
}
