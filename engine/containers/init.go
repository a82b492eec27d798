package containers

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/moby/moby/api/types/container"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// initInContainer is where dockerd binds its init, and so where users
// (and `docker top`) expect it.
const initInContainer = "/sbin/docker-init"

// initCandidates are looked up when no init-path is configured: dockerd's
// own name first, then Debian's static tini (package tini), which runs in
// any image because it needs no libc.
var initCandidates = []string{"docker-init", "tini-static", "/usr/bin/tini-static"}

// FindInit returns the init binary to bind: configured, or the first
// candidate found. "" when there is none.
func FindInit(configured string) string {
	if configured != "" {
		return configured
	}
	for _, c := range initCandidates {
		if filepath.IsAbs(c) {
			if _, err := os.Stat(c); err == nil {
				return c
			}
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	return ""
}

// wantsInit reports whether the container runs an init: its own choice,
// else the daemon's "init" setting, as dockerd decides.
func (s *Service) wantsInit(hc *container.HostConfig) bool {
	if hc.Init != nil {
		return *hc.Init
	}
	return s.opts.Init
}

// errNoInit says what to install when --init is asked for and no init
// binary can be found (dockerd's message begins the same way).
var errNoInit = errors.New("could not find init binary: install Debian's tini package (tini-static) or set init-path in daemon.json")

// withInit binds the init read-only at /sbin/docker-init and makes it the
// process, with the container's command after "--" so that tini passes
// the command's own flags through untouched. tini forwards signals to the
// command and reaps zombies, which a plain command as PID 1 does not.
func withInit(initPath string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		s.Process.Args = append([]string{initInContainer, "--"}, s.Process.Args...)
		s.Mounts = append(s.Mounts, specs.Mount{
			Destination: initInContainer,
			Type:        "bind",
			Source:      initPath,
			Options:     []string{"bind", "ro", "nosuid", "nodev"},
		})
		return nil
	}
}
