package containers

import (
	"context"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/go-archive"
	"github.com/moby/moby/api/types/container"
)

// Changes answers GET /containers/{id}/changes: what differs between the
// container's root filesystem and its image, running or not. Both are
// mounted side by side in a view and compared with go-archive's
// ChangesDirs, as dockerd does with the containerd snapshotters.
func (s *Service) Changes(ctx context.Context, ref string) ([]container.FilesystemChange, error) {
	c, err := s.get(ref)
	if err != nil {
		return nil, err
	}
	ns := lockView(c)
	v, err := s.openContainerView(ctx, c, ns, layoutDiff, false)
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	defer v.Close()
	var changes []archive.Change
	err = v.run(func() (err error) {
		changes, err = archive.ChangesDirs("/new", "/old")
		return err
	})
	if err != nil {
		return nil, err
	}
	return userChanges(changes), nil
}

// runtimePaths are made in a container's root filesystem by the runtime
// at start, as mount points. dockerd keeps their counterparts in an "init"
// layer between the image and the container, so docker diff never shows
// them; roost has no such layer and leaves them out here instead.
var runtimePaths = []string{"/dev", "/proc", "/sys", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/etc/mtab", "/.dockerenv"}

// userChanges drops the runtime's paths, and the directories that are
// "modified" only because a runtime path was made in them (/etc for
// /etc/hosts), and sorts the rest by path.
func userChanges(in []archive.Change) []container.FilesystemChange {
	isRuntime := func(p string) bool {
		for _, r := range runtimePaths {
			if pathWithin(p, r) {
				return true
			}
		}
		return false
	}
	var kept []archive.Change
	droppedIn, keptIn := map[string]bool{}, map[string]bool{}
	markParents := func(set map[string]bool, p string) {
		for d := filepath.Dir(p); d != "/" && d != "."; d = filepath.Dir(d) {
			set[d] = true
		}
	}
	for _, ch := range in {
		if isRuntime(ch.Path) {
			markParents(droppedIn, ch.Path)
			continue
		}
		kept = append(kept, ch)
	}
	for _, ch := range kept {
		markParents(keptIn, ch.Path)
	}
	out := []container.FilesystemChange{}
	for _, ch := range kept {
		if ch.Kind == archive.ChangeModify && droppedIn[ch.Path] && !keptIn[ch.Path] {
			continue
		}
		out = append(out, container.FilesystemChange{Path: ch.Path, Kind: container.ChangeType(ch.Kind)})
	}
	sort.Slice(out, func(i, j int) bool { return strings.Compare(out[i].Path, out[j].Path) < 0 })
	return out
}
