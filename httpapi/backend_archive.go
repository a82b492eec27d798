package httpapi

import (
	"context"
	"io"

	"github.com/moby/moby/api/types/container"

	"github.com/roostd/roost/engine/containers"
)

// ExtractOptions are the query parameters of PUT /containers/{id}/archive;
// the type belongs to the engine.
type ExtractOptions = containers.ExtractOptions

// ArchiveBackend reads and writes containers' filesystems: docker cp,
// export and diff. Every method works on running and stopped containers.
// A missing path is errdefs.ErrNotFound with dockerd's text ("Could not
// find the file /x in container c").
type ArchiveBackend interface {
	// StatPath stats path in the container, not following a symlink in
	// its last element.
	StatPath(ctx context.Context, ref, path string) (*container.PathStat, error)
	// ArchivePath returns a tar of path and path's stat; the caller
	// closes the reader.
	ArchivePath(ctx context.Context, ref, path string) (io.ReadCloser, *container.PathStat, error)
	// ExtractToDir unpacks the tar r (it may be compressed) into the
	// directory path of the container.
	ExtractToDir(ctx context.Context, ref, path string, opts ExtractOptions, r io.Reader) error
	// Export returns a tar of the container's root filesystem; the caller
	// closes it.
	Export(ctx context.Context, ref string) (io.ReadCloser, error)
	// Changes lists what differs between the container's filesystem and
	// its image's.
	Changes(ctx context.Context, ref string) ([]container.FilesystemChange, error)
}
