package main

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strconv"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/roostd/roost/buildproc"
	"github.com/roostd/roost/engine/config"
	"github.com/roostd/roost/engine/containers"
	"github.com/roostd/roost/httpapi"
	"github.com/roostd/roost/rootless"
)

// newBuildProcess prepares roost-build, which roostd starts on the first
// build request: it points buildkitd at the keeper's containerd, in roost's
// namespace and with its snapshotter, so that what it builds is a docker
// image at once. Without bin/roost-build (or bin/buildkitd) the first build
// answers with the fix.
func newBuildProcess(p rootless.Paths, snapshotter string, imgs buildproc.Tagger, history *config.BuilderHistory, singleID, debug bool) *buildproc.Process {
	bin, err := rootless.Sibling("roost-build")
	if err != nil {
		bin = "roost-build" // reported by the first build, not at start
	}
	buildkitd, err := rootless.Sibling("buildkitd")
	if err != nil {
		buildkitd = "buildkitd"
	}
	args := []string{
		"--buildkitd=" + buildkitd,
		"--containerd=" + p.ContainerdSocket(),
		"--namespace=" + containers.DefaultNamespace,
		"--snapshotter=" + snapshotter,
		"--state-dir=" + p.StateDir,
		"--data-dir=" + p.DataDir,
	}
	if singleID {
		// BuildKit's RUN steps mount /dev/pts with the tty group, which is
		// not mapped; roost-runc drops it. Without it they fail, and the
		// build says why.
		if runtime, err := rootless.Sibling("roost-runc"); err == nil {
			args = append(args, "--runtime="+runtime)
		}
		args = append(args, "--single-id")
	}
	if history != nil {
		// Validated with the rest of the configuration.
		args = append(args, "--history="+strconv.FormatInt(history.MaxEntries, 10))
		if history.MaxAge != "" {
			args = append(args, "--history-max-age="+history.MaxAge)
		}
	}
	if debug {
		args = append(args, "--debug")
	}
	return buildproc.New(buildproc.Config{
		Binary:       bin,
		Args:         args,
		Dir:          filepath.Join(p.StateDir, "build"),
		BuildKitRoot: filepath.Join(p.DataDir, "buildkit"),
		Local:        httpapi.NewBuild(noBuilds{}, version),
		Images:       imgs,
	})
}

// noBuilds is the build backend while roost-build does not run and there
// is no build cache: nothing to prune, no build to cancel.
type noBuilds struct{}

func (noBuilds) Build(context.Context, io.Reader, httpapi.BuildOptions, func(jsonstream.Message) error) (string, error) {
	// buildproc sends only prune and cancel here.
	return "", errors.New("builds are served by roost-build")
}

func (noBuilds) Prune(context.Context, httpapi.BuildPruneOptions) (*build.CachePruneReport, error) {
	return &build.CachePruneReport{CachesDeleted: []string{}}, nil
}

func (noBuilds) Cancel(string) {}
