package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

func (s *server) containerRoutes() []route {
	return []route{
		{http.MethodPost, "/containers/create", s.postContainersCreate},
		{http.MethodGet, "/containers/json", s.getContainersJSON},
		{http.MethodGet, "/containers/{id}/json", s.getContainersByName},
		{http.MethodPost, "/containers/{id}/start", s.postContainersStart},
		{http.MethodPost, "/containers/{id}/stop", s.postContainersStop},
		{http.MethodPost, "/containers/{id}/restart", s.postContainersRestart},
		{http.MethodPost, "/containers/{id}/kill", s.postContainersKill},
		{http.MethodPost, "/containers/{id}/wait", s.postContainersWait},
		{http.MethodDelete, "/containers/{id}", s.deleteContainers},
		{http.MethodPost, "/containers/{id}/resize", s.postContainersResize},
		{http.MethodGet, "/containers/{id}/logs", s.getContainersLogs},
		{http.MethodPost, "/containers/{id}/attach", s.postContainersAttach},
	}
}

// containerRef is the {id} of a container route: an ID, ID prefix or name.
func containerRef(r *http.Request) string { return chi.URLParam(r, "id") }

func (s *server) postContainersCreate(w http.ResponseWriter, r *http.Request) error {
	var req container.CreateRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if req.Config == nil {
		return invalidParameter{errors.New("config cannot be empty in order to create a container")}
	}
	// dockerd hands the engine non-nil HostConfig and NetworkingConfig.
	if req.HostConfig == nil {
		req.HostConfig = &container.HostConfig{}
	}
	if req.NetworkingConfig == nil {
		req.NetworkingConfig = &network.NetworkingConfig{}
	}
	if req.NetworkingConfig.EndpointsConfig == nil {
		req.NetworkingConfig.EndpointsConfig = map[string]*network.EndpointSettings{}
	}
	resp, err := s.containers.Create(r.Context(), r.URL.Query().Get("name"), &req)
	if err != nil {
		return err
	}
	if resp.Warnings == nil {
		resp.Warnings = []string{}
	}
	return writeJSON(w, http.StatusCreated, resp)
}

func (s *server) getContainersJSON(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	filters, err := filtersValue(q)
	if err != nil {
		return err
	}
	limit, err := intValue(q, "limit", 0)
	if err != nil {
		return err
	}
	list, err := s.containers.List(r.Context(), ContainerListOptions{
		All:     boolValue(q, "all"),
		Limit:   limit,
		Size:    boolValue(q, "size"),
		Filters: filters,
	})
	if err != nil {
		return err
	}
	if list == nil {
		list = []container.Summary{}
	}
	return writeJSON(w, http.StatusOK, list)
}

func (s *server) getContainersByName(w http.ResponseWriter, r *http.Request) error {
	c, err := s.containers.Inspect(r.Context(), containerRef(r))
	if err != nil {
		return err
	}
	if sz, ok := s.containers.(containerSizer); ok && boolValue(r.URL.Query(), "size") {
		rw, rootfs, err := sz.Sizes(r.Context(), c.ID)
		if err != nil {
			return err
		}
		c.SizeRw, c.SizeRootFs = &rw, &rootfs
	}
	return writeJSON(w, http.StatusOK, c)
}

func (s *server) postContainersStart(w http.ResponseWriter, r *http.Request) error {
	// A HostConfig in the start body was removed in API 1.24; a non-empty
	// JSON object is at least 7 bytes, and -1 is an unknown (chunked) length.
	if r.ContentLength > 7 || r.ContentLength == -1 {
		return invalidParameter{errors.New("starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24")}
	}
	if err := s.containers.Start(r.Context(), containerRef(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// stopOptions reads ?signal (API 1.42+) and ?t of stop and restart.
func stopOptions(r *http.Request) (StopOptions, error) {
	q := r.URL.Query()
	var opts StopOptions
	if versionAtLeast(r.Context(), "1.42") {
		opts.Signal = q.Get("signal")
	}
	if q.Get("t") != "" {
		t, err := intValue(q, "t", 0)
		if err != nil {
			return opts, err
		}
		opts.Timeout = &t
	}
	return opts, nil
}

func (s *server) postContainersStop(w http.ResponseWriter, r *http.Request) error {
	opts, err := stopOptions(r)
	if err != nil {
		return err
	}
	if err := s.containers.Stop(r.Context(), containerRef(r), opts); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) postContainersRestart(w http.ResponseWriter, r *http.Request) error {
	opts, err := stopOptions(r)
	if err != nil {
		return err
	}
	if err := s.containers.Restart(r.Context(), containerRef(r), opts); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) postContainersKill(w http.ResponseWriter, r *http.Request) error {
	ref := containerRef(r)
	if err := s.containers.Kill(r.Context(), ref, r.URL.Query().Get("signal")); err != nil {
		// dockerd's wording; the class of err is kept.
		return fmt.Errorf("cannot kill container: %s: %w", ref, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) deleteContainers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := s.containers.Remove(r.Context(), containerRef(r), boolValue(q, "force"), boolValue(q, "v")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) postContainersResize(w http.ResponseWriter, r *http.Request) error {
	h, width, err := resizeQuery(r)
	if err != nil {
		return err
	}
	if err := s.containers.Resize(r.Context(), containerRef(r), h, width); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// resizeQuery reads the h and w of a container or exec resize.
func resizeQuery(r *http.Request) (height, width uint, err error) {
	q := r.URL.Query()
	h, err := uint32Value(q, "h", "resize height")
	if err != nil {
		return 0, 0, err
	}
	wd, err := uint32Value(q, "w", "resize width")
	if err != nil {
		return 0, 0, err
	}
	return uint(h), uint(wd), nil
}
