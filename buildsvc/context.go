package buildsvc

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/containerd/errdefs"
	"github.com/moby/go-archive"
	"github.com/moby/go-archive/compression"
	"github.com/tonistiigi/fsutil"
)

// defaultDockerfile is the name looked for when the request names none.
const defaultDockerfile = "Dockerfile"

// buildContext is a build's context unpacked into a private directory that
// BuildKit reads through its local source.
type buildContext struct {
	dir        string
	dockerfile string // relative to dir
}

func (c *buildContext) Close() error { return os.RemoveAll(c.dir) }

// mounts are the context and the Dockerfile's directory as the frontend's
// two local sources.
func (c *buildContext) mounts() (map[string]fsutil.FS, error) {
	contextFS, err := fsutil.NewFS(c.dir)
	if err != nil {
		return nil, err
	}
	dockerfileFS, err := fsutil.NewFS(filepath.Join(c.dir, filepath.Dir(c.dockerfile)))
	if err != nil {
		return nil, err
	}
	return map[string]fsutil.FS{"context": contextFS, "dockerfile": dockerfileFS}, nil
}

// unpackContext reads the body of POST /build as dockerd does: a tar,
// possibly compressed (gzip, bzip2, xz, zstd), is the context; anything
// else is the Dockerfile itself (`docker build - < Dockerfile`), with an
// empty context. The archive is unpacked by go-archive, which refuses
// entries that would land outside dir (`..`, absolute paths, links).
func unpackContext(body io.Reader, tmpRoot, dockerfile string) (_ *buildContext, retErr error) {
	if err := os.MkdirAll(tmpRoot, 0o700); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tmpRoot, "context-")
	if err != nil {
		return nil, err
	}
	bc := &buildContext{dir: dir}
	defer func() {
		if retErr != nil {
			bc.Close()
		}
	}()
	plain, err := compression.DecompressStream(body)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage("reading the build context: " + err.Error())
	}
	defer plain.Close()
	br := bufio.NewReaderSize(plain, 64<<10)
	head, _ := br.Peek(512)
	if !isTar(head) {
		if err := writeFile(filepath.Join(dir, defaultDockerfile), br); err != nil {
			return nil, err
		}
		dockerfile = ""
	} else if err := archive.Untar(br, dir, &archive.TarOptions{NoLchown: true}); err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage("unpacking the build context: " + err.Error())
	}
	bc.dockerfile, err = findDockerfile(dir, dockerfile)
	if err != nil {
		return nil, err
	}
	return bc, nil
}

// findDockerfile checks the Dockerfile named by the request, with dockerd's
// messages; without a name, a lowercase "dockerfile" also does.
func findDockerfile(dir, name string) (string, error) {
	explicit := name != ""
	if !explicit {
		name = defaultDockerfile
	}
	clean := filepath.Clean(name)
	if !filepath.IsLocal(clean) {
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("The Dockerfile (%s) must be within the build context", name))
	}
	fi, err := os.Stat(filepath.Join(dir, clean))
	if os.IsNotExist(err) && !explicit {
		if fi2, err2 := os.Stat(filepath.Join(dir, "dockerfile")); err2 == nil {
			clean, fi, err = "dockerfile", fi2, nil
		}
	}
	switch {
	case os.IsNotExist(err):
		return "", errdefs.ErrInvalidArgument.WithMessage("Cannot locate specified Dockerfile: " + name)
	case err != nil:
		return "", err
	case !fi.Mode().IsRegular():
		return "", errdefs.ErrInvalidArgument.WithMessage("Cannot locate specified Dockerfile: " + name)
	case fi.Size() == 0:
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("The Dockerfile (%s) cannot be empty", name))
	}
	return clean, nil
}

// isTar tells whether head starts with a tar header.
func isTar(head []byte) bool {
	if len(head) < 512 {
		return false
	}
	_, err := tar.NewReader(bytes.NewReader(head)).Next()
	return err == nil
}

func writeFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
