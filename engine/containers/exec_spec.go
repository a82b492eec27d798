package containers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// execEnv is the environment of an exec: dockerd's daemon environment for
// the exec's TTY (PATH, HOSTNAME, TERM), the container's variables, then
// the exec's own (-e), each overriding the previous by name.
func execEnv(cfg *container.Config, tty bool, env []string) []string {
	withTTY := *cfg
	withTTY.Tty = tty
	return replaceOrAppendEnv(processEnv(&withTTY), env)
}

// execProcess derives an exec's process from the container's, as dockerd
// does: the same capabilities, rlimits, no_new_privs and user, with the
// exec's command, environment, working directory and terminal. user, when
// not nil, replaces the container's user (resolved by resolveUser).
// consoleSize is [height, width].
func execProcess(base *specs.Process, ec *execConfig, user *specs.User, consoleSize *[2]uint) *specs.Process {
	p := specs.Process{}
	if base != nil {
		p = *base
	}
	p.Args = append([]string{ec.entrypoint}, ec.args...)
	p.Env = append([]string{}, ec.env...)
	p.Cwd = orDefault(ec.workingDir, "/")
	p.Terminal = ec.tty
	p.ConsoleSize = nil
	if ec.tty && consoleSize != nil {
		p.ConsoleSize = &specs.Box{Height: consoleSize[0], Width: consoleSize[1]}
	}
	if user != nil {
		p.User = *user
	}
	if ec.privileged {
		// dockerd's exec --privileged: every capability, whatever the
		// container has. Rootless, they are the capabilities of the
		// user namespace, which is all a rootless engine can give.
		all := append([]string{}, knownCaps...)
		p.Capabilities = &specs.LinuxCapabilities{Bounding: all, Permitted: all, Effective: all}
	}
	return &p
}

// taskRoot is the root filesystem of a running task, as its init process
// sees it. roostd shares containerd's user and mount namespaces, so the
// container's mounts are reachable there.
func taskRoot(pid int) string {
	return "/proc/" + strconv.Itoa(pid) + "/root"
}

// resolveUser resolves "user[:group]" (names or numeric IDs) against the
// /etc/passwd and /etc/group under root, with the user's supplementary
// groups and the container's --group-add, as containerd's oci.WithUser
// does for the container's own user at create. The files are opened with
// os.Root, so symlinks in the container cannot lead outside it. Errors are
// InvalidArgument, worded as dockerd's.
func resolveUser(ctx context.Context, root, user string, groupAdd []string) (specs.User, error) {
	spec := &oci.Spec{Process: &specs.Process{}, Root: &specs.Root{Path: root}, Linux: &specs.Linux{}}
	// No snapshotter: the options read the files under spec.Root.Path.
	c := &containers.Container{}
	opts := []oci.SpecOpts{oci.WithUser(user), oci.WithAdditionalGIDs(userName(user))}
	if len(groupAdd) > 0 {
		opts = append(opts, oci.WithAppendAdditionalGroups(groupAdd...))
	}
	for _, o := range opts {
		if err := o(ctx, nil, c, spec); err != nil {
			return specs.User{}, userError(err, user)
		}
	}
	return spec.Process.User, nil
}

// userError words a failed user lookup as dockerd does ("unable to find
// user x: no matching entries in passwd file").
func userError(err error, user string) error {
	name, group, _ := strings.Cut(user, ":")
	noUser := fmt.Sprintf("unable to find user %s: no matching entries in passwd file", name)
	noGroup := fmt.Sprintf("unable to find group %s: no matching entries in group file", group)
	var pe *fs.PathError
	switch {
	case errors.Is(err, oci.ErrNoUsersFound):
		return errdefs.ErrInvalidArgument.WithMessage(noUser)
	case errors.Is(err, oci.ErrNoGroupsFound):
		return errdefs.ErrInvalidArgument.WithMessage(noGroup)
	case errors.Is(err, fs.ErrNotExist) && errors.As(err, &pe):
		// No /etc/passwd or /etc/group (or no /etc) to look a name up in.
		if _, numeric := strconv.Atoi(name); strings.HasSuffix(pe.Path, "group") || numeric == nil {
			return errdefs.ErrInvalidArgument.WithMessage(noGroup)
		}
		return errdefs.ErrInvalidArgument.WithMessage(noUser)
	}
	return errdefs.ErrInvalidArgument.WithMessage(err.Error())
}

// execStartError is dockerd's setExitCodeFromError for an exec whose
// process could not start: the exit code recorded for the exec (126 for
// a command that cannot be invoked, 127 for one not found, 128 otherwise)
// and the error, worded so that the docker CLI recognises it.
func execStartError(err error) (int, error) {
	msg := err.Error()
	low := strings.ToLower(msg)
	code, userErr := startExitCode(msg)
	switch {
	case strings.Contains(low, "permission denied"):
	case strings.Contains(low, "is a directory"):
		// Since Go 1.20 executing a directory is EISDIR; the CLI looks
		// for EACCES's words.
		msg += ": permission denied"
	case strings.Contains(low, "not a directory"):
		msg += ": Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type"
	case code == 128 && strings.Contains(low, "failed to run runc create/exec call"):
		code, userErr = 127, true
	}
	if userErr {
		return code, errdefs.ErrInvalidArgument.WithMessage(msg)
	}
	return code, errdefs.ErrUnknown.WithMessage(msg)
}
