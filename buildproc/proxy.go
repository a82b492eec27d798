package buildproc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/containerd/log"
	"github.com/moby/moby/api/types/build"
	"google.golang.org/grpc/codes"
)

// ServeHTTP passes a build request to roost-build, starting it first if
// needed, and its answer back unchanged: the JSON progress of a classic
// build as it comes, the hijacked /grpc and /session connections byte for
// byte, and BuildKit's gRPC on the socket (HTTP/2) call by call. A client
// that goes away closes the connection to roost-build, which cancels the
// build there as it did in roostd.
func (p *Process) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.local(r) {
		p.cfg.Local.ServeHTTP(w, r)
		return
	}
	grpc := r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
	if err := p.ensure(r.Context()); err != nil {
		if grpc {
			grpcError(w, r, err)
		} else {
			p.proxyError(w, r, err)
		}
		return
	}
	switch {
	case grpc:
		p.h2.ServeHTTP(w, r)
	case r.Header.Get("Upgrade") != "":
		p.upgrade(w, r)
	default:
		p.h1.ServeHTTP(w, r)
	}
}

// local tells the requests that need no roost-build: a cancel when no
// build can run, a prune when no cache was ever made.
func (p *Process) local(r *http.Request) bool {
	if p.cfg.Local == nil || p.Running() {
		return false
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/build/cancel"):
		return true
	case strings.HasSuffix(r.URL.Path, "/build/prune"):
		return !p.hasCache()
	}
	return false
}

// proxyError answers as the API does for an engine fault.
func (p *Process) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client has gone
	}
	log.G(r.Context()).WithError(err).Warn("build service")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusInternalServerError)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
}

// grpcError answers a gRPC call with Unavailable, as buildsvc does when it
// cannot reach buildkitd.
func grpcError(w http.ResponseWriter, _ *http.Request, err error) {
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Grpc-Status", strconv.Itoa(int(codes.Unavailable)))
	w.Header().Set("Grpc-Message", err.Error())
	w.WriteHeader(http.StatusOK)
}

// upgrade passes an upgrade (/grpc, /session) through: the request to
// roost-build, its answer back, and after a 101 both connections joined,
// with whatever either side had already sent.
func (p *Process) upgrade(w http.ResponseWriter, r *http.Request) {
	back, err := p.dial(r.Context(), "", "")
	if err != nil {
		p.proxyError(w, r, err)
		return
	}
	defer back.Close()
	out := r.Clone(context.WithoutCancel(r.Context()))
	out.URL.Scheme, out.URL.Host, out.Host = "http", "roost-build", "roost-build"
	if err := out.Write(back); err != nil {
		p.proxyError(w, r, err)
		return
	}
	br := bufio.NewReader(back)
	resp, err := http.ReadResponse(br, out)
	if err != nil {
		p.proxyError(w, r, err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		log.G(r.Context()).WithError(err).Warn("hijacking a build connection")
		return
	}
	defer conn.Close()
	var head bytes.Buffer
	fmt.Fprintf(&head, "HTTP/1.1 %s\r\n", resp.Status)
	_ = resp.Header.Write(&head)
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		return
	}
	buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
	fromClient := io.MultiReader(bytes.NewReader(bytes.Clone(buffered)), conn)
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(back, fromClient)
		// The client is done sending; roost-build may still answer.
		if cw, ok := back.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		close(done)
	}()
	_, _ = io.Copy(conn, br)
	// roost-build has finished: close both, which also ends the copy
	// from the client.
	conn.Close()
	back.Close()
	<-done
}

// DiskUsage lists the build cache records for GET /system/df. Without a
// cache (no buildkitd ever ran) nothing is started to find that out.
func (p *Process) DiskUsage(ctx context.Context) ([]build.CacheRecord, error) {
	if !p.Running() && !p.hasCache() {
		return []build.CacheRecord{}, nil
	}
	if err := p.ensure(ctx); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://roost-build"+CachePath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, decodeError(resp)
	}
	var out []build.CacheRecord
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// CachePath is roost-build's route that lists the build cache.
const CachePath = "/roost/build-cache"
