package containers

import (
	"context"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/storage"
)

// Inspect returns the container as GET /containers/{id}/json shows it.
func (s *Service) Inspect(ctx context.Context, ref string) (*container.InspectResponse, error) {
	c, err := s.get(ref)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rec := c.rec
	st := rec.State
	files := s.etcFiles(c.id)
	cfg := *rec.Config
	hc := *rec.HostConfig
	resp := &container.InspectResponse{
		ID:      c.id,
		Created: rec.Created.Format(time.RFC3339Nano),
		Path:    rec.Path,
		Args:    append([]string{}, rec.Args...),
		State: &container.State{
			Status:     c.state(),
			Running:    st.Running,
			Paused:     st.Paused,
			Restarting: st.Restarting,
			OOMKilled:  st.OOMKilled,
			Dead:       st.Dead,
			Pid:        st.Pid,
			ExitCode:   st.ExitCode,
			Error:      st.Error,
			StartedAt:  st.StartedAt.UTC().Format(time.RFC3339Nano),
			FinishedAt: st.FinishedAt.UTC().Format(time.RFC3339Nano),
			Health:     copyHealth(st.Health),
		},
		Image:           rec.ImageID,
		ResolvConfPath:  files.ResolvConf,
		HostnamePath:    files.Hostname,
		HostsPath:       files.Hosts,
		LogPath:         rec.LogPath,
		Name:            "/" + rec.Name,
		RestartCount:    rec.RestartCount,
		Driver:          rec.Driver,
		Platform:        "linux",
		HostConfig:      &hc,
		GraphDriver:     &storage.DriverData{Name: rec.Driver},
		Storage:         &storage.Storage{RootFS: &storage.RootFSStorage{Snapshot: &storage.RootFSStorageSnapshot{Name: rec.Driver}}},
		Mounts:          mountPoints(rec.HostConfig, s.volumePath()),
		ExecIDs:         s.execs.live(c),
		AppArmorProfile: appArmorProfile(rec.HostConfig),
		Config:          &cfg,
		NetworkSettings: s.networkSettings(rec),
	}
	return resp, nil
}

// appArmorProfile is the profile --security-opt apparmor= named, which
// dockerd shows even where the host has no AppArmor to apply it.
func appArmorProfile(hc *container.HostConfig) string {
	so, err := parseSecurityOpts(hc.SecurityOpt)
	if err != nil {
		return ""
	}
	return so.apparmor
}

// Sizes returns what `docker inspect -s` adds: the writable layer's size
// and the whole root filesystem's.
func (s *Service) Sizes(ctx context.Context, ref string) (rw, rootfs int64, err error) {
	c, err := s.get(ref)
	if err != nil {
		return 0, 0, err
	}
	rw, rootfs = s.sizes(ctx, c.id)
	return rw, rootfs, nil
}
