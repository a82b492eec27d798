package netstack

import (
	"github.com/containernetworking/plugins/pkg/ns"
)

// InNetNS runs fn on an OS thread switched into the network namespace at
// path. Sockets fn opens and processes it starts stay in that namespace.
func InNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	return ns.WithNetNSPath(path, func(ns.NetNS) error { return fn() })
}
