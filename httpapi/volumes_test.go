package httpapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/volume"
)

// fakeVolumes holds volumes by name; "used" is in use by container c1.
type fakeVolumes struct {
	vols       map[string]*volume.Volume
	gotFilters Filters
	gotForce   bool
}

func (f *fakeVolumes) Create(_ context.Context, name, driver string, _, labels map[string]string) (*volume.Volume, error) {
	if strings.ContainsAny(name, "! ") {
		return nil, errdefs.ErrInvalidArgument.WithMessage("create " + name + ": invalid characters")
	}
	if driver != "" && driver != "local" {
		return nil, errdefs.ErrNotFound.WithMessage(`plugin "` + driver + `" not found`)
	}
	v := &volume.Volume{Name: name, Driver: "local", Labels: labels, Mountpoint: "/v/" + name + "/_data"}
	f.vols[name] = v
	return v, nil
}

func (f *fakeVolumes) Get(_ context.Context, name string) (*volume.Volume, error) {
	if v, ok := f.vols[name]; ok {
		return v, nil
	}
	return nil, errdefs.ErrNotFound.WithMessage("get " + name + ": no such volume")
}

func (f *fakeVolumes) List(_ context.Context, filters Filters) ([]*volume.Volume, error) {
	f.gotFilters = filters
	var out []*volume.Volume
	for _, v := range f.vols {
		out = append(out, v)
	}
	return out, nil
}

func (f *fakeVolumes) Remove(ctx context.Context, name string, force bool) error {
	f.gotForce = force
	if name == "used" {
		return errdefs.ErrConflict.WithMessage("remove used: volume is in use - [c1]")
	}
	if _, err := f.Get(ctx, name); err != nil {
		return err
	}
	delete(f.vols, name)
	return nil
}

func (f *fakeVolumes) Prune(_ context.Context, filters Filters) (*volume.PruneReport, error) {
	f.gotFilters = filters
	return &volume.PruneReport{VolumesDeleted: []string{"a"}, SpaceReclaimed: 3}, nil
}

func TestVolumeRoutes(t *testing.T) {
	fv := &fakeVolumes{vols: map[string]*volume.Volume{"used": {Name: "used", Driver: "local"}}}
	h := New(Options{Volumes: fv})
	for _, tc := range []struct {
		method, target, body string
		status               int
		contains             string
	}{
		{"POST", "/v1.45/volumes/create", `{"Name":"v1","Labels":{"a":"b"}}`, 201, `"Mountpoint":"/v/v1/_data"`},
		{"POST", "/volumes/create", `{"Name":"bad name!"}`, 400, "invalid characters"},
		{"POST", "/volumes/create", `{"Name":"p","Driver":"x"}`, 404, `plugin \"x\" not found`},
		{"GET", "/volumes/v1", "", 200, `"Name":"v1"`},
		{"GET", "/volumes/nosuch", "", 404, "no such volume"},
		{"GET", `/volumes?filters={"dangling":["true"]}`, "", 200, `"Warnings":[]`},
		{"DELETE", "/volumes/used", "", 409, "volume is in use - [c1]"},
		{"DELETE", "/volumes/v1?force=1", "", 204, ""},
		{"DELETE", "/volumes/v1", "", 404, "no such volume"},
		{"POST", `/volumes/prune?filters={"all":["true"]}`, "", 200, `"SpaceReclaimed":3`},
	} {
		req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
		if tc.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("%s %s: %d %s, want %d containing %s", tc.method, tc.target, rec.Code, rec.Body, tc.status, tc.contains)
		}
	}
	if got := fv.gotFilters["all"]; len(got) != 1 || got[0] != "true" {
		t.Errorf("prune filters: %v", fv.gotFilters)
	}
	var lr volume.ListResponse
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/volumes", nil))
	if err := json.Unmarshal(rec.Body.Bytes(), &lr); err != nil || len(lr.Volumes) != 1 || lr.Volumes[0].Name != "used" {
		t.Errorf("list: %s %v", rec.Body, err)
	}
	rec = httptest.NewRecorder()
	New(Options{}).ServeHTTP(rec, httptest.NewRequest("GET", "/volumes", nil))
	if rec.Code != 501 {
		t.Errorf("without a backend: %d", rec.Code)
	}
}
