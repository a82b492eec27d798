package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/errdefs"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// memBlobs is a content.Provider over blobs in memory.
type memBlobs map[digest.Digest][]byte

func (m memBlobs) ReaderAt(_ context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	b, ok := m[desc.Digest]
	if !ok {
		return nil, errdefs.ErrNotFound
	}
	return memReaderAt{bytes.NewReader(b)}, nil
}

type memReaderAt struct{ *bytes.Reader }

func (memReaderAt) Close() error { return nil }

type layerFile struct {
	name     string
	typ      byte
	mode     int64
	uid, gid int
}

func layerTar(t *testing.T, files []layerFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Mode: f.mode, Uid: f.uid, Gid: f.gid}
		data := ""
		if f.typ == tar.TypeSymlink {
			h.Linkname = "file"
		}
		if f.typ == tar.TypeReg {
			data = "data of " + f.name
			h.Size = int64(len(data))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSquashApplier: files of any owner are extracted as root's, with
// their modes (setuid included), a whiteout deletes what a lower layer
// had, and the descriptor returned is the uncompressed layer's, which the
// unpacker compares with the image's diff ID.
func TestSquashApplier(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the applier mounts the snapshot: run as root, or as a user through hack/userns.sh")
	}
	layer := layerTar(t, []layerFile{
		{name: "owned/", typ: tar.TypeDir, mode: 0o755, uid: 1000, gid: 1000},
		{name: "owned/file", typ: tar.TypeReg, mode: 0o600, uid: 65534, gid: 65534},
		{name: "owned/suid", typ: tar.TypeReg, mode: 0o4755, uid: 1000, gid: 1000},
		{name: "owned/link", typ: tar.TypeSymlink, uid: 1000, gid: 1000},
		{name: ".wh.gone", typ: tar.TypeReg, mode: 0o644},
	})
	tests := []struct {
		name      string
		mediaType string
		blob      []byte
		wantErr   bool
	}{
		{name: "gzip", mediaType: ocispec.MediaTypeImageLayerGzip, blob: gzipped(t, layer)},
		{name: "uncompressed", mediaType: ocispec.MediaTypeImageLayer, blob: layer},
		{name: "unknown media type", mediaType: "application/x-unknown", blob: layer, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.WriteFile(filepath.Join(root, "gone"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			desc := ocispec.Descriptor{MediaType: tc.mediaType, Digest: digest.FromBytes(tc.blob), Size: int64(len(tc.blob))}
			a := squashApplier{store: memBlobs{desc.Digest: tc.blob}}
			mounts := []mount.Mount{{Type: "bind", Source: root, Options: []string{"rbind", "rw"}}}
			got, err := a.Apply(context.Background(), desc, mounts)
			if tc.wantErr {
				if err == nil {
					t.Fatal("Apply of an unknown media type succeeded")
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got.Digest != digest.FromBytes(layer) || got.Size != int64(len(layer)) || got.MediaType != ocispec.MediaTypeImageLayer {
				t.Errorf("Apply returned %+v, want the uncompressed layer %s of %d bytes", got, digest.FromBytes(layer), len(layer))
			}
			for _, name := range []string{"owned", "owned/file", "owned/suid", "owned/link"} {
				fi, err := os.Lstat(filepath.Join(root, name))
				if err != nil {
					t.Fatal(err)
				}
				st := fi.Sys().(*syscall.Stat_t)
				if st.Uid != 0 || st.Gid != 0 {
					t.Errorf("%s is owned by %d:%d, want 0:0", name, st.Uid, st.Gid)
				}
				if name == "owned/suid" && !strings.HasPrefix(fi.Mode().String(), "u") {
					t.Errorf("%s lost its setuid bit: %v", name, fi.Mode())
				}
			}
			if _, err := os.Lstat(filepath.Join(root, "gone")); !os.IsNotExist(err) {
				t.Errorf("the whiteout left gone in place: %v", err)
			}
		})
	}
}
