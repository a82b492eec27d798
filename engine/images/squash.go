package images

import (
	"context"
	"fmt"
	"io"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/diff"
	cimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/archive"
	"github.com/containerd/containerd/v2/pkg/labels"
	"github.com/containerd/containerd/v2/pkg/rootfs"
	digest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// squashApplier extracts layers with every file owned by root, for a user
// namespace that maps one ID only (single-ID mode): there containerd's
// differ fails on the first file of another owner, since lchown to an
// unmapped ID is EINVAL. podman's ignore_chown_errors does the same.
//
// It runs in roostd, which is root of the keeper's user and mount
// namespaces, so it can mount the snapshot itself. It always mounts it,
// as containerd's differ does inside a user namespace: extracting through
// the mounted overlayfs or fuse-overlayfs lets the filesystem write its own
// whiteouts and opaque markers when the layer deletes something, where
// writing overlay whiteouts (0:0 character devices) into the upper
// directory by hand would need a mknod the namespace may not allow.
//
// Mode bits stay as the layer has them: a setuid or setgid file becomes
// setuid root, and root of the namespace is the user, so it gives nothing
// the user does not have. File capabilities (security.capability) are
// written by root of the namespace, so the kernel records them as valid in
// this namespace only.
type squashApplier struct {
	store content.Provider
}

// Apply extracts desc onto mounts and returns the descriptor of the
// uncompressed layer, whose digest the caller checks against the image's
// diff ID.
func (a squashApplier) Apply(ctx context.Context, desc ocispec.Descriptor, mounts []mount.Mount, opts ...diff.ApplyOpt) (ocispec.Descriptor, error) {
	var cfg diff.ApplyConfig
	for _, o := range opts {
		if err := o(ctx, desc, &cfg); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("apply option: %w", err)
		}
	}
	ra, err := a.store.ReaderAt(ctx, desc)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	defer ra.Close()

	var compressed io.Reader = content.NewReader(ra)
	if cfg.Progress != nil {
		compressed = &progressReader{r: compressed, report: cfg.Progress}
	}
	// Decompression (and any stream processor containerd is configured
	// with) up to the plain tar.
	proc := diff.NewProcessorChain(desc.MediaType, compressed)
	procs := []diff.StreamProcessor{proc}
	for proc.MediaType() != ocispec.MediaTypeImageLayer {
		if proc, err = diff.GetProcessor(ctx, proc, cfg.ProcessorPayloads); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("layer %s of type %s: %w", desc.Digest, desc.MediaType, err)
		}
		procs = append(procs, proc)
	}
	defer proc.Close()

	// The diff ID is the digest of the whole uncompressed stream, so the
	// digest sees every byte, the tar's padding after extraction included.
	digester := digest.Canonical.Digester()
	tarStream := &countingTee{r: proc, w: digester.Hash()}
	err = mount.WithTempMount(ctx, mounts, func(root string) error {
		_, err := archive.Apply(ctx, root, tarStream, archive.WithNoSameOwner())
		return err
	})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if _, err := io.Copy(io.Discard, tarStream); err != nil {
		return ocispec.Descriptor{}, err
	}
	for _, p := range procs {
		if e, ok := p.(interface{ Err() error }); ok && e.Err() != nil {
			return ocispec.Descriptor{}, e.Err()
		}
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Size: tarStream.n, Digest: digester.Digest()}, nil
}

// countingTee reads r, writes what it read to w and counts it.
type countingTee struct {
	r io.Reader
	w io.Writer
	n int64
}

func (t *countingTee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.n += int64(n)
		_, _ = t.w.Write(p[:n])
	}
	return n, err
}

// progressReader reports how much of the compressed layer was read
// before each read, as diff.WithProgress expects.
type progressReader struct {
	r      io.Reader
	n      int64
	report func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	p.report(p.n)
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}

// applier is what unpacks layers into the snapshotter: containerd's
// differ, or in single-ID mode the squashing one.
func (s *Service) applier() diff.Applier {
	if s.squashOwners {
		return squashApplier{store: s.content()}
	}
	return s.client.DiffService()
}

// unpackSquashed unpacks ci with the squashing applier. containerd's
// Image.Unpack always uses the diff service, so this does its steps:
// apply each layer on its parent's snapshot, record the uncompressed
// digest on the layer blob, and reference the top snapshot from the
// config so that the garbage collector keeps it.
func (s *Service) unpackSquashed(ctx context.Context, ci containerd.Image) error {
	ctx, done, err := s.client.WithLease(ctx)
	if err != nil {
		return err
	}
	defer done(ctx)

	cs := s.content()
	manifest, err := cimages.Manifest(ctx, cs, ci.Target(), s.platform)
	if err != nil {
		return err
	}
	diffIDs, err := ci.RootFS(ctx)
	if err != nil {
		return fmt.Errorf("image %s: %w", ci.Name(), err)
	}
	var blobs []ocispec.Descriptor
	for _, l := range manifest.Layers {
		if cimages.IsLayerType(l.MediaType) {
			blobs = append(blobs, l)
		}
	}
	if len(blobs) != len(diffIDs) {
		return fmt.Errorf("image %s: %d layers but %d diff IDs in its config", ci.Name(), len(blobs), len(diffIDs))
	}

	sn := s.client.SnapshotService(s.snapshotter)
	a := s.applier()
	var chain []digest.Digest
	for i, blob := range blobs {
		layer := rootfs.Layer{Blob: blob, Diff: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: diffIDs[i]}}
		applied, err := rootfs.ApplyLayerWithOpts(ctx, layer, chain, sn, a, nil, nil)
		if err != nil {
			return fmt.Errorf("apply layer %s of %s: %w", blob.Digest, ci.Name(), err)
		}
		if applied {
			info := content.Info{Digest: blob.Digest, Labels: map[string]string{labels.LabelUncompressed: diffIDs[i].String()}}
			if _, err := cs.Update(ctx, info, "labels."+labels.LabelUncompressed); err != nil {
				return err
			}
		}
		chain = append(chain, diffIDs[i])
	}
	key := "containerd.io/gc.ref.snapshot." + s.snapshotter
	info := content.Info{Digest: manifest.Config.Digest, Labels: map[string]string{key: identity.ChainID(chain).String()}}
	_, err = cs.Update(ctx, info, "labels."+key)
	return err
}

// SquashApplier is the squashing applier on the engine's content store,
// for containerd's diff service to unpack BuildKit's base images with in
// single-ID mode (roostd serves it as a proxy differ). The context of
// Apply must carry the namespace of the layer's blob.
func (s *Service) SquashApplier() diff.Applier {
	return squashApplier{store: s.content()}
}
