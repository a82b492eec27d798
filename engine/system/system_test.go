package system

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

type fakeCounter struct {
	running, paused, stopped, images int
	err                              error
}

func (f fakeCounter) CountContainers(context.Context) (int, int, int, error) {
	return f.running, f.paused, f.stopped, f.err
}
func (f fakeCounter) CountImages(context.Context) (int, error) { return f.images, f.err }

type fakeComponents struct{ version, revision string }

func (f fakeComponents) ContainerdVersion(context.Context) (string, string, error) {
	return f.version, f.revision, nil
}

func rootlessOptions() Options {
	return Options{
		Version: "1.2.3", APIVersion: "1.56", MinAPIVersion: "1.24", Rootless: true,
		Snapshotter: "overlayfs", DataDir: "/", RuncVersion: "runc version 1.5.2",
		Cgroups:    Cgroups{Driver: "none", Version: "1", Warnings: []string{"WARNING: no cgroups"}},
		Counter:    fakeCounter{running: 2, paused: 1, stopped: 3, images: 4},
		Components: fakeComponents{version: "v2.4.2"},
	}
}

func TestInfoTellsTheTruth(t *testing.T) {
	info, err := New(rootlessOptions()).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Containers != 6 || info.ContainersRunning != 2 || info.ContainersPaused != 1 || info.ContainersStopped != 3 || info.Images != 4 {
		t.Errorf("counts: %+v", info)
	}
	if info.Driver != "overlayfs" || info.CgroupDriver != "none" || info.MemoryLimit || info.CPUShares {
		t.Errorf("driver %q, cgroup driver %q, limits %v/%v", info.Driver, info.CgroupDriver, info.MemoryLimit, info.CPUShares)
	}
	if !slices.Contains(info.SecurityOptions, "name=seccomp,profile=builtin") {
		t.Errorf("security options %v lack the builtin seccomp profile", info.SecurityOptions)
	}
	if !slices.Contains(info.SecurityOptions, "name=rootless") {
		t.Errorf("security options %v lack rootless", info.SecurityOptions)
	}
	if info.RuncCommit.ID != "1.5.2" || info.ContainerdCommit.ID != "v2.4.2" {
		t.Errorf("runc %q containerd %q", info.RuncCommit.ID, info.ContainerdCommit.ID)
	}
	if len(info.Warnings) != 1 {
		t.Errorf("warnings %v", info.Warnings)
	}
}

func TestInfoPassesCounterErrors(t *testing.T) {
	o := rootlessOptions()
	o.Counter = fakeCounter{err: errors.New("store closed")}
	if _, err := New(o).Info(context.Background()); err == nil {
		t.Fatal("error swallowed")
	}
}

func TestVersionComponents(t *testing.T) {
	v, err := New(rootlessOptions()).Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range v.Components {
		names = append(names, c.Name+" "+c.Version)
	}
	want := "Engine 1.2.3,containerd v2.4.2,runc 1.5.2"
	if got := strings.Join(names, ","); got != want || v.APIVersion != "1.56" || v.MinAPIVersion != "1.24" {
		t.Errorf("components %q (want %q), api %s min %s", got, want, v.APIVersion, v.MinAPIVersion)
	}
}

func TestRootlessCgroupsAreNeverClaimed(t *testing.T) {
	c := DetectCgroups(true)
	if c.Driver != "none" || c.Limits || len(c.Warnings) == 0 {
		t.Fatalf("rootless cgroups: %+v", c)
	}
}
