// Command containerd is containerd's own daemon with only the plugins that
// nsinit's config leaves enabled (cmd/roost-keeper/nsinit.go) compiled in.
// The stock command links every plugin and turning them off in the config
// only skips their start: the code still costs memory, because the kernel
// maps the pages of a binary into every process that runs it (here nearly
// all of them). Without the transfer and streaming services, sandboxes,
// NRI, the restart and cgroup monitors, erofs, blockfile, image verifiers,
// the opt, debug and metrics servers, the binary is 8 MB smaller and the
// running containerd about 5 MiB smaller.
//
// The command line is roost's own (serve.go): nsinit is its only caller
// and passes two flags, so upstream's CLI package, with its urfave/cli,
// text/template and config, publish and oci-hook subcommands, is not
// linked (0.5 MB).
package main

import (
	"fmt"
	"os"

	// The runtime options the runc shim is configured with.
	_ "github.com/containerd/containerd/api/types/runc/options"

	_ "github.com/containerd/containerd/v2/core/runtime/v2"
	_ "github.com/containerd/containerd/v2/plugins/content/local/plugin"
	_ "github.com/containerd/containerd/v2/plugins/diff/walking/plugin"
	_ "github.com/containerd/containerd/v2/plugins/events"
	_ "github.com/containerd/containerd/v2/plugins/gc"
	_ "github.com/containerd/containerd/v2/plugins/leases"
	_ "github.com/containerd/containerd/v2/plugins/metadata"
	_ "github.com/containerd/containerd/v2/plugins/mount"
	_ "github.com/containerd/containerd/v2/plugins/server/grpc"
	_ "github.com/containerd/containerd/v2/plugins/server/ttrpc"
	_ "github.com/containerd/containerd/v2/plugins/services/containers"
	_ "github.com/containerd/containerd/v2/plugins/services/content"
	_ "github.com/containerd/containerd/v2/plugins/services/diff"
	_ "github.com/containerd/containerd/v2/plugins/services/events"
	_ "github.com/containerd/containerd/v2/plugins/services/healthcheck"
	_ "github.com/containerd/containerd/v2/plugins/services/images"
	_ "github.com/containerd/containerd/v2/plugins/services/introspection"
	_ "github.com/containerd/containerd/v2/plugins/services/leases"
	_ "github.com/containerd/containerd/v2/plugins/services/mounts"
	_ "github.com/containerd/containerd/v2/plugins/services/namespaces"
	_ "github.com/containerd/containerd/v2/plugins/services/snapshots"
	_ "github.com/containerd/containerd/v2/plugins/services/tasks"
	_ "github.com/containerd/containerd/v2/plugins/services/version"
	_ "github.com/containerd/containerd/v2/plugins/services/warning"
	_ "github.com/containerd/containerd/v2/plugins/snapshots/native/plugin"
	_ "github.com/containerd/containerd/v2/plugins/snapshots/overlay/plugin"
)

func main() {
	f, err := parseFlags(os.Args[1:])
	if err == nil && f.version {
		fmt.Println(versionLine())
		return
	}
	if err == nil {
		err = serve(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "containerd:", err)
		os.Exit(1)
	}
}
