package httpapi

import (
	"net/http"

	"github.com/containerd/errdefs"
	"github.com/go-chi/chi/v5"
	"github.com/moby/moby/api/types/network"
)

func (s *server) networkRoutes() []route {
	return []route{
		{http.MethodGet, "/networks", s.getNetworksList},
		{http.MethodPost, "/networks/create", s.postNetworksCreate},
		{http.MethodPost, "/networks/prune", s.postNetworksPrune},
		{http.MethodGet, "/networks/{id}", s.getNetwork},
		{http.MethodDelete, "/networks/{id}", s.deleteNetwork},
		{http.MethodPost, "/networks/{id}/connect", s.postNetworkConnect},
		{http.MethodPost, "/networks/{id}/disconnect", s.postNetworkDisconnect},
	}
}

// errNoNetworks answers when the engine was built without networks.
var errNoNetworks = errdefs.ErrNotImplemented.WithMessage("networks are not supported by this engine")

func (s *server) getNetworksList(w http.ResponseWriter, r *http.Request) error {
	if s.networks == nil {
		return errNoNetworks
	}
	filters, err := filtersValue(r.URL.Query())
	if err != nil {
		return err
	}
	nets, err := s.networks.List(r.Context(), filters)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nets)
}

func (s *server) postNetworksCreate(w http.ResponseWriter, r *http.Request) error {
	if s.networks == nil {
		return errNoNetworks
	}
	var req network.CreateRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	resp, err := s.networks.Create(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, resp)
}

func (s *server) getNetwork(w http.ResponseWriter, r *http.Request) error {
	if s.networks == nil {
		return errNoNetworks
	}
	q := r.URL.Query()
	if scope := q.Get("scope"); scope != "" && scope != "local" {
		return errdefs.ErrNotFound.WithMessage("network " + chi.URLParam(r, "id") + " not found")
	}
	n, err := s.networks.Inspect(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, n)
}

func (s *server) deleteNetwork(w http.ResponseWriter, r *http.Request) error {
	if s.networks == nil {
		return errNoNetworks
	}
	if err := s.networks.Remove(r.Context(), chi.URLParam(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) postNetworksPrune(w http.ResponseWriter, r *http.Request) error {
	if s.networks == nil {
		return errNoNetworks
	}
	filters, err := filtersValue(r.URL.Query())
	if err != nil {
		return err
	}
	report, err := s.networks.Prune(r.Context(), filters)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, report)
}

func (s *server) postNetworkConnect(w http.ResponseWriter, r *http.Request) error {
	if s.networks == nil {
		return errNoNetworks
	}
	var req network.ConnectRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if req.Container == "" {
		return errdefs.ErrInvalidArgument.WithMessage("container name or ID is required")
	}
	if err := s.networks.Connect(r.Context(), chi.URLParam(r, "id"), req.Container, req.EndpointConfig); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *server) postNetworkDisconnect(w http.ResponseWriter, r *http.Request) error {
	if s.networks == nil {
		return errNoNetworks
	}
	var req network.DisconnectRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if req.Container == "" {
		return errdefs.ErrInvalidArgument.WithMessage("container name or ID is required")
	}
	if err := s.networks.Disconnect(r.Context(), chi.URLParam(r, "id"), req.Container, req.Force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
