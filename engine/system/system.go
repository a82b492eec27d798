// Package system answers /info and /version with the truth about this
// engine: rootless, the snapshotter in use, the cgroup situation.
package system

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/system"
	"golang.org/x/sys/unix"
)

// Counter reports how many containers and images the engine holds.
type Counter interface {
	CountContainers(ctx context.Context) (running, paused, stopped int, err error)
	CountImages(ctx context.Context) (int, error)
}

// ComponentVersions reports the versions of the runtime components.
type ComponentVersions interface {
	ContainerdVersion(ctx context.Context) (version, revision string, err error)
}

// Options describe the engine, as worked out at start-up.
type Options struct {
	ID              string // stable engine ID
	Version         string // roost's version
	GitCommit       string
	APIVersion      string
	MinAPIVersion   string
	Rootless        bool
	Snapshotter     string
	DataDir         string
	ContainerdAddr  string
	Namespace       string
	RuncPath        string
	RuncVersion     string // first line of runc --version
	LiveRestore     bool
	Debug           bool
	Cgroups         Cgroups
	Counter         Counter
	Components      ComponentVersions
	EventsListeners func() int
	// Registry is the registry configuration docker info shows; nil shows
	// none.
	Registry func() *registry.ServiceConfig
	// SeccompProfile is the daemon's seccomp profile as daemon.json names
	// it: "builtin", "unconfined" or a path.
	SeccompProfile  string
	NoNewPrivileges bool
	InitBinary      string // the init --init binds, "" if none was found
	InitVersion     string
	LoggingDriver   string // daemon.json's log-driver; "" is json-file
	// Labels are the engine's labels docker info lists; roost says there
	// how containers are networked (io.roost.network.*).
	Labels []string
}

// Service answers the system endpoints.
type Service struct{ o Options }

// New returns the system service.
func New(o Options) *Service { return &Service{o: o} }

