// Package containers gives Docker container semantics over containerd:
// create, start, stop, kill, restart, wait, rm, inspect, ls, attach, logs
// and resize, restart policies and --rm, and the restore of running
// containers when roostd restarts. Its state lives in engine/store and in
// memory (dockerd's "replica": `docker ps` must not touch the database).
package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"

	"github.com/roostd/roost/engine/store"
)

// Publisher receives the engine's events; engine/events.Bus satisfies it.
type Publisher interface {
	Publish(typ events.Type, action events.Action, actor events.Actor)
}

// ImageResolver finds the local image a container is created from.
// An unknown reference is an errdefs.ErrNotFound whose text the CLI shows
// ("No such image: …"); Create returns it unchanged.
type ImageResolver interface {
	Resolve(ctx context.Context, ref string) (*Resolved, error)
}

// Networker connects containers to their networks.
type Networker interface {
	// CheckCreate validates a new container's networks and published
	// ports (errors are dockerd's, in errdefs classes). It may add labels
	// to cfg that record the networker's choices (bypass4netns).
	CheckCreate(ctx context.Context, cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig) error
	// SeccompListener is the seccomp notification socket the container's
	// spec must name, "" for none.
	SeccompListener(id string, cfg *container.Config) string
	// Prepare runs before the task is created (NetNS is still empty).
	Prepare(ctx context.Context, req NetworkRequest) error
	// Attach runs between task create and task start, with the path of
	// the task's network namespace.
	Attach(ctx context.Context, req NetworkRequest) (*NetworkAttachment, error)
	// Detach undoes Attach once the task is gone; it is idempotent and
	// knows the containers attached before a restart of roostd.
	Detach(ctx context.Context, id string) error
	// Settings returns the live network settings of an attached
	// container, nil for one that is not.
	Settings(id string) *container.NetworkSettings
}

// NetworkRequest describes a container whose task was just created.
type NetworkRequest struct {
	ID, Name   string
	NetNS      string
	Config     *container.Config
	HostConfig *container.HostConfig
	Networking *network.NetworkingConfig
}

// NetworkAttachment is what a container got from its networks.
type NetworkAttachment struct {
	// Hosts are /etc/hosts lines for the container's own addresses.
	Hosts []string
	// Nameservers replace the default resolv.conf servers (the networks'
	// DNS servers); nil keeps them.
	Nameservers []string
}

// Options configure a Service.
type Options struct {
	Client      *client.Client
	Namespace   string // containerd namespace; DefaultNamespace if empty
	Snapshotter string // "" is containerd's default
	Store       *store.Store
	Events      Publisher
	Images      ImageResolver
	Network     Networker // nil: containers get a namespace with loopback only
	// Volumes serves named and anonymous volumes; nil refuses them (501)
	// and leaves the image's VOLUME entries as rootfs directories.
	Volumes VolumeMounter
	// StateDir holds per-container runtime files (FIFOs, hostname, hosts,
	// resolv.conf) in StateDir/containers/<id>/.
	StateDir string
	// DataDir holds the logs: DataDir/containers/<id>/<id>-json.log.
	DataDir string
	// Rootless leaves cgroups out of the OCI spec: runc in a user namespace
	// without cgroup delegation fails when it is asked to use them.
	Rootless bool
	// LiveRestore keeps containers running across a restart of roostd.
	LiveRestore bool
	// Init runs an init as PID 1 of containers that leave HostConfig.Init
	// unset; InitPath is its binary ("" looks for docker-init or Debian's
	// tini-static).
	Init     bool
	InitPath string
	// SeccompProfile is the profile of containers that name none: ""
	// or "builtin" for dockerd's default, "unconfined", or a profile's
	// JSON.
	SeccompProfile string
	// NoNewPrivileges is the default of --security-opt no-new-privileges.
	NoNewPrivileges bool
	// LogConfig is the log driver (and its options) of containers that
	// name none; "" is json-file. Check it with CheckLogConfig.
	LogConfig container.LogConfig
	// DefaultShmSize (bytes) and DefaultIpcMode apply to containers that
	// give none; 0 and "" are dockerd's 64 MiB and private.
	DefaultShmSize int64
	DefaultIpcMode container.IpcMode
}

// DefaultNamespace is the containerd namespace roost uses.
const DefaultNamespace = "roost"

