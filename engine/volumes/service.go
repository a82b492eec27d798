// Package volumes manages Docker volumes of the local driver: a directory
// <Root>/<name>/_data per volume, its record in engine/store, and the
// create, inspect, list, remove and prune semantics of dockerd.
package volumes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/volume"

	"github.com/roostd/roost/engine/store"
)

// LocalDriver is the built-in driver; any other name is a volume plugin
// (plugin.go).
const LocalDriver = "local"

// AnonymousLabel marks anonymous volumes, as dockerd ≥ 23 does.
const AnonymousLabel = "com.docker.volume.anonymous"

// Publisher receives the volume events; engine/events.Bus satisfies it.
type Publisher interface {
	Publish(typ events.Type, action events.Action, actor events.Actor)
}

// ContainerUsage tells which containers use a volume; the containers
// service satisfies it.
type ContainerUsage interface {
	// VolumeInUse returns the IDs of the containers that reference the
	// volume named name, running or not.
	VolumeInUse(ctx context.Context, name string) (containerIDs []string, err error)
}

// Options configure a Service.
type Options struct {
	Store  *store.Store
	Events Publisher
	// Root holds the volumes: Root/<name>/_data.
	Root string
	// Usage may be nil here and set later with SetContainerUsage, since
	// the containers service is built after this one.
	Usage ContainerUsage
	// PluginSockDir holds the sockets of volume plugins (<name>.sock),
	// PluginSpecDir their .spec and .json files: dockerd's
	// /run/docker/plugins and /etc/docker/plugins for one user.
	PluginSockDir, PluginSpecDir string
	// PluginTimeout bounds each call to a plugin; zero is PluginTimeout.
	PluginTimeout time.Duration
}

// Service is the volume half of the engine.
type Service struct {
	opts  Options
	store *store.Volumes

	mu    sync.Mutex // serialises create and remove of a name
	usage ContainerUsage

	mntMu  sync.Mutex // guards active
	active map[string]*activeMount

	plugMu  sync.Mutex // guards plugins
	plugins map[string]*plugin
}

// New returns a Service storing volumes under opts.Root.
func New(opts Options) (*Service, error) {
	if opts.Store == nil || opts.Root == "" {
		return nil, errors.New("volumes: a store and a root are required")
	}
	if err := os.MkdirAll(opts.Root, 0o700); err != nil {
		return nil, err
	}
	if opts.PluginSockDir != "" {
		if err := os.MkdirAll(opts.PluginSockDir, 0o700); err != nil {
			return nil, err
		}
	}
	return &Service{opts: opts, store: opts.Store.Volumes(), usage: opts.Usage,
		active: map[string]*activeMount{}, plugins: map[string]*plugin{}}, nil
}

// SetContainerUsage sets the source of container use of volumes.
func (s *Service) SetContainerUsage(u ContainerUsage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usage = u
}

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// Create makes the volume name (a generated 64-hex name when empty; such
// a volume is still not anonymous, as with dockerd ≥ 23: a default prune
// keeps it). Creating an existing volume returns it, as dockerd does.
func (s *Service) Create(ctx context.Context, name, driver string, driverOpts, labels map[string]string) (*volume.Volume, error) {
	return s.create(ctx, name, driver, driverOpts, labels, false)
}

// CreateAnonymous makes a new anonymous volume for a container, of the
// driver named (local when empty) with its options.
func (s *Service) CreateAnonymous(ctx context.Context, driver string, driverOpts map[string]string) (string, error) {
	v, err := s.create(ctx, "", driver, driverOpts, map[string]string{AnonymousLabel: ""}, true)
	if err != nil {
		return "", err
	}
	return v.Name, nil
}

