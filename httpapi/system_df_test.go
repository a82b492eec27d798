package httpapi

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"
)

type fakeDF struct{}

func (fakeDF) DiskUsage(context.Context) (*system.DiskUsage, error) {
	return &system.DiskUsage{
		ImageUsage:      &image.DiskUsage{TotalCount: 1, TotalSize: 100, Items: []image.Summary{{ID: "sha256:a", Size: 100}}},
		ContainerUsage:  &container.DiskUsage{TotalCount: 1, Items: []container.Summary{{ID: "c1", SizeRw: 5}}},
		VolumeUsage:     &volume.DiskUsage{TotalCount: 1, Items: []volume.Volume{{Name: "v", UsageData: &volume.UsageData{Size: 7}}}},
		BuildCacheUsage: &build.DiskUsage{},
	}, nil
}

func TestSystemDF(t *testing.T) {
	f := newFixture()
	f.h = New(Options{System: f.sys, Containers: f.ctr, Images: f.img, Events: f.ev, DiskUsage: fakeDF{}, ServerVersion: "0.1.0"})
	decode := func(target string) map[string]json.RawMessage {
		t.Helper()
		rec := f.do("GET", target, "")
		wantStatus(t, rec, 200, "")
		var m map[string]json.RawMessage
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// docker 28 (API 1.50) reads the legacy lists.
	m := decode("/v1.50/system/df")
	if string(m["LayersSize"]) != "100" || m["Images"] == nil || m["Containers"] == nil || m["Volumes"] == nil || m["ImageUsage"] != nil {
		t.Errorf("1.50: %s", m)
	}
	// 1.52 sends both; 1.53 and later only the usage, items when verbose.
	m = decode("/v1.52/system/df")
	if m["Images"] == nil || m["ImageUsage"] == nil {
		t.Errorf("1.52: %s", m)
	}
	m = decode("/v1.56/system/df")
	if m["Images"] != nil || m["ImageUsage"] == nil || string(m["ImageUsage"]) != `{"TotalCount":1,"TotalSize":100}` {
		t.Errorf("1.56: %s", m)
	}
	m = decode("/v1.56/system/df?verbose=1&type=volume")
	if m["ImageUsage"] != nil || m["VolumeUsage"] == nil || string(m["VolumeUsage"]) == `{"TotalCount":1}` {
		t.Errorf("1.56 verbose: %s", m)
	}
	wantStatus(t, f.do("GET", "/system/df?type=bogus", ""), 400, "unknown object type: bogus")
	wantStatus(t, newFixture().do("GET", "/system/df", ""), 501, "this operation is not supported by this engine")
}
