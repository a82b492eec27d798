package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/containerd/log"
)

// postContainersAttach attaches the client to a container's streams. The
// engine checks the request first (errors are ordinary JSON answers); only
// then is the connection hijacked (serveHijacked) and Run called with the
// client's streams; stdin is passed only when requested. The connection is
// closed after Run returns.
func (s *server) postContainersAttach(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	opts := AttachOptions{
		Stream:     boolValue(q, "stream"),
		Logs:       boolValue(q, "logs"),
		Stdin:      boolValue(q, "stdin"),
		Stdout:     boolValue(q, "stdout"),
		Stderr:     boolValue(q, "stderr"),
		DetachKeys: q.Get("detachKeys"),
	}
	att, err := s.containers.Attach(r.Context(), containerRef(r), opts)
	if err != nil {
		return err
	}
	err = serveHijacked(w, r, !att.TTY(), opts.Stdin, func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) {
		if err := att.Run(ctx, stdin, stdout, stderr); err != nil {
			log.G(ctx).WithError(err).Debugf("attach to %s ended", containerRef(r))
		}
	})
	if err != nil {
		return fmt.Errorf("error attaching to container %s, hijack connection missing: %w", containerRef(r), err)
	}
	return nil
}
