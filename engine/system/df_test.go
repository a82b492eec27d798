package system

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/volume"
)

type fakeImages []image.Summary

func (f fakeImages) List(context.Context, bool, map[string][]string) ([]image.Summary, error) {
	return append([]image.Summary{}, f...), nil
}

type fakeSizer []container.Summary

func (f fakeSizer) DiskUsage(context.Context) ([]container.Summary, error) {
	return append([]container.Summary{}, f...), nil
}

type fakeVolumes []*volume.Volume

func (f fakeVolumes) List(context.Context, map[string][]string) ([]*volume.Volume, error) {
	return f, nil
}

func TestDiskUsage(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "used", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(dir, "used", "a"), make([]byte, 100), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "used", "sub", "b"), make([]byte, 50), 0o644)
	_ = os.MkdirAll(filepath.Join(dir, "idle"), 0o755)
	d := DiskUsage{
		Images: fakeImages{{ID: "sha256:a", Size: 1000, SharedSize: -1, Containers: -1}, {ID: "sha256:b", Size: 500}},
		Containers: fakeSizer{
			{ID: "c1", ImageID: "sha256:a", State: container.StateRunning, SizeRw: 10,
				Mounts: []container.MountPoint{{Type: "volume", Name: "used"}}},
			{ID: "c2", ImageID: "sha256:a", State: container.StateExited, SizeRw: 20},
		},
		Volumes: fakeVolumes{
			{Name: "used", Mountpoint: filepath.Join(dir, "used")},
			{Name: "idle", Mountpoint: filepath.Join(dir, "idle")},
			// A plugin's volume is not measured, even where it has data.
			{Name: "plug", Driver: "someplugin", Mountpoint: filepath.Join(dir, "used")},
		},
	}
	du, err := d.DiskUsage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	iu := du.ImageUsage
	if iu.TotalCount != 2 || iu.ActiveCount != 1 || iu.TotalSize != 1500 || iu.Reclaimable != 500 {
		t.Errorf("images %+v", iu)
	}
	if iu.Items[0].Containers != 2 || iu.Items[0].SharedSize != 0 || iu.Items[1].Containers != 0 {
		t.Errorf("image items %+v", iu.Items)
	}
	cu := du.ContainerUsage
	if cu.TotalCount != 2 || cu.ActiveCount != 1 || cu.TotalSize != 30 || cu.Reclaimable != 20 {
		t.Errorf("containers %+v", cu)
	}
	if cu.Items[0].SizeRootFs != 1010 || cu.Items[1].SizeRootFs != 1020 {
		t.Errorf("container items %+v", cu.Items)
	}
	vu := du.VolumeUsage
	if vu.TotalCount != 3 || vu.ActiveCount != 1 || vu.TotalSize != 150 || vu.Reclaimable != 0 {
		t.Errorf("volumes %+v", vu)
	}
	if u := vu.Items[0].UsageData; u == nil || u.Size != 150 || u.RefCount != 1 {
		t.Errorf("volume used %+v", u)
	}
	if u := vu.Items[1].UsageData; u == nil || u.Size != 0 || u.RefCount != 0 {
		t.Errorf("volume idle %+v", u)
	}
	if u := vu.Items[2].UsageData; u == nil || u.Size != -1 || u.RefCount != 0 {
		t.Errorf("plugin volume %+v", u)
	}
	if du.BuildCacheUsage == nil || du.BuildCacheUsage.TotalCount != 0 {
		t.Errorf("build cache %+v", du.BuildCacheUsage)
	}
}
