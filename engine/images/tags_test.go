package images_test

import (
	"context"
	"slices"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/roostd/roost/engine/images"
	"github.com/roostd/roost/tests/regtest"
)

// TestPullAllTags: a name without a tag pulls every tag the registry
// lists.
func TestPullAllTags(t *testing.T) {
	f := newFixture(t)
	reg := regtest.StartT(t, regtest.Options{})
	ctx := context.Background()
	f.loadBusybox(t)
	repo := reg.Addr + "/me/tags"
	for _, tag := range []string{"1", "2", "three"} {
		if err := f.svc.Tag(ctx, "busybox", repo, tag); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Push(ctx, repo, tag, images.PushOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Remove(ctx, repo+":"+tag, false, false); err != nil {
			t.Fatal(err)
		}
	}
	tags, err := f.svc.Tags(ctx, repo, nil)
	if err != nil || !slices.Equal(tags, []string{"1", "2", "three"}) {
		t.Fatalf("Tags = %q, %v", tags, err)
	}
	var p progress
	if err := f.svc.Pull(ctx, repo, images.PullOptions{Progress: p.add}); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"1", "2", "three"} {
		if _, err := f.svc.Inspect(ctx, repo+":"+tag); err != nil {
			t.Errorf("after pull --all-tags: %v", err)
		}
		if !slices.Contains(p.statuses(), tag+": Pulling from me/tags") {
			t.Errorf("no 'Pulling from' line for tag %s: %q", tag, p.statuses())
		}
	}

	if _, err := f.svc.Tags(ctx, reg.Addr+"/me/nosuch", nil); !errdefs.IsNotFound(err) {
		t.Errorf("Tags of a missing repository: %v, want NotFound", err)
	}
}
