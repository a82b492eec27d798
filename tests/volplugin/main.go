// Command volplugin is the volume plugin of the end-to-end tests: a
// directory-backed driver of dockerd's legacy plugin protocol served on a
// unix socket. Each volume is a directory under -root. Names that contain
// "fail" are refused at create and "hang" never gets an answer, so that
// tests see how the engine reports a broken plugin. While a volume has
// mounts, <root>/.mounted/<name> holds their count, so that tests can see
// the engine unmount it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

type driver struct {
	root   string
	mu     sync.Mutex
	mounts map[string]map[string]bool // volume → container IDs
}

type request struct {
	Name string
	ID   string
	Opts map[string]string
}

type vol struct {
	Name       string
	Mountpoint string         `json:",omitempty"`
	Status     map[string]any `json:",omitempty"`
}

func main() {
	sock := flag.String("sock", "", "unix socket to serve the plugin on")
	root := flag.String("root", "", "directory that holds the volumes")
	flag.Parse()
	if *sock == "" || *root == "" {
		log.Fatal("volplugin: give -sock and -root")
	}
	d := &driver{root: *root, mounts: map[string]map[string]bool{}}
	if err := os.MkdirAll(filepath.Join(*root, ".mounted"), 0o777); err != nil {
		log.Fatal(err)
	}
	os.Remove(*sock)
	l, err := net.Listen("unix", *sock)
	if err != nil {
		log.Fatal(err)
	}
	// The engine may run as another user than the test.
	if err := os.Chmod(*sock, 0o666); err != nil {
		log.Fatal(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		l.Close()
	}()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /Plugin.Activate", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"Implements": []string{"VolumeDriver"}})
	})
	mux.HandleFunc("POST /", d.serve)
	_ = http.Serve(l, mux)
	os.Remove(*sock)
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1+json")
	_ = json.NewEncoder(w).Encode(v)
}

func replyErr(w http.ResponseWriter, format string, args ...any) {
	reply(w, map[string]string{"Err": fmt.Sprintf(format, args...)})
}

func (d *driver) serve(w http.ResponseWriter, r *http.Request) {
	var req request
	_ = json.NewDecoder(r.Body).Decode(&req)
	if req.Name != "" && (strings.ContainsAny(req.Name, "/\\") || strings.HasPrefix(req.Name, ".")) {
		replyErr(w, "volplugin: bad name %q", req.Name)
		return
	}
	dir := filepath.Join(d.root, req.Name)
	method, _ := strings.CutPrefix(r.URL.Path, "/VolumeDriver.")
	switch method {
	case "Create":
		switch {
		case strings.Contains(req.Name, "hang"):
			<-r.Context().Done()
			return
		case strings.Contains(req.Name, "fail"):
			replyErr(w, "volplugin: refusing to create %s", req.Name)
			return
		}
		if err := os.Mkdir(dir, 0o777); err != nil && !os.IsExist(err) {
			replyErr(w, "volplugin: %v", err)
			return
		}
		// The mode must survive the umask: the engine's user writes here.
		_ = os.Chmod(dir, 0o777)
		if o := req.Opts["greeting"]; o != "" {
			_ = os.WriteFile(filepath.Join(dir, "greeting"), []byte(o+"\n"), 0o666)
		}
		reply(w, struct{}{})
	case "Remove":
		if err := os.RemoveAll(dir); err != nil {
			replyErr(w, "volplugin: %v", err)
			return
		}
		reply(w, struct{}{})
	case "Mount":
		if !exists(dir) {
			replyErr(w, "volplugin: no such volume: %s", req.Name)
			return
		}
		d.count(req.Name, req.ID, true)
		reply(w, map[string]string{"Mountpoint": dir})
	case "Unmount":
		d.count(req.Name, req.ID, false)
		reply(w, struct{}{})
	case "Path":
		reply(w, map[string]string{"Mountpoint": dir})
	case "Get":
		if !exists(dir) {
			replyErr(w, "volplugin: no such volume: %s", req.Name)
			return
		}
		reply(w, map[string]any{"Volume": vol{Name: req.Name, Mountpoint: dir, Status: map[string]any{"backend": "volplugin"}}})
	case "List":
		ents, err := os.ReadDir(d.root)
		if err != nil {
			replyErr(w, "volplugin: %v", err)
			return
		}
		vs := []vol{}
		for _, e := range ents {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				vs = append(vs, vol{Name: e.Name(), Mountpoint: filepath.Join(d.root, e.Name())})
			}
		}
		reply(w, map[string]any{"Volumes": vs})
	case "Capabilities":
		reply(w, map[string]any{"Capabilities": map[string]string{"Scope": "local"}})
	default:
		w.WriteHeader(http.StatusNotFound)
		replyErr(w, "volplugin: unknown method %s", r.URL.Path)
	}
}

// count records a mount or unmount by the container id and keeps
// .mounted/<name> in step.
func (d *driver) count(name, id string, mount bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.mounts[name]
	if m == nil {
		m = map[string]bool{}
		d.mounts[name] = m
	}
	if mount {
		m[id] = true
	} else {
		delete(m, id)
	}
	f := filepath.Join(d.root, ".mounted", name)
	if len(m) == 0 {
		os.Remove(f)
		return
	}
	_ = os.WriteFile(f, []byte(fmt.Sprintln(len(m))), 0o666)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
