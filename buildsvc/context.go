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
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/go-archive"
	"github.com/moby/go-archive/compression"
	"github.com/tonistiigi/fsutil"
)

// defaultDockerfile is the name looked for when the request names none.
const defaultDockerfile = "Dockerfile"

// buildContext is a build's context unpacked into a private directory that
// BuildKit reads through its local source.
type buildContext struct {
	root       string // removed by Close
	dir        string // the context, in root
	dockerfile string // relative to dir
	dfDir      string // the frontend's "dockerfile" source, set by mounts
}

// maxInlineDockerfile bounds what inlineDockerfile puts into the build
// definition; a larger Dockerfile goes through the session as a file.
const maxInlineDockerfile = 256 << 10

// inlineDockerfile returns the Dockerfile and its ignore file, as staged
// by mounts, as the frontend's "dockerfile" input: files made by the build
// definition itself (a cache hit after the first build), so that the
// frontend reads them without a round trip to the client's session and
// without BuildKit syncing a local source (a seventh of a fully cached
// rebuild). The content is the same; ok is false when the staged
// directory is not the usual two files or they are large, and the local
// source stays.
func (c *buildContext) inlineDockerfile() (_ llb.State, ok bool) {
	if c.dfDir != filepath.Join(c.root, "dockerfile") {
		return llb.State{}, false
	}
	name := filepath.Base(c.dockerfile)
	var files [2][]byte
	total := 0
	for i, n := range []string{name, name + ".dockerignore"} {
		fi, err := os.Lstat(filepath.Join(c.dfDir, n))
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxInlineDockerfile {
			return llb.State{}, false
		}
		if files[i], err = os.ReadFile(filepath.Join(c.dfDir, n)); err != nil {
			return llb.State{}, false
		}
		total += len(files[i])
	}
	if total > maxInlineDockerfile {
		return llb.State{}, false
	}
	return llb.Scratch().
		File(llb.Mkfile("/"+name, 0o644, files[0])).
		File(llb.Mkfile("/"+name+".dockerignore", 0o644, files[1])), true
}

func (c *buildContext) Close() error { return os.RemoveAll(c.root) }

// mounts are the context and a directory with the Dockerfile and its
// ignore file (stageDockerfile) as the frontend's two local sources.
func (c *buildContext) mounts() (map[string]fsutil.FS, error) {
	contextFS, err := fsutil.NewFS(c.dir)
	if err != nil {
		return nil, err
	}
	dfDir, err := stageDockerfile(c.dir, c.dockerfile, filepath.Join(c.root, "dockerfile"))
	if err != nil {
		return nil, err
	}
	c.dfDir = dfDir
	dockerfileFS, err := fsutil.NewFS(dfDir)
	if err != nil {
		return nil, err
	}
	return map[string]fsutil.FS{"context": contextFS, "dockerfile": dockerfileFS}, nil
}

// noIgnoreFile stands for a missing .dockerignore: a comment, which
// excludes nothing, as no file does (an empty file would not do, the
// frontend takes it for no file).
const noIgnoreFile = "# no .dockerignore in the context\n"

// unpackContext reads the body of POST /build as dockerd does: a tar,
// possibly compressed (gzip, bzip2, xz, zstd), is the context; anything
// else is the Dockerfile itself (`docker build - < Dockerfile`), with an
// empty context. The archive is unpacked by go-archive, which refuses
// entries that would land outside dir (`..`, absolute paths, links).
func unpackContext(body io.Reader, tmpRoot, dockerfile string) (_ *buildContext, retErr error) {
	if err := os.MkdirAll(tmpRoot, 0o700); err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp(tmpRoot, "context-")
	if err != nil {
		return nil, err
	}
	bc := &buildContext{root: root, dir: filepath.Join(root, "context")}
	defer func() {
		if retErr != nil {
			bc.Close()
		}
	}()
	dir := bc.dir
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
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

// stageDockerfile links the Dockerfile into dfDir next to the ignore file
// that applies to the context: its own <Dockerfile>.dockerignore if it has
// one, else the context's .dockerignore. The Dockerfile frontend reads
// both from its "dockerfile" source in one transfer, and finding the
// ignore file there it skips its own round trip to the client's session
// for the context's .dockerignore, a tenth of a fully cached rebuild. The
// patterns are the same ones, applied to the same context. An ignore file
// that is not a regular file (a symlink) is left to the frontend as
// before: the source is then the Dockerfile's own directory.
// stageDockerfile returns the directory to serve as the source.
func stageDockerfile(dir, dockerfile, dfDir string) (string, error) {
	own := filepath.Join(dir, filepath.Dir(dockerfile))
	base := filepath.Base(dockerfile)
	var ignore string
	for _, src := range []string{filepath.Join(own, base+".dockerignore"), filepath.Join(dir, ".dockerignore")} {
		fi, err := os.Lstat(src)
		if err != nil {
			continue
		}
		if !fi.Mode().IsRegular() {
			return own, nil
		}
		ignore = src
		break
	}
	if err := os.Mkdir(dfDir, 0o700); err != nil {
		return "", err
	}
	if err := os.Link(filepath.Join(dir, dockerfile), filepath.Join(dfDir, base)); err != nil {
		return "", err
	}
	dst := filepath.Join(dfDir, base+".dockerignore")
	if ignore != "" {
		return dfDir, os.Link(ignore, dst)
	}
	return dfDir, os.WriteFile(dst, []byte(noIgnoreFile), 0o600)
}