// Service is the container half of the engine.
type Service struct {
	opts   Options
	client *client.Client
	store  *store.Containers

	mu    sync.RWMutex
	byID  map[string]*ctr
	names map[string]string // name (without '/') → ID, reserved before the container exists
	execs execStore         // docker exec instances, in memory only (as dockerd's)
	// shimPicks is the shim group of each container this roostd created
	// (shimgroup.go), guarded by shimMu.
	shimMu    sync.Mutex
	shimPicks map[string]shimPick

	shuttingDown atomic.Bool
	// detached is closed when roostd shuts down with live-restore: the
	// monitors stop watching tasks that keep running.
	detached   chan struct{}
	detachOnce sync.Once
	wg         sync.WaitGroup // monitors, pumps and pending restarts
	reaper     reaper         // removed containers' runtimes, deleted in the background
}

// New returns a Service holding the containers of the store. Call Restore
// once before serving requests.
func New(opts Options) (*Service, error) {
	switch {
	case opts.Client == nil:
		return nil, errors.New("containers: a containerd client is required")
	case opts.Store == nil:
		return nil, errors.New("containers: a store is required")
	case opts.Images == nil:
		return nil, errors.New("containers: an image resolver is required")
	case opts.StateDir == "" || opts.DataDir == "":
		return nil, errors.New("containers: StateDir and DataDir are required")
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.Events == nil {
		opts.Events = nopPublisher{}
	}
	opts.InitPath = FindInit(opts.InitPath)
	if opts.Network == nil {
		opts.Network = nopNetworker{}
	}
	for _, d := range []string{filepath.Join(opts.StateDir, "containers"), filepath.Join(opts.DataDir, "containers")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	s := &Service{
		opts:     opts,
		client:   opts.Client,
		store:    opts.Store.Containers(),
		byID:     map[string]*ctr{},
		names:    map[string]string{},
		detached: make(chan struct{}),
	}
	recs, err := s.store.List(context.Background())
	if err != nil {
		return nil, fmt.Errorf("containers: load: %w", err)
	}
	for _, rec := range recs {
		c := newCtr(rec)
		s.byID[rec.ID] = c
		s.names[rec.Name] = rec.ID
	}
	return s, nil
}

// nsCtx returns ctx in the service's containerd namespace.
func (s *Service) nsCtx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, s.opts.Namespace)
}

// bgCtx is nsCtx for work that must finish even when the client that asked
// for it goes away (stop, start, remove: dockerd's context.WithoutCancel).
func (s *Service) bgCtx(ctx context.Context) context.Context {
	return s.nsCtx(context.WithoutCancel(ctx))
}

// get finds a container the way dockerd's GetContainer does: full ID, then
// exact name, then unique ID prefix.
func (s *Service) get(ref string) (*ctr, error) {
	if ref == "" {
		return nil, errdefs.ErrInvalidArgument.WithMessage(`invalid name or ID supplied: ""`)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c, ok := s.byID[ref]; ok {
		return c, nil
	}
	if id, ok := s.names[trimSlash(ref)]; ok {
		if c, ok := s.byID[id]; ok {
			return c, nil
		}
	}
	var found *ctr
	if store.IsHexPrefix(ref) {
		for id, c := range s.byID {
			if len(id) >= len(ref) && id[:len(ref)] == ref {
				if found != nil {
					return nil, errdefs.ErrInvalidArgument.WithMessage("multiple IDs found with provided prefix: " + ref)
				}
				found = c
			}
		}
	}
	if found == nil {
		return nil, errNoSuchContainer(ref)
	}
	return found, nil
}

// all returns a snapshot of the container list.
func (s *Service) all() []*ctr {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*ctr, 0, len(s.byID))
	for _, c := range s.byID {
		out = append(out, c)
	}
	return out
}

func (s *Service) stateDir(id string) string {
	return filepath.Join(s.opts.StateDir, "containers", id)
}

func (s *Service) logDir(id string) string {
	return filepath.Join(s.opts.DataDir, "containers", id)
}

func errNoSuchContainer(ref string) error {
	return errdefs.ErrNotFound.WithMessage("No such container: " + ref)
}

type nopPublisher struct{}

func (nopPublisher) Publish(events.Type, events.Action, events.Actor) {}

type nopNetworker struct{}

func (nopNetworker) CheckCreate(context.Context, *container.Config, *container.HostConfig, *network.NetworkingConfig) error {
	return nil
}

func (nopNetworker) SeccompListener(string, *container.Config) string { return "" }

func (nopNetworker) Prepare(context.Context, NetworkRequest) error { return nil }

func (nopNetworker) Detach(context.Context, string) error { return nil }

func (nopNetworker) Settings(string) *container.NetworkSettings { return nil }

func (nopNetworker) Attach(context.Context, NetworkRequest) (*NetworkAttachment, error) {
	return &NetworkAttachment{}, nil
}
