package httpapi

import (
	"context"

	"github.com/moby/moby/api/types/container"

	"github.com/roostd/roost/engine/containers"
)

// The option types of the exec routes belong to the engine.
type (
	ExecStartOptions = containers.ExecStartOptions
	ExecSession      = containers.ExecSession
)

// ExecBackend runs processes in running containers (docker exec).
type ExecBackend interface {
	// ExecCreate checks the container and the request and returns the
	// new exec's ID.
	ExecCreate(ctx context.Context, ref string, req *container.ExecCreateRequest) (string, error)
	// ExecStart checks that the exec can start; the process starts when
	// the session's Run is called, after the hijack.
	ExecStart(ctx context.Context, id string, opts ExecStartOptions) (ExecSession, error)
	ExecResize(ctx context.Context, id string, height, width uint) error
	ExecInspect(ctx context.Context, id string) (*container.ExecInspectResponse, error)
}
