package containers

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
)

// The engine's shim groups. containerd's runc shim serves every container
// whose spec carries the same io.containerd.runc.v2.group from one daemon
// (each engine's containerd socket is part of the shim socket's name, so
// the names need only be unique within the engine).
const (
	shimGroupAnnotation = "io.containerd.runc.v2.group"
	shimGroupPrefix     = "roost"
	// shimGroupSize caps the running containers of a group. One shim
	// daemon reaps every process of its containers in one loop, which
	// waits up to a second for each exit while upstream's service
	// (its exit queue holds 32) is blocked behind a kill or delete of
	// another of its containers: measured here, a `docker rm -f` of N
	// running containers of one shim took 151 ms for 8, 226 for 12, 430
	// for 16 and 2.3 s for 20 (0.6 s for 30 with a shim each, 9.6 s with
	// one shim for all 30). Eight keeps such bursts far from that queue's
	// size while serial runs and small compose projects still share one
	// shim.
	shimGroupSize = 8
	// shimPickPending is how long a container being created counts in
	// its group before it runs: `docker run` starts it within
	// milliseconds, and parallel runs must not all pick the same group.
	shimPickPending = 10 * time.Second
)

// shimPick is the group a container was given at create.
type shimPick struct {
	group string
	at    time.Time
	// placed is set once the container is among the engine's; a placed
	// container no longer there was removed.
	placed bool
}

// shimGroupPlaced records that container id, whose create picked a group,
// is now among the engine's containers.
func (s *Service) shimGroupPlaced(id string) {
	s.shimMu.Lock()
	defer s.shimMu.Unlock()
	if p, ok := s.shimPicks[id]; ok {
		p.placed = true
		s.shimPicks[id] = p
	}
}

// pickShimGroup chooses the shim group of container id: the first group
// with room, counting the containers of each that run or are being
// created. Containers of an earlier roostd (restored) are not counted:
// the cap is a spreading of load, not a limit anything depends on.
func (s *Service) pickShimGroup(id string) string {
	// Picks are serialized by their own mutex, and neither s.mu nor a
	// container's is held while the other is taken.
	s.shimMu.Lock()
	defer s.shimMu.Unlock()
	if s.shimPicks == nil {
		s.shimPicks = map[string]shimPick{}
	}
	ctrs := make(map[string]*ctr, len(s.shimPicks))
	s.mu.RLock()
	for cid := range s.shimPicks {
		if c, ok := s.byID[cid]; ok {
			ctrs[cid] = c
		}
	}
	s.mu.RUnlock()
	counts := map[string]int{}
	now := time.Now()
	for cid, p := range s.shimPicks {
		pending := now.Sub(p.at) < shimPickPending
		c, ok := ctrs[cid]
		switch {
		case ok && c.holdsShim(pending):
			counts[p.group]++
		case !ok && !p.placed && pending:
			counts[p.group]++ // being created
		case !ok:
			delete(s.shimPicks, cid) // removed, or its create failed
		}
	}
	group := shimGroupPrefix
	for i := 1; counts[group] >= shimGroupSize; i++ {
		group = shimGroupPrefix + "-" + strconv.Itoa(i)
	}
	s.shimPicks[id] = shimPick{group: group, at: now}
	return group
}

// shimGroupOf is the engine's shim group in the spec of a container
// whose task kept running while roostd was away, read from the record
// LoadContainer fetched; "" for a container of an older roostd or a group
// of the user's.
func shimGroupOf(ctx context.Context, cc client.Container) string {
	info, err := cc.Info(ctx, client.WithoutRefreshedMetadata)
	if err != nil || info.Spec == nil {
		return ""
	}
	var spec struct {
		Annotations map[string]string `json:"annotations"`
	}
	if json.Unmarshal(info.Spec.GetValue(), &spec) != nil {
		return ""
	}
	group, ok := spec.Annotations[shimGroupAnnotation]
	if !ok || (group != shimGroupPrefix && !strings.HasPrefix(group, shimGroupPrefix+"-")) {
		return ""
	}
	return group
}

// restoreShimGroup counts a container that kept running while roostd was
// away in its group (shimGroupOf; "" counts nowhere), so that the cap
// holds across a restart of roostd.
func (s *Service) restoreShimGroup(id, group string) {
	if group == "" {
		return
	}
	s.shimMu.Lock()
	defer s.shimMu.Unlock()
	if s.shimPicks == nil {
		s.shimPicks = map[string]shimPick{}
	}
	s.shimPicks[id] = shimPick{group: group, at: time.Now(), placed: true}
}

// holdsShim reports whether the container has a task in its shim, or is
// about to: created moments ago and never started.
func (c *ctr) holdsShim(pending bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.run != nil || (pending && c.rec.State.StartedAt.IsZero())
}

// withShimGroup puts the container in a shim group, which saves a shim
// start (two Go processes) on most container starts and one daemon per
// running container (architecture.md). It is written into the spec only;
// the container's HostConfig.Annotations stay what the user gave.
func withShimGroup(group string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[shimGroupAnnotation] = group
		return nil
	}
}

// shimGroupOpts gives the container the engine's shim group, unless the
// user gave one with --annotation: that stands, as under dockerd, whose
// containerd honours it too, and is how a container gets a shim apart from
// the others.
func (s *Service) shimGroupOpts(id string, user map[string]string) []oci.SpecOpts {
	if _, ok := user[shimGroupAnnotation]; ok {
		return nil
	}
	return []oci.SpecOpts{withShimGroup(s.pickShimGroup(id))}
}
