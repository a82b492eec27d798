package httpapi

import (
	"errors"
	"net/http"

	"github.com/moby/moby/api/types/jsonstream"
)

// postImagesLoad reads a `docker save` tar from the body and answers with
// one {"stream":"Loaded image: …\n"} line per image. The engine returns
// all lines at the end, so a failed load is an ordinary JSON error.
func (s *server) postImagesLoad(w http.ResponseWriter, r *http.Request) error {
	_ = boolValueOr(r.URL.Query(), "quiet", true) // accepted; there is no progress to hide
	loaded, err := s.images.Load(r.Context(), r.Body)
	if err != nil {
		return err
	}
	out := newJSONStream(w, "application/json")
	for _, line := range loaded {
		if err := out.send(jsonstream.Message{Stream: line + "\n"}); err != nil {
			return nil // the client went away
		}
	}
	return out.start()
}

// postImagesCreate is `docker pull` (fromImage) and `docker import`
// (fromSrc). Of imports, only those from the request body are implemented.
func (s *server) postImagesCreate(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	switch src := q.Get("fromSrc"); {
	case q.Get("fromImage") != "":
		return s.postImagesPull(w, r)
	case src == "":
		return invalidParameter{errors.New("either fromImage or fromSrc must be given")}
	case src != "-":
		return notImplemented("importing from a URL is not supported yet by roost: send the tar in the request body (fromSrc=-)")
	}
	repo, tag, err := repoTag(q.Get("repo"), q.Get("tag"))
	if err != nil {
		return err
	}
	message := q.Get("message")
	if message == "" {
		message = "Imported from -" // dockerd's default comment
	}
	id, err := s.images.Import(r.Context(), r.Body, repo, tag, q["changes"], message)
	if err != nil {
		return err
	}
	out := newJSONStream(w, "application/json")
	if err := out.send(jsonstream.Message{Status: id}); err != nil {
		return nil
	}
	return nil
}
