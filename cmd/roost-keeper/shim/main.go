// Command containerd-shim-runc-v2 is containerd's runc shim, unchanged but
// for one step of its `delete` command (stop.go): containerd runs that
// command after every task delete, and upstream it always starts
// `runc delete --force`, although on a normal exit the shim's own Delete
// has already removed the container from runc. That second runc start
// (a cgo binary) is 4-7 ms of every exit.
package main

import (
	"context"

	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/manager"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/task/plugin"
	"github.com/containerd/containerd/v2/pkg/shim"
)

func main() {
	shim.RunShim(context.Background(), stopper{manager.NewShimManager("io.containerd.runc.v2")})
}
