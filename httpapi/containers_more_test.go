package httpapi

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

// fakeMore records the calls of the ContainersMore routes.
type fakeMore struct {
	calls []string
	got   any
	err   error
}

func (f *fakeMore) call(s string, got any) error {
	f.calls = append(f.calls, s)
	f.got = got
	return f.err
}

func (f *fakeMore) Rename(_ context.Context, ref, name string) error {
	return f.call("rename "+ref+" "+name, nil)
}

func (f *fakeMore) Prune(_ context.Context, filters Filters) (*container.PruneReport, error) {
	if err := f.call("prune", filters); err != nil {
		return nil, err
	}
	return &container.PruneReport{SpaceReclaimed: 42}, nil
}

func (f *fakeMore) Top(_ context.Context, ref, psArgs string) (*container.TopResponse, error) {
	if err := f.call("top "+ref+" "+psArgs, nil); err != nil {
		return nil, err
	}
	return &container.TopResponse{Titles: []string{"PID", "CMD"}, Processes: [][]string{{"7", "sleep 1"}}}, nil
}

func (f *fakeMore) Update(_ context.Context, ref string, req *container.UpdateConfig) (*container.UpdateResponse, error) {
	if err := f.call("update "+ref, req); err != nil {
		return nil, err
	}
	return &container.UpdateResponse{}, nil
}

func (f *fakeMore) Pause(_ context.Context, ref string) error   { return f.call("pause "+ref, nil) }
func (f *fakeMore) Unpause(_ context.Context, ref string) error { return f.call("unpause "+ref, nil) }

func newMoreFixture() (*fixture, *fakeMore) {
	f := newFixture()
	m := &fakeMore{}
	f.h = New(Options{System: f.sys, Containers: f.ctr, Images: f.img, Events: f.ev, ContainersMore: m, ServerVersion: "0.1.0"})
	return f, m
}

func TestContainersMoreRoutes(t *testing.T) {
	f, m := newMoreFixture()
	wantStatus(t, f.do("POST", "/v1.44/containers/web/rename?name=db", ""), 204, "")
	wantStatus(t, f.do("POST", "/containers/web/pause", ""), 204, "")
	wantStatus(t, f.do("POST", "/containers/web/unpause", ""), 204, "")

	rec := f.do("GET", "/containers/web/top?ps_args=aux", "")
	wantStatus(t, rec, 200, "")
	if got := strings.TrimSpace(rec.Body.String()); got != `{"Processes":[["7","sleep 1"]],"Titles":["PID","CMD"]}` {
		t.Errorf("top body = %s", got)
	}

	rec = f.do("POST", `/containers/prune?filters={"label":{"a=b":true}}`, "")
	wantStatus(t, rec, 200, "")
	if got := strings.TrimSpace(rec.Body.String()); got != `{"ContainersDeleted":[],"SpaceReclaimed":42}` {
		t.Errorf("prune body = %s", got)
	}
	if !reflect.DeepEqual(m.got, Filters{"label": {"a=b"}}) {
		t.Errorf("prune filters = %v", m.got)
	}

	rec = f.do("POST", "/containers/web/update", `{"RestartPolicy":{"Name":"always"},"Memory":0}`, "Content-Type", "application/json")
	wantStatus(t, rec, 200, "")
	if got := strings.TrimSpace(rec.Body.String()); got != `{"Warnings":[]}` {
		t.Errorf("update body = %s", got)
	}
	if req := m.got.(*container.UpdateConfig); req.RestartPolicy.Name != "always" {
		t.Errorf("update request = %+v", req)
	}
	wantStatus(t, f.do("POST", "/containers/web/update", `{"Memory":`, "Content-Type", "application/json"), 400, "invalid JSON: unexpected EOF")

	want := []string{"rename web db", "pause web", "unpause web", "top web aux", "prune", "update web"}
	if !reflect.DeepEqual(m.calls, want) {
		t.Errorf("calls = %q", m.calls)
	}
}

func TestContainersMoreErrors(t *testing.T) {
	f, m := newMoreFixture()
	for _, tc := range []struct {
		err    error
		status int
	}{
		{errdefs.ErrConflict.WithMessage(`Conflict. The container name "/db" is already in use`), 409},
		{errdefs.ErrInvalidArgument.WithMessage("Renaming a container with the same name as its current name"), 400},
		{errdefs.ErrNotFound.WithMessage("No such container: x"), 404},
	} {
		m.err = tc.err
		wantStatus(t, f.do("POST", "/containers/x/rename?name=db", ""), tc.status, tc.err.Error())
		wantStatus(t, f.do("GET", "/containers/x/top", ""), tc.status, tc.err.Error())
		wantStatus(t, f.do("POST", "/containers/x/pause", ""), tc.status, tc.err.Error())
		wantStatus(t, f.do("POST", "/containers/prune", ""), tc.status, tc.err.Error())
		wantStatus(t, f.do("POST", "/containers/x/update", `{}`, "Content-Type", "application/json"), tc.status, tc.err.Error())
	}

	// Without a backend the routes answer 501.
	none := newFixture()
	wantStatus(t, none.do("POST", "/containers/web/pause", ""), 501, "this operation is not supported by this engine")
	var body map[string]any
	if err := json.Unmarshal(none.do("POST", "/containers/prune", "").Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
}
