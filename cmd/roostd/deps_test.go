package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoBuildKitLinked: roostd must not link BuildKit (nor buildsvc, its
// only way in): on this kernel nearly every page of a binary is resident
// in each process that runs it, and BuildKit's client is megabytes that
// only roost-build needs.
func TestNoBuildKitLinked(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/moby/buildkit") || pkg == "github.com/roostd/roost/buildsvc" || strings.HasPrefix(pkg, "github.com/tonistiigi/fsutil") {
			t.Errorf("roostd links %s", pkg)
		}
	}
}
