package buildsvc

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session/grpchijack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// mobyExporter is the exporter buildx's docker driver asks for to put the
// result into the engine's image store; dockerd implements it, buildkitd
// does not, so the proxy turns it into the image exporter.
const mobyExporter = "moby"

// ServeGRPC serves BuildKit's API on a hijacked /grpc connection, as
// dockerd does for buildx's docker driver: every call (the control API,
// the frontend gateway) is passed to buildkitd as it is, except that
// Solve's "moby" exporter becomes an image export into roost's store,
// tagged through the image service. It returns when the client hangs up.
func (s *Service) ServeGRPC(ctx context.Context, conn net.Conn) error {
	up, err := s.upstream(ctx)
	if err != nil {
		conn.Close()
		return err
	}
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.UnknownServiceHandler((&proxy{s: s, up: up}).handle))
	l := newConnListener(conn)
	go func() {
		<-l.closed
		srv.Stop()
	}()
	err = srv.Serve(l)
	if errors.Is(err, errListenerDone) || errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// ServeSession joins a hijacked /session connection (the client's BuildKit
// session: its files, secrets, SSH agent, output) to buildkitd's session
// manager, carrying the X-Docker-Expose-Session-* headers as metadata.
func (s *Service) ServeSession(ctx context.Context, conn net.Conn, headers map[string][]string) error {
	defer conn.Close()
	c, err := s.daemon.Client(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	upstream, err := grpchijack.Dialer(c.ControlClient())(ctx, "h2c", headers)
	if err != nil {
		return err
	}
	defer upstream.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(upstream, conn); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, upstream); done <- struct{}{} }()
	<-done
	return nil
}

// mobyToImage rewrites the moby exporter in place into an image export
// into roost's store and returns the names it asked for. With push, it
// also returns a second image exporter that pushes those names without
// storing anything: the local image keeps going through the dangling name
// and the image service, so a tag that moves leaves the image it moved
// from as an untagged one, as dockerd's moby exporter does, while the
// push uses the client's credentials from the session.
func mobyToImage(e *controlapi.Exporter) ([]string, *controlapi.Exporter, error) {
	attrs := map[string]string{}
	var names []string
	push := false
	for k, v := range e.Attrs {
		switch k {
		case "name":
			for _, n := range strings.Split(v, ",") {
				if n = strings.TrimSpace(n); n != "" {
					names = append(names, n)
				}
			}
		case "push":
			var err error
			if push, err = strconv.ParseBool(v); err != nil {
				return nil, nil, status.Errorf(codes.InvalidArgument, "non-bool value specified for push: %s", v)
			}
		case "prefer-image-digest":
			// roost's image IDs are config digests, like dockerd's classic store.
		default:
			attrs[k] = v
		}
	}
	var pusher *controlapi.Exporter
	if push {
		if len(names) == 0 {
			return nil, nil, status.Error(codes.InvalidArgument, "tag is needed when pushing to registry")
		}
		pattrs := maps.Clone(attrs)
		pattrs["name"] = strings.Join(names, ",")
		pattrs["push"] = "true"
		pattrs[string(exptypes.OptKeyStore)] = "false"
		pusher = &controlapi.Exporter{Type: "image", Attrs: pattrs}
	}
	attrs[string(exptypes.OptKeyDanglingPrefix)] = danglingPrefix
	attrs[string(exptypes.OptKeyUnpack)] = "true"
	e.Type, e.Attrs = "image", attrs
	return names, pusher, nil
}

// errListenerDone ends a connListener's Serve.
var errListenerDone = errors.New("hijacked connection closed")

// connListener hands one hijacked connection to a grpc server; its next
// Accept waits until that connection is closed.
type connListener struct {
	mu     sync.Mutex
	conn   net.Conn
	closed chan struct{}
	once   sync.Once
}

func newConnListener(c net.Conn) *connListener {
	l := &connListener{closed: make(chan struct{})}
	l.conn = &notifyConn{Conn: c, onClose: l.close}
	return l
}

func (l *connListener) close() { l.once.Do(func() { close(l.closed) }) }

func (l *connListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.conn
	l.conn = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.closed
	return nil, errListenerDone
}

func (l *connListener) Close() error {
	l.close()
	return nil
}

func (l *connListener) Addr() net.Addr { return dummyAddr{} }

type notifyConn struct {
	net.Conn
	onClose func()
}

func (c *notifyConn) Close() error {
	c.onClose()
	return c.Conn.Close()
}

type dummyAddr struct{}

func (dummyAddr) Network() string { return "hijack" }
func (dummyAddr) String() string  { return "hijacked-connection" }

// ServeHTTP serves BuildKit's API as gRPC straight on the API socket
// (HTTP/2 without TLS), as dockerd does from API 1.53 for buildx's docker
// driver: the same proxy as /grpc, on one server for every connection.
// The client's session travels as BuildKit's own Control.Session stream.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	up, err := s.upstream(r.Context())
	if err != nil {
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Grpc-Status", strconv.Itoa(int(codes.Unavailable)))
		w.Header().Set("Grpc-Message", err.Error())
		w.WriteHeader(http.StatusOK)
		return
	}
	s.h2cOnce.Do(func() {
		s.h2c = grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.UnknownServiceHandler((&proxy{s: s, up: up}).handle))
	})
	s.h2c.ServeHTTP(w, r)
}
