package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/moby/moby/api/types/container"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// deviceOpts adds --device nodes. In a user namespace runc cannot mknod,
// so it binds the host's node instead, as for rootless dockerd: the
// container can open what the user can (/dev/fuse, /dev/null, a tty the
// user owns), and the permissions part of host:ctr:rwm is not enforced
// without a device cgroup.
func deviceOpts(devs []container.DeviceMapping, rootless bool) ([]oci.SpecOpts, error) {
	var opts []oci.SpecOpts
	for _, d := range devs {
		path, err := hostDevice(d.PathOnHost)
		if err != nil {
			return nil, fmt.Errorf("error gathering device information while adding custom device %q: %s", d.PathOnHost, err)
		}
		dst := orDefault(d.PathInContainer, d.PathOnHost)
		if rootless {
			// runc's own bind of a device node takes the container's path
			// on the host too, so host:other-name would fail: bind it here.
			opts = append(opts, withDeviceBind(path, dst))
			continue
		}
		opts = append(opts, oci.WithDevices(path, dst, orDefault(d.CgroupPermissions, "rwm")))
	}
	return opts, nil
}

func withDeviceBind(src, dst string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: dst, Type: "bind", Source: src, Options: []string{"rbind", "nosuid", "noexec"}})
		return nil
	}
}

// hostDevice resolves a --device path (symlinks followed, as dockerd) and
// checks it is a device node or a directory of them.
func hostDevice(p string) (string, error) {
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if p, err = filepath.EvalSymlinks(p); err != nil {
			return "", err
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return "", err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFDIR:
		return p, nil
	}
	return "", errors.New("not a device node")
}

// oomScoreOpt sets --oom-score-adj. An unprivileged process may raise its
// score but never lower it below what it inherited, so a rootless engine
// gives the lowest it can and says so rather than failing at start.
func oomScoreOpt(score int, rootless bool) (oci.SpecOpts, string) {
	var warning string
	if rootless {
		if cur, ok := ownOOMScoreAdj(); ok && score < cur {
			warning = fmt.Sprintf("oom_score_adj %d is below the engine's own (%d), which an unprivileged engine cannot go under: using %d", score, cur, cur)
			score = cur
		}
	}
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		s.Process.OOMScoreAdj = &score
		return nil
	}, warning
}

func ownOOMScoreAdj() (int, bool) {
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return 0, false
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return v, err == nil
}
