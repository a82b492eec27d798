package containers

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// slirpDNS is the DNS forwarder slirp4netns offers inside the namespace.
const slirpDNS = "10.0.2.3"

// hostResolvConf is read for the containers' resolv.conf; a variable so
// tests can point it elsewhere.
var hostResolvConf = "/etc/resolv.conf"

// etcFiles are the per-container files bind-mounted over /etc/hostname,
// /etc/hosts and /etc/resolv.conf, as dockerd does.
type etcFiles struct {
	Hostname, Hosts, ResolvConf string
}

func (s *Service) etcFiles(id string) etcFiles {
	d := s.stateDir(id)
	return etcFiles{
		Hostname:   filepath.Join(d, "hostname"),
		Hosts:      filepath.Join(d, "hosts"),
		ResolvConf: filepath.Join(d, "resolv.conf"),
	}
}

// mounts returns the bind mounts of the files.
func (f etcFiles) mounts() []specs.Mount {
	bind := func(src, dst string) specs.Mount {
		return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: []string{"rbind", "rprivate", "rw"}}
	}
	return []specs.Mount{
		bind(f.Hostname, "/etc/hostname"),
		bind(f.Hosts, "/etc/hosts"),
		bind(f.ResolvConf, "/etc/resolv.conf"),
	}
}

// writeEtcFiles (re)writes the files: the state directory is on a tmpfs
// and is gone after a reboot, so Start calls this too.
func (s *Service) writeEtcFiles(id string, cfg *container.Config, hc *container.HostConfig) error {
	return s.writeNetworkedEtcFiles(id, cfg, hc, nil)
}

// writeNetworkedEtcFiles writes the files with what the container's
// networks gave it (att may be nil). The files are rewritten in place,
// since they are bind-mounted into a task that may already exist.
func (s *Service) writeNetworkedEtcFiles(id string, cfg *container.Config, hc *container.HostConfig, att *NetworkAttachment) error {
	if err := os.MkdirAll(s.stateDir(id), 0o700); err != nil {
		return err
	}
	if att == nil {
		att = &NetworkAttachment{}
	}
	f := s.etcFiles(id)
	hosts, err := hostsFile(cfg, hc)
	if err != nil {
		return err
	}
	for _, h := range att.Hosts {
		hosts = append(hosts, h+"\n"...)
	}
	resolv, err := s.resolvConf(hc, att.Nameservers)
	if err != nil {
		return err
	}
	for _, w := range []struct {
		path string
		data []byte
	}{
		{f.Hostname, []byte(cfg.Hostname + "\n")},
		{f.Hosts, hosts},
		{f.ResolvConf, resolv},
	} {
		// 0644: processes in the container run as other users too.
		if err := os.WriteFile(w.path, w.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hostsFile is dockerd's /etc/hosts for a container without a network
// address yet (the networker adds the container's own line), plus
// --add-host entries. With the host network it is the host's file.
func hostsFile(cfg *container.Config, hc *container.HostConfig) ([]byte, error) {
	var b bytes.Buffer
	if hc.NetworkMode.IsHost() {
		data, err := os.ReadFile("/etc/hosts")
		if err == nil {
			b.Write(data)
		}
	} else {
		b.WriteString("127.0.0.1\tlocalhost\n" +
			"::1\tlocalhost ip6-localhost ip6-loopback\n" +
			"fe00::0\tip6-localnet\n" +
			"ff00::0\tip6-mcastprefix\n" +
			"ff02::1\tip6-allnodes\n" +
			"ff02::2\tip6-allrouters\n")
	}
	for _, h := range hc.ExtraHosts {
		// "name:ip" or "name=ip"; the IP may itself contain colons.
		name, ip, ok := strings.Cut(h, "=")
		if !ok {
			name, ip, ok = strings.Cut(h, ":")
		}
		ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
		if !ok || name == "" {
			return nil, fmt.Errorf("invalid extra host: %q", h)
		}
		if ip == "host-gateway" {
			// slirp4netns' gateway; the networker may know better.
			ip = "10.0.2.2"
		}
		if _, err := netip.ParseAddr(ip); err != nil {
			return nil, fmt.Errorf("invalid IP address in add-host: %q", ip)
		}
		fmt.Fprintf(&b, "%s\t%s\n", ip, name)
	}
	return b.Bytes(), nil
}

// resolvConf builds the container's resolv.conf: --dns, --dns-search and
// --dns-option override the base, which is slirp4netns' forwarder in
// rootless mode and the host's file (without loopback servers, which mean
// nothing in another network namespace) otherwise.
func (s *Service) resolvConf(hc *container.HostConfig, networkServers []string) ([]byte, error) {
	var servers, search, options []string
	if s.opts.Rootless && !hc.NetworkMode.IsHost() {
		servers = []string{slirpDNS}
	}
	if len(networkServers) > 0 {
		servers = networkServers
	}
	if data, err := os.ReadFile(hostResolvConf); err == nil {
		hs, hsearch, hopts := parseResolvConf(data)
		if servers == nil {
			for _, ns := range hs {
				if a, err := netip.ParseAddr(ns); err == nil && (!a.IsLoopback() || hc.NetworkMode.IsHost()) {
					servers = append(servers, ns)
				}
			}
		}
		search, options = hsearch, hopts
	}
	if len(servers) == 0 {
		// dockerd's fallback when the host has only local resolvers.
		servers = []string{"8.8.8.8", "8.8.4.4"}
	}
	if len(hc.DNS) > 0 {
		servers = servers[:0]
		for _, a := range hc.DNS {
			servers = append(servers, a.String())
		}
	}
	if len(hc.DNSSearch) > 0 {
		search = hc.DNSSearch
		if len(search) == 1 && search[0] == "." {
			search = nil
		}
	}
	if len(hc.DNSOptions) > 0 {
		options = hc.DNSOptions
	}
	var b bytes.Buffer
	for _, ns := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.Bytes(), nil
}

func parseResolvConf(data []byte) (servers, search, options []string) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			servers = append(servers, f[1])
		case "search", "domain":
			search = f[1:]
		case "options":
			options = append(options, f[1:]...)
		}
	}
	return servers, search, options
}
