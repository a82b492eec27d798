package containers

import (
	"fmt"
	"os"

	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// joinNetwork points the spec of a --network container:<ref> container at
// the donor's network namespace, and gives it the donor's hostname, hosts
// and resolv.conf, as dockerd does: they share one network stack.
func (s *Service) joinNetwork(id, ref string, spec *oci.Spec) error {
	pid, err := s.nsDonor(id, ref, false)
	if err != nil {
		return err
	}
	d, err := s.get(ref)
	if err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	if d.rec.HostConfig.NetworkMode.IsContainer() {
		// dockerd joins the donor's own donor; one level is what it allows
		// to be named.
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("cannot join the network of container %s: it shares another container's network itself", ref))
	}
	setNamespacePath(spec, specs.NetworkNamespace, fmt.Sprintf("/proc/%d/ns/net", pid))
	mine, theirs := s.etcFiles(id), s.etcFiles(d.id)
	for _, f := range [][2]string{{theirs.Hostname, mine.Hostname}, {theirs.Hosts, mine.Hosts}, {theirs.ResolvConf, mine.ResolvConf}} {
		data, err := os.ReadFile(f[0])
		if err != nil {
			return fmt.Errorf("reading the /etc files of container %s: %w", ref, err)
		}
		if err := os.WriteFile(f[1], data, 0o644); err != nil {
			return err
		}
	}
	spec.Hostname = d.rec.Config.Hostname
	return nil
}
