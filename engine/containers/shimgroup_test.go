package containers

import (
	"context"
	"maps"
	"testing"

	"github.com/containerd/containerd/v2/pkg/oci"
)

func TestWithShimGroup(t *testing.T) {
	for _, tc := range []struct {
		name string
		user map[string]string
		want string
	}{
		{"none given", nil, shimGroup},
		{"other annotations", map[string]string{"a": "b"}, shimGroup},
		{"the user's group stands", map[string]string{shimGroupAnnotation: "mine"}, "mine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := maps.Clone(tc.user)
			var s oci.Spec
			if err := oci.ApplyOpts(context.Background(), nil, nil, &s, oci.WithAnnotations(tc.user), withShimGroup(tc.user)); err != nil {
				t.Fatal(err)
			}
			if got := s.Annotations[shimGroupAnnotation]; got != tc.want {
				t.Errorf("group %q, want %q", got, tc.want)
			}
			// What inspect shows as the user's annotations is unchanged.
			if !maps.Equal(tc.user, before) {
				t.Errorf("the user's annotations became %v, want %v", tc.user, before)
			}
		})
	}
}
