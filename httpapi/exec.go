package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/containerd/log"
	"github.com/go-chi/chi/v5"
	"github.com/moby/moby/api/types/container"
)

func (s *server) execRoutes() []route {
	return []route{
		{http.MethodPost, "/containers/{id}/exec", s.postContainersExec},
		{http.MethodPost, "/exec/{id}/start", s.postExecStart},
		{http.MethodPost, "/exec/{id}/resize", s.postExecResize},
		{http.MethodGet, "/exec/{id}/json", s.getExecJSON},
	}
}

// execID is the {id} of an exec route.
func execID(r *http.Request) string { return chi.URLParam(r, "id") }

// errNoExecCommand is dockerd's answer to an exec without a command.
var errNoExecCommand = invalidParameter{errors.New("No exec command specified")}

// readOptionalJSON is readJSON for bodies dockerd lets clients leave out
// (an empty body decodes to the zero value).
func readOptionalJSON(w http.ResponseWriter, r *http.Request, out any) error {
	if r.ContentLength == 0 {
		return checkJSONContentType(r)
	}
	return readJSON(w, r, out)
}

func (s *server) postContainersExec(w http.ResponseWriter, r *http.Request) error {
	var req container.ExecCreateRequest
	if err := readOptionalJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Cmd) == 0 {
		return errNoExecCommand
	}
	if !versionAtLeast(r.Context(), "1.42") {
		req.ConsoleSize = nil
	}
	id, err := s.exec.ExecCreate(r.Context(), containerRef(r), &req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, container.ExecCreateResponse{ID: id})
}

// postExecStart starts an exec. Detached, it answers 200 once the process
// runs. Attached, the connection is hijacked as for attach; the stream is
// raw when the request says Tty (dockerd frames by the start request, not
// by the exec's create), and a start failure, which comes after the
// hijack, is written into the stream as dockerd does: the CLI prints it,
// then reads the exit code (126 or 127) from GET /exec/{id}/json.
func (s *server) postExecStart(w http.ResponseWriter, r *http.Request) error {
	var req container.ExecStartRequest
	if err := readOptionalJSON(w, r, &req); err != nil {
		return err
	}
	if req.ConsoleSize != nil && (!req.Tty || !versionAtLeast(r.Context(), "1.42")) {
		req.ConsoleSize = nil
	}
	id := execID(r)
	sess, err := s.exec.ExecStart(r.Context(), id, ExecStartOptions{Detach: req.Detach, ConsoleSize: req.ConsoleSize})
	if err != nil {
		return err
	}
	if req.Detach {
		if err := sess.Run(r.Context(), nil, nil, nil); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	return serveHijacked(w, r, !req.Tty, true, func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) {
		err := sess.Run(ctx, stdin, stdout, stderr)
		if err == nil || ctx.Err() != nil {
			return
		}
		log.G(ctx).WithError(err).Debugf("exec %s", id)
		_, _ = fmt.Fprintf(stdout, "%v\r\n", err)
	})
}

func (s *server) postExecResize(w http.ResponseWriter, r *http.Request) error {
	h, width, err := resizeQuery(r)
	if err != nil {
		return err
	}
	if err := s.exec.ExecResize(r.Context(), execID(r), h, width); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *server) getExecJSON(w http.ResponseWriter, r *http.Request) error {
	resp, err := s.exec.ExecInspect(r.Context(), execID(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}
