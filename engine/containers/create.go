package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"

	"github.com/roostd/roost/engine/store"
)

// Create makes a container from req, named name (generated when empty),
// as POST /containers/create does. The containerd container and its
// snapshot are made here; the task only at Start.
func (s *Service) Create(ctx context.Context, name string, req *container.CreateRequest) (*container.CreateResponse, error) {
	if req == nil || req.Config == nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage("config cannot be empty in order to create a container")
	}
	cfg := *req.Config
	hc := req.HostConfig
	if hc == nil {
		hc = &container.HostConfig{}
	}
	nc := req.NetworkingConfig
	if nc == nil {
		nc = &network.NetworkingConfig{}
	}
	if hc.RestartPolicy.Name == "" {
		hc.RestartPolicy.Name = container.RestartPolicyDisabled
	}
	s.mergeLogConfig(&hc.LogConfig)
	if name != "" {
		n, err := validateName(name)
		if err != nil {
			return nil, err
		}
		name = n
	}
	warnings, err := s.checkCreate(&cfg, hc)
	if err != nil {
		return nil, err
	}
	if err := s.opts.Network.CheckCreate(ctx, &cfg, hc, nc); err != nil {
		return nil, err
	}
	if hc.NetworkMode.IsHost() && len(hc.PortBindings) > 0 {
		warnings = append(warnings, "Published ports are discarded when using host network mode")
	}
	if cfg.Image == "" {
		return nil, errdefs.ErrInvalidArgument.WithMessage("no image specified")
	}
	img, err := s.opts.Images.Resolve(ctx, cfg.Image)
	if err != nil {
		return nil, err
	}
	if err := mergeImageConfig(&cfg, img.Config, img.Healthcheck); err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	if hc.NetworkMode == "" {
		hc.NetworkMode = network.NetworkDefault
	}
	if hc.LogConfig.Type == "" {
		hc.LogConfig.Type = "json-file"
	}
	if err := s.fillHostConfigDefaults(ctx, "", hc); err != nil {
		return nil, err
	}

	id := newID()
	if name, err = s.reserveName(name, id); err != nil {
		return nil, err
	}
	anonVolumes, err := s.resolveVolumes(ctx, &cfg, hc)
	if err != nil {
		s.releaseName(name, id)
		return nil, err
	}
	if cfg.Hostname == "" {
		if hc.NetworkMode.IsHost() {
			cfg.Hostname = hostHostname()
		} else {
			cfg.Hostname = id[:12]
		}
	}
	path, args := entrypointAndArgs(cfg.Entrypoint, cfg.Cmd)
	rec := &store.Container{
		ID:               id,
		Name:             name,
		Created:          time.Now().UTC(),
		Image:            cfg.Image,
		ImageID:          img.ID,
		Path:             path,
		Args:             args,
		Config:           &cfg,
		HostConfig:       hc,
		NetworkingConfig: nc,
		Driver:           s.snapshotterName(),
	}
	if hc.LogConfig.Type == "json-file" {
		rec.LogPath = s.logFile(id, hc.LogConfig)
	}
	if err := s.createRuntime(ctx, rec, img); err != nil {
		s.releaseName(name, id)
		s.removeVolumes(s.bgCtx(ctx), anonVolumes)
		return nil, err
	}
	if err := s.store.Create(context.WithoutCancel(ctx), rec); err != nil {
		s.releaseName(name, id)
		s.removeVolumes(s.bgCtx(ctx), anonVolumes)
		s.deleteRuntime(s.bgCtx(ctx), id)
		return nil, err
	}
	s.copyUp(s.bgCtx(ctx), id, hc)
	c := newCtr(rec)
	s.mu.Lock()
	s.byID[id] = c
	s.mu.Unlock()
	s.shimGroupPlaced(id)
	s.publish(c, events.ActionCreate, nil)
	if warnings == nil {
		warnings = []string{}
	}
	return &container.CreateResponse{ID: id, Warnings: warnings}, nil
}

// checkCreate validates the configuration (errors are bad parameters) and
// returns the warnings.
func (s *Service) checkCreate(cfg *container.Config, hc *container.HostConfig) ([]string, error) {
	if err := validateConfig(cfg); err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	if err := validateHostConfig(hc); err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	if hc.PidMode.IsHost() && s.opts.Rootless {
		// runc can neither mount procfs in a pid namespace it does not own
		// nor, without cgroups, find and signal every process of such a
		// container: refuse it plainly rather than run it half-working.
		return nil, errdefs.ErrNotImplemented.WithMessage("--pid host is not supported by rootless roost yet: without cgroups the engine cannot track the container's processes in the host's pid namespace")
	}
	if err := checkNamespaceModes(hc); err != nil {
		return nil, err
	}
	if err := checkRuntime(hc); err != nil {
		return nil, err
	}
	if _, err := parseMounts(hc); err != nil {
		return nil, err
	}
	if err := ensureBindSources(hc); err != nil {
		return nil, err
	}
	if _, err := capabilityOpts(hc.CapAdd, hc.CapDrop); err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	if err := checkSecurity(hc); err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	if _, err := deviceOpts(hc.Devices, s.opts.Rootless); err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	if hc.OomScoreAdj < -1000 || hc.OomScoreAdj > 1000 {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("Invalid value %d, range for oom score adj is [-1000, 1000]", hc.OomScoreAdj))
	}
	if hc.ShmSize < 0 {
		return nil, errdefs.ErrInvalidArgument.WithMessage("SHM size can not be less than 0")
	}
	var warnings []string
	if hc.OomScoreAdj != 0 {
		if _, w := oomScoreOpt(hc.OomScoreAdj, s.opts.Rootless); w != "" {
			warnings = append(warnings, w)
		}
	}
	if flags := resourceFlags(hc.Resources); s.opts.Rootless && len(flags) > 0 {
		// Never pretend: the limits cannot be applied, so say so.
		warnings = append(warnings, fmt.Sprintf(
			"Resource limits are discarded (%s): cgroups are not delegated to this user, so rootless containers cannot be limited",
			strings.Join(flags, ", ")))
	}
	return warnings, nil
}

