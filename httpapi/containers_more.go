package httpapi

import (
	"net/http"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

func (s *server) containerMoreRoutes() []route {
	return []route{
		{http.MethodPost, "/containers/{id}/rename", s.postContainerRename},
		{http.MethodPost, "/containers/prune", s.postContainersPrune},
		{http.MethodGet, "/containers/{id}/top", s.getContainersTop},
		{http.MethodPost, "/containers/{id}/update", s.postContainerUpdate},
		{http.MethodPost, "/containers/{id}/pause", s.postContainersPause},
		{http.MethodPost, "/containers/{id}/unpause", s.postContainersUnpause},
	}
}

// errNoContainersMore answers when the engine was built without these
// operations.
var errNoContainersMore = errdefs.ErrNotImplemented.WithMessage("this operation is not supported by this engine")

func (s *server) postContainerRename(w http.ResponseWriter, r *http.Request) error {
	if s.containersMore == nil {
		return errNoContainersMore
	}
	if err := s.containersMore.Rename(r.Context(), containerRef(r), r.URL.Query().Get("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) postContainersPrune(w http.ResponseWriter, r *http.Request) error {
	if s.containersMore == nil {
		return errNoContainersMore
	}
	filters, err := filtersValue(r.URL.Query())
	if err != nil {
		return err
	}
	rep, err := s.containersMore.Prune(r.Context(), filters)
	if err != nil {
		return err
	}
	if rep.ContainersDeleted == nil {
		rep.ContainersDeleted = []string{}
	}
	return writeJSON(w, http.StatusOK, rep)
}

func (s *server) getContainersTop(w http.ResponseWriter, r *http.Request) error {
	if s.containersMore == nil {
		return errNoContainersMore
	}
	top, err := s.containersMore.Top(r.Context(), containerRef(r), r.URL.Query().Get("ps_args"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, top)
}

func (s *server) postContainerUpdate(w http.ResponseWriter, r *http.Request) error {
	if s.containersMore == nil {
		return errNoContainersMore
	}
	var req container.UpdateConfig
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	resp, err := s.containersMore.Update(r.Context(), containerRef(r), &req)
	if err != nil {
		return err
	}
	if resp.Warnings == nil {
		resp.Warnings = []string{}
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (s *server) postContainersPause(w http.ResponseWriter, r *http.Request) error {
	if s.containersMore == nil {
		return errNoContainersMore
	}
	if err := s.containersMore.Pause(r.Context(), containerRef(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) postContainersUnpause(w http.ResponseWriter, r *http.Request) error {
	if s.containersMore == nil {
		return errNoContainersMore
	}
	if err := s.containersMore.Unpause(r.Context(), containerRef(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
