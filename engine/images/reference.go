package images

import (
	"errors"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	digest "github.com/opencontainers/go-digest"
)

// danglingPrefix names the record that keeps an image without any name
// alive: moby-dangling@sha256:<target digest>, as dockerd's containerd
// store does, so the two stores read each other's records the same way.
const danglingPrefix = "moby-dangling@"

func danglingName(target digest.Digest) string { return danglingPrefix + target.String() }

func isDangling(name string) bool { return strings.HasPrefix(name, danglingPrefix) }

// notFound is dockerd's "No such image" error; the CLI shows its text and
// `docker run` pulls on the 404 it maps to. A name is shown with its tag
// (busybox → busybox:latest), in the familiar form.
func notFound(ref string) error {
	msg := ref
	if parsed, err := reference.ParseAnyReference(ref); err == nil {
		if named, ok := parsed.(reference.Named); ok {
			parsed = reference.TagNameOnly(named)
		}
		msg = reference.FamiliarString(parsed)
	}
	return errdefs.ErrNotFound.WithMessage("No such image: " + msg)
}

// invalidReference classifies a reference parse error as dockerd does.
func invalidReference(err error) error {
	return errdefs.ErrInvalidArgument.WithMessage(err.Error())
}

// familiarName turns a containerd record name into what the CLI shows:
// docker.io/library/busybox:latest → busybox:latest. Names that do not
// parse are shown as they are.
func familiarName(name string) string {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name
	}
	return reference.FamiliarString(named)
}

// checkTruncatedID returns id without its "sha256:" prefix when it can be
// an image ID or a unique prefix of one (4 to 64 hex digits, as dockerd
// accepts), and "" otherwise.
func checkTruncatedID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) < 4 || len(id) > 64 {
		return ""
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return ""
		}
	}
	return id
}

// shortID is the 12-digit form of an ID used in dockerd's messages.
func shortID(d digest.Digest) string {
	e := d.Encoded()
	if len(e) > 12 {
		e = e[:12]
	}
	return e
}

// repoTagReference builds the name given by the repo and tag parameters of
// tag and import, with "latest" as the default tag, as dockerd's
// httputils.RepoTagReference does.
func repoTagReference(repo, tag string) (reference.NamedTagged, error) {
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return nil, invalidReference(err)
	}
	if _, ok := named.(reference.Digested); ok {
		return nil, errdefs.ErrInvalidArgument.WithMessage("cannot import digest reference")
	}
	if tag != "" {
		tagged, err := reference.WithTag(named, tag)
		if err != nil {
			return nil, invalidReference(err)
		}
		return tagged, nil
	}
	tagged, ok := reference.TagNameOnly(named).(reference.NamedTagged)
	if !ok {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference %q", repo))
	}
	return tagged, nil
}

// errAmbiguous is returned when a short ID matches several images.
var errAmbiguous = errors.New("ambiguous reference")
