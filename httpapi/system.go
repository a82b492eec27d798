package httpapi

import (
	"net/http"
)

func (s *server) systemRoutes() []route {
	return []route{
		{http.MethodGet, "/_ping", s.getPing},
		{http.MethodHead, "/_ping", s.getPing},
		{http.MethodGet, "/version", s.getVersion},
		{http.MethodGet, "/info", s.getInfo},
		{http.MethodGet, "/system/df", s.getSystemDF},
	}
}

// getPing answers GET and HEAD /_ping. Clients read the headers (API
// version, builder version, swarm state) to negotiate, so they are set even
// for HEAD, which has no body.
func (s *server) getPing(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Builder-Version", "1")
	h.Set("Swarm", "inactive")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	_, err := w.Write([]byte("OK"))
	return err
}

func (s *server) getVersion(w http.ResponseWriter, r *http.Request) error {
	v, err := s.system.Version(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *server) getInfo(w http.ResponseWriter, r *http.Request) error {
	info, err := s.system.Info(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}
