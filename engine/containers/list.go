package containers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// List returns the containers as `docker ps` shows them, newest first,
// with dockerd's filters (id, name, status, label, ancestor, exited,
// before, since, health, network, volume, expose, publish, is-task,
// isolation).
func (s *Service) List(ctx context.Context, opts ListOptions) ([]container.Summary, error) {
	f := filterSet(opts.Filters)
	if err := f.validate(psFilters); err != nil {
		return nil, err
	}
	lc, err := s.listContext(ctx, f, opts)
	if err != nil {
		return nil, err
	}
	cs := s.all()
	type item struct {
		c       *ctr
		created time.Time
	}
	items := make([]item, len(cs))
	for i, c := range cs {
		c.mu.Lock()
		items[i] = item{c, c.rec.Created}
		c.mu.Unlock()
	}
	slices.SortFunc(items, func(a, b item) int { return b.created.Compare(a.created) })

	now := time.Now()
	out := []container.Summary{}
	for _, it := range items {
		c := it.c
		c.mu.Lock()
		action := lc.include(c)
		if action == includeIt {
			out = append(out, c.summary(now, s.volumePath(), s.networkSettings(c.rec)))
		}
		c.mu.Unlock()
		if action == stopHere || (opts.Limit > 0 && len(out) == opts.Limit) {
			break
		}
	}
	if opts.Size {
		for i := range out {
			out[i].SizeRw, out[i].SizeRootFs = s.sizes(ctx, out[i].ID)
		}
	}
	return out, nil
}

type listAction int

const (
	includeIt listAction = iota
	skipIt
	stopHere
)

// listContext is a list request with its filters resolved.
type listContext struct {
	f             filterSet
	all           bool
	exited        []int
	images        map[string]bool // ancestor image IDs; nil: no ancestor filter
	before, since string          // container IDs
	isTask        *bool
}

func (s *Service) listContext(ctx context.Context, f filterSet, opts ListOptions) (*listContext, error) {
	lc := &listContext{f: f, all: opts.All || opts.Limit > 0}
	var err error
	if lc.exited, err = f.exitCodes(); err != nil {
		return nil, err
	}
	if err := f.checkStatus(); err != nil {
		return nil, err
	}
	if f.contains("status") {
		lc.all = true
	}
	if err := f.checkHealth(); err != nil {
		return nil, err
	}
	if v, set, err := f.boolValue("is-task"); err != nil {
		return nil, err
	} else if set {
		lc.isTask = &v
	}
	for _, key := range []string{"before", "since"} {
		for _, ref := range f[key] {
			c, err := s.get(ref)
			if err != nil {
				return nil, err
			}
			if key == "before" {
				lc.before = c.id
			} else {
				lc.since = c.id
			}
		}
	}
	if f.contains("ancestor") {
		lc.images = map[string]bool{}
		for _, ref := range f["ancestor"] {
			// As dockerd: an unknown image matches nothing, it is no error.
			if img, err := s.opts.Images.Resolve(ctx, ref); err == nil {
				lc.images[img.ID] = true
			}
		}
	}
	return lc, nil
}

// include decides on one container, in list order. c.mu is held.
func (lc *listContext) include(c *ctr) listAction {
	if lc.before != "" {
		if c.id == lc.before {
			lc.before = ""
		}
		return skipIt
	}
	if lc.since != "" && c.id == lc.since {
		return stopHere
	}
	st := &c.rec.State
	f := lc.f
	switch {
	case !st.Running && !lc.all:
		return skipIt
	case !f.match("name", "/"+c.rec.Name) && !f.match("name", c.rec.Name):
		return skipIt
	case !f.match("id", c.id):
		return skipIt
	case lc.isTask != nil && *lc.isTask:
		return skipIt // no swarm tasks here
	case !f.matchKVList("label", c.rec.Config.Labels):
		return skipIt
	case !f.exactMatch("isolation", "default") && !f.exactMatch("isolation", ""):
		return skipIt
	case len(lc.exited) > 0 && (st.Running || st.StartedAt.IsZero() || !slices.Contains(lc.exited, st.ExitCode)):
		return skipIt
	case !f.match("status", string(c.state())):
		return skipIt
	case !f.exactMatch("health", healthStatus(st.Health)):
		return skipIt
	case lc.images != nil && !lc.images[c.rec.ImageID]:
		return skipIt
	case f.contains("network") && !f.exactMatch("network", networkName(c.rec.HostConfig.NetworkMode)):
		return skipIt
	case f.contains("volume") && !matchVolume(f["volume"], c.rec.HostConfig):
		return skipIt
	case f.contains("expose") && !matchPorts(f["expose"], exposedPorts(c.rec.Config)):
		return skipIt
	case f.contains("publish") && !matchPorts(f["publish"], publishedPorts(c.rec.HostConfig)):
		return skipIt
	}
	return includeIt
}

