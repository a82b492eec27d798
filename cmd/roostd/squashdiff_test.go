package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	diffapi "github.com/containerd/containerd/api/services/diff/v1"
	"github.com/containerd/containerd/v2/core/diff"
	"github.com/containerd/containerd/v2/core/diff/proxy"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// fakeApplier records the namespace and layer it was asked to apply.
type fakeApplier struct {
	ns     string
	layer  ocispec.Descriptor
	mounts []mount.Mount
}

func (f *fakeApplier) Apply(ctx context.Context, desc ocispec.Descriptor, mounts []mount.Mount, _ ...diff.ApplyOpt) (ocispec.Descriptor, error) {
	f.ns, _ = namespaces.Namespace(ctx)
	// What roostd's applier does with it: a containerd call, which
	// carries only an outgoing namespace.
	if md, ok := metadata.FromOutgoingContext(ctx); !ok || len(md.Get("containerd-namespace")) == 0 {
		f.ns = "(not forwarded)"
	}
	f.layer, f.mounts = desc, mounts
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: "sha256:0123456789012345678901234567890123456789012345678901234567890123", Size: 3}, nil
}

// containerd reaches the differ through its diff proxy, as the keeper's
// config makes it do in single-ID mode: applying reaches roostd's applier
// with the caller's namespace (roost's when none was sent), and comparing
// is Not Implemented, which makes containerd's diff service use its
// walking differ instead.
func TestSquashDiffServer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "squash-diff.sock")
	// A socket left by a killed roostd.
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a := &fakeApplier{}
	stop, err := serveSquashDiff(sock, a)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	d := proxy.NewDiffApplier(diffapi.NewDiffClient(conn)).(interface {
		diff.Applier
		diff.Comparer
	})

	layer := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111", Size: 42}
	mounts := []mount.Mount{{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=/a", "upperdir=/b", "workdir=/c"}}}
	for _, tc := range []struct{ sent, want string }{{"buildkit-ns", "buildkit-ns"}, {"", "roost"}} {
		ctx := context.Background()
		if tc.sent != "" {
			ctx = namespaces.WithNamespace(ctx, tc.sent)
		}
		got, err := d.Apply(ctx, layer, mounts)
		if err != nil {
			t.Fatalf("apply (namespace %q): %v", tc.sent, err)
		}
		if got.Size != 3 || a.ns != tc.want || a.layer.Digest != layer.Digest || len(a.mounts) != 1 || a.mounts[0].Options[1] != "upperdir=/b" {
			t.Errorf("namespace %q: applied %+v in namespace %q with %+v, result %+v", tc.sent, a.layer, a.ns, a.mounts, got)
		}
	}
	if _, err := d.Compare(context.Background(), mounts, mounts); !errdefs.IsNotImplemented(err) {
		t.Errorf("compare: %v, want Not Implemented", err)
	}
}
