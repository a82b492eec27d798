// Package images gives Docker image semantics over containerd's image
// store: pull and push (with dockerd's progress stream), load, save,
// import, list, inspect, history, tag and remove, with dockerd's names,
// IDs and error messages.
//
// An image's ID is the digest of its config, as with dockerd's classic
// store, so it does not change between `docker save`/`docker load` or when
// an image is loaded from a Docker or an OCI archive. containerd keeps one
// image record per name (docker.io/library/busybox:latest); an image with no
// name keeps a "dangling" record named moby-dangling@<target digest>, as
// dockerd's containerd store names it.
package images

import (
	"cmp"
	"context"
	"sync"
	"sync/atomic"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/platforms"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/registry"
	digest "github.com/opencontainers/go-digest"
	"github.com/roostd/roost/engine/config"
	"golang.org/x/sync/semaphore"
)

// Publisher receives the service's image events; engine/events.Bus is one.
type Publisher interface {
	Publish(typ events.Type, action events.Action, actor events.Actor)
}

// ContainerUsage tells which containers were created from an image, so
// that removing it can refuse as dockerd does. The containers service
// implements it.
type ContainerUsage interface {
	// ImageInUse returns the IDs of the containers using imageID
	// ("sha256:<config digest>").
	ImageInUse(ctx context.Context, imageID string) (containerIDs []string, err error)
}

// RunningUsage is optionally implemented by a ContainerUsage to tell running
// containers apart: dockerd refuses to remove an image a running container
// uses even with force, while a stopped container only needs force.
type RunningUsage interface {
	RunningImageUsers(ctx context.Context, imageID string) (containerIDs []string, err error)
}

// Options configure a Service.
type Options struct {
	// Namespace is the containerd namespace holding the images ("roost").
	Namespace string
	// Snapshotter unpacks the images: "overlayfs" or "fuse-overlayfs".
	Snapshotter string
	// Events receives image events; nil drops them.
	Events Publisher
	// Containers reports image use; it can also be set later with
	// SetContainerUsage, since the containers service is built after this one.
	Containers ContainerUsage
	// CertsDir holds per-registry certificates, certs.d/<host:port>/ as
	// in Docker (~/.config/roost/certs.d); empty for none.
	CertsDir string
	// Registry is daemon.json's registry configuration (mirrors, insecure
	// registries, download and upload limits), already validated.
	Registry config.Registry
	// RegistryTimeout bounds the wait for a registry's response headers
	// and any pause in a response body; 0 means 30 seconds.
	RegistryTimeout time.Duration
	// ContentRoot is containerd's content directory
	// (<root>/io.containerd.content.v1.content), read directly by docker
	// save; empty reads through containerd.
	ContentRoot string
	// SquashOwners unpacks layers with every file owned by root, for a
	// user namespace that maps the user's own ID alone (single-ID mode),
	// where files of other owners cannot be created.
	SquashOwners bool
}

// Service implements Docker's image operations on containerd.
type Service struct {
	contentRoot string
	client      *containerd.Client
	ns          string
	snapshotter string
	// squashOwners: see Options.SquashOwners.
	squashOwners bool
	certsDir     string
	events       Publisher
	// platform picks the manifest of a multi-platform image: the host's.
	platform platforms.MatchComparer

	usageMu    sync.RWMutex
	containers ContainerUsage

	// mu serializes changes of image names (load, import, tag, remove), so
	// that the dangling records stay consistent with the named ones.
	mu sync.Mutex
	// pruning is set while a prune runs: a second one is a conflict.
	pruning atomic.Bool

	cache *metaCache

	reg             *registries
	registryTimeout time.Duration
	// downloads and uploads limit the layer transfers of all pulls and
	// all pushes together, as max-concurrent-downloads and -uploads do
	// in dockerd.
	downloads, uploads *semaphore.Weighted
	// pulls makes a pull of an image another pull is fetching wait for it
	// and then find everything there, so that the layers download once.
	pulls keyedMutex
}

// New returns a Service using client's content and image stores.
func New(client *containerd.Client, opts Options) *Service {
	if opts.Namespace == "" {
		opts.Namespace = "roost"
	}
	if opts.Snapshotter == "" {
		opts.Snapshotter = "overlayfs"
	}
	return &Service{
		contentRoot:     opts.ContentRoot,
		client:          client,
		ns:              opts.Namespace,
		snapshotter:     opts.Snapshotter,
		squashOwners:    opts.SquashOwners,
		certsDir:        opts.CertsDir,
		events:          opts.Events,
		platform:        platforms.Default(),
		containers:      opts.Containers,
		cache:           newMetaCache(),
		reg:             newRegistries(opts.Registry),
		registryTimeout: cmp.Or(opts.RegistryTimeout, defaultRegistryTimeout),
		downloads:       semaphore.NewWeighted(int64(opts.Registry.Downloads())),
		uploads:         semaphore.NewWeighted(int64(opts.Registry.Uploads())),
	}
}

// RegistryConfig is the registry configuration as docker info shows it.
func (s *Service) RegistryConfig() *registry.ServiceConfig { return s.reg.serviceConfig() }

// SetContainerUsage sets the source of container use of images.
func (s *Service) SetContainerUsage(u ContainerUsage) {
	s.usageMu.Lock()
	s.containers = u
	s.usageMu.Unlock()
}

func (s *Service) usage() ContainerUsage {
	s.usageMu.RLock()
	defer s.usageMu.RUnlock()
	return s.containers
}

// withNamespace scopes ctx to the service's containerd namespace.
func (s *Service) withNamespace(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, s.ns)
}

func (s *Service) store() cimages.Store   { return s.client.ImageService() }
func (s *Service) content() content.Store { return s.client.ContentStore() }

// publish sends an image event; name goes into the "name" attribute, and
// the image's labels come along as dockerd sends them.
func (s *Service) publish(action events.Action, id digest.Digest, name string, labels map[string]string) {
	s.publishActor(action, id.String(), name, labels)
}

// publishActor is publish with any actor ID: pull and push events name
// the reference (busybox:latest) there, as dockerd's do.
func (s *Service) publishActor(action events.Action, id, name string, labels map[string]string) {
	if s.events == nil {
		return
	}
	attrs := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		attrs[k] = v
	}
	attrs["name"] = name
	s.events.Publish(events.ImageEventType, action, events.Actor{ID: id, Attributes: attrs})
}