// summary is the container's line of `docker ps`. c.mu is held.
func (c *ctr) summary(now time.Time, vp volumePath, ns *container.NetworkSettings) container.Summary {
	rec := c.rec
	sum := container.Summary{
		ID:              c.id,
		Names:           []string{"/" + rec.Name},
		Image:           rec.Image,
		ImageID:         rec.ImageID,
		Command:         command(rec.Path, rec.Args),
		Created:         rec.Created.Unix(),
		Ports:           portSummaries(rec.Config, ns),
		Labels:          rec.Config.Labels,
		State:           c.state(),
		Status:          statusText(rec.State, c.removing, now) + runningHealth(rec.State),
		NetworkSettings: &container.NetworkSettingsSummary{Networks: ns.Networks},
		Mounts:          mountPoints(rec.HostConfig, vp),
	}
	sum.HostConfig.NetworkMode = string(rec.HostConfig.NetworkMode)
	sum.HostConfig.Annotations = rec.HostConfig.Annotations
	if sum.Labels == nil {
		sum.Labels = map[string]string{}
	}
	return sum
}

// command is the COMMAND column: the path and the arguments, those with a
// space in single quotes, as dockerd writes it.
func command(path string, args []string) string {
	if len(args) == 0 {
		return path
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		if strings.Contains(a, " ") {
			a = "'" + a + "'"
		}
		quoted[i] = a
	}
	return path + " " + strings.Join(quoted, " ")
}

// networkName is the network a mode refers to ("default" is "bridge").
func networkName(mode container.NetworkMode) string {
	if mode.IsDefault() || mode == "" {
		return network.NetworkBridge
	}
	return string(mode)
}

func matchVolume(vals []string, hc *container.HostConfig) bool {
	for _, m := range mountPoints(hc, nil) {
		if slices.Contains(vals, m.Destination) || slices.Contains(vals, m.Source) || (m.Name != "" && slices.Contains(vals, m.Name)) {
			return true
		}
	}
	return false
}

func exposedPorts(cfg *container.Config) []string {
	var out []string
	for p := range cfg.ExposedPorts {
		out = append(out, p.String())
	}
	return out
}

func publishedPorts(hc *container.HostConfig) []string {
	var out []string
	for _, bs := range hc.PortBindings {
		for _, b := range bs {
			if b.HostPort != "" {
				out = append(out, b.HostPort)
			}
		}
	}
	return out
}

// matchPorts matches "80", "80/tcp" or "8000-8080/tcp" filters against
// ports written "80/tcp" (or a bare host port "8080").
func matchPorts(filters, ports []string) bool {
	for _, f := range filters {
		fp, fproto, _ := strings.Cut(f, "/")
		if fproto == "" {
			fproto = "tcp"
		}
		lo, hi, isRange := strings.Cut(fp, "-")
		if !isRange {
			hi = lo
		}
		for _, p := range ports {
			num, proto, _ := strings.Cut(p, "/")
			if proto == "" {
				proto = "tcp"
			}
			if proto == fproto && inRange(num, lo, hi) {
				return true
			}
		}
	}
	return false
}

func inRange(num, lo, hi string) bool {
	var n, l, h int
	if _, err := fmt.Sscan(num, &n); err != nil {
		return false
	}
	if _, err := fmt.Sscan(lo, &l); err != nil {
		return false
	}
	if _, err := fmt.Sscan(hi, &h); err != nil {
		return false
	}
	return n >= l && n <= h
}
