package netstack

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Masquerade makes the traffic a network's containers send out of the
// namespace leave with the namespace's own address, the only one
// slirp4netns answers. Idempotent.
func Masquerade(netNS, subnet, bridge string) error {
	return InNetNS(netNS, func() error {
		if masqRule("-C", subnet, bridge) == nil {
			return nil
		}
		return masqRule("-A", subnet, bridge)
	})
}

// Unmasquerade removes the rule Masquerade added, if it is there.
func Unmasquerade(netNS, subnet, bridge string) error {
	return InNetNS(netNS, func() error {
		for masqRule("-C", subnet, bridge) == nil {
			if err := masqRule("-D", subnet, bridge); err != nil {
				return err
			}
		}
		return nil
	})
}

// masqRule checks (-C), appends (-A) or deletes (-D) a network's rule.
func masqRule(op, subnet, bridge string) error {
	args := []string{"-w", "-t", "nat", op, "POSTROUTING", "-s", subnet, "!", "-o", bridge, "-j", "MASQUERADE"}
	out, err := exec.Command("iptables", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func isNoDevice(out string) bool {
	return strings.Contains(out, "Cannot find device") || strings.Contains(out, "does not exist")
}

// ProxyARP makes the namespace answer, on the interface to slirp4netns,
// for the containers' addresses, so that slirp4netns' own port forwards
// (which send to the container's address on that link) reach the bridges.
func ProxyARP(netNS, ifname string) error {
	return InNetNS(netNS, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/conf/"+ifname+"/proxy_arp", []byte("1"), 0o644)
	})
}
