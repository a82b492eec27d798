package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
)

func (s *server) archiveRoutes() []route {
	return []route{
		{http.MethodHead, "/containers/{id}/archive", s.headContainersArchive},
		{http.MethodGet, "/containers/{id}/archive", s.getContainersArchive},
		{http.MethodPut, "/containers/{id}/archive", s.putContainersArchive},
		{http.MethodGet, "/containers/{id}/export", s.getContainersExport},
		{http.MethodGet, "/containers/{id}/changes", s.getContainersChanges},
	}
}

// pathStatHeader carries a container.PathStat: base64 of its JSON.
const pathStatHeader = "X-Docker-Container-Path-Stat"

// archivePath reads the required ?path= of the archive routes.
func archivePath(r *http.Request) (string, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return "", invalidParameter{errors.New("bad parameter: path cannot be empty")}
	}
	return p, nil
}

func setPathStat(h http.Header, stat *container.PathStat) error {
	b, err := json.Marshal(stat)
	if err != nil {
		return err
	}
	h.Set(pathStatHeader, base64.StdEncoding.EncodeToString(b))
	return nil
}

func (s *server) headContainersArchive(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	stat, err := s.archive.StatPath(r.Context(), containerRef(r), p)
	if err != nil {
		return err
	}
	if err := setPathStat(w.Header(), stat); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *server) getContainersArchive(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	tr, stat, err := s.archive.ArchivePath(r.Context(), containerRef(r), p)
	if err != nil {
		return err
	}
	defer tr.Close()
	if err := setPathStat(w.Header(), stat); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	return copyStream(w, r, tr)
}

func (s *server) putContainersArchive(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	opts := ExtractOptions{
		// dockerd's default, kept for old clients: without the parameter
		// an archive may replace a directory with a file.
		AllowOverwriteDirWithFile: !q.Has("noOverwriteDirNonDir") || !boolValue(q, "noOverwriteDirNonDir"),
		CopyUIDGID:                boolValue(q, "copyUIDGID"),
	}
	if err := s.archive.ExtractToDir(r.Context(), containerRef(r), p, opts, r.Body); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *server) getContainersExport(w http.ResponseWriter, r *http.Request) error {
	tr, err := s.archive.Export(r.Context(), containerRef(r))
	if err != nil {
		return err
	}
	defer tr.Close()
	w.Header().Set("Content-Type", "application/x-tar")
	return copyStream(w, r, tr)
}

func (s *server) getContainersChanges(w http.ResponseWriter, r *http.Request) error {
	changes, err := s.archive.Changes(r.Context(), containerRef(r))
	if err != nil {
		return err
	}
	if changes == nil {
		changes = []container.FilesystemChange{}
	}
	return writeJSON(w, http.StatusOK, changes)
}

// copyStream sends a tar after the headers. Past the first byte an error
// can only be logged: the client sees a truncated tar, as with dockerd.
func copyStream(w http.ResponseWriter, r *http.Request, src io.Reader) error {
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, src); err != nil && r.Context().Err() == nil {
		log.G(r.Context()).WithError(err).Warnf("streaming %s", r.URL.Path)
	}
	return nil
}
