package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/moby/moby/api/types"
)

// hijackedRun is a session on a hijacked connection (attach, exec start):
//
//   - stdin reads what the client sends (nil unless asked for); it returns
//     io.EOF when the client half-closes its side, which the docker CLI
//     does when its own stdin ends. That is not the end of the session:
//     output keeps flowing until the function returns.
//   - stdout and stderr write stdcopy frames, or raw bytes for a TTY.
//   - ctx is cancelled when the client hangs up entirely.
type hijackedRun func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer)

// serveHijacked takes over the connection of a request that has been
// checked completely (errors before this point are ordinary JSON
// answers), answers as dockerd does (101 UPGRADED to a client that asked
// for an upgrade, the old 200 otherwise), runs the session and closes the
// connection. It returns an error only when the hijack itself failed,
// before anything was written.
func serveHijacked(w http.ResponseWriter, r *http.Request, multiplexed, withStdin bool, run hijackedRun) error {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return err
	}
	// The client may have sent stdin right behind the request; it sits in
	// the server's buffer. Reading it through brw would, at EOF, make
	// net/http cancel the request context, so take the bytes and read the
	// connection directly afterwards.
	buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
	buffered = bytes.Clone(buffered)

	contentType := types.MediaTypeRawStream
	var head bytes.Buffer
	if _, upgrade := r.Header["Upgrade"]; upgrade {
		if multiplexed && versionAtLeast(r.Context(), "1.42") {
			contentType = types.MediaTypeMultiplexedStream
		}
		fmt.Fprintf(&head, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n", contentType)
	} else {
		// Clients that do not upgrade get dockerd's old answer, always
		// labelled raw-stream.
		fmt.Fprintf(&head, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n", contentType)
	}
	// The headers every response carries (API-Version, Server…), which
	// dockerd copies into the hijacked answer too.
	_ = w.Header().WriteSubset(&head, map[string]bool{"Content-Type": true, "Content-Length": true})
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		conn.Close()
		return err
	}

	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	stopWatch := watchHangup(ctx, conn, cancel)

	var stdin io.Reader
	if withStdin {
		stdin = io.MultiReader(bytes.NewReader(buffered), conn)
	}
	var stdout, stderr io.Writer
	if multiplexed {
		stdout, stderr = newMuxWriters(conn)
	} else {
		out := &lockedWriter{w: conn}
		stdout, stderr = out, out
	}
	run(ctx, stdin, stdout, stderr)
	stopWatch()
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
