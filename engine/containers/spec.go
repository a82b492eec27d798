package containers

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/moby/moby/api/types/container"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// cfsPeriod is dockerd's CPU CFS period for --cpus.
const cfsPeriod = 100000

// specOpts builds the OCI spec of a container on top of containerd's
// default Linux spec (docker's default capabilities, masked and read-only
// paths), with dockerd's default seccomp profile. AppArmor and SELinux
// options are accepted and ignored, as dockerd does on a host without
// them: a rootless engine could not load a profile anyway.
func (s *Service) specOpts(id string, cfg *container.Config, hc *container.HostConfig, path string, args []string) ([]oci.SpecOpts, error) {
	mounts, err := userMounts(hc, s.volumePath())
	if err != nil {
		return nil, err
	}
	secOpts, err := parseSecurityOpts(hc.SecurityOpt)
	if err != nil {
		return nil, err
	}
	opts := []oci.SpecOpts{
		oci.WithDefaultUnixDevices,
		// containerd mounts a tmpfs on /run; docker does not, and images
		// ship files there.
		oci.WithoutRunMount,
		oci.WithProcessArgs(append([]string{path}, args...)...),
		oci.WithEnv(processEnv(cfg)),
		oci.WithProcessCwd(orDefault(cfg.WorkingDir, "/")),
		oci.WithMounts(parentsFirst(append(s.etcFiles(id).mounts(), mounts...))),
		withRlimits(hc.Ulimits),
		withHostConfigPaths(hc),
		oci.WithAnnotations(hc.Annotations),
	}
	opts = append(opts, s.shimGroupOpts(id, hc.Annotations)...)
	if engineIDMaps().oneGroupLine() {
		opts = append(opts, withoutTTYGroup)
	}
	nnp := s.opts.NoNewPrivileges
	if secOpts.noNewPrivileges != nil {
		nnp = *secOpts.noNewPrivileges
	}
	if secOpts.writableCgroups {
		opts = append(opts, withWritableCgroups)
	}
	if !nnp {
		// containerd sets no_new_privs by default, docker does not:
		// setuid programs (su, ping) must work as under dockerd.
		opts = append(opts, oci.WithNewPrivileges)
	}
	if s.wantsInit(hc) {
		if s.opts.InitPath == "" {
			return nil, errNoInit
		}
		opts = append(opts, withInit(s.opts.InitPath))
	}
	if !hc.UTSMode.IsHost() {
		opts = append(opts, oci.WithHostname(cfg.Hostname))
		if cfg.Domainname != "" {
			opts = append(opts, oci.WithDomainname(cfg.Domainname))
		}
	} else {
		opts = append(opts, oci.WithHostNamespace(specs.UTSNamespace))
	}
	if cfg.Tty {
		opts = append(opts, oci.WithTTY)
		if h, w := hc.ConsoleSize[0], hc.ConsoleSize[1]; h > 0 && w > 0 {
			opts = append(opts, oci.WithTTYSize(int(w), int(h)))
		}
	}
	if cfg.User != "" {
		opts = append(opts, oci.WithUser(cfg.User), oci.WithAdditionalGIDs(userName(cfg.User)))
	}
	if len(hc.GroupAdd) > 0 {
		opts = append(opts, oci.WithAppendAdditionalGroups(hc.GroupAdd...))
	}
	if hasChownMount(hc) {
		// After WithUser, which resolves the user in the image.
		opts = append(opts, s.withChownCheck(hc))
	}
	if hc.NetworkMode.IsHost() {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace))
		if s.opts.Rootless {
			// sysfs cannot be mounted without owning the network
			// namespace: bind the host's instead, as nerdctl does.
			opts = append(opts, withBindInsteadOf("/sys", "rbind", "nosuid", "noexec", "nodev", "ro"))
		}
	}
	if hc.PidMode.IsHost() {
		opts = append(opts, oci.WithHostNamespace(specs.PIDNamespace))
	}
	opts = append(opts, s.ipcSpecOpts(id, hc)...)
	if hc.ReadonlyRootfs {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if hc.ShmSize > 0 && (hc.IpcMode.IsPrivate() || hc.IpcMode == "") {
		opts = append(opts, oci.WithDevShmSize(hc.ShmSize/1024))
	}
	devOpts, err := deviceOpts(hc.Devices, s.opts.Rootless)
	if err != nil {
		return nil, err
	}
	opts = append(opts, devOpts...)
	if hc.OomScoreAdj != 0 {
		oom, _ := oomScoreOpt(hc.OomScoreAdj, s.opts.Rootless)
		opts = append(opts, oom)
	}
	if len(hc.Sysctls) > 0 {
		opts = append(opts, withSysctls(hc.Sysctls))
	}
	if hc.Privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices)
	} else {
		capOpts, err := capabilityOpts(hc.CapAdd, hc.CapDrop)
		if err != nil {
			return nil, err
		}
		opts = append(opts, capOpts...)
	}
	if s.opts.Rootless {
		opts = append(opts, oci.WithCgroup(""), withoutResources)
	} else {
		opts = append(opts, oci.WithCgroup("/"+s.opts.Namespace+"/"+id))
		opts = append(opts, resourceOpts(hc.Resources)...)
	}
	// Last: the default profile depends on the capabilities set above.
	sc, err := seccompOpt(hc, secOpts, s.opts.SeccompProfile)
	if err != nil {
		return nil, err
	}
	if sc != nil {
		opts = append(opts, sc)
	}
	return opts, nil
}

// withoutResources drops linux.resources: runc in a user namespace without
// cgroup delegation fails on any of them.
func withoutResources(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if s.Linux != nil {
		s.Linux.Resources = nil
	}
	return nil
}

