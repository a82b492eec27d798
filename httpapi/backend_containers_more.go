package httpapi

import (
	"context"

	"github.com/moby/moby/api/types/container"
)

// ContainersMoreBackend is the rest of the container API: rename, prune,
// top, update, pause and unpause. Errors are errdefs classes with
// dockerd's text (a name in use ErrConflict, a container that must run
// ErrConflict, a bad argument ErrInvalidArgument).
type ContainersMoreBackend interface {
	Rename(ctx context.Context, ref, newName string) error
	Prune(ctx context.Context, filters Filters) (*container.PruneReport, error)
	// Top runs ps with psArgs ("" is "-ef") over the container's processes.
	Top(ctx context.Context, ref, psArgs string) (*container.TopResponse, error)
	Update(ctx context.Context, ref string, req *container.UpdateConfig) (*container.UpdateResponse, error)
	Pause(ctx context.Context, ref string) error
	Unpause(ctx context.Context, ref string) error
}
