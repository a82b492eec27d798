package containers

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"testing/synctest"
	"time"

	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/moby/moby/api/types/container"

	"github.com/roostd/roost/engine/store"
)

func TestShimGroupOpts(t *testing.T) {
	for _, tc := range []struct {
		name string
		user map[string]string
		want string
	}{
		{"none given", nil, shimGroupPrefix},
		{"other annotations", map[string]string{"a": "b"}, shimGroupPrefix},
		{"the user's group stands", map[string]string{shimGroupAnnotation: "mine"}, "mine"},
		{"an empty group is a group", map[string]string{shimGroupAnnotation: ""}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Service{byID: map[string]*ctr{}}
			before := maps.Clone(tc.user)
			var spec oci.Spec
			opts := append([]oci.SpecOpts{oci.WithAnnotations(tc.user)}, s.shimGroupOpts("c1", tc.user)...)
			if err := oci.ApplyOpts(context.Background(), nil, nil, &spec, opts...); err != nil {
				t.Fatal(err)
			}
			if got, ok := spec.Annotations[shimGroupAnnotation]; !ok || got != tc.want {
				t.Errorf("group %q (set: %v), want %q", got, ok, tc.want)
			}
			// What inspect shows as the user's annotations is unchanged.
			if !maps.Equal(tc.user, before) {
				t.Errorf("the user's annotations became %v, want %v", tc.user, before)
			}
			// A user's group takes no place in the engine's groups.
			if _, given := tc.user[shimGroupAnnotation]; given && len(s.shimPicks) != 0 {
				t.Errorf("the user's group was counted in the engine's: %v", s.shimPicks)
			}
		})
	}
}

func TestPickShimGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Service{byID: map[string]*ctr{}}
		pick := func(id string) string { return s.pickShimGroup(id) }
		add := func(id string, running bool) *ctr {
			c := newCtr(&store.Container{ID: id, HostConfig: &container.HostConfig{}})
			if running {
				c.run = &run{}
				c.rec.State.StartedAt = time.Now()
			}
			s.byID[id] = c
			s.shimGroupPlaced(id)
			return c
		}
		// Parallel creates: none runs yet, each counts in its group.
		for i := range shimGroupSize {
			if g := pick(fmt.Sprint("p", i)); g != shimGroupPrefix {
				t.Fatalf("pick %d: %q, want %q", i, g, shimGroupPrefix)
			}
		}
		if g := pick("p-next"); g != shimGroupPrefix+"-1" {
			t.Fatalf("the pick after a full group: %q, want %q", g, shimGroupPrefix+"-1")
		}
		// They run: still counted, after their pending time too.
		for i := range shimGroupSize {
			add(fmt.Sprint("p", i), true)
		}
		add("p-next", true)
		time.Sleep(shimPickPending + time.Second)
		if g := pick("q"); g != shimGroupPrefix+"-1" {
			t.Fatalf("with %d running in the first group: %q, want %q", shimGroupSize, g, shimGroupPrefix+"-1")
		}
		add("q", true)
		// One exits (its task gone), another is removed: room again.
		s.byID["p0"].run = nil
		delete(s.byID, "p1")
		if g := pick("r"); g != shimGroupPrefix {
			t.Fatalf("after an exit and a removal: %q, want %q", g, shimGroupPrefix)
		}
		if _, ok := s.shimPicks["p1"]; ok {
			t.Error("a removed container's pick was kept")
		}
		// Serial runs of --rm containers: each is removed before the
		// next is created, and none holds a place after.
		for i := range 2 * shimGroupSize {
			id := fmt.Sprint("serial", i)
			if g := pick(id); g != shimGroupPrefix {
				t.Fatalf("serial run %d: %q, want %q", i, g, shimGroupPrefix)
			}
			add(id, true)
			delete(s.byID, id)
		}
		// A container created long ago and never started holds no place.
		add("r", false)
		if g := pick("t"); g != shimGroupPrefix {
			t.Fatalf("with 7 in the first group: %q, want %q", g, shimGroupPrefix)
		}
		add("t", true) // the first group: 7 running and r
		time.Sleep(shimPickPending + time.Second)
		if g := pick("s"); g != shimGroupPrefix {
			t.Fatalf("with a created container never started: %q, want %q", g, shimGroupPrefix)
		}
	})
}