// withBindInsteadOf replaces the mount at dst (a procfs or sysfs that only
// the owner of the namespace may mount) by a bind of the same path.
func withBindInsteadOf(dst string, options ...string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		for i, m := range s.Mounts {
			if m.Destination == dst {
				s.Mounts[i] = specs.Mount{Destination: dst, Type: "bind", Source: dst, Options: options}
			}
		}
		return nil
	}
}

func withSysctls(sysctls map[string]string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux.Sysctl == nil {
			s.Linux.Sysctl = map[string]string{}
		}
		for k, v := range sysctls {
			s.Linux.Sysctl[k] = v
		}
		return nil
	}
}

// withRlimits replaces containerd's default NOFILE limit of 1024 by the
// user's --ulimit values only: like dockerd, a container otherwise inherits
// the limits of the runtime.
func withRlimits(ulimits []*container.Ulimit) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		s.Process.Rlimits = nil
		for _, u := range ulimits {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{
				Type: "RLIMIT_" + strings.ToUpper(u.Name),
				Hard: uint64(u.Hard),
				Soft: uint64(u.Soft),
			})
		}
		return nil
	}
}

// capabilityOpts applies --cap-add and --cap-drop ("NET_ADMIN",
// "CAP_NET_ADMIN" or "ALL").
func capabilityOpts(add, drop []string) ([]oci.SpecOpts, error) {
	var opts []oci.SpecOpts
	norm := func(caps []string) (all bool, out []string, err error) {
		for _, c := range caps {
			u := strings.ToUpper(c)
			if u == "ALL" {
				all = true
				continue
			}
			if !strings.HasPrefix(u, "CAP_") {
				u = "CAP_" + u
			}
			if !knownCap(u) {
				return false, nil, fmt.Errorf("unknown capability: %q", c)
			}
			out = append(out, u)
		}
		return all, out, nil
	}
	dropAll, dropped, err := norm(drop)
	if err != nil {
		return nil, fmt.Errorf("invalid CapDrop: %w", err)
	}
	addAll, added, err := norm(add)
	if err != nil {
		return nil, fmt.Errorf("invalid CapAdd: %w", err)
	}
	if dropAll {
		opts = append(opts, oci.WithCapabilities(nil))
	} else if len(dropped) > 0 {
		opts = append(opts, oci.WithDroppedCapabilities(dropped))
	}
	if addAll {
		opts = append(opts, oci.WithAllKnownCapabilities)
	} else if len(added) > 0 {
		opts = append(opts, oci.WithAddedCapabilities(added))
	}
	return opts, nil
}

func knownCap(c string) bool {
	for _, k := range knownCaps {
		if k == c {
			return true
		}
	}
	return false
}

// knownCaps are the Linux capabilities up to kernel 6.x.
var knownCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// resourceOpts applies the cgroup limits when roostd manages cgroups.
func resourceOpts(r container.Resources) []oci.SpecOpts {
	var opts []oci.SpecOpts
	if r.Memory > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(r.Memory)))
	}
	if r.MemorySwap != 0 {
		opts = append(opts, oci.WithMemorySwap(r.MemorySwap))
	}
	if r.NanoCPUs > 0 {
		opts = append(opts, oci.WithCPUCFS(r.NanoCPUs*cfsPeriod/1e9, cfsPeriod))
	} else if r.CPUQuota != 0 || r.CPUPeriod != 0 {
		opts = append(opts, oci.WithCPUCFS(r.CPUQuota, uint64(r.CPUPeriod)))
	}
	if r.CPUShares > 0 {
		opts = append(opts, oci.WithCPUShares(uint64(r.CPUShares)))
	}
	if r.CpusetCpus != "" {
		opts = append(opts, oci.WithCPUs(r.CpusetCpus))
	}
	if r.CpusetMems != "" {
		opts = append(opts, oci.WithCPUsMems(r.CpusetMems))
	}
	if r.PidsLimit != nil && *r.PidsLimit > 0 {
		opts = append(opts, oci.WithPidsLimit(*r.PidsLimit))
	}
	return opts
}

// resourceFlags names the limits set in r, for the rootless warning.
func resourceFlags(r container.Resources) []string {
	var out []string
	add := func(set bool, flag string) {
		if set {
			out = append(out, flag)
		}
	}
	add(r.Memory > 0, "--memory")
	add(r.MemorySwap > 0, "--memory-swap")
	add(r.MemoryReservation > 0, "--memory-reservation")
	add(r.NanoCPUs > 0, "--cpus")
	add(r.CPUShares > 0, "--cpu-shares")
	add(r.CPUQuota > 0, "--cpu-quota")
	add(r.CPUPeriod > 0, "--cpu-period")
	add(r.CpusetCpus != "", "--cpuset-cpus")
	add(r.CpusetMems != "", "--cpuset-mems")
	add(r.PidsLimit != nil && *r.PidsLimit > 0, "--pids-limit")
	add(r.BlkioWeight > 0 || len(r.BlkioWeightDevice) > 0, "--blkio-weight")
	add(len(r.BlkioDeviceReadBps)+len(r.BlkioDeviceWriteBps)+len(r.BlkioDeviceReadIOps)+len(r.BlkioDeviceWriteIOps) > 0, "--device-read/write-bps/iops")
	add(r.OomKillDisable != nil && *r.OomKillDisable, "--oom-kill-disable")
	return out
}

// userName returns the user part of "user[:group]".
func userName(u string) string {
	name, _, _ := strings.Cut(u, ":")
	return name
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// hostHostname is the hostname a --network=host container gets.
func hostHostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	return h
}
