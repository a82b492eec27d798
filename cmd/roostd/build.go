package main

import (
	"context"
	"path/filepath"
	"time"

	"github.com/roostd/roost/buildsvc"
	"github.com/roostd/roost/engine/config"
	"github.com/roostd/roost/engine/containers"
	"github.com/roostd/roost/rootless"
)

// builds is the build service and the buildkitd it starts on first use.
type builds struct {
	svc    *buildsvc.Service
	daemon *buildsvc.Daemon
}

func (b builds) close(ctx context.Context) {
	b.svc.Close()
	b.daemon.Close(ctx)
}

// newBuildService points buildkitd at the keeper's containerd, in roost's
// namespace and with its snapshotter, so that what it builds is a docker
// image at once. Without bin/buildkitd the build routes answer with the fix.
func newBuildService(p rootless.Paths, snapshotter string, imgs buildsvc.Tagger, history *config.BuilderHistory, singleID bool) (builds, error) {
	bin, err := rootless.Sibling("buildkitd")
	if err != nil {
		bin = "buildkitd" // reported by the first build, not at start
	}
	var runtime string
	if singleID {
		// BuildKit's RUN steps mount /dev/pts with the tty group, which is
		// not mapped; roost-runc drops it. Without it they fail, and the
		// build says why.
		runtime, _ = rootless.Sibling("roost-runc")
	}
	var keep int64
	var maxAge time.Duration
	if history != nil {
		// Validated with the rest of the configuration.
		keep = history.MaxEntries
		maxAge, _ = time.ParseDuration(history.MaxAge)
	}
	d := buildsvc.NewDaemon(buildsvc.Config{
		Binary:            bin,
		ContainerdAddress: p.ContainerdSocket(),
		Namespace:         containers.DefaultNamespace,
		Snapshotter:       snapshotter,
		StateDir:          p.StateDir,
		DataDir:           p.DataDir,
		RuntimeBinary:     runtime,
		History:           keep,
		HistoryMaxAge:     maxAge,
	})
	svc := buildsvc.New(buildsvc.Options{Daemon: d, Images: imgs, TmpDir: filepath.Join(p.DataDir, "tmp", "build"),
		// What BuildKit cannot do with one ID mapped says so.
		SingleID: singleID})
	return builds{svc: svc, daemon: d}, nil
}
