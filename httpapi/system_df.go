package httpapi

import (
	"net/http"
	"slices"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"
)

// legacyDiskUsage is the /system/df answer before API 1.52 (the one the
// docker 28 CLI reads), built from the moby types; 1.52 sends it alongside
// the per-type usage, 1.53 dropped it. The pinned api module no longer
// has a type for it.
type legacyDiskUsage struct {
	LayersSize int64               `json:"LayersSize,omitempty"`
	Images     []image.Summary     `json:"Images,omitempty"`
	Containers []container.Summary `json:"Containers,omitempty"`
	Volumes    []volume.Volume     `json:"Volumes,omitempty"`
	BuildCache []build.CacheRecord `json:"BuildCache,omitempty"`
}

// diskUsageResponse is the 1.52 answer: both shapes at once.
type diskUsageResponse struct {
	*legacyDiskUsage
	*system.DiskUsage
}

func (s *server) getSystemDF(w http.ResponseWriter, r *http.Request) error {
	if s.diskUsage == nil {
		return errdefs.ErrNotImplemented.WithMessage("this operation is not supported by this engine")
	}
	q := r.URL.Query()
	types := q["type"]
	for _, t := range types {
		switch system.DiskUsageObject(t) {
		case system.ContainerObject, system.ImageObject, system.VolumeObject, system.BuildCacheObject:
		default:
			return errdefs.ErrInvalidArgument.WithMessage("unknown object type: " + t)
		}
	}
	want := func(t system.DiskUsageObject) bool { return len(types) == 0 || slices.Contains(types, string(t)) }
	du, err := s.diskUsage.DiskUsage(r.Context())
	if err != nil {
		return err
	}
	if !want(system.ImageObject) {
		du.ImageUsage = nil
	}
	if !want(system.ContainerObject) {
		du.ContainerUsage = nil
	}
	if !want(system.VolumeObject) {
		du.VolumeUsage = nil
	}
	if !want(system.BuildCacheObject) {
		du.BuildCacheUsage = nil
	}
	verbose := boolValue(q, "verbose")
	switch {
	case !versionAtLeast(r.Context(), "1.52"):
		return writeJSON(w, http.StatusOK, legacyOf(du))
	case !versionAtLeast(r.Context(), "1.53") && !verbose:
		legacy := legacyOf(du)
		trimItems(du)
		return writeJSON(w, http.StatusOK, diskUsageResponse{legacy, du})
	}
	if !verbose {
		trimItems(du)
	}
	return writeJSON(w, http.StatusOK, du)
}

// legacyOf lists the items in the pre-1.52 shape; the CLI wants the lists
// present (empty, not null) for the kinds it asked for.
func legacyOf(du *system.DiskUsage) *legacyDiskUsage {
	l := &legacyDiskUsage{}
	if u := du.ImageUsage; u != nil {
		l.LayersSize = u.TotalSize
		l.Images = append([]image.Summary{}, u.Items...)
	}
	if u := du.ContainerUsage; u != nil {
		l.Containers = append([]container.Summary{}, u.Items...)
	}
	if u := du.VolumeUsage; u != nil {
		l.Volumes = append([]volume.Volume{}, u.Items...)
	}
	if u := du.BuildCacheUsage; u != nil {
		l.BuildCache = append([]build.CacheRecord{}, u.Items...)
	}
	return l
}

// trimItems drops the per-object lists a non-verbose answer leaves out.
func trimItems(du *system.DiskUsage) {
	if du.ImageUsage != nil {
		du.ImageUsage.Items = nil
	}
	if du.ContainerUsage != nil {
		du.ContainerUsage.Items = nil
	}
	if du.VolumeUsage != nil {
		du.VolumeUsage.Items = nil
	}
	if du.BuildCacheUsage != nil {
		du.BuildCacheUsage.Items = nil
	}
}
