package httpapi

import (
	"net/http"

	"github.com/containerd/log"
	"github.com/moby/moby/api/types/image"
)

// getImagesGet is GET /images/get?names=…: `docker save` of several images
// into one archive.
func (s *server) getImagesGet(w http.ResponseWriter, r *http.Request) error {
	return s.saveImages(w, r, r.URL.Query()["names"])
}

// getImagesGetByName is GET /images/{name}/get: `docker save` of one.
func (s *server) getImagesGetByName(w http.ResponseWriter, r *http.Request, name string) error {
	return s.saveImages(w, r, []string{name})
}

// saveImages streams the archive. The engine looks every name up before it
// writes, and the status line goes out with the first bytes, so an unknown
// image is an ordinary 404. A failure in the middle of the archive aborts
// the connection: the client must not take a cut tar for a whole one.
func (s *server) saveImages(w http.ResponseWriter, r *http.Request, names []string) error {
	tw := &tarWriter{w: w}
	err := s.images.Save(r.Context(), names, tw)
	switch {
	case err == nil:
		if !tw.started {
			tw.start()
		}
		return nil
	case !tw.started:
		return err
	}
	log.G(r.Context()).WithError(err).Error("docker save failed after the archive started; aborting the response")
	panic(http.ErrAbortHandler)
}

// tarWriter sends the 200 and the Content-Type on the first write.
type tarWriter struct {
	w       http.ResponseWriter
	started bool
}

func (t *tarWriter) start() {
	t.started = true
	t.w.Header().Set("Content-Type", "application/x-tar")
	t.w.WriteHeader(http.StatusOK)
}

func (t *tarWriter) Write(p []byte) (int, error) {
	if !t.started {
		t.start()
	}
	return t.w.Write(p)
}

// getImagesHistory is GET /images/{name}/history.
func (s *server) getImagesHistory(w http.ResponseWriter, r *http.Request, name string) error {
	h, err := s.images.History(r.Context(), name)
	if err != nil {
		return err
	}
	if h == nil {
		h = []image.HistoryResponseItem{}
	}
	return writeJSON(w, http.StatusOK, h)
}
