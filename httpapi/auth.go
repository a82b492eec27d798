package httpapi

import (
	"net/http"

	"github.com/moby/moby/api/types/registry"
)

func (s *server) authRoutes() []route {
	return []route{
		{http.MethodPost, "/auth", s.postAuth},
	}
}

// postAuth is POST /auth: `docker login` asks whether the credentials work
// with the registry; the CLI stores them itself.
func (s *server) postAuth(w http.ResponseWriter, r *http.Request) error {
	var auth registry.AuthConfig
	if err := readJSON(w, r, &auth); err != nil {
		return err
	}
	resp, err := s.images.Login(r.Context(), auth)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}
