package system

import (
	"strings"
	"testing"
)

// A rootless engine tells docker info that stats come from /proc.
func TestStatsWarning(t *testing.T) {
	found := false
	for _, w := range DetectCgroups(true).Warnings {
		found = found || strings.Contains(w, "container stats are measured from /proc")
	}
	if !found {
		t.Errorf("no /proc stats warning in %q", DetectCgroups(true).Warnings)
	}
	for _, w := range DetectCgroups(false).Warnings {
		if strings.Contains(w, "/proc") {
			t.Errorf("rootful engine warns %q", w)
		}
	}
}
