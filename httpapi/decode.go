package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// maxJSONBody bounds request bodies decoded as JSON; the largest real ones
// (container create with a big environment) are a few hundred KiB.
const maxJSONBody = 10 << 20

// checkJSONContentType accepts a request whose body is JSON or that has no
// body and no Content-Type, as dockerd's CheckForJSON does.
func checkJSONContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" && (r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0) {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return invalidParameter{fmt.Errorf("malformed Content-Type header (%s): %w", ct, err)}
	}
	if mt != "application/json" {
		return invalidParameter{fmt.Errorf("unsupported Content-Type header (%s): must be 'application/json'", ct)}
	}
	return nil
}

// maxDrainAfterLimit bounds what is read and thrown away of a body that was
// too large, before the connection is simply closed.
const maxDrainAfterLimit = 64 << 20

var errBodyTooLarge = errors.New("request body too large")

// limitedBody reads at most left bytes and then fails with errBodyTooLarge.
type limitedBody struct {
	r    io.Reader
	left int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// readJSON decodes the request body, which must be there, into out. Unknown
// fields are accepted (dockerd does not reject them either); a wrong content
// type, an empty or malformed body, data after the JSON value and bodies
// over maxJSONBody are InvalidArgument errors with dockerd's messages.
func readJSON(w http.ResponseWriter, r *http.Request, out any) error {
	if err := checkJSONContentType(r); err != nil {
		return err
	}
	if r.Body == nil {
		return invalidParameter{errors.New("invalid JSON: got EOF while reading request body")}
	}
	body := &limitedBody{r: r.Body, left: maxJSONBody}
	dec := json.NewDecoder(body)
	if err := dec.Decode(out); err != nil {
		switch {
		case errors.Is(err, errBodyTooLarge):
			// Read on (boundedly) so that a client still sending gets this
			// answer instead of a broken pipe; http.MaxBytesReader would
			// close the connection under it.
			_, _ = io.CopyN(io.Discard, r.Body, maxDrainAfterLimit)
			return invalidParameter{fmt.Errorf("request body is larger than %d bytes", maxJSONBody)}
		case errors.Is(err, io.EOF):
			return invalidParameter{errors.New("invalid JSON: got EOF while reading request body")}
		}
		return invalidParameter{fmt.Errorf("invalid JSON: %w", err)}
	}
	if dec.More() {
		return invalidParameter{errors.New("unexpected content after JSON")}
	}
	return nil
}
