// Package httpapi serves the Docker Engine API over HTTP: routing, version
// negotiation, request decoding, the error-to-status mapping and the
// streaming formats (hijacked attach, stdcopy framing, JSON message streams).
// It calls the engine through the interfaces in backend.go.
package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// The API versions roost serves. MaxAPIVersion is the version of the
// swagger.yaml in the pinned github.com/moby/moby/api module (checked by a
// test); MinAPIVersion is the oldest version dockerd 28 still accepted.
const (
	MinAPIVersion = "1.24"
	MaxAPIVersion = "1.56"
)

// Options are the engine services the API serves, and roost's version.
type Options struct {
	System     SystemBackend
	Containers ContainersBackend
	Images     ImagesBackend
	Events     EventsBackend
	Exec       ExecBackend
	Archive    ArchiveBackend
	Volumes    VolumesBackend // nil: the volume routes answer 501
	// ContainersMore serves rename, prune, top, update, pause and
	// unpause; nil: those routes answer 501.
	ContainersMore ContainersMoreBackend
	// Stats serves container stats; nil: that route answers 501.
	Stats StatsBackend
	// DiskUsage serves GET /system/df; nil: it answers 501.
	DiskUsage DiskUsageBackend
	// Networks serves /networks; nil: those routes answer 501.
	Networks NetworksBackend
	// Registry serves GET /images/search and GET /distribution/{name}/json;
	// nil: they answer 501.
	Registry RegistryBackend
	// Build serves the build routes; nil: they answer 501.
	Build BuildBackend
	// BuildProxy, if set, takes the build routes and BuildKit's gRPC on
	// the socket instead of Build: roostd passes them to the roost-build
	// process, which serves them with NewBuild.
	BuildProxy http.Handler
	// ServerVersion is roost's version, sent in the Server header.
	ServerVersion string
}

// server holds the backends the handlers call.
type server struct {
	system     SystemBackend
	containers ContainersBackend
	images     ImagesBackend
	events     EventsBackend
	exec       ExecBackend
	archive    ArchiveBackend
	volumes    VolumesBackend

	containersMore ContainersMoreBackend
	stats          StatsBackend
	diskUsage      DiskUsageBackend
	networks       NetworksBackend
	registry       RegistryBackend
	build          BuildBackend
	buildProxy     http.Handler
}

// route is one line of a resource's route table.
type route struct {
	method  string
	pattern string
	handler handlerFunc
}

// New returns the API handler. Every request may carry a /v1.NN prefix;
// unknown routes, and known paths with the wrong method, answer 404 like
// dockerd does.
func New(opts Options) http.Handler {
	s := &server{
		system:     opts.System,
		containers: opts.Containers,
		images:     opts.Images,
		events:     opts.Events,
		exec:       opts.Exec,
		archive:    opts.Archive,
		volumes:    opts.Volumes,

		containersMore: opts.ContainersMore,
		stats:          opts.Stats,
		diskUsage:      opts.DiskUsage,
		networks:       opts.Networks,
		registry:       opts.Registry,
		build:          opts.Build,
		buildProxy:     opts.BuildProxy,
	}
	mux := chi.NewRouter()
	mux.NotFound(pageNotFound)
	mux.MethodNotAllowed(pageNotFound)
	for _, table := range [][]route{
		s.systemRoutes(),
		s.eventRoutes(),
		s.containerRoutes(),
		s.imageRoutes(),
		s.authRoutes(),
		s.registryRoutes(),
		s.execRoutes(),
		s.archiveRoutes(),
		s.volumeRoutes(),
		s.containerMoreRoutes(),
		s.containerStatsRoutes(),
		s.networkRoutes(),
		s.buildRoutes(),
	} {
		for _, rt := range table {
			mux.Method(rt.method, rt.pattern, adapt(rt.handler))
		}
	}
	grpc := opts.BuildProxy
	if grpc == nil {
		grpc, _ = opts.Build.(http.Handler)
	}
	return withGRPC(withVersion(mux, opts.ServerVersion), grpc)
}

// NewBuild returns a handler of the build routes alone (and of BuildKit's
// gRPC when b serves it), for the roost-build process; other paths answer
// 404.
func NewBuild(b BuildBackend, serverVersion string) http.Handler {
	s := &server{build: b}
	mux := chi.NewRouter()
	mux.NotFound(pageNotFound)
	mux.MethodNotAllowed(pageNotFound)
	for _, rt := range s.buildRoutes() {
		mux.Method(rt.method, rt.pattern, adapt(rt.handler))
	}
	g, _ := b.(http.Handler)
	return withGRPC(withVersion(mux, serverVersion), g)
}
