package images_test

import (
	"context"
	"slices"
	"testing"

	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
)

// TestTagUnchanged: tagging an image with the name it already has, as a
// rebuild that hit the cache does after BuildKit exported it under its
// dangling name, writes nothing to the name, drops the dangling record
// and still logs the tag event, as dockerd's containerd store does.
func TestTagUnchanged(t *testing.T) {
	f := newFixture(t)
	id := f.loadBusybox(t)
	is := f.client.ImageService()
	before, err := is.Get(f.ctx, "docker.io/library/busybox:latest")
	if err != nil {
		t.Fatal(err)
	}
	dangling := "moby-dangling@" + before.Target.Digest.String()
	if _, err := is.Create(f.ctx, cimages.Image{Name: dangling, Target: before.Target}); err != nil {
		t.Fatal(err)
	}
	f.events.take()

	if err := f.svc.Tag(context.Background(), id, "busybox", "latest"); err != nil {
		t.Fatal(err)
	}
	after, err := is.Get(f.ctx, "docker.io/library/busybox:latest")
	if err != nil {
		t.Fatal(err)
	}
	if !after.UpdatedAt.Equal(before.UpdatedAt) || after.Target.Digest != before.Target.Digest {
		t.Errorf("the unchanged name was rewritten: %v → %v", before.UpdatedAt, after.UpdatedAt)
	}
	if _, err := is.Get(f.ctx, dangling); !errdefs.IsNotFound(err) {
		t.Errorf("dangling record after the tag: %v, want NotFound", err)
	}
	if got, want := f.events.take(), []string{"image tag " + id + " busybox:latest"}; !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}

	// A new name is still created, with its event.
	if err := f.svc.Tag(context.Background(), id, "other", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := is.Get(f.ctx, "docker.io/library/other:1"); err != nil {
		t.Errorf("new name: %v", err)
	}
	if got, want := f.events.take(), []string{"image tag " + id + " other:1"}; !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}
