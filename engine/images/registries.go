package images

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"time"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/core/remotes/docker/config"
	"github.com/moby/moby/api/types/registry"
	rconfig "github.com/roostd/roost/engine/config"
)

// defaultRegistryTimeout bounds the wait for a registry's response
// headers, and for data during a pause in a response body. A registry that
// accepts the connection and then says nothing would otherwise hold a pull
// forever: dockerd has no such limit, but a pull that hangs with no
// message is worse than one that fails saying why.
const defaultRegistryTimeout = 30 * time.Second

// hubHost is the name references use for Docker Hub, whose images the
// mirrors serve.
const hubHost = "docker.io"

// registries is the daemon.json registry configuration, checked.
type registries struct {
	mirrors  []*url.URL
	networks []netip.Prefix // loopback included
	info     *registry.ServiceConfig
}

// newRegistries reads the registry keys; cfg has been validated.
func newRegistries(cfg rconfig.Registry) *registries {
	r := &registries{}
	info := &registry.ServiceConfig{IndexConfigs: map[string]*registry.IndexInfo{}, Mirrors: []string{}}
	for _, m := range cfg.Mirrors {
		norm, err := rconfig.ValidateMirror(m)
		if err != nil || slices.Contains(info.Mirrors, norm) {
			continue
		}
		u, _ := url.Parse(norm)
		r.mirrors = append(r.mirrors, u)
		info.Mirrors = append(info.Mirrors, norm)
	}
	// dockerd always counts loopback as insecure, whatever the file says.
	entries := append(slices.Clone(cfg.InsecureRegistries), "::1/128", "127.0.0.0/8")
	for _, e := range entries {
		host, network, err := rconfig.ParseInsecureRegistry(e)
		switch {
		case err != nil:
			continue
		case host != "":
			info.IndexConfigs[host] = &registry.IndexInfo{Name: host, Mirrors: []string{}, Secure: false}
		case !slices.Contains(r.networks, network):
			r.networks = append(r.networks, network)
			info.InsecureRegistryCIDRs = append(info.InsecureRegistryCIDRs, network)
		}
	}
	info.IndexConfigs[hubHost] = &registry.IndexInfo{Name: hubHost, Mirrors: info.Mirrors, Secure: true, Official: true}
	r.info = info
	return r
}

// serviceConfig is the RegistryConfig of docker info.
func (r *registries) serviceConfig() *registry.ServiceConfig {
	c := *r.info
	c.IndexConfigs = make(map[string]*registry.IndexInfo, len(r.info.IndexConfigs))
	for k, v := range r.info.IndexConfigs {
		vc := *v
		c.IndexConfigs[k] = &vc
	}
	c.Mirrors = slices.Clone(r.info.Mirrors)
	c.InsecureRegistryCIDRs = slices.Clone(r.info.InsecureRegistryCIDRs)
	return &c
}

// isInsecure tells whether host (host[:port]) is reached without
// checking its certificate, with plain HTTP as the fallback: when it is
// listed by name, or one of its addresses is in an insecure network, as
// dockerd decides.
func (r *registries) isInsecure(host string) bool {
	// A registry listed by name is decided by its entry (Docker Hub's says
	// secure), without a DNS lookup.
	if ic, ok := r.info.IndexConfigs[host]; ok {
		return !ic.Secure
	}
	if len(r.networks) == 0 {
		return false
	}
	name, _, err := net.SplitHostPort(host)
	if err != nil {
		name = host
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(name); err == nil {
		addrs = append(addrs, a)
	} else {
		ips, err := net.LookupIP(name)
		if err != nil {
			return false
		}
		for _, ip := range ips {
			if a, ok := netip.AddrFromSlice(ip); ok {
				addrs = append(addrs, a.Unmap())
			}
		}
	}
	for _, a := range addrs {
		for _, n := range r.networks {
			if n.Contains(a) {
				return true
			}
		}
	}
	return false
}

// registryHosts configures the endpoints of a registry; with mirrors,
// Docker Hub's mirrors come before it.
func (s *Service) registryHosts(ctx context.Context, auth *registry.AuthConfig, mirrors bool) docker.RegistryHosts {
	return func(host string) ([]docker.RegistryHost, error) {
		own, err := s.configureHost(ctx, auth, host)
		if err != nil || !mirrors || host != hubHost || len(s.reg.mirrors) == 0 {
			return own, err
		}
		// The mirrors come first; Docker Hub stays last, so that an image a
		// mirror lacks (or a mirror that is down) still pulls.
		var out []docker.RegistryHost
		for _, m := range s.reg.mirrors {
			hs, err := s.configureHost(ctx, auth, m.Host)
			if err != nil {
				return nil, err
			}
			for _, h := range hs {
				h.Scheme = m.Scheme
				h.Path = path.Join(m.Path, "v2")
				h.Capabilities = docker.HostCapabilityPull | docker.HostCapabilityResolve
				out = append(out, h)
			}
		}
		return append(out, own...), nil
	}
}

// configureHost is the endpoint of one registry host: certs.d and its
// hosts.toml first, then dockerd's rules for insecure registries.
func (s *Service) configureHost(ctx context.Context, auth *registry.AuthConfig, host string) ([]docker.RegistryHost, error) {
	opts := config.HostOptions{Credentials: credentials(auth), UpdateClient: withTimeouts(s.registryTimeout)}
	if s.certsDir != "" {
		opts.HostDir = config.HostDirFromRoot(s.certsDir)
	}
	// containerd already treats localhost and loopback addresses as
	// dockerd does; other insecure registries get the same: HTTPS without
	// verification, falling back to HTTP.
	if !docker.IsLocalhost(host) && s.reg.isInsecure(host) {
		opts.DefaultScheme = "http"
		opts.DefaultTLS = &tls.Config{InsecureSkipVerify: true}
	}
	return config.ConfigureHosts(quiet(ctx), opts)(host)
}

// withTimeouts bounds how long a registry may keep a request waiting.
func withTimeouts(timeout time.Duration) config.UpdateClientFunc {
	return func(c *http.Client) error {
		tr, ok := c.Transport.(*http.Transport)
		if !ok {
			return nil
		}
		tr = tr.Clone()
		tr.ResponseHeaderTimeout = timeout
		tr.TLSHandshakeTimeout = min(tr.TLSHandshakeTimeout, timeout)
		dial := tr.DialContext
		if dial == nil {
			dial = (&net.Dialer{Timeout: 30 * time.Second}).DialContext
		}
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &idleConn{Conn: conn, idle: timeout}, nil
		}
		c.Transport = tr
		return nil
	}
}

// idleConn fails a read that waits longer than idle for data. It bounds
// pauses, not whole transfers, so a slow but moving download goes on.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(p)
}
