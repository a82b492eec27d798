package netstack

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os/exec"

	"github.com/containernetworking/cni/libcni"
)

// The CNI plugins, built from the pinned module into bin/ under these
// names (a plugin is found by its type, the name of its binary).
const (
	BridgePlugin = "cni-bridge"
	StaticPlugin = "cni-static"
)

// BridgeMTU matches slirp4netns' MTU, so a container's traffic is never
// split on its way out of the namespace.
const BridgeMTU = 65520

// Bridges connects containers to Linux bridges in the engine's network
// namespace with the CNI bridge plugin, addresses given by the engine
// (the static IPAM plugin), so no lease files are left behind.
type Bridges struct {
	netNS string // the namespace the bridges live in; "" is the caller's
	cni   *libcni.CNIConfig
}

// NewBridges returns Bridges that run the plugins found in pluginDirs, in
// the network namespace at netNS, caching results under cacheDir.
func NewBridges(netNS string, pluginDirs []string, cacheDir string) *Bridges {
	return &Bridges{netNS: netNS, cni: libcni.NewCNIConfigWithCacheDir(pluginDirs, cacheDir, nil)}
}

// BridgeNet is one bridge network.
type BridgeNet struct {
	Name     string // the network's name, for CNI
	Bridge   string // the Linux bridge's name
	Subnet   netip.Prefix
	Gateway  netip.Addr
	Internal bool // no route out of the namespace
}

// Endpoint is one container's interface on a bridge.
type Endpoint struct {
	ContainerID string
	NetNS       string // the container's network namespace
	IfName      string // eth0, eth1, ...
	Addr        netip.Addr
	MAC         net.HardwareAddr
}

// Add creates the veth pair, attaches it to the bridge (creating the
// bridge on first use) and configures the container's side.
func (b *Bridges) Add(ctx context.Context, n BridgeNet, ep Endpoint) error {
	conf, rt, err := b.conf(n, ep)
	if err != nil {
		return err
	}
	return InNetNS(b.netNS, func() error {
		_, err := b.cni.AddNetwork(ctx, conf, rt)
		return err
	})
}

// Del removes the container's interface; a namespace that is already gone
// is not an error.
func (b *Bridges) Del(ctx context.Context, n BridgeNet, ep Endpoint) error {
	conf, rt, err := b.conf(n, ep)
	if err != nil {
		return err
	}
	return InNetNS(b.netNS, func() error {
		return b.cni.DelNetwork(ctx, conf, rt)
	})
}

// Remove deletes the bridge itself (the network is gone).
func (b *Bridges) Remove(n BridgeNet) error {
	return InNetNS(b.netNS, func() error {
		out, err := exec.Command("ip", "link", "del", n.Bridge).CombinedOutput()
		if err != nil && !isNoDevice(string(out)) {
			return fmt.Errorf("removing bridge %s: %v: %s", n.Bridge, err, out)
		}
		return nil
	})
}

func (b *Bridges) conf(n BridgeNet, ep Endpoint) (*libcni.PluginConfig, *libcni.RuntimeConf, error) {
	type route struct {
		Dst string `json:"dst"`
	}
	type address struct {
		Address string `json:"address"`
		Gateway string `json:"gateway,omitempty"`
	}
	ipam := map[string]any{
		"type":      StaticPlugin,
		"addresses": []address{{Address: netip.PrefixFrom(ep.Addr, n.Subnet.Bits()).String(), Gateway: n.Gateway.String()}},
	}
	if !n.Internal {
		ipam["routes"] = []route{{Dst: "0.0.0.0/0"}}
	}
	raw, err := json.Marshal(map[string]any{
		"cniVersion":  "1.0.0",
		"name":        n.Name,
		"type":        BridgePlugin,
		"bridge":      n.Bridge,
		"isGateway":   true,
		"ipMasq":      false, // one rule per network instead (Masquerade), not one per container
		"hairpinMode": true,
		"mtu":         BridgeMTU,
		"ipam":        ipam,
	})
	if err != nil {
		return nil, nil, err
	}
	conf, err := libcni.NetworkPluginConfFromBytes(raw)
	if err != nil {
		return nil, nil, err
	}
	rt := &libcni.RuntimeConf{
		ContainerID: ep.ContainerID,
		NetNS:       ep.NetNS,
		IfName:      ep.IfName,
		Args:        [][2]string{{"IgnoreUnknown", "1"}},
	}
	if ep.MAC != nil {
		rt.Args = append(rt.Args, [2]string{"MAC", ep.MAC.String()})
	}
	return conf, rt, nil
}
