package buildproc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"github.com/containerd/errdefs/pkg/errhttp"
	"github.com/containerd/log"

	"github.com/roostd/roost/internal/unixsock"
)

// Tagger names a built image in roostd's image service, so that tags move
// the way `docker tag` moves them, with the same events
// (images.Service; buildsvc.Tagger on the other side).
type Tagger interface {
	Tag(ctx context.Context, source, repo, tag string) error
}

// tagRequest is the body of the internal API's POST /tag.
type tagRequest struct {
	Source, Repo, Tag string
}

// tagPath is the internal API's one route.
const tagPath = "/roost/tag"

// serveTagger serves the internal API, which roost-build alone reaches:
// the socket is 0600 in the private state directory, never the API
// socket. It returns the function that stops it.
func serveTagger(path string, images Tagger) (func(), error) {
	l, err := unixsock.Listen(path, 0o600)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+tagPath, func(w http.ResponseWriter, r *http.Request) {
		var req tagRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// The build has finished: its tag must not be lost with the call.
		if err := images.Tag(context.WithoutCancel(r.Context()), req.Source, req.Repo, req.Tag); err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(errhttp.ToHTTP(err))
			_ = json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := &http.Server{Handler: mux}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.L.WithError(err).Warn("roostd's internal build API")
		}
	}()
	return func() {
		srv.Close()
		_ = os.Remove(path)
	}, nil
}

// TagClient is roost-build's side of the internal API: a Tagger that
// calls roostd.
type TagClient struct {
	c *http.Client
}

// NewTagClient returns the client of roostd's internal API at path.
func NewTagClient(path string) *TagClient {
	return &TagClient{c: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}
}

// Tag asks roostd to tag source as repo:tag; roostd's error comes back
// with its class and message.
func (t *TagClient) Tag(ctx context.Context, source, repo, tag string) error {
	body, err := json.Marshal(tagRequest{Source: source, Repo: repo, Tag: tag})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://roostd"+tagPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := t.c.Do(req)
	if err != nil {
		return fmt.Errorf("tagging through roostd: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return decodeError(resp)
}

// decodeError turns an error answer back into an error of the class its
// status stands for, with the message the other side wrote.
func decodeError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var m struct{ Message string }
	if json.Unmarshal(b, &m) != nil || m.Message == "" {
		m.Message = string(bytes.TrimSpace(b))
	}
	return &remoteError{msg: m.Message, class: errhttp.ToNative(resp.StatusCode)}
}

// remoteError keeps the other process's message and the errdefs class of
// its status, so errdefs.IsNotFound and the API's status mapping work.
type remoteError struct {
	msg   string
	class error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.class }
