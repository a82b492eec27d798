package containers

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/moby/go-archive"
	"github.com/moby/go-archive/compression"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

// ExtractOptions are the query parameters of PUT /containers/{id}/archive.
type ExtractOptions struct {
	// AllowOverwriteDirWithFile lets the archive replace a directory with
	// a non-directory and the reverse (the client did not ask for
	// noOverwriteDirNonDir).
	AllowOverwriteDirWithFile bool
	// CopyUIDGID gives the extracted files the container user's uid and
	// gid (Config.User, looked up in the container); without it, or
	// without a configured user, they keep the archive's ownership.
	CopyUIDGID bool
}

// StatPath answers HEAD /containers/{id}/archive: the metadata of path in
// the container (a running one or not), without following a symlink in
// its last element.
func (s *Service) StatPath(ctx context.Context, ref, path string) (*container.PathStat, error) {
	c, err := s.get(ref)
	if err != nil {
		return nil, err
	}
	ns := lockView(c)
	defer c.mu.Unlock()
	v, err := s.openContainerView(ctx, c, ns, layoutRoot, true)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	var stat *container.PathStat
	err = v.run(func() (err error) {
		stat, err = statPath("/", path)
		return err
	})
	if err != nil {
		return nil, pathError(err, ref, path)
	}
	return stat, nil
}

// ArchivePath answers GET /containers/{id}/archive: a tar of path, named
// as dockerd names it, and the path's stat. The container is locked only
// while the view is made; the tar is read from the view afterwards, so a
// slow reader holds up nobody. The caller closes the reader.
func (s *Service) ArchivePath(ctx context.Context, ref, path string) (io.ReadCloser, *container.PathStat, error) {
	c, err := s.get(ref)
	if err != nil {
		return nil, nil, err
	}
	ns := lockView(c)
	defer c.mu.Unlock()
	v, err := s.openContainerView(ctx, c, ns, layoutRoot, true)
	if err != nil {
		return nil, nil, err
	}
	var (
		tb   *archive.Tarballer
		stat *container.PathStat
	)
	err = v.run(func() (err error) {
		tb, stat, err = newPathTarballer("/", path)
		return err
	})
	if err != nil {
		v.Close()
		return nil, nil, pathError(err, ref, path)
	}
	v.start(tb.Do)
	s.publish(c, events.ActionArchivePath, nil)
	return &viewReader{ReadCloser: tb.Reader(), view: v}, stat, nil
}

// ExtractToDir answers PUT /containers/{id}/archive: it unpacks the tar
// (it may be compressed) into the directory path of the container. The
// container stays locked until the archive is unpacked, as in dockerd, so
// it cannot start or stop meanwhile.
func (s *Service) ExtractToDir(ctx context.Context, ref, path string, opts ExtractOptions, r io.Reader) error {
	c, err := s.get(ref)
	if err != nil {
		return err
	}
	// Decompress outside the view: a decompressor may run a program (xz,
	// unpigz), and it must be the host's, never one from the container.
	dr, err := compression.DecompressStream(r)
	if err != nil {
		return classifyExtractError(err)
	}
	defer dr.Close()
	topts, closeOpts, err := archive.WithProcSelfFD(extractOptions(opts.AllowOverwriteDirWithFile, nil))
	if err != nil {
		return err
	}
	defer closeOpts()

	ns := lockView(c)
	defer c.mu.Unlock()
	hc, user := c.rec.HostConfig, c.rec.Config.User
	v, err := s.openContainerView(ctx, c, ns, layoutRoot, true)
	if err != nil {
		return err
	}
	defer v.Close()
	err = v.run(func() error {
		dest, ctrPath, err := extractTarget("/", path)
		if err != nil {
			return err
		}
		if err := checkWritable(hc, ctrPath); err != nil {
			return err
		}
		if opts.CopyUIDGID {
			if topts.ChownOpts, err = containerOwner("/", user); err != nil {
				return err
			}
		}
		return extractTar(dr, dest, topts)
	})
	if err != nil {
		return pathError(err, ref, path)
	}
	s.publish(c, events.ActionExtractToDir, nil)
	return nil
}

// checkWritable refuses an extraction into a read-only place, with
// dockerd's words: the mount that holds ctrPath decides (the deepest
// one), else the root filesystem.
func checkWritable(hc *container.HostConfig, ctrPath string) error {
	ms, err := parseMounts(hc)
	if err != nil {
		return err
	}
	var holder *parsedMount
	for i := range ms {
		m := &ms[i]
		if pathWithin(ctrPath, m.target) && (holder == nil || len(m.target) > len(holder.target)) {
			holder = m
		}
	}
	switch {
	case holder != nil && !holder.rw:
		return errdefs.ErrInvalidArgument.WithMessage("mounted volume is marked read-only")
	case holder == nil && hc.ReadonlyRootfs:
		return errdefs.ErrInvalidArgument.WithMessage("container rootfs is marked read-only")
	}
	return nil
}

// pathWithin tells whether p is dir or below it (both clean and absolute).
func pathWithin(p, dir string) bool {
	if dir == "/" || p == dir {
		return true
	}
	return len(p) > len(dir) && p[:len(dir)] == dir && p[len(dir)] == '/'
}

// pathError gives errors about path dockerd's words: a missing file is a
// 404 "Could not find the file …"; classified errors keep their class;
// anything else is the engine's fault.
func pathError(err error, ref, path string) error {
	switch {
	case isNotFound(err):
		return errdefs.ErrNotFound.WithMessage("Could not find the file " + path + " in container " + ref)
	case errdefs.IsInvalidArgument(err), errdefs.IsConflict(err), errdefs.IsNotFound(err):
		return err
	}
	return errdefs.ErrUnknown.WithMessage(err.Error())
}

// viewReader is a tar produced inside a view: closing it stops the
// producer and ends the view. onEOF runs once if the whole tar was read.
type viewReader struct {
	io.ReadCloser
	view  *fsView
	onEOF func()

	once   sync.Once
	closed sync.Once
}

func (r *viewReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && r.onEOF != nil {
		r.once.Do(r.onEOF)
	}
	return n, err
}

func (r *viewReader) Close() error {
	var err error
	r.closed.Do(func() {
		err = r.ReadCloser.Close()
		r.view.Close()
	})
	return err
}
