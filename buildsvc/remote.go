package buildsvc

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/containerd/errdefs"
)

// gitSuffix is how dockerd tells a git repository among http(s) URLs: the
// path ends in .git, maybe followed by a #ref:subdir fragment.
var gitSuffix = regexp.MustCompile(`\.git(?:#.+)?$`)

// clientSession is the remote of the old CLI's BuildKit builds (version=2),
// whose context came through a session.
const clientSession = "client-session"

// remoteKind classifies the remote parameter of POST /build the way
// dockerd does before it fetches anything: a git repository (git://,
// git@, github.com/, or an http(s) URL of a .git path), or an http(s) URL
// of a tarball or a Dockerfile. Anything else is refused with dockerd's
// message.
func remoteKind(remote string) (string, error) {
	if remote == clientSession {
		return "", errdefs.ErrInvalidArgument.WithMessage("experimental session with v1 builder is no longer supported, use builder version v2 (BuildKit) instead")
	}
	isURL := strings.HasPrefix(remote, "http://") || strings.HasPrefix(remote, "https://")
	switch {
	case isURL && gitSuffix.MatchString(remote),
		strings.HasPrefix(remote, "git://"), strings.HasPrefix(remote, "git@"), strings.HasPrefix(remote, "github.com/"):
		return "git", nil
	case isURL:
		return "url", nil
	}
	return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("remoteURL (%s) could not be recognized as URL", remote))
}

// remoteAttrs points the Dockerfile frontend at a remote context, as
// dockerd's BuildKit builder does: the URL is the frontend's context, and
// buildkitd fetches it (a git checkout, or an HTTP download that the
// frontend unpacks when it is an archive and otherwise takes as the
// Dockerfile). buildkitd runs in the host's network namespace (RootlessKit
// detaches the containers' one), so it reaches what the user's shell
// reaches, loopback included.
func remoteAttrs(attrs map[string]string, remote, dockerfile string) error {
	if _, err := remoteKind(remote); err != nil {
		return err
	}
	attrs["context"] = remote
	if dockerfile != "" {
		attrs["filename"] = dockerfile
	}
	return nil
}
