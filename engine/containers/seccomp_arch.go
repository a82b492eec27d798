package containers

import (
	"context"
	"runtime"
	"slices"
	"sync"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// withDefaultSeccomp is dockerd's default profile, less the x32 ABI where
// the kernel runs no x32 code (built without it, as this one, or with it
// disabled at boot, as Debian's): then no x32 program can even start, and
// an x32 system call from any other program fails whatever the filter
// says, so that part of the filter could never apply. libseccomp compiles
// each architecture's part separately when runc creates the container,
// and x32's is about 6 ms of every start (docs/architecture.md).
func withDefaultSeccomp(ctx context.Context, client oci.Client, c *containers.Container, s *oci.Spec) error {
	if err := seccomp.WithDefaultProfile()(ctx, client, c, s); err != nil {
		return err
	}
	if s.Linux != nil && s.Linux.Seccomp != nil && !x32Supported() {
		s.Linux.Seccomp.Architectures = slices.DeleteFunc(s.Linux.Seccomp.Architectures, func(a specs.Arch) bool {
			return a == specs.ArchX32
		})
	}
	return nil
}

// x32Supported tells whether the kernel runs x32 system calls: getpid
// with the x32 bit set answers ENOSYS where it does not.
var x32Supported = sync.OnceValue(func() bool {
	if runtime.GOARCH != "amd64" {
		return false
	}
	const x32SyscallBit = 0x40000000
	_, _, errno := unix.RawSyscall(unix.SYS_GETPID|x32SyscallBit, 0, 0, 0)
	return errno != unix.ENOSYS
})
