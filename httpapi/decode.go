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
	body := http.MaxBytesReader(w, r.Body, maxJSONBody)
	defer body.Close()
	dec := json.NewDecoder(body)
	if err := dec.Decode(out); err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return invalidParameter{fmt.Errorf("request body is larger than %d bytes", tooLarge.Limit)}
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
