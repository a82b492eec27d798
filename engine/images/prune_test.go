package images_test

import (
	"bytes"
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	imagetypes "github.com/moby/moby/api/types/image"
)

func TestPrune(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	busybox := f.loadBusybox(t)
	m := f.loadMulti(t, "example.com/multi:1")
	// An untagged image with a layer of its own.
	layer := tarOf(t, tarMember{name: "only-here.txt", body: strings.Repeat("x", 10000)})
	dangling, err := f.svc.Import(ctx, bytes.NewReader(layer), "", "", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	f.svc.SetContainerUsage(&usage{users: map[string][]string{m.id: {"c0ffee"}}})
	f.events.take()

	for _, bad := range []map[string][]string{{"reference": {"x"}}, {"dangling": {"maybe"}}} {
		if _, err := f.svc.Prune(ctx, bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Prune(%v) = %v", bad, err)
		}
	}
	// Nothing is older than an hour ago.
	rep, err := f.svc.Prune(ctx, map[string][]string{"until": {"1h"}})
	if err != nil || len(rep.ImagesDeleted) != 0 || rep.SpaceReclaimed != 0 {
		t.Errorf("Prune(until=1h) = %+v, %v", rep, err)
	}

	// By default only the untagged image goes, and its layer's space.
	rep, err = f.svc.Prune(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []imagetypes.DeleteResponse{{Deleted: dangling}}; !reflect.DeepEqual(rep.ImagesDeleted, want) {
		t.Errorf("deleted %+v, want %+v", rep.ImagesDeleted, want)
	}
	if rep.SpaceReclaimed < 10000 {
		t.Errorf("SpaceReclaimed = %d, want the layer's size", rep.SpaceReclaimed)
	}
	if ev := f.events.take(); !slices.ContainsFunc(ev, func(e string) bool { return strings.HasPrefix(e, "image prune ") }) {
		t.Errorf("events = %q", ev)
	}

	// -a: every image no container uses. busybox's layer stays, since the
	// image in use has it too.
	rep, err = f.svc.Prune(ctx, map[string][]string{"dangling": {"false"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []imagetypes.DeleteResponse{{Untagged: "busybox:latest"}, {Deleted: busybox}}
	if !reflect.DeepEqual(rep.ImagesDeleted, want) || rep.SpaceReclaimed != 0 {
		t.Errorf("Prune(-a) = %+v, want %+v and nothing reclaimed", rep, want)
	}
	if _, err := f.svc.Inspect(ctx, "example.com/multi:1"); err != nil {
		t.Errorf("the image in use went: %v", err)
	}
}
