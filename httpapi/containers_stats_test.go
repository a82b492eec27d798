package httpapi

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

// fakeStats sends n samples, or fails with err before any.
type fakeStats struct {
	n               int
	err             error
	ref             string
	stream, oneShot bool
}

func (f *fakeStats) Stats(_ context.Context, ref string, stream, oneShot bool, send func(*container.StatsResponse) error) error {
	f.ref, f.stream, f.oneShot = ref, stream, oneShot
	if f.err != nil {
		return f.err
	}
	for i := 0; i < f.n; i++ {
		if err := send(&container.StatsResponse{ID: "abc", Name: "/web", PidsStats: container.PidsStats{Current: uint64(i + 1)}}); err != nil {
			return err
		}
	}
	return nil
}

func newStatsFixture(st *fakeStats) *fixture {
	f := newFixture()
	f.h = New(Options{System: f.sys, Containers: f.ctr, Images: f.img, Events: f.ev, Stats: st, ServerVersion: "0.1.0"})
	return f
}

func TestContainerStats(t *testing.T) {
	st := &fakeStats{n: 2}
	f := newStatsFixture(st)
	rec := f.do("GET", "/v1.47/containers/web/stats", "")
	wantStatus(t, rec, 200, "")
	if !st.stream || st.oneShot || st.ref != "web" {
		t.Errorf("call %+v", st)
	}
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("body %q", rec.Body.String())
	}
	var s container.StatsResponse
	if err := json.Unmarshal([]byte(lines[1]), &s); err != nil || s.Name != "/web" || s.PidsStats.Current != 2 {
		t.Errorf("sample %+v %v", s, err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}

	st.n = 1
	wantStatus(t, f.do("GET", "/containers/web/stats?stream=0&one-shot=1", ""), 200, "")
	if st.stream || !st.oneShot {
		t.Errorf("call %+v", st)
	}
	wantStatus(t, f.do("GET", "/containers/web/stats?stream=1&one-shot=1", ""), 400, "cannot have stream=true and one-shot=true")

	st.err = errdefs.ErrNotFound.WithMessage("No such container: x")
	wantStatus(t, f.do("GET", "/containers/x/stats?stream=false", ""), 404, "No such container: x")

	wantStatus(t, newFixture().do("GET", "/containers/x/stats", ""), 501, "this operation is not supported by this engine")
}
