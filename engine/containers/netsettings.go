package containers

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/roostd/roost/engine/store"
)

// networkSettings is the container's NetworkSettings: the networker's
// live view while it is attached, the configured networks without
// addresses otherwise (as dockerd shows a stopped container).
func (s *Service) networkSettings(rec *store.Container) *container.NetworkSettings {
	if live := s.opts.Network.Settings(rec.ID); live != nil {
		return live
	}
	out := &container.NetworkSettings{Ports: network.PortMap{}, Networks: map[string]*network.EndpointSettings{}}
	mode := rec.HostConfig.NetworkMode
	primary := networkName(mode)
	var cfgs map[string]*network.EndpointSettings
	if rec.NetworkingConfig != nil {
		cfgs = rec.NetworkingConfig.EndpointsConfig
	}
	if mode.IsContainer() {
		return out
	}
	out.Networks[primary] = configuredEndpoint(cfgs[primary])
	for name, cfg := range cfgs {
		if _, ok := out.Networks[name]; !ok {
			out.Networks[name] = configuredEndpoint(cfg)
		}
	}
	return out
}

func configuredEndpoint(cfg *network.EndpointSettings) *network.EndpointSettings {
	if cfg == nil {
		return &network.EndpointSettings{}
	}
	return &network.EndpointSettings{IPAMConfig: cfg.IPAMConfig.Copy(), Aliases: slices.Clone(cfg.Aliases), Links: slices.Clone(cfg.Links), DriverOpts: cfg.DriverOpts}
}

// portSummaries is the PORTS column of docker ps: published ports, then
// exposed ones nobody published.
func portSummaries(cfg *container.Config, ns *container.NetworkSettings) []container.PortSummary {
	out := []container.PortSummary{}
	seen := map[network.Port]bool{}
	for p, bs := range ns.Ports {
		seen[p] = true
		for _, b := range bs {
			port, _ := strconv.ParseUint(b.HostPort, 10, 16)
			out = append(out, container.PortSummary{IP: b.HostIP, PrivatePort: p.Num(), PublicPort: uint16(port), Type: string(p.Proto())})
		}
	}
	for p := range cfg.ExposedPorts {
		if !seen[p] {
			out = append(out, container.PortSummary{PrivatePort: p.Num(), Type: string(p.Proto())})
		}
	}
	slices.SortFunc(out, func(a, b container.PortSummary) int {
		if a.PrivatePort != b.PrivatePort {
			return int(a.PrivatePort) - int(b.PrivatePort)
		}
		return strings.Compare(a.IP.String(), b.IP.String())
	})
	return out
}

// NetworkTarget resolves a container for network connect and disconnect:
// its ID, name and, while it runs, its network namespace.
func (s *Service) NetworkTarget(ctx context.Context, ref string) (id, name, netNS string, err error) {
	c, err := s.get(ref)
	if err != nil {
		return "", "", "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	mode := c.rec.HostConfig.NetworkMode
	if mode.IsHost() || mode.IsNone() || mode.IsContainer() {
		return "", "", "", errdefs.ErrPermissionDenied.WithMessage("container sharing network namespace with another container or host cannot be connected to any other network")
	}
	if c.rec.State.Running && c.rec.State.Pid > 0 {
		netNS = fmt.Sprintf("/proc/%d/ns/net", c.rec.State.Pid)
	}
	return c.id, c.rec.Name, netNS, nil
}

// SetEndpointConfig records (cfg != nil) or forgets the container's
// configuration for a network, which its next start uses.
func (s *Service) SetEndpointConfig(ctx context.Context, id, networkName string, cfg *network.EndpointSettings) error {
	c, err := s.get(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	nc := c.rec.NetworkingConfig
	if nc == nil {
		nc = &network.NetworkingConfig{}
		c.rec.NetworkingConfig = nc
	}
	if nc.EndpointsConfig == nil {
		nc.EndpointsConfig = map[string]*network.EndpointSettings{}
	}
	if cfg == nil {
		delete(nc.EndpointsConfig, networkName)
	} else {
		nc.EndpointsConfig[networkName] = cfg.Copy()
	}
	return s.store.Update(s.bgCtx(ctx), c.rec)
}
