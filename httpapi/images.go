package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/distribution/reference"
	"github.com/go-chi/chi/v5"
	"github.com/moby/moby/api/types/image"
)

// Image names contain slashes and colons (localhost:5000/a/b:tag), and chi
// parameters stop at a slash, so everything under /images/ that is not a
// fixed path goes through one catch-all per method, which splits off the
// operation (json, tag, ...) from the end; see imageNameRoutes.
func (s *server) imageRoutes() []route {
	return []route{
		{http.MethodGet, "/images/json", s.getImagesJSON},
		{http.MethodPost, "/images/load", s.postImagesLoad},
		{http.MethodPost, "/images/create", s.postImagesCreate},
		{http.MethodGet, "/images/get", s.getImagesGet},
		{http.MethodPost, "/images/prune", s.postImagesPrune},
		{http.MethodGet, "/images/*", s.imageByName},
		{http.MethodPost, "/images/*", s.imageByName},
		{http.MethodDelete, "/images/*", s.deleteImages},
	}
}

// imageHandler handles /images/{name}/{op}; name is the image reference.
type imageHandler func(w http.ResponseWriter, r *http.Request, name string) error

// imageNameRoutes maps method and operation of /images/{name}/{op}.
func (s *server) imageNameRoutes() map[string]imageHandler {
	return map[string]imageHandler{
		"GET json":    s.getImagesByName,
		"POST tag":    s.postImagesTag,
		"GET history": s.getImagesHistory,
		"GET get":     s.getImagesGetByName,
		"POST push":   s.postImagesPush,
	}
}

// imageByName dispatches /images/{name}/{op} on the last path segment.
func (s *server) imageByName(w http.ResponseWriter, r *http.Request) error {
	rest := chi.URLParam(r, "*")
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return errPageNotFound
	}
	name, op := rest[:i], rest[i+1:]
	h, ok := s.imageNameRoutes()[r.Method+" "+op]
	if !ok {
		return errPageNotFound
	}
	if strings.TrimSpace(name) == "" {
		return invalidParameter{errors.New("image name cannot be blank")}
	}
	return h(w, r, name)
}

func (s *server) getImagesJSON(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	filters, err := filtersValue(q)
	if err != nil {
		return err
	}
	list, err := s.images.List(r.Context(), boolValue(q, "all"), filters)
	if err != nil {
		return err
	}
	if list == nil {
		list = []image.Summary{}
	}
	return writeJSON(w, http.StatusOK, list)
}

func (s *server) getImagesByName(w http.ResponseWriter, r *http.Request, name string) error {
	img, err := s.images.Inspect(r.Context(), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, img)
}

// deleteImages is DELETE /images/{name}: the whole rest of the path is the
// name.
func (s *server) deleteImages(w http.ResponseWriter, r *http.Request) error {
	name := chi.URLParam(r, "*")
	if strings.TrimSpace(name) == "" {
		return invalidParameter{errors.New("image name cannot be blank")}
	}
	q := r.URL.Query()
	list, err := s.images.Remove(r.Context(), name, boolValue(q, "force"), !boolValue(q, "noprune"))
	if err != nil {
		return err
	}
	if list == nil {
		list = []image.DeleteResponse{}
	}
	return writeJSON(w, http.StatusOK, list)
}

func (s *server) postImagesTag(w http.ResponseWriter, r *http.Request, name string) error {
	q := r.URL.Query()
	repo, tag, err := repoTag(q.Get("repo"), q.Get("tag"))
	if err != nil {
		return err
	}
	if repo == "" {
		return invalidParameter{errors.New("repository name must have at least one component")}
	}
	if repo == "sha256" {
		return invalidParameter{errors.New("refusing to create an ambiguous tag using digest algorithm as name")}
	}
	if err := s.images.Tag(r.Context(), name, repo, tag); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// repoTag validates the repo and tag parameters of tag and import and
// returns the repository in its familiar form ("busybox",
// "localhost:5000/a/b") and the tag, which defaults to the one in repo and
// then to "latest". An empty repo gives empty results.
func repoTag(repo, tag string) (string, string, error) {
	if repo == "" {
		return "", "", nil
	}
	ref, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return "", "", invalidParameter{err}
	}
	if _, ok := ref.(reference.Digested); ok {
		return "", "", invalidParameter{errors.New("cannot import digest reference")}
	}
	if tag != "" {
		tagged, err := reference.WithTag(reference.TrimNamed(ref), tag)
		if err != nil {
			return "", "", invalidParameter{err}
		}
		ref = tagged
	}
	tagged := reference.TagNameOnly(ref).(reference.Tagged)
	return reference.FamiliarName(ref), tagged.Tag(), nil
}

// postImagesPrune is `docker image prune`.
func (s *server) postImagesPrune(w http.ResponseWriter, r *http.Request) error {
	filters, err := filtersValue(r.URL.Query())
	if err != nil {
		return err
	}
	rep, err := s.images.Prune(r.Context(), filters)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}
