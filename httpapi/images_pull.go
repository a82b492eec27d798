package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// postImagesPull is POST /images/create?fromImage=…: `docker pull`. The
// reference and the platform are checked before the stream starts; so is
// the image's existence in the registry (the engine sends nothing before
// it resolved), so "manifest unknown" is a 404 as with dockerd. Errors
// after the first progress line go into the stream.
func (s *server) postImagesPull(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ref, err := pullReference(q.Get("fromImage"), q.Get("tag"))
	if err != nil {
		return err
	}
	var platform *ocispec.Platform
	if p := q.Get("platform"); p != "" {
		parsed, err := platforms.Parse(p)
		if err != nil {
			return invalidParameter{err}
		}
		platform = &parsed
	}
	// dockerd ignores a header it cannot decode on pull, and pulls
	// anonymously.
	auth, _ := registryAuth(r)
	out := newJSONStream(w, "application/json")
	err = s.images.Pull(r.Context(), ref, PullOptions{Platform: platform, Auth: auth, Progress: out.progress})
	return out.finish(err)
}

// postImagesPush is POST /images/{name}/push?tag=…: `docker push`. An
// empty tag pushes every tag of the repository.
func (s *server) postImagesPush(w http.ResponseWriter, r *http.Request, name string) error {
	auth, err := registryAuth(r)
	if err != nil {
		return err
	}
	out := newJSONStream(w, "application/json")
	err = s.images.Push(r.Context(), name, r.URL.Query().Get("tag"), PushOptions{Auth: auth, Progress: out.progress})
	return out.finish(err)
}

// pullReference joins the fromImage and tag parameters as dockerd does: the
// tag may be a digest. A name without a tag means every tag (docker pull
// --all-tags).
func pullReference(image, tag string) (string, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", invalidParameter{err}
	}
	if tag != "" {
		if d, derr := digest.Parse(tag); derr == nil {
			named, err = reference.WithDigest(reference.TrimNamed(named), d)
		} else {
			named, err = reference.WithTag(reference.TrimNamed(named), tag)
		}
		if err != nil {
			return "", invalidParameter{err}
		}
	}
	return named.String(), nil
}

// registryAuth decodes the X-Registry-Auth header: an AuthConfig as JSON in
// base64url, padded or not. No header means anonymous access (nil).
func registryAuth(r *http.Request) (*registry.AuthConfig, error) {
	h := r.Header.Get(registry.AuthHeader)
	if h == "" {
		return nil, nil
	}
	data, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(h, "="))
	if err != nil {
		return nil, invalidParameter{fmt.Errorf("invalid X-Registry-Auth header: %w", err)}
	}
	var auth registry.AuthConfig
	if err := json.Unmarshal(data, &auth); err != nil {
		return nil, invalidParameter{fmt.Errorf("invalid X-Registry-Auth header: %w", err)}
	}
	return &auth, nil
}

// progressLine is a progress message as dockerd sends it: with the bar
// rendered as text ("progress") beside its numbers, for clients that do
// not draw their own.
type progressLine struct {
	jsonstream.Message
	ProgressMessage string `json:"progress,omitempty"`
}

// progress sends one progress message; it is the engine's ProgressFunc. A
// client that went away ends the request's context, which stops the
// engine, so a failed write needs no answer here.
func (s *jsonStream) progress(m jsonstream.Message) {
	line := progressLine{Message: m}
	if m.Progress != nil {
		line.ProgressMessage = progressBar(*m.Progress)
	}
	_ = s.send(line)
}

// finish ends a progress stream with the operation's result: an error
// before anything was sent is an ordinary error response (the caller
// returns it); after that it goes into the stream. A stream that sent
// nothing still answers 200.
func (s *jsonStream) finish(err error) error {
	switch {
	case err == nil:
		return s.start()
	case !s.started:
		return err
	}
	_ = s.sendError(err) // a client that went away reads nothing anyway
	return nil
}

// progressWidth is the bar's width in characters: 50, plus the arrow.
const progressWidth = 50

// progressBar renders p as dockerd does for a client without a terminal
// width: "[=====>      ]  1.5MB/3MB", "  1.5MB" without a total, or "3 s"
// in other units.
func progressBar(p jsonstream.Progress) string {
	if p.Current <= 0 && p.Total <= 0 {
		return ""
	}
	if p.Total <= 0 {
		if p.Units == "" {
			return fmt.Sprintf("%8v", units.HumanSize(float64(p.Current)))
		}
		return fmt.Sprintf("%d %s", p.Current, p.Units)
	}
	done := min(int(float64(p.Current)/float64(p.Total)*100)/2, progressWidth)
	done = max(done, 0)
	bar := "[" + strings.Repeat("=", done) + ">" + strings.Repeat(" ", progressWidth-done) + "] "
	switch {
	case p.HideCounts:
		return bar
	case p.Units == "" && p.Current > p.Total:
		// A current past the total is wonky; the total is left out.
		return bar + fmt.Sprintf("%8v", units.HumanSize(float64(p.Current)))
	case p.Units == "":
		return bar + fmt.Sprintf("%8v/%v", units.HumanSize(float64(p.Current)), units.HumanSize(float64(p.Total)))
	case p.Current > p.Total:
		return bar + fmt.Sprintf("%d %s", p.Current, p.Units)
	}
	return bar + fmt.Sprintf("%d/%d %s", p.Current, p.Total, p.Units)
}
