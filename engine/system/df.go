package system

import (
	"context"
	"io/fs"
	"path/filepath"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"
)

// ImageLister lists the images with their unpacked sizes.
type ImageLister interface {
	List(ctx context.Context, all bool, filters map[string][]string) ([]image.Summary, error)
}

// ContainerSizer lists every container with SizeRw filled.
type ContainerSizer interface {
	DiskUsage(ctx context.Context) ([]container.Summary, error)
}

// VolumeLister lists the volumes; Mountpoint is where their data is.
type VolumeLister interface {
	List(ctx context.Context, filters map[string][]string) ([]*volume.Volume, error)
}

// DiskUsage gathers what GET /system/df reports, with every item listed
// (the API decides what to show).
type DiskUsage struct {
	Images     ImageLister
	Containers ContainerSizer
	Volumes    VolumeLister     // nil: no volumes
	BuildCache BuildCacheLister // nil: no builder, an empty build cache
}

// DiskUsage computes the usage of images, containers and volumes as
// dockerd's SystemDiskUsage: an image counts the containers made from it,
// a container's SizeRootFs is its writable layer plus its image, and a
// volume's UsageData is the size of its data and the containers using it.
func (d DiskUsage) DiskUsage(ctx context.Context) (*system.DiskUsage, error) {
	imgs, err := d.Images.List(ctx, true, nil)
	if err != nil {
		return nil, err
	}
	ctrs, err := d.Containers.DiskUsage(ctx)
	if err != nil {
		return nil, err
	}
	var vols []*volume.Volume
	if d.Volumes != nil {
		if vols, err = d.Volumes.List(ctx, nil); err != nil {
			return nil, err
		}
	}
	du := assembleDiskUsage(imgs, ctrs, vols, volumeSize)
	if d.BuildCache != nil {
		records, err := d.BuildCache.DiskUsage(ctx)
		if err != nil {
			return nil, err
		}
		du.BuildCacheUsage = buildCacheUsage(records)
	}
	return du, nil
}

// assembleDiskUsage builds the report; sizeOf measures a volume's data.
func assembleDiskUsage(imgs []image.Summary, ctrs []container.Summary, vols []*volume.Volume, sizeOf func(string) int64) *system.DiskUsage {
	imageSize := map[string]int64{}
	imageUsers := map[string]int64{}
	volUsers := map[string]int64{}
	cu := &container.DiskUsage{Items: ctrs, TotalCount: int64(len(ctrs))}
	for i := range ctrs {
		c := &ctrs[i]
		imageUsers[c.ImageID]++
		for _, m := range c.Mounts {
			if m.Type == mount.TypeVolume {
				volUsers[m.Name]++
			}
		}
		cu.TotalSize += c.SizeRw
		if c.State == container.StateRunning || c.State == container.StatePaused || c.State == container.StateRestarting {
			cu.ActiveCount++
		} else {
			cu.Reclaimable += c.SizeRw
		}
	}
	iu := &image.DiskUsage{Items: make([]image.Summary, len(imgs)), TotalCount: int64(len(imgs))}
	for i, img := range imgs {
		img.Containers = imageUsers[img.ID]
		img.SharedSize = 0
		imageSize[img.ID] = img.Size
		iu.Items[i] = img
		iu.TotalSize += img.Size
		if img.Containers > 0 {
			iu.ActiveCount++
		} else {
			iu.Reclaimable += img.Size
		}
	}
	for i := range ctrs {
		ctrs[i].SizeRootFs = ctrs[i].SizeRw + imageSize[ctrs[i].ImageID]
	}
	vu := &volume.DiskUsage{Items: make([]volume.Volume, len(vols)), TotalCount: int64(len(vols))}
	for i, v := range vols {
		vv := *v
		// As in the API: only the local driver's volumes are measured,
		// others are -1 ("not available"), a plugin's data being its own.
		size := int64(-1)
		if v.Driver == "" || v.Driver == "local" {
			size = sizeOf(v.Mountpoint)
		}
		vv.UsageData = &volume.UsageData{Size: size, RefCount: volUsers[v.Name]}
		vu.Items[i] = vv
		if vv.UsageData.RefCount > 0 {
			vu.ActiveCount++
		}
		if size < 0 {
			continue
		}
		vu.TotalSize += size
		if vv.UsageData.RefCount == 0 {
			vu.Reclaimable += size
		}
	}
	return &system.DiskUsage{
		ImageUsage:      iu,
		ContainerUsage:  cu,
		VolumeUsage:     vu,
		BuildCacheUsage: &build.DiskUsage{},
	}
}

// volumeSize is the disk use of the regular files under dir, as dockerd's
// local driver measures it; unreadable parts are skipped.
func volumeSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
