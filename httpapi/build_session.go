package httpapi

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/containerd/log"
)

// BuildSessionBackend serves buildx's docker driver on hijacked
// connections (buildsvc.Service): BuildKit's control API on /grpc, the
// client's session on /session.
type BuildSessionBackend interface {
	ServeGRPC(ctx context.Context, conn net.Conn) error
	ServeSession(ctx context.Context, conn net.Conn, headers map[string][]string) error
}

// isGRPC tells a gRPC call made straight on the API socket (HTTP/2
// without TLS) from an API request.
func isGRPC(r *http.Request) bool {
	return r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
}

// withGRPC hands gRPC calls on the API socket to g, the build backend or
// the proxy to it, which serves BuildKit's API there as dockerd does from
// API 1.53.
func withGRPC(next http.Handler, g http.Handler) http.Handler {
	if g == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isGRPC(r) {
			g.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) sessionBackend() (BuildSessionBackend, error) {
	b, ok := s.build.(BuildSessionBackend)
	if !ok {
		return nil, notImplemented("BuildKit sessions are not supported by this engine")
	}
	return b, nil
}

// postGRPC is buildx's control connection: an upgrade to h2c, then gRPC.
func (s *server) postGRPC(w http.ResponseWriter, r *http.Request) error {
	b, err := s.sessionBackend()
	if err != nil {
		return err
	}
	conn, err := hijackUpgrade(w, r, "h2c")
	if err != nil {
		return err
	}
	if err := b.ServeGRPC(context.WithoutCancel(r.Context()), conn); err != nil {
		log.G(r.Context()).WithError(err).Warn("serving BuildKit's control API on /grpc")
	}
	return nil
}

// postSession is buildx's session: an upgrade, then the session's own
// gRPC services (files, secrets, output) reached by BuildKit.
func (s *server) postSession(w http.ResponseWriter, r *http.Request) error {
	b, err := s.sessionBackend()
	if err != nil {
		return err
	}
	headers := map[string][]string{}
	for k, v := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-docker-expose-session-") {
			headers[k] = v
		}
	}
	conn, err := hijackUpgrade(w, r, r.Header.Get("Upgrade"))
	if err != nil {
		return err
	}
	if err := b.ServeSession(context.WithoutCancel(r.Context()), conn, headers); err != nil {
		log.G(r.Context()).WithError(err).Warn("serving a BuildKit session on /session")
	}
	return nil
}

// hijackUpgrade answers 101 with the protocol the client asked for and
// returns the raw connection, with whatever the client already sent behind
// its request.
func hijackUpgrade(w http.ResponseWriter, r *http.Request, proto string) (net.Conn, error) {
	if proto == "" {
		proto = "h2c"
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, err
	}
	buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
	buffered = bytes.Clone(buffered)
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: " + proto + "\r\n")
	_ = w.Header().WriteSubset(&head, map[string]bool{"Content-Type": true, "Content-Length": true})
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		conn.Close()
		return nil, err
	}
	return &prefixConn{Conn: conn, r: io.MultiReader(bytes.NewReader(buffered), conn)}, nil
}

// prefixConn reads the bytes buffered by the HTTP server first.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (c *prefixConn) Read(p []byte) (int, error) { return c.r.Read(p) }
