package volumes

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/roostd/roost/engine/store"
)

// fakePlugin answers the volume plugin protocol from a map of volumes;
// names with "fail" get an Err, "status" a 500 with an Err, "hang" no
// answer.
type fakePlugin struct {
	mu    sync.Mutex
	vols  map[string]string // name → mountpoint
	calls []string
}

func (f *fakePlugin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct{ Name, ID string }
	_ = json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	defer f.mu.Unlock()
	method := strings.TrimPrefix(r.URL.Path, "/")
	f.calls = append(f.calls, method+" "+req.Name)
	switch {
	case strings.Contains(req.Name, "hang"):
		f.mu.Unlock()
		<-r.Context().Done()
		f.mu.Lock()
		return
	case strings.Contains(req.Name, "status"):
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(map[string]string{"Err": "backend down"})
		return
	case strings.Contains(req.Name, "fail"):
		json.NewEncoder(w).Encode(map[string]string{"Err": "refused " + req.Name})
		return
	}
	var resp any = struct{}{}
	switch method {
	case "Plugin.Activate":
		resp = map[string]any{"Implements": []string{"VolumeDriver"}}
	case "VolumeDriver.Create":
		f.vols[req.Name] = "/plugin/" + req.Name
	case "VolumeDriver.Remove":
		delete(f.vols, req.Name)
	case "VolumeDriver.Get":
		resp = map[string]any{"Volume": map[string]any{"Name": req.Name, "Mountpoint": f.vols[req.Name], "Status": map[string]any{"k": "v"}}}
	case "VolumeDriver.List":
		var vs []map[string]string
		for n, m := range f.vols {
			vs = append(vs, map[string]string{"Name": n, "Mountpoint": m})
		}
		resp = map[string]any{"Volumes": vs}
	}
	json.NewEncoder(w).Encode(resp)
}

func newPluginTest(t *testing.T) (*Service, *fakePlugin) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "roost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sockDir := filepath.Join(dir, "plugins")
	s, err := New(Options{Store: st, Root: filepath.Join(dir, "volumes"), PluginSockDir: sockDir,
		PluginSpecDir: filepath.Join(dir, "specs"), PluginTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePlugin{vols: map[string]string{"theirs": "/plugin/theirs"}}
	l, err := net.Listen("unix", filepath.Join(sockDir, "fake.sock"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: f}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s, f
}

func TestPluginVolumes(t *testing.T) {
	s, f := newPluginTest(t)
	ctx := context.Background()
	v, err := s.Create(ctx, "mine", "fake", map[string]string{"a": "b"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Driver != "fake" {
		t.Errorf("driver %q", v.Driver)
	}
	got, err := s.Get(ctx, "mine")
	if err != nil || got.Mountpoint != "/plugin/mine" || got.Status["k"] != "v" {
		t.Errorf("Get: %+v %v", got, err)
	}
	vs, err := s.List(ctx, map[string][]string{"driver": {"fake"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range vs {
		names = append(names, v.Name+"@"+v.Mountpoint)
	}
	if strings.Join(names, " ") != "mine@/plugin/mine theirs@/plugin/theirs" {
		t.Errorf("List: %v", names)
	}
	// The name is taken by another driver: dockerd's 409.
	if _, err := s.Create(ctx, "mine", LocalDriver, nil, nil); !errdefs.IsConflict(err) ||
		err.Error() != "create mine: driver 'fake' already has volume 'mine': volume name must be unique" {
		t.Errorf("creating a local volume over a plugin's: %v", err)
	}
	if _, err := s.Create(ctx, "mine", "", nil, nil); err != nil {
		t.Errorf("a container naming the plugin's volume: %v", err)
	}
	if err := s.Remove(ctx, "mine", false); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.vols["mine"]; ok {
		t.Error("the plugin kept the removed volume")
	}
	if _, err := os.Stat(filepath.Join(s.opts.Root, "mine")); !os.IsNotExist(err) {
		t.Errorf("roost kept the volume's directory: %v", err)
	}
}

func TestPluginErrors(t *testing.T) {
	s, _ := newPluginTest(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, driver, want string
		is                 func(error) bool
	}{
		{name: "v-fail", driver: "fake", want: "create v-fail: refused v-fail", is: errdefs.IsUnknown},
		{name: "v-status", driver: "fake", want: "create v-status: VolumeDriver.Create: backend down", is: errdefs.IsUnknown},
		{name: "v-hang", driver: "fake", want: `create v-hang: VolumeDriver.Create: volume plugin "fake" did not answer within 300ms`, is: errdefs.IsUnknown},
		{name: "v", driver: "nosuch", want: `error looking up volume plugin nosuch: plugin "nosuch" not found`, is: errdefs.IsNotFound},
		{name: "v", driver: "../fake", want: `error looking up volume plugin ../fake: plugin "../fake" not found`, is: errdefs.IsNotFound},
	} {
		_, err := s.Create(ctx, tc.name, tc.driver, nil, nil)
		if err == nil || err.Error() != tc.want || !tc.is(err) {
			t.Errorf("%s/%s: %v, want %q", tc.driver, tc.name, err, tc.want)
		}
		if _, err := s.Get(ctx, tc.name); !errdefs.IsNotFound(err) {
			t.Errorf("%s: a failed create left a volume (%v)", tc.name, err)
		}
	}
}

func TestPluginSpecFile(t *testing.T) {
	s, _ := newPluginTest(t)
	if err := os.MkdirAll(s.opts.PluginSpecDir, 0o700); err != nil {
		t.Fatal(err)
	}
	addr := "unix://" + filepath.Join(s.opts.PluginSockDir, "fake.sock")
	if err := os.WriteFile(filepath.Join(s.opts.PluginSpecDir, "byspec.spec"), []byte(addr+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.opts.PluginSpecDir, "byjson.json"), []byte(`{"Name":"byjson","Addr":"`+addr+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"byspec", "byjson"} {
		if _, err := s.Create(context.Background(), "v-"+d, d, nil, nil); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}
