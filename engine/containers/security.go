package containers

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/moby/moby/api/types/container"
)

// Seccomp profile names with a meaning of their own, as in dockerd.
const (
	seccompBuiltin    = "builtin"
	seccompUnconfined = "unconfined"
)

// securityOpts is HostConfig.SecurityOpt parsed as dockerd's
// parseSecurityOpt does.
type securityOpts struct {
	noNewPrivileges *bool  // nil: the daemon's default
	seccomp         string // "": the daemon's profile; a name above, or a profile's JSON
	apparmor        string
	labels          []string
	writableCgroups bool
}

// parseSecurityOpts reads --security-opt values: "no-new-privileges",
// "key=value" (or the deprecated "key:value") for label, apparmor, seccomp
// and no-new-privileges. Anything else is dockerd's "invalid
// --security-opt" error, a bad parameter.
func parseSecurityOpts(opts []string) (securityOpts, error) {
	var so securityOpts
	for _, opt := range opts {
		if opt == "no-new-privileges" {
			t := true
			so.noNewPrivileges = &t
			continue
		}
		if opt == "disable" {
			so.labels = append(so.labels, "disable")
			continue
		}
		var k, v string
		var ok bool
		if strings.Contains(opt, "=") {
			k, v, ok = strings.Cut(opt, "=")
		} else if strings.Contains(opt, ":") {
			k, v, ok = strings.Cut(opt, ":")
		}
		if !ok {
			return so, fmt.Errorf("invalid --security-opt 1: %q", opt)
		}
		switch k {
		case "label":
			so.labels = append(so.labels, v)
		case "apparmor":
			so.apparmor = v
		case "seccomp":
			so.seccomp = v
		case "no-new-privileges":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return so, fmt.Errorf("invalid --security-opt 2: %q", opt)
			}
			so.noNewPrivileges = &b
		case "writable-cgroups":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return so, fmt.Errorf("invalid --security-opt 2: %q", opt)
			}
			so.writableCgroups = b
		default:
			return so, fmt.Errorf("invalid --security-opt 2: %q", opt)
		}
	}
	return so, nil
}

// seccompOpt chooses the container's seccomp filter as dockerd's
// WithSeccomp: none when privileged or unconfined, the user's profile,
// else the daemon's (dockerd's default profile unless daemon.json names
// another). It must run after the capabilities are set: the default
// profile allows some syscalls only with the matching capability.
func seccompOpt(hc *container.HostConfig, so securityOpts, daemonProfile string) (oci.SpecOpts, error) {
	if hc.Privileged {
		return nil, nil
	}
	profile := so.seccomp
	if profile == "" {
		profile = daemonProfile
	}
	switch profile {
	case seccompUnconfined:
		return nil, nil
	case "", seccompBuiltin:
		return withDefaultSeccomp, nil
	}
	// Checked now, so that a bad profile fails docker create rather than
	// every start.
	if _, err := loadSeccompProfile([]byte(profile), nil); err != nil {
		return nil, err
	}
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		sc, err := loadSeccompProfile([]byte(profile), s)
		if err != nil {
			return err
		}
		s.Linux.Seccomp = sc
		return nil
	}, nil
}

// checkSecurity validates --security-opt at create, and a custom seccomp
// profile with it, so that a mistake is a 400 rather than a failed start.
func checkSecurity(hc *container.HostConfig) error {
	so, err := parseSecurityOpts(hc.SecurityOpt)
	if err != nil {
		return err
	}
	_, err = seccompOpt(hc, so, "")
	return err
}

// withWritableCgroups mounts /sys/fs/cgroup read-write
// (--security-opt writable-cgroups=true). Without delegated cgroups a
// rootless container can still change nothing there.
func withWritableCgroups(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	for i, m := range s.Mounts {
		if m.Destination != "/sys/fs/cgroup" {
			continue
		}
		for j, o := range m.Options {
			if o == "ro" {
				s.Mounts[i].Options[j] = "rw"
			}
		}
	}
	return nil
}
