package buildsvc

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/pb"

	"github.com/roostd/roost/buildsvc/buildopts"
)

// The option types are in buildopts, which roostd links without BuildKit.
type (
	BuildOptions = buildopts.BuildOptions
	PruneOptions = buildopts.PruneOptions
)

// frontendAttrs translates the options into the Dockerfile frontend's
// attributes, checking what the frontend would only reject later.
func frontendAttrs(o BuildOptions) (map[string]string, error) {
	attrs := map[string]string{}
	for k, v := range o.BuildArgs {
		if v != nil {
			attrs["build-arg:"+k] = *v
		}
	}
	for k, v := range o.Labels {
		attrs["label:"+k] = v
	}
	if o.Target != "" {
		attrs["target"] = o.Target
	}
	if o.NoCache {
		attrs["no-cache"] = ""
	}
	// Like dockerd (and buildx's docker driver), use the local image when
	// there is one, and ask its registry only with --pull: BuildKit's
	// default asks the registry first, even for an image that is here.
	attrs["image-resolve-mode"] = pb.AttrImageResolveModePreferLocal
	if o.Pull {
		attrs["image-resolve-mode"] = pb.AttrImageResolveModeForcePull
	}
	if o.Platform != "" {
		p, err := platforms.Parse(o.Platform)
		if err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(err.Error())
		}
		attrs["platform"] = platforms.Format(p)
	}
	switch o.NetworkMode {
	case "", "default", "bridge":
		// BuildKit's own sandbox network, which is the host's here.
	case "host", "none":
		attrs["force-network-mode"] = o.NetworkMode
	default:
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("network mode %q not supported by buildkit", o.NetworkMode))
	}
	if len(o.ExtraHosts) > 0 {
		hosts, err := extraHosts(o.ExtraHosts)
		if err != nil {
			return nil, err
		}
		attrs["add-hosts"] = hosts
	}
	if o.ShmSize < 0 {
		return nil, errdefs.ErrInvalidArgument.WithMessage("invalid shm size")
	}
	if o.ShmSize > 0 {
		// The frontend takes kilobytes.
		attrs["shm-size"] = strconv.FormatInt(o.ShmSize/1024, 10)
	}
	if len(o.Ulimits) > 0 {
		var l []string
		for _, u := range o.Ulimits {
			if u != nil {
				l = append(l, u.String())
			}
		}
		sort.Strings(l)
		attrs["ulimit"] = strings.Join(l, ",")
	}
	return attrs, nil
}

// extraHosts turns the CLI's "host:ip" entries into the frontend's
// "host=ip" list; an IPv6 address keeps its colons.
func extraHosts(in []string) (string, error) {
	var out []string
	for _, h := range in {
		name, ip, ok := strings.Cut(h, ":")
		if i := strings.Index(h, "="); i >= 0 {
			name, ip, ok = h[:i], h[i+1:], true
		}
		if !ok || name == "" || ip == "" {
			return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid extra host: %s", h))
		}
		ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
		out = append(out, name+"="+ip)
	}
	return strings.Join(out, ","), nil
}

// cacheImports makes each cachefrom image a registry cache source, which is
// what dockerd's BuildKit builder does with them.
func cacheImports(o BuildOptions) []bkclient.CacheOptionsEntry {
	var out []bkclient.CacheOptionsEntry
	for _, ref := range o.CacheFrom {
		if ref != "" {
			out = append(out, bkclient.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": ref}})
		}
	}
	return out
}