func (s *Service) create(ctx context.Context, name, driver string, driverOpts, labels map[string]string, anonymous bool) (*volume.Volume, error) {
	explicit := driver != ""
	if !explicit {
		driver = LocalDriver
	}
	var p *plugin
	if driver != LocalDriver {
		var err error
		if p, err = s.findPlugin(ctx, driver); err != nil {
			return nil, err
		}
	}
	if name == "" {
		name = newName()
	} else if !validName.MatchString(name) {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"create %s: %q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
			name, name))
	}
	if p == nil {
		if err := checkLocalOpts(driverOpts); err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("create %s: %v", name, err))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, err := s.store.Get(ctx, name); err == nil {
		if explicit && rec.Driver != driver {
			return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("create %s: driver '%s' already has volume '%s': volume name must be unique", name, rec.Driver, name))
		}
		return s.toAPI(rec), nil
	} else if !errdefs.IsNotFound(err) {
		return nil, err
	}
	if p != nil {
		// The plugin keeps the data; roost keeps the record and the
		// directory its mountpoint is bound on while containers use it.
		if err := p.create(ctx, name, driverOpts); err != nil {
			s.pluginFailed(p, err)
			return nil, errdefs.ErrUnknown.WithMessage(fmt.Sprintf("create %s: %v", name, err))
		}
	}
	dir := s.dataDir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	// MkdirAll's mode is filtered by the umask; volumes are 0755 as under dockerd.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	rec := &store.Volume{Name: name, Driver: driver, Created: time.Now().UTC(), Labels: labels, Options: driverOpts, Anonymous: anonymous}
	if err := s.store.Create(context.WithoutCancel(ctx), rec); err != nil {
		os.RemoveAll(filepath.Join(s.opts.Root, name))
		return nil, err
	}
	s.publish(name, driver, events.ActionCreate)
	return s.toAPI(rec), nil
}

// Get returns the volume named name.
func (s *Service) Get(ctx context.Context, name string) (*volume.Volume, error) {
	rec, err := s.store.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	v := s.toAPI(rec)
	if rec.Driver != LocalDriver {
		if err := s.pluginDetails(ctx, v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Path returns the host directory of the volume's data (Mountpoint).
func (s *Service) Path(ctx context.Context, name string) (string, error) {
	if _, err := s.store.Get(ctx, name); err != nil {
		return "", err
	}
	return s.dataDir(name), nil
}

// IsAnonymous tells whether name is an anonymous volume.
func (s *Service) IsAnonymous(ctx context.Context, name string) (bool, error) {
	rec, err := s.store.Get(ctx, name)
	if err != nil {
		return false, err
	}
	return rec.Anonymous, nil
}

// Remove deletes the volume name with its data; a volume in use is a
// conflict even with force (dockerd's force only ignores a missing volume).
func (s *Service) Remove(ctx context.Context, name string, force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.store.Get(ctx, name)
	if err != nil {
		if force && errdefs.IsNotFound(err) {
			return nil
		}
		return err
	}
	users, err := s.users(ctx, name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("remove %s: volume is in use - %v", name, users))
	}
	return s.removeLocked(ctx, rec, force)
}

// removeLocked removes the volume of rec; with force, a plugin's error
// does not keep the record (dockerd's purge on error).
func (s *Service) removeLocked(ctx context.Context, rec *store.Volume, force bool) error {
	name := rec.Name
	if err := s.unmountIdle(ctx, name); err != nil {
		return err
	}
	if rec.Driver != LocalDriver {
		if err := s.pluginRemove(ctx, rec, force); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(filepath.Join(s.opts.Root, name)); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if err := s.store.Delete(context.WithoutCancel(ctx), name); err != nil {
		return err
	}
	s.publish(name, rec.Driver, events.ActionDestroy)
	return nil
}

func (s *Service) users(ctx context.Context, name string) ([]string, error) {
	if s.usage == nil {
		return nil, nil
	}
	return s.usage.VolumeInUse(ctx, name)
}

// Mountpoint returns the host directory of the volume's data; it does
// not check that the volume exists.
func (s *Service) Mountpoint(name string) string {
	return s.dataDir(name)
}

// Driver returns the driver of the volume name, "local" when there is
// no such volume (it is gone with its record).
func (s *Service) Driver(name string) string {
	rec, err := s.store.Get(context.Background(), name)
	if err != nil {
		return LocalDriver
	}
	return rec.Driver
}

func (s *Service) dataDir(name string) string {
	return filepath.Join(s.opts.Root, name, "_data")
}

func (s *Service) toAPI(rec *store.Volume) *volume.Volume {
	labels, opts := rec.Labels, rec.Options
	if labels == nil {
		labels = map[string]string{}
	}
	if len(opts) == 0 {
		opts = nil
	}
	created := ""
	if !rec.Created.IsZero() { // a plugin's volume roost did not create
		created = rec.Created.Format(time.RFC3339)
	}
	return &volume.Volume{
		Name:       rec.Name,
		Driver:     rec.Driver,
		Mountpoint: s.dataDir(rec.Name),
		CreatedAt:  created,
		Labels:     labels,
		Options:    opts,
		Scope:      "local",
	}
}

func (s *Service) publish(name, driver string, action events.Action) {
	if s.opts.Events == nil {
		return
	}
	s.opts.Events.Publish(events.VolumeEventType, action, events.Actor{ID: name, Attributes: map[string]string{"driver": driver}})
}

func newName() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
