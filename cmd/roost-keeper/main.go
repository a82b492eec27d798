// Command roost-keeper holds roost's user namespace: it is the RootlessKit
// parent (with slirp4netns) and the RootlessKit child, which inside the
// namespace is also nsinit, the supervisor of containerd. roostd starts it
// and joins its namespaces; it outlives roostd so that the API process can
// be restarted without stopping a container. It is a command of its own,
// not a role of roostd, because its processes stay up for as long as the
// engine does: without the API's libraries each costs a third of the
// memory.
package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/containerd/log"

	"github.com/roostd/roost/rootless"
)

func main() {
	// RootlessKit's child creates the detached network namespace by running
	// unshare(1) through /proc/self/exe (unshare.go).
	if filepath.Base(os.Args[0]) == "unshare" {
		os.Exit(unshareMain(os.Args[1:]))
	}
	role := rootless.CurrentRole()
	_ = log.SetLevel(rootless.KeeperLogLevel())
	names := map[rootless.Role]string{rootless.RoleKeeper: "keeper", rootless.RoleChild: "child"}
	log.L = log.L.WithField("role", names[role])
	paths, err := rootless.ResolvePaths(rootless.KeeperDataRoot())
	if err == nil {
		switch role {
		case rootless.RoleChild:
			err = rootless.RunChild(paths, func(ctx context.Context) error { return runNSInit(ctx, paths) })
		default:
			err = rootless.RunKeeper(paths)
		}
	}
	if err != nil {
		log.L.WithError(err).Error("roost-keeper failed")
		os.Exit(1)
	}
}
