package system

import (
	"testing"

	"github.com/moby/moby/api/types/build"
)

func TestBuildCacheUsage(t *testing.T) {
	u := buildCacheUsage([]build.CacheRecord{
		{ID: "a", Size: 10, InUse: true},
		{ID: "b", Size: 20},
		{ID: "c", Size: 40, Shared: true},
	})
	if u.TotalCount != 3 || u.ActiveCount != 1 || u.TotalSize != 30 || u.Reclaimable != 20 || len(u.Items) != 3 {
		t.Errorf("got %+v", u)
	}
}
