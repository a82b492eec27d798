package buildsvc

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc/stats"
)

// connWatch is a gRPC stats handler that counts the client's live
// transports to buildkitd: one that is up means buildkitd is there (it
// listens only once its worker is ready), and one ends when buildkitd
// exits.
type connWatch struct {
	n atomic.Int64
}

func (w *connWatch) up() bool { return w.n.Load() > 0 }

func (w *connWatch) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return ctx
}

func (w *connWatch) HandleRPC(context.Context, stats.RPCStats) {}

func (w *connWatch) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (w *connWatch) HandleConn(_ context.Context, s stats.ConnStats) {
	switch s.(type) {
	case *stats.ConnBegin:
		w.n.Add(1)
	case *stats.ConnEnd:
		w.n.Add(-1)
	}
}
