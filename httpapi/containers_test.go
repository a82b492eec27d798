package httpapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

func TestContainerCreate(t *testing.T) {
	f := newFixture()
	rec := f.do("POST", "/v1.44/containers/create?name=db", `{"Image":"busybox","Cmd":["true"],"Unknown":1}`, "Content-Type", "application/json")
	wantStatus(t, rec, 201, "")
	if got := strings.TrimSpace(rec.Body.String()); got != `{"Id":"new1","Warnings":[]}` {
		t.Errorf("body = %s", got)
	}
	req := f.ctr.got.(*container.CreateRequest)
	if req.Image != "busybox" || req.HostConfig == nil || req.NetworkingConfig.EndpointsConfig == nil {
		t.Errorf("request = %+v", req)
	}

	for _, tc := range []struct {
		name, query, body, ct string
		status                int
		msg                   string
	}{
		{"name in use", "?name=web", `{"Image":"busybox"}`, "application/json", 409, `Conflict. The container name "/web" is already in use`},
		{"malformed", "", `{"Image":`, "application/json", 400, "invalid JSON: unexpected EOF"},
		{"wrong content type", "", `{"Image":"busybox"}`, "text/plain", 400, "unsupported Content-Type header (text/plain): must be 'application/json'"},
		{"empty body", "", "", "application/json", 400, "invalid JSON: got EOF while reading request body"},
		{"no config", "", `{}`, "application/json", 400, "config cannot be empty in order to create a container"},
		{"bad field type", "", `{"Image":5}`, "application/json", 400, "invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.Config.Image of type string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, f.do("POST", "/containers/create"+tc.query, tc.body, "Content-Type", tc.ct), tc.status, tc.msg)
		})
	}
}

func TestContainerList(t *testing.T) {
	f := newFixture()
	rec := f.do("GET", `/containers/json?all=1&limit=3&size=true&filters={"status":{"running":true}}`, "")
	wantStatus(t, rec, 200, "")
	want := ContainerListOptions{All: true, Limit: 3, Size: true, Filters: Filters{"status": {"running"}}}
	if !reflect.DeepEqual(f.ctr.got, want) {
		t.Errorf("options = %+v", f.ctr.got)
	}
	var list []container.Summary
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != 1 || list[0].ID != "abc123" {
		t.Errorf("list %s: %v", rec.Body, err)
	}

	wantStatus(t, f.do("GET", "/containers/json?limit=many", ""), 400, `strconv.Atoi: parsing "many": invalid syntax`)
	wantStatus(t, f.do("GET", "/containers/json?filters={bad", ""), 400, "invalid filter")

	f.ctr.byRef = nil
	if rec := f.do("GET", "/containers/json", ""); strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("empty list = %s", rec.Body)
	}
}

func TestContainerInspect(t *testing.T) {
	f := newFixture()
	rec := f.do("GET", "/containers/web/json", "")
	wantStatus(t, rec, 200, "")
	var c container.InspectResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil || c.ID != "abc123" {
		t.Errorf("inspect %s: %v", rec.Body, err)
	}
	wantStatus(t, f.do("GET", "/containers/nosuch/json", ""), 404, "No such container: nosuch")
}

func TestContainerLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name, method, target, body string
		backendErr                 error
		status                     int
		msg                        string
		got                        any
	}{
		{"start", "POST", "/containers/web/start", "", nil, 204, "", nil},
		{"start running", "POST", "/containers/web/start", "", errdefs.ErrNotModified, 304, "", nil},
		{"start missing", "POST", "/containers/nosuch/start", "", nil, 404, "No such container: nosuch", nil},
		{"start with HostConfig", "POST", "/containers/web/start", `{"Binds":["/a:/b"]}`, nil, 400, "starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24", nil},
		{"start with {}", "POST", "/containers/web/start", `{}`, nil, 204, "", nil},
		{"stop", "POST", "/containers/web/stop?t=5&signal=SIGINT", "", nil, 204, "", StopOptions{Signal: "SIGINT", Timeout: ptr(5)}},
		{"stop old API ignores signal", "POST", "/v1.41/containers/web/stop?signal=SIGINT", "", nil, 204, "", StopOptions{}},
		{"stop stopped", "POST", "/containers/web/stop", "", errdefs.ErrNotModified, 304, "", nil},
		{"stop bad t", "POST", "/containers/web/stop?t=soon", "", nil, 400, `strconv.Atoi: parsing "soon": invalid syntax`, nil},
		{"restart", "POST", "/containers/web/restart?t=0", "", nil, 204, "", StopOptions{Timeout: ptr(0)}},
		{"restart bad t", "POST", "/containers/web/restart?t=x", "", nil, 400, `strconv.Atoi: parsing "x": invalid syntax`, nil},
		{"kill", "POST", "/containers/web/kill?signal=HUP", "", nil, 204, "", "HUP"},
		{"kill missing", "POST", "/containers/nosuch/kill", "", nil, 404, "cannot kill container: nosuch: No such container: nosuch", nil},
		{"kill not running", "POST", "/containers/web/kill", "", errdefs.ErrConflict.WithMessage("container web is not running"), 409, "cannot kill container: web: container web is not running", nil},
		{"remove", "DELETE", "/containers/web?force=1&v=true", "", nil, 204, "", [2]bool{true, true}},
		{"remove running", "DELETE", "/containers/web", "", errdefs.ErrConflict.WithMessage("cannot remove container \"/web\": container is running"), 409, "cannot remove container \"/web\": container is running", nil},
		{"resize", "POST", "/containers/web/resize?h=40&w=120", "", nil, 200, "", [2]uint{40, 120}},
		{"resize bad h", "POST", "/containers/web/resize?h=tall&w=120", "", nil, 400, `invalid resize height "tall": invalid syntax`, nil},
		{"resize negative w", "POST", "/containers/web/resize?h=1&w=-1", "", nil, 400, `invalid resize width "-1": invalid syntax`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			f.ctr.err = tc.backendErr
			var headers []string
			if tc.body != "" {
				headers = []string{"Content-Type", "application/json"}
			}
			wantStatus(t, f.do(tc.method, tc.target, tc.body, headers...), tc.status, tc.msg)
			if tc.got != nil && !reflect.DeepEqual(f.ctr.got, tc.got) {
				t.Errorf("backend got %#v, want %#v", f.ctr.got, tc.got)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestContainerNamedLikeRoutes: containers may be called "json" or
// "create", which are also fixed path segments.
func TestContainerNamedLikeRoutes(t *testing.T) {
	f := newFixture()
	for _, name := range []string{"json", "create"} {
		f.ctr.byRef[name] = &container.InspectResponse{ID: name + "-id"}
		wantStatus(t, f.do("GET", "/containers/"+name+"/json", ""), 200, "")
		wantStatus(t, f.do("POST", "/containers/"+name+"/start", ""), 204, "")
		wantStatus(t, f.do("DELETE", "/containers/"+name, ""), 204, "")
	}
}
