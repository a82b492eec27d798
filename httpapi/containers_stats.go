package httpapi

import (
	"net/http"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

func (s *server) containerStatsRoutes() []route {
	return []route{
		{http.MethodGet, "/containers/{id}/stats", s.getContainersStats},
	}
}

// getContainersStats streams stats samples as JSON values, one per line
// (stream defaults to true, as in dockerd). Errors found before the first
// sample are ordinary error responses.
func (s *server) getContainersStats(w http.ResponseWriter, r *http.Request) error {
	if s.stats == nil {
		return errdefs.ErrNotImplemented.WithMessage("this operation is not supported by this engine")
	}
	q := r.URL.Query()
	stream := boolValueOr(q, "stream", true)
	oneShot := boolValue(q, "one-shot")
	if stream && oneShot {
		return errdefs.ErrInvalidArgument.WithMessage("cannot have stream=true and one-shot=true")
	}
	js := newJSONStream(w, "application/json")
	return s.stats.Stats(r.Context(), containerRef(r), stream, oneShot, func(v *container.StatsResponse) error {
		return js.send(v)
	})
}
