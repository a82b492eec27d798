// Command containerd-shim-runc-v2 is containerd's runc shim with two
// changes: the containers of a group (the io.containerd.runc.v2.group
// annotation, which roostd puts on every container) share one daemon that
// stays a few seconds after its last container for the next one (group.go,
// linger.go, service.go), and `delete` skips a runc start that upstream
// always makes (stop.go).
//
// The short-lived `start` and `delete` commands keep upstream's GC
// setting: measured with GODEBUG=gctrace=1,inittrace=1, neither runs a
// single collection (their heap stays near 350 KiB, under the first
// trigger), so turning the collector off changed nothing.
package main

import (
	"context"

	runcmanager "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/manager"
	"github.com/containerd/containerd/v2/pkg/shim"
)

func main() {
	registerTaskPlugin()
	shim.RunShim(context.Background(), manager{runcmanager.NewShimManager("io.containerd.runc.v2")})
}
