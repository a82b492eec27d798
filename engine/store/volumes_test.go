package store

import (
	"context"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func TestVolumesRoundTrip(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	r := s.Volumes()
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	v := &Volume{Name: "data", Driver: "local", Created: created, Labels: map[string]string{"team": "a"}}
	if err := r.Create(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := r.Create(ctx, v); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("duplicate create: %v", err)
	}
	if err := r.Create(ctx, &Volume{Name: "anon", Driver: "local", Created: created, Anonymous: true}); err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(ctx, "data")
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["team"] != "a" || got.Options == nil || !got.Created.Equal(created) || got.Anonymous {
		t.Fatalf("round trip: %+v", got)
	}
	list, err := r.List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "anon" || !list[0].Anonymous {
		t.Fatalf("list: %v %v", list, err)
	}
	if err := r.Delete(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{r.Delete(ctx, "data"), func() error { _, err := r.Get(ctx, "data"); return err }()} {
		if !errdefs.IsNotFound(err) {
			t.Fatalf("after delete: %v", err)
		}
	}
}
