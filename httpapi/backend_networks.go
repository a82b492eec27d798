package httpapi

import (
	"context"

	"github.com/moby/moby/api/types/network"
)

// NetworksBackend is the network half of the engine. Errors are errdefs
// classes with dockerd's text: an unknown network ErrNotFound, a name in
// use ErrConflict, a predefined or busy network ErrPermissionDenied.
type NetworksBackend interface {
	Create(ctx context.Context, req network.CreateRequest) (*network.CreateResponse, error)
	Inspect(ctx context.Context, ref string) (*network.Inspect, error)
	List(ctx context.Context, filters Filters) ([]network.Summary, error)
	Remove(ctx context.Context, ref string) error
	Prune(ctx context.Context, filters Filters) (*network.PruneReport, error)
	Connect(ctx context.Context, network, container string, cfg *network.EndpointSettings) error
	Disconnect(ctx context.Context, network, container string, force bool) error
}
