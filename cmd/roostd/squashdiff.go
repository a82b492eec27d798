package main

import (
	"context"
	"errors"
	"net"
	"os"

	diffapi "github.com/containerd/containerd/api/services/diff/v1"
	"github.com/containerd/containerd/v2/contrib/diffservice"
	"github.com/containerd/containerd/v2/core/diff"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/log"
	"google.golang.org/grpc"

	"github.com/roostd/roost/engine/containers"
)

// serveSquashDiff serves containerd's diff API on sock with a, for the
// keeper's containerd to use as its first differ in single-ID mode (see
// cmd/roost-keeper: squashDiffPlugin), and returns how to stop it. It
// applies layers only: to compare it answers Not Implemented, and
// containerd's diff service turns to its walking differ.
//
// containerd dials it on first use and redials it when roostd restarts;
// a build while roostd is down fails, as every build does then.
func serveSquashDiff(sock string, a diff.Applier) (func(context.Context), error) {
	// Only one roostd runs (the state dir's lock): a socket here is one a
	// killed roostd left.
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(withNamespace))
	diffapi.RegisterDiffServer(srv, diffservice.FromApplierAndComparer(a, nil))
	go func() {
		if err := srv.Serve(l); err != nil {
			log.L.WithError(err).Error("squashing differ stopped")
		}
	}()
	return func(context.Context) {
		srv.Stop()
		_ = os.Remove(sock)
	}, nil
}

// withNamespace passes the namespace containerd called with on to roostd's
// own containerd calls (reading the layer's blob). containerd's proxy
// sends it as a gRPC header, which the client does not forward by itself;
// without one the blob is looked for in roost's namespace, BuildKit's.
func withNamespace(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ns, ok := namespaces.Namespace(ctx)
	if !ok {
		ns = containers.DefaultNamespace
	}
	return handler(namespaces.WithNamespace(ctx, ns), req)
}
