package images

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/containerd/errdefs"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// writeLayer stores a rootfs tar as a layer blob and returns its descriptor
// and diff ID (the digest of the uncompressed tar). gzip and zstd streams
// are stored as they are; an uncompressed tar is stored uncompressed. The
// tar is read through once, so a stream that is not a tar is
// errdefs.ErrInvalidArgument before any image exists.
func (s *Service) writeLayer(ctx context.Context, r io.Reader) (ocispec.Descriptor, digest.Digest, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(10)
	if err != nil && !errors.Is(err, io.EOF) {
		return ocispec.Descriptor{}, "", err
	}
	if name := unsupportedCompression(magic); name != "" {
		return ocispec.Descriptor{}, "", errdefs.ErrInvalidArgument.WithMessage(
			"unsupported " + name + " compression of the rootfs archive: use an uncompressed, gzip or zstd tar")
	}
	comp := compression.DetectCompression(magic)
	mediaType := ocispec.MediaTypeImageLayer
	switch comp {
	case compression.Gzip:
		mediaType = ocispec.MediaTypeImageLayerGzip
	case compression.Zstd:
		mediaType = ocispec.MediaTypeImageLayerZstd
	}

	ref := "roost-import-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	w, err := content.OpenWriter(ctx, s.content(), content.WithRef(ref))
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	defer w.Close()

	// Everything read from the request goes to the blob; the decompressed
	// stream goes through a tar reader and the diff ID digester.
	blob := digest.Canonical.Digester()
	counter := &countWriter{}
	src := io.TeeReader(br, io.MultiWriter(w, blob.Hash(), counter))
	tarStream := src
	if comp != compression.Uncompressed {
		dr, err := compression.DecompressStream(src)
		if err != nil {
			return ocispec.Descriptor{}, "", errdefs.ErrInvalidArgument.WithMessage("invalid rootfs archive: " + err.Error())
		}
		defer dr.Close()
		tarStream = dr
	}
	diff := digest.Canonical.Digester()
	if err := checkTar(io.TeeReader(tarStream, diff.Hash())); err != nil {
		s.content().Abort(ctx, ref)
		if errdefs.IsCanceled(err) || errors.Is(err, context.Canceled) {
			return ocispec.Descriptor{}, "", err
		}
		return ocispec.Descriptor{}, "", errdefs.ErrInvalidArgument.WithMessage("invalid rootfs archive: " + err.Error())
	}
	// Whatever follows the compressed stream still belongs to the blob.
	if _, err := io.Copy(io.Discard, src); err != nil {
		s.content().Abort(ctx, ref)
		return ocispec.Descriptor{}, "", err
	}

	desc := ocispec.Descriptor{MediaType: mediaType, Digest: blob.Digest(), Size: counter.n}
	var opts []content.Opt
	if comp != compression.Uncompressed {
		opts = append(opts, content.WithLabels(map[string]string{"containerd.io/uncompressed": diff.Digest().String()}))
	}
	if err := w.Commit(ctx, desc.Size, desc.Digest, opts...); err != nil && !errdefs.IsAlreadyExists(err) {
		return ocispec.Descriptor{}, "", fmt.Errorf("commit layer: %w", err)
	}
	return desc, diff.Digest(), nil
}

// checkTar reads a tar stream to its end, so that it is fully digested and
// known to be a tar. An empty stream is an empty layer, as in dockerd.
func checkTar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		_, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return err
		}
	}
	// The padding after the end-of-archive blocks is part of the diff.
	_, err := io.Copy(io.Discard, r)
	return err
}

// unsupportedCompression names the compressions dockerd accepts through
// external tools that containerd's library does not read.
func unsupportedCompression(magic []byte) string {
	switch {
	case bytes.HasPrefix(magic, []byte{0xFD, '7', 'z', 'X', 'Z', 0x00}):
		return "xz"
	case bytes.HasPrefix(magic, []byte{'B', 'Z', 'h'}):
		return "bzip2"
	}
	return ""
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