// ensureBindSources creates missing host directories of -v binds, as
// dockerd does, and refuses a missing source of --mount type=bind.
func ensureBindSources(hc *container.HostConfig) error {
	for _, b := range hc.Binds {
		src, _, _ := strings.Cut(b, ":")
		if !filepath.IsAbs(src) {
			continue // a volume name
		}
		if _, err := os.Stat(src); os.IsNotExist(err) {
			if err := os.MkdirAll(src, 0o755); err != nil {
				return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("error while creating mount source path '%s': %v", src, err))
			}
		}
	}
	for _, m := range hc.Mounts {
		if m.Type != mount.TypeBind {
			continue
		}
		if _, err := os.Stat(m.Source); err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid mount config for type \"bind\": bind source path does not exist: %s", m.Source))
		}
	}
	return nil
}

// createRuntime writes the container's files and creates its containerd
// container with a new snapshot of the image. On error nothing is left.
func (s *Service) createRuntime(ctx context.Context, rec *store.Container, img *Resolved) (retErr error) {
	id := rec.ID
	defer func() {
		if retErr != nil {
			os.RemoveAll(s.stateDir(id))
			os.RemoveAll(s.logDir(id))
		}
	}()
	if err := s.writeEtcFiles(id, rec.Config, rec.HostConfig); err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	if err := os.MkdirAll(s.logDir(id), 0o700); err != nil {
		return err
	}
	specOpts, err := s.specOpts(id, rec.Config, rec.HostConfig, rec.Path, rec.Args)
	if err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	if usesNetworker(rec.HostConfig) {
		specOpts = append(specOpts, withNetNSPath(s.netNSPath(id)))
		// Last, so that it extends whatever seccomp profile the others chose.
		if l := s.opts.Network.SeccompListener(id, rec.Config); l != "" {
			specOpts = append(specOpts, withSeccompListener(l))
		}
	}
	opts := []client.NewContainerOpts{
		client.WithImage(img.Image),
		client.WithSnapshotter(s.opts.Snapshotter),
		client.WithNewSnapshot(id, img.Image),
		client.WithNewSpec(specOpts...),
	}
	cctx := s.bgCtx(ctx)
	if _, err := s.client.NewContainer(cctx, id, opts...); err != nil {
		// The snapshot may exist without the container.
		_ = s.client.SnapshotService(s.opts.Snapshotter).Remove(cctx, id)
		return createError(err, rec.Config.User)
	}
	return nil
}

// createError classifies a failure of NewContainer: a bad USER is the
// user's mistake, in dockerd's words ("unable to find user x: no matching
// entries in passwd file"); anything else is the engine's.
func createError(err error, user string) error {
	msg := err.Error()
	name, group, _ := strings.Cut(user, ":")
	var refusal chownRefusal
	switch {
	case errors.As(err, &refusal):
		return refusal.error
	case errors.Is(err, oci.ErrNoUsersFound):
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("unable to find user %s: no matching entries in passwd file", name))
	case errors.Is(err, oci.ErrNoGroupsFound):
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("unable to find group %s: no matching entries in group file", group))
	case strings.Contains(msg, "invalid USER value"):
		return errdefs.ErrInvalidArgument.WithMessage(msg)
	case strings.Contains(msg, "unable to find group "):
		// --group-add of a name the image's /etc/group lacks, in the
		// words of dockerd (libcontainer's GetAdditionalGroups).
		_, g, _ := strings.Cut(msg, "unable to find group ")
		g, _, _ = strings.Cut(g, ":")
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("Unable to find group %s: no matching entries in group file", strings.TrimSpace(g)))
	}
	if errdefs.IsNotFound(err) || errdefs.IsAlreadyExists(err) || errdefs.IsConflict(err) {
		// Never let containerd's classes leak as a 404 or 409 about the
		// container being created.
		return fmt.Errorf("create container: %s", msg)
	}
	return fmt.Errorf("create container: %w", err)
}

// deleteRuntime removes the containerd container with its snapshot, and
// the container's directories.
func (s *Service) deleteRuntime(ctx context.Context, id string) {
	if cc, err := s.client.LoadContainer(ctx, id); err == nil {
		if err := cc.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
			log.G(ctx).WithError(err).WithField("container", id).Warn("deleting containerd container")
		}
	} else if !errdefs.IsNotFound(err) {
		log.G(ctx).WithError(err).WithField("container", id).Warn("loading containerd container")
	}
	if err := s.releaseNetNS(id); err != nil {
		log.G(ctx).WithError(err).WithField("container", id).Warn("releasing the container's network namespace")
	}
	if err := s.releaseShm(id); err != nil {
		log.G(ctx).WithError(err).WithField("container", id).Warn("unmounting the container's /dev/shm")
	}
	for _, d := range []string{s.stateDir(id), s.logDir(id)} {
		if err := os.RemoveAll(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.G(ctx).WithError(err).WithField("container", id).Warn("removing container files")
		}
	}
}

// snapshotterName is the Driver dockerd reports.
func (s *Service) snapshotterName() string {
	if s.opts.Snapshotter == "" {
		return "overlayfs"
	}
	return s.opts.Snapshotter
}
