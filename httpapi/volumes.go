package httpapi

import (
	"net/http"

	"github.com/containerd/errdefs"
	"github.com/go-chi/chi/v5"
	"github.com/moby/moby/api/types/volume"
)

func (s *server) volumeRoutes() []route {
	return []route{
		{http.MethodGet, "/volumes", s.getVolumesList},
		{http.MethodPost, "/volumes/create", s.postVolumesCreate},
		{http.MethodPost, "/volumes/prune", s.postVolumesPrune},
		{http.MethodGet, "/volumes/{name}", s.getVolumeByName},
		{http.MethodDelete, "/volumes/{name}", s.deleteVolume},
	}
}

// errNoVolumes answers when the engine was built without a volume service.
var errNoVolumes = errdefs.ErrNotImplemented.WithMessage("volumes are not supported by this engine")

func (s *server) getVolumesList(w http.ResponseWriter, r *http.Request) error {
	if s.volumes == nil {
		return errNoVolumes
	}
	filters, err := filtersValue(r.URL.Query())
	if err != nil {
		return err
	}
	vs, err := s.volumes.List(r.Context(), filters)
	if err != nil {
		return err
	}
	resp := volume.ListResponse{Volumes: make([]volume.Volume, 0, len(vs)), Warnings: []string{}}
	for _, v := range vs {
		resp.Volumes = append(resp.Volumes, *v)
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (s *server) postVolumesCreate(w http.ResponseWriter, r *http.Request) error {
	if s.volumes == nil {
		return errNoVolumes
	}
	var req volume.CreateRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	v, err := s.volumes.Create(r.Context(), req.Name, req.Driver, req.DriverOpts, req.Labels)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

func (s *server) getVolumeByName(w http.ResponseWriter, r *http.Request) error {
	if s.volumes == nil {
		return errNoVolumes
	}
	v, err := s.volumes.Get(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *server) deleteVolume(w http.ResponseWriter, r *http.Request) error {
	if s.volumes == nil {
		return errNoVolumes
	}
	if err := s.volumes.Remove(r.Context(), chi.URLParam(r, "name"), boolValue(r.URL.Query(), "force")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) postVolumesPrune(w http.ResponseWriter, r *http.Request) error {
	if s.volumes == nil {
		return errNoVolumes
	}
	filters, err := filtersValue(r.URL.Query())
	if err != nil {
		return err
	}
	rep, err := s.volumes.Prune(r.Context(), filters)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}
