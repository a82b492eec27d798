package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/moby/moby/api/types/registry"
	"github.com/roostd/roost/engine/images"
)

// RegistryBackend asks registries about images without pulling them.
type RegistryBackend interface {
	// Search asks a registry's search API; see images.SearchOptions.
	Search(ctx context.Context, opts SearchOptions) ([]registry.SearchResult, error)
	// DistributionInspect resolves ref in its registry: the descriptor of
	// its manifest or index and its platforms.
	DistributionInspect(ctx context.Context, ref string, auth *registry.AuthConfig) (*registry.DistributionInspect, error)
}

// SearchOptions are the engine's.
type SearchOptions = images.SearchOptions

func (s *server) registryRoutes() []route {
	return []route{
		{http.MethodGet, "/images/search", s.getImagesSearch},
		{http.MethodGet, "/distribution/*", s.getDistributionJSON},
	}
}

// getImagesSearch is GET /images/search?term=…: `docker search`.
func (s *server) getImagesSearch(w http.ResponseWriter, r *http.Request) error {
	if s.registry == nil {
		return notImplemented("docker search is not supported by this roost")
	}
	q := r.URL.Query()
	var limit int
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return invalidParameter{errors.New("invalid limit specified")}
		}
		limit = n
	}
	filters, err := filtersValue(q)
	if err != nil {
		return err
	}
	// As in dockerd, a search ignores a header it cannot decode and goes
	// anonymous.
	auth, _ := registryAuth(r)
	results, err := s.registry.Search(r.Context(), SearchOptions{Term: q.Get("term"), Limit: limit, Filters: filters, Auth: auth})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, results)
}

// getDistributionJSON is GET /distribution/{name}/json; the name holds
// slashes, so the route is a catch-all that must end in /json.
func (s *server) getDistributionJSON(w http.ResponseWriter, r *http.Request) error {
	name, ok := strings.CutSuffix(chi.URLParam(r, "*"), "/json")
	if !ok || name == "" {
		return errPageNotFound
	}
	if s.registry == nil {
		return notImplemented("GET /distribution is not supported by this roost")
	}
	auth, _ := registryAuth(r)
	res, err := s.registry.DistributionInspect(r.Context(), name, auth)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}
