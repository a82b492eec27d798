package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/containerd/log"
	"github.com/moby/moby/api/types"
)

// postContainersAttach attaches the client to a container's streams. The
// engine checks the request first (errors are ordinary JSON answers); only
// then is the connection hijacked and Run called with it:
//
//   - stdin (only when requested) reads what the client sends; it returns
//     io.EOF when the client half-closes its side, which the docker CLI does
//     when its own stdin ends. That is not the end of the session: output
//     keeps flowing until Run returns.
//   - stdout and stderr write stdcopy frames, or raw bytes for a TTY.
//   - ctx is cancelled when the client hangs up entirely.
//
// The connection is closed after Run returns.
func (s *server) postContainersAttach(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	opts := AttachOptions{
		Stream:     boolValue(q, "stream"),
		Logs:       boolValue(q, "logs"),
		Stdin:      boolValue(q, "stdin"),
		Stdout:     boolValue(q, "stdout"),
		Stderr:     boolValue(q, "stderr"),
		DetachKeys: q.Get("detachKeys"),
	}
	att, err := s.containers.Attach(r.Context(), containerRef(r), opts)
	if err != nil {
		return err
	}
	multiplexed := !att.TTY()

	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return fmt.Errorf("error attaching to container %s, hijack connection missing: %w", containerRef(r), err)
	}
	// The client may have sent stdin right behind the request; it sits in
	// the server's buffer. Reading it through brw would, at EOF, make
	// net/http cancel the request context, so take the bytes and read the
	// connection directly afterwards.
	buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
	buffered = bytes.Clone(buffered)

	contentType := types.MediaTypeRawStream
	if _, upgrade := r.Header["Upgrade"]; upgrade {
		if multiplexed && versionAtLeast(r.Context(), "1.42") {
			contentType = types.MediaTypeMultiplexedStream
		}
		_, err = fmt.Fprintf(conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", contentType)
	} else {
		// Clients that do not upgrade get dockerd's old answer, always
		// labelled raw-stream.
		_, err = fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n", contentType)
	}
	if err != nil {
		conn.Close()
		return err
	}

	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	stopWatch := watchHangup(ctx, conn, cancel)

	var stdin io.Reader
	if opts.Stdin {
		stdin = io.MultiReader(bytes.NewReader(buffered), conn)
	}
	var stdout, stderr io.Writer
	if multiplexed {
		stdout, stderr = newMuxWriters(conn)
	} else {
		out := &lockedWriter{w: conn}
		stdout, stderr = out, out
	}
	err = att.Run(ctx, stdin, stdout, stderr)
	stopWatch()
	if err != nil {
		log.G(ctx).WithError(err).Debugf("attach to %s ended", containerRef(r))
	}
	closeHijacked(conn)
	return nil
}

// closeHijacked ends a hijacked connection gently: it half-closes our side
// so the client reads EOF after the last output, then discards what the
// client still sends for a moment before closing. Closing a socket with
// unread input makes the kernel reset the connection, and the client could
// see "connection reset" instead of the end of the output.
func closeHijacked(conn net.Conn) {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		_ = conn.SetReadDeadline(time.Now().Add(closeDrainTimeout))
		_, _ = io.Copy(io.Discard, conn)
	}
	_ = conn.Close()
}

// closeDrainTimeout bounds how long closeHijacked waits for the client to
// close its side.
const closeDrainTimeout = 2 * time.Second
