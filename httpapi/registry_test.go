package httpapi

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeRegistry records what it was asked and answers with its fields.
type fakeRegistry struct {
	search  SearchOptions
	ref     string
	auth    *registry.AuthConfig
	results []registry.SearchResult
	inspect *registry.DistributionInspect
	err     error
}

func (f *fakeRegistry) Search(_ context.Context, opts SearchOptions) ([]registry.SearchResult, error) {
	f.search = opts
	return f.results, f.err
}

func (f *fakeRegistry) DistributionInspect(_ context.Context, ref string, auth *registry.AuthConfig) (*registry.DistributionInspect, error) {
	f.ref, f.auth = ref, auth
	return f.inspect, f.err
}

func registryFixture(reg RegistryBackend) *fixture {
	f := newFixture()
	f.h = New(Options{System: f.sys, Containers: f.ctr, Images: f.img, Events: f.ev, Registry: reg, ServerVersion: "0.1.0"})
	return f
}

func TestImagesSearch(t *testing.T) {
	reg := &fakeRegistry{results: []registry.SearchResult{{Name: "busybox", StarCount: 3, IsOfficial: true}}}
	f := registryFixture(reg)
	auth := "eyJ1c2VybmFtZSI6ImJvYiIsInBhc3N3b3JkIjoiaHVudGVyMiJ9" // {"username":"bob","password":"hunter2"}
	rec := f.do("GET", `/v1.56/images/search?term=127.0.0.1:5000/busy&limit=5&filters={"is-official":{"true":true}}`, "", registry.AuthHeader, auth)
	wantStatus(t, rec, 200, "")
	var got []registry.SearchResult
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || len(got) != 1 || got[0].Name != "busybox" {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	if o := reg.search; o.Term != "127.0.0.1:5000/busy" || o.Limit != 5 || o.Filters["is-official"][0] != "true" || o.Auth == nil || o.Auth.Username != "bob" {
		t.Errorf("Search got %+v", o)
	}

	// An undecodable auth header is ignored, as by dockerd.
	wantStatus(t, f.do("GET", "/images/search?term=x", "", registry.AuthHeader, "!!!"), 200, "")
	if reg.search.Auth != nil {
		t.Errorf("auth from a bad header: %+v", reg.search.Auth)
	}
	wantStatus(t, f.do("GET", "/images/search?term=x&limit=abc", ""), 400, "invalid limit specified")
	wantStatus(t, f.do("GET", "/images/search?term=x&limit=-1", ""), 400, "invalid limit specified")
	reg.err = errdefs.ErrUnknown.WithMessage("unexpected status code 404")
	wantStatus(t, f.do("GET", "/images/search?term=x", ""), 500, "unexpected status code 404")

	wantStatus(t, newFixture().do("GET", "/images/search?term=x", ""), 501, "")
}

func TestDistributionJSON(t *testing.T) {
	d := digest.FromString("manifest")
	reg := &fakeRegistry{inspect: &registry.DistributionInspect{
		Descriptor: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: d, Size: 8},
		Platforms:  []ocispec.Platform{{OS: "linux", Architecture: "amd64"}},
	}}
	f := registryFixture(reg)
	rec := f.do("GET", "/v1.56/distribution/127.0.0.1:5000/me/bb:1/json", "")
	wantStatus(t, rec, 200, "")
	var got registry.DistributionInspect
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Descriptor.Digest != d || len(got.Platforms) != 1 {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	if reg.ref != "127.0.0.1:5000/me/bb:1" {
		t.Errorf("DistributionInspect got ref %q", reg.ref)
	}
	wantStatus(t, f.do("GET", "/distribution/me/bb@"+d.String()+"/json", ""), 200, "")
	if reg.ref != "me/bb@"+d.String() {
		t.Errorf("by digest: ref %q", reg.ref)
	}
	for _, path := range []string{"/distribution/me/bb", "/distribution/json", "/distribution/me/bb/other"} {
		if rec := f.do("GET", path, ""); rec.Code != 404 {
			t.Errorf("GET %s: %d, want 404", path, rec.Code)
		}
	}
	reg.err = errdefs.ErrNotFound.WithMessage("manifest for me/bb:2 not found: manifest unknown: manifest unknown")
	wantStatus(t, f.do("GET", "/distribution/me/bb:2/json", ""), 404, "manifest for me/bb:2 not found: manifest unknown: manifest unknown")
}
