package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/log"
	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	apievents "github.com/moby/moby/api/types/events"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/roostd/roost/buildproc"
	"github.com/roostd/roost/engine/config"
	"github.com/roostd/roost/engine/containers"
	"github.com/roostd/roost/engine/events"
	"github.com/roostd/roost/engine/images"
	"github.com/roostd/roost/engine/store"
	"github.com/roostd/roost/engine/system"
	"github.com/roostd/roost/engine/volumes"
	"github.com/roostd/roost/httpapi"
	"github.com/roostd/roost/rootless"
	"github.com/roostd/roost/systemd"
)

const containerdConnectTimeout = 20 * time.Second

// engine is every service of the API process, joined.
type engine struct {
	Handler http.Handler
	// Busy tells whether a container runs (or is paused or restarting),
	// which keeps an idle roostd from exiting.
	Busy    func(ctx context.Context) bool
	closers []func(ctx context.Context)
}

// Close stops the services in reverse order of start.
func (e *engine) Close(ctx context.Context) {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i](ctx)
	}
}

// buildEngine connects to the keeper's containerd, opens the store and
// wires the services; containers are restored before the API answers.
func buildEngine(ctx context.Context, cfg *config.Config, p rootless.Paths) (_ *engine, retErr error) {
	e := &engine{}
	defer func() {
		if retErr != nil {
			e.Close(context.Background())
		}
	}()
	snapshotter, err := os.ReadFile(p.SnapshotterFile())
	if err != nil {
		return nil, fmt.Errorf("the keeper did not record its snapshotter: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, containerdConnectTimeout)
	defer cancel()
	ctrd, err := client.New(p.ContainerdSocket(), client.WithDefaultNamespace(containers.DefaultNamespace),
		// When nsinit restarts a killed containerd, calls wait for the new one
		// rather than fail, and the reconnect backoff stays short: grpc's
		// default waits a second or more, longer than containerd's restart.
		client.WithExtraDialOpts([]grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: containerdConnectTimeout,
		})}),
		client.WithCallOpts([]grpc.CallOption{grpc.WaitForReady(true)}))
	if err != nil {
		return nil, fmt.Errorf("connecting to containerd at %s: %w", p.ContainerdSocket(), err)
	}
	e.closers = append(e.closers, func(context.Context) { ctrd.Close() })
	ctrdVersion, err := ctrd.Version(cctx)
	if err != nil {
		return nil, fmt.Errorf("containerd at %s does not answer: %w", p.ContainerdSocket(), err)
	}

	st, err := store.Open(filepath.Join(p.DataDir, "roost.db"))
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func(context.Context) { st.Close() })

	bus := events.New()
	e.closers = append(e.closers, func(context.Context) { bus.Close() })
	// Only the user's own ID mapped (no /etc/subuid range): see docs/hpc.md.
	singleID := rootless.MappedIDs() == 1
	imgs := images.New(ctrd, images.Options{
		Namespace:   containers.DefaultNamespace,
		Snapshotter: string(snapshotter),
		Events:      bus,
		// Docker's certs.d layout, in the user's config dir.
		CertsDir: filepath.Join(p.ConfigDir, "certs.d"),
		// docker save reads blobs from disk rather than through gRPC.
		ContentRoot: filepath.Join(p.ContainerdRoot(), "io.containerd.content.v1.content"),
		Registry:    cfg.Registry,
		// Only the user's own ID exists in the namespace: files of other
		// owners in image layers become root's.
		SquashOwners: singleID,
	})
	if singleID {
		// BuildKit unpacks base images through containerd's diff service,
		// which the keeper points here in single-ID mode.
		stop, err := serveSquashDiff(p.SquashDiffSocket(), imgs.SquashApplier())
		if err != nil {
			return nil, fmt.Errorf("squashing differ: %w", err)
		}
		e.closers = append(e.closers, stop)
	}
	vols, err := volumes.New(volumes.Options{Store: st, Events: bus, Root: filepath.Join(p.DataDir, "volumes"),
		// dockerd's /run/docker/plugins and /etc/docker/plugins, per user.
		PluginSockDir: filepath.Join(p.StateDir, "plugins"), PluginSpecDir: filepath.Join(p.ConfigDir, "plugins")})
	if err != nil {
		return nil, err
	}
	nets, bypass, err := buildNetworks(ctx, cfg, st, bus, p)
	if err != nil {
		return nil, fmt.Errorf("networks: %w", err)
	}
	e.closers = append(e.closers, func(context.Context) {
		nets.Close()
		if bypass != nil && !cfg.LiveRestore {
			// The containers it served are stopped by now.
			bypass.Shutdown()
		}
	})
	cgroups := system.DetectCgroups(true)
	seccompProfile, err := seccompProfile(cfg.SeccompProfile)
	if err != nil {
		return nil, err
	}
	initPath := containers.FindInit(cfg.InitPath)
	var shmSize int64
	if cfg.DefaultShmSize != "" {
		// Validate checked it.
		shmSize, _ = units.RAMInBytes(cfg.DefaultShmSize)
	}
	ctrs, err := containers.New(containers.Options{
		Client:      ctrd,
		Namespace:   containers.DefaultNamespace,
		Snapshotter: string(snapshotter),
		Store:       st,
		Events:      bus,
		Images:      imgs,
		Volumes:     vols,
		Network:     nets,
		StateDir:    p.StateDir,
		DataDir:     p.DataDir,
		Rootless:    !cgroups.Limits,
		LiveRestore: cfg.LiveRestore,

		Init:            cfg.Init,
		InitPath:        initPath,
		SeccompProfile:  seccompProfile,
		NoNewPrivileges: cfg.NoNewPrivileges,
		LogConfig:       container.LogConfig{Type: cfg.LogDriver, Config: cfg.LogOpts},
		DefaultShmSize:  shmSize,
		DefaultIpcMode:  container.IpcMode(cfg.DefaultIpcMode),
	})
	if err != nil {
		return nil, err
	}
	imgs.SetContainerUsage(ctrs)
	vols.SetContainerUsage(ctrs)
	nets.SetContainers(ctrs)
	systemd.Status("restoring containers")
	if err := ctrs.Restore(ctx); err != nil {
		return nil, fmt.Errorf("restoring containers: %w", err)
	}
	e.closers = append(e.closers, func(ctx context.Context) {
		if err := ctrs.Shutdown(ctx); err != nil {
			log.G(ctx).WithError(err).Warn("stopping containers")
		}
	})

	builds := newBuildProcess(p, string(snapshotter), imgs, cfg.BuildHistory(), singleID, cfg.Debug)
	e.closers = append(e.closers, builds.Close)

	runcPath, runcVersion := runcInfo()
	sys := system.New(system.Options{
		ID:              engineID(p.DataDir),
		Version:         version,
		GitCommit:       gitCommit,
		APIVersion:      httpapi.MaxAPIVersion,
		MinAPIVersion:   httpapi.MinAPIVersion,
		Rootless:        true,
		Snapshotter:     string(snapshotter),
		DataDir:         p.DataDir,
		ContainerdAddr:  p.ContainerdSocket(),
		Namespace:       containers.DefaultNamespace,
		RuncPath:        runcPath,
		RuncVersion:     runcVersion,
		LiveRestore:     cfg.LiveRestore,
		Debug:           cfg.Debug,
		Cgroups:         cgroups,
		Counter:         counter{ctrs: ctrs, imgs: imgs},
		Components:      containerdVersion{ctrdVersion},
		EventsListeners: bus.Subscribers,
		Registry:        imgs.RegistryConfig,
		SeccompProfile:  cfg.SeccompProfile,
		NoNewPrivileges: cfg.NoNewPrivileges,
		LoggingDriver:   cfg.LogDriver,
		InitBinary:      initPath,
		InitVersion:     initVersion(initPath),
		Labels:          append(networkLabels(p.Outbound(), p.PortDriver(), bypass != nil, cfg.Bypass4netns), usernsLabel(singleID)),
	})
	e.Busy = counter{ctrs: ctrs, imgs: imgs}.busy
	e.Handler = httpapi.New(httpapi.Options{
		System:        sys,
		Containers:    ctrs,
		Images:        imgs,
		Events:        eventsBackend{bus},
		Exec:          ctrs,
		Archive:       ctrs,
		Volumes:       vols,
		Networks:      nets,
		ServerVersion: version,

		ContainersMore: ctrs,
		Stats:          ctrs,
		DiskUsage:      system.DiskUsage{Images: imgs, Containers: ctrs, Volumes: vols, BuildCache: builds},
		Registry:       imgs,
		BuildProxy:     builds,
	})
	return e, nil
}

