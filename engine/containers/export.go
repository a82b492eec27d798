package containers

import (
	"context"
	"fmt"
	"io"

	"github.com/containerd/errdefs"
	"github.com/moby/go-archive"
	"github.com/moby/moby/api/types/events"
)

// Export answers GET /containers/{id}/export: a tar of the container's
// root filesystem, without its mounts, whether it runs or not. As with
// ArchivePath the container is locked only while the view is made. The
// export event is sent once the whole tar has been read.
func (s *Service) Export(ctx context.Context, ref string) (io.ReadCloser, error) {
	c, err := s.get(ref)
	if err != nil {
		return nil, err
	}
	ns := lockView(c)
	defer c.mu.Unlock()
	switch {
	case c.rec.State.Dead:
		closeNS(ns)
		return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("You cannot export container %s which is Dead", c.id))
	case c.removing:
		closeNS(ns)
		return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("You cannot export container %s which is being removed", c.id))
	}
	tb, err := archive.NewTarballer("/", &archive.TarOptions{})
	if err != nil {
		closeNS(ns)
		return nil, err
	}
	v, err := s.openContainerView(ctx, c, ns, layoutRoot, false)
	if err != nil {
		return nil, fmt.Errorf("Error exporting container %s: %w", ref, err)
	}
	v.start(tb.Do)
	onEOF := func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		s.publish(c, events.ActionExport, nil)
	}
	return &viewReader{ReadCloser: tb.Reader(), view: v, onEOF: onEOF}, nil
}
