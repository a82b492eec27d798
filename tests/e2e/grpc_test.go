package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	bkclient "github.com/moby/buildkit/client"
	"github.com/tonistiigi/fsutil"
)

// TestBuildKitGRPCOnSocket: BuildKit's own Go client (what buildx's
// docker driver uses from API 1.53 on) talks gRPC straight to the API
// socket: it lists the workers, builds a Dockerfile with its context sent
// through its session, and the "moby" exporter puts the image in the
// engine's store, where docker runs it.
func TestBuildKitGRPCOnSocket(t *testing.T) {
	sock := apiSocket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := bkclient.New(ctx, "unix://"+sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	workers, err := c.ListWorkers(ctx)
	if err != nil {
		t.Fatalf("ListWorkers over gRPC on the API socket: %v", err)
	}
	if len(workers) == 0 {
		t.Fatal("no BuildKit worker listed")
	}
	dir := t.TempDir()
	df := "FROM busybox\nRUN echo built-over-grpc > /msg\nCMD [\"cat\", \"/msg\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docker(t, "rmi", "-f", "grpcbuilt:1") })
	_, err = c.Solve(ctx, nil, bkclient.SolveOpt{
		Frontend:    "dockerfile.v0",
		LocalMounts: map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		Exports:     []bkclient.ExportEntry{{Type: "moby", Attrs: map[string]string{"name": "grpcbuilt:1"}}},
	}, nil)
	if err != nil {
		t.Fatalf("Solve over gRPC on the API socket: %v", err)
	}
	if out := dockerOK(t, "run", "--rm", "grpcbuilt:1"); out != "built-over-grpc" {
		t.Fatalf("the built image printed %q", out)
	}
}