// usernsLabel tells in docker info whether the namespace maps subordinate
// IDs or, for a user without an /etc/subuid range, the user's own ID only.
func usernsLabel(singleID bool) string {
	if singleID {
		return "io.roost.userns=single-id (only the user's own ID is mapped: containers run as root only, files of other owners in images are squashed to root)"
	}
	return "io.roost.userns=subordinate-ids"
}

// engineID is the engine's stable ID, kept in the data directory.
func engineID(dataDir string) string {
	path := filepath.Join(dataDir, "engine-id")
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b))
	}
	buf := make([]byte, 16)
	_, _ = rand.Read(buf)
	id := hex.EncodeToString(buf)
	_ = os.WriteFile(path, []byte(id), 0o600)
	return id
}

// runcInfo reports the runc containerd's shim will run: the one next to
// roostd, as childEnv puts it first on containerd's PATH.
func runcInfo() (path, version string) {
	path, err := rootless.Sibling("runc")
	if err != nil {
		return "runc", ""
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return path, ""
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return path, first
}

// initVersion is what `tini --version` prints after "tini version ",
// which docker info shows as the init's version ("" if it fails).
func initVersion(path string) string {
	if path == "" {
		return ""
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimPrefix(strings.TrimSpace(first), "tini version ")
}

type containerdVersion struct{ v client.Version }

func (c containerdVersion) ContainerdVersion(context.Context) (string, string, error) {
	return c.v.Version, c.v.Revision, nil
}

// counter feeds docker info's counts from the services.
type counter struct {
	ctrs *containers.Service
	imgs *images.Service
}

func (c counter) CountContainers(ctx context.Context) (running, paused, stopped int, err error) {
	list, err := c.ctrs.List(ctx, httpapi.ContainerListOptions{All: true})
	if err != nil {
		return 0, 0, 0, err
	}
	for _, s := range list {
		switch s.State {
		case "running", "restarting":
			running++
		case "paused":
			paused++
		default:
			stopped++
		}
	}
	return running, paused, stopped, nil
}

// busy is true while a container is not stopped, or when the count
// fails: an engine that cannot tell must not exit idle.
func (c counter) busy(ctx context.Context) bool {
	running, paused, _, err := c.CountContainers(ctx)
	if err != nil {
		log.G(ctx).WithError(err).Warn("idle check: counting containers")
		return true
	}
	return running+paused > 0
}

func (c counter) CountImages(ctx context.Context) (int, error) {
	list, err := c.imgs.List(ctx, false, nil)
	return len(list), err
}

// eventsBackend adapts the bus to the API's filter type.
type eventsBackend struct{ bus *events.Bus }

func (e eventsBackend) SubscribeEvents(since, until time.Time, f httpapi.Filters) ([]apievents.Message, <-chan apievents.Message, func(), error) {
	return e.bus.Subscribe(since, until, f)
}

// The services satisfy the API's interfaces; checked here, where both sides
// are wired, because engine must not import httpapi.
var (
	_ httpapi.ContainersBackend     = (*containers.Service)(nil)
	_ httpapi.ExecBackend           = (*containers.Service)(nil)
	_ httpapi.ArchiveBackend        = (*containers.Service)(nil)
	_ httpapi.ContainersMoreBackend = (*containers.Service)(nil)
	_ httpapi.StatsBackend          = (*containers.Service)(nil)
	_ httpapi.DiskUsageBackend      = system.DiskUsage{}
	_ system.ContainerSizer         = (*containers.Service)(nil)
	_ httpapi.ImagesBackend         = (*images.Service)(nil)
	_ httpapi.SystemBackend         = (*system.Service)(nil)
	_ httpapi.EventsBackend         = eventsBackend{}
	_ httpapi.VolumesBackend        = (*volumes.Service)(nil)
	_ buildproc.Tagger              = (*images.Service)(nil)
	_ containers.VolumeMounter      = (*volumes.Service)(nil)
)

// seccompProfile reads daemon.json's seccomp-profile: the names "builtin"
// and "unconfined" as they are, a path as the profile's content, as
// dockerd reads it once at start-up.
func seccompProfile(v string) (string, error) {
	switch v {
	case "", "builtin", "unconfined":
		return v, nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return "", fmt.Errorf("opening seccomp profile (%s) failed: %w", v, err)
	}
	return string(b), nil
}