// Info is GET /info.
func (s *Service) Info(ctx context.Context) (*system.Info, error) {
	o := s.o
	info := &system.Info{
		ID:                 o.ID,
		Driver:             o.Snapshotter,
		DriverStatus:       [][2]string{{"Snapshotter", o.Snapshotter}, {"Backing Filesystem", backingFS(o.DataDir)}},
		LoggingDriver:      orDefault(o.LoggingDriver, "json-file"),
		CgroupDriver:       o.Cgroups.Driver,
		CgroupVersion:      o.Cgroups.Version,
		Debug:              o.Debug,
		NGoroutines:        runtime.NumGoroutine(),
		NFd:                countFDs(),
		SystemTime:         time.Now().Format(time.RFC3339Nano),
		KernelVersion:      kernelVersion(),
		OperatingSystem:    osName(),
		OSType:             "linux",
		Architecture:       machine(),
		IndexServerAddress: "https://index.docker.io/v1/",
		RegistryConfig:     &registry.ServiceConfig{IndexConfigs: map[string]*registry.IndexInfo{}},
		NCPU:               runtime.NumCPU(),
		MemTotal:           memTotal(),
		DockerRootDir:      o.DataDir,
		Name:               hostname(),
		ServerVersion:      o.Version,
		Runtimes:           map[string]system.RuntimeWithStatus{"runc": {Runtime: system.Runtime{Path: o.RuncPath}}},
		DefaultRuntime:     "runc",
		LiveRestoreEnabled: o.LiveRestore,
		Isolation:          "",
		ContainerdCommit:   system.Commit{},
		RuncCommit:         system.Commit{ID: strings.TrimPrefix(o.RuncVersion, "runc version ")},
		SecurityOptions:    securityOptions(o),
		CDISpecDirs:        []string{},
		Containerd:         &system.ContainerdInfo{Address: o.ContainerdAddr, Namespaces: system.ContainerdNamespaces{Containers: o.Namespace, Plugins: o.Namespace}},
		Warnings:           o.Cgroups.Warnings,
	}
	info.Plugins.Network = []string{"bridge", "host", "null"}
	if o.InitBinary != "" {
		// The name dockerd shows; the binary is bound under that name.
		info.InitBinary = "docker-init"
		info.InitCommit = system.Commit{ID: o.InitVersion}
	}
	if orBuiltin(o.SeccompProfile) != "builtin" {
		info.Warnings = append(slices.Clone(info.Warnings), "WARNING: daemon is not using the default seccomp profile")
	}
	info.Labels = append([]string{}, o.Labels...)
	info.MemoryLimit, info.PidsLimit, info.CPUShares = o.Cgroups.Limits, o.Cgroups.Limits, o.Cgroups.Limits
	info.CPUCfsPeriod, info.CPUCfsQuota, info.CPUSet = o.Cgroups.Limits, o.Cgroups.Limits, o.Cgroups.Limits
	if o.Registry != nil {
		info.RegistryConfig = o.Registry()
	}
	if o.EventsListeners != nil {
		info.NEventsListener = o.EventsListeners()
	}
	if o.Components != nil {
		// Built from the module proxy, containerd has no git revision; its
		// module version is the most exact thing to show.
		if ver, rev, err := o.Components.ContainerdVersion(ctx); err == nil {
			info.ContainerdCommit.ID = rev
			if rev == "" {
				info.ContainerdCommit.ID = ver
			}
		}
	}
	if o.Counter != nil {
		var err error
		info.ContainersRunning, info.ContainersPaused, info.ContainersStopped, err = o.Counter.CountContainers(ctx)
		if err != nil {
			return nil, err
		}
		info.Containers = info.ContainersRunning + info.ContainersPaused + info.ContainersStopped
		if info.Images, err = o.Counter.CountImages(ctx); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// Version is GET /version.
func (s *Service) Version(ctx context.Context) (*system.VersionResponse, error) {
	o := s.o
	kernel := kernelVersion()
	v := &system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "roost"},
		Version:       o.Version,
		APIVersion:    o.APIVersion,
		MinAPIVersion: o.MinAPIVersion,
		Os:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		GitCommit:     o.GitCommit,
		GoVersion:     runtime.Version(),
		KernelVersion: kernel,
		Components: []system.ComponentVersion{{
			Name:    "Engine",
			Version: o.Version,
			Details: map[string]string{
				"ApiVersion": o.APIVersion, "MinAPIVersion": o.MinAPIVersion, "GitCommit": o.GitCommit,
				"GoVersion": runtime.Version(), "Os": runtime.GOOS, "Arch": runtime.GOARCH, "KernelVersion": kernel,
			},
		}},
	}
	if o.Components != nil {
		if ver, rev, err := o.Components.ContainerdVersion(ctx); err == nil {
			v.Components = append(v.Components, system.ComponentVersion{Name: "containerd", Version: ver, Details: map[string]string{"GitCommit": rev}})
		}
	}
	if o.RuncVersion != "" {
		v.Components = append(v.Components, system.ComponentVersion{Name: "runc", Version: strings.TrimPrefix(o.RuncVersion, "runc version "), Details: map[string]string{"Path": o.RuncPath}})
	}
	return v, nil
}

func securityOptions(o Options) []string {
	// dockerd's order: apparmor, seccomp, selinux, userns, rootless,
	// cgroupns, no-new-privileges; this host never has AppArmor or SELinux
	// for a rootless engine.
	opts := []string{"name=seccomp,profile=" + orBuiltin(o.SeccompProfile)}
	if o.Rootless {
		opts = append(opts, "name=rootless")
	}
	if o.Cgroups.Version == "2" {
		opts = append(opts, "name=cgroupns")
	}
	if o.NoNewPrivileges {
		opts = append(opts, "name=no-new-privileges")
	}
	return opts
}

func orBuiltin(profile string) string { return orDefault(profile, "builtin") }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func kernelVersion() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func machine() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return runtime.GOARCH
	}
	return unix.ByteSliceToString(u.Machine[:])
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

func countFDs() int {
	entries, _ := os.ReadDir("/proc/self/fd")
	return len(entries)
}

func memTotal() int64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

func osName() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}

// backingFS names the filesystem under the data directory, as dockerd's
// "Backing Filesystem" does; NFS and Lustre homes are where overlayfs fails.
func backingFS(dir string) string {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return "unknown"
	}
	names := map[int64]string{
		0xEF53: "extfs", 0x58465342: "xfs", 0x9123683E: "btrfs", 0x6969: "nfs",
		0x0BD00BD0: "lustre", 0x01021994: "tmpfs", 0x794C7630: "overlayfs", 0x65735546: "fuse",
		0x47504653: "gpfs", 0x2FC12FC1: "zfs",
	}
	if n, ok := names[int64(st.Type)]; ok {
		return n
	}
	return fmt.Sprintf("0x%x", st.Type)
}
