package httpapi

import (
	"context"

	"github.com/moby/moby/api/types/volume"
)

// VolumesBackend is the volume half of the engine. Errors are errdefs
// classes with dockerd's text: an invalid name ErrInvalidArgument, an
// unknown driver or volume ErrNotFound, a volume in use ErrConflict.
type VolumesBackend interface {
	Create(ctx context.Context, name, driver string, driverOpts, labels map[string]string) (*volume.Volume, error)
	Get(ctx context.Context, name string) (*volume.Volume, error)
	List(ctx context.Context, filters Filters) ([]*volume.Volume, error)
	// Remove with force ignores a missing volume, not one in use.
	Remove(ctx context.Context, name string, force bool) error
	Prune(ctx context.Context, filters Filters) (*volume.PruneReport, error)
}
