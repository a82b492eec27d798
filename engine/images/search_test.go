package images_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/registry"
	"github.com/roostd/roost/engine/images"
	"github.com/roostd/roost/tests/regtest"
)

// searchServer answers /v1/search as Docker Hub's index does, from a
// fixed list, and records the query.
func searchServer(t *testing.T) (*httptest.Server, *string) {
	t.Helper()
	var query string
	all := []registry.SearchResult{
		{Name: "busybox", Description: "the official one", StarCount: 10, IsOfficial: true},
		{Name: "me/busybox", Description: "mine", StarCount: 2},
		{Name: "other/busybox", Description: "someone's", StarCount: 0, IsAutomated: true}, //nolint:staticcheck
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/search" {
			http.NotFound(w, r)
			return
		}
		query = r.URL.RawQuery
		_ = json.NewEncoder(w).Encode(registry.SearchResults{Query: r.URL.Query().Get("q"), NumResults: len(all), Results: all})
	}))
	t.Cleanup(srv.Close)
	return srv, &query
}

func TestSearch(t *testing.T) {
	srv, query := searchServer(t)
	f := newFixture(t)
	ctx := context.Background()
	host := strings.TrimPrefix(srv.URL, "http://")

	res, err := f.svc.Search(ctx, images.SearchOptions{Term: host + "/busy"})
	if err != nil || len(res) != 3 {
		t.Fatalf("Search = %+v, %v", res, err)
	}
	if *query != "q=busy&n=25" {
		t.Errorf("query %q, want q=busy&n=25", *query)
	}
	if res[2].IsAutomated { //nolint:staticcheck
		t.Error("is_automated is passed on; dockerd clears it")
	}
	for _, tc := range []struct {
		filters map[string][]string
		want    []string
	}{
		{map[string][]string{"is-official": {"true"}}, []string{"busybox"}},
		{map[string][]string{"is-official": {"false"}}, []string{"me/busybox", "other/busybox"}},
		{map[string][]string{"stars": {"1", "2"}}, []string{"busybox", "me/busybox"}},
		{map[string][]string{"is-automated": {"true"}}, nil},
	} {
		res, err := f.svc.Search(ctx, images.SearchOptions{Term: host + "/busy", Limit: 3, Filters: tc.filters})
		var names []string
		for _, r := range res {
			names = append(names, r.Name)
		}
		if err != nil || strings.Join(names, ",") != strings.Join(tc.want, ",") {
			t.Errorf("Search with %v = %q, %v; want %q", tc.filters, names, err, tc.want)
		}
	}
	if *query != "q=busy&n=3" {
		t.Errorf("query %q, want q=busy&n=3", *query)
	}

	for _, tc := range []struct {
		opts images.SearchOptions
		want string
	}{
		{images.SearchOptions{Term: host + "/x", Limit: 101}, "limit 101 is outside the range of [1, 100]"},
		{images.SearchOptions{Term: "https://" + host + "/x"}, "invalid repository name: repository name (https://" + host + "/x) should not have a scheme"},
		{images.SearchOptions{Term: "x", Filters: map[string][]string{"nosuch": {"1"}}}, "invalid filter 'nosuch'"},
		{images.SearchOptions{Term: "x", Filters: map[string][]string{"is-official": {"maybe"}}}, "invalid filter 'is-official=[maybe]'"},
		{images.SearchOptions{Term: "x", Filters: map[string][]string{"stars": {"many"}}}, `invalid filter 'stars=many': strconv.Atoi: parsing "many": invalid syntax`},
	} {
		if _, err := f.svc.Search(ctx, tc.opts); !errdefs.IsInvalidArgument(err) || err.Error() != tc.want {
			t.Errorf("Search(%+v) = %v, want InvalidArgument %q", tc.opts, err, tc.want)
		}
	}

	// The distribution registry has no search API: dockerd's error.
	reg := regtest.StartT(t, regtest.Options{})
	if _, err := f.svc.Search(ctx, images.SearchOptions{Term: reg.Addr + "/busybox"}); err == nil || err.Error() != "unexpected status code 404" {
		t.Errorf("Search of the distribution registry = %v, want unexpected status code 404", err)
	}
}

// TestDistributionInspect: the descriptor and platforms of an index and
// of a single manifest, from the registry, with nothing pulled.
func TestDistributionInspect(t *testing.T) {
	f := newFixture(t)
	reg := regtest.StartT(t, regtest.Options{})
	ctx := context.Background()
	m := multiPlatformImage(t, "example.com/mp:1")
	if _, err := f.svc.Load(ctx, strings.NewReader(string(m.archive))); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"index"} {
		if err := f.svc.Tag(ctx, "example.com/mp:1", reg.Addr+"/me/mp", tag); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Push(ctx, reg.Addr+"/me/mp", tag, images.PushOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.svc.DistributionInspect(ctx, reg.Addr+"/me/mp:index", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Descriptor.Digest != m.index.Digest || got.Descriptor.MediaType != m.index.MediaType || got.Descriptor.Size != m.index.Size {
		t.Errorf("descriptor %+v, want %+v", got.Descriptor, m.index)
	}
	if len(got.Platforms) != 2 {
		t.Errorf("platforms %+v, want the index's two", got.Platforms)
	}

	// By digest, a single manifest: its platform is its config's.
	byDigest := reg.Addr + "/me/mp@" + m.manifest.Digest.String()
	got, err = f.svc.DistributionInspect(ctx, byDigest, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Descriptor.Digest != m.manifest.Digest || len(got.Platforms) != 1 || got.Platforms[0].OS != "linux" {
		t.Errorf("DistributionInspect(%s) = %+v", byDigest, got)
	}

	if _, err := f.svc.DistributionInspect(ctx, reg.Addr+"/me/mp:nosuch", nil); !errdefs.IsNotFound(err) {
		t.Errorf("a missing tag: %v, want NotFound", err)
	}
	if _, err := f.svc.DistributionInspect(ctx, "me/UPPER", nil); !errdefs.IsInvalidArgument(err) {
		t.Errorf("an invalid reference: %v, want InvalidArgument", err)
	}
	if _, err := f.svc.DistributionInspect(ctx, strings.Repeat("a", 64), nil); err == nil || err.Error() != "no manifest found for full image ID" {
		t.Errorf("an image ID: %v", err)
	}
}

// TestSearchUnreachable: a registry that does not answer is an invalid
// endpoint, the user's to fix.
func TestSearchUnreachable(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = f.svc.Search(context.Background(), images.SearchOptions{Term: addr + "/x"})
	if !errdefs.IsInvalidArgument(err) || !strings.HasPrefix(err.Error(), "invalid registry endpoint https://"+addr+"/v1/: ") {
		t.Errorf("Search of a closed port = %v, want InvalidArgument invalid registry endpoint…", err)
	}
}
