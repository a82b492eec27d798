package httpapi

import (
	"context"
	"io"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/system"

	"github.com/roostd/roost/engine/containers"
	"github.com/roostd/roost/engine/images"
	"github.com/roostd/roost/engine/logs"
)

// The interfaces below are what the API needs from the engine. They are
// declared here, by their consumer, so handler tests use small fakes and the
// engine never imports httpapi. Errors are containerd/errdefs classes; their
// text is what the docker CLI prints.

// Filters are the decoded `filters` query parameter: key → accepted values.
type Filters = map[string][]string

// SystemBackend answers /info and /version.
type SystemBackend interface {
	Info(ctx context.Context) (*system.Info, error)
	Version(ctx context.Context) (*system.VersionResponse, error)
}

// EventsBackend streams engine events.
type EventsBackend interface {
	// SubscribeEvents returns the stored events matching the filters since
	// `since` and, atomically with them, a live channel. A zero since means
	// no history; a zero until means no end. cancel must be called.
	SubscribeEvents(since, until time.Time, filters Filters) (history []events.Message, live <-chan events.Message, cancel func(), err error)
}

// The option types of the container routes belong to the engine, which
// must not import httpapi; these names keep the handlers readable.
type (
	ContainerListOptions = containers.ListOptions
	StopOptions          = containers.StopOptions
	AttachOptions        = containers.AttachOptions
	Attachment           = containers.Attachment
	LogsOptions          = containers.LogsOptions
)

// ContainersBackend is the container half of the engine.
type ContainersBackend interface {
	Create(ctx context.Context, name string, req *container.CreateRequest) (*container.CreateResponse, error)
	Start(ctx context.Context, ref string) error                  // already running: errdefs.ErrNotModified
	Stop(ctx context.Context, ref string, opts StopOptions) error // already stopped: ErrNotModified
	Restart(ctx context.Context, ref string, opts StopOptions) error
	Kill(ctx context.Context, ref string, signal string) error
	// Wait checks ref and condition, then returns a channel that yields one
	// response when the condition is met (or ctx ends).
	Wait(ctx context.Context, ref string, condition container.WaitCondition) (<-chan container.WaitResponse, error)
	Remove(ctx context.Context, ref string, force, removeVolumes bool) error
	Inspect(ctx context.Context, ref string) (*container.InspectResponse, error)
	List(ctx context.Context, opts ContainerListOptions) ([]container.Summary, error)
	Attach(ctx context.Context, ref string, opts AttachOptions) (Attachment, error)
	Resize(ctx context.Context, ref string, height, width uint) error
	// Logs returns the log lines; the channel closes at the end (or, with
	// Follow, when the container stops and its log is drained, or ctx ends).
	// tty tells whether the container has a TTY (then there is no framing).
	Logs(ctx context.Context, ref string, opts LogsOptions) (lines <-chan *logs.Message, tty bool, err error)
}

// ImagesBackend is the image half of the engine.
type ImagesBackend interface {
	// Load reads a `docker save` (or OCI layout) tar and returns one line per
	// image, as dockerd prints them: "Loaded image: busybox:latest" or
	// "Loaded image ID: sha256:…".
	Load(ctx context.Context, r io.Reader) ([]string, error)
	// Import makes an image from a rootfs tar (POST /images/create?fromSrc=-)
	// and returns its ID; repo may be empty (an untagged image).
	Import(ctx context.Context, r io.Reader, repo, tag string, changes []string, message string) (string, error)
	List(ctx context.Context, all bool, filters Filters) ([]image.Summary, error)
	Inspect(ctx context.Context, ref string) (*image.InspectResponse, error)
	Remove(ctx context.Context, ref string, force, prune bool) ([]image.DeleteResponse, error)
	Tag(ctx context.Context, source, repo, tag string) error
	// Pull fetches ref (name:tag or name@digest) from its registry,
	// reporting progress through opts.Progress. Until the first progress
	// line an error can still be answered with a status (the engine sends
	// nothing before the reference resolved); after it, it goes into the
	// stream.
	Pull(ctx context.Context, ref string, opts PullOptions) error
	// Push uploads name:tag (every tag of name when tag is empty), with the
	// same progress contract as Pull.
	Push(ctx context.Context, name, tag string, opts PushOptions) error
	// Save writes the images refs name as a `docker save` tar to w. It
	// looks every reference up before it writes anything.
	Save(ctx context.Context, refs []string, w io.Writer) error
	History(ctx context.Context, ref string) ([]image.HistoryResponseItem, error)
	// Login checks credentials against a registry (POST /auth); refused
	// ones are errdefs.ErrUnauthenticated.
	Login(ctx context.Context, auth registry.AuthConfig) (*registry.AuthResponse, error)
	// Prune removes unused images (POST /images/prune); a prune while
	// another runs is errdefs.ErrConflict.
	Prune(ctx context.Context, filters Filters) (*image.PruneReport, error)
}

// The options of pull and push belong to the engine too.
type (
	PullOptions = images.PullOptions
	PushOptions = images.PushOptions
)

// containerSizer measures a container's disk use for `docker inspect -s`;
// a Containers backend without it answers without sizes.
type containerSizer interface {
	Sizes(ctx context.Context, ref string) (rw, rootfs int64, err error)
}
