// Command containerd-shim-runc-v2 is containerd's runc shim with three
// changes: the containers of a group (the io.containerd.runc.v2.group
// annotation, which roostd puts on every container) share one daemon that
// stays a few seconds after its last container for the next one (group.go,
// linger.go, service.go); the short-lived `start` and `delete` commands
// run without a garbage collector; and `delete` skips a runc start that
// upstream always makes (stop.go).
package main

import (
	"context"
	"runtime/debug"

	runcmanager "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/manager"
	"github.com/containerd/containerd/v2/pkg/shim"
)

// shortLivedHeapLimit bounds the heap of a `start` or `delete` command:
// past it the collector runs after all.
const shortLivedHeapLimit = 64 << 20

func main() {
	registerTaskPlugin()
	shim.RunShim(context.Background(), manager{runcmanager.NewShimManager("io.containerd.runc.v2")})
}

// shortLived turns the collector off for a `start` or `delete` command:
// each allocates a few MiB and exits within milliseconds, and upstream's
// GOGC of 40 made it collect that garbage, on the path of every container
// start and exit, just before the kernel frees it all. The daemon keeps
// upstream's setting: it lives as long as its containers.
func shortLived() {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(shortLivedHeapLimit)
}
